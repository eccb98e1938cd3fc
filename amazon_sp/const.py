"""The one place for Amazon constants: regions, marketplaces, statuses, carriers.

Pure data, no Odoo import: the client layer and the Odoo models both read it.
"""

# --- Regions and endpoints -------------------------------------------------

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"

REGIONS = {
    # code: (label, SP-API endpoint, AWS region)
    "na": ("North America", "https://sellingpartnerapi-na.amazon.com", "us-east-1"),
    "eu": ("Europe", "https://sellingpartnerapi-eu.amazon.com", "eu-west-1"),
    "fe": ("Far East", "https://sellingpartnerapi-fe.amazon.com", "us-west-2"),
}

# --- Marketplaces ----------------------------------------------------------
# code: (API id, name, ISO country, region, currency, Seller Central URL,
#        prices include tax)
MARKETPLACES = {
    "US": (
        "ATVPDKIKX0DER",
        "Amazon.com",
        "US",
        "na",
        "USD",
        "https://sellercentral.amazon.com",
        False,
    ),
    "CA": (
        "A2EUQ1WTGCTBG2",
        "Amazon.ca",
        "CA",
        "na",
        "CAD",
        "https://sellercentral.amazon.ca",
        False,
    ),
    "MX": (
        "A1AM78C64UM0Y8",
        "Amazon.com.mx",
        "MX",
        "na",
        "MXN",
        "https://sellercentral.amazon.com.mx",
        True,
    ),
    "BR": (
        "A2Q3Y263D00KWC",
        "Amazon.com.br",
        "BR",
        "na",
        "BRL",
        "https://sellercentral.amazon.com.br",
        True,
    ),
    "ES": (
        "A1RKKUPIHCS9HS",
        "Amazon.es",
        "ES",
        "eu",
        "EUR",
        "https://sellercentral.amazon.es",
        True,
    ),
    "UK": (
        "A1F83G8C2ARO7P",
        "Amazon.co.uk",
        "GB",
        "eu",
        "GBP",
        "https://sellercentral.amazon.co.uk",
        True,
    ),
    "FR": (
        "A13V1IB3VIYZZH",
        "Amazon.fr",
        "FR",
        "eu",
        "EUR",
        "https://sellercentral.amazon.fr",
        True,
    ),
    "BE": (
        "AMEN7PMS3EDWL",
        "Amazon.com.be",
        "BE",
        "eu",
        "EUR",
        "https://sellercentral.amazon.com.be",
        True,
    ),
    "NL": (
        "A1805IZSGTT6HS",
        "Amazon.nl",
        "NL",
        "eu",
        "EUR",
        "https://sellercentral.amazon.nl",
        True,
    ),
    "DE": (
        "A1PA6795UKMFR9",
        "Amazon.de",
        "DE",
        "eu",
        "EUR",
        "https://sellercentral.amazon.de",
        True,
    ),
    "IT": (
        "APJ6JRA9NG5V4",
        "Amazon.it",
        "IT",
        "eu",
        "EUR",
        "https://sellercentral.amazon.it",
        True,
    ),
    "SE": (
        "A2NODRKZP88ZB9",
        "Amazon.se",
        "SE",
        "eu",
        "SEK",
        "https://sellercentral.amazon.se",
        True,
    ),
    "ZA": (
        "AE08WJ6YKNBMC",
        "Amazon.co.za",
        "ZA",
        "eu",
        "ZAR",
        "https://sellercentral.amazon.co.za",
        True,
    ),
    "PL": (
        "A1C3SOZRARQ6R3",
        "Amazon.pl",
        "PL",
        "eu",
        "PLN",
        "https://sellercentral.amazon.pl",
        True,
    ),
    "EG": (
        "ARBP9OOSHTCHU",
        "Amazon.eg",
        "EG",
        "eu",
        "EGP",
        "https://sellercentral.amazon.eg",
        True,
    ),
    "TR": (
        "A33AVAJ2PDY3EV",
        "Amazon.com.tr",
        "TR",
        "eu",
        "TRY",
        "https://sellercentral.amazon.com.tr",
        True,
    ),
    "SA": (
        "A17E79C6D8DWNP",
        "Amazon.sa",
        "SA",
        "eu",
        "SAR",
        "https://sellercentral.amazon.sa",
        True,
    ),
    "AE": (
        "A2VIGQ35RCS4UG",
        "Amazon.ae",
        "AE",
        "eu",
        "AED",
        "https://sellercentral.amazon.ae",
        True,
    ),
    "IN": (
        "A21TJRUUN4KGV",
        "Amazon.in",
        "IN",
        "eu",
        "INR",
        "https://sellercentral.amazon.in",
        True,
    ),
    "IE": (
        "A28R8C7NBKEWEA",
        "Amazon.ie",
        "IE",
        "eu",
        "EUR",
        "https://sellercentral.amazon.ie",
        True,
    ),
    "SG": (
        "A19VAU5U5O7RUS",
        "Amazon.sg",
        "SG",
        "fe",
        "SGD",
        "https://sellercentral.amazon.sg",
        True,
    ),
    "AU": (
        "A39IBJ37TRP1C6",
        "Amazon.com.au",
        "AU",
        "fe",
        "AUD",
        "https://sellercentral.amazon.com.au",
        True,
    ),
    "JP": (
        "A1VC38T7YXB528",
        "Amazon.co.jp",
        "JP",
        "fe",
        "JPY",
        "https://sellercentral.amazon.co.jp",
        True,
    ),
}
MARKETPLACE_BY_API_ID = {values[0]: code for code, values in MARKETPLACES.items()}

# --- Order statuses (normalised to the v2026-01-01 spelling) ---------------

STATUS_PENDING_AVAILABILITY = "PENDING_AVAILABILITY"
STATUS_PENDING = "PENDING"
STATUS_UNSHIPPED = "UNSHIPPED"
STATUS_PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
STATUS_SHIPPED = "SHIPPED"
STATUS_CANCELLED = "CANCELLED"
STATUS_UNFULFILLABLE = "UNFULFILLABLE"
ORDER_STATUSES = (
    STATUS_PENDING_AVAILABILITY,
    STATUS_PENDING,
    STATUS_UNSHIPPED,
    STATUS_PARTIALLY_SHIPPED,
    STATUS_SHIPPED,
    STATUS_CANCELLED,
    STATUS_UNFULFILLABLE,
)
# v0 spelling -> normalised spelling
V0_STATUS_MAP = {
    "PendingAvailability": STATUS_PENDING_AVAILABILITY,
    "Pending": STATUS_PENDING,
    "Unshipped": STATUS_UNSHIPPED,
    "PartiallyShipped": STATUS_PARTIALLY_SHIPPED,
    "Shipped": STATUS_SHIPPED,
    "InvoiceUnconfirmed": STATUS_SHIPPED,
    "Canceled": STATUS_CANCELLED,
    "Unfulfillable": STATUS_UNFULFILLABLE,
}

CHANNEL_AFN = "AFN"  # fulfilled by Amazon (FBA)
CHANNEL_MFN = "MFN"  # fulfilled by the merchant (FBM)

# Which statuses the order sync takes, per channel; other orders wait.
SYNC_STATUSES = {
    CHANNEL_AFN: (STATUS_SHIPPED, STATUS_CANCELLED),
    CHANNEL_MFN: (STATUS_UNSHIPPED, STATUS_PARTIALLY_SHIPPED, STATUS_CANCELLED),
}
# FBM orders already seen may move on to these statuses (kept in sync).
FOLLOW_UP_STATUSES = {
    CHANNEL_AFN: (STATUS_SHIPPED, STATUS_CANCELLED),
    CHANNEL_MFN: (STATUS_UNSHIPPED, STATUS_PARTIALLY_SHIPPED, STATUS_SHIPPED, STATUS_CANCELLED),
}

# Statuses the order search asks Amazon for (the union of the two above).
SEARCH_STATUSES = (STATUS_UNSHIPPED, STATUS_PARTIALLY_SHIPPED, STATUS_SHIPPED, STATUS_CANCELLED)

# Datasets asked for with each searchOrders/getOrder call.
ORDER_INCLUDED_DATA = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "TAX",
)

# Amazon order reference: 3-7-7 digits.
ORDER_REF_PATTERN = r"^\d{3}-\d{7}-\d{7}$"

# --- Carriers --------------------------------------------------------------
# Amazon's carrier codes accepted by confirmShipment (carrierCode). Anything
# else is sent as carrierCode "Other" with the free-text carrierName.
CARRIER_OTHER = "Other"
CARRIER_SELF_DELIVERY = "Self Delivery"
# Names a seller may give a self-delivery carrier, lower case, any language.
SELF_DELIVERY_NAMES = ("self delivery", "self-delivery", "autoentrega", "entrega propia")
AMAZON_CARRIERS = (
    "4PX",
    "A-1",
    "AAA Cooper",
    "ABF",
    "Amazon Shipping",
    "AMZL",
    "AMZL_UK",
    "APC Overnight",
    "Aramex",
    "Arrow XL",
    "Asendia",
    "Australia Post",
    "BlueDart",
    "Bombino Express",
    "Bpost",
    "BRT",
    "Canada Post",
    "Canpar",
    "CDL",
    "China Post",
    "Chronopost",
    "Colis Prive",
    "Colissimo",
    "Correios",
    "Correos",
    "Correos Express",
    "CTT",
    "DB Schenker",
    "Delhivery",
    "Deutsche Post",
    "DHL",
    "DHL eCommerce",
    "DHL Express",
    "DHL Freight",
    "DPD",
    "DTDC",
    "Easyship",
    "Ecom Express",
    "Estes",
    "Fastway",
    "FedEx",
    "FedEx Freight",
    "FedEx SmartPost",
    "First Flight",
    "GLS",
    "GO!",
    "Hermes",
    "Hermes Logistik Gruppe",
    "India Post",
    "Japan Post",
    "La Poste",
    "Lasership",
    "MRW",
    "Nacex",
    "Newgistics",
    "Nippon Express",
    "OnTrac",
    "OSM",
    "Overnite Express",
    "Parcelforce",
    "Poste Italiane",
    "PostNL",
    "Purolator",
    "R+L Carriers",
    "Royal Mail",
    "SAGAWA",
    "SDA",
    "Seino",
    CARRIER_SELF_DELIVERY,
    "Seur",
    "Smartmail",
    "Startrack",
    "TNT",
    "UPS",
    "UPS Freight",
    "UPS Mail Innovations",
    "USPS",
    "Yamato Transport",
    "Yodel",
)
TRACKING_REF_MAX_LENGTH = 64

# --- Listings feeds: FBM stock push (JSON_LISTINGS_FEED, listings feed format v2) ---------------
LISTINGS_FEED_TYPE = "JSON_LISTINGS_FEED"
LISTINGS_FEED_VERSION = "2.0"
LISTINGS_FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
LISTINGS_PRODUCT_TYPE = "PRODUCT"  # PATCH of fulfillment availability needs no real type
LISTINGS_AVAILABILITY_PATH = "/attributes/fulfillment_availability"
# Messages per JSON_LISTINGS_FEED: the project keeps 10,000 (the cap the issue and the
# sandbox set), under the 25,000 maxItems of Amazon's listings-feed-schema-v2.json.
LISTINGS_FEED_MAX_MESSAGES = 10_000
FULFILLMENT_CHANNEL_DEFAULT = "DEFAULT"  # the seller's own (FBM) fulfillment channel
FEED_STATUS_DONE = "DONE"
FEED_STATUS_FATAL = "FATAL"
FEED_STATUS_CANCELLED = "CANCELLED"
FEED_STATUSES_PENDING = ("IN_QUEUE", "IN_PROGRESS")
# A feed Amazon has not processed after this long is given up and its quantities sent again.
FEED_STALE_HOURS = 24
