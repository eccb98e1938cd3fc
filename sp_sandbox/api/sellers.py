"""Sellers API: ``getMarketplaceParticipations``."""

from .common import Operation

SELLERS = "sellers"


def participations(app, request, elements):
    store = app.state.scenario.seller.get("storeName", "Sandbox Store")
    payload = [
        {
            "marketplace": {
                "id": mp["id"],
                "name": mp["name"],
                "countryCode": mp["countryCode"],
                "defaultCurrencyCode": mp["currency"],
                "defaultLanguageCode": mp.get("language", "en_US"),
                "domainName": mp["domain"],
            },
            "participation": {"isParticipating": True, "hasSuspendedListings": False},
            "storeName": store,
        }
        for mp in app.state.marketplaces.values()
    ]
    return 200, {"payload": payload}


ROUTES = [
    Operation(
        "/sellers/v1/marketplaceParticipations",
        "GET",
        SELLERS,
        "getMarketplaceParticipations",
        participations,
    ),
]
