"""What every operation handler shares: the route entry, errors, query parsing, lookups.

A handler is ``handler(app, request, elements, **path_args) -> (status, payload)``: ``app`` is the
``SandboxApp`` (``app.state``, ``app.pages``, ``app.auth``...), ``elements`` the data elements an
RDT grants for this request (empty for a plain access token). It raises ``ApiError`` to answer
with Amazon's error body.
"""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import NamedTuple

from werkzeug.wrappers import Response

from ..values import parse_time

RAW = "sp_sandbox.raw"  # environ flag: the response holds verbatim bodies outside the contract


class Operation(NamedTuple):
    """One SP-API operation: its route, Amazon's model and operationId, its handler."""

    path: str
    method: str
    model: str
    operation_id: str
    handler: Callable
    alias: str | None = None  # name for stats/faults/rate limits when not the operationId

    @property
    def name(self):
        return self.alias or self.operation_id


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


def state_refusal(message, details=None):
    """Amazon's 400 for a request its model allows but the order's current state does not
    (already shipped, package already confirmed...): not a contract rejection, so neither
    counted in the rejections nor written to the rejection log."""
    error = invalid(message, details)
    error.state_refusal = True
    return error


def json_response(status, payload):
    body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    response = Response(body, status=status)
    if payload is not None:
        response.headers["Content-Type"] = "application/json"
    return response


def mark_raw(request):
    """The response carries verbatim bodies: the contract checks must not validate it."""
    request.environ[RAW] = True


# --- query parameters ----------------------------------------------------------------
def listed(request, name, allowed=None, max_items=None):
    """A comma-separated (or repeated) parameter as a list, checked against ``allowed``."""
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


def time_arg(request, name):
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise invalid(f"Invalid {name}: {value!r} is not an ISO 8601 date-time.") from None


def int_arg(request, name, low, high, default):
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


def latest_allowed(state):
    """Amazon refuses window ends later than two minutes before the request."""
    return (state.now() - timedelta(minutes=2)).replace(microsecond=0)


# --- lookups -------------------------------------------------------------------------
def known_marketplaces(state, values):
    unknown = [v for v in values if v not in state.marketplaces]
    if unknown:
        raise invalid(
            f"Invalid marketplace ID(s): {', '.join(unknown)}.",
            "The seller does not participate in these marketplaces.",
        )
    return values


def order_view(state, order_id):
    """The order as it is now; 404 when it does not exist (yet)."""
    current = state.view(order_id) if order_id in state.orders else None
    if current is None:
        raise ApiError(
            404,
            "NotFound",
            "The requested order was not found.",
            f"Order {order_id} does not exist.",
        )
    return current
