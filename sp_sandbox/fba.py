"""The seller's FBA inventory: what Amazon's fulfillment centers hold of each SKU, over time.

Nothing is stored as a running count: the inventory at a virtual time ``t`` is computed from
the scenario's starting stock and everything dated up to ``t``, so it always agrees with the
orders the sandbox serves:

* FBA orders: units of an order Amazon has not shipped (nor cancelled) yet are *reserved*
  (``pendingCustomerOrderQuantity``); shipped units are gone;
* customer returns: a SELLABLE unit goes back to *fulfillable*, any other disposition to
  *unfulfillable* (DEFECTIVE, CUSTOMER_DAMAGED, CARRIER_DAMAGED, DAMAGED, EXPIRED);
* events Amazon does not explain to the seller: ``damage`` (fulfillable -> warehouse
  damaged), ``found`` (+ fulfillable), ``lost`` (fulfillable -> researching).

Scenario format (``Scenario.fba``)::

    {"stock": {sku: {"marketplaceId", "initial", "inboundWorking", "inboundShipped",
                     "inboundReceiving"}},
     "returns": [{"orderId", "sku", "quantity", "disposition", "time", "reason"?,
                  "licensePlateNumber"?, "marketplaceId"?}],
     "events": [{"sku", "kind": "damage" | "found" | "lost", "quantity", "time"}]}

``initial`` is the stock at the beginning of time; a SKU without it starts with exactly the
units of its FBA orders (it runs out once they all shipped).
"""

import copy
from collections import defaultdict
from datetime import timedelta

from .timeline import view_at
from .values import format_time, parse_time

DISPOSITIONS = (
    "SELLABLE",
    "DEFECTIVE",
    "CUSTOMER_DAMAGED",
    "CARRIER_DAMAGED",
    "DAMAGED",
    "EXPIRED",
)
UNFULFILLABLE_FIELDS = {
    "DEFECTIVE": "defectiveQuantity",
    "CUSTOMER_DAMAGED": "customerDamagedQuantity",
    "CARRIER_DAMAGED": "carrierDamagedQuantity",
    "DAMAGED": "warehouseDamagedQuantity",
    "EXPIRED": "expiredQuantity",
}
EVENT_KINDS = ("damage", "found", "lost")
REASONS = {
    "SELLABLE": ("UNWANTED_ITEM", "NO_REASON_GIVEN", "ORDERED_WRONG_ITEM"),
    "DEFECTIVE": ("DEFECTIVE", "QUALITY_UNACCEPTABLE"),
    "CUSTOMER_DAMAGED": ("DAMAGED_BY_CUSTOMER",),
    "CARRIER_DAMAGED": ("DAMAGED_BY_CARRIER",),
}


def normalize(payload):
    """Scenario ``fba`` JSON -> internal dict (aware datetimes). Raises ValueError."""
    payload = copy.deepcopy(payload or {})
    stock = {}
    for sku, entry in (payload.get("stock") or {}).items():
        stock[sku] = {
            "marketplaceId": entry.get("marketplaceId"),
            "initial": _count(entry.get("initial"), "initial", allow_none=True),
            "inboundWorking": _count(entry.get("inboundWorking", 0), "inboundWorking"),
            "inboundShipped": _count(entry.get("inboundShipped", 0), "inboundShipped"),
            "inboundReceiving": _count(entry.get("inboundReceiving", 0), "inboundReceiving"),
        }
    returns = [normalize_return(raw) for raw in payload.get("returns") or []]
    events = [normalize_event(raw) for raw in payload.get("events") or []]
    return {"stock": stock, "returns": returns, "events": events}


def _count(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0")
    return value


def normalize_return(raw, now=None):
    disposition = str(raw.get("disposition") or "").upper()
    if disposition not in DISPOSITIONS:
        raise ValueError(f"disposition must be one of {', '.join(DISPOSITIONS)}")
    if not raw.get("orderId") or not raw.get("sku"):
        raise ValueError("a return needs orderId and sku")
    quantity = _count(raw.get("quantity", 1), "quantity")
    if quantity < 1:
        raise ValueError("quantity must be >= 1")
    when = parse_time(raw["time"]) if raw.get("time") else now
    if when is None:
        raise ValueError("a return needs its time")
    return {
        "orderId": str(raw["orderId"]),
        "sku": str(raw["sku"]),
        "quantity": quantity,
        "disposition": disposition,
        "time": when.replace(microsecond=0),
        "reason": raw.get("reason") or REASONS.get(disposition, ("NO_REASON_GIVEN",))[0],
        "licensePlateNumber": raw.get("licensePlateNumber") or None,
        "marketplaceId": raw.get("marketplaceId"),
        "fulfillmentCenterId": raw.get("fulfillmentCenterId") or "MAD4",
        "comments": raw.get("comments") or "",
    }


def normalize_event(raw, now=None):
    if raw.get("kind") not in EVENT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(EVENT_KINDS)}")
    if not raw.get("sku"):
        raise ValueError("an event needs its sku")
    quantity = _count(raw.get("quantity", 1), "quantity")
    when = parse_time(raw["time"]) if raw.get("time") else now
    if when is None:
        raise ValueError("an event needs its time")
    return {"sku": str(raw["sku"]), "kind": raw["kind"], "quantity": quantity, "time": when}


def to_json(fba):
    """Internal dict -> scenario JSON."""
    result = copy.deepcopy(fba)
    for row in result["returns"] + result["events"]:
        row["time"] = format_time(row["time"])
    return result


def _fba_items(state):
    """[(record, item)] of every FBA order item."""
    return [
        (record, item)
        for record in state._records.values()
        if record["fulfilledBy"] == "AMAZON"
        for item in record["items"]
        if item["sku"]
    ]


def inventory(state, when=None):
    """{sku: quantities} at ``when`` (default: now), every SKU Amazon holds or held."""
    when = when or state.now()
    fba = state.fba
    rows = defaultdict(_empty)
    ordered = defaultdict(int)
    for record, item in _fba_items(state):
        sku = item["sku"]
        row = rows[sku]
        row["marketplaceId"] = row["marketplaceId"] or record["marketplace"]["id"]
        row["asin"] = row["asin"] or item["asin"]
        row["productName"] = row["productName"] or item["title"]
        ordered[sku] += item["quantity"]
        current = view_at(record, when)
        if current is None:
            continue
        shipped = current.shipped[item["orderItemId"]]
        row["shipped"] += shipped
        row["pendingCustomerOrderQuantity"] += current.unshipped(item["orderItemId"])
        row["lastUpdated"] = max(row["lastUpdated"] or current.last_updated, current.last_updated)
    for sku, entry in fba["stock"].items():
        row = rows[sku]
        row["marketplaceId"] = entry["marketplaceId"] or row["marketplaceId"]
        for key in ("inboundWorking", "inboundShipped", "inboundReceiving"):
            row[key] = entry[key]
    for sku, row in rows.items():
        entry = fba["stock"].get(sku)
        initial = entry["initial"] if entry and entry["initial"] is not None else ordered[sku]
        row["fulfillable"] = initial - row["shipped"] - row["pendingCustomerOrderQuantity"]
    for raw in fba["returns"]:
        if raw["time"] > when:
            continue
        row = rows[raw["sku"]]
        if raw["disposition"] == "SELLABLE":
            row["fulfillable"] += raw["quantity"]
        else:
            row["unfulfillable"][UNFULFILLABLE_FIELDS[raw["disposition"]]] += raw["quantity"]
        row["lastUpdated"] = max(row["lastUpdated"] or raw["time"], raw["time"])
    for raw in fba["events"]:
        if raw["time"] > when:
            continue
        row = rows[raw["sku"]]
        if raw["kind"] == "found":
            row["fulfillable"] += raw["quantity"]
        elif raw["kind"] == "damage":
            row["fulfillable"] -= raw["quantity"]
            row["unfulfillable"]["warehouseDamagedQuantity"] += raw["quantity"]
        else:
            row["fulfillable"] -= raw["quantity"]
            row["researching"] += raw["quantity"]
        row["lastUpdated"] = max(row["lastUpdated"] or raw["time"], raw["time"])
    return {sku: row for sku, row in rows.items() if row["marketplaceId"]}


def _empty():
    return {
        "marketplaceId": None,
        "asin": None,
        "productName": None,
        "shipped": 0,
        "fulfillable": 0,
        "pendingCustomerOrderQuantity": 0,
        "inboundWorking": 0,
        "inboundShipped": 0,
        "inboundReceiving": 0,
        "unfulfillable": defaultdict(int),
        "researching": 0,
        "lastUpdated": None,
    }


def summary(sku, row, details, fnsku):
    """One ``InventorySummary`` object of Amazon's model."""
    reserved = row["pendingCustomerOrderQuantity"]
    unfulfillable = {name: row["unfulfillable"][name] for name in UNFULFILLABLE_FIELDS.values()}
    total_unfulfillable = sum(unfulfillable.values())
    inbound = row["inboundWorking"] + row["inboundShipped"] + row["inboundReceiving"]
    result = {
        "asin": row["asin"] or "B0SANDBOX0",
        "fnSku": fnsku,
        "sellerSku": sku,
        "condition": "NewItem",
        "lastUpdatedTime": format_time(row["lastUpdated"]) if row["lastUpdated"] else "",
        "productName": row["productName"] or sku,
        "totalQuantity": max(0, row["fulfillable"])
        + reserved
        + total_unfulfillable
        + row["researching"]
        + inbound,
    }
    if not row["lastUpdated"]:
        result.pop("lastUpdatedTime")
    if details:
        result["inventoryDetails"] = {
            "fulfillableQuantity": max(0, row["fulfillable"]),
            "inboundWorkingQuantity": row["inboundWorking"],
            "inboundShippedQuantity": row["inboundShipped"],
            "inboundReceivingQuantity": row["inboundReceiving"],
            "reservedQuantity": {
                "totalReservedQuantity": reserved,
                "pendingCustomerOrderQuantity": reserved,
                "pendingTransshipmentQuantity": 0,
                "fcProcessingQuantity": 0,
            },
            "researchingQuantity": {
                "totalResearchingQuantity": row["researching"],
                "researchingQuantityBreakdown": [
                    {"name": "researchingQuantityInShortTerm", "quantity": row["researching"]}
                ],
            },
            "unfulfillableQuantity": {
                "totalUnfulfillableQuantity": total_unfulfillable,
                **unfulfillable,
            },
        }
    return result


def returns_between(state, start, end, marketplace_ids):
    """The customer returns dated in [start, end] of orders (or SKUs) of these marketplaces,
    oldest first."""
    stock = state.fba["stock"]
    rows = []
    for raw in state.fba["returns"]:
        if not start <= raw["time"] <= end:
            continue
        record = state._records.get(raw["orderId"])
        marketplace = (
            record["marketplace"]["id"]
            if record
            else raw["marketplaceId"] or (stock.get(raw["sku"]) or {}).get("marketplaceId")
        )
        if marketplace in marketplace_ids:
            rows.append(raw)
    return sorted(rows, key=lambda r: r["time"])


def returns_document(state, rows):
    """The tab-separated report Amazon produces for ``rows`` (str)."""
    header = (
        "return-date\torder-id\tsku\tasin\tfnsku\tproduct-name\tquantity\t"
        "fulfillment-center-id\tdetailed-disposition\treason\tstatus\t"
        "license-plate-number\tcustomer-comments"
    )
    lines = [header]
    for raw in rows:
        record = state._records.get(raw["orderId"])
        item = next((i for i in (record or {}).get("items", []) if i["sku"] == raw["sku"]), None)
        values = [
            raw["time"].strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            raw["orderId"],
            raw["sku"],
            (item or {}).get("asin") or "",
            fnsku_of(raw["sku"]),
            ((item or {}).get("title") or raw["sku"]).replace("\t", " "),
            str(raw["quantity"]),
            raw["fulfillmentCenterId"],
            raw["disposition"],
            raw["reason"],
            "Unit returned to inventory" if raw["disposition"] == "SELLABLE" else "Reimbursed",
            raw["licensePlateNumber"] or "",
            raw["comments"].replace("\t", " ").replace("\n", " "),
        ]
        lines.append("\t".join(values))
    return "\n".join(lines) + "\n"


def fnsku_of(sku):
    """A stable FNSKU (Amazon's label code) for ``sku``."""
    value = 0
    for char in sku:
        value = (value * 131 + ord(char)) % 10**12
    return f"X00{value % 10**7:07d}"


def generate(orders, start, rng):
    """Scenario ``fba`` JSON for generated ``orders``: spare stock per FBA SKU, returns of
    some shipped FBA orders (one unknown order among them) and a few unexplained events.
    ``rng`` is the generator's own stream (orders stay what they are without it)."""
    stock, returns, events = {}, [], []
    units = defaultdict(int)
    shipped = []
    for order in orders:
        if order.get("fulfilledBy") != "AMAZON":
            continue
        for item in order["items"]:
            units[(order["marketplaceId"], item["sku"])] += item["quantity"]
        ship = next((e["time"] for e in order["events"] if e["status"] == "SHIPPED"), None)
        if ship and parse_time(ship) < start - timedelta(days=1):
            shipped.append((order, parse_time(ship)))
    for (marketplace_id, sku), count in sorted(units.items()):
        stock[sku] = {
            "marketplaceId": marketplace_id,
            "initial": count + rng.randint(10, 40),
            "inboundWorking": rng.choice([0, 0, 10, 24]),
            "inboundShipped": rng.choice([0, 0, 12]),
            "inboundReceiving": rng.choice([0, 0, 0, 6]),
        }
    for number, (order, ship) in enumerate(shipped):
        if rng.random() >= 0.12:
            continue
        item = rng.choice(order["items"])
        disposition = rng.choice(["SELLABLE"] * 6 + ["DEFECTIVE", "CUSTOMER_DAMAGED"])
        when = min(ship + timedelta(hours=rng.randint(20, 60)), start - timedelta(hours=2))
        returns.append(
            {
                "orderId": order["orderId"],
                "sku": item["sku"],
                "quantity": 1,
                "disposition": disposition,
                "time": format_time(when),
                "licensePlateNumber": None if rng.random() < 0.25 else f"LPN{number:010d}",
            }
        )
    skus = sorted(stock)
    if skus:
        unknown_sku = rng.choice(skus)
        returns.append(
            {
                "orderId": "999-0000000-0000001",
                "sku": unknown_sku,
                "quantity": 1,
                "disposition": "SELLABLE",
                "time": format_time(start - timedelta(hours=30)),
                "licensePlateNumber": "LPN9999999999",
                "marketplaceId": stock[unknown_sku]["marketplaceId"],
            }
        )
        for kind in ("damage", "found", "lost", "damage"):
            events.append(
                {
                    "sku": rng.choice(skus),
                    "kind": kind,
                    "quantity": rng.randint(1, 3),
                    "time": format_time(start - timedelta(hours=rng.randint(3, 48))),
                }
            )
    return {"stock": stock, "returns": returns, "events": events}
