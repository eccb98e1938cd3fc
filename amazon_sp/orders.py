"""The Orders API behind one object, whichever version the account uses.

``client.orders_api("v2026")`` and ``client.orders_api("v0")`` answer the same calls with
the same types, so that a caller never branches on the version::

    orders = client.orders_api(account_version)
    for page in orders.search(last_updated_after=since, marketplace_ids=ids,
                              fulfillment_statuses=const.SEARCH_STATUSES):
        page.orders, page.failures, page.window_end  # typed; failures keep their raw JSON
    order = orders.get(order_id)  # -> types.Order
    orders.confirm_shipment(order_id, marketplace_id=..., ...)
    orders.already_confirmed(order_id, package_reference_id, items)

Statuses and channels are always given in the v2026 spelling (``const.ORDER_STATUSES``,
``"AMAZON"``/``"MERCHANT"``); the v0 object translates them. Shipment confirmation exists
only in Orders v0 and the shipment check only in v2026 (``PACKAGES``): both objects use
those same two operations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import carriers, const, errors, shipments
from .parsing import format_datetime, parse_datetime, parse_order
from .parsing_v0 import parse_order_v0

V0_PII_ELEMENTS = ("buyerInfo", "shippingAddress")
VERSIONS = ("v2026", "v0")
SHIPMENT_CHECK_DATA = ("PACKAGES", "FULFILLMENT")

# v2026 spelling -> v0 spelling, for the search filters
_V0_CHANNELS = {"AMAZON": const.CHANNEL_AFN, "MERCHANT": const.CHANNEL_MFN}
_V0_STATUSES = {}
for _v0_name, _status in const.V0_STATUS_MAP.items():
    _V0_STATUSES.setdefault(_status, []).append(_v0_name)


@dataclass
class Page:
    """One page of raw orders, as Amazon's JSON (``search_raw``)."""

    number: int
    raw_orders: list
    next_token: str | None
    window_end: datetime | None  # naive UTC: end of the window Amazon served


@dataclass(frozen=True)
class OrderFailure:
    """An order Amazon sent that cannot become a :class:`~.types.Order`."""

    order_id: str | None  # None: Amazon sent it without a usable reference
    problem: str  # what is wrong, without the order id ("missing or not a string")
    message: str  # the whole sentence, order id and field path included
    raw: object = field(default=None, repr=False, compare=False)  # the order as Amazon sent it

    def __str__(self):
        return self.message

    @classmethod
    def from_error(cls, exc, raw=None):
        order_id = None if exc.order_id in (None, "<unknown>") else exc.order_id
        return cls(order_id=order_id, problem=exc.problem, message=str(exc), raw=raw)


@dataclass
class OrdersPage:
    """One page of a search, parsed: every raw order is in ``orders`` or in ``failures``."""

    number: int
    orders: list  # [types.Order]
    failures: list  # [OrderFailure]
    raw_orders: list = field(repr=False)
    next_token: str | None = None
    window_end: datetime | None = None  # naive UTC: end of the window Amazon served


def _window_end(value, operation):
    """Window end of a search response -> naive UTC (ISO 8601, or epoch seconds as in
    one of Amazon's own v0 examples: "1.569521782042E9")."""
    if not value:
        return None
    try:
        if isinstance(value, (int, float)) or re.fullmatch(r"[0-9.]+(E[0-9]+)?", str(value)):
            seconds = float(value)
            return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
        return parse_datetime(value)
    except (TypeError, ValueError):
        raise errors.SpApiResponseError(
            f"unparseable window end {value!r}", operation=operation
        ) from None


def _pages(fetch):
    """Yield :class:`Page` objects of a paginated search; ``fetch(token)`` returns one
    page as (raw orders, next token or None, window end); the first call gets None."""
    token, number = None, 0
    while True:
        orders, token, window_end = fetch(token)
        number += 1
        yield Page(number=number, raw_orders=orders, next_token=token, window_end=window_end)
        if not token:
            return


def strip_nul(raw):
    """``raw`` without NUL characters (PostgreSQL refuses them in text; they carry nothing):
    a buyer name holding one must not make the order fail."""
    if isinstance(raw, str):
        return raw.replace("\x00", "") if "\x00" in raw else raw
    if isinstance(raw, dict):
        return {key: strip_nul(value) for key, value in raw.items()}
    if isinstance(raw, list):
        return [strip_nul(value) for value in raw]
    return raw


class OrdersApi:
    """What both versions share; see the module docstring. Built by
    ``SpApiClient.orders_api(version)``, used from the client's thread only."""

    version = None
    parser = None

    def __init__(self, client):
        self._client = client

    def __repr__(self):
        return f"{type(self).__name__}({self._client!r})"

    # --- typed -------------------------------------------------------------------------

    def parse(self, raw):
        """One raw order of this version -> :class:`~.types.Order` (NUL characters
        dropped); raises :class:`~.errors.OrderParseError`."""
        return type(self).parser(strip_nul(raw))

    def read(self, raw_orders):
        """Raw orders -> ([types.Order], [OrderFailure]); one bad order never stops the
        others."""
        orders, failures = [], []
        for raw in raw_orders:
            try:
                orders.append(self.parse(raw))
            except errors.OrderParseError as exc:
                failures.append(OrderFailure.from_error(exc, raw))
        return orders, failures

    def search(
        self,
        last_updated_after,
        marketplace_ids,
        *,
        last_updated_before=None,
        fulfilled_by=None,
        fulfillment_statuses=None,
        page_size=100,
    ):
        """Yield :class:`OrdersPage` objects of the orders updated in the window, every
        page followed. ``fulfilled_by``: ``"AMAZON"``/``"MERCHANT"``;
        ``fulfillment_statuses``: ``const.ORDER_STATUSES`` values (None: every status).

        :raise ValueError: a filter value in another spelling (nothing is sent)"""
        unknown = [v for v in fulfilled_by or () if v not in _V0_CHANNELS]
        unknown += [v for v in fulfillment_statuses or () if v not in const.ORDER_STATUSES]
        if unknown:
            raise ValueError(f"unknown fulfilled_by/fulfillment_statuses value(s) {unknown}")
        pages = self._search(
            last_updated_after,
            marketplace_ids,
            last_updated_before=last_updated_before,
            fulfilled_by=fulfilled_by,
            fulfillment_statuses=fulfillment_statuses,
            page_size=page_size,
        )
        for page in pages:
            orders, failures = self.read(page.raw_orders)
            yield OrdersPage(
                number=page.number,
                orders=orders,
                failures=failures,
                raw_orders=page.raw_orders,
                next_token=page.next_token,
                window_end=page.window_end,
            )

    def get(self, order_id):
        """One order by reference -> :class:`~.types.Order`. Raises
        :class:`~.errors.SpApiNotFoundError` when Amazon does not know it and
        :class:`~.errors.OrderParseError` when it cannot be read."""
        return self.parse(self.get_raw(order_id))

    def get_page(self, order_id):
        """One order by reference as a one-order :class:`OrdersPage` (in ``orders`` or in
        ``failures``), to be applied like a search page."""
        raw = self.get_raw(order_id)
        orders, failures = self.read([raw])
        return OrdersPage(number=1, orders=orders, failures=failures, raw_orders=[raw])

    # --- shipments (the same operations for both versions) ------------------------------

    def confirm_shipment(
        self,
        order_id,
        *,
        marketplace_id,
        package_reference_id,
        carrier_code,
        carrier_name=None,
        tracking_number,
        ship_date,
        items,
        shipping_method=None,
    ):
        """Confirm one package of an MFN order (Orders v0 confirmShipment). Not retried
        after it may have been received: a timeout/reset then raises
        SpApiTransportError(outcome_unknown=True).

        ``carrier_code``: the carrier's name as the seller knows it, resolved with
        :func:`.carriers.resolve_carrier` (an explicit ``carrier_name`` wins for "Other")."""
        client = self._client
        code, resolved_name = carriers.resolve_carrier(carrier_code)
        carrier_name = carrier_name or resolved_name
        tracking_number = carriers.validate_tracking_ref(tracking_number)
        package = {
            "packageReferenceId": str(package_reference_id),
            "carrierCode": code,
            "trackingNumber": tracking_number,
            "shipDate": format_datetime(ship_date),
            "orderItems": [
                {"orderItemId": str(item_id), "quantity": int(qty)} for item_id, qty in items
            ],
        }
        if carrier_name:
            package["carrierName"] = carrier_name
        if shipping_method:
            package["shippingMethod"] = shipping_method
        client._call(
            client._orders_v0,
            "confirmShipment",
            client._orders_v0.confirm_shipment,
            order_id,
            idempotent=False,
            expect_body=False,
            marketplaceId=marketplace_id,
            packageDetail=package,
        )

    def already_confirmed(self, order_id, package_reference_id, items):
        """Before resending a confirmation whose outcome is unknown: reads the order
        (v2026 getOrder with PACKAGES and FULFILLMENT) and answers
        :data:`.shipments.PACKAGE_FOUND`, :data:`.shipments.ITEMS_SHIPPED` or None
        (Amazon does not have it: send). ``items``: ``[(order_item_id, quantity), ...]``."""
        raw = _get_raw_v2026(self._client, order_id, SHIPMENT_CHECK_DATA)
        return shipments.already_confirmed(raw, package_reference_id, items)


def _get_raw_v2026(client, order_id, included_data):
    kwargs = {"includedData": list(included_data)} if included_data else {}
    response = client._call(
        client._orders, "getOrder", client._orders.get_order, order_id, **kwargs
    )
    order = response.body.get("order")
    if not isinstance(order, dict):
        raise errors.SpApiResponseError(
            "missing required field 'order'",
            operation="getOrder",
            request_id=response.request_id,
        )
    return order


class OrdersV2026(OrdersApi):
    """Orders API 2026-01-01: orders come with their items in one call."""

    version = "v2026"
    parser = staticmethod(parse_order)

    def search_raw(
        self,
        last_updated_after,
        marketplace_ids,
        last_updated_before=None,
        fulfilled_by=None,
        fulfillment_statuses=None,
        included_data=const.ORDER_INCLUDED_DATA,
        page_size=100,
    ):
        """Yield :class:`Page` objects of raw v2026 orders, following nextToken."""
        if not marketplace_ids:
            raise ValueError("marketplace_ids is required")
        client = self._client
        params = {
            "lastUpdatedAfter": format_datetime(last_updated_after),
            "marketplaceIds": list(marketplace_ids),
            "maxResultsPerPage": int(page_size),
        }
        if last_updated_before is not None:
            params["lastUpdatedBefore"] = format_datetime(last_updated_before)
        if fulfilled_by:
            params["fulfilledBy"] = list(fulfilled_by)
        if fulfillment_statuses:
            params["fulfillmentStatuses"] = list(fulfillment_statuses)
        if included_data:
            params["includedData"] = list(included_data)

        def fetch(token):
            query = dict(params, paginationToken=token) if token else params
            api = client._orders
            response = client._call(api, "searchOrders", api.search_orders, **query)
            body = response.body
            orders = body.get("orders")
            if not isinstance(orders, list):
                raise errors.SpApiResponseError(
                    "missing required field 'orders' (a list)",
                    operation="searchOrders",
                    request_id=response.request_id,
                )
            pagination = body.get("pagination") or {}
            next_token = pagination.get("nextToken") if isinstance(pagination, dict) else None
            window_end = body.get("lastUpdatedBefore") or body.get("createdBefore")
            return orders, next_token, _window_end(window_end, "searchOrders")

        yield from _pages(fetch)

    def _search(self, last_updated_after, marketplace_ids, **kwargs):
        return self.search_raw(last_updated_after, marketplace_ids, **kwargs)

    def get_raw(self, order_id, included_data=const.ORDER_INCLUDED_DATA):
        return _get_raw_v2026(self._client, order_id, included_data)


class OrdersV0(OrdersApi):
    """Orders API v0 (fallback): items fetched per order, PII through one cached
    Restricted Data Token with generic ``{orderId}`` paths."""

    version = "v0"
    parser = staticmethod(parse_order_v0)

    RDT = (
        ("GET", "/orders/v0/orders", V0_PII_ELEMENTS),
        ("GET", "/orders/v0/orders/{orderId}", V0_PII_ELEMENTS),
        ("GET", "/orders/v0/orders/{orderId}/orderItems", ("buyerInfo",)),
    )

    def _order_items(self, order_id):
        client, api = self._client, self._client._orders_v0
        items, token = [], None
        while True:
            kwargs = {"NextToken": token} if token else {}
            response = client._call(
                api, "getOrderItems", api.get_order_items, order_id, rdt=self.RDT, **kwargs
            )
            payload = response.body.get("payload")
            if not isinstance(payload, dict) or not isinstance(payload.get("OrderItems"), list):
                raise errors.SpApiResponseError(
                    f"missing required field 'payload.OrderItems' for order {order_id}",
                    operation="getOrderItems",
                    request_id=response.request_id,
                )
            items.extend(payload["OrderItems"])
            token = payload.get("NextToken")
            if not token:
                return items

    def search_raw(
        self,
        last_updated_after,
        marketplace_ids,
        last_updated_before=None,
        fulfillment_channels=None,
        order_statuses=None,
        page_size=100,
    ):
        """Yield :class:`Page` objects of raw v0 orders (with ``OrderItems`` attached
        and PII obtained with a Restricted Data Token); filters in v0 spelling."""
        if not marketplace_ids:
            raise ValueError("marketplace_ids is required")
        client, api = self._client, self._client._orders_v0
        params = {
            "LastUpdatedAfter": format_datetime(last_updated_after),
            "MarketplaceIds": list(marketplace_ids),
            "MaxResultsPerPage": int(page_size),
        }
        if last_updated_before is not None:
            params["LastUpdatedBefore"] = format_datetime(last_updated_before)
        if fulfillment_channels:
            params["FulfillmentChannels"] = list(fulfillment_channels)
        if order_statuses:
            params["OrderStatuses"] = list(order_statuses)

        def fetch(token):
            query = dict(params, NextToken=token) if token else params
            response = client._call(api, "getOrders", api.get_orders, rdt=self.RDT, **query)
            payload = response.body.get("payload")
            if not isinstance(payload, dict) or not isinstance(payload.get("Orders"), list):
                raise errors.SpApiResponseError(
                    "missing required field 'payload.Orders'",
                    operation="getOrders",
                    request_id=response.request_id,
                )
            orders = []
            for order in payload["Orders"]:
                order = dict(order)
                if order.get("AmazonOrderId"):
                    order["OrderItems"] = self._order_items(order["AmazonOrderId"])
                orders.append(order)
            window_end = payload.get("LastUpdatedBefore") or payload.get("CreatedBefore")
            return orders, payload.get("NextToken"), _window_end(window_end, "getOrders")

        yield from _pages(fetch)

    def _search(
        self,
        last_updated_after,
        marketplace_ids,
        *,
        last_updated_before,
        fulfilled_by,
        fulfillment_statuses,
        page_size,
    ):
        channels = [_V0_CHANNELS[value] for value in fulfilled_by or ()] or None
        statuses = [
            name for value in fulfillment_statuses or () for name in _V0_STATUSES[value]
        ] or None
        return self.search_raw(
            last_updated_after,
            marketplace_ids,
            last_updated_before=last_updated_before,
            fulfillment_channels=channels,
            order_statuses=statuses,
            page_size=page_size,
        )

    def get_raw(self, order_id):
        client, api = self._client, self._client._orders_v0
        response = client._call(api, "getOrder", api.get_order, order_id, rdt=self.RDT)
        payload = response.body.get("payload")
        if not isinstance(payload, dict) or not payload.get("AmazonOrderId"):
            raise errors.SpApiResponseError(
                "missing required field 'payload.AmazonOrderId'",
                operation="getOrder",
                request_id=response.request_id,
            )
        order = dict(payload)
        order["OrderItems"] = self._order_items(order_id)
        return order


ORDERS_APIS = {OrdersV2026.version: OrdersV2026, OrdersV0.version: OrdersV0}


def orders_api(client, version):
    """The orders object of ``version`` ("v2026" or "v0") on ``client``."""
    try:
        return ORDERS_APIS[version](client)
    except KeyError:
        raise ValueError(
            f"unknown Orders API version {version!r} (expected one of {', '.join(VERSIONS)})"
        ) from None
