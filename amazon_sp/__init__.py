"""Pure-Python SP-API client layer (no Odoo import).

Public interface used by the Odoo models::

    from .amazon_sp import (SpApiClient, ClientConfig, parse_order, parse_order_v0,
                            errors, const, types, finances, feeds, listings, orders)

    client.orders_api(version)  # orders.OrdersV2026 / orders.OrdersV0: same calls, typed
    client.feeds  # feeds.FeedsApi: submit, get (FeedStatus), get_report (FeedReport)
    client.inventory  # inventory.InventoryApi: summaries, by_sku (InventorySummary)
    client.reports  # reports.ReportsApi: create, wait, download, customer_returns
"""

from . import (
    amounts,
    const,
    errors,
    feeds,
    finances,
    invoices,
    inventory,
    listings,
    orders,
    ratelimit,
    reports,
    shipments,
    types,
    window,
)
from .client import ClientConfig, ClientStats, Page, SpApiClient
from .feeds import FeedStatus, SubmittedFeed
from .listings import FeedIssue, FeedReport, FeedReportError, MessageResult
from .orders import OrderFailure, OrderSkip, OrdersPage
from .parsing import parse_order
from .parsing_v0 import parse_order_v0

__all__ = [
    "ClientConfig",
    "ClientStats",
    "FeedIssue",
    "FeedReport",
    "FeedReportError",
    "FeedStatus",
    "MessageResult",
    "OrderFailure",
    "OrderSkip",
    "OrdersPage",
    "Page",
    "SpApiClient",
    "SubmittedFeed",
    "amounts",
    "const",
    "errors",
    "feeds",
    "finances",
    "invoices",
    "inventory",
    "listings",
    "orders",
    "parse_order",
    "parse_order_v0",
    "ratelimit",
    "reports",
    "shipments",
    "types",
    "window",
]
