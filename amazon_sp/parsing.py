"""Amazon order JSON -> :class:`~.types.Order`.

``parse_order`` reads an Orders v2026-01-01 order; ``parse_order_v0`` (in
:mod:`.parsing_v0`) reads a v0 order with its items attached under ``"OrderItems"``
(and, when obtained with a Restricted Data Token, ``BuyerInfo``/``ShippingAddress``).
Both give the same
:class:`~.types.Order` for the same Amazon order.

Money conventions of v2026 (the project's reading of the model, see the sandbox
brief "How money must look"): ``product.price.unitPrice`` is the displayed unit
price; item ``proceeds.breakdowns`` carry ``ITEM`` (unit price x quantity),
``SHIPPING``, ``GIFT_WRAP``, ``DISCOUNT`` (negative; detailed ``ITEM`` = promotion,
``SHIPPING`` = shipping discount) and ``TAX`` (detailed ``ITEM``/``SHIPPING``/
``GIFT_WRAP``). Discounts become positive magnitudes.

Missing optional data gives None/0/(); structurally invalid data raises
:class:`~.errors.OrderParseError` naming the order id and the field path.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from . import const
from .errors import FulfilledByUnknownError, OrderParseError
from .types import Address, Buyer, Order, OrderItem, TaxRegistration

ZERO = Decimal(0)
DATE_SKEW = timedelta(days=1)  # clock skew tolerated between createdTime and lastUpdatedTime
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def _json_kind(value):
    """The JSON name of a value's type, for error messages sellers read ("got null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def parse_datetime(value):
    """ISO 8601 string -> naive UTC datetime (naive input is taken as timezone.utc).

    Raises ValueError when the value is not a parseable date-time.
    """
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {_json_kind(value)}")
    match = _ISO_RE.match(value.strip())
    if not match:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    moment = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
    )
    if offset and offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        tz = timezone(timedelta(minutes=minutes))
        moment = moment.replace(tzinfo=tz).astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def format_datetime(moment):
    """datetime (naive = UTC) -> ISO 8601 'YYYY-MM-DDTHH:MM:SSZ'; a string is passed on."""
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat() + "Z"


def _decimal(value):
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, (int, Decimal)):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {value!r}") from None
    else:
        raise TypeError(f"not a decimal amount: {_json_kind(value)}")
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


class _Ctx:
    """Per-order parsing context: order id for messages and the currency check."""

    def __init__(self, order_id):
        self.order_id = order_id
        self.currency = None

    def fail(self, field, problem):
        raise OrderParseError(self.order_id, field, problem)

    def obj(self, container, key, path):
        """Optional nested object: dict or None; anything else is invalid."""
        value = container.get(key) if isinstance(container, dict) else None
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {_json_kind(value)}")
        return value

    def lst(self, container, key, path):
        value = container.get(key) if isinstance(container, dict) else None
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_json_kind(value)}")
        return value

    def text(self, container, key, path=None):
        value = container.get(key) if isinstance(container, dict) else None
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.fail(path or key, f"expected a string, got {_json_kind(value)}")
        return value

    def integer(self, container, key, path, required=False):
        value = container.get(key) if isinstance(container, dict) else None
        if value is None:
            if required:
                self.fail(path, "missing")
            return None
        if isinstance(value, bool):
            self.fail(path, "expected an integer, got a boolean")
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int) or value < 0:
            self.fail(path, f"expected a non-negative integer, got {value!r}")
        return value

    def date(self, container, key, path, required=True):
        value = container.get(key) if isinstance(container, dict) else None
        if value is None:
            if required:
                self.fail(path, "missing")
            return None
        try:
            return parse_datetime(value)
        except (TypeError, ValueError) as exc:
            self.fail(path, str(exc))

    def money(self, value, path, amount_key="amount", currency_key="currencyCode"):
        """Money object -> Decimal (None when absent); checks the currency."""
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(path, f"expected a money object, got {_json_kind(value)}")
        raw_amount = value.get(amount_key)
        if raw_amount is None:
            self.fail(f"{path}.{amount_key}", "missing")
        try:
            amount = _decimal(raw_amount)
        except (TypeError, ValueError) as exc:
            self.fail(f"{path}.{amount_key}", str(exc))
        currency = value.get(currency_key)
        if currency is not None:
            if not isinstance(currency, str) or not currency.strip():
                self.fail(f"{path}.{currency_key}", f"invalid currency {currency!r}")
            currency = currency.strip().upper()
            if self.currency is None:
                self.currency = currency
            elif currency != self.currency:
                self.fail(
                    f"{path}.{currency_key}",
                    f"mixed currencies: {currency} in an order in {self.currency}",
                )
        return amount


def _first_currency(node, amount_key, currency_key):
    """Depth-first search of the first money object's currency (order currency
    when there is no grand total)."""
    if isinstance(node, dict):
        if amount_key in node and isinstance(node.get(currency_key), str):
            return node[currency_key].strip().upper() or None
        for value in node.values():
            found = _first_currency(value, amount_key, currency_key)
            if found:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _first_currency(value, amount_key, currency_key)
            if found:
                return found
    return None


def _address_v2026(ctx, data, path):
    if not data:
        return None
    return Address(
        name=ctx.text(data, "name", f"{path}.name"),
        company_name=ctx.text(data, "companyName", f"{path}.companyName"),
        line1=ctx.text(data, "addressLine1", f"{path}.addressLine1"),
        line2=ctx.text(data, "addressLine2", f"{path}.addressLine2"),
        line3=ctx.text(data, "addressLine3", f"{path}.addressLine3"),
        city=ctx.text(data, "city", f"{path}.city"),
        district=ctx.text(data, "districtOrCounty", f"{path}.districtOrCounty"),
        state=ctx.text(data, "stateOrRegion", f"{path}.stateOrRegion"),
        postal_code=ctx.text(data, "postalCode", f"{path}.postalCode"),
        country_code=ctx.text(data, "countryCode", f"{path}.countryCode"),
        phone=ctx.text(data, "phone", f"{path}.phone"),
        address_type=_upper(ctx.text(data, "addressType", f"{path}.addressType")),
    )


def _upper(value):
    return value.strip().upper().replace(" ", "_") if isinstance(value, str) and value else None


def _split_discount_tax(amounts, discount_tax):
    """v2026 reports one TAX/DISCOUNT value for both discounts: give it to the discount
    present, or split it pro rata (rounded at the amount's precision, remainder to the
    shipping discount) when there are both."""
    promotion, shipping = amounts["promotion_discount"], amounts["shipping_discount"]
    if not shipping:
        amounts["promotion_discount_tax"] += discount_tax
    elif not promotion:
        amounts["shipping_discount_tax"] += discount_tax
    else:
        exponent = Decimal(1).scaleb(min(discount_tax.as_tuple().exponent, 0))
        part = (discount_tax * promotion / (promotion + shipping)).quantize(exponent)
        amounts["promotion_discount_tax"] += part
        amounts["shipping_discount_tax"] += discount_tax - part


def _check_item_amounts(ctx, path, unit_price, amounts):
    """Amounts Amazon never sends: a negative price, a discount larger than what it
    discounts. Such an order would become a sale order with a negative line or total."""
    if unit_price is not None and unit_price < 0:
        ctx.fail(f"{path}.price", f"negative unit price {unit_price}")
    if amounts["item_price"] < 0:
        ctx.fail(f"{path}.price", f"negative item price {amounts['item_price']}")
    if amounts["promotion_discount"] > amounts["item_price"]:
        ctx.fail(
            f"{path}.promotion",
            f"promotion discount {amounts['promotion_discount']} exceeds the item price "
            f"{amounts['item_price']}",
        )


def _check_dates(ctx, purchase_date, last_update, created_key):
    """An order created after its last update (beyond clock skew) has a wrong date."""
    if purchase_date and last_update and purchase_date - last_update > DATE_SKEW:
        ctx.fail(
            created_key,
            f"created {purchase_date:%Y-%m-%d %H:%M} UTC, after its last update "
            f"{last_update:%Y-%m-%d %H:%M} UTC",
        )


def _parse_item_v2026(ctx, raw, index, order_status):
    path = f"orderItems[{index}]"
    if not isinstance(raw, dict):
        ctx.fail(path, f"expected an object, got {_json_kind(raw)}")
    item_id = ctx.text(raw, "orderItemId", f"{path}.orderItemId")
    if not item_id:
        ctx.fail(f"{path}.orderItemId", "missing")
    qty = ctx.integer(raw, "quantityOrdered", f"{path}.quantityOrdered", required=True)
    product = ctx.obj(raw, "product", f"{path}.product") or {}
    condition = ctx.obj(product, "condition", f"{path}.product.condition") or {}
    price = ctx.obj(product, "price", f"{path}.product.price") or {}
    unit_price = ctx.money(price.get("unitPrice"), f"{path}.product.price.unitPrice")

    amounts = {
        "item_price": ZERO,
        "item_tax": ZERO,
        "shipping_price": ZERO,
        "shipping_tax": ZERO,
        "shipping_discount": ZERO,
        "shipping_discount_tax": ZERO,
        "promotion_discount": ZERO,
        "promotion_discount_tax": ZERO,
        "gift_wrap_price": ZERO,
        "gift_wrap_tax": ZERO,
        "cod_fee": ZERO,
        "cod_fee_tax": ZERO,
        "other_charge": ZERO,
        "other_charge_tax": ZERO,
    }
    proceeds = ctx.obj(raw, "proceeds", f"{path}.proceeds")
    has_item_line = False
    discount_tax = ZERO
    charged = tax_total = ZERO  # sum of the non-TAX breakdowns; TAX subtotals
    proceeds_total = None
    if proceeds is not None:
        proceeds_total = ctx.money(proceeds.get("proceedsTotal"), f"{path}.proceeds.proceedsTotal")
        for b_index, breakdown in enumerate(
            ctx.lst(proceeds, "breakdowns", f"{path}.proceeds.breakdowns")
        ):
            b_path = f"{path}.proceeds.breakdowns[{b_index}]"
            if not isinstance(breakdown, dict):
                ctx.fail(b_path, "expected an object")
            kind = ctx.text(breakdown, "type", f"{b_path}.type")
            subtotal = ctx.money(breakdown.get("subtotal"), f"{b_path}.subtotal") or ZERO
            details = {}
            for d_index, detail in enumerate(
                ctx.lst(breakdown, "detailedBreakdowns", f"{b_path}.detailedBreakdowns")
            ):
                d_path = f"{b_path}.detailedBreakdowns[{d_index}]"
                if not isinstance(detail, dict):
                    ctx.fail(d_path, "expected an object")
                subtype = ctx.text(detail, "subtype", f"{d_path}.subtype") or "OTHER"
                value = ctx.money(detail.get("value"), f"{d_path}.value") or ZERO
                details[subtype] = details.get(subtype, ZERO) + value
            if kind == "TAX":
                tax_total += subtotal
            else:
                charged += subtotal
            if kind == "ITEM":
                amounts["item_price"] += subtotal
                has_item_line = True
            elif kind == "SHIPPING":
                amounts["shipping_price"] += subtotal
            elif kind == "GIFT_WRAP":
                amounts["gift_wrap_price"] += subtotal
            elif kind == "COD_FEE":
                amounts["cod_fee"] += subtotal
            elif kind == "OTHER":
                amounts["other_charge"] += subtotal
            elif kind == "DISCOUNT":
                if details:
                    amounts["promotion_discount"] += abs(details.get("ITEM", ZERO))
                    amounts["shipping_discount"] += abs(details.get("SHIPPING", ZERO))
                else:
                    amounts["promotion_discount"] += abs(subtotal)
            elif kind == "TAX":
                if details:
                    amounts["item_tax"] += details.get("ITEM", ZERO)
                    amounts["shipping_tax"] += details.get("SHIPPING", ZERO)
                    amounts["gift_wrap_tax"] += details.get("GIFT_WRAP", ZERO)
                    amounts["cod_fee_tax"] += details.get("COD_FEE", ZERO)
                    amounts["other_charge_tax"] += details.get("OTHER", ZERO)
                    discount_tax += abs(details.get("DISCOUNT", ZERO))
                else:
                    amounts["item_tax"] += subtotal
    if discount_tax:
        _split_discount_tax(amounts, discount_tax)
    if not has_item_line and unit_price is not None:
        # PROCEEDS not requested/returned: the line total is the displayed unit price
        # times the quantity (Amazon's own ITEM definition).
        amounts["item_price"] = unit_price * qty

    _check_item_amounts(ctx, path, unit_price, amounts)
    tax_included = None
    if proceeds_total is not None and tax_total:
        if charged == proceeds_total:
            tax_included = True
        elif charged + tax_total == proceeds_total:
            tax_included = False

    fulfillment = ctx.obj(raw, "fulfillment", f"{path}.fulfillment") or {}
    shipped = ctx.integer(fulfillment, "quantityFulfilled", f"{path}.fulfillment.quantityFulfilled")
    unshipped = ctx.integer(
        fulfillment, "quantityUnfulfilled", f"{path}.fulfillment.quantityUnfulfilled"
    )
    if shipped is not None or unshipped is not None:
        shipped = shipped or 0
        cancelled = qty - shipped - (unshipped or 0)
        if cancelled < 0:
            ctx.fail(
                f"{path}.fulfillment",
                f"fulfilled {shipped} + unfulfilled {unshipped or 0} exceed ordered {qty}",
            )
    else:
        shipped = qty if order_status == const.STATUS_SHIPPED else 0
        cancelled = qty if order_status == const.STATUS_CANCELLED else 0
    packing = ctx.obj(fulfillment, "packing", f"{path}.fulfillment.packing") or {}
    gift = ctx.obj(packing, "giftOption", f"{path}.fulfillment.packing.giftOption") or {}

    serials = tuple(
        str(s) for s in ctx.lst(product, "serialNumbers", f"{path}.product.serialNumbers") if s
    )
    promotion = ctx.obj(raw, "promotion", f"{path}.promotion") or {}
    promotion_ids = tuple(
        p["promotionId"]
        for p in ctx.lst(promotion, "breakdowns", f"{path}.promotion.breakdowns")
        if isinstance(p, dict) and p.get("promotionId")
    )
    return OrderItem(
        item_id=item_id,
        sku=ctx.text(product, "sellerSku", f"{path}.product.sellerSku"),
        asin=ctx.text(product, "asin", f"{path}.product.asin"),
        title=ctx.text(product, "title", f"{path}.product.title"),
        quantity_ordered=qty,
        quantity_shipped=shipped,
        quantity_cancelled=cancelled,
        unit_price=unit_price,
        gift_message=ctx.text(gift, "giftMessage") or None,
        gift_wrap_level=ctx.text(gift, "giftWrapLevel") or None,
        condition_type=_upper(ctx.text(condition, "conditionType")),
        condition_subtype=_upper(ctx.text(condition, "conditionSubtype")),
        condition_note=ctx.text(condition, "conditionNote") or None,
        serial_numbers=serials,
        promotion_ids=promotion_ids,
        proceeds_total=proceeds_total,
        tax_included=tax_included,
        **amounts,
    )


def _channel(ctx, raw, fulfillment, fulfilled_by):
    """(channel, how it was decided). ``fulfillment.fulfilledBy`` is optional in Amazon's
    model: without it, the search's own filter (``fulfilled_by``) decides, else packages
    (Amazon's model: "only available for merchant-fulfilled orders"); else the order
    cannot be placed here (:class:`~.errors.FulfilledByUnknownError`)."""
    value = fulfillment.get("fulfilledBy")
    source = "data"
    if value is None and fulfilled_by:
        value, source = fulfilled_by, "query"
    if value is None and ctx.lst(raw, "packages", "packages"):
        value, source = "MERCHANT", "packages"
    if value == "AMAZON":
        return const.CHANNEL_AFN, source
    if value == "MERCHANT":
        return const.CHANNEL_MFN, source
    if value is None:
        raise FulfilledByUnknownError(
            ctx.order_id, "fulfillment.fulfilledBy", "missing: cannot tell FBA from FBM"
        )
    ctx.fail("fulfillment.fulfilledBy", f"unknown value {value!r}")


def _delivery_tip(ctx, proceeds):
    tip, status = ZERO, None
    for index, breakdown in enumerate(ctx.lst(proceeds, "breakdowns", "proceeds.breakdowns")):
        if isinstance(breakdown, dict) and breakdown.get("type") == "DELIVERY_TIP":
            b_path = f"proceeds.breakdowns[{index}]"
            tip += ctx.money(breakdown.get("subtotal"), f"{b_path}.subtotal") or ZERO
            status = ctx.text(breakdown, "status", f"{b_path}.status") or status
    return tip, status


def parse_order(raw, fulfilled_by=None):
    """Orders v2026-01-01 order dict -> :class:`~.types.Order`. ``fulfilled_by``
    ("AMAZON"/"MERCHANT"): what the search that found it filtered on, used when the order
    does not say."""
    if not isinstance(raw, dict):
        raise OrderParseError(None, "order", f"expected an object, got {_json_kind(raw)}")
    order_id = raw.get("orderId")
    if not order_id or not isinstance(order_id, str):
        raise OrderParseError(None, "orderId", "missing or not a string")
    ctx = _Ctx(order_id)

    fulfillment = ctx.obj(raw, "fulfillment", "fulfillment") or {}
    channel, channel_source = _channel(ctx, raw, fulfillment, fulfilled_by)
    raw_status = fulfillment.get("fulfillmentStatus")
    if raw_status not in const.ORDER_STATUSES:
        ctx.fail("fulfillment.fulfillmentStatus", f"missing or unknown status {raw_status!r}")

    items_raw = raw.get("orderItems")
    if not isinstance(items_raw, list):
        ctx.fail("orderItems", "missing or not a list")

    proceeds = ctx.obj(raw, "proceeds", "proceeds") or {}
    grand_total = proceeds.get("grandTotal")
    total = ctx.money(grand_total, "proceeds.grandTotal")
    delivery_tip, tip_status = _delivery_tip(ctx, proceeds)
    if ctx.currency is None:
        ctx.currency = _first_currency(raw, "amount", "currencyCode")

    sales_channel = ctx.obj(raw, "salesChannel", "salesChannel") or {}
    purchase_date = ctx.date(raw, "createdTime", "createdTime")
    last_update = ctx.date(raw, "lastUpdatedTime", "lastUpdatedTime")
    _check_dates(ctx, purchase_date, last_update, "createdTime")
    items = tuple(
        _parse_item_v2026(ctx, item, index, raw_status) for index, item in enumerate(items_raw)
    )

    programs = tuple(p for p in ctx.lst(raw, "programs", "programs") if isinstance(p, str))
    buyer_raw = ctx.obj(raw, "buyer", "buyer")
    buyer = None
    if buyer_raw:
        buyer = Buyer(
            name=ctx.text(buyer_raw, "buyerName", "buyer.buyerName") or None,
            email=ctx.text(buyer_raw, "buyerEmail", "buyer.buyerEmail") or None,
            company_name=ctx.text(buyer_raw, "buyerCompanyName", "buyer.buyerCompanyName") or None,
            purchase_order_number=ctx.text(
                buyer_raw, "buyerPurchaseOrderNumber", "buyer.buyerPurchaseOrderNumber"
            )
            or None,
        )
    recipient = ctx.obj(raw, "recipient", "recipient") or {}
    address = _address_v2026(
        ctx,
        ctx.obj(recipient, "deliveryAddress", "recipient.deliveryAddress"),
        "recipient.deliveryAddress",
    )
    seller_order_id = None
    for index, alias in enumerate(ctx.lst(raw, "orderAliases", "orderAliases")):
        if isinstance(alias, dict) and alias.get("aliasType") == "SELLER_ORDER_ID":
            seller_order_id = ctx.text(alias, "aliasId", f"orderAliases[{index}].aliasId")
            break
    tax = ctx.obj(raw, "tax", "tax") or {}
    registrations = []
    for index, reg in enumerate(ctx.lst(tax, "taxRegistrations", "tax.taxRegistrations")):
        r_path = f"tax.taxRegistrations[{index}]"
        if not isinstance(reg, dict):
            ctx.fail(r_path, "expected an object")
        registrations.append(
            TaxRegistration(
                entity_type=ctx.text(reg, "entityType", f"{r_path}.entityType"),
                registration_type=ctx.text(
                    reg, "taxRegistrationType", f"{r_path}.taxRegistrationType"
                ),
                number=ctx.text(reg, "taxRegistrationNumber", f"{r_path}.taxRegistrationNumber"),
                legal_name=ctx.text(reg, "legalName", f"{r_path}.legalName"),
            )
        )
    is_business = "AMAZON_BUSINESS" in programs or bool(buyer and buyer.company_name)
    return Order(
        order_id=order_id,
        marketplace_id=ctx.text(sales_channel, "marketplaceId", "salesChannel.marketplaceId"),
        channel=channel,
        status=raw_status,
        purchase_date=purchase_date,
        last_update_date=last_update,
        currency=ctx.currency,
        total=total,
        items=items,
        buyer=buyer,
        recipient=address,
        is_business=is_business,
        is_prime="PRIME" in programs,
        seller_order_id=seller_order_id,
        ship_service_level=ctx.text(
            fulfillment, "fulfillmentServiceLevel", "fulfillment.fulfillmentServiceLevel"
        ),
        tax_registrations=tuple(registrations),
        source="v2026",
        delivery_tip=delivery_tip,
        delivery_tip_status=tip_status,
        channel_source=channel_source,
        raw_status=raw_status,
        extra={
            "programs": programs,
            "marketplace_name": sales_channel.get("marketplaceName"),
            "ship_by": (fulfillment.get("shipByWindow") or {}).get("latestDateTime"),
        },
    )
