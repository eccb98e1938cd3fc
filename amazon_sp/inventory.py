"""FBA Inventory API v1, typed: what Amazon holds of each SKU in its fulfillment centers.

``client.inventory`` (an :class:`InventoryApi`)::

    summaries = client.inventory.summaries(marketplace_id)  # every page -> [InventorySummary]
    by_sku = client.inventory.by_sku(marketplace_ids)  # {sku: InventorySummary}

``getInventorySummaries`` is asked with ``details=true`` (the breakdown into fulfillable,
reserved, inbound, unfulfillable and researching units) at ``Marketplace`` granularity, the
only one the model allows: ``granularityId`` and ``marketplaceIds`` (one value at most) both
carry the marketplace. Every page is read (``nextToken``, valid 30 seconds: pages are asked
back to back, paced by the operation's rate limit, 2 requests/s, burst 2).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from . import errors
from .parsing import format_datetime, parse_datetime

OPERATION = "getInventorySummaries"
PATH = "/fba/inventory/v1/summaries"
GRANULARITY = "Marketplace"
MAX_SKUS = 50  # sellerSkus: at most 50 values


@dataclass(frozen=True)
class InventorySummary:
    """One SKU's FBA inventory in one marketplace (units). ``reserved`` is
    ``totalReservedQuantity``; its parts are given as Amazon sends them."""

    sku: str
    marketplace_id: str
    asin: str | None = None
    fnsku: str | None = None
    condition: str | None = None
    product_name: str | None = None
    total: int = 0
    fulfillable: int = 0
    reserved: int = 0
    pending_customer_order: int = 0
    pending_transshipment: int = 0
    fc_processing: int = 0
    inbound_working: int = 0
    inbound_shipped: int = 0
    inbound_receiving: int = 0
    unfulfillable: int = 0
    researching: int = 0
    last_updated: datetime | None = None

    @property
    def in_stock(self):
        """Units in Amazon's fulfillment centers that are sellable or on their way to a
        customer of an order Amazon has not shipped yet: fulfillable + reserved."""
        return self.fulfillable + self.reserved

    @property
    def inbound(self):
        return self.inbound_working + self.inbound_shipped + self.inbound_receiving


def _units(value, where):
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.SpApiResponseError(
            f"{where}: expected a whole number of units >= 0, got {value!r}", operation=OPERATION
        )
    return value


def _object(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.SpApiResponseError(f"{where}: expected an object", operation=OPERATION)
    return value


def parse_summary(raw, marketplace_id):
    """One ``InventorySummary`` JSON object -> :class:`InventorySummary`."""
    raw = _object(raw, "inventorySummaries[]")
    sku = raw.get("sellerSku")
    if not isinstance(sku, str) or not sku:
        raise errors.SpApiResponseError(
            "an inventory summary without sellerSku", operation=OPERATION
        )
    details = _object(raw.get("inventoryDetails"), f"{sku}: inventoryDetails")
    reserved = _object(details.get("reservedQuantity"), f"{sku}: reservedQuantity")
    unfulfillable = _object(details.get("unfulfillableQuantity"), f"{sku}: unfulfillableQuantity")
    researching = _object(details.get("researchingQuantity"), f"{sku}: researchingQuantity")
    updated = raw.get("lastUpdatedTime")
    try:
        updated = parse_datetime(updated) if updated else None
    except (TypeError, ValueError):
        raise errors.SpApiResponseError(
            f"{sku}: unparseable lastUpdatedTime {updated!r}", operation=OPERATION
        ) from None
    parts = {
        "pending_customer_order": _units(
            reserved.get("pendingCustomerOrderQuantity"), f"{sku}: pendingCustomerOrderQuantity"
        ),
        "pending_transshipment": _units(
            reserved.get("pendingTransshipmentQuantity"), f"{sku}: pendingTransshipmentQuantity"
        ),
        "fc_processing": _units(
            reserved.get("fcProcessingQuantity"), f"{sku}: fcProcessingQuantity"
        ),
    }
    total_reserved = reserved.get("totalReservedQuantity")
    if total_reserved is None:
        total_reserved = sum(parts.values())
    return InventorySummary(
        sku=sku,
        marketplace_id=marketplace_id,
        asin=raw.get("asin") or None,
        fnsku=raw.get("fnSku") or None,
        condition=raw.get("condition") or None,
        product_name=raw.get("productName") or None,
        total=_units(raw.get("totalQuantity"), f"{sku}: totalQuantity"),
        fulfillable=_units(details.get("fulfillableQuantity"), f"{sku}: fulfillableQuantity"),
        reserved=_units(total_reserved, f"{sku}: totalReservedQuantity"),
        inbound_working=_units(
            details.get("inboundWorkingQuantity"), f"{sku}: inboundWorkingQuantity"
        ),
        inbound_shipped=_units(
            details.get("inboundShippedQuantity"), f"{sku}: inboundShippedQuantity"
        ),
        inbound_receiving=_units(
            details.get("inboundReceivingQuantity"), f"{sku}: inboundReceivingQuantity"
        ),
        unfulfillable=_units(
            unfulfillable.get("totalUnfulfillableQuantity"),
            f"{sku}: totalUnfulfillableQuantity",
        ),
        researching=_units(
            researching.get("totalResearchingQuantity"), f"{sku}: totalResearchingQuantity"
        ),
        last_updated=updated,
        **parts,
    )


class InventoryApi:
    """The FBA Inventory API on one :class:`~.client.SpApiClient` (same thread rules)."""

    def __init__(self, client):
        self._client = client

    def __repr__(self):
        return f"InventoryApi({self._client!r})"

    def pages(self, marketplace_id, skus=None, changed_since=None):
        """Yield the raw pages (``payload`` objects) of getInventorySummaries for one
        marketplace, ``details=true``, following ``nextToken`` to the end.

        ``skus``: at most 50 SKUs (else all); ``changed_since``: only the summaries that
        changed since then (Amazon then ignores ``skus``)."""
        if not marketplace_id:
            raise ValueError("a marketplace id is required")
        params = {
            "details": "true",
            "granularityType": GRANULARITY,
            "granularityId": marketplace_id,
            "marketplaceIds": marketplace_id,
        }
        if changed_since is not None:
            params["startDateTime"] = format_datetime(changed_since)
        elif skus:
            skus = list(skus)
            if len(skus) > MAX_SKUS:
                raise ValueError(f"at most {MAX_SKUS} SKUs per request")
            params["sellerSkus"] = ",".join(skus)
        token = None
        client = self._client
        while True:
            query = dict(params, nextToken=token) if token else dict(params)
            call = functools.partial(self._get, query)
            response = client._call(client._inventories, OPERATION, call)
            payload = response.body.get("payload")
            if not isinstance(payload, dict) or not isinstance(
                payload.get("inventorySummaries"), list
            ):
                raise errors.SpApiResponseError(
                    "missing payload.inventorySummaries",
                    operation=OPERATION,
                    request_id=response.request_id,
                )
            yield payload
            pagination = response.body.get("pagination") or {}
            token = pagination.get("nextToken") if isinstance(pagination, dict) else None
            if not token:
                return

    def _get(self, query):
        return self._client._inventories._request(PATH, params={"method": "GET", **query})

    def summaries(self, marketplace_id, skus=None, changed_since=None):
        """Every :class:`InventorySummary` of one marketplace (all pages)."""
        result = []
        for payload in self.pages(marketplace_id, skus=skus, changed_since=changed_since):
            result += [parse_summary(raw, marketplace_id) for raw in payload["inventorySummaries"]]
        return result

    def by_sku(self, marketplace_ids):
        """{sku: InventorySummary} over ``marketplace_ids``, asked one marketplace at a time
        as the API requires. A SKU in several marketplaces of one pool of fulfillment centers
        (Pan-European FBA: the same units are offered in each) is counted once: the first
        marketplace of ``marketplace_ids`` that reports it wins."""
        result = {}
        for marketplace_id in marketplace_ids:
            for summary in self.summaries(marketplace_id):
                result.setdefault(summary.sku, summary)
        return result
