"""Typed, Odoo-free structures the client layer hands to the Odoo models.

Every Amazon order, whichever API version it came from (Orders v2026-01-01 or
v0), is parsed into one :class:`Order`. Money is :class:`~decimal.Decimal` in the
order's currency; dates are naive UTC :class:`~datetime.datetime` (Odoo's
convention). Optional data Amazon did not send is ``None`` (or an empty tuple).

Amount conventions (identical for both API versions):

* ``OrderItem.item_price`` is the total selling price of the line (all units),
  as Amazon charges it: tax included on marketplaces whose prices include tax,
  tax excluded elsewhere; ``item_tax`` is the tax Amazon reports on it.
* ``shipping_price``/``gift_wrap_price`` likewise, with their taxes.
* Discounts (``promotion_discount``, ``shipping_discount``) are positive
  magnitudes, with their taxes (also positive).
* Whether an amount includes its tax is decided per item from Amazon's own numbers
  (``OrderItem.tax_included``), not from the marketplace: Amazon's models allow both
  readings of v2026 proceeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Address:
    name: str | None = None
    company_name: str | None = None
    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    city: str | None = None
    district: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None
    address_type: str | None = None  # RESIDENTIAL / COMMERCIAL / PICKUP_POINT


@dataclass(frozen=True)
class Buyer:
    name: str | None = None
    email: str | None = None
    company_name: str | None = None
    purchase_order_number: str | None = None


@dataclass(frozen=True)
class TaxRegistration:
    entity_type: str | None = None  # BUYER / MERCHANT / MARKETPLACE
    registration_type: str | None = None  # VAT, BUSINESS, CNPJ...
    number: str | None = None
    legal_name: str | None = None


@dataclass(frozen=True)
class OrderItem:
    item_id: str
    sku: str | None
    asin: str | None
    title: str | None
    quantity_ordered: int
    quantity_shipped: int = 0
    quantity_cancelled: int = 0
    unit_price: Decimal | None = None
    item_price: Decimal = Decimal(0)
    item_tax: Decimal = Decimal(0)
    shipping_price: Decimal = Decimal(0)
    shipping_tax: Decimal = Decimal(0)
    shipping_discount: Decimal = Decimal(0)
    shipping_discount_tax: Decimal = Decimal(0)
    promotion_discount: Decimal = Decimal(0)
    promotion_discount_tax: Decimal = Decimal(0)
    gift_wrap_price: Decimal = Decimal(0)
    gift_wrap_tax: Decimal = Decimal(0)
    gift_message: str | None = None
    gift_wrap_level: str | None = None
    condition_type: str | None = None  # NEW, USED, COLLECTIBLE, REFURBISHED...
    condition_subtype: str | None = None
    condition_note: str | None = None
    serial_numbers: tuple[str, ...] = ()
    promotion_ids: tuple[str, ...] = ()
    cod_fee: Decimal = Decimal(0)  # cash-on-delivery fee (v2026 COD_FEE), with its tax
    cod_fee_tax: Decimal = Decimal(0)
    other_charge: Decimal = Decimal(0)  # v2026 OTHER proceeds, with its tax
    other_charge_tax: Decimal = Decimal(0)
    proceeds_total: Decimal | None = None  # v2026 item proceedsTotal as Amazon stated it
    # True: the amounts above include their tax (sum of breakdowns = proceedsTotal);
    # False: the tax comes on top (sum + TAX = proceedsTotal); None: the numbers do not
    # tell (no tax, no proceeds, v0, or neither reading adds up: the caller's rule applies)
    tax_included: bool | None = None


@dataclass(frozen=True)
class Order:
    order_id: str
    marketplace_id: str | None
    channel: str  # "AFN" (fulfilled by Amazon) or "MFN" (by the merchant)
    status: str  # one of const.ORDER_STATUSES (v2026 spelling)
    purchase_date: datetime  # naive UTC
    last_update_date: datetime  # naive UTC
    currency: str | None
    total: Decimal | None
    items: tuple[OrderItem, ...]
    buyer: Buyer | None = None
    recipient: Address | None = None
    is_business: bool = False
    is_prime: bool = False
    seller_order_id: str | None = None
    ship_service_level: str | None = None
    tax_registrations: tuple[TaxRegistration, ...] = ()
    source: str = "v2026"  # "v2026" or "v0": which API the data came from
    delivery_tip: Decimal = Decimal(0)  # order-level DELIVERY_TIP proceeds (v2026)
    delivery_tip_status: str | None = None  # PENDING / FINALIZED
    # how ``channel`` was decided: "data" (fulfilledBy), "query" (the search's filter),
    # "packages" (only merchant orders have packages), "search" (filtered re-search)
    channel_source: str = "data"
    raw_status: str | None = None  # Amazon's spelling, for messages
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class MarketplaceParticipation:
    """One marketplace the seller can sell on (Sellers getMarketplaceParticipations)."""

    marketplace_id: str
    name: str | None
    country_code: str | None
    currency: str | None
    language: str | None
    domain: str | None
    is_participating: bool
