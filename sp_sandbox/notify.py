"""Amazon's Notifications on the sandbox: destinations, subscriptions, and the publisher
that sends an ``ORDER_CHANGE`` message to the subscribed SQS queue on every order change.

Messages have Amazon's shape (``OrderChangeNotification.json``) and go out from a thread
of their own (an order change never waits on SQS), with boto3 to the SQS endpoint given
by ``configure_sqs`` (a test double such as moto's server). Faults (``set_faults``) drop,
duplicate, hold back and reverse (reorder) and delay (SQS ``DelaySeconds``) messages.
"""

import json
import logging
import queue
import random
import threading
import uuid

from . import data
from .values import format_time

_logger = logging.getLogger(__name__)
ORDER_CHANGE = "ORDER_CHANGE"
APPLICATION_ID = "amzn1.sellerapps.app.sandbox-0000-0000"
FAULT_KEYS = ("drop", "duplicate", "drop_next", "duplicate_next", "reorder", "delay", "seed")


def _stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Notifier:
    """``srv.notifier``: the Notifications API's objects and the ORDER_CHANGE publisher."""

    def __init__(self, state):
        self.state = state
        self.destinations = {}  # destinationId -> {"name", "arn"}
        self.subscriptions = {}  # notificationType -> {"subscriptionId", "destinationId", ...}
        self.sqs = None  # {"endpoint_url", "region", "access_key_id", "secret_access_key"}
        self._outbox = queue.Queue()
        self._held = []  # messages held back for reordering
        self._cond = threading.Condition()
        self._urls = {}
        self._client = None
        self.counts = {"changes": 0, "sent": 0, "dropped": 0, "duplicated": 0, "errors": 0}
        self.set_faults()
        self._thread = None
        self._stop = threading.Event()
        state.listeners.append(self.on_change)

    # --- configuration ----------------------------------------------------------------
    def configure_sqs(self, endpoint_url, region="us-east-1", access_key_id="testing",
                      secret_access_key="testing"):  # fmt: skip
        with self._cond:
            self.sqs = {
                "endpoint_url": endpoint_url,
                "region": region,
                "access_key_id": access_key_id,
                "secret_access_key": secret_access_key,
            }
            self._client = None
            self._urls = {}
        return {k: v for k, v in self.sqs.items() if k != "secret_access_key"}

    def set_faults(self, **faults):
        """drop/duplicate: probability per message; drop_next/duplicate_next: the next N
        messages; reorder: hold N messages, then send them newest first; delay: seconds
        before SQS shows each message; seed: the random generator's."""
        unknown = set(faults) - set(FAULT_KEYS)
        if unknown:
            raise ValueError(f"unknown notification fault(s): {', '.join(sorted(unknown))}")
        with self._cond:
            self.faults = {
                "drop": float(faults.get("drop", 0)),
                "duplicate": float(faults.get("duplicate", 0)),
                "drop_next": int(faults.get("drop_next", 0)),
                "duplicate_next": int(faults.get("duplicate_next", 0)),
                "reorder": int(faults.get("reorder", 0)),
                "delay": int(faults.get("delay", 0)),
            }
            self._rng = random.Random(faults.get("seed", 0))
        self.flush()
        return dict(self.faults)

    def reset(self):
        with self._cond:
            self.destinations.clear()
            self.subscriptions.clear()
            self._held = []
        self.set_faults()

    # --- lifecycle -------------------------------------------------------------------
    def start(self):
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="sp-sandbox-notify", daemon=True)
            self._thread.start()

    def stop(self):
        if self._thread is not None:
            self._stop.set()
            self._outbox.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    # --- what changes publish ------------------------------------------------------------
    def on_change(self, order_id, when):
        """Called by the state (under its lock) after ``order_id`` changed at ``when``."""
        subscription = self.subscriptions.get(ORDER_CHANGE)
        if subscription is None:
            return
        view = self.state.view(order_id, when)
        if view is None:
            return
        self._outbox.put(self.message(view, subscription, when))
        with self._cond:
            self.counts["changes"] += 1

    def message(self, view, subscription, when):
        """The ORDER_CHANGE notification of ``view`` (Amazon's message shape)."""
        record = view.record
        status = data.V0_STATUS[view.status]
        items = []
        for item in record["items"]:
            shipped = view.shipped[item["orderItemId"]]
            entry = {
                "OrderItemId": item["orderItemId"],
                "SellerSKU": item["sku"] or "",
                "SupplySourceId": None,
                "Quantity": int(item["quantity"]),
                "QuantityShipped": int(shipped),
            }
            if status in ("Unshipped", "PartiallyShipped", "Shipped"):
                entry["OrderItemStatus"] = "Shipped" if shipped >= item["quantity"] else "Unshipped"
            items.append(entry)
        shipped_total = sum(view.shipped.values())
        unshipped_total = sum(view.unshipped(i["orderItemId"]) for i in record["items"])
        cancelled = view.status == "CANCELLED"
        postal = (record.get("recipient") or {}).get("postalCode")
        moment = _stamp(when)
        return {
            "NotificationVersion": "1.0",
            "NotificationType": ORDER_CHANGE,
            "PayloadVersion": "1.0",
            "EventTime": moment,
            "Payload": {
                "OrderChangeNotification": {
                    "NotificationLevel": "OrderLevel",
                    "SellerId": self.state.scenario.seller["sellerId"],
                    "AmazonOrderId": record["orderId"],
                    "OrderChangeType": "BuyerRequestedChange" if cancelled else "OrderStatusChange",
                    "OrderChangeTrigger": {
                        "TimeOfOrderChange": moment,
                        "ChangeReason": "Buyer Requested Cancel"
                        if cancelled
                        else "Order Status Change",
                    },
                    "Summary": {
                        "MarketplaceId": record["marketplace"]["id"],
                        "OrderStatus": status,
                        "PurchaseDate": format_time(record["createdTime"]),
                        "DestinationPostalCode": postal,
                        "FulfillmentType": "AFN" if record["fulfilledBy"] == "AMAZON" else "MFN",
                        "OrderType": "StandardOrder",
                        "NumberOfItemsShipped": int(shipped_total),
                        "NumberOfItemsUnshipped": int(unshipped_total),
                        "OrderItems": items,
                    },
                }
            },
            "NotificationMetadata": {
                "ApplicationId": APPLICATION_ID,
                "SubscriptionId": subscription["subscriptionId"],
                "PublishTime": moment,
                "NotificationId": str(uuid.uuid4()),
            },
        }

    # --- the publisher thread ---------------------------------------------------------------
    def _run(self):
        while not self._stop.is_set():
            message = self._outbox.get()
            if message is None:
                continue
            try:
                self._publish(message)
            except Exception:  # noqa: BLE001 - the publisher never dies
                _logger.exception("sp_sandbox: cannot publish a notification")
                with self._cond:
                    self.counts["errors"] += 1
            finally:
                self._outbox.task_done()
                with self._cond:
                    self._cond.notify_all()

    def _publish(self, message):
        with self._cond:
            faults = self.faults
            if faults["drop_next"] > 0 or self._rng.random() < faults["drop"]:
                faults["drop_next"] = max(0, faults["drop_next"] - 1)
                self.counts["dropped"] += 1
                return
            copies = 1
            if faults["duplicate_next"] > 0 or self._rng.random() < faults["duplicate"]:
                faults["duplicate_next"] = max(0, faults["duplicate_next"] - 1)
                copies = 2
            batch = [message] * copies
            if faults["reorder"] > 1:
                self._held += batch
                if len(self._held) < faults["reorder"]:
                    return
                batch, self._held = list(reversed(self._held)), []
        self._send(batch)

    def flush(self):
        """Send the messages held back for reordering (newest first)."""
        with self._cond:
            batch, self._held = list(reversed(self._held)), []
        if batch:
            self._send(batch)

    def _send(self, batch):
        subscription = self.subscriptions.get(ORDER_CHANGE)
        destination = self.destinations.get((subscription or {}).get("destinationId"))
        if destination is None or self.sqs is None:
            with self._cond:
                self.counts["dropped"] += len(batch)
            return
        client = self._sqs_client()
        url = self._queue_url(client, destination["arn"])
        seen = set()
        for message in batch:
            kwargs = {"QueueUrl": url, "MessageBody": json.dumps(message)}
            if self.faults["delay"]:
                kwargs["DelaySeconds"] = max(0, min(900, self.faults["delay"]))
            client.send_message(**kwargs)
            notification_id = message["NotificationMetadata"]["NotificationId"]
            with self._cond:
                self.counts["sent"] += 1
                if notification_id in seen:
                    self.counts["duplicated"] += 1
            seen.add(notification_id)

    def _sqs_client(self):
        with self._cond:
            if self._client is None:
                import boto3  # noqa: PLC0415 - only a sandbox that publishes needs it

                cfg = self.sqs
                self._client = boto3.session.Session().client(
                    "sqs",
                    region_name=cfg["region"],
                    endpoint_url=cfg["endpoint_url"],
                    aws_access_key_id=cfg["access_key_id"],
                    aws_secret_access_key=cfg["secret_access_key"],
                )
            return self._client

    def _queue_url(self, client, arn):
        if arn not in self._urls:
            _arn, _aws, _sqs, _region, account, name = arn.split(":", 5)
            answer = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._urls[arn] = answer["QueueUrl"]
        return self._urls[arn]

    def wait_idle(self, timeout=30):
        """Block until every change so far went out (sent, dropped or held); True if so."""
        with self._cond:
            return self._cond.wait_for(lambda: self._outbox.unfinished_tasks == 0, timeout=timeout)

    def status(self):
        with self._cond:
            return {
                "destinations": len(self.destinations),
                "subscriptions": sorted(self.subscriptions),
                "sqs": self.sqs and self.sqs["endpoint_url"],
                "faults": dict(self.faults),
                "held": len(self._held),
                "pending": self._outbox.unfinished_tasks,
                **self.counts,
            }
