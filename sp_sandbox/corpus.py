"""Bad-input corpus: hand-made malformed or unusual v2026 orders (issue 8, campaign 4).

``corpus(template)`` derives each case from ``template``, a valid v2026 order as the sandbox
renders it (one FBM item, e.g. ``render.order_v2026(view, set(data.INCLUDED_DATA))``), and
returns dicts ``{"label", "order", "expect"}`` to serve with ``state.add_raw_order``:

* ``"sync"``: a sensible sale order must come out of it;
* ``"fail"``: the order must be recorded as failed with a clear reason (no sale order);
* ``"skip"``: neither (e.g. cancelled before the seller ever saw it);
* ``"either"``: a sale order or a failure with a clear reason, never both.

Order ids are ``prefix + NNN`` (``prefix`` like ``"900-0000001-0000"``) except where the case
is about the id itself. The sandbox package never imports ``amazon_sp``: these bodies are
Amazon's shapes, not the client's reading of them.
"""

import copy

CURRENCY_KEY = "currencyCode"


def _walk_money(node, fn):
    """Apply ``fn`` to every money object ({"amount", "currencyCode"}) of ``node``."""
    if isinstance(node, dict):
        if "amount" in node and CURRENCY_KEY in node:
            fn(node)
        for value in node.values():
            _walk_money(value, fn)
    elif isinstance(node, list):
        for value in node:
            _walk_money(value, fn)


def _set_currency(order, code):
    def change(money):
        money[CURRENCY_KEY] = code

    _walk_money(order, change)


def _scale_item(order, quantity=None, unit=None):
    """Set the first item's quantity and/or unit price, keeping the proceeds consistent
    (no tax or discount left: ITEM = quantity x unit)."""
    item = order["orderItems"][0]
    currency = item["product"]["price"]["unitPrice"][CURRENCY_KEY]
    if quantity is not None:
        item["quantityOrdered"] = quantity
        item.setdefault("fulfillment", {})["quantityUnfulfilled"] = quantity
    if unit is not None:
        item["product"]["price"]["unitPrice"]["amount"] = unit
    qty = item["quantityOrdered"]
    amount = f"{float(item['product']['price']['unitPrice']['amount']) * qty:.2f}"
    money = {"amount": amount, CURRENCY_KEY: currency}
    item["proceeds"] = {
        "proceedsTotal": dict(money),
        "breakdowns": [{"type": "ITEM", "subtotal": dict(money)}],
    }
    order["proceeds"] = {
        "grandTotal": dict(money),
        "breakdowns": [{"type": "ITEM", "subtotal": dict(money)}],
    }


def _names(order, name, line1=None, city=None):
    if order.get("buyer") is not None:
        order["buyer"]["buyerName"] = name
    address = (order.get("recipient") or {}).get("deliveryAddress")
    if address is not None:
        address["name"] = name
        if line1:
            address["addressLine1"] = line1
        if city:
            address["city"] = city


def _status(order, status):
    order["fulfillment"]["fulfillmentStatus"] = status


def _sku(order, sku):
    order["orderItems"][0]["product"]["sellerSku"] = sku


def corpus(template, prefix="900-0000001-0000"):
    cases = []

    def case(label, expect, mutate, order_id=True):
        order = copy.deepcopy(template)
        if order_id:
            order["orderId"] = f"{prefix}{len(cases) + 1:03d}"
        mutate(order)
        cases.append({"label": label, "order": order, "expect": expect})

    def second_item(order, same_id=True):
        item = copy.deepcopy(order["orderItems"][0])
        if not same_id:
            item["orderItemId"] = str(int(item["orderItemId"]) + 1)
        order["orderItems"].append(item)

    case("missing address", "sync", lambda o: o.pop("recipient"))
    case("missing buyer", "sync", lambda o: o.pop("buyer"))
    case("missing buyer and address", "sync", lambda o: (o.pop("buyer"), o.pop("recipient")))
    case("empty address object", "sync", lambda o: o["recipient"].update(deliveryAddress={}))
    case(
        "address with only a country",
        "sync",
        lambda o: o["recipient"].update(deliveryAddress={"countryCode": "ES"}),
    )
    case(
        "unknown country code",
        "sync",
        lambda o: o["recipient"]["deliveryAddress"].update(countryCode="ZZ"),
    )
    case(
        "unknown marketplace",
        "fail",
        lambda o: o["salesChannel"].update(marketplaceId="AZZZZZZZZZZZZZ"),
    )
    case("missing sales channel", "fail", lambda o: o.pop("salesChannel"))
    case("unknown currency", "fail", lambda o: _set_currency(o, "XQQ"))
    case("inactive currency", "fail", lambda o: _set_currency(o, "CHF"))
    case("zero price", "sync", lambda o: _scale_item(o, unit="0.00"))
    case("negative price", "fail", lambda o: _scale_item(o, unit="-5.00"))
    case("quantity 0", "either", lambda o: _scale_item(o, quantity=0))
    case("negative quantity", "fail", lambda o: _scale_item(o, quantity=-2))
    case("10,000 units", "sync", lambda o: _scale_item(o, quantity=10000))
    case("SKU with odd characters", "sync", lambda o: _sku(o, "MUG/ RED%_*'\"<>&;--"))
    case("SKU of 200 characters", "sync", lambda o: _sku(o, "S" * 200))
    case("SKU in Cyrillic", "sync", lambda o: _sku(o, "КРУЖКА-КРАСНАЯ"))
    case("missing SKU", "sync", lambda o: o["orderItems"][0]["product"].pop("sellerSku"))
    case("Unicode names (CJK)", "sync", lambda o: _names(o, "山田 太郎", "千代田区1-1", "東京"))
    case("Arabic (RTL) names", "sync", lambda o: _names(o, "محمد العلي", "شارع الملك ١", "الرياض"))
    case("Hebrew (RTL) names", "sync", lambda o: _names(o, "דוד כהן", "רחוב הרצל 5", "תל אביב"))
    case("emoji and combining marks", "sync", lambda o: _names(o, "Zoë 🚀 Ñandú e\u0301"))
    case("name of 500 characters", "sync", lambda o: _names(o, "N" * 500))
    case("NUL byte in the name", "sync", lambda o: _names(o, "Bad\x00Name"))
    case("duplicate item ids", "fail", second_item)
    case("items missing", "fail", lambda o: o.pop("orderItems"))
    case("items empty", "fail", lambda o: o.update(orderItems=[]))
    case("items not a list", "fail", lambda o: o.update(orderItems={"a": 1}))
    case("item is null", "fail", lambda o: o.update(orderItems=[None]))
    case(
        "created in the future (2099)",
        "fail",
        lambda o: o.update(createdTime="2099-01-01T00:00:00Z"),
    )
    case("created in 1995", "sync", lambda o: o.update(createdTime="1995-07-16T10:00:00Z"))
    case("date not ISO 8601", "fail", lambda o: o.update(createdTime="yesterday"))
    case("cancelled before seen", "skip", lambda o: _status(o, "CANCELLED"))
    case("unknown status", "fail", lambda o: _status(o, "LOST_IN_SPACE"))
    case("missing fulfillment", "fail", lambda o: o.pop("fulfillment"))
    case("unknown fulfilledBy", "fail", lambda o: o["fulfillment"].update(fulfilledBy="DRONE"))
    case(
        "amount not a number",
        "fail",
        lambda o: o["orderItems"][0]["product"]["price"]["unitPrice"].update(amount="12,10 €"),
    )

    def promotion_larger(order):
        item = order["orderItems"][0]
        currency = item["product"]["price"]["unitPrice"][CURRENCY_KEY]
        item_total = item["proceeds"]["breakdowns"][0]["subtotal"]["amount"]
        discount = {"amount": "-100.00", CURRENCY_KEY: currency}
        total = f"{float(item_total) - 100:.2f}"
        item["proceeds"] = {
            "proceedsTotal": {"amount": total, CURRENCY_KEY: currency},
            "breakdowns": [
                {"type": "ITEM", "subtotal": {"amount": item_total, CURRENCY_KEY: currency}},
                {
                    "type": "DISCOUNT",
                    "subtotal": dict(discount),
                    "detailedBreakdowns": [{"subtype": "ITEM", "value": dict(discount)}],
                },
            ],
        }
        order["proceeds"] = {"grandTotal": {"amount": total, CURRENCY_KEY: currency}}

    case("promotion larger than the price", "fail", promotion_larger)
    case("order id not a string", "fail", lambda o: o.update(orderId=900000001), order_id=False)
    case("order id missing", "fail", lambda o: o.pop("orderId"), order_id=False)
    case("order is not an object", "fail", lambda o: None, order_id=False)
    cases[-1]["order"] = "not an order"
    return cases
