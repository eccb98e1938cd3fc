"""The seller's state on the sandbox: virtual clock, orders timelines, shipments, feeds, stats.

The virtual clock starts at the scenario's ``start`` and flows with real time (x1, whatever the
``speed``); ``advance(seconds)`` jumps it forward. An order's status at time t is its latest
event <= t, and its ``lastUpdatedTime`` is that event's time. Orders created after the current
virtual time are invisible until the clock reaches them.
"""

import copy
import random
import threading
import time
import types
from collections import Counter
from datetime import datetime, timedelta

from . import data, fba, finances
from .conventions import Conventions
from .scenario import normalize_order
from .timeline import derive_status, view_at
from .values import UTC, format_time, parse_time


class SellerState:
    """``srv.state``. Thread-safe: every public method takes the state lock."""

    FEED_QUEUE_SECONDS = 30.0  # virtual seconds IN_QUEUE (divided by speed)
    FEED_PROCESS_SECONDS = 60.0  # virtual seconds IN_PROGRESS (divided by speed)

    def __init__(self, scenario, speed=1.0, rate_limiter=None, conventions=None):
        self.scenario = scenario
        # the switches survive reset(): they describe Amazon, not the seller's history
        self.conventions = Conventions({**scenario.conventions, **(conventions or {})})
        self.speed = float(speed)
        self.rate_limiter = rate_limiter
        self.lock = threading.RLock()
        self.items_page_size = 3  # getOrderItems / getOrderItemsBuyerInfo page size (v0)
        self._rng = random.Random(0)
        # listener(order_id, when) after each order change (the notifications' publisher)
        self.listeners = []
        self.reset()

    # --- lifecycle --------------------------------------------------------
    def reset(self):
        """Back to the scenario's start: clock, orders, shipments, feeds, stats, buckets."""
        with self.lock:
            start = self.scenario.start or datetime.now(UTC).replace(microsecond=0)
            self._anchor_virtual = start
            self._anchor_real = time.monotonic()
            self._offset = 0.0
            self.marketplaces = self.scenario.marketplace_by_id()
            self._records = {}
            self.raw_orders = {}  # key -> {"time": aware UTC, "body": dict served verbatim}
            for raw in self.scenario.orders:
                record = normalize_order(raw, self.marketplaces, start)
                self._records[record["orderId"]] = record
            self._shipments = []
            self._reset_finances(start)
            self.documents = {}
            self.feeds = {}
            self.invoices = []  # UPLOAD_VAT_INVOICE documents accepted (see invoices.py)
            self.reports = {}
            self.fba = fba.normalize(self.scenario.fba)
            self.listings = {}
            for entry in self.scenario.listings:
                self.listings[entry["sku"]] = {
                    "quantity": int(entry.get("quantity", 0)),
                    "asin": entry.get("asin"),
                    "title": entry.get("title"),
                    "marketplaceIds": entry.get("marketplaceIds"),
                }
            for record in self._records.values():
                self._list_skus(record)
            self._calls = Counter()
            self._responses = Counter()
            self._throttled = 0
            self.rejections = []  # every 400 the request rules gave: {"operation", "message"}
            self._rng = random.Random(0)
            if self.rate_limiter is not None:
                self.rate_limiter.reset()

    # --- clock ------------------------------------------------------------
    def now(self):
        with self.lock:
            elapsed = time.monotonic() - self._anchor_real + self._offset
            return self._anchor_virtual + timedelta(seconds=elapsed)

    def advance(self, seconds):
        with self.lock:
            seconds = float(seconds)
            if seconds < 0:
                raise ValueError("the clock only moves forward")
            self._offset += seconds
            return self.now()

    # --- rate limits ------------------------------------------------------
    def reset_rate_limits(self):
        if self.rate_limiter is not None:
            self.rate_limiter.reset()

    def empty_rate_limits(self):
        """Empty every bucket (benchmarks measuring against calls/rate)."""
        if self.rate_limiter is not None:
            self.rate_limiter.drain()

    # --- stats ------------------------------------------------------------
    def count(self, operation, status):
        with self.lock:
            self._calls[operation] += 1
            self._responses[str(status)] += 1
            if status == 429:
                self._throttled += 1

    def reject(self, operation, message, request=None):
        with self.lock:
            self.rejections.append({"operation": operation, "message": message, "request": request})

    @property
    def stats(self):
        with self.lock:
            return {
                "calls": dict(self._calls),
                "responses": dict(self._responses),
                "throttled": self._throttled,
                "total": sum(self._calls.values()),
                "rejected_requests": len(self.rejections),
                "rejections": list(self.rejections),
            }

    # --- orders -----------------------------------------------------------
    @property
    def orders(self):
        return types.MappingProxyType(self._records)

    def record(self, order_id):
        try:
            return self._records[order_id]
        except KeyError:
            raise KeyError(f"unknown order {order_id!r}") from None

    def view(self, order_id, when=None):
        with self.lock:
            return view_at(self.record(order_id), when or self.now())

    def views(self, when=None):
        with self.lock:
            when = when or self.now()
            result = []
            for record in self._records.values():
                current = view_at(record, when)
                if current is not None:
                    result.append(current)
            return result

    def add_order(self, order):
        """Add a scenario-format order (dict); returns its id. Missing id/time are filled."""
        with self.lock:
            raw = copy.deepcopy(order)
            if not raw.get("orderId"):
                while True:
                    candidate = (
                        f"{self._rng.randint(100, 999)}-"
                        f"{self._rng.randint(0, 9999999):07d}-"
                        f"{self._rng.randint(0, 9999999):07d}"
                    )
                    if candidate not in self._records:
                        break
                raw["orderId"] = candidate
            if raw["orderId"] in self._records:
                raise ValueError(f"order {raw['orderId']} already exists")
            now = self.now().replace(microsecond=0)
            raw.setdefault("createdTime", format_time(now))
            record = normalize_order(raw, self.marketplaces, now)
            self._records[record["orderId"]] = record
            self._list_skus(record)
            if record["createdTime"] <= self.now():
                self._changed(record["orderId"], self.now())
            return record["orderId"]

    def _changed(self, order_id, when):
        for listener in self.listeners:
            listener(order_id, when)

    def _list_skus(self, record):
        """An order's SKUs the seller has no listing for get one, with no stock."""
        for item in record["items"]:
            if item["sku"] and item["sku"] not in self.listings:
                self.listings[item["sku"]] = {
                    "quantity": 0,
                    "asin": item["asin"],
                    "title": item["title"],
                    "marketplaceIds": [record["marketplace"]["id"]],
                }

    def add_raw_order(self, body, when=None):
        """Serve ``body`` verbatim as an order (malformed or unusual input for the client).

        It is returned by searchOrders whenever ``when`` (default: now, its "last update")
        lies in the searched window, whatever the marketplace or status filters, and by
        getOrder under its ``orderId`` when that is a string, else under the returned key.
        Nothing validates it. Returns the key."""
        with self.lock:
            when = parse_time(when) if isinstance(when, str) else when
            when = (when or self.now()).replace(microsecond=0)
            order_id = body.get("orderId") if isinstance(body, dict) else None
            key = (
                order_id
                if isinstance(order_id, str) and order_id
                else (f"raw-{len(self.raw_orders) + 1}")
            )
            while key in self.raw_orders:
                key += "+"
            self.raw_orders[key] = {"time": when, "body": copy.deepcopy(body)}
            return key

    def _mutate(self, record, events):
        """Append events at now; manual changes drop the scenario's future status events."""
        now = self.now()
        record["events"] = [e for e in record["events"] if e[0] <= now]
        for kind, payload in events:
            record["events"].append((now, kind, payload))
        self._changed(record["orderId"], now)
        return now

    def set_status(self, order_id, status):
        if status not in data.STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self.lock:
            self._mutate(self.record(order_id), [("status", status)])

    def cancel(self, order_id, item_ids=None):
        with self.lock:
            record = self.record(order_id)
            current = view_at(record, self.now())
            if current is None:
                raise ValueError(f"order {order_id} does not exist yet")
            if item_ids is None:
                item_ids = [i["orderItemId"] for i in record["items"]]
            events = []
            for item_id in item_ids:
                if item_id not in current.shipped:
                    raise ValueError(f"unknown item {item_id!r}")
                remaining = current.unshipped(item_id)
                if remaining > 0:
                    events.append(("cancel", (item_id, remaining)))
                    current.cancelled[item_id] += remaining
            events.append(("status", derive_status(current)))
            self._mutate(record, events)

    def ship_fba(self, order_id):
        with self.lock:
            record = self.record(order_id)
            if record["fulfilledBy"] != "AMAZON":
                raise ValueError(f"order {order_id} is not fulfilled by Amazon")
            self._mutate(record, [("status", "SHIPPED")])

    def order_status(self, order_id):
        current = self.view(order_id)
        return current.status if current else None

    # --- shipments --------------------------------------------------------
    def record_shipment(self, order_id, payload, lines):
        """Record a confirmShipment package (already validated)."""
        with self.lock:
            record = self.record(order_id)
            current = view_at(record, self.now())
            events = []
            for item_id, qty in lines.items():
                events.append(("ship", (item_id, qty)))
                current.shipped[item_id] += qty
            events.append(("status", derive_status(current)))
            now = self._mutate(record, events)
            detail = payload["packageDetail"]
            record["packages"].append({"time": now, "detail": copy.deepcopy(detail)})
            shipment = copy.deepcopy(payload)
            shipment["orderId"] = order_id
            shipment["received_at"] = format_time(now)
            self._shipments.append(shipment)
            return shipment

    def shipments(self, order_id=None):
        with self.lock:
            return [
                copy.deepcopy(s)
                for s in self._shipments
                if order_id is None or s["orderId"] == order_id
            ]

    # --- feeds ------------------------------------------------------------
    def new_id(self, digits=11):
        with self.lock:
            return str(self._rng.randint(10 ** (digits - 1), 10**digits - 1))

    def feed_status(self, feed, now=None):
        """IN_QUEUE -> IN_PROGRESS -> DONE by virtual time (durations divided by speed)."""
        now = now or self.now()
        if feed["processingStatus"] in ("CANCELLED", "DONE", "FATAL"):
            return feed["processingStatus"]
        queued = timedelta(seconds=self.FEED_QUEUE_SECONDS / self.speed)
        processing = timedelta(seconds=self.FEED_PROCESS_SECONDS / self.speed)
        if now >= feed["created"] + queued + processing:
            return "DONE"
        if now >= feed["created"] + queued:
            return "IN_PROGRESS"
        return "IN_QUEUE"

    # --- FBA inventory (see fba.py) -------------------------------------------
    def add_return(self, raw):
        """A customer return (scenario format; ``time`` defaults to now)."""
        with self.lock:
            entry = fba.normalize_return(raw, self.now())
            self.fba["returns"].append(entry)
            return entry

    def add_inventory_event(self, raw):
        """An FBA event Amazon does not explain: damage, found or lost (``time``: now)."""
        with self.lock:
            entry = fba.normalize_event(raw, self.now())
            self.fba["events"].append(entry)
            return entry

    def fba_inventory(self, when=None):
        with self.lock:
            return fba.inventory(self, when)

    # --- finances (see finances.py) ------------------------------------------
    def _reset_finances(self, start):
        settings = self.scenario.finances
        self.settlement_days = int(settings.get("settlementDays", 14))
        anchor = settings.get("settlementAnchor")
        self.settlement_anchor = parse_time(anchor) if anchor else datetime(2026, 1, 1, tzinfo=UTC)
        self.refunds = {}  # order id -> [refund] (see finances.normalize_refund)
        for record in self._records.values():
            for refund in record["raw"].get("refunds") or []:
                self.refunds.setdefault(record["orderId"], []).append(
                    finances.normalize_refund(record, refund, parse_time(refund["time"]))
                )
        self.ads = [
            finances.normalize_ad(ad, self.marketplaces, start)
            for ad in settings.get("advertising") or []
        ]

    def refund(self, order_id, item_ids=None, **options):
        """Refund items (default: all) of a shipped order now; ``options`` as in
        ``finances.normalize_refund`` (``quantities``, ``parts``, ``only``)."""
        with self.lock:
            record = self.record(order_id)
            if finances.shipped_time(record, self.now()) is None:
                raise ValueError(f"order {order_id} is not shipped")
            refund = finances.normalize_refund(record, dict(options, itemIds=item_ids), self.now())
            self.refunds.setdefault(order_id, []).append(refund)
            return refund

    def order_finance_rows(self, order_id, now=None):
        """[(time, list name, event)] of one order as Amazon reports them at ``now``."""
        with self.lock:
            record = self.record(order_id)
            rows = finances.order_rows(self, record, now or self.now())
            return sorted(((r[0], r[1], r[2]) for r in rows), key=lambda r: (r[0], r[1]))

    def add_ads_charge(self, marketplace, amount, tax="0", when=None):
        """A Sponsored Products charge (base ``amount`` + ``tax``), posted now by default."""
        with self.lock:
            raw = {"marketplace": marketplace, "amount": amount, "tax": tax}
            if when:
                raw["time"] = when
            ad = finances.normalize_ad(raw, self.marketplaces, self.now())
            self.ads.append(ad)
            return ad

    def finance_groups(self, now=None):
        """{group id: group dict} as Amazon would report them at ``now`` (see finances.py):
        ``total`` (the payout of a closed group) and ``fees`` are Decimal."""
        with self.lock:
            return finances.build_groups(self, now or self.now())

    # --- summary ----------------------------------------------------------
    def summary(self):
        with self.lock:
            now = self.now()
            by_status = Counter()
            by_channel = Counter()
            by_marketplace = Counter()
            for current in self.views(now):
                by_status[current.status] += 1
                by_channel[current.record["fulfilledBy"]] += 1
                by_marketplace[current.record["marketplace"]["id"]] += 1
            return {
                "now": format_time(now),
                "orders": sum(by_status.values()),
                "ordersTotal": len(self._records),
                "byStatus": dict(by_status),
                "byChannel": dict(by_channel),
                "byMarketplace": dict(by_marketplace),
                "shipments": len(self._shipments),
                "feeds": len(self.feeds),
                "stats": self.stats,
            }
