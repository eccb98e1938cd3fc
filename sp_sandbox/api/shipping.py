"""Orders v0 ``confirmShipment``: validate a package against the order, then record it."""

import re

from ..values import parse_time
from .common import Operation, invalid, order_view, state_refusal
from .orders import ORDERS_V0

ORDER_STATUS_ALLOWING_SHIPMENT = ("UNSHIPPED", "PARTIALLY_SHIPPED")
PACKAGE_FIELDS = ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")


def _missing(body):
    missing = [k for k in ("marketplaceId", "packageDetail") if not body.get(k)]
    detail = body.get("packageDetail")
    if isinstance(detail, dict):
        missing += [f"packageDetail.{k}" for k in PACKAGE_FIELDS if detail.get(k) in (None, "", [])]
    elif detail is not None:
        missing.append("packageDetail")
    return missing


def _check_package(order_id, current, detail):
    """Refuse a package the order cannot take: its reference, date, carrier, the status."""
    reference = str(detail["packageReferenceId"])
    if not re.fullmatch(r"[1-9][0-9]*", reference):
        raise invalid("Invalid packageReferenceId.", "Only positive numeric values are supported.")
    try:
        parse_time(detail["shipDate"])
    except ValueError:
        raise invalid("Invalid shipDate.", "shipDate must be an ISO 8601 date-time.") from None
    if detail["carrierCode"] == "Other" and not detail.get("carrierName"):
        raise invalid("carrierName is required when carrierCode is Other.")
    if any(str(p["detail"]["packageReferenceId"]) == reference for p in current.record["packages"]):
        raise state_refusal(
            "Duplicate packageReferenceId.",
            f"Package {reference} was already confirmed for order {order_id}.",
        )
    if current.status == "SHIPPED":
        raise state_refusal(
            "The order is already shipped.", f"Order {order_id} has no unshipped items."
        )
    if current.status not in ORDER_STATUS_ALLOWING_SHIPMENT:
        raise state_refusal(f"The order cannot be shipped in status {current.status}.")


def _lines(current, order_items):
    """{order item id: quantity} of the package, within each item's unshipped quantity."""
    if not isinstance(order_items, list):
        raise invalid("packageDetail.orderItems must be a list.")
    lines = {}
    for line in order_items:
        item_id = line.get("orderItemId") if isinstance(line, dict) else None
        quantity = line.get("quantity") if isinstance(line, dict) else None
        if item_id not in current.shipped:
            raise invalid("Invalid orderItemId.", f"Unknown order item {item_id!r}.")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise invalid("Invalid quantity.", f"Item {item_id}: quantity must be >= 1.")
        lines[item_id] = lines.get(item_id, 0) + quantity
    for item_id, quantity in lines.items():
        if quantity > current.unshipped(item_id):
            raise state_refusal(
                "Quantity exceeds the unshipped quantity.",
                f"Item {item_id}: {quantity} requested, {current.unshipped(item_id)} unshipped.",
            )
    return lines


def confirm_shipment(app, request, elements, order_id):
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise invalid("The request body is not a valid JSON object.")
    current = order_view(app.state, order_id)
    record = current.record
    missing = _missing(body)
    if missing:
        raise invalid("Missing required field(s).", ", ".join(missing))
    if body["marketplaceId"] != record["marketplace"]["id"]:
        raise invalid(
            "Invalid marketplaceId.", f"Order {order_id} belongs to {record['marketplace']['id']}."
        )
    if record["fulfilledBy"] != "MERCHANT":
        raise invalid(
            "The order is fulfilled by Amazon.",
            "Shipments can only be confirmed for merchant-fulfilled orders.",
        )
    detail = body["packageDetail"]
    _check_package(order_id, current, detail)
    app.state.record_shipment(order_id, body, _lines(current, detail["orderItems"]))
    return 204, None


ROUTES = [
    Operation(
        "/orders/v0/orders/<order_id>/shipmentConfirmation",
        "POST",
        ORDERS_V0,
        "confirmShipment",
        confirm_shipment,
    ),
]
