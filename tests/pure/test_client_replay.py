"""Replay every static ``x-amzn-api-sandbox`` example of the operations we use
through the real client over HTTP.

A tiny Werkzeug app on loopback answers each operation with the example's response
body (and a fake LWA token endpoint); the client fetches it exactly as it would
from Amazon (same response handling), then the parser turns orders into
``types.Order``. Error examples must become typed errors carrying Amazon's code.
"""

import json
import re
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from amazon_sp import ClientConfig, SpApiClient, errors, parse_order, parse_order_v0, types

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "sp-api" / "models"
pytestmark = pytest.mark.skipif(
    not (MODELS / "orders_2026-01-01.json").exists(),
    reason="Amazon's models are absent (../shared/sp-api/models beside the repo)",
)

OPERATIONS = {
    "orders_2026-01-01.json": ("searchOrders", "getOrder"),
    "ordersV0.json": ("getOrders", "getOrder", "getOrderItems", "confirmShipment"),
    "tokens_2021-03-01.json": ("createRestrictedDataToken",),
    "sellers.json": ("getMarketplaceParticipations",),
    "feeds_2021-06-30.json": ("createFeedDocument", "createFeed", "getFeed", "getFeedDocument"),
}


def _load_examples():
    """[(model, operationId, method, path template, status, request, response)]"""
    found = []
    if not MODELS.exists():
        return found
    for model, operation_ids in OPERATIONS.items():
        data = json.loads((MODELS / model).read_text())
        for path, methods in data["paths"].items():
            for method, op in methods.items():
                if not isinstance(op, dict) or op.get("operationId") not in operation_ids:
                    continue
                for status, response in op["responses"].items():
                    for example in (response.get("x-amzn-api-sandbox") or {}).get("static", []):
                        found.append(
                            (
                                model,
                                op["operationId"],
                                method.upper(),
                                path,
                                int(status),
                                example.get("request", {}),
                                example.get("response"),
                            )
                        )
    return found


EXAMPLES = _load_examples()


class ReplayServer:
    """Answers one route with a canned status/body; records the requests."""

    def __init__(self):
        self.routes = {}  # (METHOD, regex) -> (status, body or None)
        self.queued = {}  # (METHOD, regex) -> [(status, body, headers)] served first
        self.requests = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def route(self, method, template, status, body, *, before=()):
        """``before``: (status, body, headers) answers served once each, first."""
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        self.routes[(method, pattern)] = (status, body)
        self.queued[(method, pattern)] = list(before)

    @Request.application
    def _app(self, request):
        self.requests.append((request.method, request.path, dict(request.args.lists())))
        if request.path == "/auth/o2/token":
            return Response(
                json.dumps(
                    {
                        "access_token": "Atza|replay-token",
                        "token_type": "bearer",
                        "expires_in": 3600,
                    }
                ),
                content_type="application/json",
            )
        for (method, pattern), (status, body) in self.routes.items():
            if method == request.method and re.match(pattern, request.path):
                queue = self.queued.get((method, pattern))
                if queue:
                    status, body, extra = queue.pop(0)
                    return Response(
                        json.dumps(body),
                        status=status,
                        headers=extra,
                        content_type="application/json",
                    )
                text = "" if body is None or status == 204 else json.dumps(body)
                headers = {"x-amzn-RequestId": "replay", "x-amzn-RateLimit-Limit": "50"}
                return Response(
                    text, status=status, content_type="application/json", headers=headers
                )
        return Response(
            json.dumps({"errors": [{"code": "NotFound", "message": request.path}]}),
            status=404,
            content_type="application/json",
        )

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def replay():
    server = ReplayServer()
    yield server
    server.close()


def _config(replay, lwa_path, client_id, client_secret, refresh_token, **options):
    """A two-attempt client configuration on ``replay``, LWA answered at ``lwa_path``."""
    return ClientConfig(
        client_id,
        client_secret,
        refresh_token,
        endpoint=replay.url,
        lwa_endpoint=replay.url + lwa_path,
        max_attempts=2,
        **options,
    )


@pytest.fixture
def client(replay):
    replay.routes.clear()
    cfg = _config(
        replay,
        "/auth/o2/token",
        "amzn1.application-oa2-client.replay",
        "replay-secret-1234",
        "Atzr|replay-refresh",
        max_retry_seconds=2,
    )
    with SpApiClient(cfg) as api:
        # Replay answers say 50 req/s: don't let the documented (slow) rates pace us.
        for operation in (
            "searchOrders",
            "getOrders",
            "getMarketplaceParticipations",
            "createFeed",
            "getFeedDocument",
        ):
            api.bucket(operation).set_rate(50)
        yield api


def _param(request, name, default=None):
    return ((request.get("parameters") or {}).get(name) or {}).get("value", default)


def _contract():
    try:
        import contract  # tests/pure/contract.py, by the sandbox helper
    except ImportError:
        return None
    return getattr(contract, "assert_valid_response", None)


def _run(client, replay, example):
    """Call the client for one example; return what it produced."""
    model, op, method, path, status, request, body = example
    replay.route(method, path, status, body)
    if op in ("searchOrders", "getOrders"):
        # the orders searches read Amazon's clock (Date header) from an earlier answer
        sellers = next(e for e in EXAMPLES if e[1] == "getMarketplaceParticipations")
        replay.route(sellers[2], sellers[3], 200, sellers[6])
    since = datetime(2024, 1, 1)
    if op == "searchOrders":
        page = next(iter(client.search_orders(since, ["A1PA6795UKMFR9"], page_size=5)))
        return [parse_order(o) for o in page.raw_orders]
    if op == "getOrder" and model.startswith("orders_2026"):
        return [parse_order(client.get_order(_param(request, "orderId", "1")))]
    if op in ("getOrders", "getOrder", "getOrderItems"):
        other = {}
        for entry in EXAMPLES:
            if (
                entry[0] == model
                and entry[4] == 200
                and entry[1] in ("getOrderItems", "createRestrictedDataToken")
            ):
                other.setdefault(entry[1], entry)
        rdt = next(e for e in EXAMPLES if e[1] == "createRestrictedDataToken" and e[4] == 200)
        replay.route("POST", rdt[3], 200, rdt[6])
        items = other["getOrderItems"]
        if op != "getOrderItems":
            # Amazon's only getOrderItems example belongs to order 902-1845936-5435065:
            # other example orders get an empty item list rather than foreign items.
            replay.route("GET", items[3].replace("{orderId}", "902-1845936-5435065"), 200, items[6])
            replay.route(
                "GET", items[3], 200, {"payload": {"AmazonOrderId": "x", "OrderItems": []}}
            )
        order_id = "902-1845936-5435065"
        if op == "getOrders":
            page = next(iter(client.search_orders_v0(since, ["ATVPDKIKX0DER"])))
            return [parse_order_v0(o) for o in page.raw_orders]
        if op == "getOrder":
            order_id = body["payload"]["AmazonOrderId"] if status == 200 else order_id
            return [parse_order_v0(client.get_order_v0(order_id))]
        getorder = next(e for e in EXAMPLES if e[1] == "getOrder" and e[0] == model)
        replay.route("GET", getorder[3], 200, getorder[6])
        return [parse_order_v0(client.get_order_v0(order_id))]
    if op == "confirmShipment":
        payload = _param(request, "body")
        package = payload["packageDetail"]
        client.confirm_shipment(
            "902-1106328-1059050",
            marketplace_id=payload["marketplaceId"],
            package_reference_id=package["packageReferenceId"],
            carrier_code=package["carrierCode"],
            carrier_name=package.get("carrierName"),
            tracking_number=package["trackingNumber"],
            ship_date=package["shipDate"],
            items=[(i["orderItemId"], i["quantity"]) for i in package["orderItems"]],
            shipping_method=package.get("shippingMethod"),
        )
        return None
    if op == "createRestrictedDataToken":
        return client.create_restricted_data_token(_param(request, "body")["restrictedResources"])
    if op == "getMarketplaceParticipations":
        return client.get_marketplace_participations()
    if op == "createFeedDocument":
        return client.create_feed_document("application/json; charset=UTF-8")
    if op == "createFeed":
        return client.create_feed("JSON_LISTINGS_FEED", ["ATVPDKIKX0DER"], "doc-1")
    if op == "getFeed":
        return client.get_feed("feedId1")
    if op == "getFeedDocument":
        return client.get_feed_document("0356cf79-b8b0-4226-b4b9-0ee058ea5760")
    raise AssertionError(op)


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[f"{e[1]}-{e[4]}-{i}" for i, e in enumerate(EXAMPLES)]
)
def test_replay_example(client, replay, example):
    model, op, method, path, status, request, body = example
    validate = _contract()
    if status >= 400:
        with pytest.raises(errors.SpApiError) as info:
            _run(client, replay, example)
        assert info.value.status == status
        assert isinstance(info.value, errors.SpApiBadRequestError)
        code = body["errors"][0]["code"]
        assert info.value.errors[0].code == code and code in str(info.value)
        return
    result = _run(client, replay, example)
    if validate and body is not None and status != 204:
        validate(model, op, status, body)
    if op in ("searchOrders", "getOrders", "getOrder", "getOrderItems"):
        assert result and all(isinstance(o, types.Order) for o in result)
    elif op == "getMarketplaceParticipations":
        assert result[0].marketplace_id == "ATVPDKIKX0DER" and result[0].currency == "USD"
    elif op == "createRestrictedDataToken":
        assert result == body["restrictedDataToken"]
    elif op == "createFeedDocument":
        assert result == (body["feedDocumentId"], body["url"])
    elif op == "createFeed":
        assert result == body["feedId"]
    elif op in ("getFeed", "getFeedDocument"):
        assert result == body


def test_every_operation_has_examples():
    operations = {(e[1], e[4] < 300) for e in EXAMPLES}
    for model, operation_ids in OPERATIONS.items():
        for op in operation_ids:
            assert (op, True) in operations, f"{model} {op}: no success example"


def test_confirm_shipment_body_matches_example(client, replay):
    example = next(e for e in EXAMPLES if e[1] == "confirmShipment" and e[4] == 204)
    _run(client, replay, example)
    assert replay.requests[-1][1] == "/orders/v0/orders/902-1106328-1059050/shipmentConfirmation"


def test_retry_after_is_honoured(client, replay):
    example = next(e for e in EXAMPLES if e[1] == "getFeed" and e[4] == 200)
    quota = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota."}]}
    replay.route(
        "GET",
        example[3],
        200,
        example[6],
        before=[(429, quota, {"Retry-After": "1"})],
    )
    started = time.monotonic()
    assert client.get_feed("feedId1") == example[6]
    assert time.monotonic() - started >= 1.0  # backoff alone would be < 0.6 s
    assert (client.stats.throttled, client.stats.retries) == (1, 1)


def test_lwa_failure_is_typed_and_names_lwa(replay):
    cfg = _config(replay, "/not-lwa", "id", "secret-value-123", "Atzr|refresh-value")
    with SpApiClient(cfg) as api:
        with pytest.raises(errors.SpApiAuthError) as info:
            api.get_feed("feedId1")
    assert info.value.operation == "LWA token" and info.value.status == 404
    assert "secret-value-123" not in repr(info.value)
