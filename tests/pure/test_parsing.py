"""Parser unit tests: Amazon's own sandbox examples and the project's money rules."""

import copy
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from amazon_sp import const, parse_order, parse_order_v0
from amazon_sp.errors import OrderParseError
from amazon_sp.parsing import parse_datetime

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "sp-api"
MODELS = SHARED / "models"
needs_models = pytest.mark.skipif(
    not (MODELS / "orders_2026-01-01.json").exists(),
    reason="Amazon's models are absent (../shared/sp-api/models beside the repo)",
)


def _examples(model, operation_id, status):
    data = json.loads((MODELS / model).read_text())
    for methods in data["paths"].values():
        for op in methods.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                sandbox = op["responses"][status].get("x-amzn-api-sandbox") or {}
                return [e["response"] for e in sandbox.get("static", [])]
    raise AssertionError(f"{operation_id} not in {model}")


@needs_models
def test_v2026_examples_parse():
    raw_orders = []
    for response in _examples("orders_2026-01-01.json", "searchOrders", "200"):
        raw_orders.extend(response["orders"])
    for response in _examples("orders_2026-01-01.json", "getOrder", "200"):
        raw_orders.append(response["order"])
    assert len(raw_orders) >= 6
    for raw in raw_orders:
        order = parse_order(raw)
        assert order.order_id == raw["orderId"]
        assert order.status in const.ORDER_STATUSES
        assert order.channel in (const.CHANNEL_AFN, const.CHANNEL_MFN)
        assert order.purchase_date.tzinfo is None
        assert order.items and all(isinstance(i.item_price, Decimal) for i in order.items)
        # Amazon's examples keep grandTotal = sum of the items' proceeds.
        total = sum(Decimal(i["proceeds"]["proceedsTotal"]["amount"]) for i in raw["orderItems"])
        assert order.total == total


@needs_models
def test_v2026_examples_fields():
    jp = _examples("orders_2026-01-01.json", "searchOrders", "200")[0]["orders"][0]
    order = parse_order(jp)
    assert (order.channel, order.status, order.currency) == ("AFN", "SHIPPED", "JPY")
    assert order.total == Decimal(19940)
    assert order.seller_order_id == "JP-ORDER-2024-001"
    assert order.is_prime and not order.is_business
    assert order.purchase_date == datetime(2024, 12, 25, 2, 30)
    second = order.items[1]
    assert (second.quantity_ordered, second.quantity_shipped) == (2, 2)
    assert second.unit_price == Decimal(6980) and second.item_price == Decimal(13960)
    assert len(second.serial_numbers) == 2
    assert order.items[0].promotion_ids == ("JP-WINTER-SALE-2024",)
    assert order.items[0].condition_type == "NEW"
    br = _examples("orders_2026-01-01.json", "searchOrders", "200")[2]["orders"][0]
    business = parse_order(br)
    assert business.is_business and business.buyer.company_name
    assert any(r.entity_type == "BUYER" for r in business.tax_registrations)
    gift = parse_order(_examples("orders_2026-01-01.json", "getOrder", "200")[0]["order"])
    assert gift.items[0].gift_message.startswith("Feliz Natal")
    assert gift.items[0].gift_wrap_level == "STANDARD"
    us = parse_order(_examples("orders_2026-01-01.json", "getOrder", "200")[2]["order"])
    assert us.buyer is None
    assert (us.items[0].item_price, us.items[0].item_tax) == (Decimal("39.99"), Decimal("10.00"))


@needs_models
def test_v0_examples_parse():
    order = dict(_examples("ordersV0.json", "getOrder", "200")[0]["payload"])
    order["OrderItems"] = _examples("ordersV0.json", "getOrderItems", "200")[0]["payload"][
        "OrderItems"
    ]
    parsed = parse_order_v0(order)
    assert parsed.source == "v0" and parsed.status == "UNSHIPPED" and parsed.channel == "MFN"
    assert parsed.total == Decimal("11.01") and parsed.currency == "USD"
    item = parsed.items[0]
    assert (item.item_price, item.item_tax, item.unit_price) == (
        Decimal("10.00"),
        Decimal("1.01"),
        Decimal("10.00"),
    )
    for response in _examples("ordersV0.json", "getOrders", "200"):
        for raw in response["payload"]["Orders"]:
            assert parse_order_v0({**raw, "OrderItems": []}).order_id == raw["AmazonOrderId"]
    iba = dict(_examples("ordersV0.json", "getOrder", "200")[1]["payload"], OrderItems=[])
    parsed = parse_order_v0(iba)
    assert parsed.is_business and parsed.status == "SHIPPED" and parsed.channel == "AFN"
    assert parsed.purchase_date == datetime(2019, 5, 7, 15, 42, 57, 58000)


def _money(amount, currency="EUR"):
    return {"amount": amount, "currencyCode": currency}


def _de_order():
    """A German (tax-included) order per the project's money rules."""
    return {
        "orderId": "302-1111111-2222222",
        "orderAliases": [{"aliasId": "SO-1", "aliasType": "SELLER_ORDER_ID"}],
        "createdTime": "2026-03-01T10:00:00+01:00",
        "lastUpdatedTime": "2026-03-01T12:30:15.250Z",
        "programs": ["AMAZON_BUSINESS"],
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
        "buyer": {"buyerName": "Jörg Müller", "buyerCompanyName": "Müller GmbH"},
        "recipient": {
            "deliveryAddress": {
                "name": "Jörg Müller",
                "addressLine1": "Hauptstr. 1",
                "city": "Köln",
                "postalCode": "50667",
                "countryCode": "DE",
                "addressType": "COMMERCIAL",
            }
        },
        "tax": {
            "taxRegistrations": [
                {
                    "entityType": "BUYER",
                    "taxRegistrationType": "VAT",
                    "taxRegistrationNumber": "DE123456789",
                    "legalName": "Müller GmbH",
                }
            ]
        },
        "proceeds": {"grandTotal": _money("57.48")},
        "fulfillment": {
            "fulfillmentStatus": "PARTIALLY_SHIPPED",
            "fulfilledBy": "MERCHANT",
            "fulfillmentServiceLevel": "STANDARD",
        },
        "orderItems": [
            {
                "orderItemId": "11111111111111",
                "quantityOrdered": 3,
                "product": {
                    "asin": "B000000001",
                    "title": "Tasse",
                    "sellerSku": "MUG-1",
                    "price": {"unitPrice": _money("19.99")},
                    "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                },
                "proceeds": {
                    "proceedsTotal": _money("57.48"),
                    "breakdowns": [
                        {"type": "ITEM", "subtotal": _money("59.97")},
                        {"type": "SHIPPING", "subtotal": _money("4.99")},
                        {"type": "GIFT_WRAP", "subtotal": _money("2.50")},
                        {
                            "type": "DISCOUNT",
                            "subtotal": _money("-9.98"),
                            "detailedBreakdowns": [
                                {"subtype": "ITEM", "value": _money("-5.00")},
                                {"subtype": "SHIPPING", "value": _money("-4.98")},
                            ],
                        },
                        {
                            "type": "TAX",
                            "subtotal": _money("10.77"),
                            "detailedBreakdowns": [
                                {"subtype": "ITEM", "value": _money("9.58")},
                                {"subtype": "SHIPPING", "value": _money("0.79")},
                                {"subtype": "GIFT_WRAP", "value": _money("0.40")},
                            ],
                        },
                    ],
                },
                "promotion": {"breakdowns": [{"promotionId": "PROMO-5"}]},
                "fulfillment": {
                    "quantityFulfilled": 1,
                    "quantityUnfulfilled": 1,
                    "packing": {
                        "giftOption": {"giftMessage": "Alles Gute!", "giftWrapLevel": "Classic"}
                    },
                },
            }
        ],
    }


def test_money_rules_tax_included_marketplace():
    order = parse_order(_de_order())
    assert order.status == "PARTIALLY_SHIPPED" and order.channel == "MFN"
    assert order.seller_order_id == "SO-1" and order.is_business
    assert order.purchase_date == datetime(2026, 3, 1, 9, 0)
    assert order.last_update_date == datetime(2026, 3, 1, 12, 30, 15, 250000)
    assert order.recipient.city == "Köln" and order.recipient.address_type == "COMMERCIAL"
    assert order.tax_registrations[0].number == "DE123456789"
    item = order.items[0]
    assert (item.quantity_ordered, item.quantity_shipped, item.quantity_cancelled) == (3, 1, 1)
    assert item.unit_price == Decimal("19.99") and item.item_price == Decimal("59.97")
    assert item.item_tax == Decimal("9.58")
    assert (item.shipping_price, item.shipping_tax) == (Decimal("4.99"), Decimal("0.79"))
    assert (item.gift_wrap_price, item.gift_wrap_tax) == (Decimal("2.50"), Decimal("0.40"))
    assert item.promotion_discount == Decimal("5.00")  # positive magnitudes
    assert item.shipping_discount == Decimal("4.98")
    assert item.promotion_ids == ("PROMO-5",)
    assert item.gift_message == "Alles Gute!" and item.gift_wrap_level == "Classic"
    # grand total: ITEM + SHIPPING + GIFT_WRAP + DISCOUNT (tax contained, not added)
    assert order.total == item.item_price + item.shipping_price + item.gift_wrap_price - (
        item.promotion_discount + item.shipping_discount
    )


def test_missing_optional_data_gives_defaults():
    raw = {
        "orderId": "111-0000000-0000001",
        "createdTime": "2026-01-01T00:00:00Z",
        "lastUpdatedTime": "2026-01-01T00:00:00Z",
        "salesChannel": {"channelName": "AMAZON"},
        "fulfillment": {"fulfillmentStatus": "CANCELLED", "fulfilledBy": "AMAZON"},
        "orderItems": [{"orderItemId": "1", "quantityOrdered": 2, "product": {}}],
    }
    order = parse_order(raw)
    assert order.buyer is None and order.recipient is None and order.total is None
    assert order.currency is None and order.marketplace_id is None
    item = order.items[0]
    assert item.sku is None and item.unit_price is None and item.item_price == 0
    assert item.quantity_cancelled == 2 and item.serial_numbers == ()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.pop("orderId"), "orderId"),
        (lambda o: o.__setitem__("orderItems", {"x": 1}), "orderItems"),
        (lambda o: o.pop("orderItems"), "orderItems"),
        (lambda o: o["orderItems"][0].pop("orderItemId"), "orderItems[0].orderItemId"),
        (lambda o: o["orderItems"][0].pop("quantityOrdered"), "orderItems[0].quantityOrdered"),
        (
            lambda o: o["orderItems"][0]["product"]["price"]["unitPrice"].__setitem__(
                "amount", "12,5"
            ),
            "orderItems[0].product.price.unitPrice.amount",
        ),
        (lambda o: o["proceeds"]["grandTotal"].__setitem__("amount", 12.5j), "proceeds.grandTotal"),
        (
            lambda o: o["orderItems"][0]["proceeds"]["breakdowns"][1]["subtotal"].__setitem__(
                "currencyCode", "USD"
            ),
            "orderItems[0].proceeds.breakdowns[1].subtotal.currencyCode",
        ),
        (lambda o: o.__setitem__("createdTime", "yesterday"), "createdTime"),
        (lambda o: o.pop("lastUpdatedTime"), "lastUpdatedTime"),
        (lambda o: o.pop("fulfillment"), "fulfillment.fulfilledBy"),
        (lambda o: o["fulfillment"].__setitem__("fulfilledBy", "ROBOT"), "fulfillment.fulfilledBy"),
        (
            lambda o: o["fulfillment"].__setitem__("fulfillmentStatus", "Shipped"),
            "fulfillment.fulfillmentStatus",
        ),
        (
            lambda o: o["orderItems"][0]["fulfillment"].__setitem__("quantityFulfilled", 9),
            "orderItems[0].fulfillment",
        ),
        (
            lambda o: o["orderItems"][0]["product"]["price"]["unitPrice"].__setitem__(
                "amount", "-5.00"
            ),
            "orderItems[0].price",
        ),
        (
            lambda o: o["orderItems"][0]["proceeds"]["breakdowns"][0]["subtotal"].__setitem__(
                "amount", "-59.97"
            ),
            "orderItems[0].price",
        ),
        (
            lambda o: o["orderItems"][0]["proceeds"]["breakdowns"][3]["detailedBreakdowns"][0][
                "value"
            ].__setitem__("amount", "-60.00"),
            "orderItems[0].promotion",
        ),
        (lambda o: o.__setitem__("createdTime", "2099-01-01T00:00:00Z"), "createdTime"),
    ],
)
def test_invalid_orders_raise_with_id_and_field(mutate, field):
    raw = copy.deepcopy(_de_order())
    mutate(raw)
    with pytest.raises(OrderParseError) as info:
        parse_order(raw)
    assert info.value.field.startswith(field)
    expected_id = raw.get("orderId") or "<unknown>"
    assert info.value.order_id == expected_id
    assert expected_id in str(info.value) and field in str(info.value)


def _v0_order():
    return {
        "AmazonOrderId": "028-3333333-4444444",
        "SellerOrderId": "SO-9",
        "PurchaseDate": "2026-02-01T08:00:00Z",
        "LastUpdateDate": "2026-02-01T09:00:00Z",
        "OrderStatus": "Canceled",
        "FulfillmentChannel": "MFN",
        "ShipServiceLevel": "Std DE Dom",
        "OrderTotal": {"CurrencyCode": "EUR", "Amount": "0.00"},
        "MarketplaceId": "A1PA6795UKMFR9",
        "IsBusinessOrder": False,
        "IsPrime": True,
        "BuyerInfo": {
            "BuyerName": "Zoë",
            "BuyerEmail": "z@marketplace.amazon.de",
            "BuyerTaxInfo": {
                "CompanyLegalName": "Zoë SARL",
                "TaxClassifications": [{"Name": "VATNumber", "Value": "FR999"}],
            },
        },
        "ShippingAddress": {
            "Name": "Zoë",
            "City": "Paris",
            "CountryCode": "FR",
            "AddressType": "Residential",
        },
        "OrderItems": [
            {
                "ASIN": "B0001",
                "OrderItemId": "9",
                "SellerSKU": "SKU-9",
                "Title": "T",
                "QuantityOrdered": 3,
                "QuantityShipped": 1,
                "ItemPrice": {"CurrencyCode": "EUR", "Amount": "10.00"},
                "ItemTax": {"CurrencyCode": "EUR", "Amount": "1.60"},
                "PromotionDiscount": {"CurrencyCode": "EUR", "Amount": "-1.00"},
                "ConditionId": "Used",
                "ConditionSubtypeId": "Very Good",
                "BuyerInfo": {
                    "GiftWrapPrice": {"CurrencyCode": "EUR", "Amount": "2.00"},
                    "GiftMessageText": "Bon anniversaire",
                },
                "PromotionIds": ["P1"],
            }
        ],
    }


def test_v0_fields():
    order = parse_order_v0(_v0_order())
    assert order.status == const.STATUS_CANCELLED and order.raw_status == "Canceled"
    assert order.is_business and order.is_prime and order.seller_order_id == "SO-9"
    assert order.buyer.company_name == "Zoë SARL"
    assert order.tax_registrations[0].number == "FR999"
    assert order.recipient.address_type == "RESIDENTIAL"
    item = order.items[0]
    assert item.unit_price == Decimal("3.33")  # 10.00 / 3 at the amount's precision
    assert item.quantity_cancelled == 2 and item.promotion_discount == Decimal("1.00")
    assert (item.gift_wrap_price, item.gift_message) == (Decimal("2.00"), "Bon anniversaire")
    assert (item.condition_type, item.condition_subtype) == ("USED", "VERY_GOOD")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.pop("AmazonOrderId"), "AmazonOrderId"),
        (lambda o: o.pop("OrderItems"), "OrderItems"),
        (lambda o: o.__setitem__("OrderStatus", "Lost"), "OrderStatus"),
        (lambda o: o["OrderItems"][0].pop("QuantityOrdered"), "OrderItems[0].QuantityOrdered"),
        (
            lambda o: o["OrderItems"][0]["ItemTax"].__setitem__("CurrencyCode", "GBP"),
            "OrderItems[0].ItemTax.CurrencyCode",
        ),
        (lambda o: o.__setitem__("PurchaseDate", "2026-13-45"), "PurchaseDate"),
        (lambda o: o.__setitem__("PurchaseDate", "2026-02-03T08:00:00Z"), "PurchaseDate"),
        (
            lambda o: o["OrderItems"][0]["ItemPrice"].__setitem__("Amount", "-10.00"),
            "OrderItems[0].price",
        ),
        (
            lambda o: o["OrderItems"][0]["PromotionDiscount"].__setitem__("Amount", "-10.01"),
            "OrderItems[0].promotion",
        ),
    ],
)
def test_v0_invalid(mutate, field):
    raw = copy.deepcopy(_v0_order())
    mutate(raw)
    with pytest.raises(OrderParseError) as info:
        parse_order_v0(raw)
    assert info.value.field == field


def test_edge_amounts_and_dates_that_still_parse():
    """A free item, a 100 % promotion and a few hours of clock skew are real orders."""
    raw = copy.deepcopy(_de_order())
    raw["createdTime"] = "2026-03-01T20:00:00Z"  # after lastUpdatedTime, within a day
    discount = raw["orderItems"][0]["proceeds"]["breakdowns"][3]["detailedBreakdowns"][0]
    discount["value"]["amount"] = "-59.97"
    item = parse_order(raw).items[0]
    assert item.promotion_discount == item.item_price == Decimal("59.97")
    v0 = _v0_order()
    v0["OrderItems"][0]["ItemPrice"]["Amount"] = "0.00"
    v0["OrderItems"][0].pop("PromotionDiscount")
    assert parse_order_v0(v0).items[0].unit_price == 0


def test_parse_datetime():
    assert parse_datetime("2026-01-01T00:00:00Z") == datetime(2026, 1, 1)
    assert parse_datetime("2026-01-01T02:00:00+02:00") == datetime(2026, 1, 1)
    assert parse_datetime("2026-01-01T00:00:00.123456789Z").microsecond == 123456
    for bad in ("2026-01-01", "soon", "2026-02-30T00:00:00Z"):
        with pytest.raises(ValueError):
            parse_datetime(bad)


def _v0_priced(item_price, item_tax, shipping, shipping_tax, total):
    raw = copy.deepcopy(_v0_order())
    raw["OrderStatus"] = "Unshipped"
    item = raw["OrderItems"][0]
    for key in ("PromotionDiscount", "BuyerInfo"):
        item.pop(key)
    for key, amount in (
        ("ItemPrice", item_price),
        ("ItemTax", item_tax),
        ("ShippingPrice", shipping),
        ("ShippingTax", shipping_tax),
    ):
        item[key] = {"CurrencyCode": "EUR", "Amount": amount}
    if total is None:
        raw.pop("OrderTotal")
    else:
        raw["OrderTotal"] = {"CurrencyCode": "EUR", "Amount": total}
    return raw


@pytest.mark.parametrize(
    "amounts,reading",
    [
        (("12.10", "2.10", "6.05", "1.05", "18.15"), True),  # OrderTotal = charges (EU VAT)
        (("10.00", "0.80", "5.00", "0.40", "16.20"), False),  # OrderTotal = charges + tax (US)
        (("10.00", "0.80", "5.00", "0.40", "17.00"), None),  # neither: the marketplace rule
        (("10.00", "0.80", "5.00", "0.40", None), None),  # no OrderTotal: nothing to decide by
        (("10.00", "0.00", "5.00", "0.00", "15.00"), None),  # no tax: both readings agree
    ],
)
def test_v0_amounts_are_tax_included_or_not_by_arithmetic(amounts, reading):
    """v0 has no total per item, only OrderTotal: the same decide-by-the-numbers rule as
    v2026 proceeds, over the whole order."""
    order = parse_order_v0(_v0_priced(*amounts))
    assert [item.tax_included for item in order.items] == [reading]
