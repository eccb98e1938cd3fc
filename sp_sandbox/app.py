"""The WSGI application: routing, authorization, rate limits, faults and recording around the
operation handlers (``api/``), LWA (``auth``), presigned documents and control endpoints."""

import json
import logging
import os
import secrets
import socket
import struct
import threading
import uuid

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .amazon import RequestRules
from .api import OPERATIONS
from .api import feeds as feeds_api
from .api.common import RAW, ApiError, invalid, json_response
from .api.pagination import PageTokens
from .auth import Authority
from .control import RULES as CONTROL_RULES
from .control import control
from .notify import Notifier
from .recorder import RECORDER, Exchange

_logger = logging.getLogger(__name__)
REJECTION_LOG = "SP_SANDBOX_REJECTION_LOG"
_LOG_LOCK = threading.Lock()
QUOTA_EXCEEDED = "You exceeded your quota for the requested resource."
INTERNAL_FAILURE = "We encountered an internal error. Please try again."
# fault kind -> the error Amazon answers (malformed/missing_field spoil a good answer instead)
FAULT_ERRORS = {
    # Amazon refusing the request as invalid (nothing is processed)
    "400": (
        400,
        "InvalidInput",
        "The request was rejected.",
        "Sandbox fault 400: injected for testing.",
    ),
    "429": (429, "QuotaExceeded", QUOTA_EXCEEDED),
    "500": (500, "InternalFailure", INTERNAL_FAILURE),
    "503": (503, "ServiceUnavailable", "Service temporarily unavailable."),
}


class _Reset(ConnectionResetError):
    """Raised by the app to drop the connection without any HTTP response."""


class SandboxApp:
    def __init__(self, state, rate_limiter, faults, stop_event=None, models_dir=None):
        self.state = state
        # Amazon's request rules (required/enum/maxItems/date-time/bodies) from its models
        self.rules = RequestRules(models_dir)
        self.rate_limiter = rate_limiter
        self.faults = faults
        self.stop_event = stop_event or threading.Event()
        self.secret = secrets.token_bytes(16)
        self.auth = Authority(state.scenario.seller)
        self.pages = PageTokens(self.secret)
        self.notifier = Notifier(state)
        self.gzip_reports = True
        self.document_fault = None  # see api.feeds.DOCUMENT_FAULTS
        self.document_bomb_bytes = 64 << 20
        rules = [Rule("/auth/o2/token", methods=["POST"], endpoint=("lwa", None))]
        rules += [
            Rule(operation.path, methods=[operation.method], endpoint=("api", operation))
            for operation in OPERATIONS
        ]
        rules.append(Rule("/_docs/<document_id>", methods=["PUT", "GET"], endpoint=("doc", None)))
        rules += [
            Rule(path, methods=methods, endpoint=("ctl", action))
            for path, methods, action in CONTROL_RULES
        ]
        self.url_map = Map(rules, strict_slashes=False)

    # --- WSGI ------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            (kind, info), args = adapter.match()
        except HTTPException as exc:
            not_found = exc.code == 404
            error = {
                "code": "NotFound" if not_found else "InvalidInput",
                "message": "Resource not found" if not_found else exc.description,
            }
            response = json_response(exc.code or 404, {"errors": [error]})
            response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
            return response(environ, start_response)
        if kind == "api":
            response = self._api(request, info, args, environ)
        elif kind == "lwa":
            response = self._lwa(request, environ)
        elif kind == "doc":
            response = feeds_api.document(self, request, args["document_id"])
        else:
            response = control(self, request, info, args)
        response.headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        return response(environ, start_response)

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

    # --- LWA -------------------------------------------------------------------------
    def _lwa(self, request, environ):
        fault = self.faults.pick(("lwa",), wildcard=False)
        if fault and fault.kind == "reset":
            self._drop_connection(environ)
        if fault and fault.kind == "slow":
            self._sleep(fault.delay)
        elif fault and fault.kind in ("500", "503", "429"):
            self.state.count("lwa", int(fault.kind))
            return json_response(
                int(fault.kind), {"error": "server_error", "error_description": "Sandbox fault"}
            )
        form = request.form
        if not form and request.is_json:
            form = request.get_json(silent=True) or {}
        status, payload = self.auth.exchange(form)
        self.state.count("lwa", status)
        response = json_response(status, payload)
        response.headers["Cache-Control"] = "no-store"
        return response

    # --- SP-API ----------------------------------------------------------------------
    def _strike(self, fault, name, environ, after_effect=False):
        """Apply a fault before the operation runs, or after it took effect (``after_effect``:
        any kind but ``reset``/``slow`` answers 500)."""
        if fault.kind == "reset":
            self.state.count(name, "reset")
            self._drop_connection(environ)
        if fault.kind == "slow":
            self._sleep(fault.delay)
            return
        error = FAULT_ERRORS.get("500" if after_effect else fault.kind)
        if error is not None:
            injected = ApiError(*error)
            injected.injected = True
            raise injected

    def _api(self, request, operation, args, environ):
        name, model, operation_id = operation.name, operation.model, operation.operation_id
        names = (name, operation_id, f"{model}.{operation_id}")
        headers = {"x-amzn-RateLimit-Limit": self.rate_limiter.header(name)}
        fault = None
        try:
            elements = self.auth.authorize(request, name)
            if not self.rate_limiter.allow(name):
                raise ApiError(429, "QuotaExceeded", QUOTA_EXCEEDED)
            problem = self.rules.check(model, operation_id, request)
            if problem:
                raise invalid(problem)
            fault = self.faults.pick(names)
            if fault is not None:
                self._strike(fault, name, environ)
            with self.state.lock:
                status, payload = operation.handler(self, request, elements, **args)
            if status < 300 and name == "confirmShipment":
                after = self.faults.pick(names, after_effect=True)
                if after is not None:
                    self._strike(after, name, environ, after_effect=True)
        except ApiError as exc:
            status, payload = exc.status, exc.body()
            if status == 400 and not (
                getattr(exc, "injected", False) or getattr(exc, "state_refusal", False)
            ):
                # a request the rules refuse: what tests assert the client never sends
                _logger.warning("sp_sandbox refused %s: %s", name, exc.message)
                self.state.reject(name, exc.message, request.full_path)
                _log_rejection(name, exc.message, request.full_path)
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        faulted = False
        if status < 300 and payload is not None and fault is not None:
            if fault.kind == "malformed":
                body, faulted = body[: max(1, len(body) // 2)], True
            elif fault.kind == "missing_field":
                payload = _remove_required(name, payload)
                body, faulted = json.dumps(payload, ensure_ascii=False).encode(), True
        faulted = faulted or bool(request.environ.get(RAW))
        RECORDER.record(Exchange(model, operation_id, status, body, faulted))
        self.state.count(name, status)
        response = Response(body, status=status, headers=headers)
        if body:
            response.headers["Content-Type"] = "application/json"
        return response


def _log_rejection(name, message, path):
    """With ``$SP_SANDBOX_REJECTION_LOG`` set, append the refusal there (one JSON line): how a
    whole test run (Odoo included) tells whether the client sent a request Amazon forbids."""
    target = os.environ.get(REJECTION_LOG)
    if not target:
        return
    line = json.dumps({"operation": name, "message": message, "request": path})
    with _LOG_LOCK, open(target, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


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
