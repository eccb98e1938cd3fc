"""Sandbox hooks of the reliability campaigns: raw (verbatim) orders and the order list."""

import httpx

from sp_sandbox import SandboxServer, Scenario

FORM = {
    "grant_type": "refresh_token",
    "refresh_token": "Atzr|r",
    "client_id": "cid",
    "client_secret": "sec",
}
SEARCH = "/orders/2026-01-01/orders"


def _headers(server):
    token = httpx.post(server.lwa_url, data=FORM).json()["access_token"]
    return {"x-amz-access-token": token}


def test_raw_orders_are_served_verbatim_in_search_and_get():
    scenario = Scenario.generate(orders=5, seed=2, marketplaces=("DE",))
    with SandboxServer(scenario, port=0, speed=1000) as server:
        now = server.state.now()
        key = httpx.post(
            f"{server.url}/_sandbox/raw-orders",
            json={"order": {"orderId": "RAW-1", "orderItems": "nope"}},
        ).json()["key"]
        assert key == "RAW-1"
        keyless = httpx.post(
            f"{server.url}/_sandbox/raw-orders", json={"order": {"buyer": None}}
        ).json()["key"]
        assert keyless.startswith("raw-")
        server.state.advance(600)  # searches end two minutes before now
        headers = _headers(server)
        params = {
            "lastUpdatedAfter": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "marketplaceIds": "A1PA6795UKMFR9",
            "maxResultsPerPage": 1,
        }
        seen, token = [], None
        while True:
            query = dict(params, paginationToken=token) if token else params
            body = httpx.get(server.url + SEARCH, params=query, headers=headers).json()
            seen += body["orders"]
            token = (body.get("pagination") or {}).get("nextToken")
            if not token:
                break
        assert {"orderId": "RAW-1", "orderItems": "nope"} in seen
        assert {"buyer": None} in seen
        got = httpx.get(f"{server.url}{SEARCH}/RAW-1", headers=headers).json()
        assert got == {"order": {"orderId": "RAW-1", "orderItems": "nope"}}


def test_order_list_at_a_given_time():
    scenario = Scenario.generate(orders=20, seed=4, marketplaces=("US", "DE"))
    with SandboxServer(scenario, port=0) as server:
        listed = httpx.get(f"{server.url}/_sandbox/orders").json()
        assert len(listed["orders"]) == server.state.summary()["orders"]
        row = listed["orders"][0]
        assert set(row) >= {
            "orderId",
            "status",
            "fulfilledBy",
            "total",
            "currency",
            "lastUpdatedTime",
        }
        early = httpx.get(
            f"{server.url}/_sandbox/orders", params={"at": "2000-01-01T00:00:00Z"}
        ).json()
        assert early["orders"] == []
