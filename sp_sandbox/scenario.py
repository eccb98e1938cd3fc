"""Scenarios: the seller, its marketplaces and its orders (JSON format + seeded generator).

The JSON format is documented in ``README.md``. ``Scenario`` holds plain JSON-compatible data;
``normalize_order`` turns one scenario order into the internal record the state works on
(Decimal money, aware UTC datetimes, computed taxes and proceeds).
"""

import copy
import json
import random
from datetime import datetime
from decimal import Decimal

from . import data, fba
from .generator import generate
from .values import UTC, format_time, money, parse_time, tax_of


class Scenario:
    """A seller with marketplaces and orders. Plain JSON data (see README.md)."""

    def __init__(
        self,
        seller=None,
        marketplaces=None,
        orders=None,
        start=None,
        listings=None,
        finances=None,
        conventions=None,
        fba=None,
    ):
        self.seller = dict(seller or {})
        self.seller.setdefault("sellerId", "A2SANDBOX0SELLER")
        self.seller.setdefault("storeName", "Sandbox Store")
        self.marketplaces = [_marketplace_entry(m) for m in (marketplaces or ["US"])]
        self.orders = list(orders or [])
        self.listings = list(listings or [])
        self.start = parse_time(start) if start else None
        # {"settlementDays": 14, "settlementAnchor": ISO, "advertising": [{"marketplace",
        #  "time", "amount", "tax"}]} (see finances.py)
        self.finances = copy.deepcopy(finances or {})
        # initial convention switches (conventions.py), e.g. {"proceeds": "itemized"}
        self.conventions = dict(conventions or {})
        # the FBA inventory, its customer returns and events (fba.py)
        self.fba = copy.deepcopy(fba or {})

    # --- construction -----------------------------------------------------
    @classmethod
    def from_dict(cls, payload):
        payload = copy.deepcopy(payload)
        return cls(
            seller=payload.get("seller"),
            marketplaces=payload.get("marketplaces"),
            orders=payload.get("orders"),
            start=payload.get("start"),
            listings=payload.get("listings"),
            finances=payload.get("finances"),
            conventions=payload.get("conventions"),
            fba=payload.get("fba"),
        )

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))

    def to_dict(self):
        result = {
            "seller": copy.deepcopy(self.seller),
            "marketplaces": copy.deepcopy(self.marketplaces),
            "orders": copy.deepcopy(self.orders),
            "listings": copy.deepcopy(self.listings),
        }
        if self.finances:
            result["finances"] = copy.deepcopy(self.finances)
        if self.start:
            result["start"] = format_time(self.start)
        if self.conventions:
            result["conventions"] = dict(self.conventions)
        if self.fba:
            result["fba"] = copy.deepcopy(self.fba)
        return result

    def save(self, path):
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, ensure_ascii=False, indent=1)

    @classmethod
    def generate(
        cls,
        orders=100,
        seed=1,
        marketplaces=("US", "CA", "UK", "DE", "FR", "ES", "IT", "JP"),
        start=None,
        days=7,
        fba_ratio=0.4,
        b2b_ratio=0.15,
        gift_ratio=0.08,
        promotion_ratio=0.15,
        cancel_ratio=0.05,
        future_ratio=0.05,
        non_amazon=False,
        extra_proceeds=False,
    ):
        """Realistic seeded orders; deterministic for (orders, seed, start, options).

        ``non_amazon``: about one order in ten is a non-Amazon sale (``channel: NON_AMAZON``);
        ``extra_proceeds``: about one FBM order in six gets a COD fee, an OTHER charge and/or
        a delivery tip. Both leave every other order exactly as without them.

        ``start`` (default: the current UTC hour) is the virtual time at which a server built
        on the scenario starts; orders are created over the ``days`` before it, and some events
        (new orders, FBA shipments, cancellations) lie after it.
        """
        if start is None:
            start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = parse_time(start)
        payload = generate(
            count=orders,
            seed=seed,
            marketplaces=marketplaces,
            start=start,
            days=days,
            fba_ratio=fba_ratio,
            b2b_ratio=b2b_ratio,
            gift_ratio=gift_ratio,
            promotion_ratio=promotion_ratio,
            cancel_ratio=cancel_ratio,
            future_ratio=future_ratio,
            rng=random.Random(seed),
        )
        payload["start"] = start
        # own random stream: the orders are the same with or without it
        payload["fba"] = fba.generate(payload["orders"], start, random.Random(seed + 27))
        _unusual(payload["orders"], random.Random(seed + 15), non_amazon, extra_proceeds)
        return cls.from_dict(payload)

    # --- helpers ----------------------------------------------------------
    def marketplace_by_id(self):
        return {m["id"]: m for m in self.marketplaces}


def _unusual(orders, rng, non_amazon, extra_proceeds):
    """Mark some generated orders non-Amazon / give them extra proceeds (own random stream, so
    the usual orders do not change)."""
    for order in orders:
        draw, kinds = rng.random(), rng.random()
        if non_amazon and draw < 0.1:
            order["channel"] = "NON_AMAZON"
        elif extra_proceeds and 0.1 <= draw < 0.27 and order.get("fulfilledBy") == "MERCHANT":
            order["codFee"] = "2.50" if kinds < 0.6 else None
            order["otherCharge"] = "1.00" if 0.3 <= kinds < 0.8 else None
            order["deliveryTip"] = "3.00" if kinds >= 0.5 else None


def _marketplace_entry(entry):
    if isinstance(entry, str):
        return data.marketplace(entry)
    entry = dict(entry)
    try:
        base = data.marketplace(entry.get("code") or entry["id"])
    except KeyError:
        base = {"taxIncluded": True, "taxRate": "0", "language": "en_US"}
    base.update(entry)
    for key in ("id", "name", "countryCode", "currency", "domain"):
        if not base.get(key):
            raise ValueError(f"marketplace {entry!r} lacks {key!r}")
    return base


def normalize_order(raw, marketplaces_by_id, now):
    """Scenario order (JSON) -> internal record (raises ValueError when invalid)."""
    if not isinstance(raw, dict):
        raise ValueError("an order must be a JSON object")
    mp_key = raw.get("marketplaceId") or raw.get("marketplace")
    mp = marketplaces_by_id.get(mp_key)
    if mp is None:
        for candidate in marketplaces_by_id.values():
            if candidate.get("code") == mp_key:
                mp = candidate
        if mp is None:
            if mp_key is None and len(marketplaces_by_id) == 1:
                mp = next(iter(marketplaces_by_id.values()))
            else:
                raise ValueError(f"unknown marketplace {mp_key!r}")
    currency = raw.get("currency") or mp["currency"]
    fulfilled_by = raw.get("fulfilledBy", "MERCHANT")
    if fulfilled_by not in ("AMAZON", "MERCHANT"):
        raise ValueError(f"fulfilledBy must be AMAZON or MERCHANT, not {fulfilled_by!r}")
    created = parse_time(raw["createdTime"]) if raw.get("createdTime") else now
    events = []
    for event in raw.get("events") or []:
        if isinstance(event, dict):
            when, status = event.get("time"), event.get("status")
        else:
            when, status = event
        if status not in data.STATUSES:
            raise ValueError(f"unknown status {status!r}")
        events.append((parse_time(when), "status", status))
    if not events:
        first = "UNSHIPPED" if fulfilled_by == "MERCHANT" else "PENDING"
        events.append((created, "status", raw.get("status", first)))
    events.sort(key=lambda e: e[0])
    if events[0][0] < created:
        raise ValueError("an event precedes the order creation")
    rate = Decimal(str(raw.get("taxRate", mp.get("taxRate", "0"))))
    included = bool(mp.get("taxIncluded", True))
    items = []
    raw_items = raw.get("items") or []
    if not raw_items:
        raise ValueError("an order needs at least one item")
    for index, item in enumerate(raw_items):
        items.append(_normalize_item(item, index, raw, currency, rate, included))
    # order-level extras: COD fee and OTHER charge ride on the first item (untaxed), a
    # delivery tip stays at order level (Amazon attributes it to no item)
    for key in ("codFee", "otherCharge"):
        extra = money(raw.get(key) or 0, currency)
        items[0][key] = extra
        items[0]["proceedsTotal"] += extra
    channel = raw.get("channel", "AMAZON")
    if channel not in ("AMAZON", "NON_AMAZON"):
        raise ValueError(f"channel must be AMAZON or NON_AMAZON, not {channel!r}")
    if len({i["orderItemId"] for i in items}) != len(items):
        raise ValueError("duplicate orderItemId")
    programs = list(raw.get("programs") or [])
    if raw.get("business") and "AMAZON_BUSINESS" not in programs:
        programs.append("AMAZON_BUSINESS")
    if raw.get("prime") and "PRIME" not in programs:
        programs.append("PRIME")
    buyer = raw.get("buyer")
    tax_registrations = list(raw.get("taxRegistrations") or [])
    if buyer and buyer.get("vatNumber") and not tax_registrations:
        tax_registrations.append(
            {
                "entityType": "BUYER",
                "taxRegistrationType": "VAT",
                "taxRegistrationNumber": buyer["vatNumber"],
                "legalName": buyer.get("companyName") or buyer.get("name"),
            }
        )
    return {
        "orderId": raw["orderId"],
        "marketplace": mp,
        "currency": currency,
        "fulfilledBy": fulfilled_by,
        "channel": channel,
        "deliveryTip": money(raw.get("deliveryTip") or 0, currency),
        "createdTime": created,
        "events": events,
        "sellerOrderId": raw.get("sellerOrderId"),
        "programs": programs,
        "business": "AMAZON_BUSINESS" in programs,
        "prime": "PRIME" in programs,
        "fulfillmentServiceLevel": raw.get("fulfillmentServiceLevel", "STANDARD"),
        "shipServiceLevel": raw.get("shipServiceLevel", "Std " + mp.get("code", "") + " Dom"),
        "buyer": copy.deepcopy(buyer) if buyer else None,
        "recipient": copy.deepcopy(raw.get("recipient")) if raw.get("recipient") else None,
        "taxRegistrations": tax_registrations,
        "taxRate": rate,
        "taxIncluded": included,
        "items": items,
        "packages": [],
        "raw": copy.deepcopy(raw),
    }


def _normalize_item(item, index, order, currency, rate, included):
    if not isinstance(item, dict):
        raise ValueError("an item must be a JSON object")
    quantity = int(item.get("quantity", item.get("quantityOrdered", 1)))
    if quantity < 1:
        raise ValueError("item quantity must be >= 1")
    item_rate = Decimal(str(item.get("taxRate", rate)))

    def amount(key):
        return money(item.get(key) or 0, currency)

    unit = amount("unitPrice")
    record = {
        "orderItemId": str(item.get("orderItemId") or f"{order['orderId'][-7:]}{index + 1:07d}"),
        "sku": item.get("sku"),
        "asin": item.get("asin") or "B0SANDBOX" + str(index),
        "title": item.get("title") or item.get("sku") or "Item",
        "quantity": quantity,
        "unitPrice": unit,
        "itemTotal": money(unit * quantity, currency),
        "shipping": amount("shipping"),
        "shippingDiscount": amount("shippingDiscount"),
        "promotionDiscount": amount("promotionDiscount"),
        "giftWrap": amount("giftWrap"),
        "giftMessage": item.get("giftMessage"),
        "giftWrapLevel": item.get("giftWrapLevel"),
        "promotionIds": list(item.get("promotionIds") or []),
        "condition": dict(
            item.get("condition") or {"conditionType": "NEW", "conditionSubtype": "NEW"}
        ),
        "serialNumbers": list(item.get("serialNumbers") or []),
        "taxRate": item_rate,
    }
    for key, base in (
        ("itemTax", "itemTotal"),
        ("shippingTax", "shipping"),
        ("giftWrapTax", "giftWrap"),
        ("promotionDiscountTax", "promotionDiscount"),
        ("shippingDiscountTax", "shippingDiscount"),
    ):
        record[key] = tax_of(record[base], item_rate, included, currency)
    record["taxTotal"] = (
        record["itemTax"]
        + record["shippingTax"]
        + record["giftWrapTax"]
        - record["promotionDiscountTax"]
        - record["shippingDiscountTax"]
    )
    total = (
        record["itemTotal"]
        + record["shipping"]
        + record["giftWrap"]
        - record["promotionDiscount"]
        - record["shippingDiscount"]
    )
    if not included:
        total += record["taxTotal"]
    record["proceedsTotal"] = total
    return record
