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

import dataclasses
from datetime import timedelta

from . import carriers, const, errors, shipments, window
from .pages import (  # noqa: F401 - re-exported
    SKIP_NON_AMAZON,
    OrderFailure,
    OrderSkip,
    OrdersPage,
    Page,
    _empty_window,
    _pages,
    _window_end,
    skip_reason,
    strip_nul,
)
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


class OrdersApi:
    """What both versions share; see the module docstring. Built by
    ``SpApiClient.orders_api(version)``, used from the client's thread only."""

    version = None
    parser = None
    search_operation = None  # the operation a search page costs (its rate limit)

    def __init__(self, client):
        self._client = client

    def __repr__(self):
        return f"{type(self).__name__}({self._client!r})"

    # --- typed -------------------------------------------------------------------------

    def parse(self, raw, fulfilled_by=None):
        """One raw order of this version -> :class:`~.types.Order` (NUL characters
        dropped); raises :class:`~.errors.OrderParseError`."""
        if fulfilled_by is None or self.version != "v2026":  # v0 always says
            return type(self).parser(strip_nul(raw))
        return type(self).parser(strip_nul(raw), fulfilled_by=fulfilled_by)

    def read(self, raw_orders, fulfilled_by=None, resolve=None):
        """Raw orders -> ([types.Order], [OrderFailure]); one bad order never stops the
        others. Non-Amazon sales are left out (see :meth:`read_page`)."""
        orders, failures, _skipped = self.read_page(raw_orders, fulfilled_by, resolve)
        return orders, failures

    def read_page(self, raw_orders, fulfilled_by=None, resolve=None):
        """Raw orders -> (orders, failures, skipped). ``fulfilled_by``: the search's
        single filter value; ``resolve(raw)`` -> "AMAZON"/"MERCHANT"/None places an order
        that says neither (see :meth:`search`)."""
        orders, failures, skipped = [], [], []
        for raw in raw_orders:
            skip = skip_reason(raw)
            if skip is not None:
                skipped.append(skip)
                continue
            try:
                try:
                    orders.append(self.parse(raw, fulfilled_by))
                except errors.FulfilledByUnknownError:
                    value = resolve(raw) if resolve else None
                    if value is None:
                        raise
                    order = self.parse(raw, value)
                    orders.append(dataclasses.replace(order, channel_source="search"))
            except errors.OrderParseError as exc:
                failures.append(OrderFailure.from_error(exc, raw))
        return orders, failures, skipped

    def search(
        self,
        last_updated_after,
        marketplace_ids,
        *,
        last_updated_before=None,
        fulfilled_by=None,
        fulfillment_statuses=None,
        page_size=100,
        page_token=None,
    ):
        """Yield :class:`OrdersPage` objects of the orders updated in the window, every
        page followed. ``fulfilled_by``: ``"AMAZON"``/``"MERCHANT"``;
        ``fulfillment_statuses``: ``const.ORDER_STATUSES`` values (None: every status).
        ``page_token``: resume an earlier search at that page (the same window,
        ``last_updated_before`` included, and filters; Amazon keeps a token 24 hours);
        ``page.next_token`` is the token of the page after each one.

        The window ends at Amazon's time minus :data:`.window.WINDOW_MARGIN` (or the
        earlier ``last_updated_before``), sent on every page: ``page.window_end``.
        Orders without ``fulfilledBy``: see :meth:`_fulfilled_by_resolver`.

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
            page_token=page_token,
        )
        single = fulfilled_by[0] if fulfilled_by and len(set(fulfilled_by)) == 1 else None
        resolver = None
        for page in pages:
            if resolver is None and page.window_end is not None:
                resolver = self._fulfilled_by_resolver(
                    last_updated_after, page.window_end, marketplace_ids, fulfillment_statuses
                )
            orders, failures, skipped = self.read_page(page.raw_orders, single, resolver)
            yield OrdersPage(
                number=page.number,
                orders=orders,
                failures=failures,
                raw_orders=page.raw_orders,
                next_token=page.next_token,
                window_end=page.window_end,
                skipped=skipped,
            )

    def _fulfilled_by_resolver(self, after, before, marketplace_ids, statuses=None):
        """``resolve(raw)`` for orders that do not say who fulfils them.

        Call budget: searchOrders allows about one call a minute, so the sync keeps ONE
        unfiltered search per run; only when an order lacks ``fulfilledBy`` (and has no
        packages) does this run two id-only searches over the same fixed window, filtered
        AMAZON then MERCHANT (each at most once per run, all pages), and places the order
        by the one that returned it. Found by neither (updated again meanwhile): None,
        the order fails this run and comes back in the next window."""
        found = {}

        def ids(value):
            if value not in found:
                found[value] = {
                    raw.get("orderId")
                    for page in self._search(
                        after,
                        marketplace_ids,
                        last_updated_before=before,
                        fulfilled_by=[value],
                        fulfillment_statuses=statuses,
                        page_size=100,
                        included_data=(),
                    )
                    for raw in page.raw_orders
                    if isinstance(raw, dict)
                }
            return found[value]

        def resolve(raw):
            order_id = raw.get("orderId") if isinstance(raw, dict) else None
            for value in ("AMAZON", "MERCHANT"):
                if order_id in ids(value):
                    return value
            return None

        return resolve

    def get(self, order_id):
        """One order by reference -> :class:`~.types.Order`. Raises
        :class:`~.errors.SpApiNotFoundError` when Amazon does not know it and
        :class:`~.errors.OrderParseError` when it cannot be read (or, v2026, when it
        says neither who fulfils it nor anything that tells, and was updated less than
        the window margin ago: the next search places it). A non-Amazon sale parses."""
        return self.get_parsed(self.get_raw(order_id))

    def _resolve_one(self, raw):
        """``fulfilledBy`` of one order that does not say: the filtered searches over the
        seconds around its last update (see :meth:`_fulfilled_by_resolver`)."""
        try:
            updated = parse_datetime(raw.get("lastUpdatedTime"))
        except (TypeError, ValueError):
            return None
        marketplace = (raw.get("salesChannel") or {}).get("marketplaceId")
        if not marketplace:
            return None
        latest = self._client.amazon_now() - window.WINDOW_MARGIN
        before = min(updated + timedelta(seconds=1), latest).replace(microsecond=0)
        after = updated - timedelta(seconds=1)
        if before <= after:
            return None
        return self._fulfilled_by_resolver(after, before, [marketplace])(raw)

    def get_page(self, order_id):
        """One order by reference as a one-order :class:`OrdersPage` (in ``orders``,
        ``failures`` or ``skipped``), to be applied like a search page."""
        raw = self.get_raw(order_id)
        skip = skip_reason(raw)
        if skip is not None:
            return OrdersPage(number=1, orders=[], failures=[], raw_orders=[raw], skipped=[skip])
        try:
            orders, failures = [self.get_parsed(raw)], []
        except errors.OrderParseError as exc:
            orders, failures = [], [OrderFailure.from_error(exc, raw)]
        return OrdersPage(number=1, orders=orders, failures=failures, raw_orders=[raw])

    def get_parsed(self, raw):
        try:
            return self.parse(raw)
        except errors.FulfilledByUnknownError:
            value = self._resolve_one(raw)
            if value is None:
                raise
            return dataclasses.replace(self.parse(raw, value), channel_source="search")

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

    def already_confirmed(self, order_id, package_reference_id, items, tracking_number=None):
        """Before resending a confirmation whose outcome is unknown: the verdict of
        :meth:`check_shipment` alone (:data:`.shipments.PACKAGE_FOUND`,
        :data:`.shipments.ITEMS_SHIPPED`, :data:`.shipments.UNSURE` or None: send)."""
        return self.check_shipment(order_id, package_reference_id, items, tracking_number).verdict

    def check_shipment(self, order_id, package_reference_id, items, tracking_number=None):
        """Reads the order (v2026 getOrder with PACKAGES and FULFILLMENT) and answers a
        :class:`.shipments.ShipmentCheck` (verdict + reason); ``items``:
        ``[(order_item_id, quantity), ...]``, ``tracking_number``: the one we sent."""
        raw = _get_raw_v2026(self._client, order_id, SHIPMENT_CHECK_DATA)
        return shipments.check_shipment(raw, package_reference_id, items, tracking_number)


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
    search_operation = "searchOrders"

    def search_raw(
        self,
        last_updated_after,
        marketplace_ids,
        last_updated_before=None,
        fulfilled_by=None,
        fulfillment_statuses=None,
        included_data=const.ORDER_INCLUDED_DATA,
        page_size=100,
        page_token=None,
    ):
        """Yield :class:`Page` objects of raw v2026 orders, following nextToken (from
        ``page_token`` when given)."""
        if not marketplace_ids:
            raise ValueError("marketplace_ids is required")
        client = self._client
        params = {
            "lastUpdatedAfter": format_datetime(last_updated_after),
            "marketplaceIds": list(marketplace_ids),
            "maxResultsPerPage": int(page_size),
        }
        end = window.window_end(client.amazon_now, last_updated_after, last_updated_before)
        if end is None:
            yield _empty_window(last_updated_after)
            return
        params["lastUpdatedBefore"] = format_datetime(end)
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
            _window_end(body.get("lastUpdatedBefore"), "searchOrders")  # readable if sent
            return orders, next_token, end

        yield from _pages(fetch, page_token)

    def _search(self, last_updated_after, marketplace_ids, **kwargs):
        return self.search_raw(last_updated_after, marketplace_ids, **kwargs)

    def get_raw(self, order_id, included_data=const.ORDER_INCLUDED_DATA):
        return _get_raw_v2026(self._client, order_id, included_data)


class OrdersV0(OrdersApi):
    """Orders API v0 (fallback): items fetched per order, PII through one cached
    Restricted Data Token with generic ``{orderId}`` paths."""

    version = "v0"
    parser = staticmethod(parse_order_v0)
    search_operation = "getOrders"

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
        page_token=None,
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
        end = window.window_end(client.amazon_now, last_updated_after, last_updated_before)
        if end is None:
            yield _empty_window(last_updated_after)
            return
        params["LastUpdatedBefore"] = format_datetime(end)
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
            _window_end(payload.get("LastUpdatedBefore"), "getOrders")  # readable if sent
            return orders, payload.get("NextToken"), end

        yield from _pages(fetch, page_token)

    def _search(
        self,
        last_updated_after,
        marketplace_ids,
        *,
        last_updated_before,
        fulfilled_by,
        fulfillment_statuses,
        page_size,
        included_data=None,
        page_token=None,
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
            page_token=page_token,
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
