"""Finances API v0 of the sandbox: settlement groups and events derived from the seller's orders.

Our own reading of ``financesV0.json`` (independent of ``amazon_sp``):

* Every fully shipped order posts one ``ShipmentEvent`` at the time it became SHIPPED: item
  charges (``Principal``, ``ShippingCharge``, ``GiftWrap``; on marketplaces whose prices
  exclude tax also ``Tax``/``ShippingTax``/``GiftWrapTax`` and the same amounts withheld as
  ``MarketplaceFacilitatorTax-*``), promotions (negative) and fees (negative):
  ``Commission`` = 15 % of what the buyer paid for the item, and for FBA orders
  ``FBAPerUnitFulfillmentFee`` per unit.
* A refund (``state.refund``, see :func:`normalize_refund`) posts a refund event
  (``RefundEventList``) for some units of some items, and of their principal, shipping
  and/or gift wrap: the charges reversed (negative), promotions taken back (positive), the
  commission given back (positive) and a ``RefundCommission`` kept by Amazon (20 % of the
  commission, at most 5.00). Each item row has its ``OrderItemId`` and an
  ``OrderAdjustmentItemId`` of its own.
* Advertising charges (``state.add_ads_charge``) post a ``ProductAdsPaymentEvent`` with
  negative ``baseValue``/``taxValue``/``transactionValue``.
* Events fall into one financial event group per marketplace and settlement period
  (``state.settlement_days`` long, counted from ``state.settlement_anchor``). A group is
  ``Closed`` once its period ended on the virtual clock (payout ``Succeeded`` at its end),
  else ``Open``; ``OriginalTotal`` is the sum of its events.
"""

import base64
import hashlib
from datetime import timedelta
from decimal import Decimal

from .timeline import derive_status, view_at
from .values import format_time, money, parse_time

COMMISSION_RATE = Decimal("0.15")
REFUND_ADMIN_RATE = Decimal("0.20")
REFUND_ADMIN_CAP = {"JPY": Decimal(500)}
FBA_UNIT_FEE = {
    "EUR": "3.22",
    "USD": "3.86",
    "GBP": "2.79",
    "JPY": "434",
    "SEK": "38.50",
    "CAD": "5.44",
    "PLN": "14.20",
    "MXN": "71.00",
    "AUD": "5.90",
}
EVENT_LISTS = (
    "ShipmentEventList",
    "RefundEventList",
    "ServiceFeeEventList",
    "ProductAdsPaymentEventList",
)


def _cur(amount, currency):
    return {"CurrencyCode": currency, "CurrencyAmount": float(money(amount, currency))}


def _charge(kind, amount, currency):
    return {"ChargeType": kind, "ChargeAmount": _cur(amount, currency)}


def _fee(kind, amount, currency):
    return {"FeeType": kind, "FeeAmount": _cur(amount, currency)}


def group_id(marketplace_id, start):
    digest = hashlib.sha256(f"{marketplace_id}|{format_time(start)}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:32]).decode().rstrip("=")


def period_of(state, when):
    days = timedelta(days=state.settlement_days)
    index = (when - state.settlement_anchor) // days
    start = state.settlement_anchor + index * days
    return start, start + days


def shipped_time(record, now):
    """When the order became fully SHIPPED (None when it is not, at ``now``)."""
    current = view_at(record, now)
    if current is None or derive_status(current) != "SHIPPED":
        return None
    for when in sorted({e[0] for e in record["events"] if e[0] <= now}):
        if derive_status(view_at(record, when)) == "SHIPPED":
            return when
    return None


def _item_amounts(record, item):
    """(charges, taxes, promotions, buyer total) of one whole item, buyer-facing signs."""
    currency, included = record["currency"], record["taxIncluded"]
    charges = [
        ("Principal", item["itemTotal"]),
        ("ShippingCharge", item["shipping"]),
        ("GiftWrap", item["giftWrap"]),
    ]
    taxes = []
    if not included:
        taxes = [
            ("Tax", item["itemTax"] - item["promotionDiscountTax"]),
            ("ShippingTax", item["shippingTax"] - item["shippingDiscountTax"]),
            ("GiftWrapTax", item["giftWrapTax"]),
        ]
    promotions = [
        (pid, amount)
        for pid, amount in (
            ((item["promotionIds"] or ["PROMO"])[-1], item["promotionDiscount"]),
            ((item["promotionIds"] or ["SHIPPING"])[0], item["shippingDiscount"]),
        )
        if amount
    ]
    paid = (
        item["itemTotal"]
        + item["shipping"]
        + item["giftWrap"]
        - item["promotionDiscount"]
        - item["shippingDiscount"]
    )
    return (
        [(k, money(v, currency)) for k, v in charges if v],
        [(k, money(v, currency)) for k, v in taxes if v],
        promotions,
        paid,
    )


def _commission(record, item):
    _charges, _taxes, _promos, paid = _item_amounts(record, item)
    return money(paid * COMMISSION_RATE, record["currency"])


def _promotion_list(promotions, negate, currency):
    """Promotion objects of an item: negated in a shipment (a discount), as is in a refund."""
    return [
        {
            "PromotionType": "PromotionMetaDataDefinitionValue",
            "PromotionId": pid,
            "PromotionAmount": _cur(-v if negate else v, currency),
        }
        for pid, v in promotions
    ]


def _order_event(record, when, list_key, items):
    """A ShipmentEvent of ``record`` posted at ``when``, its item rows under ``list_key``."""
    return {
        "AmazonOrderId": record["orderId"],
        "MarketplaceName": record["marketplace"]["name"],
        "PostedDate": format_time(when),
        list_key: items,
    }


def shipment_event(record, when, shipped_ids=None):
    currency = record["currency"]
    items, total, fees = [], Decimal(0), Decimal(0)
    for item in record["items"]:
        if shipped_ids is not None and item["orderItemId"] not in shipped_ids:
            continue  # cancelled before shipping
        charges, taxes, promotions, _paid = _item_amounts(record, item)
        row = {
            "SellerSKU": item["sku"] or item["asin"],
            "OrderItemId": item["orderItemId"],
            "QuantityShipped": item["quantity"],
            "ItemChargeList": [_charge(k, v, currency) for k, v in charges + taxes],
            "PromotionList": _promotion_list(promotions, True, currency),
        }
        item_fees = [("Commission", -_commission(record, item))]
        if record["fulfilledBy"] == "AMAZON":
            unit = Decimal(FBA_UNIT_FEE.get(currency, "3.00"))
            item_fees.append(
                ("FBAPerUnitFulfillmentFee", -money(unit * item["quantity"], currency))
            )
        row["ItemFeeList"] = [_fee(k, v, currency) for k, v in item_fees]
        if taxes:
            row["ItemTaxWithheldList"] = [
                {
                    "TaxCollectionModel": "MarketplaceFacilitator",
                    "TaxesWithheld": [
                        _charge(
                            "MarketplaceFacilitatorTax-"
                            + {
                                "Tax": "Principal",
                                "ShippingTax": "Shipping",
                                "GiftWrapTax": "Giftwrap",
                            }[k],
                            -v,
                            currency,
                        )
                        for k, v in taxes
                    ],
                }
            ]
        total += sum((v for _k, v in charges), Decimal(0)) - sum(
            (v for _k, v in promotions), Decimal(0)
        )
        fees += sum((v for _k, v in item_fees), Decimal(0))
        items.append(row)
    event = _order_event(record, when, "ShipmentItemList", items)
    if record.get("sellerOrderId"):
        event["SellerOrderId"] = record["sellerOrderId"]
    return event, total + fees, fees


REFUND_PARTS = ("items", "shipping", "giftwrap")


def normalize_refund(record, raw, when):
    """A refund of ``record`` as the state keeps it: ``{"time", "items": {item id: units},
    "parts"}`` from a scenario/control body: ``itemIds`` (default: every item), optional
    ``quantities`` ({item id: units}, default the item's quantity) and ``parts`` (any of
    ``items`` = principal, its tax and promotion; ``shipping``; ``giftwrap``; default all)
    or ``only`` = one part (``"shipping"`` for a shipping-only refund)."""
    raw = raw or {}
    known = {i["orderItemId"]: i for i in record["items"]}
    item_ids = list(raw.get("itemIds") or known)
    unknown = [i for i in item_ids if i not in known]
    if unknown:
        raise ValueError(f"unknown item(s) {', '.join(unknown)}")
    quantities = raw.get("quantities") or {}
    items = {}
    for item_id in item_ids:
        units = int(quantities.get(item_id, known[item_id]["quantity"]))
        if not 0 < units <= known[item_id]["quantity"]:
            raise ValueError(f"item {item_id}: cannot refund {units} unit(s)")
        items[item_id] = units
    parts = tuple(raw.get("parts") or ([raw["only"]] if raw.get("only") else REFUND_PARTS))
    if not parts or any(part not in REFUND_PARTS for part in parts):
        raise ValueError(f"parts must be among {', '.join(REFUND_PARTS)}")
    return {"time": when, "items": items, "parts": parts}


def _refund_amounts(record, item, units, parts):
    """(charges, taxes, promotions, buyer total) refunded on ``units`` of ``item`` for
    ``parts``, buyer-facing signs, prorated by units and rounded to the currency."""
    currency, included = record["currency"], record["taxIncluded"]
    share = Decimal(units) / Decimal(item["quantity"])
    rows = []  # (part, charge, amount, tax type, tax, promotion id, promotion)
    if "items" in parts:
        rows.append(
            (
                "Principal",
                item["itemTotal"],
                "Tax",
                item["itemTax"] - item["promotionDiscountTax"],
                (item["promotionIds"] or ["PROMO"])[-1],
                item["promotionDiscount"],
            )
        )
    if "shipping" in parts:
        rows.append(
            (
                "ShippingCharge",
                item["shipping"],
                "ShippingTax",
                item["shippingTax"] - item["shippingDiscountTax"],
                (item["promotionIds"] or ["SHIPPING"])[0],
                item["shippingDiscount"],
            )
        )
    if "giftwrap" in parts:
        rows.append(("GiftWrap", item["giftWrap"], "GiftWrapTax", item["giftWrapTax"], None, 0))
    charges, taxes, promotions, paid = [], [], [], Decimal(0)
    for kind, amount, tax_kind, tax, promo_id, promo in rows:
        amount, tax, promo = (money(v * share, currency) for v in (amount, tax, promo))
        if amount:
            charges.append((kind, amount))
        if tax and not included:
            taxes.append((tax_kind, tax))
        if promo:
            promotions.append((promo_id, promo))
        paid += amount - promo
    return charges, taxes, promotions, paid


def adjustment_item_id(record, item, number):
    """Amazon's OrderAdjustmentItemId of ``item`` in the ``number``-th refund of the order:
    14 digits, stable, different for every item of every refund."""
    key = f"{record['orderId']}|{item['orderItemId']}|{number}".encode()
    return f"{int.from_bytes(hashlib.sha256(key).digest()[:8], 'big') % 10**14:014d}"


def refund_event(record, when, refund, number):
    currency = record["currency"]
    items, total, fees = [], Decimal(0), Decimal(0)
    for item in record["items"]:
        units = refund["items"].get(item["orderItemId"])
        if not units:
            continue
        charges, taxes, promotions, paid = _refund_amounts(record, item, units, refund["parts"])
        commission = money(paid * COMMISSION_RATE, currency)
        cap = REFUND_ADMIN_CAP.get(currency, Decimal("5.00"))
        admin = min(money(commission * REFUND_ADMIN_RATE, currency), cap)
        item_fees = [("Commission", commission), ("RefundCommission", -admin)]
        row = {
            "SellerSKU": item["sku"] or item["asin"],
            "OrderItemId": item["orderItemId"],
            "OrderAdjustmentItemId": adjustment_item_id(record, item, number),
            "ItemChargeAdjustmentList": [_charge(k, -v, currency) for k, v in charges + taxes],
            "ItemFeeAdjustmentList": [_fee(k, v, currency) for k, v in item_fees if v],
            "PromotionAdjustmentList": _promotion_list(promotions, False, currency),
        }
        if "items" in refund["parts"]:  # a shipping or gift-wrap refund returns no unit
            row["QuantityShipped"] = units
        if taxes:
            row["ItemTaxWithheldList"] = [
                {
                    "TaxCollectionModel": "MarketplaceFacilitator",
                    "TaxesWithheld": [
                        _charge("MarketplaceFacilitatorTax-Other", v, currency) for _k, v in taxes
                    ],
                }
            ]
        total -= paid
        fees += sum((v for _k, v in item_fees), Decimal(0))
        items.append(row)
    return _order_event(record, when, "ShipmentItemAdjustmentList", items), total + fees, fees


def order_rows(state, record, now):
    """(time, event list name, event, total, fees) of one order posted until ``now``."""
    shipped = shipped_time(record, now)
    if shipped is None:
        return []
    current = view_at(record, now)
    shipped_ids = {item_id for item_id, qty in current.shipped.items() if qty}
    rows = [(shipped, "ShipmentEventList", *shipment_event(record, shipped, shipped_ids))]
    for number, refund in enumerate(state.refunds.get(record["orderId"], [])):
        if shipped <= refund["time"] <= now:
            rows.append(
                (
                    refund["time"],
                    "RefundEventList",
                    *refund_event(record, refund["time"], refund, number + 1),
                )
            )
    return rows


def ads_event(ad, number):
    currency = ad["currency"]
    base, tax = ad["amount"], ad["tax"]
    event = {
        "postedDate": format_time(ad["time"]),
        "transactionType": "charge",
        "invoiceId": f"ADS-{ad['marketplace'][-6:]}-{number:05d}",
        "baseValue": _cur(-base, currency),
        "taxValue": _cur(-tax, currency),
        "transactionValue": _cur(-(base + tax), currency),
    }
    total = -money(base + tax, currency)
    return event, total, total


def build_groups(state, now):
    """{group id: group} of everything posted until ``now`` (sorted by start)."""
    groups = {}

    def post(marketplace, when, list_name, event, total, fees):
        start, end = period_of(state, when)
        gid = group_id(marketplace["id"], start)
        group = groups.setdefault(
            gid,
            {
                "id": gid,
                "marketplaceId": marketplace["id"],
                "currency": marketplace["currency"],
                "start": start,
                "end": end,
                "events": [],
                "total": Decimal(0),
                "fees": Decimal(0),
            },
        )
        group["events"].append((when, list_name, event))
        group["total"] += total
        group["fees"] += fees

    for record in state.orders.values():
        for when, list_name, event, total, fees in order_rows(state, record, now):
            post(record["marketplace"], when, list_name, event, total, fees)
    for number, ad in enumerate(state.ads):
        if ad["time"] <= now:
            post(
                state.marketplaces[ad["marketplace"]],
                ad["time"],
                "ProductAdsPaymentEventList",
                *ads_event(ad, number + 1),
            )
    for group in groups.values():
        group["closed"] = group["end"] <= now
        group["events"].sort(key=lambda row: (row[0], row[1]))
    return dict(sorted(groups.items(), key=lambda kv: (kv[1]["start"], kv[0])))


def render_group(group):
    currency = group["currency"]
    result = {
        "FinancialEventGroupId": group["id"],
        "ProcessingStatus": "Closed" if group["closed"] else "Open",
        "FundTransferStatus": "Succeeded" if group["closed"] else "Unknown",
        "OriginalTotal": _cur(group["total"], currency),
        "BeginningBalance": _cur(0, currency),
        "FinancialEventGroupStart": format_time(group["start"]),
    }
    if group["closed"]:
        result.update(
            {
                "ConvertedTotal": _cur(group["total"], currency),
                "FundTransferDate": format_time(group["end"]),
                "FinancialEventGroupEnd": format_time(group["end"]),
                "TraceId": group["id"][:20].upper(),
                "AccountTail": "042",
            }
        )
    return result


def render_events(rows):
    events = {name: [] for name in EVENT_LISTS}
    for _when, list_name, event in rows:
        events[list_name].append(event)
    return events


def normalize_ad(raw, marketplaces, now):
    key = raw.get("marketplaceId") or raw.get("marketplace")
    marketplace = marketplaces.get(key) or next(
        (m for m in marketplaces.values() if m.get("code") == key), None
    )
    if marketplace is None:
        raise ValueError(f"unknown marketplace {key!r}")
    currency = marketplace["currency"]
    return {
        "marketplace": marketplace["id"],
        "currency": currency,
        "time": parse_time(raw["time"]) if raw.get("time") else now,
        "amount": money(raw.get("amount", 0), currency),
        "tax": money(raw.get("tax", 0), currency),
    }
