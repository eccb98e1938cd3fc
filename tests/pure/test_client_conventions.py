"""Where Amazon's models leave a question open, the client must not depend on the answer:
proceeds tax-included or itemized, the window end echoed or not, our package reference
echoed or not, fulfilledBy present or not, non-Amazon sales, feeds over the message cap.

Pure rules on Amazon's own examples; the rest over HTTP against the sandbox, under each
setting of its convention switches (skipped where the sandbox has no such switch yet).
"""

import copy
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sandbox_helpers import ship_with_dhl
from test_client import make_client, marketplaces, since
from test_listings import validate_feed

from amazon_sp import amounts, const, errors, listings, parse_order, shipments, window
from amazon_sp.orders import SKIP_NON_AMAZON, OrdersV2026, skip_reason
from sp_sandbox import SandboxServer, Scenario

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "sp-api" / "models"


def _amazon_get_order_example():
    path = MODELS / "orders_2026-01-01.json"
    if not path.is_file():
        pytest.skip(f"Amazon's Orders model is absent ({MODELS})")
    model = json.loads(path.read_text())
    get = model["paths"]["/orders/2026-01-01/orders/{orderId}"]["get"]
    return copy.deepcopy(get["responses"]["200"]["examples"]["application/json"]["order"])


def _money(amount):
    return {"amount": amount, "currencyCode": "GBP"}


def _gross(order, *, marketplace_rule, has_taxes=True):
    return sum(
        (
            amounts.target_gross(c, tax_included=marketplace_rule, has_taxes=has_taxes)
            for c in amounts.order_charges(order)
        ),
        Decimal(0),
    )


# --- amounts by arithmetic ---------------------------------------------------------------


def test_amazons_itemized_example_is_read_as_tax_exclusive_on_any_marketplace_rule():
    order = parse_order(_amazon_get_order_example())
    item = order.items[0]
    assert item.proceeds_total == Decimal("103.97")
    assert (item.item_price, item.item_tax) == (Decimal("89.97"), Decimal("3.00"))
    assert (item.shipping_price, item.shipping_tax) == (Decimal("10.00"), Decimal("1.00"))
    assert item.tax_included is False
    for rule in (True, False):  # the UK table says tax-included: the numbers win
        assert _gross(order, marketplace_rule=rule) == amounts.buyer_paid(order)
    assert amounts.buyer_paid(order) == Decimal("103.97")


def test_the_same_sale_tax_included_gives_the_same_gross():
    raw = _amazon_get_order_example()
    breakdowns = raw["orderItems"][0]["proceeds"]["breakdowns"]
    breakdowns[0]["subtotal"] = _money("92.97")  # ITEM with its 3.00 tax
    breakdowns[1]["subtotal"] = _money("11.00")  # SHIPPING with its 1.00 tax
    order = parse_order(raw)
    assert order.items[0].tax_included is True
    for rule in (True, False):
        assert _gross(order, marketplace_rule=rule) == Decimal("103.97")


def test_numbers_that_fit_neither_reading_fall_back_to_the_marketplace_rule():
    raw = _amazon_get_order_example()
    raw["orderItems"][0]["proceeds"]["proceedsTotal"] = _money("150.00")
    order = parse_order(raw)
    assert order.items[0].tax_included is None
    # as before: the caller's rule decides, and the order states the difference
    assert _gross(order, marketplace_rule=True) == Decimal("99.97")
    assert _gross(order, marketplace_rule=False) == Decimal("103.97")
    assert amounts.buyer_paid(order) == Decimal("150.00")


def test_cod_fee_other_and_delivery_tip_become_charges():
    raw = _amazon_get_order_example()
    proceeds = raw["orderItems"][0]["proceeds"]
    proceeds["breakdowns"] += [
        {"type": "COD_FEE", "subtotal": _money("2.00")},
        {"type": "OTHER", "subtotal": _money("1.50")},
    ]
    tax = next(b for b in proceeds["breakdowns"] if b["type"] == "TAX")
    tax["subtotal"] = _money("4.40")
    tax["detailedBreakdowns"].append({"subtype": "COD_FEE", "value": _money("0.40")})
    proceeds["proceedsTotal"] = _money("107.87")
    raw["proceeds"] = {
        "grandTotal": _money("110.87"),
        "breakdowns": [{"type": "DELIVERY_TIP", "status": "PENDING", "subtotal": _money("3.00")}],
    }
    order = parse_order(raw)
    item = order.items[0]
    assert (item.cod_fee, item.cod_fee_tax) == (Decimal("2.00"), Decimal("0.40"))
    assert (item.other_charge, item.other_charge_tax) == (Decimal("1.50"), Decimal(0))
    assert item.tax_included is False
    assert (order.delivery_tip, order.delivery_tip_status) == (Decimal("3.00"), "PENDING")
    kinds = {c.kind: c for c in amounts.order_charges(order)}
    assert {amounts.KIND_COD_FEE, amounts.KIND_OTHER, amounts.KIND_DELIVERY_TIP} <= set(kinds)
    assert kinds[amounts.KIND_COD_FEE].amount == Decimal("2.00")
    assert kinds[amounts.KIND_DELIVERY_TIP].tax == 0
    assert _gross(order, marketplace_rule=True) == order.total == Decimal("110.87")
    assert amounts.buyer_paid(order) == order.total


def test_without_grand_total_the_stated_total_is_the_sum_of_the_proceeds():
    """``grandTotal`` is optional: what the buyer paid is then the items' proceeds summed
    (plus the tip), never the lines' own sum, so that a reading that does not add up still
    shows as a stated difference."""
    raw = _amazon_get_order_example()
    raw["orderItems"][0]["proceeds"]["proceedsTotal"] = _money("150.00")
    raw["proceeds"] = {
        "breakdowns": [{"type": "DELIVERY_TIP", "status": "PENDING", "subtotal": _money("2.00")}],
    }
    order = parse_order(raw)
    assert order.total is None
    assert amounts.stated_total(order) == amounts.buyer_paid(order) == Decimal("152.00")
    assert _gross(order, marketplace_rule=True) != amounts.stated_total(order)
    raw["proceeds"]["grandTotal"] = _money("151.00")
    assert amounts.stated_total(parse_order(raw)) == Decimal("151.00"), "grandTotal first"
    del raw["proceeds"]["grandTotal"]
    del raw["orderItems"][0]["proceeds"]
    assert amounts.stated_total(parse_order(raw)) is None, "nothing stated: the caller sums"


# --- fulfilledBy, channels (pure) ---------------------------------------------------------


def test_fulfilled_by_absent_is_decided_from_the_query_or_packages_never_guessed():
    raw = _amazon_get_order_example()
    raw["fulfillment"].pop("fulfilledBy", None)
    raw.pop("packages", None)
    with pytest.raises(errors.FulfilledByUnknownError):
        parse_order(raw)
    by_query = parse_order(raw, fulfilled_by="AMAZON")
    assert (by_query.channel, by_query.channel_source) == (const.CHANNEL_AFN, "query")
    raw["packages"] = [{"packageReferenceId": "1", "trackingNumber": "T1"}]
    by_packages = parse_order(raw)
    assert (by_packages.channel, by_packages.channel_source) == (const.CHANNEL_MFN, "packages")
    raw["fulfillment"]["fulfilledBy"] = "AMAZON"
    assert parse_order(raw, fulfilled_by="MERCHANT").channel_source == "data"


def test_non_amazon_sales_are_skipped_with_the_reason():
    raw = _amazon_get_order_example()
    assert skip_reason(raw) is None
    raw["salesChannel"]["channelName"] = "NON_AMAZON"
    skip = skip_reason(raw)
    assert skip.reason == SKIP_NON_AMAZON and skip.order_id == raw["orderId"]
    orders, failures, skipped = OrdersV2026(None).read_page([raw])
    assert (orders, failures, [s.order_id for s in skipped]) == ([], [], [raw["orderId"]])
    assert skip_reason({"AmazonOrderId": "1", "SalesChannel": "Non-Amazon"}).order_id == "1"
    assert skip_reason({"AmazonOrderId": "1", "SalesChannel": "Amazon.de"}) is None


# --- the shipment check (pure) -------------------------------------------------------------


def _shipped_order(packages, unfulfilled=None):
    unfulfilled = unfulfilled or {"A": 0, "B": 0}
    return {
        "fulfillment": {"fulfillmentStatus": "PARTIALLY_SHIPPED"},
        "packages": packages,
        "orderItems": [
            {"orderItemId": i, "fulfillment": {"quantityUnfulfilled": q}}
            for i, q in unfulfilled.items()
        ],
    }


def _package(ref, tracking, items):
    return {
        "packageReferenceId": ref,
        "trackingNumber": tracking,
        "packageItems": [{"orderItemId": i, "quantity": q} for i, q in items],
    }


def test_our_package_is_found_by_tracking_and_items_when_amazon_renames_it():
    raw = _shipped_order([_package("AMZ-77", "JJD 001", [("A", 1), ("B", 2)])])
    check = shipments.check_shipment(raw, "31", [("A", 1), ("B", 2)], "jjd001")
    assert check.verdict == shipments.PACKAGE_FOUND and "tracking" in check.reason
    assert not check.may_send


def test_a_reused_tracking_number_finds_the_package_with_our_items():
    raw = _shipped_order(
        [
            _package("AMZ-76", "JJD001", [("B", 2)]),
            _package("AMZ-77", "JJD001", [("A", 1)]),
        ]
    )
    check = shipments.check_shipment(raw, "31", [("A", 1)], "JJD001")
    assert check.verdict == shipments.PACKAGE_FOUND and not check.may_send


def test_conflicting_evidence_is_unsure_with_a_reason():
    raw = _shipped_order([_package("AMZ-77", "JJD001", [("A", 1)])])
    check = shipments.check_shipment(raw, "31", [("A", 1), ("B", 2)], "JJD001")
    assert check.verdict == shipments.UNSURE and "JJD001" in check.reason
    partial = _shipped_order([], {"A": 1, "B": 0})
    check = shipments.check_shipment(partial, "31", [("A", 3)], "NEW1")
    assert check.verdict == shipments.UNSURE and "A (1 < 3)" in check.reason
    elsewhere = _shipped_order([_package("AMZ-9", "OTHER", [("A", 1)])])
    del elsewhere["orderItems"][0]["fulfillment"]
    check = shipments.check_shipment(elsewhere, "31", [("A", 1)], "NEW1")
    assert check.verdict == shipments.UNSURE
    assert shipments.already_confirmed(elsewhere, "31", [("A", 1)], "NEW1") == shipments.UNSURE
    nothing = _shipped_order([], {"A": 1, "B": 2})
    assert shipments.check_shipment(nothing, "31", [("A", 1)], "NEW1").may_send


# --- the window (pure) -----------------------------------------------------------------------


def test_window_end_is_amazons_time_minus_the_margin():
    now = window.parse_http_date("Mon, 30 Nov 2026 02:00:00 GMT")
    since_ = now - timedelta(hours=1)
    end = window.window_end(lambda: now, since_)
    assert end == now - window.WINDOW_MARGIN and window.WINDOW_MARGIN >= timedelta(minutes=2)
    assert window.window_end(lambda: now, now - timedelta(minutes=1)) is None  # empty
    given = now - timedelta(minutes=30)
    assert window.window_end(lambda: 1 / 0, since_, given) == given  # never asks the clock
    assert window.parse_http_date("garbage") is None


# --- over HTTP, under each convention --------------------------------------------------------


def _set(srv, **values):
    conventions = getattr(srv.state, "conventions", None)
    if conventions is None:
        pytest.skip("this sandbox has no convention switches yet")
    conventions.set(**values)


def _all_orders(client, srv, **kwargs):
    api = client.orders_api("v2026")
    return list(api.search(since(srv), marketplaces(client), **kwargs))


def _check_totals(pages):
    checked = 0
    for page in pages:
        assert not page.failures
        for order in page.orders:
            paid = amounts.buyer_paid(order)
            if paid is None:
                continue
            rule = order.currency not in ("USD", "CAD")  # the old marketplace table
            assert _gross(order, marketplace_rule=rule) == paid, order.order_id
            if order.total is not None:
                assert paid == order.total, order.order_id
            checked += 1
    assert checked


def test_totals_match_what_the_buyer_paid_under_todays_sandbox(sandbox):
    with make_client(sandbox) as client:
        _check_totals(_all_orders(client, sandbox))


@pytest.mark.parametrize("convention", ["tax_included", "itemized"])
def test_totals_match_under_both_proceeds_conventions(sandbox, convention):
    _set(sandbox, proceeds=convention)
    with make_client(sandbox) as client:
        pages = _all_orders(client, sandbox)
    _check_totals(pages)
    taxed = [i for p in pages for o in p.orders for i in o.items if i.item_tax]
    assert taxed and all(i.tax_included is not None for i in taxed)
    if convention == "itemized":
        assert all(i.tax_included is False for i in taxed)


@pytest.mark.parametrize("echo", [True, False])
def test_window_end_is_ours_echoed_or_not(sandbox, echo):
    if not echo:
        _set(sandbox, window_echo=False)
    with make_client(sandbox) as client:
        ids = marketplaces(client)
        pages = list(client.orders_api("v2026").search(since(sandbox), ids, page_size=20))
        pages_v0 = list(client.orders_api("v0").search(since(sandbox), ids, page_size=50))
    latest = (sandbox.state.now() - timedelta(minutes=2)).replace(tzinfo=None)
    for found in (pages, pages_v0):
        assert len(found) >= 2
        ends = {page.window_end for page in found}
        assert len(ends) == 1 and None not in ends
        end = ends.pop()
        assert latest - timedelta(minutes=1) <= end <= latest


@pytest.mark.parametrize("present", [True, False])
def test_fulfilled_by_present_or_absent_gives_the_same_channels(sandbox, present):
    with make_client(sandbox) as client:
        reference = {o.order_id: o.channel for p in _all_orders(client, sandbox) for o in p.orders}
        if not present:
            _set(sandbox, fulfilled_by=False)
        pages = _all_orders(client, sandbox)
        found = {o.order_id: o for p in pages for o in p.orders}
        fba = _all_orders(client, sandbox, fulfilled_by=["AMAZON"])
        one = next(iter(found))
        single = client.orders_api("v2026").get(one)
    assert not [f for p in pages for f in p.failures]
    assert {i: o.channel for i, o in found.items()} == reference
    assert {o.channel for p in fba for o in p.orders} == {const.CHANNEL_AFN}
    assert single.channel == reference[one]
    if not present:
        assert {o.channel_source for o in found.values()} <= {"packages", "search"}
        assert {o.channel_source for p in fba for o in p.orders} == {"query"}


@pytest.mark.parametrize("echo", [True, False])
def test_no_second_shipment_whatever_amazon_echoes(sandbox, echo):
    from test_client import an_unshipped_mfn_order

    if not echo:
        _set(sandbox, package_echo=False)
    with make_client(sandbox) as client:
        api = client.orders_api("v2026")
        order = an_unshipped_mfn_order(client, sandbox, min_units=2)
        items = [(i.item_id, i.quantity_ordered) for i in order.items]
        assert api.check_shipment(order.order_id, "41", items, "JJD0041").may_send
        ship_with_dhl(api, order, "41", "JJD0041", items)
        check = api.check_shipment(order.order_id, "41", items, "JJD0041")
        assert check.verdict == shipments.PACKAGE_FOUND, check.reason
        fewer = [(items[0][0], 1)]
        other = api.check_shipment(order.order_id, "42", fewer, "JJD0041")
        assert other.verdict in (shipments.UNSURE, shipments.ITEMS_SHIPPED) and other.reason
    assert len(sandbox.state.shipments(order.order_id)) == 1


def test_non_amazon_orders_are_skipped_not_imported():
    try:
        scenario = Scenario.generate(orders=60, seed=3, non_amazon=True)
    except TypeError:
        pytest.skip("this sandbox cannot generate non-Amazon orders yet")
    with SandboxServer(scenario, port=0, speed=1000.0) as srv, make_client(srv) as client:
        pages = _all_orders(client, srv)
    skipped = [s for p in pages for s in p.skipped]
    assert skipped and {s.reason for s in skipped} == {SKIP_NON_AMAZON}
    imported = {o.order_id for p in pages for o in p.orders}
    assert not imported & {s.order_id for s in skipped}


# --- feeds over the cap ------------------------------------------------------------------------


def test_availability_feeds_split_at_the_cap_and_follow_amazons_schema(sandbox):
    cap = const.LISTINGS_FEED_MAX_MESSAGES
    pairs = [(f"SKU-{n:05d}", n % 7) for n in range(cap + 3)]
    with make_client(sandbox) as client:
        with pytest.raises(ValueError, match="submit_availability_feeds"):
            client.feeds.submit_availability("A1SELLER", "A1PA6795UKMFR9", pairs)
        sent = client.feeds.submit_availability_feeds("A1SELLER", "A1PA6795UKMFR9", pairs)
    assert len(sent) == 2 and len({s.feed_id for s in sent}) == 2
    assert sent[0].message_ids == tuple(range(1, cap + 1))
    assert sent[1].message_ids == (1, 2, 3)
    assert sent[0].skus + sent[1].skus == tuple(sku for sku, _ in pairs)
    for chunk in (pairs[:cap], pairs[cap:]):
        validate_feed(listings.build_availability_feed("A1SELLER", chunk))


def test_amazons_feed_schema_refuses_a_broken_document():
    from jsonschema import ValidationError

    feed = listings.build_availability_feed("A1SELLER", [("MUG", 1)])
    feed["header"]["version"] = "1.0"
    with pytest.raises(ValidationError):
        validate_feed(feed)
