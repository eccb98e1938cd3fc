"""The checks shared by every reliability campaign (``scripts/campaign``, Odoo tests).

``compare(amazon, odoo, amazon_now=None)`` confronts the sandbox's orders at the final window
end (``GET /_sandbox/orders?at=...`` rows) with the sale orders Odoo holds (dicts ``{"ref",
"status", "total"}``, one per sale order, duplicates included) and returns a dict
``{"lost", "duplicated", "mismatched", "details"}``:

* **lost**: an order Odoo must hold but does not: FBA ``SHIPPED``; FBM ``UNSHIPPED``,
  ``PARTIALLY_SHIPPED`` or ``SHIPPED``. (Cancelled orders exist in Odoo only when the sync saw
  them before their cancellation; Pending ones never.)
* **duplicated**: an Amazon order held by more than one sale order (extra copies counted).
* **mismatched**: a sale order whose status differs from Amazon's (at the window end, or now
  for orders Odoo read after it, ``amazon_now``), whose ``amazon_total`` differs from Amazon's
  grand total, that should not exist (Pending...), or that Amazon does not know.
"""

from collections import Counter
from decimal import Decimal, InvalidOperation

MUST_EXIST = {
    "AMAZON": ("SHIPPED",),
    "MERCHANT": ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"),
}
MAY_EXIST = {
    "AMAZON": ("SHIPPED", "CANCELLED"),
    "MERCHANT": ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED"),
}


def _amount(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def compare(amazon, odoo, amazon_now=None, limit=20):
    by_ref = {row["orderId"]: row for row in amazon}
    now_by_ref = {row["orderId"]: row for row in (amazon_now or ())}
    held = Counter(order["ref"] for order in odoo)
    details = []
    lost = duplicated = mismatched = 0
    for ref, row in by_ref.items():
        if row["status"] in MUST_EXIST.get(row["fulfilledBy"], ()) and not held[ref]:
            lost += 1
            details.append(f"lost {ref} ({row['fulfilledBy']} {row['status']})")
    for ref, count in held.items():
        if count > 1:
            duplicated += count - 1
            details.append(f"duplicated {ref} x{count}")
    for order in odoo:
        ref = order["ref"]
        row = by_ref.get(ref) or now_by_ref.get(ref)
        problem = None
        if row is None:
            problem = "unknown to Amazon"
        else:
            statuses = {row["status"]}
            if ref in now_by_ref:
                statuses.add(now_by_ref[ref]["status"])
            if order["status"] not in statuses:
                problem = f"status {order['status']} != Amazon's {row['status']}"
            elif row["status"] not in MAY_EXIST.get(row["fulfilledBy"], ()):
                problem = f"should not exist in status {row['status']}"
            else:
                ours, theirs = _amount(order.get("total")), _amount(row.get("total"))
                if ours is None or theirs is None or abs(ours - theirs) >= Decimal("0.005"):
                    problem = f"total {order.get('total')} != Amazon's {row.get('total')}"
        if problem:
            mismatched += 1
            details.append(f"mismatched {ref}: {problem}")
    return {
        "lost": lost,
        "duplicated": duplicated,
        "mismatched": mismatched,
        "details": details[:limit],
        "amazon_orders": len(by_ref),
        "odoo_orders": len(odoo),
    }


def summary_line(result):
    """The campaigns' last line."""
    return (
        f"lost={result['lost']} duplicated={result['duplicated']} mismatched={result['mismatched']}"
    )
