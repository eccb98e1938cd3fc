"""The Notifications API: where Amazon sends ``ORDER_CHANGE`` notifications (an SQS queue).

``client.notifications`` (:class:`NotificationsApi`)::

    destination, subscription = client.notifications.ensure_order_change(queue_arn, name)
    client.notifications.remove_order_change(queue_arn)

Destinations are the application's, not the seller's: their operations (and
``deleteSubscriptionById``) take a grantless token (LWA ``client_credentials`` grant, scope
``sellingpartnerapi::notifications``); subscriptions are the seller's (its refresh token).
Setting up and removing are idempotent: run them twice, get the same state.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import errors

ORDER_CHANGE = "ORDER_CHANGE"
PAYLOAD_VERSION = "1.0"
SCOPE = "sellingpartnerapi::notifications"


@dataclass(frozen=True)
class Destination:
    destination_id: str
    name: str
    arn: str | None  # the SQS queue's ARN (None: another kind of destination)


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    destination_id: str
    payload_version: str


def _payload(response, operation):
    payload = response.body.get("payload")
    if payload is None:
        raise errors.SpApiResponseError(
            "missing required field 'payload'", operation=operation, request_id=response.request_id
        )
    return payload


def _destination(raw, operation):
    if not isinstance(raw, dict) or not raw.get("destinationId"):
        raise errors.SpApiResponseError("a destination without destinationId", operation=operation)
    sqs = ((raw.get("resource") or {}).get("sqs") or {}) if isinstance(raw, dict) else {}
    return Destination(str(raw["destinationId"]), str(raw.get("name") or ""), sqs.get("arn"))


def _subscription(raw, operation):
    if not isinstance(raw, dict) or not raw.get("subscriptionId") or not raw.get("destinationId"):
        raise errors.SpApiResponseError(
            "a subscription without subscriptionId/destinationId", operation=operation
        )
    return Subscription(
        str(raw["subscriptionId"]),
        str(raw["destinationId"]),
        str(raw.get("payloadVersion") or PAYLOAD_VERSION),
    )


class NotificationsApi:
    """Built by ``SpApiClient.notifications``; used from the client's thread only."""

    def __init__(self, client, api):
        self._client = client
        self._api = api

    def _call(self, operation, fn, *args, **kwargs):
        return self._client._call(self._api, operation, fn, *args, **kwargs)

    # --- destinations (grantless) ----------------------------------------------------------
    def get_destinations(self):
        response = self._call("getDestinations", self._api.get_destinations)
        payload = _payload(response, "getDestinations")
        if not isinstance(payload, list):
            raise errors.SpApiResponseError("'payload' is not a list", operation="getDestinations")
        return [_destination(raw, "getDestinations") for raw in payload]

    def create_destination(self, name, arn):
        response = self._call(
            "createDestination",
            self._api.create_destination,
            name=name,
            arn=arn,
            idempotent=False,
        )
        return _destination(_payload(response, "createDestination"), "createDestination")

    def delete_destination(self, destination_id):
        self._call(
            "deleteDestination",
            self._api.delete_destination,
            destination_id,
            expect_body=False,
        )

    # --- subscriptions ----------------------------------------------------------------------
    def get_subscription(self, notification_type=ORDER_CHANGE):
        """The seller's subscription to ``notification_type``, or None."""
        try:
            response = self._call("getSubscription", self._api.get_subscription, notification_type)
        except errors.SpApiNotFoundError:
            return None
        return _subscription(_payload(response, "getSubscription"), "getSubscription")

    def create_subscription(self, destination_id, notification_type=ORDER_CHANGE):
        response = self._call(
            "createSubscription",
            self._api.create_subscription,
            notification_type,
            destination_id=destination_id,
            payload_version=PAYLOAD_VERSION,
            idempotent=False,
        )
        return _subscription(_payload(response, "createSubscription"), "createSubscription")

    def delete_subscription(self, subscription_id, notification_type=ORDER_CHANGE):
        """``deleteSubscriptionById`` (grantless, unlike the library's own call)."""
        path = f"/notifications/v1/subscriptions/{notification_type}/{subscription_id}"
        self._call(
            "deleteSubscriptionById",
            self._api._request_grantless_operation,
            path,
            params={"method": "DELETE"},
            expect_body=False,
        )

    # --- the whole set-up -------------------------------------------------------------------
    def ensure_order_change(self, arn, name):
        """The destination of the queue ``arn`` and the seller's ``ORDER_CHANGE``
        subscription to it, created when missing: (Destination, Subscription, created)
        where ``created`` counts what this call created (0 when all was there)."""
        created = 0
        destination = self._find_destination(arn)
        if destination is None:
            try:
                destination = self.create_destination(name, arn)
                created += 1
            except errors.SpApiError as exc:
                # a 409 (exists) or an answer lost on the way: it may exist now
                destination = self._find_destination(arn)
                if destination is None:
                    raise exc from None
        subscription = self.get_subscription()
        if subscription is not None and subscription.destination_id != destination.destination_id:
            self.delete_subscription(subscription.subscription_id)
            subscription = None
        if subscription is None:
            try:
                subscription = self.create_subscription(destination.destination_id)
                created += 1
            except errors.SpApiError as exc:
                subscription = self.get_subscription()
                if subscription is None or (
                    subscription.destination_id != destination.destination_id
                ):
                    raise exc from None
        return destination, subscription, created

    def remove_order_change(self, arn=None):
        """Delete the seller's ``ORDER_CHANGE`` subscription and the destination of the
        queue ``arn`` (every destination when ``arn`` is None); returns how many objects
        were deleted (0: nothing was there)."""
        removed = 0
        subscription = self.get_subscription()
        if subscription is not None:
            try:
                self.delete_subscription(subscription.subscription_id)
                removed += 1
            except errors.SpApiNotFoundError:
                pass
        for destination in self.get_destinations():
            if arn is not None and destination.arn != arn:
                continue
            try:
                self.delete_destination(destination.destination_id)
                removed += 1
            except errors.SpApiNotFoundError:
                pass
        return removed

    def _find_destination(self, arn):
        for destination in self.get_destinations():
            if destination.arn == arn:
                return destination
        return None
