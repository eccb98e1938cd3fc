"""The SP-API operations of the sandbox, one module per API (see ``common.Operation``)."""

from . import feeds, finances, notifications, orders, reports, sellers, shipping, tokens

OPERATIONS = (
    sellers.ROUTES
    + orders.ROUTES
    + shipping.ROUTES
    + tokens.ROUTES
    + feeds.ROUTES
    + finances.ROUTES
    + reports.ROUTES
    + notifications.ROUTES
)
