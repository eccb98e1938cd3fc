"""What Amazon already knows about a shipment (pure logic, no Odoo import).

Before resending a confirmShipment whose outcome is unknown (timeout, 5xx, reset), the
caller reads the order (v2026 ``getOrder`` with ``PACKAGES`` and ``FULFILLMENT``) and asks
:func:`check_shipment` (or the older :func:`already_confirmed`): a second confirmation
must never create a second shipment, whatever Amazon echoes of our package.

Nothing in Amazon's model promises that ``packages[].packageReferenceId`` is our own
reference, so a package is ours when it carries our reference *or* our tracking number
with exactly our items and quantities. When the data points both ways (our tracking number
on other items, part of our units already shipped, our items in a package of another
reference...) the answer is :data:`UNSURE` with the reason: the caller must not resend and
should ask the user.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from . import const

# verdicts
PACKAGE_FOUND = "package"  # Amazon has our package (by reference, or tracking + items)
ITEMS_SHIPPED = "shipped"  # every item we would send is already fully shipped on Amazon
UNSURE = "unsure"  # conflicting evidence: do not resend, ask the user (see reason)


@dataclass(frozen=True)
class ShipmentCheck:
    """``verdict``: :data:`PACKAGE_FOUND`, :data:`ITEMS_SHIPPED`, :data:`UNSURE` or None
    (Amazon does not have it: send); ``reason``: a sentence for the user (English, the
    caller translates its own wrapper)."""

    verdict: str | None
    reason: str = ""

    @property
    def may_send(self):
        return self.verdict is None


def _tracking_key(value):
    return "".join(str(value or "").split()).upper()


def _package_items(package):
    counts = Counter()
    for item in package.get("packageItems") or ():
        if isinstance(item, dict) and item.get("orderItemId") is not None:
            try:
                counts[str(item["orderItemId"])] += int(item.get("quantity") or 0)
            except (TypeError, ValueError):
                continue
    return counts


def check_shipment(raw_order, package_reference_id, items, tracking_number=None):
    """``raw_order``: a v2026 order (dict) read with PACKAGES and FULFILLMENT;
    ``items``: ``[(order_item_id, quantity), ...]`` we would send; ``tracking_number``:
    the one we would send (None: match by reference only).

    :return: :class:`ShipmentCheck`
    """
    reference = str(package_reference_id)
    wanted = Counter()
    for item_id, qty in items:
        if int(qty) > 0:
            wanted[str(item_id)] += int(qty)
    tracking = _tracking_key(tracking_number)
    packages = [p for p in raw_order.get("packages") or () if isinstance(p, dict)]
    for package in packages:
        if str(package.get("packageReferenceId")) == reference:
            return ShipmentCheck(PACKAGE_FOUND, f"package {reference} is on Amazon")
    # One tracking number may stand on several packages (a reused label): ours is the one
    # with our items; only when none of them carries exactly our items is it unsure.
    same_tracking = [
        _package_items(p)
        for p in packages
        if tracking and _tracking_key(p.get("trackingNumber")) == tracking
    ]
    if wanted in same_tracking:
        return ShipmentCheck(
            PACKAGE_FOUND,
            f"a package with tracking number {tracking_number} and the same items is on Amazon",
        )
    if same_tracking:
        carried = same_tracking[0]
        return ShipmentCheck(
            UNSURE,
            f"Amazon has a package with tracking number {tracking_number} but other "
            f"items or quantities ({dict(carried)} instead of {dict(wanted)})",
        )
    # Every check above and below that returns answers "do not send"; the only "send" is
    # the last line, reached when no evidence at all shows the shipment on Amazon. So the
    # order of the checks decides what the user is told, never whether a second shipment
    # goes out. A tracking conflict comes before the order's SHIPPED status on purpose:
    # it tells the user something the status hides (our tracking number on other items).
    fulfillment = raw_order.get("fulfillment") or {}
    if fulfillment.get("fulfillmentStatus") == const.STATUS_SHIPPED:
        return ShipmentCheck(ITEMS_SHIPPED, "the order is shipped on Amazon")
    unfulfilled = {}
    known = True
    for item in raw_order.get("orderItems") or ():
        if not isinstance(item, dict):
            continue
        item_fulfillment = item.get("fulfillment")
        value = (
            item_fulfillment.get("quantityUnfulfilled")
            if isinstance(item_fulfillment, dict)
            else None
        )
        if not isinstance(value, int):
            known = False
            continue
        unfulfilled[str(item.get("orderItemId"))] = value
    if known and wanted and all(item_id in unfulfilled for item_id in wanted):
        if all(unfulfilled[item_id] == 0 for item_id in wanted):
            return ShipmentCheck(ITEMS_SHIPPED, "every item is already shipped on Amazon")
        # An item with none left beside items with all theirs left: our confirmation (one
        # package) cannot have reached Amazon; a resend cannot ship more than Amazon has
        # left either (Amazon refuses the excess, the user reads why).
        partial = [i for i in wanted if 0 < unfulfilled[i] < wanted[i]]
        if partial:
            return ShipmentCheck(
                UNSURE,
                "Amazon has fewer units left to ship than this delivery sends for item(s) "
                + ", ".join(f"{i} ({unfulfilled[i]} < {wanted[i]})" for i in partial),
            )
    in_other = Counter()
    for package in packages:
        in_other.update(_package_items(package))
    if wanted and all(in_other[i] >= qty for i, qty in wanted.items()):
        if not known or any(unfulfilled.get(i, 0) < wanted[i] for i in wanted):
            return ShipmentCheck(
                UNSURE,
                "Amazon already has these items in package(s) of another reference and "
                "tracking number",
            )
    return ShipmentCheck(None, "")


def already_confirmed(raw_order, package_reference_id, items, tracking_number=None):
    """The verdict of :func:`check_shipment` alone: :data:`PACKAGE_FOUND`,
    :data:`ITEMS_SHIPPED`, :data:`UNSURE` (truthy: do not resend) or None (send)."""
    return check_shipment(raw_order, package_reference_id, items, tracking_number).verdict
