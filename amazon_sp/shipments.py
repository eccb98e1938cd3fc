"""What Amazon already knows about a shipment (pure logic, no Odoo import).

Before resending a confirmShipment whose outcome is unknown (timeout, 5xx, reset), the
caller reads the order (v2026 ``getOrder`` with ``PACKAGES`` and ``FULFILLMENT``) and asks
:func:`already_confirmed`: a second confirmation must never create a second shipment.
"""

from __future__ import annotations

from . import const

# already_confirmed() answers
PACKAGE_FOUND = "package"  # Amazon has a package with our reference
ITEMS_SHIPPED = "shipped"  # every item we would send is already fully shipped on Amazon


def already_confirmed(raw_order, package_reference_id, items):
    """``raw_order``: a v2026 order (dict) read with PACKAGES and FULFILLMENT;
    ``items``: ``[(order_item_id, quantity), ...]`` we would send.

    :return: :data:`PACKAGE_FOUND`, :data:`ITEMS_SHIPPED` or None (not on Amazon: send)
    """
    reference = str(package_reference_id)
    for package in raw_order.get("packages") or ():
        if isinstance(package, dict) and str(package.get("packageReferenceId")) == reference:
            return PACKAGE_FOUND
    fulfillment = raw_order.get("fulfillment") or {}
    if fulfillment.get("fulfillmentStatus") == const.STATUS_SHIPPED:
        return ITEMS_SHIPPED
    unfulfilled = {}
    for item in raw_order.get("orderItems") or ():
        if not isinstance(item, dict):
            continue
        item_fulfillment = item.get("fulfillment")
        if not isinstance(item_fulfillment, dict):
            return None  # Amazon did not say: do not guess
        value = item_fulfillment.get("quantityUnfulfilled")
        if not isinstance(value, int):
            return None
        unfulfilled[str(item.get("orderItemId"))] = value
    wanted = [str(item_id) for item_id, qty in items if qty > 0]
    if wanted and all(item_id in unfulfilled for item_id in wanted):
        if all(unfulfilled[item_id] == 0 for item_id in wanted):
            return ITEMS_SHIPPED
    return None
