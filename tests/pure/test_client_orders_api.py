"""client.orders_api(version): one object per Orders API version, the same calls and types,
against the SP-API sandbox over real HTTP."""

import pytest
from sandbox_helpers import ship_with_dhl
from test_client import make_client, marketplaces, since

from amazon_sp import OrderFailure, OrdersPage, const, errors, orders, shipments, types


def _search(api, srv, **kwargs):
    return list(api.search(since(srv), marketplaces(api._client), **kwargs))


def test_unknown_version_is_refused(sandbox):
    with make_client(sandbox) as client:
        assert client.orders_api().version == "v2026"
        assert isinstance(client.orders_api("v0"), orders.OrdersV0)
        with pytest.raises(ValueError, match="v2026, v0"):
            client.orders_api("2021")


def test_both_versions_search_the_same_typed_orders(sandbox):
    with make_client(sandbox) as client:
        v2026 = _search(
            client.orders_api("v2026"), sandbox, fulfillment_statuses=const.SEARCH_STATUSES
        )
        v0 = _search(
            client.orders_api("v0"),
            sandbox,
            fulfillment_statuses=const.SEARCH_STATUSES,
            page_size=60,
        )
        everything = _search(client.orders_api("v2026"), sandbox)
    for pages in (v2026, v0):
        assert all(isinstance(page, OrdersPage) for page in pages)
        assert [page.number for page in pages] == list(range(1, len(pages) + 1))
        assert pages[-1].next_token is None and all(p.next_token for p in pages[:-1])
        assert pages[-1].window_end is not None
        assert not [failure for page in pages for failure in page.failures]
        for page in pages:
            assert len(page.orders) == len(page.raw_orders)
            assert all(isinstance(order, types.Order) for order in page.orders)
    by_id = {o.order_id: o for page in v2026 for o in page.orders}
    by_id_v0 = {o.order_id: o for page in v0 for o in page.orders}
    assert by_id and set(by_id) == set(by_id_v0)
    assert {o.status for o in by_id.values()} <= set(const.SEARCH_STATUSES)
    all_ids = {o.order_id for page in everything for o in page.orders}
    assert set(by_id) <= all_ids
    for order_id, order in by_id.items():
        other = by_id_v0[order_id]
        assert (order.source, other.source) == ("v2026", "v0")
        assert (order.status, order.channel, order.currency, order.total) == (
            other.status,
            other.channel,
            other.currency,
            other.total,
        )
        assert [i.item_price for i in order.items] == [i.item_price for i in other.items]


@pytest.mark.parametrize("version", ["v2026", "v0"])
def test_fulfilled_by_and_statuses_in_v2026_spelling_filter_both(sandbox, version):
    with make_client(sandbox) as client:
        pages = _search(
            client.orders_api(version),
            sandbox,
            fulfilled_by=["MERCHANT"],
            fulfillment_statuses=[const.STATUS_UNSHIPPED],
        )
        found = [o for page in pages for o in page.orders]
        assert found
        assert {(o.channel, o.status) for o in found} == {
            (const.CHANNEL_MFN, const.STATUS_UNSHIPPED)
        }
        with pytest.raises(ValueError):
            _search(client.orders_api(version), sandbox, fulfillment_statuses=["Unshipped"])


@pytest.mark.parametrize("version", ["v2026", "v0"])
def test_get_one_order_typed_or_as_a_page(sandbox, version):
    with make_client(sandbox) as client:
        api = client.orders_api(version)
        listed = _search(client.orders_api("v2026"), sandbox)[0].orders[0]
        order = api.get(listed.order_id)
        page = api.get_page(listed.order_id)
        with pytest.raises(errors.SpApiNotFoundError):
            api.get("999-0000000-0000000")
    assert order.source == version
    assert (order.order_id, order.total, order.status) == (
        listed.order_id,
        listed.total,
        listed.status,
    )
    assert page.orders == [order] and page.failures == [] and len(page.raw_orders) == 1


def test_unreadable_orders_become_failures_with_their_raw_json(sandbox):
    with make_client(sandbox) as client:
        api = client.orders_api("v2026")
        good = client.get_order(_search(api, sandbox)[0].orders[0].order_id)
        nul = dict(good, orderId="028-0000000-0000001")
        nul["buyer"] = dict(good.get("buyer") or {}, buyerName="Ana\x00 Pérez")
        broken = dict(good, orderId="028-0000000-0000002", orderItems="nope")
        for body in (nul, broken, {"buyer": None}):
            sandbox.state.add_raw_order(body)
        sandbox.state.advance(600)  # searches end two minutes before "now"
        pages = _search(api, sandbox)
        single = api.get_page("028-0000000-0000002")
        with pytest.raises(errors.OrderParseError):
            api.get("028-0000000-0000002")
    failures = [failure for page in pages for failure in page.failures]
    assert {failure.order_id for failure in failures} == {"028-0000000-0000002", None}
    assert all(isinstance(failure, OrderFailure) for failure in failures)
    named = next(failure for failure in failures if failure.order_id)
    assert named.raw == broken and "orderItems" in named.message and named.problem
    assert str(named) == named.message
    unknown = next(failure for failure in failures if failure.order_id is None)
    assert unknown.raw == {"buyer": None} and "orderId" in unknown.message
    cleaned = [o for page in pages for o in page.orders if o.order_id == nul["orderId"]]
    assert len(cleaned) == 1 and cleaned[0].buyer.name == "Ana Pérez"
    assert single.orders == [] and single.failures[0].order_id == "028-0000000-0000002"


def test_read_is_pure_and_keeps_going_after_a_bad_order():
    api = orders.OrdersV0(client=None)
    good, failures = api.read([None, {"AmazonOrderId": "1", "OrderStatus": "Lost"}])
    assert good == []
    assert [f.order_id for f in failures] == [None, "1"]
    assert "OrderStatus" in failures[1].message
    assert orders.strip_nul({"a": ["x\x00y", 1, None]}) == {"a": ["xy", 1, None]}


@pytest.mark.parametrize("version", ["v2026", "v0"])
def test_confirm_shipment_and_the_check_before_a_resend(sandbox, version):
    with make_client(sandbox) as client:
        api = client.orders_api(version)
        order = next(
            o
            for page in _search(
                api,
                sandbox,
                fulfilled_by=["MERCHANT"],
                fulfillment_statuses=[const.STATUS_UNSHIPPED],
            )
            for o in page.orders
        )
        items = [(i.item_id, i.quantity_ordered) for i in order.items]
        assert api.already_confirmed(order.order_id, "31", items) is None
        ship_with_dhl(api, order, "31", "JJD0099887766", items)
        assert api.already_confirmed(order.order_id, "31", items) == shipments.PACKAGE_FOUND
        assert api.already_confirmed(order.order_id, "32", items) == shipments.ITEMS_SHIPPED
        assert api.get(order.order_id).status == const.STATUS_SHIPPED
    assert len(sandbox.state.shipments(order.order_id)) == 1


@pytest.mark.parametrize("version", ["v2026", "v0"])
def test_a_search_resumes_at_a_page_token_with_the_same_window(sandbox, version):
    with make_client(sandbox) as client:
        api, after = client.orders_api(version), since(sandbox)
        whole = list(api.search(after, marketplaces(client), page_size=7))
        assert len(whole) >= 3
        end, token = whole[0].window_end, whole[0].next_token
        # Later: the same window (same start, its end given), from the second page on.
        sandbox.state.advance(600)
        rest = list(
            api.search(
                after, marketplaces(client), page_size=7, last_updated_before=end, page_token=token
            )
        )
    first = {order.order_id for order in whole[0].orders}
    later = {order.order_id for page in whole[1:] for order in page.orders}
    resumed = [order.order_id for page in rest for order in page.orders]
    # Past the first page, in the same fixed window: an order updated since has left it
    # (for the next window), none can enter it.
    assert resumed and set(resumed) <= later and not first & set(resumed)
    assert len(resumed) == len(set(resumed))
    assert all(page.window_end == end for page in rest)
    assert client.pacing_wait(api.search_operation) >= 0
