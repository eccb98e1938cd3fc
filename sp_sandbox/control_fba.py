"""Control endpoints of the FBA inventory (``/_sandbox/fba/...``): see ``control.py``.

* ``POST /_sandbox/fba/returns`` ``{"orderId", "sku", "quantity"?, "disposition", "time"?,
  "licensePlateNumber"?, "reason"?}``: a customer return (now by default);
* ``POST /_sandbox/fba/events`` ``{"sku", "kind": "damage"|"found"|"lost", "quantity"?}``;
* ``GET /_sandbox/fba/inventory[?at=ISO]``: ``{sku: {"marketplaceId", "fulfillable",
  "reserved", "unfulfillable", "researching"}}`` as Amazon counts it.
"""

from .values import format_time, parse_time

RULES = [
    ("/_sandbox/fba/returns", ["POST"], "fba_return"),
    ("/_sandbox/fba/events", ["POST"], "fba_event"),
    ("/_sandbox/fba/inventory", ["GET"], "fba_inventory"),
]


def _fba_return(app, request, body, args):
    entry = app.state.add_return(body or {})
    return 201, {"time": format_time(entry["time"])}


def _fba_event(app, request, body, args):
    entry = app.state.add_inventory_event(body or {})
    return 201, {"time": format_time(entry["time"])}


def _fba_inventory(app, request, body, args):
    when = request.args.get("at")
    rows = app.state.fba_inventory(parse_time(when) if when else None)
    return 200, {
        sku: {
            "marketplaceId": row["marketplaceId"],
            "fulfillable": row["fulfillable"],
            "reserved": row["pendingCustomerOrderQuantity"],
            "unfulfillable": sum(row["unfulfillable"].values()),
            "researching": row["researching"],
        }
        for sku, row in rows.items()
    }


ACTIONS = {
    "fba_return": _fba_return,
    "fba_event": _fba_event,
    "fba_inventory": _fba_inventory,
}
