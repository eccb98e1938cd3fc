"""Notifications API v1: SQS destinations and ORDER_CHANGE subscriptions (``app.notifier``).

Destinations (and deleteSubscriptionById) take a grantless token (see ``auth.GRANTLESS``).
As on Amazon: one destination per resource (409 otherwise), one subscription per
notification type and payload version (409), 404 for what does not exist.
"""

import re
import uuid

from .common import ApiError, Operation, invalid

MODEL = "notifications"
SUPPORTED_TYPES = ("ORDER_CHANGE",)
ARN = re.compile(r"^arn:aws:sqs:\S+:\S+:\S+")


def _not_found(what):
    return ApiError(404, "NotFound", f"The requested {what} was not found.")


def _conflict(message):
    return ApiError(409, "Conflict", message)


def _destination(destination_id, destination):
    return {
        "name": destination["name"],
        "destinationId": destination_id,
        "resource": {"sqs": {"arn": destination["arn"]}},
    }


def _type(notification_type):
    if notification_type not in SUPPORTED_TYPES:
        raise invalid(f"Unsupported notificationType {notification_type!r} on this sandbox.")
    return notification_type


def get_destinations(app, request, elements):
    notifier = app.notifier
    return 200, {"payload": [_destination(k, v) for k, v in sorted(notifier.destinations.items())]}


def create_destination(app, request, elements):
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    name = body.get("name")
    sqs = (body.get("resourceSpecification") or {}).get("sqs") or {}
    arn = sqs.get("arn") if isinstance(sqs, dict) else None
    if not isinstance(name, str) or not name or len(name) > 256:
        raise invalid("name is required (at most 256 characters).")
    if not isinstance(arn, str) or not ARN.match(arn) or len(arn) > 1000:
        raise invalid("resourceSpecification.sqs.arn must be an SQS queue ARN.")
    notifier = app.notifier
    if any(d["arn"] == arn for d in notifier.destinations.values()):
        raise _conflict("A destination is already created for this resource.")
    destination_id = str(uuid.uuid4())
    notifier.destinations[destination_id] = {"name": name, "arn": arn}
    return 200, {"payload": _destination(destination_id, notifier.destinations[destination_id])}


def get_destination(app, request, elements, destinationId):
    destination = app.notifier.destinations.get(destinationId)
    if destination is None:
        raise _not_found("destination")
    return 200, {"payload": _destination(destinationId, destination)}


def delete_destination(app, request, elements, destinationId):
    notifier = app.notifier
    if destinationId not in notifier.destinations:
        raise _not_found("destination")
    if any(s["destinationId"] == destinationId for s in notifier.subscriptions.values()):
        raise _conflict("The destination has subscriptions: delete them first.")
    del notifier.destinations[destinationId]
    return 200, {}


def _subscription(subscription):
    return {
        "subscriptionId": subscription["subscriptionId"],
        "payloadVersion": subscription["payloadVersion"],
        "destinationId": subscription["destinationId"],
    }


def create_subscription(app, request, elements, notificationType):
    _type(notificationType)
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    destination_id, version = body.get("destinationId"), body.get("payloadVersion")
    if not destination_id or version != "1.0":
        raise invalid("destinationId and payloadVersion 1.0 are required.")
    notifier = app.notifier
    if destination_id not in notifier.destinations:
        raise invalid(f"Destination {destination_id} does not exist.")
    if notificationType in notifier.subscriptions:
        raise _conflict("A subscription already exists for this notification type.")
    subscription = {
        "subscriptionId": str(uuid.uuid4()),
        "payloadVersion": version,
        "destinationId": destination_id,
    }
    notifier.subscriptions[notificationType] = subscription
    return 200, {"payload": _subscription(subscription)}


def get_subscription(app, request, elements, notificationType):
    _type(notificationType)
    subscription = app.notifier.subscriptions.get(notificationType)
    if subscription is None:
        raise _not_found("subscription")
    return 200, {"payload": _subscription(subscription)}


def get_subscription_by_id(app, request, elements, notificationType, subscriptionId):
    subscription = app.notifier.subscriptions.get(_type(notificationType))
    if subscription is None or subscription["subscriptionId"] != subscriptionId:
        raise _not_found("subscription")
    return 200, {"payload": _subscription(subscription)}


def delete_subscription(app, request, elements, notificationType, subscriptionId):
    notifier = app.notifier
    subscription = notifier.subscriptions.get(_type(notificationType))
    if subscription is None or subscription["subscriptionId"] != subscriptionId:
        raise _not_found("subscription")
    del notifier.subscriptions[notificationType]
    return 200, {}


_DEST = "/notifications/v1/destinations"
_SUB = "/notifications/v1/subscriptions/<notificationType>"
ROUTES = [
    Operation(_DEST, "GET", MODEL, "getDestinations", get_destinations),
    Operation(_DEST, "POST", MODEL, "createDestination", create_destination),
    Operation(f"{_DEST}/<destinationId>", "GET", MODEL, "getDestination", get_destination),
    Operation(f"{_DEST}/<destinationId>", "DELETE", MODEL, "deleteDestination", delete_destination),
    Operation(_SUB, "POST", MODEL, "createSubscription", create_subscription),
    Operation(_SUB, "GET", MODEL, "getSubscription", get_subscription),
    Operation(
        f"{_SUB}/<subscriptionId>", "GET", MODEL, "getSubscriptionById", get_subscription_by_id
    ),
    Operation(
        f"{_SUB}/<subscriptionId>", "DELETE", MODEL, "deleteSubscriptionById", delete_subscription
    ),
]
