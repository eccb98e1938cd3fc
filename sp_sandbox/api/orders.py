"""Orders API: v2026-01-01 ``searchOrders``/``getOrder`` and the v0 reads.

Both versions select orders the same way: a created or lastUpdated window (its end at least
two minutes before now), marketplace/channel/status filters, sorted by (time, orderId). A page
token pins the selection and the last key served, so later pages continue where the previous
one ended even when orders change meanwhile.
"""

import copy

from .. import data, render
from ..timeline import OrderView
from ..values import format_time
from .common import (
    Operation,
    int_arg,
    invalid,
    known_marketplaces,
    latest_allowed,
    listed,
    mark_raw,
    order_view,
    time_arg,
)
from .pagination import cut, fingerprint

# what a searchOrders page may change (the model says so); getOrders pins its page size
SEARCH_FREE = ("maxResultsPerPage", "includedData")
V0_FREE = ("MaxResultsPerPage",)

ORDERS_2026 = "orders_2026-01-01"
ORDERS_V0 = "ordersV0"
WINDOW_2026 = ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore")
WINDOW_V0 = ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore")


# --- selection -----------------------------------------------------------------------
def window(state, request, names):
    """Validate the created/lastUpdated window named ``names``; return (mode, after, before)."""
    after_created, before_created, after_updated, before_updated = (
        time_arg(request, name) for name in names
    )
    if (after_created is None) == (after_updated is None):
        raise invalid(f"Exactly one of {names[0]} and {names[2]} must be provided.")
    if after_created is not None and (after_updated or before_updated):
        raise invalid(f"{names[2]} and {names[3]} cannot be set when {names[0]} is set.")
    if after_updated is not None and before_created:
        raise invalid(f"{names[0]} and {names[1]} cannot be set when {names[2]} is set.")
    mode = "created" if after_created is not None else "updated"
    after = after_created or after_updated
    before = before_created if mode == "created" else before_updated
    limit = latest_allowed(state)
    if before is not None:
        label = names[1] if mode == "created" else names[3]
        if before > limit:
            raise invalid(
                f"{label} must be at least two minutes before the time of the request.",
                f"Latest allowed: {format_time(limit)}.",
            )
        if before < after:
            raise invalid(
                f"{label} must be equal to or after {names[0] if mode == 'created' else names[2]}."
            )
    else:
        before = limit
    return mode, after, before


def select(views, query):
    """(sort key, view) rows of ``query`` after its ``last`` key, sorted."""
    mode, after, before, last = query["mode"], query["after"], query["before"], query["last"]
    ids = query.get("ids") or ()
    rows = []
    for current in views:
        record = current.record
        if ids and record["orderId"] not in ids:
            continue
        when = record["createdTime"] if mode == "created" else current.last_updated
        if after is not None and not after <= when <= before:
            continue
        if query["marketplaces"] and record["marketplace"]["id"] not in query["marketplaces"]:
            continue
        if query["channels"] and record["fulfilledBy"] not in query["channels"]:
            continue
        if query["statuses"] and current.status not in query["statuses"]:
            continue
        key = (format_time(when), record["orderId"])
        if last and key <= tuple(last):
            continue
        rows.append((key, current))
    rows.sort(key=lambda row: row[0])
    return rows


def _raw_rows(state, query):
    """Raw orders (``state.add_raw_order``) of the window, as (key, body) rows."""
    after, before, last = query["after"], query["before"], query["last"]
    rows = []
    for key, raw in state.raw_orders.items():
        if after is not None and not after <= raw["time"] <= before:
            continue
        sort_key = (format_time(raw["time"]), key)
        if last and sort_key <= tuple(last):
            continue
        rows.append((sort_key, raw["body"]))
    return rows


# --- v2026-01-01 ---------------------------------------------------------------------
def search_orders(app, request, elements):
    state = app.state
    included = set(listed(request, "includedData", data.INCLUDED_DATA))
    page_size = int_arg(request, "maxResultsPerPage", 1, 100, 100)
    query = app.pages.resume(
        request, "paginationToken", "search", exempt=SEARCH_FREE, complete=True
    )
    if query is None:
        mode, after, before = window(state, request, WINDOW_2026)
        marketplaces = listed(request, "marketplaceIds", max_items=50)
        query = {
            "mode": mode,
            "after": after,
            "before": before,
            "marketplaces": known_marketplaces(state, marketplaces),
            "channels": listed(request, "fulfilledBy", ("MERCHANT", "AMAZON")),
            "statuses": listed(request, "fulfillmentStatuses", data.STATUSES),
            "last": None,
            "filters": fingerprint(request, "paginationToken", SEARCH_FREE),
        }
    rows = select(state.views(), query)
    raw_rows = _raw_rows(state, query)
    rows += raw_rows
    rows.sort(key=lambda row: row[0])
    page, more = cut(rows, page_size)
    if raw_rows:  # verbatim bodies are outside the contract: never validate them
        mark_raw(request)
    result = {
        "orders": [
            render.order_v2026(current, included, state.conventions)
            if isinstance(current, OrderView)
            else copy.deepcopy(current)
            for _, current in page
        ]
    }
    if more:
        token = app.pages.issue("search", **{**query, "last": page[-1][0]})
        result["pagination"] = {"nextToken": token}
    if state.conventions["window_echo"]:
        before_name = "createdBefore" if query["mode"] == "created" else "lastUpdatedBefore"
        result[before_name] = format_time(query["before"])
    return 200, result


def get_order(app, request, elements, order_id):
    raw = app.state.raw_orders.get(order_id)
    if raw is not None:
        mark_raw(request)
        return 200, {"order": copy.deepcopy(raw["body"])}
    included = set(listed(request, "includedData", data.INCLUDED_DATA))
    current = order_view(app.state, order_id)
    return 200, {"order": render.order_v2026(current, included, app.state.conventions)}


# --- v0 ------------------------------------------------------------------------------
def _v0_query(state, request):
    """The selection of a first getOrders page (v0 parameter names and values)."""
    marketplaces = known_marketplaces(state, listed(request, "MarketplaceIds", max_items=50))
    if not marketplaces:
        raise invalid("Missing required parameter MarketplaceIds.")
    ids = listed(request, "AmazonOrderIds", max_items=50)
    if ids and not (request.args.get("CreatedAfter") or request.args.get("LastUpdatedAfter")):
        mode, after, before = "updated", None, None
    else:
        mode, after, before = window(state, request, WINDOW_V0)
    channels = [
        {"AFN": "AMAZON", "MFN": "MERCHANT"}[c]
        for c in listed(request, "FulfillmentChannels", ("AFN", "MFN"))
    ]
    v0_statuses = listed(request, "OrderStatuses", tuple(data.V0_TO_STATUS))
    return {
        "mode": mode,
        "after": after,
        "before": before,
        "marketplaces": marketplaces,
        "channels": channels,
        "statuses": sorted({data.V0_TO_STATUS[s] for s in v0_statuses}),
        "ids": ids,
        "last": None,
        "filters": fingerprint(request, "NextToken", V0_FREE),
        "size": int_arg(request, "MaxResultsPerPage", 1, 100, 100),
    }


def get_orders_v0(app, request, elements):
    query = app.pages.resume(request, "NextToken", "v0orders", exempt=V0_FREE)
    query = query or _v0_query(app.state, request)
    page, more = cut(select(app.state.views(), query), query["size"])
    payload = {"Orders": [render.order_v0(current, elements) for _, current in page]}
    if more:
        payload["NextToken"] = app.pages.issue("v0orders", **{**query, "last": page[-1][0]})
    if query["before"] is not None:
        before_name = "CreatedBefore" if query["mode"] == "created" else "LastUpdatedBefore"
        payload[before_name] = format_time(query["before"])
    return 200, {"payload": payload}


def get_order_v0(app, request, elements, order_id):
    return 200, {"payload": render.order_v0(order_view(app.state, order_id), elements)}


def get_order_buyer_info(app, request, elements, order_id):
    current = order_view(app.state, order_id)
    info = render.buyer_info_v0(current.record)
    info["AmazonOrderId"] = order_id
    return 200, {"payload": info}


def get_order_address(app, request, elements, order_id):
    current = order_view(app.state, order_id)
    payload = {"AmazonOrderId": order_id}
    if current.record.get("recipient"):
        payload["ShippingAddress"] = render.address_v0(current.record["recipient"])
    company = (current.record.get("buyer") or {}).get("companyName")
    if company:
        payload["BuyerCompanyName"] = company
    return 200, {"payload": payload}


def _item_page(app, request, order_id, kind, render_item):
    """One page of the order's items (``state.items_page_size`` of them) as a v0 payload."""
    current = order_view(app.state, order_id)
    pinned = app.pages.resume(request, "NextToken", kind, order=order_id)
    offset = pinned["offset"] if pinned else 0
    size = max(1, int(app.state.items_page_size))
    chunk, more = cut(current.record["items"], size, offset)
    currency = current.record["currency"]
    payload = {
        "AmazonOrderId": order_id,
        "OrderItems": [render_item(current, item, currency) for item in chunk],
    }
    if more:
        payload["NextToken"] = app.pages.issue(kind, order=order_id, offset=offset + size)
    return 200, {"payload": payload}


def get_order_items(app, request, elements, order_id):
    gift = "buyerInfo" in elements
    return _item_page(
        app,
        request,
        order_id,
        "v0items",
        lambda current, item, currency: render.item_v0(current, item, currency, gift),
    )


def get_order_items_buyer_info(app, request, elements, order_id):
    return _item_page(
        app,
        request,
        order_id,
        "v0itemsbuyer",
        lambda current, item, currency: render.item_buyer_info_v0(item, currency),
    )


_V0 = "/orders/v0/orders"
ROUTES = [
    Operation("/orders/2026-01-01/orders", "GET", ORDERS_2026, "searchOrders", search_orders),
    Operation("/orders/2026-01-01/orders/<order_id>", "GET", ORDERS_2026, "getOrder", get_order),
    Operation(_V0, "GET", ORDERS_V0, "getOrders", get_orders_v0),
    Operation(f"{_V0}/<order_id>", "GET", ORDERS_V0, "getOrder", get_order_v0, "ordersV0.getOrder"),
    Operation(
        f"{_V0}/<order_id>/buyerInfo", "GET", ORDERS_V0, "getOrderBuyerInfo", get_order_buyer_info
    ),
    Operation(f"{_V0}/<order_id>/address", "GET", ORDERS_V0, "getOrderAddress", get_order_address),
    Operation(f"{_V0}/<order_id>/orderItems", "GET", ORDERS_V0, "getOrderItems", get_order_items),
    Operation(
        f"{_V0}/<order_id>/orderItems/buyerInfo",
        "GET",
        ORDERS_V0,
        "getOrderItemsBuyerInfo",
        get_order_items_buyer_info,
    ),
]
