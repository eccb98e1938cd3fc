"""Each convention switch changes what it should and nothing else; every setting still answers
within Amazon's response models (checked here and by the session's contract check)."""

import copy
from decimal import Decimal

import contract
import pytest
from sandbox_helpers import add_merchant_order, authorized_http

from sp_sandbox import SandboxServer, Scenario

# the conventions are checked against Amazon's own examples (../shared/sp-api)
pytestmark = pytest.mark.skipif(not contract.models_available(), reason=contract.SKIP_REASON)

SEARCH = "/orders/2026-01-01/orders"
ALL_DATA = "BUYER,RECIPIENT,PROCEEDS,PROMOTION,CANCELLATION,FULFILLMENT,TAX,PACKAGES"
EPOCH = "2020-01-01T00:00:00Z"
DE = "A1PA6795UKMFR9"


def search(http, **params):
    orders, token, pages = [], None, []
    params = {"lastUpdatedAfter": EPOCH, "includedData": ALL_DATA, **params}
    params = {k: v for k, v in params.items() if v is not None}
    while True:
        query = dict(params, paginationToken=token) if token else params
        response = http.get(SEARCH, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        contract.assert_valid_response("orders_2026-01-01", "searchOrders", 200, body)
        pages.append(body)
        orders += body["orders"]
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            return orders, pages


def set_conventions(http, **values):
    response = http.post("/_sandbox/conventions", json=values)
    assert response.status_code == 200, response.text
    return response.json()


def amounts(rows):
    return {row["type"]: Decimal(row["subtotal"]["amount"]) for row in rows}


def without(order, *paths):
    """``order`` minus the given (dotted) keys, for "nothing else changed" comparisons."""
    order = copy.deepcopy(order)
    for path in paths:
        *parents, last = path.split(".")
        targets = [order]
        for part in parents:
            nxt = []
            for target in targets:
                value = target.get(part)
                nxt += value if isinstance(value, list) else [value] if value else []
            targets = nxt
        for target in targets:
            target.pop(last, None)
    return order


def test_defaults_and_control_api(sandbox, sandbox_http):
    assert sandbox_http.get("/_sandbox/conventions").json() == {
        "proceeds": "tax_included",
        "window_echo": True,
        "package_echo": True,
        "fulfilled_by": True,
    }
    assert (
        set_conventions(sandbox_http, proceeds="itemized", window_echo="false")["window_echo"]
        is False
    )
    assert sandbox.state.conventions["proceeds"] == "itemized"
    bad = sandbox_http.post("/_sandbox/conventions", json={"proceeds": "gross"})
    assert bad.status_code == 400
    assert sandbox_http.post("/_sandbox/conventions", json={"nope": 1}).status_code == 400
    sandbox_http.post("/_sandbox/reset")
    assert sandbox.state.conventions["proceeds"] == "itemized"  # reset keeps the switches


def test_conventions_settable_at_start(sandbox_scenario):
    with SandboxServer(sandbox_scenario, conventions={"package_echo": False}) as server:
        assert server.state.conventions["package_echo"] is False
    payload = sandbox_scenario.to_dict()
    payload["conventions"] = {"fulfilled_by": False}
    scenario = Scenario.from_dict(payload)
    assert Scenario.from_dict(scenario.to_dict()).conventions == {"fulfilled_by": False}
    with SandboxServer(scenario, conventions={"proceeds": "itemized"}) as server:
        assert server.state.conventions.as_dict() == {
            "proceeds": "itemized",
            "window_echo": True,
            "package_echo": True,
            "fulfilled_by": False,
        }


def test_itemized_proceeds_exclude_tax_and_add_it(sandbox, sandbox_http):
    included, _ = search(sandbox_http)
    set_conventions(sandbox_http, proceeds="itemized")
    itemized, _ = search(sandbox_http)
    assert [o["orderId"] for o in included] == [o["orderId"] for o in itemized]
    checked_eu = checked_us = 0
    for before, after in zip(included, itemized, strict=True):
        mp = sandbox.state.marketplaces[before["salesChannel"]["marketplaceId"]]
        # the buyer pays the same: totals unchanged
        assert before["proceeds"]["grandTotal"] == after["proceeds"]["grandTotal"]
        for old, new in zip(before["orderItems"], after["orderItems"], strict=True):
            assert old["proceeds"]["proceedsTotal"] == new["proceeds"]["proceedsTotal"]
            total = Decimal(new["proceeds"]["proceedsTotal"]["amount"])
            rows = amounts(new["proceeds"]["breakdowns"])
            old_rows = amounts(old["proceeds"]["breakdowns"])
            assert rows["TAX"] == old_rows["TAX"]
            if mp.get("taxIncluded", True) and rows["TAX"]:
                # Amazon's getOrder example: ITEM + SHIPPING + ... + TAX = proceedsTotal
                assert sum(rows.values()) == total
                assert sum(v for k, v in old_rows.items() if k != "TAX") == total
                assert rows["ITEM"] < old_rows["ITEM"]
                checked_eu += 1
            else:
                assert rows == old_rows  # tax-exclusive marketplaces: the same either way
                checked_us += 1
        # nothing else changed
        assert without(before, "proceeds", "orderItems.proceeds") == without(
            after, "proceeds", "orderItems.proceeds"
        )
    assert checked_eu and checked_us


def test_window_echo_off_drops_only_the_window_end(sandbox, sandbox_http):
    before, pages = search(sandbox_http, maxResultsPerPage=50)
    end = pages[0]["lastUpdatedBefore"]
    set_conventions(sandbox_http, window_echo=False)
    after, pages = search(sandbox_http, maxResultsPerPage=50, lastUpdatedBefore=end)
    assert all("lastUpdatedBefore" not in p and "createdBefore" not in p for p in pages)
    assert before == after
    _, created_pages = search(sandbox_http, createdAfter=EPOCH, lastUpdatedAfter=None)
    assert all("createdBefore" not in p for p in created_pages)


def _ship(sandbox, http):
    state = sandbox.state
    order_id = add_merchant_order(state, DE, ("A", "10.00", 2))
    item = state.orders[order_id]["items"][0]["orderItemId"]
    for reference in (41, 42):
        response = http.post(
            f"/orders/v0/orders/{order_id}/shipmentConfirmation",
            json={
                "marketplaceId": DE,
                "packageDetail": {
                    "packageReferenceId": str(reference),
                    "carrierCode": "DHL",
                    "trackingNumber": f"TRK{reference}",
                    "shipDate": "2026-01-01T10:00:00Z",
                    "orderItems": [{"orderItemId": item, "quantity": 1}],
                },
            },
        )
        assert response.status_code == 204, response.text
    return order_id


def get_order(http, order_id):
    response = http.get(f"{SEARCH}/{order_id}", params={"includedData": ALL_DATA})
    assert response.status_code == 200
    contract.assert_valid_response("orders_2026-01-01", "getOrder", 200, response.json())
    return response.json()["order"]


def test_package_echo_off_hides_our_reference_only(sandbox, sandbox_http):
    order_id = _ship(sandbox, sandbox_http)
    echoed = get_order(sandbox_http, order_id)
    assert [p["packageReferenceId"] for p in echoed["packages"]] == ["41", "42"]
    set_conventions(sandbox_http, package_echo=False)
    hidden = get_order(sandbox_http, order_id)
    references = [p["packageReferenceId"] for p in hidden["packages"]]
    assert not {"41", "42"} & set(references) and len(set(references)) == 2
    assert [p["trackingNumber"] for p in hidden["packages"]] == ["TRK41", "TRK42"]
    assert [p["packageItems"] for p in hidden["packages"]] == [
        p["packageItems"] for p in echoed["packages"]
    ]
    assert without(hidden, "packages.packageReferenceId") == without(
        echoed, "packages.packageReferenceId"
    )


def test_fulfilled_by_absent_and_the_filter_still_works(sandbox, sandbox_http):
    before, _ = search(sandbox_http)
    set_conventions(sandbox_http, fulfilled_by=False)
    after, _ = search(sandbox_http)
    assert all("fulfilledBy" not in o["fulfillment"] for o in after)
    assert [without(o, "fulfillment.fulfilledBy") for o in before] == after
    for channel in ("AMAZON", "MERCHANT"):
        filtered, _ = search(sandbox_http, fulfilledBy=channel)
        expected = {o["orderId"] for o in before if o["fulfillment"]["fulfilledBy"] == channel}
        assert {o["orderId"] for o in filtered} == expected and expected


@pytest.fixture
def unusual_sandbox(sandbox_scenario):
    start = sandbox_scenario.start
    scenario = Scenario.generate(
        orders=300, seed=1, start=start, non_amazon=True, extra_proceeds=True
    )
    with SandboxServer(scenario, port=0, speed=1000.0) as server:
        yield server


def test_unusual_orders_only_when_asked(sandbox, unusual_sandbox):
    usual = {o["orderId"]: o for o in sandbox.scenario.orders}
    unusual = {o["orderId"]: o for o in unusual_sandbox.scenario.orders}
    assert usual.keys() == unusual.keys()
    extra = ("channel", "codFee", "otherCharge", "deliveryTip")
    assert not any(k in o for o in usual.values() for k in extra)
    changed = [i for i in unusual if any(unusual[i].get(k) for k in extra)]
    assert 0 < len(changed) < len(usual) / 2
    for order_id in set(usual) - set(changed):
        assert {k: v for k, v in unusual[order_id].items() if k not in extra} == usual[order_id]


def test_non_amazon_channel_and_extra_proceeds(unusual_sandbox):
    credentials = {"refresh_token": "r", "client_id": "c", "client_secret": "s"}
    with authorized_http(unusual_sandbox, **credentials) as http:
        for proceeds in ("tax_included", "itemized"):
            set_conventions(http, proceeds=proceeds)
            orders, _ = search(http)
            channels = {o["salesChannel"]["channelName"] for o in orders}
            assert channels == {"AMAZON", "NON_AMAZON"}
            kinds = set()
            for order in orders:
                rows = amounts(order["proceeds"]["breakdowns"])
                kinds |= set(rows)
                grand = Decimal(order["proceeds"]["grandTotal"]["amount"])
                items = sum(
                    Decimal(i["proceeds"]["proceedsTotal"]["amount"]) for i in order["orderItems"]
                )
                assert grand == items + rows.get("DELIVERY_TIP", 0)
                for item in order["orderItems"]:
                    item_rows = amounts(item["proceeds"]["breakdowns"])
                    assert "DELIVERY_TIP" not in item_rows
            assert {"COD_FEE", "OTHER", "DELIVERY_TIP"} <= kinds
