"""FBA Inventory API v1: ``getInventorySummaries`` over the seller's FBA inventory (``fba.py``).

Marketplace granularity only (the model's one value): ``granularityId`` must be the
marketplace of ``marketplaceIds``. Pages of 50 summaries sorted by SKU; the ``nextToken``
expires 30 seconds (virtual time) after it was issued, like Amazon's.
"""

from datetime import timedelta

from .. import fba
from .common import invalid, known_marketplaces, listed, time_arg
from .pagination import cut, fingerprint

INVENTORY = "fbaInventory"
PAGE_SIZE = 50
TOKEN_SECONDS = 30


def get_inventory_summaries(app, request, elements):
    state = app.state
    marketplaces = known_marketplaces(state, listed(request, "marketplaceIds", max_items=1))
    if not marketplaces:
        raise invalid("Missing required parameter marketplaceIds.")
    marketplace = marketplaces[0]
    if request.args.get("granularityId") != marketplace:
        raise invalid(
            "Invalid granularityId.",
            "With granularityType Marketplace, granularityId must be the marketplace of "
            "marketplaceIds.",
        )
    details = (request.args.get("details") or "false").lower() == "true"
    pinned = app.pages.resume(request, "nextToken", "inventory")
    now = state.now()
    offset = 0
    if pinned is not None:
        if now - pinned["issued"] > timedelta(seconds=TOKEN_SECONDS):
            raise invalid("Invalid nextToken.", "The nextToken has expired.")
        offset = pinned["offset"]
    changed_since = time_arg(request, "startDateTime")
    skus = listed(request, "sellerSkus", max_items=50)
    single = request.args.get("sellerSku")
    rows = state.fba_inventory(now)
    selected = []
    for sku in sorted(rows):
        row = rows[sku]
        if row["marketplaceId"] != marketplace:
            continue
        if changed_since is not None:
            if not row["lastUpdated"] or row["lastUpdated"] < changed_since:
                continue
        elif skus and sku not in skus:
            continue
        elif not skus and single and sku != single:
            continue
        selected.append(fba.summary(sku, row, details, fba.fnsku_of(sku)))
    page, more = cut(selected, PAGE_SIZE, offset)
    result = {
        "payload": {
            "granularity": {"granularityType": "Marketplace", "granularityId": marketplace},
            "inventorySummaries": page,
        }
    }
    if more:
        result["pagination"] = {
            "nextToken": app.pages.issue(
                "inventory",
                offset=offset + PAGE_SIZE,
                issued=now,
                filters=fingerprint(request, "nextToken"),
            )
        }
    return 200, result
