"""Finances API v0 refund events -> typed, Odoo-free refunds (no Odoo import).

A refund is a ``ShipmentEvent`` of ``RefundEventList`` (from ``listFinancialEvents``,
``listFinancialEventsByOrderId`` or ``listFinancialEventsByGroupId``). Its
``ShipmentItemAdjustmentList`` holds one row per refunded order item: the charges given
back (``ItemChargeAdjustmentList``: ``Principal``, ``Tax``, ``ShippingCharge``,
``ShippingTax``, ``GiftWrap``, ``GiftWrapTax``... negative from the seller's point of view),
the promotions taken back (``PromotionAdjustmentList``, positive), the fees and the
quantity (``QuantityShipped``: the units refunded).

Identity. Amazon gives a refund event no id of its own; each adjusted item carries an
``OrderAdjustmentItemId`` that Amazon documents as *the order adjustment identifier
defined for refunds*: it is unique to that item in that refund, so the sorted set of them
names the refund, whichever operation reported it. :attr:`RefundEvent.adjustment_id` is
that set joined by ``,``; a refund with no item adjustment id at all (not seen, but nothing
in the model forbids it) is named ``<order id>@<posted date>``.

Money is :class:`~decimal.Decimal`, in the refund's currency; dates are naive UTC.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from . import amounts
from .finances import FinanceParseError, _amount, _date, _list, _objects

ZERO = Decimal(0)

# Charge types of an item adjustment (compared without case: the model spells them
# ``Giftwrap``/``GiftwrapTax``, the responses ``GiftWrap``/``GiftWrapTax``).
PRINCIPAL = "principal"
TAX = "tax"
SHIPPING = "shippingcharge"
SHIPPING_TAX = "shippingtax"
GIFT_WRAP = "giftwrap"
GIFT_WRAP_TAX = "giftwraptax"
_KNOWN = {PRINCIPAL, TAX, SHIPPING, SHIPPING_TAX, GIFT_WRAP, GIFT_WRAP_TAX}
# Taxes Amazon withheld itself (marketplace facilitator): not part of what the seller
# refunds (they are in ``ItemTaxWithheldList``, but some reports put them among charges).
_WITHHELD_PREFIX = "marketplacefacilitator"


@dataclass(frozen=True)
class RefundPromotion:
    promotion_id: str | None
    promotion_type: str | None
    amount: Decimal  # seller's sign: positive = a discount taken back from the refund


@dataclass(frozen=True)
class RefundItem:
    sku: str | None
    order_item_id: str | None
    adjustment_item_id: str | None
    quantity: int | None  # units refunded (``QuantityShipped``), None when absent
    charges: dict = field(default_factory=dict)  # lower-cased charge type -> Decimal
    promotions: tuple = ()  # RefundPromotion
    fees: dict = field(default_factory=dict)  # fee type -> Decimal

    def charge(self, kind):
        return self.charges.get(kind, ZERO)

    @property
    def other_charges(self):
        """Charges beyond principal, shipping and gift wrap and their taxes (Goodwill,
        ReturnShipping, RestockingFee...): {charge type: amount}."""
        return {k: v for k, v in self.charges.items() if k not in _KNOWN and v}

    @property
    def promotion_total(self):
        return sum((p.amount for p in self.promotions), ZERO)


@dataclass(frozen=True)
class RefundEvent:
    order_id: str | None
    seller_order_id: str | None
    marketplace_name: str | None
    posted_date: datetime | None
    currency: str | None
    items: tuple = ()  # RefundItem
    raw: dict = field(default=None, compare=False, repr=False)  # the event as Amazon sent it

    @property
    def adjustment_id(self):
        ids = sorted({item.adjustment_item_id for item in self.items if item.adjustment_item_id})
        if ids:
            return ",".join(ids)
        posted = self.posted_date.isoformat() if self.posted_date else "?"
        return f"{self.order_id or '?'}@{posted}"

    @property
    def fee_total(self):
        return sum((sum(item.fees.values(), ZERO) for item in self.items), ZERO)

    def buyer_charges(self):
        """What the buyer gets back, as :class:`amounts.Charge` of the order sync (positive
        = money back to the buyer): one item charge per refunded item with its principal
        and tax, the promotions per item (negative), shipping and gift wrap summed over the
        items, and one "other" charge per other charge type. Zero amounts are left out."""
        charges = []
        shipping = shipping_tax = wrap = wrap_tax = ZERO
        other = defaultdict(Decimal)
        for item in self.items:
            principal = -item.charge(PRINCIPAL)
            tax = -item.charge(TAX)
            if principal or tax:
                quantity = item.quantity if item.quantity and item.quantity > 0 else 1
                charges.append(
                    amounts.Charge(amounts.KIND_ITEM, item.order_item_id, quantity, principal, tax)
                )
            if item.promotion_total:
                charges.append(
                    amounts.Charge(
                        amounts.KIND_PROMOTION, item.order_item_id, 1, -item.promotion_total, ZERO
                    )
                )
            shipping -= item.charge(SHIPPING)
            shipping_tax -= item.charge(SHIPPING_TAX)
            wrap -= item.charge(GIFT_WRAP)
            wrap_tax -= item.charge(GIFT_WRAP_TAX)
            for kind, amount in item.other_charges.items():
                other[kind] -= amount
        if shipping or shipping_tax:
            charges.append(amounts.Charge(amounts.KIND_SHIPPING, None, 1, shipping, shipping_tax))
        if wrap or wrap_tax:
            charges.append(amounts.Charge(amounts.KIND_GIFT_WRAP, None, 1, wrap, wrap_tax))
        for kind in sorted(other):
            if other[kind]:
                charges.append(amounts.Charge(amounts.KIND_OTHER, kind, 1, other[kind], ZERO))
        return charges

    def refunded_total(self, *, tax_included, has_taxes=True):
        """What the buyer got back, by the rule of the order totals
        (:func:`amounts.target_gross`): with prices that include tax, the charges as
        given; otherwise plus their tax when the seller's lines are taxed."""
        return sum(
            (
                amounts.target_gross(c, tax_included=tax_included, has_taxes=has_taxes)
                for c in self.buyer_charges()
            ),
            ZERO,
        )


class _Money:
    """Reads Currency objects, checking that one event keeps to one currency."""

    def __init__(self):
        self.currency = None

    def __call__(self, node, path):
        money = _amount(node, path)
        if money is None:
            return ZERO
        if money.currency:
            if self.currency and money.currency != self.currency:
                raise FinanceParseError(
                    path, f"currency {money.currency} in a refund in {self.currency}"
                )
            self.currency = money.currency
        return money.amount


def _quantity(value, path):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FinanceParseError(path, f"not an integer: {value!r}")
    return value


def _text(value, path):
    if value is None or isinstance(value, str):
        return value or None
    raise FinanceParseError(path, f"not a string: {value!r}")


def parse_refund_item(raw, path, money):
    if not isinstance(raw, dict):
        raise FinanceParseError(path, "expected a ShipmentItem")
    charges = defaultdict(Decimal)
    for where, charge in _objects(
        _list(raw, "ItemChargeAdjustmentList", path), path + ".ItemChargeAdjustmentList", "Charge"
    ):
        kind = (charge.get("ChargeType") or "Other").lower()
        if kind.startswith(_WITHHELD_PREFIX):
            continue
        charges[kind] += money(charge.get("ChargeAmount"), where + ".ChargeAmount")
    fees = defaultdict(Decimal)
    for where, fee in _objects(
        _list(raw, "ItemFeeAdjustmentList", path), path + ".ItemFeeAdjustmentList", "Fee"
    ):
        fees[fee.get("FeeType") or "Other"] += money(fee.get("FeeAmount"), where + ".FeeAmount")
    promotions = tuple(
        RefundPromotion(
            promotion_id=_text(promo.get("PromotionId"), where + ".PromotionId"),
            promotion_type=_text(promo.get("PromotionType"), where + ".PromotionType"),
            amount=money(promo.get("PromotionAmount"), where + ".PromotionAmount"),
        )
        for where, promo in _objects(
            _list(raw, "PromotionAdjustmentList", path),
            path + ".PromotionAdjustmentList",
            "Promotion",
        )
    )
    return RefundItem(
        sku=_text(raw.get("SellerSKU"), path + ".SellerSKU"),
        order_item_id=_text(raw.get("OrderItemId"), path + ".OrderItemId"),
        adjustment_item_id=_text(raw.get("OrderAdjustmentItemId"), path + ".OrderAdjustmentItemId"),
        quantity=_quantity(raw.get("QuantityShipped"), path + ".QuantityShipped"),
        charges=dict(charges),
        promotions=promotions,
        fees=dict(fees),
    )


def parse_refund_event(raw, path="RefundEvent"):
    """One ShipmentEvent of ``RefundEventList`` -> :class:`RefundEvent`."""
    if not isinstance(raw, dict):
        raise FinanceParseError(path, "expected a ShipmentEvent")
    money = _Money()
    items = tuple(
        parse_refund_item(item, f"{path}.ShipmentItemAdjustmentList[{index}]", money)
        for index, item in enumerate(_list(raw, "ShipmentItemAdjustmentList", path))
    )
    return RefundEvent(
        order_id=_text(raw.get("AmazonOrderId"), path + ".AmazonOrderId"),
        seller_order_id=_text(raw.get("SellerOrderId"), path + ".SellerOrderId"),
        marketplace_name=_text(raw.get("MarketplaceName"), path + ".MarketplaceName"),
        posted_date=_date(raw.get("PostedDate"), path + ".PostedDate"),
        currency=money.currency,
        items=items,
        raw=raw,
    )


def parse_refund_events(payload, path="payload"):
    """The refunds of one page (``payload`` of a ListFinancialEvents response)."""
    if not isinstance(payload, dict):
        raise FinanceParseError(path, "expected an object")
    events = payload.get("FinancialEvents") or {}
    if not isinstance(events, dict):
        raise FinanceParseError(path + ".FinancialEvents", "expected an object")
    items = events.get("RefundEventList") or []
    if not isinstance(items, list):
        raise FinanceParseError(path + ".FinancialEvents.RefundEventList", "expected a list")
    return [
        parse_refund_event(raw, f"{path}.FinancialEvents.RefundEventList[{index}]")
        for index, raw in enumerate(items)
    ]
