"""SpApiClient against the SP-API sandbox over real HTTP (no mocks, no patched methods).

The ``sandbox`` fixture (conftest.py) serves 300 generated orders at speed 1000, so
documented rate limits are paced in milliseconds; timeouts and backoffs are real time.
"""

import json
import logging
import time
from datetime import timedelta

import pytest

from amazon_sp import (
    ClientConfig,
    SpApiClient,
    _adapter,
    const,
    errors,
    parse_order,
    parse_order_v0,
    types,
)
from amazon_sp.listings import build_availability_feed, encode_feed

CLIENT_ID = "amzn1.application-oa2-client.test"
CLIENT_SECRET = "amzn1.oa2-cs.v1.super-secret-value-42"
REFRESH_TOKEN = "Atzr|IwEBIrefresh-token-for-tests-0123456789"


def make_client(srv, **overrides):
    options = {
        "endpoint": srv.url,
        "lwa_endpoint": srv.lwa_url,
        "timeout": 5.0,
        "max_attempts": 6,
        "max_retry_seconds": 20.0,
    }
    options.update(overrides)
    # Quick jitter keeps retry tests short; sleeping and timing stay real.
    return SpApiClient(
        ClientConfig(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, **options), rng=lambda: 0.05
    )


def marketplaces(client):
    return [m.marketplace_id for m in client.get_marketplace_participations()]


def since(srv, days=30):
    return srv.state.now() - timedelta(days=days)


def all_orders(client, srv, **kwargs):
    ids = marketplaces(client)
    return [o for page in client.search_orders(since(srv), ids, **kwargs) for o in page.raw_orders]


def an_unshipped_mfn_order(client, srv, min_units=2):
    ids = marketplaces(client)
    for page in client.search_orders(
        since(srv), ids, fulfilled_by=["MERCHANT"], fulfillment_statuses=["UNSHIPPED"]
    ):
        for raw in page.raw_orders:
            order = parse_order(raw)
            if sum(i.quantity_ordered for i in order.items) >= min_units:
                return order
    raise AssertionError("no unshipped MFN order with enough units in the scenario")


# --- basics -----------------------------------------------------------------------------


def test_endpoint_override_http_and_participations(sandbox):
    with make_client(sandbox) as client:
        participations = client.get_marketplace_participations()
        assert client._orders.headers["host"] == sandbox.url.split("//", 1)[1]
    assert participations and all(
        isinstance(p, types.MarketplaceParticipation) for p in participations
    )
    by_id = {p.marketplace_id: p for p in participations}
    assert by_id["A1PA6795UKMFR9"].currency == "EUR"
    assert by_id["A1PA6795UKMFR9"].is_participating
    assert "searchOrders" not in client.stats.by_operation
    assert client.stats.calls == 1 and client.stats.token_requests == 1


def test_credentials_never_come_from_environment(sandbox, monkeypatch, tmp_path):
    # Another account's credentials in the environment / config dir must not be used.
    monkeypatch.setenv("LWA_APP_ID", "other-app")
    monkeypatch.setenv("LWA_CLIENT_SECRET", "other-secret")
    monkeypatch.setenv("SP_API_REFRESH_TOKEN", "Atzr|other-refresh")
    monkeypatch.setenv("SP_API_DEFAULT_MARKETPLACE", "JP")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    sandbox.set_credentials(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
    with make_client(sandbox) as client:
        assert marketplaces(client)
    with SpApiClient(
        ClientConfig(
            CLIENT_ID,
            "wrong-secret-value",
            REFRESH_TOKEN,
            endpoint=sandbox.url,
            lwa_endpoint=sandbox.lwa_url,
        )
    ) as bad:
        with pytest.raises(errors.SpApiAuthError) as info:
            bad.get_marketplace_participations()
    assert "wrong-secret-value" not in str(info.value) and "LWA" in str(info.value)


def test_pagination_over_pages_is_complete_and_stable(sandbox):
    with make_client(sandbox) as client:
        big = all_orders(client, sandbox)
        pages = list(client.search_orders(since(sandbox), marketplaces(client), page_size=40))
    assert len(pages) >= 3
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    assert all(p.next_token for p in pages[:-1]) and pages[-1].next_token is None
    small = [o["orderId"] for p in pages for o in p.raw_orders]
    assert len(small) == len(set(small)) == len(big)
    assert small == [o["orderId"] for o in big]
    ends = {p.window_end for p in pages}
    assert len(ends) == 1  # one pinned window
    window_end = ends.pop()
    assert window_end.tzinfo is None
    expected = (sandbox.state.now() - timedelta(minutes=2)).replace(tzinfo=None)
    assert abs((expected - window_end).total_seconds()) < 60
    for raw in big:
        parse_order(raw)


def test_get_order_and_included_data(sandbox):
    with make_client(sandbox) as client:
        first = all_orders(client, sandbox)[0]
        raw = client.get_order(first["orderId"])
        bare = client.get_order(first["orderId"], included_data=("FULFILLMENT",))
        with pytest.raises(errors.SpApiNotFoundError) as info:
            client.get_order("999-0000000-0000000")
    assert parse_order(raw).order_id == first["orderId"]
    assert "buyer" not in bare and "proceeds" not in bare
    assert info.value.status == 404 and info.value.operation == "getOrder"


def test_v0_sync_uses_one_rdt_and_matches_v2026(sandbox):
    with make_client(sandbox) as client:
        ids = marketplaces(client)
        v0 = [
            o
            for p in client.search_orders_v0(since(sandbox), ids, page_size=50)
            for o in p.raw_orders
        ]
        v2026 = {o["orderId"]: parse_order(o) for o in all_orders(client, sandbox)}
        single = client.get_order_v0(v0[0]["AmazonOrderId"])
    assert client.stats.by_operation["createRestrictedDataToken"] == 1
    assert len(v0) == len(v2026)
    with_address = [o for o in v0 if o.get("ShippingAddress")]
    assert with_address, "the RDT must unlock shipping addresses"
    assert any(o.get("BuyerInfo", {}).get("BuyerEmail") for o in v0)
    assert single["OrderItems"] and single.get("ShippingAddress") == v0[0].get("ShippingAddress")
    for raw in v0:
        order = parse_order_v0(raw)
        other = v2026[order.order_id]
        assert order.source == "v0"
        assert (order.status, order.channel, order.currency, order.total) == (
            other.status,
            other.channel,
            other.currency,
            other.total,
        )
        assert order.recipient == other.recipient
        for mine, theirs in zip(order.items, other.items, strict=True):
            assert (
                mine.item_price,
                mine.item_tax,
                mine.shipping_price,
                mine.promotion_discount,
                mine.gift_wrap_price,
            ) == (
                theirs.item_price,
                theirs.item_tax,
                theirs.shipping_price,
                theirs.promotion_discount,
                theirs.gift_wrap_price,
            )


def test_create_restricted_data_token_public(sandbox):
    with make_client(sandbox) as client:
        order_id = all_orders(client, sandbox)[0]["orderId"]
        token = client.create_restricted_data_token(
            [
                {
                    "method": "GET",
                    "path": f"/orders/v0/orders/{order_id}/address",
                    "dataElements": ["shippingAddress"],
                }
            ]
        )
    assert token.startswith("Atz.sprdt|")


# --- tokens ------------------------------------------------------------------------------


def test_access_token_refreshed_when_expired(sandbox):
    sandbox.access_token_ttl = 1
    with make_client(sandbox) as client:
        marketplaces(client)
        time.sleep(1.2)  # the client honours expires_in: it asks for a new token itself
        marketplaces(client)
        assert client.stats.token_requests == 2
        # A token the client still believes valid but Amazon says expired: 403, one
        # refresh, one resend.
        for key, (body, _expiry) in list(_adapter._TOKENS.items()):
            _adapter._TOKENS[key] = (body, time.monotonic() + 3600)
        time.sleep(1.2)
        before = dict(sandbox.state.stats["responses"])
        assert marketplaces(client)
    after = sandbox.state.stats["responses"]
    assert after.get("403", 0) == before.get("403", 0) + 1
    assert client.stats.token_requests == 3


def test_tokens_are_cached_per_lwa_url_and_client(sandbox, sandbox_scenario):
    from sp_sandbox import SandboxServer

    with SandboxServer(sandbox_scenario, port=0, speed=1000.0) as other:
        with make_client(sandbox) as one, make_client(other) as two:
            marketplaces(one)
            marketplaces(two)  # same refresh token, other LWA URL: its own token
            marketplaces(one)
        assert one.stats.token_requests == 1 and two.stats.token_requests == 1


# --- throttling and retries ------------------------------------------------------------------


def test_429_storm_is_absorbed(sandbox):
    sandbox.faults.add(operation="searchOrders", kind="429", count=4)
    with make_client(sandbox) as client:
        orders = all_orders(client, sandbox, page_size=100)
    assert len(orders) == len({o["orderId"] for o in orders}) > 0
    assert client.stats.throttled == 4 and client.stats.retries == 4


def test_real_rate_limit_paced_without_429(sandbox):
    # getOrder: 0.5/s x 1000 = 500/s, burst 30: 80 calls must not be throttled.
    with make_client(sandbox) as client:
        ids = [o["orderId"] for o in all_orders(client, sandbox)][:80]
        for order_id in ids:
            client.get_order(order_id, included_data=())
        bucket = client.bucket("getOrder")
    assert client.stats.throttled == 0
    assert bucket.rate == pytest.approx(500.0)  # learnt from x-amzn-RateLimit-Limit


def test_5xx_are_retried(sandbox):
    sandbox.faults.add(operation="getOrder", kind="500", count=2)
    sandbox.faults.add(operation="getOrder", kind="503", count=1)
    with make_client(sandbox) as client:
        order_id = all_orders(client, sandbox)[0]["orderId"]
        assert client.get_order(order_id)["orderId"] == order_id
    assert client.stats.retries == 3


def test_give_up_after_the_bound_with_typed_errors(sandbox):
    sandbox.faults.add(operation="getMarketplaceParticipations", kind="500")
    with make_client(sandbox, max_attempts=3) as client:
        started = time.monotonic()
        with pytest.raises(errors.SpApiServerError) as info:
            client.get_marketplace_participations()
    assert info.value.status == 500 and "gave up after 3 attempt" in str(info.value)
    assert client.stats.calls == 3 and time.monotonic() - started < 10
    sandbox.faults.clear()
    sandbox.faults.add(operation="getMarketplaceParticipations", kind="429")
    with make_client(sandbox, max_attempts=50, max_retry_seconds=1.5) as client:
        started = time.monotonic()
        with pytest.raises(errors.SpApiThrottledError) as info:
            client.get_marketplace_participations()
    assert info.value.status == 429 and time.monotonic() - started < 3
    assert "QuotaExceeded" in str(info.value)


@pytest.mark.forbidden_requests
def test_bad_request_is_not_retried(sandbox):
    with make_client(sandbox) as client:
        with pytest.raises(errors.SpApiBadRequestError) as info:
            list(
                client.search_orders(
                    since(sandbox), marketplaces(client), last_updated_before=sandbox.state.now()
                )
            )
    assert client.stats.retries == 0 and info.value.status == 400
    assert "InvalidInput" in str(info.value)


def test_malformed_json(sandbox):
    sandbox.faults.add(operation="getMarketplaceParticipations", kind="malformed", count=1)
    with make_client(sandbox) as client:
        assert marketplaces(client)  # a truncated body once: retried
        assert client.stats.retries == 1
    sandbox.faults.add(operation="getMarketplaceParticipations", kind="malformed")
    with make_client(sandbox, max_attempts=2) as client:
        with pytest.raises(errors.SpApiResponseError) as info:
            client.get_marketplace_participations()
    assert "malformed JSON" in str(info.value)


def test_missing_required_fields_give_clear_errors(sandbox):
    sandbox.faults.add(operation="searchOrders", kind="missing_field", count=1)
    with make_client(sandbox) as client:
        page = next(iter(client.search_orders(since(sandbox), marketplaces(client))))
        problems = []
        for raw in page.raw_orders[:2]:
            with pytest.raises(errors.OrderParseError) as info:
                parse_order(raw)
            problems.append(info.value)
        assert problems[0].field == "orderId" and "<unknown>" in str(problems[0])
        assert problems[1].field == "orderItems" and problems[1].order_id in str(problems[1])
        sandbox.faults.add(operation="getMarketplaceParticipations", kind="missing_field")
        with pytest.raises(errors.SpApiResponseError) as info:
            client.get_marketplace_participations()
        assert "marketplace.id" in str(info.value)


def test_connection_reset_and_slow_response_retried_for_reads(sandbox):
    sandbox.faults.add(operation="getOrder", kind="reset", count=1)
    sandbox.faults.add(operation="getOrder", kind="slow", count=1, delay=2.0)
    with make_client(sandbox, timeout=0.7) as client:
        order_id = all_orders(client, sandbox)[0]["orderId"]
        started = time.monotonic()
        assert client.get_order(order_id)["orderId"] == order_id
    assert client.stats.retries == 2 and time.monotonic() - started < 5
    sandbox.faults.add(operation="getOrder", kind="reset")
    with make_client(sandbox, max_attempts=2) as client:
        with pytest.raises(errors.SpApiTransportError) as info:
            client.get_order(order_id)
    assert not info.value.outcome_unknown  # a read: nothing happened on Amazon's side


# --- confirmShipment -----------------------------------------------------------------------------


def _ship(client, order, package, items, **extra):
    client.confirm_shipment(
        order.order_id,
        marketplace_id=order.marketplace_id,
        package_reference_id=package,
        carrier_code=extra.pop("carrier_code", "DHL"),
        tracking_number=f"TRK{package}",
        ship_date=extra.pop("ship_date", None) or order.purchase_date + timedelta(hours=3),
        items=items,
        **extra,
    )


def test_confirm_shipment_partial_then_full(sandbox):
    with make_client(sandbox) as client:
        order = an_unshipped_mfn_order(client, sandbox)
        first, rest = order.items[0], order.items[1:]
        _ship(client, order, "1", [(first.item_id, 1)], carrier_code="My Local Courier")
        partial = parse_order(client.get_order(order.order_id))
        assert partial.status == const.STATUS_PARTIALLY_SHIPPED
        remaining = (
            [(first.item_id, first.quantity_ordered - 1)] if (first.quantity_ordered > 1) else []
        )
        remaining += [(i.item_id, i.quantity_ordered) for i in rest]
        _ship(client, order, "2", remaining, shipping_method="Paket")
        full = parse_order(client.get_order(order.order_id))
        assert full.status == const.STATUS_SHIPPED
        assert all(i.quantity_shipped == i.quantity_ordered for i in full.items)
        with pytest.raises(errors.SpApiBadRequestError):  # a package already received
            _ship(client, order, "2", remaining)
    shipments = sandbox.state.shipments(order.order_id)
    assert len(shipments) == 2
    first_package = json.dumps(shipments[0])
    assert '"Other"' in first_package and "My Local Courier" in first_package


def test_confirm_shipment_timeout_after_effect_is_outcome_unknown(sandbox):
    with make_client(sandbox, timeout=0.7) as client:
        order = an_unshipped_mfn_order(client, sandbox, min_units=1)
        items = [(i.item_id, i.quantity_ordered) for i in order.items]
        sandbox.faults.add(
            operation="confirmShipment", kind="slow", delay=2.0, count=1, after_effect=True
        )
        with pytest.raises(errors.SpApiTransportError) as info:
            _ship(client, order, "11", items)
        assert info.value.outcome_unknown and "check the outcome" in str(info.value)
        assert client.stats.by_operation["confirmShipment"] == 1  # not resent blindly
        # The Odoo layer checks the order before resending: Amazon did record it.
        assert parse_order(client.get_order(order.order_id)).status == const.STATUS_SHIPPED
    assert len(sandbox.state.shipments(order.order_id)) == 1


def test_confirm_shipment_reset_and_500_are_outcome_unknown(sandbox):
    with make_client(sandbox) as client:
        order = an_unshipped_mfn_order(client, sandbox, min_units=1)
        items = [(i.item_id, i.quantity_ordered) for i in order.items]
        sandbox.faults.add(operation="confirmShipment", kind="reset", count=1)
        with pytest.raises(errors.SpApiTransportError) as info:
            _ship(client, order, "21", items)
        assert info.value.outcome_unknown
        sandbox.faults.add(operation="confirmShipment", kind="500", count=1, after_effect=True)
        with pytest.raises(errors.SpApiServerError) as info:
            _ship(client, order, "22", items)
        assert info.value.outcome_unknown and info.value.status == 500
        sandbox.faults.add(operation="confirmShipment", kind="429", count=2)
        with pytest.raises(errors.SpApiBadRequestError):  # 429s retried; then: shipped
            _ship(client, order, "23", items)
    assert client.stats.throttled == 2
    assert len(sandbox.state.shipments(order.order_id)) == 1


# --- feeds ----------------------------------------------------------------------------------


def test_feed_round_trip(sandbox):
    with make_client(sandbox) as client:
        sku = parse_order(all_orders(client, sandbox)[0]).items[0].sku
        content_type = "application/json; charset=UTF-8"
        document_id, url = client.create_feed_document(content_type)
        feed = build_availability_feed(
            sandbox.scenario.seller["sellerId"], [(sku, 7), ("NO-SUCH-SKU-XYZ", 1)]
        )
        client.upload_feed_document(url, encode_feed(feed), content_type)
        feed_id = client.create_feed("JSON_LISTINGS_FEED", ["A1PA6795UKMFR9"], document_id)
        status = client.get_feed(feed_id)
        for _ in range(20):
            if status["processingStatus"] in ("DONE", "FATAL"):
                break
            sandbox.state.advance(120)
            time.sleep(0.2)
            status = client.get_feed(feed_id)
        assert status["processingStatus"] == "DONE"
        document = client.get_feed_document(status["resultFeedDocumentId"])
        report = json.loads(client.download_feed_document(document))
    assert report["summary"]["messagesProcessed"] == 2
    assert report["summary"]["errors"] >= 1


# --- secrets ------------------------------------------------------------------------------------


def test_no_secret_in_logs(sandbox, caplog):
    library_logger = logging.getLogger("sp_api.base.client")
    old_level = library_logger.level
    library_logger.setLevel(logging.DEBUG)  # the library logs request headers at DEBUG
    sandbox.access_token_ttl = 2
    secrets = {CLIENT_SECRET, REFRESH_TOKEN}
    try:
        with caplog.at_level(logging.DEBUG):
            sandbox.faults.add(operation="getOrder", kind="500", count=1)
            with make_client(sandbox) as client:
                ids = marketplaces(client)
                for page in client.search_orders(since(sandbox), ids, page_size=100):
                    for raw in page.raw_orders:
                        parse_order(raw)
                for body, _expiry in _adapter._TOKENS.values():
                    secrets.add(body["access_token"])
                client.get_order(page.raw_orders[0]["orderId"])
                time.sleep(2.1)  # the next token is a new one
                for page in client.search_orders_v0(since(sandbox), ids):
                    for raw in page.raw_orders:
                        parse_order_v0(raw)
                for body, _expiry in _adapter._TOKENS.values():
                    secrets.add(body["access_token"])
                secrets.update(token for token, _ in client._rdt_cache.values())
                with pytest.raises(errors.SpApiAuthError) as info:
                    with SpApiClient(
                        ClientConfig(
                            CLIENT_ID,
                            CLIENT_SECRET,
                            REFRESH_TOKEN,
                            endpoint=sandbox.url,
                            lwa_endpoint=sandbox.url + "/nowhere",
                        )
                    ) as c:
                        c.get_marketplace_participations()
    finally:
        library_logger.setLevel(old_level)
    assert len(secrets) >= 5
    header_records = [r for r in caplog.records if "Request Headers" in r.getMessage()]
    assert header_records, "the library's header logging was not exercised"
    everything = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    everything += str(info.value) + repr(info.value) + repr(client.config) + repr(client)
    for secret in secrets:
        assert secret not in everything
    assert "x-amz-access-token': '***'" in everything
