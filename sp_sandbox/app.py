"""The WSGI application: LWA, SP-API operations, presigned documents, control endpoints."""

import base64
import copy
import gzip
import hashlib
import hmac
import json
import logging
import re
import secrets
import socket
import struct
import threading
import time
import uuid
from datetime import timedelta

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import data, finances, render
from .feeds import process_feed
from .recorder import RECORDER, Exchange
from .timeline import OrderView, view_at
from .values import format_time, parse_time

_logger = logging.getLogger(__name__)

ORDERS_2026 = "orders_2026-01-01"
ORDERS_V0 = "ordersV0"
FEEDS = "feeds_2021-06-30"
TOKENS = "tokens_2021-03-01"
SELLERS = "sellers"
FINANCES = "financesV0"

# rule path, method, name (stats/faults/rate limits), model, operationId, handler
ROUTES = [
    (
        "/sellers/v1/marketplaceParticipations",
        "GET",
        "getMarketplaceParticipations",
        SELLERS,
        "getMarketplaceParticipations",
        "participations",
    ),
    (
        "/orders/2026-01-01/orders",
        "GET",
        "searchOrders",
        ORDERS_2026,
        "searchOrders",
        "search_orders",
    ),
    (
        "/orders/2026-01-01/orders/<order_id>",
        "GET",
        "getOrder",
        ORDERS_2026,
        "getOrder",
        "get_order",
    ),
    ("/orders/v0/orders", "GET", "getOrders", ORDERS_V0, "getOrders", "get_orders_v0"),
    (
        "/orders/v0/orders/<order_id>",
        "GET",
        "ordersV0.getOrder",
        ORDERS_V0,
        "getOrder",
        "get_order_v0",
    ),
    (
        "/orders/v0/orders/<order_id>/buyerInfo",
        "GET",
        "getOrderBuyerInfo",
        ORDERS_V0,
        "getOrderBuyerInfo",
        "get_order_buyer_info",
    ),
    (
        "/orders/v0/orders/<order_id>/address",
        "GET",
        "getOrderAddress",
        ORDERS_V0,
        "getOrderAddress",
        "get_order_address",
    ),
    (
        "/orders/v0/orders/<order_id>/orderItems",
        "GET",
        "getOrderItems",
        ORDERS_V0,
        "getOrderItems",
        "get_order_items",
    ),
    (
        "/orders/v0/orders/<order_id>/orderItems/buyerInfo",
        "GET",
        "getOrderItemsBuyerInfo",
        ORDERS_V0,
        "getOrderItemsBuyerInfo",
        "get_order_items_buyer_info",
    ),
    (
        "/orders/v0/orders/<order_id>/shipmentConfirmation",
        "POST",
        "confirmShipment",
        ORDERS_V0,
        "confirmShipment",
        "confirm_shipment",
    ),
    (
        "/tokens/2021-03-01/restrictedDataToken",
        "POST",
        "createRestrictedDataToken",
        TOKENS,
        "createRestrictedDataToken",
        "create_rdt",
    ),
    (
        "/feeds/2021-06-30/documents",
        "POST",
        "createFeedDocument",
        FEEDS,
        "createFeedDocument",
        "create_feed_document",
    ),
    (
        "/feeds/2021-06-30/documents/<document_id>",
        "GET",
        "getFeedDocument",
        FEEDS,
        "getFeedDocument",
        "get_feed_document",
    ),
    ("/feeds/2021-06-30/feeds", "POST", "createFeed", FEEDS, "createFeed", "create_feed"),
    ("/feeds/2021-06-30/feeds", "GET", "getFeeds", FEEDS, "getFeeds", "get_feeds"),
    ("/feeds/2021-06-30/feeds/<feed_id>", "GET", "getFeed", FEEDS, "getFeed", "get_feed"),
    (
        "/feeds/2021-06-30/feeds/<feed_id>",
        "DELETE",
        "cancelFeed",
        FEEDS,
        "cancelFeed",
        "cancel_feed",
    ),
    (
        "/finances/v0/financialEventGroups",
        "GET",
        "listFinancialEventGroups",
        FINANCES,
        "listFinancialEventGroups",
        "list_financial_event_groups",
    ),
    (
        "/finances/v0/financialEventGroups/<group_id>/financialEvents",
        "GET",
        "listFinancialEventsByGroupId",
        FINANCES,
        "listFinancialEventsByGroupId",
        "list_financial_events_by_group_id",
    ),
]
RESTRICTED = {"getOrderBuyerInfo", "getOrderAddress", "getOrderItemsBuyerInfo"}
RDT_PATHS = [
    re.compile(p)
    for p in (
        r"^/orders/v0/orders$",
        r"^/orders/v0/orders/[^/]+$",
        r"^/orders/v0/orders/[^/]+/orderItems$",
        r"^/orders/v0/orders/[^/]+/address$",
        r"^/orders/v0/orders/[^/]+/buyerInfo$",
        r"^/orders/v0/orders/[^/]+/orderItems/buyerInfo$",
    )
]
ORDER_STATUS_ALLOWING_SHIPMENT = ("UNSHIPPED", "PARTIALLY_SHIPPED")


class ApiError(Exception):
    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self):
        error = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"errors": [error]}


def invalid(message, details=None):
    return ApiError(400, "InvalidInput", message, details)


class _Reset(ConnectionResetError):
    """Raised by the app to drop the connection without any HTTP response."""


class SandboxApp:
    def __init__(self, state, rate_limiter, faults, stop_event=None):
        self.state = state
        self.rate_limiter = rate_limiter
        self.faults = faults
        self.stop_event = stop_event or threading.Event()
        self.secret = secrets.token_bytes(16)
        self.credentials = {"client_id": None, "client_secret": None, "refresh_token": None}
        seller = state.scenario.seller
        for key, scenario_key in (
            ("client_id", "clientId"),
            ("client_secret", "clientSecret"),
            ("refresh_token", "refreshToken"),
        ):
            if seller.get(scenario_key):
                self.credentials[key] = seller[scenario_key]
        self.access_token_ttl = 3600
        self.rdt_ttl = 3600
        self.gzip_reports = True
        self._tokens = {}  # access token -> expiry (monotonic)
        self._rdts = {}  # rdt -> (expiry, resources)
        self._auth_lock = threading.Lock()
        rules = [Rule("/auth/o2/token", methods=["POST"], endpoint=("lwa", None))]
        for path, method, name, model, operation_id, handler in ROUTES:
            rules.append(
                Rule(path, methods=[method], endpoint=("api", (name, model, operation_id, handler)))
            )
        rules += [
            Rule("/_docs/<document_id>", methods=["PUT", "GET"], endpoint=("doc", None)),
            Rule("/_sandbox/state", methods=["GET"], endpoint=("ctl", "state")),
            Rule("/_sandbox/orders", methods=["POST"], endpoint=("ctl", "add_order")),
            Rule("/_sandbox/orders", methods=["GET"], endpoint=("ctl", "orders")),
            Rule("/_sandbox/raw-orders", methods=["POST"], endpoint=("ctl", "add_raw_order")),
            Rule("/_sandbox/orders/<order_id>", methods=["GET"], endpoint=("ctl", "order")),
            Rule(
                "/_sandbox/orders/<order_id>/status", methods=["POST"], endpoint=("ctl", "status")
            ),
            Rule(
                "/_sandbox/orders/<order_id>/cancel", methods=["POST"], endpoint=("ctl", "cancel")
            ),
            Rule(
                "/_sandbox/orders/<order_id>/ship-fba",
                methods=["POST"],
                endpoint=("ctl", "ship_fba"),
            ),
            Rule("/_sandbox/advance", methods=["POST"], endpoint=("ctl", "advance")),
            Rule("/_sandbox/shipments", methods=["GET"], endpoint=("ctl", "shipments")),
            Rule("/_sandbox/listings", methods=["GET"], endpoint=("ctl", "listings")),
            Rule("/_sandbox/faults", methods=["POST", "DELETE", "GET"], endpoint=("ctl", "faults")),
            Rule("/_sandbox/reset", methods=["POST"], endpoint=("ctl", "reset")),
            Rule(
                "/_sandbox/orders/<order_id>/refund", methods=["POST"], endpoint=("ctl", "refund")
            ),
            Rule("/_sandbox/advertising", methods=["POST"], endpoint=("ctl", "advertising")),
            Rule(
                "/_sandbox/rate-limits/reset",
                methods=["POST"],
                endpoint=("ctl", "reset_rate_limits"),
            ),
        ]
        self.url_map = Map(rules, strict_slashes=False)

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ, start_response):
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            (kind, info), args = adapter.match()
        except HTTPException as exc:
            response = self._json(
                exc.code or 404,
                {
                    "errors": [
                        {
                            "code": "NotFound" if exc.code == 404 else "InvalidInput",
                            "message": "Resource not found" if exc.code == 404 else exc.description,
                        }
                    ]
                },
            )
            response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
            return response(environ, start_response)
        if kind == "api":
            response = self._api(request, info, args, environ)
        elif kind == "lwa":
            response = self._lwa(request, environ)
        elif kind == "doc":
            response = self._document(request, args["document_id"])
        else:
            response = self._control(request, info, args)
        response.headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        return response(environ, start_response)

    @staticmethod
    def _json(status, payload):
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        response = Response(body, status=status)
        if payload is not None:
            response.headers["Content-Type"] = "application/json"
        return response

    def _drop_connection(self, environ):
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        raise _Reset("sandbox fault: connection reset")

    def _sleep(self, seconds):
        self.stop_event.wait(seconds)

    # ------------------------------------------------------------------ LWA
    def set_credentials(self, client_id=None, client_secret=None, refresh_token=None):
        self.credentials = {
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }

    def _lwa(self, request, environ):
        names = ("lwa",)
        fault = self.faults.pick(names, wildcard=False)
        if fault and fault.kind == "reset":
            self._drop_connection(environ)
        if fault and fault.kind == "slow":
            self._sleep(fault.delay)
        elif fault and fault.kind in ("500", "503", "429"):
            self.state.count("lwa", int(fault.kind))
            return self._json(
                int(fault.kind), {"error": "server_error", "error_description": "Sandbox fault"}
            )
        form = request.form
        if not form and request.is_json:
            form = request.get_json(silent=True) or {}
        grant = form.get("grant_type")
        status, payload = 200, None
        if grant != "refresh_token":
            status, payload = (
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not "
                    "supported by the authorization server",
                },
            )
        elif not form.get("client_id") or not form.get("client_secret"):
            status, payload = (
                400,
                {
                    "error": "invalid_request",
                    "error_description": "The request is missing a required "
                    "parameter : client_id/client_secret",
                },
            )
        elif not form.get("refresh_token"):
            status, payload = (
                400,
                {
                    "error": "invalid_request",
                    "error_description": "The request is missing a required "
                    "parameter : refresh_token",
                },
            )
        elif not self._matches("client_id", form["client_id"]) or not self._matches(
            "client_secret", form["client_secret"]
        ):
            status, payload = (
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        elif not self._matches("refresh_token", form["refresh_token"]):
            status, payload = (
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant "
                    "parameter : refresh_token",
                },
            )
        if payload is None:
            token = "Atza|sandbox-" + secrets.token_urlsafe(24)
            with self._auth_lock:
                self._tokens[token] = time.monotonic() + float(self.access_token_ttl)
            payload = {
                "access_token": token,
                "refresh_token": form["refresh_token"],
                "token_type": "bearer",
                "expires_in": int(self.access_token_ttl),
            }
        self.state.count("lwa", status)
        response = self._json(status, payload)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _matches(self, key, value):
        expected = self.credentials.get(key)
        return expected is None or hmac.compare_digest(str(expected), str(value))

    def _authorize(self, request, name):
        """Return the RDT data elements granted for this request (empty for a plain token)."""
        token = request.headers.get("x-amz-access-token", "")
        now = time.monotonic()
        denied = "Access to requested resource is denied."
        with self._auth_lock:
            expiry = self._tokens.get(token)
            rdt = self._rdts.get(token)
        if expiry is not None:
            if now >= expiry:
                raise ApiError(
                    403, "Unauthorized", denied, "The access token you provided has expired."
                )
            if name in RESTRICTED:
                raise ApiError(
                    403, "Unauthorized", denied, "This operation requires a Restricted Data Token."
                )
            return ()
        if rdt is not None:
            rdt_expiry, resources = rdt
            if now >= rdt_expiry:
                raise ApiError(
                    403, "Unauthorized", denied, "The access token you provided has expired."
                )
            for resource in resources:
                if resource["method"] == request.method and resource["regex"].match(request.path):
                    return tuple(resource.get("dataElements") or ())
            raise ApiError(
                403,
                "Unauthorized",
                denied,
                "The Restricted Data Token does not cover this resource.",
            )
        if not token:
            raise ApiError(403, "Unauthorized", denied, "Missing access token.")
        raise ApiError(
            403,
            "Unauthorized",
            denied,
            "The access token you provided is revoked, malformed or invalid.",
        )

    # ------------------------------------------------------------------ SP-API
    def _api(self, request, info, args, environ):
        name, model, operation_id, handler = info
        names = (name, operation_id, f"{model}.{operation_id}")
        headers = {"x-amzn-RateLimit-Limit": self.rate_limiter.header(name)}
        faulted = False
        fault = None
        try:
            elements = self._authorize(request, name)
            if not self.rate_limiter.allow(name):
                raise ApiError(
                    429, "QuotaExceeded", "You exceeded your quota for the requested resource."
                )
            fault = self.faults.pick(names)
            if fault is not None:
                if fault.kind == "reset":
                    self.state.count(name, "reset")
                    self._drop_connection(environ)
                if fault.kind == "slow":
                    self._sleep(fault.delay)
                elif fault.kind == "400":
                    # Amazon refusing the request as invalid (nothing is processed).
                    raise invalid(
                        "The request was rejected.", "Sandbox fault 400: injected for testing."
                    )
                elif fault.kind == "429":
                    raise ApiError(
                        429, "QuotaExceeded", "You exceeded your quota for the requested resource."
                    )
                elif fault.kind in ("500", "503"):
                    raise ApiError(
                        int(fault.kind),
                        "InternalFailure" if fault.kind == "500" else "ServiceUnavailable",
                        "We encountered an internal error. Please try again."
                        if fault.kind == "500"
                        else "Service temporarily unavailable.",
                    )
            with self.state.lock:
                status, payload = getattr(self, "op_" + handler)(request, elements, **args)
            if status < 300 and name == "confirmShipment":
                after = self.faults.pick(names, after_effect=True)
                if after is not None:
                    if after.kind == "reset":
                        self.state.count(name, "reset")
                        self._drop_connection(environ)
                    if after.kind == "slow":
                        self._sleep(after.delay)
                    else:
                        raise ApiError(
                            500,
                            "InternalFailure",
                            "We encountered an internal error. Please try again.",
                        )
        except ApiError as exc:
            status, payload = exc.status, exc.body()
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        if status < 300 and payload is not None and fault is not None:
            if fault.kind == "malformed":
                body, faulted = body[: max(1, len(body) // 2)], True
            elif fault.kind == "missing_field":
                body, faulted = (
                    json.dumps(_remove_required(name, payload), ensure_ascii=False).encode(),
                    True,
                )
        faulted = faulted or bool(request.environ.get("sp_sandbox.raw"))
        RECORDER.record(Exchange(model, operation_id, status, body, faulted))
        self.state.count(name, status)
        response = Response(body, status=status, headers=headers)
        if body:
            response.headers["Content-Type"] = "application/json"
        return response

    # --- helpers --------------------------------------------------------------
    def _view(self, order_id):
        record = self.state.orders.get(order_id)
        current = view_at(record, self.state.now()) if record else None
        if current is None:
            raise ApiError(
                404,
                "NotFound",
                "The requested order was not found.",
                f"Order {order_id} does not exist.",
            )
        return current

    def _token(self, payload):
        raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        sig = hmac.new(self.secret, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(raw + sig).decode().rstrip("=")

    def _untoken(self, token, kind, param):
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            raw, sig = blob[:-12], blob[-12:]
            ok = hmac.compare_digest(sig, hmac.new(self.secret, raw, hashlib.sha256).digest()[:12])
            payload = json.loads(raw) if ok else None
        except (ValueError, TypeError):
            payload = None
        if not payload or payload.get("kind") != kind:
            raise invalid(f"Invalid {param}.", f"The {param} is invalid or has expired.")
        return payload

    @staticmethod
    def _list(request, name, allowed=None, max_items=None):
        values = []
        for raw in request.args.getlist(name):
            values += [v.strip() for v in raw.split(",") if v.strip()]
        if allowed is not None:
            bad = [v for v in values if v not in allowed]
            if bad:
                raise invalid(
                    f"Invalid {name}: {', '.join(bad)}.", f"Allowed values: {', '.join(allowed)}."
                )
        if max_items and len(values) > max_items:
            raise invalid(f"{name} accepts at most {max_items} values.")
        return values

    @staticmethod
    def _time(request, name):
        value = request.args.get(name)
        if value is None:
            return None
        try:
            return parse_time(value)
        except ValueError:
            raise invalid(f"Invalid {name}: {value!r} is not an ISO 8601 date-time.") from None

    @staticmethod
    def _int(request, name, low, high, default):
        value = request.args.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise invalid(f"{name} must be an integer between {low} and {high}.")
        return number

    def _marketplaces(self, values):
        unknown = [v for v in values if v not in self.state.marketplaces]
        if unknown:
            raise invalid(
                f"Invalid marketplace ID(s): {', '.join(unknown)}.",
                "The seller does not participate in these marketplaces.",
            )
        return values

    def _window(self, after_created, before_created, after_updated, before_updated, names):
        """Validate the created/lastUpdated window; return (mode, after, before)."""
        if (after_created is None) == (after_updated is None):
            raise invalid(f"Exactly one of {names[0]} and {names[2]} must be provided.")
        if after_created is not None and (after_updated or before_updated):
            raise invalid(f"{names[2]} and {names[3]} cannot be set when {names[0]} is set.")
        if after_updated is not None and before_created:
            raise invalid(f"{names[0]} and {names[1]} cannot be set when {names[2]} is set.")
        mode = "created" if after_created is not None else "updated"
        after = after_created or after_updated
        before = before_created if mode == "created" else before_updated
        limit = (self.state.now() - timedelta(minutes=2)).replace(microsecond=0)
        if before is not None:
            label = names[1] if mode == "created" else names[3]
            if before > limit:
                raise invalid(
                    f"{label} must be at least two minutes before the time of the request.",
                    f"Latest allowed: {format_time(limit)}.",
                )
            if before < after:
                raise invalid(
                    f"{label} must be equal to or after "
                    f"{names[0] if mode == 'created' else names[2]}."
                )
        else:
            before = limit
        return mode, after, before

    @staticmethod
    def _select(views, mode, after, before, marketplaces, channels, statuses, after_key, ids=()):
        rows = []
        for current in views:
            record = current.record
            if ids and record["orderId"] not in ids:
                continue
            when = record["createdTime"] if mode == "created" else current.last_updated
            if after is not None and not after <= when <= before:
                continue
            if marketplaces and record["marketplace"]["id"] not in marketplaces:
                continue
            if channels and record["fulfilledBy"] not in channels:
                continue
            if statuses and current.status not in statuses:
                continue
            key = (format_time(when), record["orderId"])
            if after_key and key <= tuple(after_key):
                continue
            rows.append((key, current))
        rows.sort(key=lambda row: row[0])
        return rows

    # --- sellers --------------------------------------------------------------
    def op_participations(self, request, elements):
        payload = []
        for mp in self.state.marketplaces.values():
            payload.append(
                {
                    "marketplace": {
                        "id": mp["id"],
                        "name": mp["name"],
                        "countryCode": mp["countryCode"],
                        "defaultCurrencyCode": mp["currency"],
                        "defaultLanguageCode": mp.get("language", "en_US"),
                        "domainName": mp["domain"],
                    },
                    "participation": {"isParticipating": True, "hasSuspendedListings": False},
                    "storeName": self.state.scenario.seller.get("storeName", "Sandbox Store"),
                }
            )
        return 200, {"payload": payload}

    # --- orders v2026 -----------------------------------------------------------
    def op_search_orders(self, request, elements):
        included = set(self._list(request, "includedData", data.INCLUDED_DATA))
        page_size = self._int(request, "maxResultsPerPage", 1, 100, 100)
        token = request.args.get("paginationToken")
        if token:
            pinned = self._untoken(token, "search", "paginationToken")
            mode, after, before = (
                pinned["mode"],
                parse_time(pinned["after"]),
                parse_time(pinned["before"]),
            )
            marketplaces, channels, statuses = (
                pinned["marketplaces"],
                pinned["channels"],
                pinned["statuses"],
            )
            after_key = pinned["last"]
        else:
            mode, after, before = self._window(
                self._time(request, "createdAfter"),
                self._time(request, "createdBefore"),
                self._time(request, "lastUpdatedAfter"),
                self._time(request, "lastUpdatedBefore"),
                ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore"),
            )
            marketplaces = self._marketplaces(self._list(request, "marketplaceIds", max_items=50))
            channels = self._list(request, "fulfilledBy", ("MERCHANT", "AMAZON"))
            statuses = self._list(request, "fulfillmentStatuses", data.STATUSES)
            after_key = None
        rows = self._select(
            self.state.views(), mode, after, before, marketplaces, channels, statuses, after_key
        )
        raw_rows = self._raw_rows(after, before, after_key)
        rows += raw_rows
        rows.sort(key=lambda row: row[0])
        page, more = rows[:page_size], len(rows) > page_size
        if raw_rows:  # verbatim bodies are outside the contract: never validate them
            request.environ["sp_sandbox.raw"] = True
        result = {
            "orders": [
                render.order_v2026(current, included)
                if isinstance(current, OrderView)
                else copy.deepcopy(current)
                for _, current in page
            ]
        }
        if more:
            result["pagination"] = {
                "nextToken": self._token(
                    {
                        "kind": "search",
                        "mode": mode,
                        "after": format_time(after),
                        "before": format_time(before),
                        "marketplaces": marketplaces,
                        "channels": channels,
                        "statuses": statuses,
                        "last": list(page[-1][0]),
                    }
                )
            }
        result["createdBefore" if mode == "created" else "lastUpdatedBefore"] = format_time(before)
        return 200, result

    def _raw_rows(self, after, before, after_key):
        """Raw orders (``state.add_raw_order``) of the window, as (key, body) rows."""
        rows = []
        for key, raw in self.state.raw_orders.items():
            if after is not None and not after <= raw["time"] <= before:
                continue
            sort_key = (format_time(raw["time"]), key)
            if after_key and sort_key <= tuple(after_key):
                continue
            rows.append((sort_key, raw["body"]))
        return rows

    def op_get_order(self, request, elements, order_id):
        if order_id in self.state.raw_orders:
            request.environ["sp_sandbox.raw"] = True
            return 200, {"order": copy.deepcopy(self.state.raw_orders[order_id]["body"])}
        included = set(self._list(request, "includedData", data.INCLUDED_DATA))
        return 200, {"order": render.order_v2026(self._view(order_id), included)}

    # --- orders v0 ---------------------------------------------------------------
    def op_get_orders_v0(self, request, elements):
        statuses_v0 = tuple(data.V0_TO_STATUS)
        token = request.args.get("NextToken")
        if token:
            pinned = self._untoken(token, "v0orders", "NextToken")
            mode = pinned["mode"]
            after = parse_time(pinned["after"]) if pinned["after"] else None
            before = parse_time(pinned["before"]) if pinned["before"] else None
            marketplaces, channels, statuses, ids = (
                pinned["marketplaces"],
                pinned["channels"],
                pinned["statuses"],
                pinned["ids"],
            )
            after_key, page_size = pinned["last"], pinned["size"]
        else:
            marketplaces = self._marketplaces(self._list(request, "MarketplaceIds", max_items=50))
            if not marketplaces:
                raise invalid("Missing required parameter MarketplaceIds.")
            ids = self._list(request, "AmazonOrderIds", max_items=50)
            if ids and not (
                request.args.get("CreatedAfter") or request.args.get("LastUpdatedAfter")
            ):
                mode, after, before = "updated", None, None
            else:
                mode, after, before = self._window(
                    self._time(request, "CreatedAfter"),
                    self._time(request, "CreatedBefore"),
                    self._time(request, "LastUpdatedAfter"),
                    self._time(request, "LastUpdatedBefore"),
                    ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore"),
                )
            channels = [
                {"AFN": "AMAZON", "MFN": "MERCHANT"}[c]
                for c in self._list(request, "FulfillmentChannels", ("AFN", "MFN"))
            ]
            statuses = sorted(
                {data.V0_TO_STATUS[s] for s in self._list(request, "OrderStatuses", statuses_v0)}
            )
            page_size = self._int(request, "MaxResultsPerPage", 1, 100, 100)
            after_key = None
        rows = self._select(
            self.state.views(),
            mode,
            after,
            before,
            marketplaces,
            channels,
            statuses,
            after_key,
            ids,
        )
        page, more = rows[:page_size], len(rows) > page_size
        payload = {"Orders": [render.order_v0(current, elements) for _, current in page]}
        if more:
            payload["NextToken"] = self._token(
                {
                    "kind": "v0orders",
                    "mode": mode,
                    "after": format_time(after) if after else None,
                    "before": format_time(before) if before else None,
                    "marketplaces": marketplaces,
                    "channels": channels,
                    "statuses": statuses,
                    "ids": ids,
                    "last": list(page[-1][0]),
                    "size": page_size,
                }
            )
        if before is not None:
            payload["CreatedBefore" if mode == "created" else "LastUpdatedBefore"] = format_time(
                before
            )
        return 200, {"payload": payload}

    def op_get_order_v0(self, request, elements, order_id):
        return 200, {"payload": render.order_v0(self._view(order_id), elements)}

    def op_get_order_buyer_info(self, request, elements, order_id):
        current = self._view(order_id)
        info = render.buyer_info_v0(current.record)
        info["AmazonOrderId"] = order_id
        return 200, {"payload": info}

    def op_get_order_address(self, request, elements, order_id):
        current = self._view(order_id)
        payload = {"AmazonOrderId": order_id}
        if current.record.get("recipient"):
            payload["ShippingAddress"] = render.address_v0(current.record["recipient"])
        company = (current.record.get("buyer") or {}).get("companyName")
        if company:
            payload["BuyerCompanyName"] = company
        return 200, {"payload": payload}

    def _item_page(self, request, order_id, kind):
        current = self._view(order_id)
        items = current.record["items"]
        token = request.args.get("NextToken")
        offset = 0
        if token:
            pinned = self._untoken(token, kind, "NextToken")
            if pinned["order"] != order_id:
                raise invalid("Invalid NextToken.", "The NextToken belongs to another order.")
            offset = pinned["offset"]
        size = max(1, int(self.state.items_page_size))
        chunk = items[offset : offset + size]
        next_token = None
        if offset + size < len(items):
            next_token = self._token({"kind": kind, "order": order_id, "offset": offset + size})
        return current, chunk, next_token

    def op_get_order_items(self, request, elements, order_id):
        current, chunk, next_token = self._item_page(request, order_id, "v0items")
        currency = current.record["currency"]
        payload = {
            "AmazonOrderId": order_id,
            "OrderItems": [
                render.item_v0(current, item, currency, "buyerInfo" in elements) for item in chunk
            ],
        }
        if next_token:
            payload["NextToken"] = next_token
        return 200, {"payload": payload}

    def op_get_order_items_buyer_info(self, request, elements, order_id):
        current, chunk, next_token = self._item_page(request, order_id, "v0itemsbuyer")
        currency = current.record["currency"]
        payload = {
            "AmazonOrderId": order_id,
            "OrderItems": [render.item_buyer_info_v0(item, currency) for item in chunk],
        }
        if next_token:
            payload["NextToken"] = next_token
        return 200, {"payload": payload}

    # --- confirmShipment -----------------------------------------------------------
    def op_confirm_shipment(self, request, elements, order_id):
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict):
            raise invalid("The request body is not a valid JSON object.")
        current = self._view(order_id)
        record = current.record
        missing = [k for k in ("marketplaceId", "packageDetail") if not body.get(k)]
        detail = body.get("packageDetail")
        if isinstance(detail, dict):
            missing += [
                f"packageDetail.{k}"
                for k in (
                    "packageReferenceId",
                    "carrierCode",
                    "trackingNumber",
                    "shipDate",
                    "orderItems",
                )
                if detail.get(k) in (None, "", [])
            ]
        elif detail is not None:
            missing.append("packageDetail")
        if missing:
            raise invalid("Missing required field(s).", ", ".join(missing))
        if body["marketplaceId"] != record["marketplace"]["id"]:
            raise invalid(
                "Invalid marketplaceId.",
                f"Order {order_id} belongs to {record['marketplace']['id']}.",
            )
        if record["fulfilledBy"] != "MERCHANT":
            raise invalid(
                "The order is fulfilled by Amazon.",
                "Shipments can only be confirmed for merchant-fulfilled orders.",
            )
        reference = str(detail["packageReferenceId"])
        if not re.fullmatch(r"[1-9][0-9]*", reference):
            raise invalid(
                "Invalid packageReferenceId.", "Only positive numeric values are supported."
            )
        try:
            parse_time(detail["shipDate"])
        except ValueError:
            raise invalid("Invalid shipDate.", "shipDate must be an ISO 8601 date-time.") from None
        if detail["carrierCode"] == "Other" and not detail.get("carrierName"):
            raise invalid("carrierName is required when carrierCode is Other.")
        if any(str(p["detail"]["packageReferenceId"]) == reference for p in record["packages"]):
            raise invalid(
                "Duplicate packageReferenceId.",
                f"Package {reference} was already confirmed for order {order_id}.",
            )
        if current.status == "SHIPPED":
            raise invalid(
                "The order is already shipped.", f"Order {order_id} has no unshipped items."
            )
        if current.status not in ORDER_STATUS_ALLOWING_SHIPMENT:
            raise invalid(f"The order cannot be shipped in status {current.status}.")
        lines = {}
        if not isinstance(detail["orderItems"], list):
            raise invalid("packageDetail.orderItems must be a list.")
        for line in detail["orderItems"]:
            item_id = line.get("orderItemId") if isinstance(line, dict) else None
            quantity = line.get("quantity") if isinstance(line, dict) else None
            if item_id not in current.shipped:
                raise invalid("Invalid orderItemId.", f"Unknown order item {item_id!r}.")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise invalid("Invalid quantity.", f"Item {item_id}: quantity must be >= 1.")
            lines[item_id] = lines.get(item_id, 0) + quantity
        for item_id, quantity in lines.items():
            if quantity > current.unshipped(item_id):
                raise invalid(
                    "Quantity exceeds the unshipped quantity.",
                    f"Item {item_id}: {quantity} requested, "
                    f"{current.unshipped(item_id)} unshipped.",
                )
        self.state.record_shipment(order_id, body, lines)
        return 204, None

    # --- finances v0 -------------------------------------------------------------
    def _finance_window(self, request, after_name, before_name):
        limit = (self.state.now() - timedelta(minutes=2)).replace(microsecond=0)
        after, before = self._time(request, after_name), self._time(request, before_name)
        for name, value in ((after_name, after), (before_name, before)):
            if value is not None and value > limit:
                raise invalid(
                    f"{name} must be more than two minutes before the time of the request.",
                    f"Latest allowed: {format_time(limit)}.",
                )
        if after is not None and before is not None and before <= after:
            raise invalid(f"{before_name} must be after {after_name}.")
        return after, before

    def op_list_financial_event_groups(self, request, elements):
        token = request.args.get("NextToken")
        if token:
            pinned = self._untoken(token, "groups", "NextToken")
            after = parse_time(pinned["after"]) if pinned["after"] else None
            before = parse_time(pinned["before"]) if pinned["before"] else None
            offset, size = pinned["offset"], pinned["size"]
        else:
            after, before = self._finance_window(
                request, "FinancialEventGroupStartedAfter", "FinancialEventGroupStartedBefore"
            )
            offset, size = 0, self._int(request, "MaxResultsPerPage", 1, 100, 10)
        groups = [
            g
            for g in self.state.finance_groups().values()
            if (after is None or g["start"] >= after) and (before is None or g["start"] < before)
        ]
        page = groups[offset : offset + size]
        payload = {"FinancialEventGroupList": [finances.render_group(g) for g in page]}
        if offset + size < len(groups):
            payload["NextToken"] = self._token(
                {
                    "kind": "groups",
                    "after": format_time(after) if after else None,
                    "before": format_time(before) if before else None,
                    "offset": offset + size,
                    "size": size,
                }
            )
        return 200, {"payload": payload}

    def op_list_financial_events_by_group_id(self, request, elements, group_id):
        token = request.args.get("NextToken")
        if token:
            pinned = self._untoken(token, "events", "NextToken")
            if pinned["group"] != group_id:
                raise invalid("Invalid NextToken.", "The NextToken belongs to another group.")
            after = parse_time(pinned["after"]) if pinned["after"] else None
            before = parse_time(pinned["before"]) if pinned["before"] else None
            offset, size = pinned["offset"], pinned["size"]
        else:
            after, before = self._finance_window(request, "PostedAfter", "PostedBefore")
            if before is not None and after is None:
                raise invalid("PostedAfter is required when PostedBefore is set.")
            offset, size = 0, self._int(request, "MaxResultsPerPage", 1, 100, 100)
        group = self.state.finance_groups().get(group_id)
        rows = [
            row
            for row in (group["events"] if group else [])
            if (after is None or row[0] >= after) and (before is None or row[0] < before)
        ]
        payload = {"FinancialEvents": finances.render_events(rows[offset : offset + size])}
        if offset + size < len(rows):
            payload["NextToken"] = self._token(
                {
                    "kind": "events",
                    "group": group_id,
                    "after": format_time(after) if after else None,
                    "before": format_time(before) if before else None,
                    "offset": offset + size,
                    "size": size,
                }
            )
        return 200, {"payload": payload}

    # --- tokens -----------------------------------------------------------------
    def op_create_rdt(self, request, elements):
        body = request.get_json(silent=True, force=True)
        resources = body.get("restrictedResources") if isinstance(body, dict) else None
        if not isinstance(resources, list) or not resources:
            raise invalid("restrictedResources is required.")
        granted = []
        for resource in resources:
            if not isinstance(resource, dict):
                raise invalid("Each restricted resource must be an object.")
            method, path = resource.get("method"), resource.get("path")
            if method not in ("GET", "PUT", "POST", "DELETE") or not isinstance(path, str):
                raise invalid("Each restricted resource needs a method and a path.")
            concrete = re.sub(r"\{[^/]+\}", "X", path)
            if not any(p.match(concrete) for p in RDT_PATHS):
                raise invalid(
                    "Invalid restricted resource path.", f"{path} is not a restricted resource."
                )
            elements = resource.get("dataElements") or []
            bad = [e for e in elements if e not in data.RDT_DATA_ELEMENTS]
            if bad:
                raise invalid("Invalid dataElements.", ", ".join(map(str, bad)))
            pattern = "^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(path)) + "$"
            granted.append(
                {"method": method, "regex": re.compile(pattern), "dataElements": list(elements)}
            )
        token = "Atz.sprdt|sandbox-" + secrets.token_urlsafe(24)
        with self._auth_lock:
            self._rdts[token] = (time.monotonic() + float(self.rdt_ttl), granted)
        return 200, {"restrictedDataToken": token, "expiresIn": int(self.rdt_ttl)}

    # --- feeds ------------------------------------------------------------------
    def _doc_url(self, request, document_id):
        sig = hmac.new(self.secret, document_id.encode(), hashlib.sha256).hexdigest()
        return (
            f"{request.host_url}_docs/{document_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Expires=300&X-Amz-Signature={sig}"
        )

    def op_create_feed_document(self, request, elements):
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict) or not body.get("contentType"):
            raise invalid("contentType is required.")
        document_id = "amzn1.tortuga.4.eu." + uuid.uuid4().hex
        self.state.documents[document_id] = {
            "contentType": body["contentType"],
            "content": None,
            "compression": None,
        }
        return 201, {"feedDocumentId": document_id, "url": self._doc_url(request, document_id)}

    def op_create_feed(self, request, elements):
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict):
            raise invalid("The request body is not a valid JSON object.")
        missing = [
            k for k in ("feedType", "marketplaceIds", "inputFeedDocumentId") if not body.get(k)
        ]
        if missing:
            raise invalid("Missing required field(s).", ", ".join(missing))
        if not isinstance(body["marketplaceIds"], list):
            raise invalid("marketplaceIds must be a list.")
        self._marketplaces(body["marketplaceIds"])
        if body["inputFeedDocumentId"] not in self.state.documents:
            raise invalid("Invalid inputFeedDocumentId.")
        feed_id = self.state.new_id(11)
        self.state.feeds[feed_id] = {
            "feedId": feed_id,
            "feedType": body["feedType"],
            "marketplaceIds": list(body["marketplaceIds"]),
            "input": body["inputFeedDocumentId"],
            "created": self.state.now(),
            "processingStatus": "IN_QUEUE",
            "result": None,
        }
        return 202, {"feedId": feed_id}

    def _feed(self, feed_id):
        feed = self.state.feeds.get(feed_id)
        if feed is None:
            raise ApiError(404, "NotFound", "The requested feed was not found.", feed_id)
        status = self.state.feed_status(feed)
        if status == "DONE" and feed["processingStatus"] != "DONE":
            self._process_feed(feed)
        result = {
            "feedId": feed_id,
            "feedType": feed["feedType"],
            "marketplaceIds": feed["marketplaceIds"],
            "createdTime": format_time(feed["created"]),
            "processingStatus": feed["processingStatus"]
            if feed["processingStatus"] in ("DONE", "FATAL", "CANCELLED")
            else status,
        }
        queued = timedelta(seconds=self.state.FEED_QUEUE_SECONDS / self.state.speed)
        if result["processingStatus"] != "IN_QUEUE" and result["processingStatus"] != "CANCELLED":
            result["processingStartTime"] = format_time(feed["created"] + queued)
        if feed.get("ended"):
            result["processingEndTime"] = format_time(feed["ended"])
        if feed["result"]:
            result["resultFeedDocumentId"] = feed["result"]
        return result

    def _process_feed(self, feed):
        document = self.state.documents.get(feed["input"], {})
        report, fatal = process_feed(feed, document, self.state)
        raw = json.dumps(report, ensure_ascii=False).encode()
        result_id = "amzn1.tortuga.4.eu." + uuid.uuid4().hex
        compression = None
        if self.gzip_reports:
            raw, compression = gzip.compress(raw), "GZIP"
        self.state.documents[result_id] = {
            "contentType": "application/json",
            "content": raw,
            "compression": compression,
        }
        queued = self.state.FEED_QUEUE_SECONDS + self.state.FEED_PROCESS_SECONDS
        feed["ended"] = feed["created"] + timedelta(seconds=queued / self.state.speed)
        feed["processingStatus"] = "FATAL" if fatal else "DONE"
        feed["result"] = result_id
        feed["report"] = report

    def op_get_feed(self, request, elements, feed_id):
        return 200, self._feed(feed_id)

    def op_get_feeds(self, request, elements):
        types = self._list(request, "feedTypes")
        statuses = self._list(
            request, "processingStatuses", ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
        )
        feeds = [self._feed(feed_id) for feed_id in list(self.state.feeds)]
        feeds = [
            f
            for f in feeds
            if (not types or f["feedType"] in types)
            and (not statuses or f["processingStatus"] in statuses)
        ]
        return 200, {"feeds": feeds}

    def op_cancel_feed(self, request, elements, feed_id):
        feed = self._feed(feed_id)
        if feed["processingStatus"] != "IN_QUEUE":
            raise invalid("Only feeds IN_QUEUE can be cancelled.")
        self.state.feeds[feed_id]["processingStatus"] = "CANCELLED"
        return 200, None

    def op_get_feed_document(self, request, elements, document_id):
        document = self.state.documents.get(document_id)
        if document is None:
            raise ApiError(
                404, "NotFound", "The requested feed document was not found.", document_id
            )
        result = {"feedDocumentId": document_id, "url": self._doc_url(request, document_id)}
        if document.get("compression"):
            result["compressionAlgorithm"] = document["compression"]
        return 200, result

    def _document(self, request, document_id):
        expected = hmac.new(self.secret, document_id.encode(), hashlib.sha256).hexdigest()
        document = self.state.documents.get(document_id)
        if document is None or not hmac.compare_digest(
            request.args.get("X-Amz-Signature", ""), expected
        ):
            return Response(
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>'
                b"AccessDenied</Code><Message>Access Denied</Message></Error>",
                status=403,
                content_type="application/xml",
            )
        if request.method == "PUT":
            sent = (request.content_type or "").split(";")[0].strip().lower()
            wanted = document["contentType"].split(";")[0].strip().lower()
            if sent != wanted:
                return Response(
                    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>'
                    b"SignatureDoesNotMatch</Code><Message>The Content-Type does "
                    b"not match the signed request.</Message></Error>",
                    status=403,
                    content_type="application/xml",
                )
            with self.state.lock:
                document["content"] = request.get_data()
            return Response(b"", status=200)
        if document["content"] is None:
            return Response(
                b"<Error><Code>NoSuchKey</Code></Error>", status=404, content_type="application/xml"
            )
        return Response(document["content"], status=200, content_type=document["contentType"])

    # ------------------------------------------------------------------ control
    def _control(self, request, action, args):
        body = (
            request.get_json(silent=True, force=True)
            if request.method in ("POST", "PUT") and request.get_data()
            else None
        )
        state = self.state
        try:
            with state.lock:
                if action == "state":
                    return self._json(200, state.summary())
                if action == "add_order":
                    if not isinstance(body, dict):
                        raise ValueError("the body must be a JSON order")
                    return self._json(201, {"orderId": state.add_order(body)})
                if action == "orders":
                    when = request.args.get("at")
                    when = parse_time(when) if when else state.now()
                    return self._json(
                        200,
                        {
                            "at": format_time(when),
                            "orders": [_summary(v) for v in state.views(when)],
                        },
                    )
                if action == "add_raw_order":
                    if not isinstance(body, dict) or "order" not in body:
                        raise ValueError('the body must be {"order": ..., "time"?: ISO 8601}')
                    return self._json(
                        201, {"key": state.add_raw_order(body["order"], body.get("time"))}
                    )
                if action == "order":
                    current = self._view(args["order_id"])
                    return self._json(
                        200,
                        {
                            "status": current.status,
                            "order": render.order_v2026(current, set(data.INCLUDED_DATA)),
                        },
                    )
                if action == "status":
                    state.set_status(args["order_id"], (body or {}).get("status"))
                    return self._json(
                        200,
                        {
                            "orderId": args["order_id"],
                            "status": state.order_status(args["order_id"]),
                        },
                    )
                if action == "cancel":
                    state.cancel(args["order_id"], (body or {}).get("itemIds"))
                    return self._json(
                        200,
                        {
                            "orderId": args["order_id"],
                            "status": state.order_status(args["order_id"]),
                        },
                    )
                if action == "ship_fba":
                    state.ship_fba(args["order_id"])
                    return self._json(
                        200,
                        {
                            "orderId": args["order_id"],
                            "status": state.order_status(args["order_id"]),
                        },
                    )
                if action == "advance":
                    now = state.advance((body or {}).get("seconds", 0))
                    return self._json(200, {"now": format_time(now)})
                if action == "shipments":
                    return self._json(
                        200, {"shipments": state.shipments(request.args.get("orderId"))}
                    )
                if action == "listings":
                    return self._json(200, {"listings": state.listings})
                if action == "refund":
                    state.refund(args["order_id"], (body or {}).get("itemIds"))
                    return self._json(200, {"orderId": args["order_id"]})
                if action == "advertising":
                    ad = state.add_ads_charge(**(body or {}))
                    return self._json(201, {"time": format_time(ad["time"])})
                if action == "reset":
                    state.reset()
                    return self._json(200, {"now": format_time(state.now())})
                if action == "reset_rate_limits":
                    state.reset_rate_limits()
                    return self._json(200, {})
                if action == "faults":
                    if request.method == "DELETE":
                        self.faults.clear()
                        return self._json(204, None)
                    if request.method == "GET":
                        return self._json(200, {"faults": [vars(f) for f in self.faults.list()]})
                    fault = self.faults.add(**(body or {}))
                    return self._json(201, vars(fault))
        except ApiError as exc:
            return self._json(exc.status, exc.body())
        except (KeyError, ValueError, TypeError) as exc:
            return self._json(400, {"error": str(exc).strip("'\"")})
        return self._json(404, {"error": "unknown control action"})


def _summary(view):
    """One order as the campaigns check it: status, channel, total, last update."""
    record = view.record
    rendered = render.order_v2026(view, {"PROCEEDS"})
    return {
        "orderId": record["orderId"],
        "status": view.status,
        "fulfilledBy": record["fulfilledBy"],
        "marketplaceId": record["marketplace"]["id"],
        "createdTime": format_time(record["createdTime"]),
        "lastUpdatedTime": format_time(view.last_updated),
        "total": ((rendered.get("proceeds") or {}).get("grandTotal") or {}).get("amount"),
        "currency": record["currency"],
    }


def _remove_required(name, payload):
    """Drop a field Amazon's model marks required (missing_field fault)."""
    payload = json.loads(json.dumps(payload))
    if name == "searchOrders":
        if payload["orders"]:
            payload["orders"][0].pop("orderId", None)
            if len(payload["orders"]) > 1:
                payload["orders"][1].pop("orderItems", None)
        else:
            payload.pop("orders")
    elif name == "getOrder":
        payload["order"].pop("orderItems", None)
    elif name == "getOrders":
        for order in payload["payload"]["Orders"][:1]:
            order.pop("AmazonOrderId", None)
        if not payload["payload"]["Orders"]:
            payload["payload"].pop("Orders")
    elif name == "ordersV0.getOrder":
        payload["payload"].pop("AmazonOrderId", None)
    elif name in ("getOrderItems", "getOrderItemsBuyerInfo"):
        payload["payload"].pop("OrderItems", None)
    elif name == "getFeed":
        payload.pop("processingStatus", None)
    elif name in ("getFeedDocument", "createFeedDocument"):
        payload.pop("url", None)
    elif name == "createFeed":
        payload.pop("feedId", None)
    elif name == "createRestrictedDataToken":
        payload.pop("restrictedDataToken", None)
    elif name == "getMarketplaceParticipations":
        for row in payload["payload"][:1]:
            row.pop("marketplace", None)
    elif isinstance(payload, dict) and payload:
        payload.pop(next(iter(payload)))
    return payload
