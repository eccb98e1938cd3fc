"""Sandbox plumbing over real HTTP: LWA, token expiry, rate limits, speed, faults, control."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import contract
import httpx
import pytest

from sp_sandbox import SandboxServer, Scenario

ROOT = Path(__file__).resolve().parents[2]
PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
FORM = {
    "grant_type": "refresh_token",
    "refresh_token": "Atzr|r",
    "client_id": "cid",
    "client_secret": "sec",
}
DENIED = "Access to requested resource is denied."


@pytest.fixture(scope="module")
def small_scenario():
    return Scenario.generate(orders=30, seed=3, marketplaces=("US", "DE"))


def token(server, **form):
    response = httpx.post(server.lwa_url, data={**FORM, **form})
    assert response.status_code == 200, response.text
    return {"x-amz-access-token": response.json()["access_token"]}


def test_lwa_and_token_expiry(sandbox):
    good = httpx.post(sandbox.lwa_url, data=FORM).json()
    assert good["token_type"] == "bearer" and good["expires_in"] == 3600
    assert good["refresh_token"] == FORM["refresh_token"]
    sandbox.set_credentials(client_id="cid", client_secret="sec", refresh_token="Atzr|r")
    wrong_client = httpx.post(sandbox.lwa_url, data={**FORM, "client_secret": "nope"})
    assert wrong_client.status_code == 401 and wrong_client.json()["error"] == "invalid_client"
    wrong_grant = httpx.post(sandbox.lwa_url, data={**FORM, "refresh_token": "Atzr|x"})
    assert wrong_grant.status_code == 400 and wrong_grant.json()["error"] == "invalid_grant"
    assert "error_description" in wrong_grant.json()
    bad_type = httpx.post(sandbox.lwa_url, data={**FORM, "grant_type": "password"})
    assert bad_type.status_code == 400
    headers = token(sandbox)
    assert httpx.get(sandbox.url + PARTICIPATIONS, headers=headers).status_code == 200
    # a token issued with no lifetime left has expired by its first use, however slow the
    # machine (no sleep: the expiry does not depend on how long the requests take)
    sandbox.access_token_ttl = 0
    expired = httpx.get(sandbox.url + PARTICIPATIONS, headers=token(sandbox))
    assert expired.status_code == 403
    assert expired.json() == {
        "errors": [
            {
                "code": "Unauthorized",
                "message": DENIED,
                "details": "The access token you provided has expired.",
            }
        ]
    }
    unknown = httpx.get(sandbox.url + PARTICIPATIONS, headers={"x-amz-access-token": "Atza|x"})
    assert unknown.status_code == 403 and unknown.json()["errors"][0]["code"] == "Unauthorized"
    assert "x-amzn-RequestId" in unknown.headers


def test_participations_list_every_marketplace(sandbox, sandbox_http):
    response = sandbox_http.get(PARTICIPATIONS)
    ids = {p["marketplace"]["id"] for p in response.json()["payload"]}
    assert ids == set(sandbox.state.marketplaces)
    assert response.headers["x-amzn-RateLimit-Limit"] == "16"  # 0.016 x speed 1000
    assert response.headers["x-amzn-RequestId"]


def test_rate_limit_429_and_reset(small_scenario):
    # Time slowed 1,000 times: no token refills while the burst is spent, however slow the
    # machine (at real speed a loaded machine refilled one and the 31st call went through).
    with SandboxServer(small_scenario, speed=0.001) as server:
        headers = token(server)
        order_id = next(iter(server.state.orders))
        codes = [
            httpx.get(f"{server.url}/orders/2026-01-01/orders/{order_id}", headers=headers)
            for _ in range(31)
        ]
        assert [c.status_code for c in codes[:30]] in ([200] * 30, [404] * 30)
        throttled = codes[30]
        assert throttled.status_code == 429
        assert throttled.json() == {
            "errors": [
                {
                    "code": "QuotaExceeded",
                    "message": "You exceeded your quota for the requested resource.",
                }
            ]
        }
        assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.0005"
        assert server.state.stats["throttled"] == 1
        assert server.state.stats["calls"]["getOrder"] == 31
        server.state.reset_rate_limits()
        assert (
            httpx.get(
                f"{server.url}/orders/2026-01-01/orders/{order_id}", headers=headers
            ).status_code
            != 429
        )


def test_speed_compresses_refill_and_header(small_scenario):
    with SandboxServer(small_scenario, speed=200.0) as server:
        headers = token(server)
        url = server.url + "/orders/2026-01-01/orders"
        params = {"lastUpdatedAfter": "2020-01-01T00:00:00Z"}
        response = httpx.get(url, params=params, headers=headers)
        assert response.headers["x-amzn-RateLimit-Limit"] == "1.12"  # 0.0056 x 200
        server.state.empty_rate_limits()
        assert httpx.get(url, params=params, headers=headers).status_code == 429
        time.sleep(1 / 1.12 + 0.1)
        assert httpx.get(url, params=params, headers=headers).status_code == 200


def test_faults_of_each_kind(sandbox, sandbox_http):
    faults = sandbox.faults
    for kind, code in (
        ("429", "QuotaExceeded"),
        ("500", "InternalFailure"),
        ("503", "ServiceUnavailable"),
    ):
        faults.add(operation="getMarketplaceParticipations", kind=kind, count=1)
        response = sandbox_http.get(PARTICIPATIONS)
        assert response.status_code == int(kind)
        assert response.json()["errors"][0]["code"] == code
        assert sandbox_http.get(PARTICIPATIONS).status_code == 200  # count exhausted
    faults.add(operation="searchOrders", kind="slow", delay=1.0, count=1)
    with pytest.raises(httpx.ReadTimeout):
        sandbox_http.get(
            "/orders/2026-01-01/orders",
            timeout=0.3,
            params={"lastUpdatedAfter": "2020-01-01T00:00:00Z"},
        )
    faults.add(operation="*", kind="reset", count=1)
    with pytest.raises(httpx.TransportError):
        sandbox_http.get(PARTICIPATIONS)
    faults.add(operation="searchOrders", kind="malformed", count=1)
    malformed = sandbox_http.get(
        "/orders/2026-01-01/orders", params={"lastUpdatedAfter": "2020-01-01T00:00:00Z"}
    )
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.content)
    faults.add(operation="searchOrders", kind="missing_field", count=1)
    missing = sandbox_http.get(
        "/orders/2026-01-01/orders",
        params={"lastUpdatedAfter": "2020-01-01T00:00:00Z", "maxResultsPerPage": 5},
    )
    assert "orderId" not in missing.json()["orders"][0]
    if contract.models_available():
        problems = contract.validate_response(
            "orders_2026-01-01", "searchOrders", 200, missing.content
        )
        assert any("orderId" in p for p in problems)
    # random faults are seeded: about half the calls fail
    faults.seed(42)
    faults.add(operation="getOrder", kind="500", probability=0.5)
    order_url = "/orders/2026-01-01/orders/" + next(iter(sandbox.state.orders))
    codes = [sandbox_http.get(order_url).status_code for _ in range(40)]
    assert (
        8 <= codes.count(500) <= 32 and codes.count(500) + codes.count(200) + codes.count(404) == 40
    )
    faults.clear()
    assert sandbox_http.get(PARTICIPATIONS).status_code == 200
    stats = sandbox.state.stats
    assert stats["responses"]["500"] >= 1 and stats["throttled"] >= 1


def test_control_endpoints(sandbox):
    url = sandbox.url + "/_sandbox"
    summary = httpx.get(url + "/state").json()
    assert summary["orders"] > 0 and set(summary["byChannel"]) == {"AMAZON", "MERCHANT"}
    created = httpx.post(
        url + "/orders",
        json={
            "marketplaceId": "ATVPDKIKX0DER",
            "fulfilledBy": "MERCHANT",
            "items": [{"sku": "CTL-1", "unitPrice": "9.99", "quantity": 2}],
        },
    )
    assert created.status_code == 201
    order_id = created.json()["orderId"]
    before = sandbox.state.now()
    now = httpx.post(url + "/advance", json={"seconds": 3600}).json()["now"]
    assert (sandbox.state.now() - before).total_seconds() >= 3600 and now
    assert (
        httpx.post(f"{url}/orders/{order_id}/status", json={"status": "PARTIALLY_SHIPPED"}).json()[
            "status"
        ]
        == "PARTIALLY_SHIPPED"
    )
    assert httpx.post(f"{url}/orders/{order_id}/status", json={"status": "BAD"}).status_code == 400
    assert httpx.post(f"{url}/orders/{order_id}/cancel").json()["status"] == "CANCELLED"
    assert httpx.get(url + "/shipments").json() == {"shipments": []}
    fault = httpx.post(url + "/faults", json={"operation": "getOrders", "kind": "503"})
    assert fault.status_code == 201 and len(sandbox.faults.list()) == 1
    assert httpx.delete(url + "/faults").status_code == 204 and not sandbox.faults.list()
    assert httpx.post(url + "/reset").status_code == 200
    assert order_id not in sandbox.state.orders


def test_script_runs_in_foreground_until_sigterm(tmp_path):
    scenario = tmp_path / "s.json"
    Scenario.generate(orders=5, seed=2).save(scenario)
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "sandbox"),
            "--port",
            "0",
            "--scenario",
            str(scenario),
            "--speed",
            "10",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("SP-API sandbox: http://127.0.0.1:")
        base = line.split()[2]
        assert line.split()[4] == base + "/auth/o2/token"
        assert httpx.get(base + "/_sandbox/state").json()["orders"] >= 0
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
