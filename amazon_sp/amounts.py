"""What a buyer was charged, line by line: the pure money logic of the order sync.

An Amazon order becomes a list of :class:`Charge` (item, shipping, shipping
discount, gift wrap, promotion, COD fee, other charge, delivery tip), each with the
amount Amazon charged and the tax Amazon reported on it, in Decimal. The Odoo layer
turns each charge into a sale order line and uses :func:`target_gross`, :func:`line_subtotal` and
:func:`price_and_discount` so that Odoo's computed totals equal what the buyer paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from .types import Order

ZERO = Decimal(0)

KIND_ITEM = "item"
KIND_SHIPPING = "shipping"
KIND_SHIPPING_DISCOUNT = "shipping_discount"
KIND_GIFT_WRAP = "gift_wrap"
KIND_PROMOTION = "promotion"
KIND_COD_FEE = "cod_fee"
KIND_OTHER = "other"
KIND_DELIVERY_TIP = "delivery_tip"


@dataclass(frozen=True)
class Charge:
    kind: str
    item_id: str | None
    quantity: int
    amount: Decimal  # as Amazon charged it (see tax_included)
    tax: Decimal  # tax Amazon reported on that amount (same sign as amount)
    # From Amazon's numbers (OrderItem.tax_included): True = amount includes ``tax``,
    # False = ``tax`` comes on top, None = the numbers do not tell (the caller's rule).
    tax_included: bool | None = None


# order-level kinds summed over the items: (kind, amount field, tax field, sign)
_SUMMED = (
    (KIND_SHIPPING, "shipping_price", "shipping_tax", 1),
    (KIND_SHIPPING_DISCOUNT, "shipping_discount", "shipping_discount_tax", -1),
    (KIND_GIFT_WRAP, "gift_wrap_price", "gift_wrap_tax", 1),
    (KIND_COD_FEE, "cod_fee", "cod_fee_tax", 1),
    (KIND_OTHER, "other_charge", "other_charge_tax", 1),
)


def order_charges(order: Order) -> list[Charge]:
    """Every chargeable line of ``order``; amounts that are zero are left out.

    Items keep their own line (one per Amazon order item). Shipping, shipping
    discounts, gift wrap, COD fees and OTHER charges are summed over the order (one
    charge per kind, or one per tax reading in the unlikely case items differ);
    promotions stay per item so that each discount carries the taxes of the product it
    reduces. The order-level delivery tip is one more charge (no tax).
    """
    charges: list[Charge] = []
    summed: dict = {}
    for item in order.items:
        included = getattr(item, "tax_included", None)
        quantity = item.quantity_ordered - item.quantity_cancelled
        if quantity > 0 or item.item_price:
            charges.append(
                Charge(
                    KIND_ITEM,
                    item.item_id,
                    max(quantity, 0),
                    item.item_price,
                    item.item_tax,
                    included,
                )
            )
        if item.promotion_discount:
            charges.append(
                Charge(
                    KIND_PROMOTION,
                    item.item_id,
                    1,
                    -item.promotion_discount,
                    -item.promotion_discount_tax,
                    included,
                )
            )
        for kind, amount_field, tax_field, sign in _SUMMED:
            amount, tax = summed.get((kind, included), (ZERO, ZERO))
            summed[(kind, included)] = (
                amount + sign * getattr(item, amount_field, ZERO),
                tax + sign * getattr(item, tax_field, ZERO),
            )
    for kind, *_ in _SUMMED:
        for (summed_kind, included), (amount, tax) in summed.items():
            if summed_kind == kind and amount:
                charges.append(Charge(kind, None, 1, amount, tax, included))
    tip = getattr(order, "delivery_tip", ZERO)
    if tip:
        charges.append(Charge(KIND_DELIVERY_TIP, None, 1, tip, ZERO, True))
    return charges


def target_gross(charge: Charge, *, tax_included: bool, has_taxes: bool) -> Decimal:
    """What the Odoo line must total, taxes included.

    When the amount already holds its tax (``charge.tax_included``, decided from Amazon's
    numbers; else the caller's ``tax_included``, its marketplace rule), the charged
    amount is the gross. Otherwise Amazon adds its tax on top: it belongs in the line
    only when Odoo taxes the line too; otherwise Amazon collected it for itself
    (marketplace facilitator) and the seller's line is the net amount.
    """
    if charge.tax_included is not None:
        tax_included = charge.tax_included
    if tax_included or not has_taxes:
        return charge.amount
    return charge.amount + charge.tax


def buyer_paid(order: Order) -> Decimal | None:
    """What the buyer paid according to Amazon: the sum of the items' ``proceedsTotal``
    plus the delivery tip, or None when an item has no stated total."""
    totals = [getattr(item, "proceeds_total", None) for item in order.items]
    if not totals or any(total is None for total in totals):
        return None
    return sum(totals, ZERO) + getattr(order, "delivery_tip", ZERO)


def stated_total(order: Order) -> Decimal | None:
    """What Amazon says the buyer paid for the whole order: its ``grandTotal``
    (``order.total``) where Amazon gives it (optional in the model), else the items'
    ``proceedsTotal`` summed (:func:`buyer_paid`), else None (the caller's own sum)."""
    if order.total is not None:
        return order.total
    return buyer_paid(order)


def line_subtotal(gross: Decimal, rates: list[Decimal], *, digits: int) -> Decimal:
    """Untaxed subtotal whose taxes, each rounded per line, bring the line to ``gross``.

    ``rates`` are the fractions (0.21 for 21 %) of the line's percentage taxes that are
    not included in the price. Looks a few cents around the exact division for a
    subtotal that lands on ``gross`` exactly; else returns the nearest one.
    """
    if not rates:
        return round_money(gross, digits)
    quantum = Decimal(1).scaleb(-digits)
    base = round_money(gross / (1 + sum(rates)), digits)
    for step in (0, 1, -1, 2, -2, 3, -3):
        subtotal = base + step * quantum
        if subtotal + sum(round_money(subtotal * rate, digits) for rate in rates) == gross:
            return subtotal
    return base


def price_and_discount(
    subtotal: Decimal,
    quantity: int,
    *,
    digits: int,
    price_digits: int = 2,
    discount_digits: int = 2,
) -> tuple[Decimal, Decimal]:
    """Unit price and discount (%) so that ``quantity`` units come to ``subtotal``
    exactly, within the precisions Odoo stores (prices and discounts have 2 decimals by
    default): ``subtotal`` = round(price × quantity × (1 − discount/100)).

    A unit price alone cannot always do it (7 units of 0.8186 don't exist at 2 decimals):
    the price is then rounded up and a small discount takes the remainder.
    """
    zero = Decimal(0)
    if quantity <= 0:
        return zero, zero
    sign = -1 if subtotal < 0 else 1
    magnitude = abs(subtotal)
    price = round_money(magnitude / quantity, price_digits)
    if round_money(price * quantity, digits) == magnitude:
        return sign * price, zero
    price_up = (magnitude / quantity).quantize(
        Decimal(1).scaleb(-price_digits), rounding=ROUND_CEILING
    )
    gross = price_up * quantity
    discount = round_money((1 - magnitude / gross) * 100, discount_digits)
    step = Decimal(1).scaleb(-discount_digits)
    for candidate in (discount, discount - step, discount + step):
        if round_money(gross * (1 - candidate / 100), digits) == magnitude:
            return sign * price_up, candidate
    return sign * price, zero


def round_money(amount: Decimal, digits: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
