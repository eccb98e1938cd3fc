"""Orders v0 order JSON (items attached under ``"OrderItems"``) -> :class:`~.types.Order`.

The same :class:`~.types.Order` as :func:`.parsing.parse_order` gives for the same Amazon
order; shared checks and readers live in :mod:`.parsing`.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from . import const
from .errors import OrderParseError
from .parsing import (
    ZERO,
    _check_dates,
    _check_item_amounts,
    _Ctx,
    _first_currency,
    _json_kind,
    _upper,
)
from .types import Address, Buyer, Order, OrderItem, TaxRegistration

# --- Orders v0 --------------------------------------------------------------


def _address_v0(ctx, data, path):
    if not data:
        return None
    return Address(
        name=ctx.text(data, "Name", f"{path}.Name"),
        company_name=ctx.text(data, "CompanyName", f"{path}.CompanyName"),
        line1=ctx.text(data, "AddressLine1", f"{path}.AddressLine1"),
        line2=ctx.text(data, "AddressLine2", f"{path}.AddressLine2"),
        line3=ctx.text(data, "AddressLine3", f"{path}.AddressLine3"),
        city=ctx.text(data, "City", f"{path}.City"),
        district=ctx.text(data, "District", f"{path}.District")
        or ctx.text(data, "County", f"{path}.County"),
        state=ctx.text(data, "StateOrRegion", f"{path}.StateOrRegion"),
        postal_code=ctx.text(data, "PostalCode", f"{path}.PostalCode"),
        country_code=ctx.text(data, "CountryCode", f"{path}.CountryCode"),
        phone=ctx.text(data, "Phone", f"{path}.Phone"),
        address_type=_upper(ctx.text(data, "AddressType", f"{path}.AddressType")),
    )


def _money_v0(ctx, container, key, path):
    value = container.get(key) if isinstance(container, dict) else None
    if value is None:
        return ZERO, False
    return ctx.money(value, f"{path}.{key}", "Amount", "CurrencyCode"), True


def _parse_item_v0(ctx, raw, index, status):
    path = f"OrderItems[{index}]"
    if not isinstance(raw, dict):
        ctx.fail(path, f"expected an object, got {_json_kind(raw)}")
    item_id = ctx.text(raw, "OrderItemId", f"{path}.OrderItemId")
    if not item_id:
        ctx.fail(f"{path}.OrderItemId", "missing")
    qty = ctx.integer(raw, "QuantityOrdered", f"{path}.QuantityOrdered", required=True)
    shipped = ctx.integer(raw, "QuantityShipped", f"{path}.QuantityShipped") or 0
    if shipped > qty:
        ctx.fail(f"{path}.QuantityShipped", f"shipped {shipped} exceeds ordered {qty}")
    amounts = {}
    for field_name, key in (
        ("item_price", "ItemPrice"),
        ("item_tax", "ItemTax"),
        ("shipping_price", "ShippingPrice"),
        ("shipping_tax", "ShippingTax"),
        ("shipping_discount", "ShippingDiscount"),
        ("shipping_discount_tax", "ShippingDiscountTax"),
        ("promotion_discount", "PromotionDiscount"),
        ("promotion_discount_tax", "PromotionDiscountTax"),
    ):
        amount, _present = _money_v0(ctx, raw, key, path)
        amounts[field_name] = abs(amount) if "discount" in field_name else amount
    item_price_present = isinstance(raw.get("ItemPrice"), dict)
    unit_price = None
    if item_price_present and qty:
        unit_price = amounts["item_price"] / qty
        exponent = amounts["item_price"].as_tuple().exponent
        if unit_price.as_tuple().exponent < exponent:
            unit_price = unit_price.quantize(Decimal(1).scaleb(exponent))
    buyer_info = ctx.obj(raw, "BuyerInfo", f"{path}.BuyerInfo") or {}
    amounts["gift_wrap_price"], _ = _money_v0(ctx, buyer_info, "GiftWrapPrice", f"{path}.BuyerInfo")
    amounts["gift_wrap_tax"], _ = _money_v0(ctx, buyer_info, "GiftWrapTax", f"{path}.BuyerInfo")
    _check_item_amounts(ctx, path, unit_price, amounts)
    cancelled = qty - shipped if status == const.STATUS_CANCELLED else 0
    return OrderItem(
        item_id=item_id,
        sku=ctx.text(raw, "SellerSKU", f"{path}.SellerSKU"),
        asin=ctx.text(raw, "ASIN", f"{path}.ASIN"),
        title=ctx.text(raw, "Title", f"{path}.Title"),
        quantity_ordered=qty,
        quantity_shipped=shipped,
        quantity_cancelled=cancelled,
        unit_price=unit_price,
        gift_message=ctx.text(buyer_info, "GiftMessageText") or None,
        gift_wrap_level=ctx.text(buyer_info, "GiftWrapLevel") or None,
        condition_type=_upper(ctx.text(raw, "ConditionId", f"{path}.ConditionId")),
        condition_subtype=_upper(ctx.text(raw, "ConditionSubtypeId", f"{path}.ConditionSubtypeId")),
        condition_note=ctx.text(raw, "ConditionNote", f"{path}.ConditionNote") or None,
        serial_numbers=tuple(
            str(s) for s in ctx.lst(raw, "SerialNumbers", f"{path}.SerialNumbers") if s
        ),
        promotion_ids=tuple(
            str(p) for p in ctx.lst(raw, "PromotionIds", f"{path}.PromotionIds") if p
        ),
        **amounts,
    )


def _tax_reading_v0(items, total):
    """Whether the v0 item amounts include their tax, decided from the numbers as for
    v2026 proceeds, but over the whole order: v0 has no total per item, only
    ``OrderTotal``. True when the charges add up to it, False when charges + taxes do,
    None when there is no tax, no ``OrderTotal``, or neither reading adds up (charges
    v0 does not itemize, such as a COD fee, are in ``OrderTotal`` only): the marketplace
    rule then decides, as before."""
    if total is None:
        return None
    charged = taxes = ZERO
    for item in items:
        charged += (
            item.item_price
            - item.promotion_discount
            + item.shipping_price
            - item.shipping_discount
            + item.gift_wrap_price
        )
        taxes += (
            item.item_tax
            - item.promotion_discount_tax
            + item.shipping_tax
            - item.shipping_discount_tax
            + item.gift_wrap_tax
        )
    if not taxes:
        return None
    if charged == total:
        return True
    if charged + taxes == total:
        return False
    return None


def _v0_registration_type(name):
    """v0 TaxClassifications names ("VATNumber", "CSTNumber") -> v2026 style ("VAT")."""
    if not name:
        return None
    name = name.strip()
    if name.endswith("Number") and len(name) > len("Number"):
        name = name[: -len("Number")]
    return name.upper()


def parse_order_v0(raw):
    """Orders v0 order dict with ``"OrderItems"`` attached -> :class:`~.types.Order`."""
    if not isinstance(raw, dict):
        raise OrderParseError(None, "order", f"expected an object, got {_json_kind(raw)}")
    order_id = raw.get("AmazonOrderId")
    if not order_id or not isinstance(order_id, str):
        raise OrderParseError(None, "AmazonOrderId", "missing or not a string")
    ctx = _Ctx(order_id)
    raw_status = raw.get("OrderStatus")
    status = const.V0_STATUS_MAP.get(raw_status)
    if status is None:
        ctx.fail("OrderStatus", f"missing or unknown status {raw_status!r}")
    channel = raw.get("FulfillmentChannel")
    if channel not in (const.CHANNEL_AFN, const.CHANNEL_MFN):
        ctx.fail("FulfillmentChannel", f"missing or unknown value {channel!r}")
    items_raw = raw.get("OrderItems")
    if not isinstance(items_raw, list):
        ctx.fail("OrderItems", "missing or not a list (attach getOrderItems' items)")
    total = None
    if raw.get("OrderTotal") is not None:
        total = ctx.money(raw.get("OrderTotal"), "OrderTotal", "Amount", "CurrencyCode")
    if ctx.currency is None:
        ctx.currency = _first_currency(raw, "Amount", "CurrencyCode")
    purchase_date = ctx.date(raw, "PurchaseDate", "PurchaseDate")
    last_update = ctx.date(raw, "LastUpdateDate", "LastUpdateDate")
    _check_dates(ctx, purchase_date, last_update, "PurchaseDate")
    items = tuple(_parse_item_v0(ctx, item, index, status) for index, item in enumerate(items_raw))
    reading = _tax_reading_v0(items, total)
    if reading is not None:
        items = tuple(dataclasses.replace(item, tax_included=reading) for item in items)
    buyer_info = ctx.obj(raw, "BuyerInfo", "BuyerInfo") or {}
    tax_info = ctx.obj(buyer_info, "BuyerTaxInfo", "BuyerInfo.BuyerTaxInfo") or {}
    company = ctx.text(tax_info, "CompanyLegalName", "BuyerInfo.BuyerTaxInfo.CompanyLegalName")
    buyer = None
    if any(buyer_info.get(k) for k in ("BuyerName", "BuyerEmail", "PurchaseOrderNumber")) or (
        company
    ):
        buyer = Buyer(
            name=ctx.text(buyer_info, "BuyerName", "BuyerInfo.BuyerName") or None,
            email=ctx.text(buyer_info, "BuyerEmail", "BuyerInfo.BuyerEmail") or None,
            company_name=company or None,
            purchase_order_number=ctx.text(
                buyer_info, "PurchaseOrderNumber", "BuyerInfo.PurchaseOrderNumber"
            )
            or None,
        )
    registrations = []
    for tc in ctx.lst(tax_info, "TaxClassifications", "BuyerInfo.BuyerTaxInfo.TaxClassifications"):
        if isinstance(tc, dict) and tc.get("Value"):
            registrations.append(
                TaxRegistration(
                    entity_type="BUYER",
                    registration_type=_v0_registration_type(ctx.text(tc, "Name")),
                    number=ctx.text(tc, "Value"),
                    legal_name=company,
                )
            )
    tax_information = ctx.obj(raw, "BuyerTaxInformation", "BuyerTaxInformation") or {}
    if tax_information.get("BuyerTaxRegistrationId"):
        registrations.append(
            TaxRegistration(
                entity_type="BUYER",
                registration_type="VAT",
                number=ctx.text(tax_information, "BuyerTaxRegistrationId"),
                legal_name=ctx.text(tax_information, "BuyerLegalCompanyName"),
            )
        )
    is_business = raw.get("IsBusinessOrder") is True or bool(company)
    return Order(
        order_id=order_id,
        marketplace_id=ctx.text(raw, "MarketplaceId", "MarketplaceId"),
        channel=channel,
        status=status,
        purchase_date=purchase_date,
        last_update_date=last_update,
        currency=ctx.currency,
        total=total,
        items=items,
        buyer=buyer,
        recipient=_address_v0(
            ctx, ctx.obj(raw, "ShippingAddress", "ShippingAddress"), "ShippingAddress"
        ),
        is_business=is_business,
        is_prime=raw.get("IsPrime") is True,
        seller_order_id=ctx.text(raw, "SellerOrderId", "SellerOrderId"),
        ship_service_level=ctx.text(raw, "ShipServiceLevel", "ShipServiceLevel"),
        tax_registrations=tuple(registrations),
        source="v0",
        raw_status=raw_status,
        extra={"sales_channel": raw.get("SalesChannel"), "ship_by": raw.get("LatestShipDate")},
    )
