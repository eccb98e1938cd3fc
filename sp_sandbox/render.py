"""Render an order view as Amazon's JSON: Orders v2026-01-01 and Orders v0."""

from decimal import Decimal

from . import data
from .conventions import CHOICES
from .values import format_time, money


def _money(amount, currency):
    return {"amount": str(amount), "currencyCode": currency}


def _v0_money(amount, currency):
    return {"CurrencyCode": currency, "Amount": str(amount)}


def _drop_none(values):
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


# --- v2026-01-01 -------------------------------------------------------------


def order_v2026(view, included, conventions=None):
    """``conventions``: a ``conventions.Conventions`` (or dict); None = the defaults."""
    conv = _conv(conventions)
    record = view.record
    currency = record["currency"]
    mp = record["marketplace"]
    order = {
        "orderId": record["orderId"],
        "createdTime": format_time(record["createdTime"]),
        "lastUpdatedTime": format_time(view.last_updated),
        "programs": list(record["programs"]),
        "salesChannel": {
            "channelName": record.get("channel") or "AMAZON",
            "marketplaceId": mp["id"],
            "marketplaceName": mp["name"],
        },
    }
    if record.get("sellerOrderId"):
        order["orderAliases"] = [
            {"aliasId": record["sellerOrderId"], "aliasType": "SELLER_ORDER_ID"}
        ]
    buyer = record.get("buyer") or {}
    if "BUYER" in included:
        order["buyer"] = _drop_none(
            {
                "buyerName": buyer.get("name"),
                "buyerEmail": buyer.get("email"),
                "buyerCompanyName": buyer.get("companyName"),
                "buyerPurchaseOrderNumber": buyer.get("purchaseOrderNumber"),
            }
        )
    if "RECIPIENT" in included and record.get("recipient"):
        order["recipient"] = {"deliveryAddress": _drop_none(dict(record["recipient"]))}
    itemized = conv["proceeds"] == "itemized"
    items = [_item_v2026(view, item, included, currency, itemized) for item in record["items"]]
    if "PROCEEDS" in included:
        order["proceeds"] = _order_proceeds(record, currency, itemized)
    if "TAX" in included and record["taxRegistrations"]:
        order["tax"] = {
            "taxRegistrations": [_drop_none(dict(r)) for r in record["taxRegistrations"]]
        }
    if "FULFILLMENT" in included:
        created = record["createdTime"]
        order["fulfillment"] = {
            "fulfillmentStatus": view.status,
            "fulfillmentServiceLevel": record["fulfillmentServiceLevel"],
            "shipByWindow": {
                "earliestDateTime": format_time(created),
                "latestDateTime": format_time(created.replace(hour=23, minute=59, second=59)),
            },
        }
        if conv["fulfilled_by"]:
            order["fulfillment"]["fulfilledBy"] = record["fulfilledBy"]
    order["orderItems"] = items
    if "PACKAGES" in included and record["fulfilledBy"] == "MERCHANT":
        order["packages"] = [
            _package_v2026(p, None if conv["package_echo"] else f"{record['orderId']}-P{n}")
            for n, p in enumerate(view.packages, 1)
        ]
    return order


def _conv(conventions):
    if conventions is None:
        return {name: allowed[0] for name, allowed in CHOICES.items()}
    return conventions.as_dict() if hasattr(conventions, "as_dict") else conventions


def _item_v2026(view, item, included, currency, itemized=False):
    product = {
        "asin": item["asin"],
        "title": item["title"],
        "sellerSku": item["sku"],
        "condition": _drop_none(dict(item["condition"])),
        "price": {"unitPrice": _money(item["unitPrice"], currency)},
    }
    if item["serialNumbers"] and view.shipped[item["orderItemId"]]:
        product["serialNumbers"] = list(item["serialNumbers"])
    product = _drop_none(product)
    result = {
        "orderItemId": item["orderItemId"],
        "quantityOrdered": item["quantity"],
        "product": product,
    }
    if "PROCEEDS" in included:
        result["proceeds"] = {
            "proceedsTotal": _money(item["proceedsTotal"], currency),
            "breakdowns": _item_breakdowns(item, currency, view.record["taxIncluded"], itemized),
        }
    if "PROMOTION" in included and item["promotionIds"]:
        result["promotion"] = {"breakdowns": [{"promotionId": p} for p in item["promotionIds"]]}
    if "CANCELLATION" in included and view.cancelled[item["orderItemId"]]:
        result["cancellation"] = {
            "cancellationExecution": {
                "cancelledBy": "SELLER" if view.record["fulfilledBy"] == "MERCHANT" else "AMAZON",
                "cancelReason": "NO_INVENTORY",
            }
        }
    if "FULFILLMENT" in included:
        fulfillment = {
            "quantityFulfilled": view.shipped[item["orderItemId"]],
            "quantityUnfulfilled": view.unshipped(item["orderItemId"]),
        }
        if item["giftMessage"] or item["giftWrapLevel"]:
            fulfillment["packing"] = {
                "giftOption": _drop_none(
                    {"giftMessage": item["giftMessage"], "giftWrapLevel": item["giftWrapLevel"]}
                )
            }
        result["fulfillment"] = fulfillment
    if "TAX" in included:
        result["tax"] = {
            "taxCollections": [
                {"model": "MARKETPLACE_FACILITATOR", "responsibleParty": "AMAZON_SERVICES"}
            ]
        }
    return result


def _item_breakdowns(item, currency, tax_included, itemized=False):
    """Item proceeds rows. Amounts are buyer-facing (tax included where the marketplace says
    so); ``itemized`` strips the tax from every row so that TAX adds up to ``proceedsTotal``."""
    strip = tax_included and itemized

    def net(gross, tax):
        return gross - tax if strip else gross

    rows = [{"type": "ITEM", "subtotal": _money(net(item["itemTotal"], item["itemTax"]), currency)}]
    if item["shipping"]:
        shipping = net(item["shipping"], item["shippingTax"])
        rows.append({"type": "SHIPPING", "subtotal": _money(shipping, currency)})
    if item["giftWrap"]:
        gift_wrap = net(item["giftWrap"], item["giftWrapTax"])
        rows.append({"type": "GIFT_WRAP", "subtotal": _money(gift_wrap, currency)})
    for kind, key in (("COD_FEE", "codFee"), ("OTHER", "otherCharge")):
        if item.get(key):
            amount = net(item[key], item.get(key + "Tax", 0))
            rows.append({"type": kind, "subtotal": _money(amount, currency)})
    if item["promotionDiscount"] or item["shippingDiscount"]:
        promotion = net(item["promotionDiscount"], item["promotionDiscountTax"])
        ship_discount = net(item["shippingDiscount"], item["shippingDiscountTax"])
        detailed = []
        if item["promotionDiscount"]:
            detailed.append({"subtype": "ITEM", "value": _money(-promotion, currency)})
        if item["shippingDiscount"]:
            detailed.append({"subtype": "SHIPPING", "value": _money(-ship_discount, currency)})
        rows.append(
            {
                "type": "DISCOUNT",
                "subtotal": _money(-(promotion + ship_discount), currency),
                "detailedBreakdowns": detailed,
            }
        )
    detailed = [{"subtype": "ITEM", "value": _money(item["itemTax"], currency)}]
    if item["shipping"]:
        detailed.append({"subtype": "SHIPPING", "value": _money(item["shippingTax"], currency)})
    if item["giftWrap"]:
        detailed.append({"subtype": "GIFT_WRAP", "value": _money(item["giftWrapTax"], currency)})
    discount_tax = item["promotionDiscountTax"] + item["shippingDiscountTax"]
    if discount_tax:
        detailed.append({"subtype": "DISCOUNT", "value": _money(-discount_tax, currency)})
    rows.append(
        {
            "type": "TAX",
            "subtotal": _money(item["taxTotal"], currency),
            "detailedBreakdowns": detailed,
        }
    )
    return rows


def _order_proceeds(record, currency, itemized=False):
    items = record["items"]
    sums = {}
    for item in items:
        for row in _item_breakdowns(item, currency, record["taxIncluded"], itemized):
            sums[row["type"]] = sums.get(row["type"], Decimal(0)) + Decimal(
                row["subtotal"]["amount"]
            )
    if record.get("deliveryTip"):  # order level only (a tip is not any item's)
        sums["DELIVERY_TIP"] = record["deliveryTip"]
    grand = money(order_total(record), currency)
    return {
        "grandTotal": _money(grand, currency),
        "breakdowns": [
            {"type": kind, "subtotal": _money(amount, currency)} for kind, amount in sums.items()
        ],
    }


def order_total(record):
    """What the buyer pays for the order: the items' proceeds plus any delivery tip."""
    return sum(item["proceedsTotal"] for item in record["items"]) + (record.get("deliveryTip") or 0)


def _package_v2026(package, amazon_reference=None):
    """``amazon_reference``: Amazon's own package id instead of the seller's echoed one."""
    detail = package["detail"]
    return _drop_none(
        {
            "packageReferenceId": amazon_reference or str(detail["packageReferenceId"]),
            "createdTime": format_time(package["time"]),
            "packageStatus": {"status": "SHIPPED"},
            "carrier": detail.get("carrierName") or detail.get("carrierCode"),
            "shipTime": detail.get("shipDate"),
            "shippingService": detail.get("shippingMethod"),
            "trackingNumber": detail.get("trackingNumber"),
            "packageItems": [
                {"orderItemId": i["orderItemId"], "quantity": i["quantity"]}
                for i in detail.get("orderItems", [])
            ],
        }
    )


# --- v0 ------------------------------------------------------------------------


def order_v0(view, elements=()):
    """``elements``: RDT data elements granted (buyerInfo, shippingAddress, ...)."""
    record = view.record
    currency = record["currency"]
    mp = record["marketplace"]
    created = record["createdTime"]
    shipped = sum(view.shipped.values())
    unshipped = sum(view.unshipped(i["orderItemId"]) for i in record["items"])
    grand = money(order_total(record), currency)
    order = {
        "AmazonOrderId": record["orderId"],
        "PurchaseDate": format_time(created),
        "LastUpdateDate": format_time(view.last_updated),
        "OrderStatus": data.V0_STATUS[view.status],
        "FulfillmentChannel": "AFN" if record["fulfilledBy"] == "AMAZON" else "MFN",
        "SalesChannel": mp["name"],
        "ShipServiceLevel": record["shipServiceLevel"],
        "OrderTotal": _v0_money(grand, currency),
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": unshipped,
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": mp["id"],
        "ShipmentServiceLevelCategory": record["fulfillmentServiceLevel"].title().replace("_", ""),
        "OrderType": "StandardOrder",
        "EarliestShipDate": format_time(created),
        "LatestShipDate": format_time(created.replace(hour=23, minute=59, second=59)),
        "IsBusinessOrder": record["business"],
        "IsPrime": record["prime"],
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
        "HasRegulatedItems": False,
    }
    if record.get("sellerOrderId"):
        order["SellerOrderId"] = record["sellerOrderId"]
    if "shippingAddress" in elements and record.get("recipient"):
        order["ShippingAddress"] = address_v0(record["recipient"])
    if "buyerInfo" in elements:
        order["BuyerInfo"] = buyer_info_v0(record)
    return order


def address_v0(recipient):
    kind = recipient.get("addressType")
    return _drop_none(
        {
            "Name": recipient.get("name"),
            "CompanyName": recipient.get("companyName"),
            "AddressLine1": recipient.get("addressLine1"),
            "AddressLine2": recipient.get("addressLine2"),
            "AddressLine3": recipient.get("addressLine3"),
            "City": recipient.get("city"),
            "County": recipient.get("districtOrCounty"),
            "StateOrRegion": recipient.get("stateOrRegion"),
            "PostalCode": recipient.get("postalCode"),
            "CountryCode": recipient.get("countryCode"),
            "Phone": recipient.get("phone"),
            "AddressType": {"RESIDENTIAL": "Residential", "COMMERCIAL": "Commercial"}.get(kind),
        }
    )


def buyer_info_v0(record):
    buyer = record.get("buyer") or {}
    info = {
        "BuyerEmail": buyer.get("email"),
        "BuyerName": buyer.get("name"),
        "PurchaseOrderNumber": buyer.get("purchaseOrderNumber"),
    }
    vat = [r for r in record["taxRegistrations"] if r.get("entityType") == "BUYER"]
    if buyer.get("companyName") or vat:
        info["BuyerTaxInfo"] = _drop_none(
            {
                "CompanyLegalName": buyer.get("companyName"),
                "TaxingRegion": record["marketplace"]["countryCode"],
                "TaxClassifications": [
                    {"Name": "VATNumber", "Value": r["taxRegistrationNumber"]} for r in vat
                ],
            }
        )
    return _drop_none(info)


def item_v0(view, item, currency, buyer_info=False):
    result = {
        "ASIN": item["asin"],
        "SellerSKU": item["sku"],
        "OrderItemId": item["orderItemId"],
        "Title": item["title"],
        "QuantityOrdered": item["quantity"],
        "QuantityShipped": view.shipped[item["orderItemId"]],
        "ProductInfo": {"NumberOfItems": "1"},
        "ItemPrice": _v0_money(item["itemTotal"], currency),
        "ItemTax": _v0_money(item["itemTax"], currency),
        "ShippingPrice": _v0_money(item["shipping"], currency),
        "ShippingTax": _v0_money(item["shippingTax"], currency),
        "ShippingDiscount": _v0_money(item["shippingDiscount"], currency),
        "ShippingDiscountTax": _v0_money(item["shippingDiscountTax"], currency),
        "PromotionDiscount": _v0_money(item["promotionDiscount"], currency),
        "PromotionDiscountTax": _v0_money(item["promotionDiscountTax"], currency),
        "IsGift": "true" if (item["giftMessage"] or item["giftWrapLevel"]) else "false",
        "ConditionId": data.V0_CONDITION.get(item["condition"].get("conditionType"), "New"),
        "ConditionSubtypeId": data.V0_SUBCONDITION.get(
            item["condition"].get("conditionSubtype"), "New"
        ),
        "IsTransparency": False,
        "SerialNumberRequired": bool(item["serialNumbers"]),
    }
    if item["promotionIds"]:
        result["PromotionIds"] = list(item["promotionIds"])
    if item["condition"].get("conditionNote"):
        result["ConditionNote"] = item["condition"]["conditionNote"]
    if item["serialNumbers"] and view.shipped[item["orderItemId"]]:
        result["SerialNumbers"] = list(item["serialNumbers"])
    if buyer_info:
        info = item_buyer_info_v0(item, currency)
        info.pop("OrderItemId")
        if info:
            result["BuyerInfo"] = info
    return result


def item_buyer_info_v0(item, currency):
    info = {"OrderItemId": item["orderItemId"]}
    if item["giftWrap"]:
        info["GiftWrapPrice"] = _v0_money(item["giftWrap"], currency)
        info["GiftWrapTax"] = _v0_money(item["giftWrapTax"], currency)
    if item["giftMessage"]:
        info["GiftMessageText"] = item["giftMessage"]
    if item["giftWrapLevel"]:
        info["GiftWrapLevel"] = item["giftWrapLevel"]
    return info
