"""Pure-Python SP-API client layer (no Odoo import).

Public interface used by the Odoo models::

    from .amazon_sp import (SpApiClient, ClientConfig, parse_order, parse_order_v0,
                            errors, const, types, finances)
"""

from . import const, errors, finances, listings, ratelimit, types
from .client import ClientConfig, ClientStats, Page, SpApiClient
from .parsing import parse_order
from .parsing_v0 import parse_order_v0

__all__ = [
    "ClientConfig",
    "ClientStats",
    "Page",
    "SpApiClient",
    "const",
    "errors",
    "finances",
    "listings",
    "parse_order",
    "parse_order_v0",
    "ratelimit",
    "types",
]
