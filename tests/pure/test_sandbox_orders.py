"""Sandbox orders over real HTTP: searchOrders/getOrder (v2026), v0 + RDT, generator, money."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
from sandbox_helpers import add_merchant_order

from sp_sandbox import SandboxServer, Scenario
from sp_sandbox.scenario import format_time

SEARCH = "/orders/2026-01-01/orders"
ALL_DATA = "BUYER,RECIPIENT,PROCEEDS,PROMOTION,CANCELLATION,FULFILLMENT,TAX,PACKAGES"
EPOCH = "2020-01-01T00:00:00Z"


def search_all(http, **params):
    pages, token = [], None
    while True:
        # the model: every other parameter with the same values on every page
        query = dict(params, paginationToken=token) if token else dict(params)
        response = http.get(SEARCH, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        token = pages[-1].get("pagination", {}).get("nextToken")
        if not token:
            return pages


def error_code(response):
    return response.json()["errors"][0]["code"]


def test_pagination_is_stable_and_pinned(sandbox, sandbox_http):
    pages = search_all(sandbox_http, lastUpdatedAfter=EPOCH, maxResultsPerPage=40)
    assert len(pages) >= 3
    orders = [o for page in pages for o in page["orders"]]
    keys = [(o["lastUpdatedTime"], o["orderId"]) for o in orders]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert {p["lastUpdatedBefore"] for p in pages} == {pages[0]["lastUpdatedBefore"]}
    assert "pagination" not in pages[-1]
    # the same window in pages of 100 gives the same orders
    big = search_all(
        sandbox_http, lastUpdatedAfter=EPOCH, lastUpdatedBefore=pages[0]["lastUpdatedBefore"]
    )
    assert [o["orderId"] for p in big for o in p["orders"]] == [o["orderId"] for o in orders]
    # a token pins the window: changes after its end do not leak into later pages
    first = sandbox_http.get(
        SEARCH, params={"lastUpdatedAfter": EPOCH, "maxResultsPerPage": 40}
    ).json()
    sandbox.state.add_order(
        {
            "marketplaceId": "ATVPDKIKX0DER",
            "items": [{"sku": "NEW-1", "unitPrice": "5.00", "quantity": 1}],
        }
    )
    seen = {o["orderId"] for o in first["orders"]}
    token = first["pagination"]["nextToken"]
    while token:
        page = sandbox_http.get(
            SEARCH,
            params={"lastUpdatedAfter": EPOCH, "maxResultsPerPage": 40, "paginationToken": token},
        ).json()
        assert not seen & {o["orderId"] for o in page["orders"]}
        seen |= {o["orderId"] for o in page["orders"]}
        token = page.get("pagination", {}).get("nextToken")
    assert seen == {o["orderId"] for o in orders}


@pytest.mark.forbidden_requests
def test_page_tokens_answer_only_where_they_were_issued(sandbox, sandbox_http):
    """A page token is refused by another operation, for another order, by another server."""
    first = sandbox_http.get(SEARCH, params={"lastUpdatedAfter": EPOCH, "maxResultsPerPage": 1})
    token = first.json()["pagination"]["nextToken"]
    mps = ",".join(sandbox.state.marketplaces)
    other_operation = sandbox_http.get(
        "/orders/v0/orders", params={"NextToken": token, "MarketplaceIds": mps}
    )
    assert other_operation.status_code == 400 and error_code(other_operation) == "InvalidInput"
    state = sandbox.state
    paged = [i for i, r in state.orders.items() if len(r["items"]) > state.items_page_size]
    multi = next(i for i in paged if state.view(i))
    other = next(i for i in state.orders if i != multi and state.view(i))
    items = sandbox_http.get(f"/orders/v0/orders/{multi}/orderItems").json()["payload"]
    other_order = sandbox_http.get(
        f"/orders/v0/orders/{other}/orderItems", params={"NextToken": items["NextToken"]}
    )
    assert other_order.status_code == 400 and error_code(other_order) == "InvalidInput"
    assert "another order" in other_order.json()["errors"][0]["details"]
    with SandboxServer(sandbox.scenario, port=0, speed=1000.0) as second:
        form = {"grant_type": "refresh_token", "refresh_token": "r", "client_id": "c"}
        access = httpx.post(second.lwa_url, data={**form, "client_secret": "s"}).json()
        other_server = httpx.get(
            second.url + SEARCH,
            params={"lastUpdatedAfter": EPOCH, "maxResultsPerPage": 1, "paginationToken": token},
            headers={"x-amz-access-token": access["access_token"]},
        )
    assert other_server.status_code == 400 and error_code(other_server) == "InvalidInput"


@pytest.mark.forbidden_requests
def test_window_rules(sandbox, sandbox_http):
    now = sandbox.state.now()
    too_late = format_time(now - timedelta(seconds=60))
    response = sandbox_http.get(
        SEARCH, params={"lastUpdatedAfter": EPOCH, "lastUpdatedBefore": too_late}
    )
    assert response.status_code == 400 and error_code(response) == "InvalidInput"
    fine = format_time(now - timedelta(minutes=3))
    response = sandbox_http.get(
        SEARCH, params={"lastUpdatedAfter": EPOCH, "lastUpdatedBefore": fine}
    )
    assert response.status_code == 200 and response.json()["lastUpdatedBefore"] == fine
    body = sandbox_http.get(SEARCH, params={"lastUpdatedAfter": EPOCH}).json()
    end = body["lastUpdatedBefore"]
    assert (
        format_time(now - timedelta(minutes=2, seconds=5))
        <= end
        <= format_time(sandbox.state.now() - timedelta(minutes=2))
    )
    assert all(o["lastUpdatedTime"] <= end for o in body["orders"])
    created = sandbox_http.get(SEARCH, params={"createdAfter": EPOCH}).json()
    assert "createdBefore" in created and "lastUpdatedBefore" not in created
    for params in (
        {},
        {"createdAfter": EPOCH, "lastUpdatedAfter": EPOCH},
        {"createdAfter": EPOCH, "lastUpdatedBefore": fine},
        {"lastUpdatedAfter": "yesterday"},
        {"lastUpdatedAfter": EPOCH, "maxResultsPerPage": 0},
        {"lastUpdatedAfter": EPOCH, "maxResultsPerPage": 101},
        {"lastUpdatedAfter": EPOCH, "includedData": "NOPE"},
        {"lastUpdatedAfter": EPOCH, "marketplaceIds": "A1NOTASELLERMP"},
        {"paginationToken": "forged-token"},
    ):
        response = sandbox_http.get(SEARCH, params=params)
        assert response.status_code == 400, params
        assert error_code(response) == "InvalidInput"


def test_included_data_and_filters(sandbox_http):
    bare = sandbox_http.get(SEARCH, params={"lastUpdatedAfter": EPOCH}).json()["orders"]
    for order in bare:
        assert not {"buyer", "recipient", "proceeds", "fulfillment", "tax"} & set(order)
        assert all(
            set(i) == {"orderItemId", "quantityOrdered", "product"} for i in order["orderItems"]
        )
    buyer_only = sandbox_http.get(
        SEARCH, params={"lastUpdatedAfter": EPOCH, "includedData": "BUYER"}
    ).json()["orders"]
    assert all("buyer" in o and "recipient" not in o and "proceeds" not in o for o in buyer_only)
    full = sandbox_http.get(
        SEARCH, params={"lastUpdatedAfter": EPOCH, "includedData": ALL_DATA}
    ).json()["orders"]
    assert all({"buyer", "recipient", "proceeds", "fulfillment"} <= set(o) for o in full)
    assert any("tax" in o for o in full)
    assert any("promotion" in i for o in full for i in o["orderItems"])
    fba = sandbox_http.get(
        SEARCH,
        params=[
            ("lastUpdatedAfter", EPOCH),
            ("fulfilledBy", "AMAZON"),
            ("includedData", "FULFILLMENT"),
        ],
    ).json()["orders"]
    assert fba and all(o["fulfillment"]["fulfilledBy"] == "AMAZON" for o in fba)
    unshipped = sandbox_http.get(
        SEARCH,
        params={
            "lastUpdatedAfter": EPOCH,
            "fulfillmentStatuses": "UNSHIPPED,PARTIALLY_SHIPPED",
            "includedData": "FULFILLMENT",
            "marketplaceIds": "A1PA6795UKMFR9,A13V1IB3VIYZZH",
        },
    ).json()["orders"]
    assert unshipped
    assert all(o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED" for o in unshipped)
    assert {o["salesChannel"]["marketplaceId"] for o in unshipped} <= {
        "A1PA6795UKMFR9",
        "A13V1IB3VIYZZH",
    }


def test_get_order(sandbox, sandbox_http):
    order_id = next(iter(sandbox.state.orders))
    visible = sandbox.state.view(order_id) is not None
    response = sandbox_http.get(f"{SEARCH}/{order_id}", params={"includedData": "PROCEEDS"})
    if visible:
        assert response.status_code == 200
        assert response.json()["order"]["orderId"] == order_id
        assert "proceeds" in response.json()["order"]
    response = sandbox_http.get(f"{SEARCH}/999-0000000-0000000")
    assert response.status_code == 404 and error_code(response) == "NotFound"


def _money(m):
    return Decimal(m["amount"])


def test_money_consistency(sandbox, sandbox_http):
    orders = [
        o
        for p in search_all(sandbox_http, lastUpdatedAfter=EPOCH, includedData=ALL_DATA)
        for o in p["orders"]
    ]
    rates = {
        "A1PA6795UKMFR9": Decimal("0.19"),
        "A13V1IB3VIYZZH": Decimal("0.20"),
        "A1RKKUPIHCS9HS": Decimal("0.21"),
        "APJ6JRA9NG5V4": Decimal("0.22"),
        "A1F83G8C2ARO7P": Decimal("0.20"),
        "A1VC38T7YXB528": Decimal("0.10"),
    }
    checked_discount = checked_gift = 0
    for order in orders:
        marketplace = order["salesChannel"]["marketplaceId"]
        on_top = marketplace in ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2")
        currency = order["proceeds"]["grandTotal"]["currencyCode"]
        places = 0 if currency == "JPY" else 2
        total = Decimal(0)
        for item in order["orderItems"]:
            rows = {b["type"]: b for b in item["proceeds"]["breakdowns"]}
            unit = _money(item["product"]["price"]["unitPrice"])
            assert _money(rows["ITEM"]["subtotal"]) == unit * item["quantityOrdered"]
            expected = sum(
                _money(rows[k]["subtotal"])
                for k in ("ITEM", "SHIPPING", "GIFT_WRAP", "DISCOUNT")
                if k in rows
            )
            tax = rows["TAX"]
            assert _money(tax["subtotal"]) == sum(
                _money(d["value"]) for d in tax["detailedBreakdowns"]
            )
            if on_top:
                expected += _money(tax["subtotal"])
            else:
                rate = rates[marketplace]
                gross = _money(rows["ITEM"]["subtotal"])
                item_tax = next(d for d in tax["detailedBreakdowns"] if d["subtype"] == "ITEM")
                assert _money(item_tax["value"]) == (gross * rate / (1 + rate)).quantize(
                    Decimal(1).scaleb(-places), ROUND_HALF_UP
                )
            if "DISCOUNT" in rows:
                checked_discount += 1
                assert _money(rows["DISCOUNT"]["subtotal"]) < 0
                assert {d["subtype"] for d in rows["DISCOUNT"]["detailedBreakdowns"]} <= {
                    "ITEM",
                    "SHIPPING",
                }
            if "GIFT_WRAP" in rows:
                checked_gift += 1
                assert item["fulfillment"]["packing"]["giftOption"]
            proceeds = _money(item["proceeds"]["proceedsTotal"])
            assert proceeds == expected
            assert -proceeds.as_tuple().exponent == places
            ful = item["fulfillment"]
            assert (
                0
                <= ful["quantityFulfilled"] + ful["quantityUnfulfilled"]
                <= item["quantityOrdered"]
            )
            total += proceeds
        assert _money(order["proceeds"]["grandTotal"]) == total
    assert checked_discount and checked_gift


def test_generator_is_deterministic_and_realistic(sandbox_scenario):
    start = "2026-03-01T12:00:00Z"
    one = Scenario.generate(orders=200, seed=5, start=start).to_dict()
    assert one == Scenario.generate(orders=200, seed=5, start=start).to_dict()
    assert one != Scenario.generate(orders=200, seed=6, start=start).to_dict()
    orders = sandbox_scenario.orders
    by_mp = {o["marketplaceId"] for o in orders}
    assert len(by_mp) >= 7
    assert {o["fulfilledBy"] for o in orders} == {"AMAZON", "MERCHANT"}
    assert any(o["buyer"].get("vatNumber") for o in orders)
    assert any(o["business"] for o in orders) and any(not o["business"] for o in orders)
    assert any("name" not in o["buyer"] for o in orders)
    items = [i for o in orders for i in o["items"]]
    assert any(i.get("giftMessage") for i in items)
    assert any(i.get("promotionIds") for i in items)
    assert any(i["quantity"] > 1 for i in items)
    assert {len(o["items"]) for o in orders} >= {1, 2, 3}
    skus = [i["sku"] for i in items]
    assert len(set(skus)) < len(skus) / 3  # a small catalogue: SKUs repeat
    text = str(orders)
    assert any(ord(c) > 0x3000 for c in text) and "ü" in text
    assert any(ord(c) in range(0x600, 0x700) for c in text)
    start = sandbox_scenario.start
    assert any(e["time"] > format_time(start) for o in orders for e in o["events"])
    emails = [o["buyer"]["email"] for o in orders]
    assert len(set(emails)) < len(emails)  # repeat buyers


def test_timeline_advance_and_state_changes(sandbox):
    state = sandbox.state
    hidden = [o for o in sandbox.scenario.orders if o["createdTime"] > format_time(state.now())]
    assert hidden and state.view(hidden[0]["orderId"]) is None
    state.advance(7 * 3600)
    assert state.order_status(hidden[0]["orderId"]) is not None
    order_id = add_merchant_order(state, "A1PA6795UKMFR9", ("A", "10.00", 3), ("B", "5.00", 1))
    assert state.order_status(order_id) == "UNSHIPPED"
    record = state.orders[order_id]
    first, second = (i["orderItemId"] for i in record["items"])
    state.advance(60)
    state.cancel(order_id, [second])
    view = state.view(order_id)
    assert view.cancelled[second] == 1 and view.status == "UNSHIPPED"
    assert view.last_updated > record["createdTime"]
    state.set_status(order_id, "CANCELLED")
    assert state.order_status(order_id) == "CANCELLED"
    fba = next(
        o["orderId"]
        for o in sandbox.scenario.orders
        if o["fulfilledBy"] == "AMAZON" and state.order_status(o["orderId"]) == "PENDING"
    )
    state.ship_fba(fba)
    assert state.order_status(fba) == "SHIPPED"
    state.reset()
    assert state.order_status(order_id) if order_id in state.orders else True
    assert order_id not in state.orders


def test_scenario_json_round_trip(tmp_path):
    scenario = Scenario.from_dict(
        {
            "seller": {
                "sellerId": "A1TEST",
                "clientId": "id",
                "clientSecret": "s",
                "refreshToken": "r",
            },
            "marketplaces": [
                "DE",
                {
                    "id": "A1PA6795UKMFR9X",
                    "name": "Test",
                    "countryCode": "DE",
                    "currency": "EUR",
                    "domain": "www.example.com",
                },
            ],
            "start": "2026-01-10T10:00:00Z",
            "orders": [
                {
                    "orderId": "302-1234567-7654321",
                    "marketplace": "DE",
                    "createdTime": "2026-01-10T09:00:00Z",
                    "events": [
                        {"time": "2026-01-10T09:00:00Z", "status": "PENDING"},
                        {"time": "2026-01-10T09:30:00Z", "status": "UNSHIPPED"},
                    ],
                    "items": [{"sku": "X", "unitPrice": "11.90", "quantity": 2}],
                }
            ],
        }
    )
    path = tmp_path / "scenario.json"
    scenario.save(path)
    loaded = Scenario.load(path)
    assert loaded.to_dict() == scenario.to_dict()
    with SandboxServer(loaded) as server:
        assert server.state.order_status("302-1234567-7654321") == "UNSHIPPED"
        record = server.state.orders["302-1234567-7654321"]
        assert record["items"][0]["itemTax"] == Decimal("3.80")  # 23.80 * 19/119
    with pytest.raises(ValueError):
        Scenario.from_dict({"marketplaces": [{"id": "X"}]})
