"""The control endpoints (``/_sandbox/...``): what tests, campaigns and demos drive.

Each action takes (app, request, body, args) and returns (status, JSON payload); it runs under
the state lock. A ``KeyError``/``ValueError``/``TypeError`` answers 400 ``{"error": ...}``.
"""

from . import control_fba, data, render
from .api.common import ApiError, json_response, order_view
from .values import format_time, parse_time

# path, methods, action
RULES = [
    ("/_sandbox/state", ["GET"], "state"),
    ("/_sandbox/orders", ["POST"], "add_order"),
    ("/_sandbox/orders", ["GET"], "orders"),
    ("/_sandbox/raw-orders", ["POST"], "add_raw_order"),
    ("/_sandbox/orders/<order_id>", ["GET"], "order"),
    ("/_sandbox/orders/<order_id>/status", ["POST"], "status"),
    ("/_sandbox/orders/<order_id>/cancel", ["POST"], "cancel"),
    ("/_sandbox/orders/<order_id>/ship-fba", ["POST"], "ship_fba"),
    ("/_sandbox/advance", ["POST"], "advance"),
    ("/_sandbox/shipments", ["GET"], "shipments"),
    ("/_sandbox/listings", ["GET"], "listings"),
    ("/_sandbox/faults", ["POST", "DELETE", "GET"], "faults"),
    ("/_sandbox/reset", ["POST"], "reset"),
    ("/_sandbox/orders/<order_id>/refund", ["POST"], "refund"),
    ("/_sandbox/advertising", ["POST"], "advertising"),
    ("/_sandbox/rate-limits/reset", ["POST"], "reset_rate_limits"),
    ("/_sandbox/conventions", ["GET", "POST"], "conventions"),
    ("/_sandbox/stats", ["GET"], "stats"),
    *control_fba.RULES,
    ("/_sandbox/notifications", ["GET", "DELETE"], "notifications"),
    ("/_sandbox/notifications/sqs", ["POST"], "notifications_sqs"),
    ("/_sandbox/notifications/faults", ["POST", "DELETE"], "notifications_faults"),
    ("/_sandbox/notifications/wait", ["POST"], "notifications_wait"),
]


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


def _add_order(app, request, body, args):
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON order")
    return 201, {"orderId": app.state.add_order(body)}


def _orders(app, request, body, args):
    when = request.args.get("at")
    when = parse_time(when) if when else app.state.now()
    return 200, {"at": format_time(when), "orders": [_summary(v) for v in app.state.views(when)]}


def _add_raw_order(app, request, body, args):
    if not isinstance(body, dict) or "order" not in body:
        raise ValueError('the body must be {"order": ..., "time"?: ISO 8601}')
    return 201, {"key": app.state.add_raw_order(body["order"], body.get("time"))}


def _order(app, request, body, args):
    current = order_view(app.state, args["order_id"])
    order = render.order_v2026(current, set(data.INCLUDED_DATA), app.state.conventions)
    return 200, {"status": current.status, "order": order}


def _order_change(change):
    """An action changing one order (``change(state, order_id, body)``); answers its status."""

    def action(app, request, body, args):
        order_id = args["order_id"]
        change(app.state, order_id, body or {})
        return 200, {"orderId": order_id, "status": app.state.order_status(order_id)}

    return action


def _refund(app, request, body, args):
    body = dict(body or {})
    refund = app.state.refund(args["order_id"], body.pop("itemIds", None), **body)
    return 200, {"orderId": args["order_id"], "items": refund["items"]}


def _advertising(app, request, body, args):
    ad = app.state.add_ads_charge(**(body or {}))
    return 201, {"time": format_time(ad["time"])}


def _reset(app, request, body, args):
    app.state.reset()
    return 200, {"now": format_time(app.state.now())}


def _reset_rate_limits(app, request, body, args):
    app.state.reset_rate_limits()
    return 200, {}


def _faults(app, request, body, args):
    if request.method == "DELETE":
        app.faults.clear()
        return 204, None
    if request.method == "GET":
        return 200, {"faults": [vars(f) for f in app.faults.list()]}
    return 201, vars(app.faults.add(**(body or {})))


def _conventions(app, request, body, args):
    if request.method == "POST":
        if not isinstance(body, dict):
            raise ValueError('the body must be {"<convention>": <value>, ...}')
        return 200, app.state.conventions.set(**body)
    return 200, app.state.conventions.as_dict()


def _notifications(app, request, body, args):
    if request.method == "DELETE":
        app.notifier.reset()
    return 200, app.notifier.status()


def _notifications_faults(app, request, body, args):
    if request.method == "DELETE":
        return 200, app.notifier.set_faults()
    return 200, app.notifier.set_faults(**(body or {}))


def _notifications_wait(app, request, body, args):
    """Wait (outside the state lock) until every change so far was published."""
    app.state.lock.release()
    try:
        idle = app.notifier.wait_idle(float((body or {}).get("timeout", 30)))
    finally:
        app.state.lock.acquire()
    return 200, {"idle": idle, **app.notifier.status()}


ACTIONS = {
    "notifications": _notifications,
    "notifications_sqs": lambda app, request, body, args: (
        200,
        app.notifier.configure_sqs(**(body or {})),
    ),
    "notifications_faults": _notifications_faults,
    "notifications_wait": _notifications_wait,
    "conventions": _conventions,
    "stats": lambda app, request, body, args: (200, app.state.stats),
    "state": lambda app, request, body, args: (200, app.state.summary()),
    "add_order": _add_order,
    "orders": _orders,
    "add_raw_order": _add_raw_order,
    "order": _order,
    "status": _order_change(lambda state, oid, body: state.set_status(oid, body.get("status"))),
    "cancel": _order_change(lambda state, oid, body: state.cancel(oid, body.get("itemIds"))),
    "ship_fba": _order_change(lambda state, oid, body: state.ship_fba(oid)),
    "advance": lambda app, request, body, args: (
        200,
        {"now": format_time(app.state.advance((body or {}).get("seconds", 0)))},
    ),
    "shipments": lambda app, request, body, args: (
        200,
        {"shipments": app.state.shipments(request.args.get("orderId"))},
    ),
    "listings": lambda app, request, body, args: (200, {"listings": app.state.listings}),
    "refund": _refund,
    "advertising": _advertising,
    "reset": _reset,
    "reset_rate_limits": _reset_rate_limits,
    "faults": _faults,
    **control_fba.ACTIONS,
}


def control(app, request, action, args):
    """Answer one control request (``action`` from ``RULES``)."""
    has_body = request.method in ("POST", "PUT") and request.get_data()
    body = request.get_json(silent=True, force=True) if has_body else None
    handler = ACTIONS.get(action)
    if handler is None:
        return json_response(404, {"error": "unknown control action"})
    try:
        with app.state.lock:
            status, payload = handler(app, request, body, args)
    except ApiError as exc:
        return json_response(exc.status, exc.body())
    except (KeyError, ValueError, TypeError) as exc:
        return json_response(400, {"error": str(exc).strip("'\"")})
    return json_response(status, payload)
