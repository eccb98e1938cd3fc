"""Static reference data of the sandbox: marketplaces, usage plans, tax rates.

Our own table, on purpose independent of ``amazon_sp`` (the client must not be able to agree
with the server on a wrong reading of Amazon's contract). Rates and bursts are the documented
defaults of each operation's usage plan in Amazon's models.
"""

from decimal import Decimal

# code: (marketplace id, name, country, currency, language, domain, prices include tax,
#        default tax rate)
MARKETPLACES = {
    "US": ("ATVPDKIKX0DER", "Amazon.com", "US", "USD", "en_US", "www.amazon.com", False, "0.0725"),
    "CA": ("A2EUQ1WTGCTBG2", "Amazon.ca", "CA", "CAD", "en_CA", "www.amazon.ca", False, "0.13"),
    "MX": (
        "A1AM78C64UM0Y8",
        "Amazon.com.mx",
        "MX",
        "MXN",
        "es_MX",
        "www.amazon.com.mx",
        True,
        "0.16",
    ),
    "UK": (
        "A1F83G8C2ARO7P",
        "Amazon.co.uk",
        "GB",
        "GBP",
        "en_GB",
        "www.amazon.co.uk",
        True,
        "0.20",
    ),
    "DE": ("A1PA6795UKMFR9", "Amazon.de", "DE", "EUR", "de_DE", "www.amazon.de", True, "0.19"),
    "FR": ("A13V1IB3VIYZZH", "Amazon.fr", "FR", "EUR", "fr_FR", "www.amazon.fr", True, "0.20"),
    "ES": ("A1RKKUPIHCS9HS", "Amazon.es", "ES", "EUR", "es_ES", "www.amazon.es", True, "0.21"),
    "IT": ("APJ6JRA9NG5V4", "Amazon.it", "IT", "EUR", "it_IT", "www.amazon.it", True, "0.22"),
    "NL": ("A1805IZSGTT6HS", "Amazon.nl", "NL", "EUR", "nl_NL", "www.amazon.nl", True, "0.21"),
    "SE": ("A2NODRKZP88ZB9", "Amazon.se", "SE", "SEK", "sv_SE", "www.amazon.se", True, "0.25"),
    "PL": ("A1C3SOZRARQ6R3", "Amazon.pl", "PL", "PLN", "pl_PL", "www.amazon.pl", True, "0.23"),
    "BE": (
        "AMEN7PMS3EDWL",
        "Amazon.com.be",
        "BE",
        "EUR",
        "fr_BE",
        "www.amazon.com.be",
        True,
        "0.21",
    ),
    "IE": ("A28R8C7NBKEWEA", "Amazon.ie", "IE", "EUR", "en_IE", "www.amazon.ie", True, "0.23"),
    "JP": (
        "A1VC38T7YXB528",
        "Amazon.co.jp",
        "JP",
        "JPY",
        "ja_JP",
        "www.amazon.co.jp",
        True,
        "0.10",
    ),
    "AU": (
        "A39IBJ37TRP1C6",
        "Amazon.com.au",
        "AU",
        "AUD",
        "en_AU",
        "www.amazon.com.au",
        True,
        "0.10",
    ),
}

CURRENCY_DECIMALS = {"JPY": 0}

# operation name -> (rate per second, burst)
USAGE_PLANS = {
    "getMarketplaceParticipations": (0.016, 15),
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "getOrders": (0.0167, 20),
    "ordersV0.getOrder": (0.5, 30),
    "getOrderBuyerInfo": (0.5, 30),
    "getOrderAddress": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getOrderItemsBuyerInfo": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "createRestrictedDataToken": (1.0, 10),
    "getFeeds": (0.0222, 10),
    "createFeed": (0.0083, 15),
    "cancelFeed": (2.0, 15),
    "getFeed": (2.0, 15),
    "createFeedDocument": (0.5, 15),
    "getFeedDocument": (0.0222, 10),
    "listFinancialEventGroups": (0.5, 30),
    "listFinancialEventsByGroupId": (0.5, 30),
    # not an operation: Amazon's pace of UPLOAD_VAT_INVOICE feeds, one every three seconds
    "UPLOAD_VAT_INVOICE": (1 / 3, 1),
    "getInventorySummaries": (2.0, 2),
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    "listFinancialEventsByOrderId": (0.5, 30),
    "listFinancialEvents": (0.5, 30),
    "getDestinations": (1.0, 5),
    "createDestination": (1.0, 5),
    "getDestination": (1.0, 5),
    "deleteDestination": (1.0, 5),
    "getSubscription": (1.0, 5),
    "createSubscription": (1.0, 5),
    "getSubscriptionById": (1.0, 5),
    "deleteSubscriptionById": (1.0, 5),
}

# v2026 status -> v0 spelling
V0_STATUS = {
    "PENDING_AVAILABILITY": "PendingAvailability",
    "PENDING": "Pending",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}
STATUSES = tuple(V0_STATUS)
V0_TO_STATUS = {v: k for k, v in V0_STATUS.items()}
V0_TO_STATUS["InvoiceUnconfirmed"] = "SHIPPED"

INCLUDED_DATA = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
)

V0_CONDITION = {
    "NEW": "New",
    "USED": "Used",
    "COLLECTIBLE": "Collectible",
    "REFURBISHED": "Refurbished",
    "CLUB": "Club",
}
V0_SUBCONDITION = {
    "NEW": "New",
    "MINT": "Mint",
    "VERY_GOOD": "Very Good",
    "GOOD": "Good",
    "ACCEPTABLE": "Acceptable",
    "POOR": "Poor",
    "REFURBISHED": "Refurbished",
    "OPEN_BOX": "OpenBox",
    "OTHER": "Other",
}

RDT_DATA_ELEMENTS = ("buyerInfo", "shippingAddress", "buyerTaxInformation")


def marketplace(code_or_id):
    """Return the marketplace dict for a code ("DE") or an id ("A1PA6795UKMFR9")."""
    for code, row in MARKETPLACES.items():
        if code_or_id in (code, row[0]):
            return {
                "code": code,
                "id": row[0],
                "name": row[1],
                "countryCode": row[2],
                "currency": row[3],
                "language": row[4],
                "domain": row[5],
                "taxIncluded": row[6],
                "taxRate": row[7],
            }
    raise KeyError(f"unknown marketplace {code_or_id!r}")


def quantum(currency):
    return Decimal(1).scaleb(-CURRENCY_DECIMALS.get(currency, 2))
