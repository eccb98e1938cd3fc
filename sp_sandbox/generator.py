"""Seeded generator of realistic scenario orders (see ``Scenario.generate``)."""

import random
from datetime import timedelta
from decimal import Decimal

from . import data
from .values import format_time, money, parse_time

# name pools per country: (given names, family names); Unicode on purpose
NAMES = {
    "US": (
        ["James", "Mary", "Chloé", "José", "Aaliyah", "Nguyễn"],
        ["Smith", "Johnson", "García", "O'Connor", "Nguyen", "Williams"],
    ),
    "CA": (
        ["Émilie", "Liam", "François", "Olivia", "Zoë"],
        ["Tremblay", "Gagnon", "Roy", "Côté", "MacDonald"],
    ),
    "GB": (
        ["Oliver", "Siobhán", "Amelia", "محمد", "Harry", "Zoë"],
        ["Smith", "O'Brien", "Jones", "العلي", "Taylor", "Brontë"],
    ),
    "DE": (
        ["Jürgen", "Anna", "Björn", "Lea", "Özlem", "Maximilian"],
        ["Müller", "Schmidt", "Weiß", "Groß", "Yılmaz", "Schäfer"],
    ),
    "FR": (
        ["Hélène", "François", "Léa", "Noël", "Inès", "Gaëlle"],
        ["Lefèvre", "Dubois", "Moreau", "Benoît", "Girard", "Faure"],
    ),
    "ES": (
        ["José", "María", "Nuria", "Íñigo", "Begoña", "Ángel"],
        ["Núñez", "García", "Martínez", "Ibáñez", "López", "Peña"],
    ),
    "IT": (
        ["Niccolò", "Giulia", "Luca", "Chiara", "Nicolò", "Francesca"],
        ["Rossi", "Bianchi", "Ferrari", "Esposito", "Mancini", "Romano"],
    ),
    "JP": (
        ["太郎", "花子", "健", "さくら", "翔太", "美咲"],
        ["山田", "佐藤", "鈴木", "高橋", "田中", "渡辺"],
    ),
}
# (city, state/region, postal code, street pattern, tax rate for US/CA)
PLACES = {
    "US": [
        ("Seattle", "WA", "98101", "{n} Pine Street", "0.1025"),
        ("Austin", "TX", "78701", "{n} Congress Ave", "0.0825"),
        ("Brooklyn", "NY", "11201", "{n} Atlantic Ave", "0.08875"),
        ("Portland", "OR", "97205", "{n} SW Morrison St", "0"),
        ("San José", "CA", "95113", "{n} Calle Willow", "0.0938"),
    ],
    "CA": [
        ("Toronto", "ON", "M5V 2T6", "{n} King St W", "0.13"),
        ("Montréal", "QC", "H2X 1Y4", "{n} rue Saint-Denis", "0.14975"),
        ("Vancouver", "BC", "V6B 1A1", "{n} Granville St", "0.12"),
        ("Calgary", "AB", "T2P 1J9", "{n} 8 Ave SW", "0.05"),
    ],
    "GB": [
        ("London", "Greater London", "SW1A 1AA", "{n} Baker Street", None),
        ("Manchester", "Greater Manchester", "M1 1AE", "{n} Deansgate", None),
        ("Cardiff", "Wales", "CF10 1EP", "{n} Heol y Frenhines", None),
    ],
    "DE": [
        ("München", "Bayern", "80331", "Marienplatz {n}", None),
        ("Köln", "Nordrhein-Westfalen", "50667", "Hohe Straße {n}", None),
        ("Berlin", "Berlin", "10115", "Straße des 17. Juni {n}", None),
    ],
    "FR": [
        ("Paris", "Île-de-France", "75004", "{n} rue de Rivoli", None),
        ("Lyon", "Auvergne-Rhône-Alpes", "69002", "{n} quai Saint-Antoine", None),
        ("Besançon", "Bourgogne-Franche-Comté", "25000", "{n} Grande Rue", None),
    ],
    "ES": [
        ("Madrid", "Madrid", "28013", "Calle de Alcalá {n}", None),
        ("A Coruña", "Galicia", "15001", "Rúa Real {n}", None),
        ("Málaga", "Andalucía", "29015", "Calle Larios {n}", None),
    ],
    "IT": [
        ("Roma", "RM", "00186", "Via del Corso {n}", None),
        ("Milano", "MI", "20121", "Corso di Porta Nuova {n}", None),
        ("Forlì", "FC", "47121", "Piazza Aurelio Saffi {n}", None),
    ],
    "JP": [
        ("渋谷区", "東京都", "150-0002", "渋谷{n}-21-1", None),
        ("大阪市北区", "大阪府", "530-0001", "梅田{n}-1-3", None),
        ("札幌市中央区", "北海道", "060-0001", "北一条西{n}-2", None),
    ],
}
COMPANIES = {
    "US": ["Acme Supplies LLC", "Blue Harbor Inc."],
    "CA": ["Érable Distribution Ltée"],
    "GB": ["Brontë & Sons Ltd"],
    "DE": ["Müller Bürobedarf GmbH", "Weiß & Groß KG"],
    "FR": ["Société Générale d'Équipement SARL"],
    "ES": ["Ibáñez Suministros S.L."],
    "IT": ["Forniture Niccolò S.r.l."],
    "JP": ["株式会社山田商事"],
}
VAT_PREFIX = {"GB": "GB", "DE": "DE", "FR": "FR", "ES": "ES", "IT": "IT"}
GIFT_MESSAGES = [
    "Happy birthday! 🎂",
    "Joyeux anniversaire, Hélène !",
    "Alles Gute zum Geburtstag",
    "お誕生日おめでとう",
    "Feliz Navidad y próspero año nuevo",
    "Tanti auguri!",
]
# (sku stem, title, base EUR price, serialized)
PRODUCTS = [
    ("MUG-CER-350", "Ceramic mug 350 ml, matte black", "12.90", False),
    ("TEA-GRN-100", "Organic green tea, 100 g", "8.50", False),
    ("HDP-BT-200", "Bluetooth headphones BT-200", "59.99", True),
    ("CBL-USBC-2M", "USB-C cable 2 m braided", "9.99", False),
    ("LMP-LED-DESK", "LED desk lamp with dimmer", "34.90", False),
    ("BAG-CVS-TOTE", "Canvas tote bag, natural", "14.50", False),
    ("KBD-MEC-TKL", "Mechanical keyboard TKL, brown switches", "89.00", True),
    ("NTB-A5-DOT", "A5 dotted notebook, 160 pages", "11.20", False),
    ("BTL-STL-750", "Stainless steel bottle 750 ml", "19.95", False),
    ("SPK-MINI-BT", "Mini Bluetooth speaker", "29.99", True),
    ("SOC-WOOL-3P", "Merino wool socks, 3 pairs", "24.00", False),
    ("PEN-FNT-F", "Fountain pen, fine nib", "42.00", False),
    ("PZL-1000-MAP", "Puzzle 1000 pieces, vintage map", "17.99", False),
    ("CHG-65W-GAN", "65 W GaN charger, 3 ports", "39.99", True),
]
FX = {
    "EUR": "1",
    "USD": "1.08",
    "CAD": "1.47",
    "GBP": "0.86",
    "JPY": "162",
    "SEK": "11.4",
    "PLN": "4.3",
    "MXN": "18.5",
    "AUD": "1.65",
}
REGION_PREFIX = {
    "US": "11",
    "CA": "70",
    "GB": "20",
    "DE": "30",
    "FR": "40",
    "ES": "40",
    "IT": "40",
    "JP": "25",
}


def _price(base, currency):
    value = Decimal(base) * Decimal(FX.get(currency, "1"))
    if currency == "JPY":
        return money((value / 10).to_integral_value() * 10 + 80, currency)
    return money(value.to_integral_value() + Decimal("0.99") if value >= 5 else value, currency)


def generate(
    count,
    seed,
    marketplaces,
    start,
    days,
    fba_ratio,
    b2b_ratio,
    gift_ratio,
    promotion_ratio,
    cancel_ratio,
    future_ratio,
    rng,
):
    mps = [data.marketplace(code) for code in marketplaces]
    catalogue = {}
    listings = []
    for mp in mps:
        products = rng.sample(PRODUCTS, k=min(9, len(PRODUCTS)))
        catalogue[mp["id"]] = []
        for stem, title, base, serialized in products:
            sku = f"{stem}-{mp['code']}"
            asin = "B0" + "".join(
                rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(8)
            )
            product = {
                "sku": sku,
                "asin": asin,
                "title": title,
                "price": str(_price(base, mp["currency"])),
                "serialized": serialized,
            }
            catalogue[mp["id"]].append(product)
            listings.append(
                {
                    "sku": sku,
                    "asin": asin,
                    "title": title,
                    "marketplaceIds": [mp["id"]],
                    "quantity": rng.randint(0, 120),
                }
            )
    buyers = {mp["id"]: [] for mp in mps}
    used_ids = set()
    orders = []
    horizon = timedelta(days=days)
    for number in range(count):
        mp = rng.choice(mps)
        country = mp["countryCode"]
        fba = rng.random() < fba_ratio
        if rng.random() < future_ratio:
            created = start + timedelta(seconds=rng.randint(60, 6 * 3600))
        else:
            created = start - timedelta(seconds=rng.randint(300, int(horizon.total_seconds())))
        created = created.replace(microsecond=0)
        order_id = _order_id(rng, country, used_ids)
        business = rng.random() < b2b_ratio
        pool = buyers[mp["id"]]
        if pool and rng.random() < 0.3:
            buyer, recipient, rate = rng.choice(pool)
            business = "companyName" in buyer
        else:
            buyer, recipient, rate = _person(rng, country, mp, business)
            pool.append((buyer, recipient, rate))
        buyer, recipient = dict(buyer), dict(recipient)
        if rng.random() < 0.05:
            buyer.pop("name", None)
        events = [{"time": format_time(created), "status": "PENDING"}]
        if fba:
            if rng.random() < cancel_ratio:
                when = created + timedelta(minutes=rng.randint(20, 360))
                events.append({"time": format_time(when), "status": "CANCELLED"})
            else:
                when = created + timedelta(minutes=rng.randint(120, 30 * 60))
                events.append({"time": format_time(when), "status": "SHIPPED"})
        else:
            when = created + timedelta(minutes=rng.randint(5, 60))
            events.append({"time": format_time(when), "status": "UNSHIPPED"})
            if rng.random() < cancel_ratio:
                when += timedelta(minutes=rng.randint(30, 24 * 60))
                events.append({"time": format_time(when), "status": "CANCELLED"})
        items = []
        n_items = rng.choices([1, 2, 3, 4], weights=[60, 25, 10, 5])[0]
        chosen = rng.sample(catalogue[mp["id"]], k=n_items)
        gift = rng.random() < gift_ratio
        promo = rng.random() < promotion_ratio
        free_ship_promo = rng.random() < 0.1
        for index, product in enumerate(chosen):
            quantity = rng.choices([1, 2, 3, 5], weights=[75, 15, 7, 3])[0]
            unit = Decimal(product["price"])
            item = {
                "orderItemId": f"{rng.randint(10**13, 10**14 - 1)}",
                "sku": product["sku"],
                "asin": product["asin"],
                "title": product["title"],
                "quantity": quantity,
                "unitPrice": str(unit),
            }
            if not fba and index == 0:
                ship = _price("3.49", mp["currency"]) if mp["currency"] != "JPY" else Decimal(480)
                item["shipping"] = str(ship)
                if free_ship_promo:
                    item["shippingDiscount"] = str(ship)
                    item["promotionIds"] = ["FREESHIP-" + mp["code"]]
            if promo and index == 0:
                item["promotionDiscount"] = str(money(unit * quantity / 10, mp["currency"]))
                item["promotionIds"] = item.get("promotionIds", []) + [
                    f"PROMO-{rng.randint(1000, 9999)}"
                ]
            if gift and index == 0:
                item["giftWrap"] = "300" if mp["currency"] == "JPY" else "3.99"
                item["giftWrapLevel"] = rng.choice(["Classic", "Premium"])
                item["giftMessage"] = rng.choice(GIFT_MESSAGES)
            if rng.random() < 0.07:
                item["condition"] = {
                    "conditionType": "USED",
                    "conditionSubtype": "GOOD",
                    "conditionNote": "Boîte légèrement abîmée / box slightly damaged",
                }
            else:
                item["condition"] = {"conditionType": "NEW", "conditionSubtype": "NEW"}
            if fba and product["serialized"]:
                item["serialNumbers"] = [
                    f"SN{rng.randint(10**9, 10**10 - 1)}" for _ in range(quantity)
                ]
            items.append(item)
        order = {
            "orderId": order_id,
            "marketplaceId": mp["id"],
            "fulfilledBy": "AMAZON" if fba else "MERCHANT",
            "createdTime": format_time(created),
            "events": events,
            "business": business,
            "prime": fba and rng.random() < 0.5 or (not fba and rng.random() < 0.05),
            "fulfillmentServiceLevel": rng.choice(["STANDARD"] * 4 + ["EXPEDITED", "NEXT_DAY"]),
            "buyer": buyer,
            "recipient": recipient,
            "items": items,
        }
        if rate is not None:
            order["taxRate"] = rate
        if rng.random() < 0.2:
            order["sellerOrderId"] = f"SO-{number + 1:06d}"
        orders.append(order)
    return {
        "seller": {"sellerId": "A2SANDBOX0SELLER", "storeName": "Sandbox Store"},
        "marketplaces": [mp["code"] for mp in mps],
        "orders": orders,
        "listings": listings,
        "finances": _finances(orders, mps, start, days, seed),
    }


def _finances(orders, mps, start, days, seed):
    """Refunds of some shipped orders and weekly advertising charges per marketplace.

    A random generator of its own, so that the orders stay what they were for a seed."""
    rng = random.Random(f"finances-{seed}")
    for order in orders:
        shipped = [e["time"] for e in order["events"] if e["status"] == "SHIPPED"]
        if shipped and rng.random() < 0.08:
            when = parse_time(shipped[0]) + timedelta(hours=rng.randint(24, 5 * 24))
            items = [i["orderItemId"] for i in order["items"]]
            order["refunds"] = [
                {"time": format_time(when), "itemIds": items if len(items) == 1 else items[:1]}
            ]
    advertising = []
    for mp in mps:
        for week in range(int(days // 7) + 1):
            when = start - timedelta(days=7 * week, hours=rng.randint(1, 20))
            base = money(
                Decimal(rng.randint(1000, 8000)) / 100 * Decimal(FX.get(mp["currency"], "1")),
                mp["currency"],
            )
            tax = (
                money(base * Decimal(mp["taxRate"]), mp["currency"])
                if mp["taxIncluded"]
                else money(0, mp["currency"])
            )
            advertising.append(
                {
                    "marketplace": mp["code"],
                    "time": format_time(when),
                    "amount": str(base),
                    "tax": str(tax),
                }
            )
    return {"advertising": advertising}


def _order_id(rng, country, used):
    while True:
        head = REGION_PREFIX.get(country, "90") + str(rng.randint(1, 9))
        order_id = f"{head}-{rng.randint(0, 9999999):07d}-{rng.randint(0, 9999999):07d}"
        if order_id not in used:
            used.add(order_id)
            return order_id


def _person(rng, country, mp, business):
    given, family = NAMES.get(country, NAMES["US"])
    if country == "JP":
        name = f"{rng.choice(family)} {rng.choice(given)}"
    else:
        name = f"{rng.choice(given)} {rng.choice(family)}"
    city, state, postal, street, rate = rng.choice(PLACES.get(country, PLACES["US"]))
    email = f"{rng.randint(10**9, 10**10 - 1):x}@marketplace.{mp['domain'][4:]}"
    buyer = {"name": name, "email": email}
    recipient = {
        "name": name,
        "addressLine1": street.format(n=rng.randint(1, 250)),
        "city": city,
        "stateOrRegion": state,
        "postalCode": postal,
        "countryCode": country,
        "phone": f"+{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        "addressType": "RESIDENTIAL",
    }
    if rng.random() < 0.2:
        recipient["addressLine2"] = rng.choice(["Apt 4B", "2. OG links", "Bâtiment C", "3F"])
    if business:
        company = rng.choice(COMPANIES.get(country, COMPANIES["US"]))
        buyer["companyName"] = company
        recipient["companyName"] = company
        recipient["addressType"] = "COMMERCIAL"
        if rng.random() < 0.5:
            buyer["purchaseOrderNumber"] = f"PO-{rng.randint(10000, 99999)}"
        if country in VAT_PREFIX:
            buyer["vatNumber"] = VAT_PREFIX[country] + str(rng.randint(10**8, 10**9 - 1))
    return buyer, recipient, rate
