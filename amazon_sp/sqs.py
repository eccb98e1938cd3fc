"""Amazon's ``ORDER_CHANGE`` notifications, read from the seller's SQS queue.

:func:`parse_notification` checks one message body against Amazon's schema
(``OrderChangeNotification.json``: what it requires, the types and the enumerations) and
returns an :class:`OrderChangeEvent`; :class:`SqsConsumer` long-polls the queue with boto3
and deletes what its caller handled::

    consumer = SqsConsumer(queue_url, region, key_id, secret, endpoint_url=None)
    for batch in consumer.poll(budget=50):  # lists of Received, until the budget is spent
        ...  # apply batch[i].event (None: malformed/foreign), commit, THEN
        consumer.delete(batch)

boto3 is imported when a consumer is built (:class:`SqsUnavailableError` without it): the
rest of the connector works without it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from .redact import register_secret

NOTIFICATION_TYPE = "ORDER_CHANGE"
MAX_WAIT_SECONDS = 20  # SQS's longest long poll
MAX_BATCH = 10  # SQS's most messages per receive/delete call

# the schema's enumerations
NOTIFICATION_LEVELS = ("OrderItemLevel", "OrderLevel")
CHANGE_TYPES = ("BuyerRequestedChange", "DeliveryTipChange", "OrderStatusChange")
ORDER_STATUSES = (
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "Canceled",
    "Unfulfillable",
    "InvoiceUnconfirmed",
    "PendingAvailability",
)
FULFILLMENT_TYPES = ("AFN", "MFN")
ORDER_TYPES = (
    "StandardOrder",
    "LongLeadTimeOrder",
    "Preorder",
    "BackOrder",
    "SourcingOnDemandOrder",
)
ITEM_STATUSES = ("Unshipped", "Shipped")

_S, _N, _I, _B, _O, _A = "string", "null", "integer", "boolean", "object", "array"
_PY = {_S: str, _O: dict, _A: list, _B: bool}
# (path, required keys) / (path, key, types, enum) of the schema, walked by _check
_REQUIRED = {
    "": ("NotificationVersion", "NotificationType", "PayloadVersion", "EventTime", "Payload",
         "NotificationMetadata"),
    "Payload": ("OrderChangeNotification",),
    "Payload.OrderChangeNotification": ("NotificationLevel", "SellerId", "AmazonOrderId",
                                        "OrderChangeType", "OrderChangeTrigger", "Summary"),
    "Payload.OrderChangeNotification.OrderChangeTrigger": ("TimeOfOrderChange", "ChangeReason"),
    "Payload.OrderChangeNotification.Summary": ("MarketplaceId", "OrderStatus", "PurchaseDate",
                                                "DestinationPostalCode", "FulfillmentType",
                                                "OrderType", "OrderItems"),
    "Payload.OrderChangeNotification.Summary.OrderItems[]": ("OrderItemId", "SellerSKU",
                                                             "SupplySourceId", "Quantity"),
    "NotificationMetadata": ("ApplicationId", "SubscriptionId", "PublishTime", "NotificationId"),
}  # fmt: skip
_TYPES = {
    "": {k: (_S,) for k in ("NotificationVersion", "NotificationType", "PayloadVersion",
                            "EventTime")} | {"Payload": (_O,), "NotificationMetadata": (_O,)},
    "Payload": {"OrderChangeNotification": (_O,)},
    "Payload.OrderChangeNotification": {
        "NotificationLevel": (_S, NOTIFICATION_LEVELS), "SellerId": (_S,),
        "AmazonOrderId": (_S,), "OrderChangeType": (_S, CHANGE_TYPES),
        "OrderChangeTrigger": (_O,), "Summary": (_O,),
    },
    "Payload.OrderChangeNotification.OrderChangeTrigger": {
        "TimeOfOrderChange": ((_S, _N),), "ChangeReason": (_S,),
    },
    "Payload.OrderChangeNotification.Summary": {
        "MarketplaceId": (_S,), "OrderStatus": (_S, ORDER_STATUSES), "PurchaseDate": (_S,),
        "DestinationPostalCode": ((_S, _N),), "FulfillmentType": (_S, FULFILLMENT_TYPES),
        "OrderType": (_S, ORDER_TYPES), "NumberOfItemsShipped": (_I,),
        "NumberOfItemsUnshipped": (_I,), "EarliestDeliveryDate": (_S,),
        "LatestDeliveryDate": (_S,), "EarliestShipDate": (_S,), "LatestShipDate": (_S,),
        "CancelNotifyDate": (_S,), "OrderPrograms": (_A,), "ShippingPrograms": (_A,),
        "EasyShipShipmentStatus": ((_S, _N),), "ElectronicInvoiceStatus": ((_S, _N),),
        "OrderItems": (_A,),
    },
    "Payload.OrderChangeNotification.Summary.OrderItems[]": {
        "OrderItemId": (_S,), "SellerSKU": (_S,), "SupplySourceId": ((_S, _N),),
        "OrderItemStatus": (_S, ITEM_STATUSES), "Quantity": (_I,), "QuantityShipped": (_I,),
        "IsBuyerRequestedCancel": (_B,), "ItemEarliestDeliveryDate": (_S,),
        "ItemLatestDeliveryDate": (_S,),
    },
    "NotificationMetadata": {k: (_S,) for k in ("ApplicationId", "SubscriptionId",
                                                 "PublishTime", "NotificationId")},
}  # fmt: skip


class NotificationError(ValueError):
    """A message that is no valid ORDER_CHANGE notification (the reason, no content)."""


class SqsError(Exception):
    """The queue cannot be read or written (credentials, network, unknown queue)."""


class SqsUnavailableError(SqsError):
    """boto3 is not installed."""


@dataclass(frozen=True)
class OrderChangeEvent:
    notification_id: str
    seller_id: str
    order_id: str
    marketplace_id: str
    order_status: str  # Amazon's spelling in notifications (v0's): "Unshipped"...
    change_type: str
    event_time: str
    publish_time: str
    subscription_id: str


@dataclass
class Received:
    """One message of the queue: ``event`` (None when ``problem`` says why it is not
    usable), ``duplicate`` (its notification id was already received by this consumer)."""

    message_id: str
    receipt_handle: str
    event: OrderChangeEvent | None = None
    problem: str | None = None
    duplicate: bool = False


def _is(value, kind):
    if kind == _N:
        return value is None
    if kind == _I:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _PY[kind])


def _check(node, path):
    for key in _REQUIRED.get(path, ()):
        if key not in node:
            raise NotificationError(f"{path or 'notification'}: missing required {key}")
    for key, rule in _TYPES.get(path, {}).items():
        if key not in node:
            continue
        kinds = rule[0] if isinstance(rule[0], tuple) else (rule[0],)
        value = node[key]
        where = f"{path}.{key}" if path else key
        if not any(_is(value, kind) for kind in kinds):
            raise NotificationError(f"{where}: expected {'/'.join(kinds)}")
        if len(rule) > 1 and value not in rule[1]:
            raise NotificationError(f"{where}: {str(value)[:40]!r} is not one of Amazon's values")
        if isinstance(value, dict):
            _check(value, where)
        elif isinstance(value, list) and f"{where}[]" in _REQUIRED:
            for item in value:
                if not isinstance(item, dict):
                    raise NotificationError(f"{where}[]: expected object")
                _check(item, f"{where}[]")


def parse_notification(body):
    """One SQS message body (str/bytes) -> :class:`OrderChangeEvent`.

    :raise NotificationError: not JSON, not an ORDER_CHANGE notification, or not what
        Amazon's schema describes"""
    try:
        document = json.loads(body)
    except (TypeError, ValueError):
        raise NotificationError("not JSON") from None
    if not isinstance(document, dict):
        raise NotificationError("not a JSON object")
    kind = document.get("NotificationType")
    if kind != NOTIFICATION_TYPE:
        raise NotificationError(f"not an {NOTIFICATION_TYPE} notification ({str(kind)[:40]!r})")
    _check(document, "")
    change = document["Payload"]["OrderChangeNotification"]
    meta = document["NotificationMetadata"]
    if not change["AmazonOrderId"].strip() or not meta["NotificationId"].strip():
        raise NotificationError("empty AmazonOrderId or NotificationId")
    return OrderChangeEvent(
        notification_id=meta["NotificationId"],
        seller_id=change["SellerId"],
        order_id=change["AmazonOrderId"].strip(),
        marketplace_id=change["Summary"]["MarketplaceId"],
        order_status=change["Summary"]["OrderStatus"],
        change_type=change["OrderChangeType"],
        event_time=document["EventTime"],
        publish_time=meta["PublishTime"],
        subscription_id=meta["SubscriptionId"],
    )


def queue_arn(queue_url, region=None):
    """The ARN of the queue at ``queue_url`` (``https://sqs.<region>.amazonaws.com/<account
    id>/<name>``, or a test double's ``http://host:port/<account id>/<name>``)."""
    parts = urlsplit(queue_url or "")
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) != 2 or not segments[0].isdigit():
        raise ValueError("the queue URL must end with /<AWS account id>/<queue name>")
    host = parts.hostname or ""
    if region is None and host.startswith("sqs.") and host.endswith(".amazonaws.com"):
        region = host.split(".")[1]
    if not region:
        raise ValueError("the queue's region is unknown")
    return f"arn:aws:sqs:{region}:{segments[0]}:{segments[1]}"


class SqsConsumer:
    """Reads one SQS queue. One thread at a time; ``seen`` dedupes notification ids
    across the polls of this consumer."""

    def __init__(
        self,
        queue_url,
        region,
        access_key_id,
        secret_access_key,
        *,
        endpoint_url=None,
        visibility_timeout=None,
        clock=time.monotonic,
    ):
        try:
            import boto3  # noqa: PLC0415 - optional dependency, see the module docstring
            from botocore.config import Config  # noqa: PLC0415
        except ImportError:
            raise SqsUnavailableError(
                "boto3 is not installed: install it (pip install boto3) to read notifications"
            ) from None
        register_secret(secret_access_key)
        self.queue_url = queue_url
        self.visibility_timeout = visibility_timeout
        self._clock = clock
        self.seen = set()
        self.stats = {"received": 0, "deleted": 0, "malformed": 0, "duplicates": 0}
        self._sqs = boto3.session.Session().client(
            "sqs",
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            endpoint_url=endpoint_url or None,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=MAX_WAIT_SECONDS + 10,
            ),
        )

    def _api(self, name, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            return getattr(self._sqs, name)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise SqsError(f"SQS {name}: {error.get('Code')}: {error.get('Message')}") from None
        except BotoCoreError as exc:
            raise SqsError(f"SQS {name}: {type(exc).__name__}: {exc}") from None

    def receive(self, wait_seconds):
        """One long poll (at most ``MAX_WAIT_SECONDS``): a list of :class:`Received`."""
        kwargs = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": MAX_BATCH,
            "WaitTimeSeconds": max(0, min(MAX_WAIT_SECONDS, int(wait_seconds))),
        }
        if self.visibility_timeout:
            kwargs["VisibilityTimeout"] = int(self.visibility_timeout)
        messages = self._api("receive_message", **kwargs).get("Messages") or []
        batch = []
        for message in messages:
            received = Received(message.get("MessageId", ""), message["ReceiptHandle"])
            try:
                received.event = parse_notification(message.get("Body"))
            except NotificationError as exc:
                received.problem = str(exc)
                self.stats["malformed"] += 1
            else:
                notification_id = received.event.notification_id
                received.duplicate = notification_id in self.seen
                self.stats["duplicates"] += received.duplicate
                self.seen.add(notification_id)
            batch.append(received)
        self.stats["received"] += len(batch)
        return batch

    def poll(self, budget, idle_polls=None, wait_seconds=MAX_WAIT_SECONDS):
        """Yield the non-empty batches received until ``budget`` seconds are spent (a poll
        never waits past it), or after ``idle_polls`` empty polls in a row when given."""
        deadline = self._clock() + budget
        idle = 0
        while True:
            left = deadline - self._clock()
            if left < 1:
                return
            batch = self.receive(min(wait_seconds, left))
            if batch:
                idle = 0
                yield batch
            else:
                idle += 1
                if idle_polls is not None and idle >= idle_polls:
                    return

    def delete(self, batch):
        """Delete the messages of ``batch`` (Received objects); returns how many went."""
        handles = [r.receipt_handle for r in batch]
        deleted = 0
        for start in range(0, len(handles), MAX_BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle}
                for i, handle in enumerate(handles[start : start + MAX_BATCH])
            ]
            answer = self._api("delete_message_batch", QueueUrl=self.queue_url, Entries=entries)
            deleted += len(answer.get("Successful") or [])
        self.stats["deleted"] += deleted
        return deleted
