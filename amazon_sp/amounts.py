"""What a buyer was charged, line by line: the pure money logic of the order sync.

An Amazon order becomes a list of :class:`Charge` (item, shipping, shipping
discount, gift wrap, promotion), each with the amount Amazon charged and the tax
Amazon reported on it, in Decimal. The Odoo layer turns each charge into a sale
order line and uses :func:`target_gross`, :func:`line_subtotal` and
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


@dataclass(frozen=True)
class Charge:
    kind: str
    item_id: str | None
    quantity: int
    amount: Decimal  # as Amazon charged it (tax included on tax-included marketplaces)
    tax: Decimal  # tax Amazon reported on that amount (same sign as amount)


def order_charges(order: Order) -> list[Charge]:
    """Every chargeable line of ``order``; amounts that are zero are left out.

    Items keep their own line (one per Amazon order item). Shipping, shipping
    discounts and gift wrap are summed over the order; promotions stay per item
    so that each discount carries the taxes of the product it reduces.
    """
    charges: list[Charge] = []
    shipping = shipping_tax = ship_disc = ship_disc_tax = wrap = wrap_tax = ZERO
    for item in order.items:
        quantity = item.quantity_ordered - item.quantity_cancelled
        if quantity > 0 or item.item_price:
            charges.append(
                Charge(KIND_ITEM, item.item_id, max(quantity, 0), item.item_price, item.item_tax)
            )
        if item.promotion_discount:
            charges.append(
                Charge(
                    KIND_PROMOTION,
                    item.item_id,
                    1,
                    -item.promotion_discount,
                    -item.promotion_discount_tax,
                )
            )
        shipping += item.shipping_price
        shipping_tax += item.shipping_tax
        ship_disc += item.shipping_discount
        ship_disc_tax += item.shipping_discount_tax
        wrap += item.gift_wrap_price
        wrap_tax += item.gift_wrap_tax
    if shipping:
        charges.append(Charge(KIND_SHIPPING, None, 1, shipping, shipping_tax))
    if ship_disc:
        charges.append(Charge(KIND_SHIPPING_DISCOUNT, None, 1, -ship_disc, -ship_disc_tax))
    if wrap:
        charges.append(Charge(KIND_GIFT_WRAP, None, 1, wrap, wrap_tax))
    return charges


def target_gross(charge: Charge, *, tax_included: bool, has_taxes: bool) -> Decimal:
    """What the Odoo line must total, taxes included.

    On marketplaces whose prices include tax, the charged amount already holds the
    tax. Elsewhere (US, CA) Amazon adds its tax on top: it belongs in the line only
    when Odoo taxes the line too; otherwise Amazon collected it for itself
    (marketplace facilitator) and the seller's line is the net amount.
    """
    if tax_included or not has_taxes:
        return charge.amount
    return charge.amount + charge.tax


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
