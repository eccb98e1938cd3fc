"""SpApiClient: the one object the Odoo models use to talk to Amazon's SP-API.

All HTTP goes through python-amazon-sp-api's API classes (adapted in
:mod:`._adapter`); this module adds pacing (:mod:`.ratelimit`), bounded retries
with exponential backoff and full jitter, re-authentication on an expired token,
Restricted Data Tokens for v0 PII, and typed results/errors. The Orders API lives in
:mod:`.orders` (``client.orders_api(version)``), the Feeds API in :mod:`.feeds`
(``client.feeds``), FBA inventory in :mod:`.inventory` (``client.inventory``), reports
in :mod:`.reports` (``client.reports``), the Finances API v0 in :mod:`.finances_api`
(``client.finances``); the client's older per-operation methods
remain, built on them.

A caller with a time limit (a scheduled run's budget) sets ``client.set_deadline(seconds)``:
no wait inside the client then ends past it (:class:`.errors.SpApiOutOfTimeError`).

One SpApiClient is meant for one thread at a time (the library's API objects keep
per-request state); rate-limit buckets and access tokens are shared process-wide.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630
from sp_api.api.finances.finances_v0 import FinancesV0
from sp_api.api.inventories.inventories import Inventories
from sp_api.api.notifications.notifications import Notifications
from sp_api.api.orders.orders_2026_01_01 import OrdersV20260101
from sp_api.api.orders.orders_v0 import OrdersV0
from sp_api.api.reports.reports import Reports
from sp_api.api.sellers.sellers import Sellers
from sp_api.api.tokens.tokens import Tokens
from sp_api.base._transport_httpx import HttpxTransport

from . import const, documents, errors, orders, ratelimit, types, window
from ._adapter import LwaTokenClient, make_api
from .feeds import FeedsApi
from .finances_api import FinancesApi
from .inventory import InventoryApi
from .notifications import NotificationsApi
from .orders import V0_PII_ELEMENTS, Page  # noqa: F401 - re-exported
from .redact import install_log_filter, register_secret
from .reports import ReportsApi

_logger = logging.getLogger(__name__)


@dataclass
class ClientConfig:
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    region: str = "eu"
    endpoint: str | None = None  # SP-API base URL; None -> const.REGIONS[region]
    lwa_endpoint: str | None = None  # LWA token URL; None -> const.LWA_TOKEN_URL
    timeout: float = 30.0
    max_attempts: int = 8
    max_retry_seconds: float = 300.0
    user_agent: str | None = None
    # What document downloads accept (documents.DocumentLimits); None -> the defaults for
    # ``endpoint`` (loopback documents only for a client of a loopback sandbox).
    document_limits: documents.DocumentLimits | None = None

    def __post_init__(self):
        register_secret(self.client_secret)
        register_secret(self.refresh_token)
        if self.endpoint is None:
            if self.region not in const.REGIONS:
                raise ValueError(f"unknown SP-API region {self.region!r}")
            self.endpoint = const.REGIONS[self.region][1]
        self.endpoint = self.endpoint.rstrip("/")
        if not self.endpoint.startswith(("https://", "http://")):
            raise ValueError("endpoint must be an http(s) URL")
        if self.lwa_endpoint is None:
            self.lwa_endpoint = const.LWA_TOKEN_URL
        if self.document_limits is None:
            self.document_limits = documents.DocumentLimits.for_endpoint(self.endpoint)
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")


@dataclass
class ClientStats:
    calls: int = 0  # SP-API HTTP requests sent (retries included)
    throttled: int = 0  # 429 answers received
    throttled_by_operation: dict = field(default_factory=lambda: defaultdict(int))
    retries: int = 0
    by_operation: dict = field(default_factory=lambda: defaultdict(int))
    token_requests: int = 0  # LWA access-token requests
    waited: float = 0.0  # seconds spent waiting for rate-limit tokens
    backoff: float = 0.0  # seconds spent in retry backoff


def _is_expired_token(exc):
    if exc.status not in (401, 403):
        return False
    if not exc.errors:
        return True
    return any(
        (e.code or "").lower() in ("unauthorized", "invalidaccesstoken", "invalidrdt")
        or "expired" in f"{e.message} {e.details}".lower()
        for e in exc.errors
    )


class SpApiClient:
    def __init__(
        self,
        config: ClientConfig,
        *,
        limiter=None,
        sleep=time.sleep,
        clock=time.monotonic,
        rng=random.random,
    ):
        install_log_filter()
        self.config = config
        self.stats = ClientStats()
        self._limiter = limiter or ratelimit.LIMITER
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._seller_key = ratelimit.seller_key(config.client_id, config.refresh_token)
        self._http = httpx.Client(timeout=config.timeout)
        self._transport = HttpxTransport(client=self._http)
        self._rdt_cache = {}
        self._rdt_lock = threading.Lock()
        self._lwa = None
        self._amazon_clock = None  # (Amazon's Date header, local monotonic time of arrival)
        self.deadline = None  # see set_deadline (a time on _clock)
        credentials = {
            "refresh_token": config.refresh_token,
            "lwa_app_id": config.client_id,
            "lwa_client_secret": config.client_secret,
        }

        def lwa_factory(**kwargs):
            client = LwaTokenClient(
                **kwargs,
                lwa_url=config.lwa_endpoint,
                transport=self._transport,
                on_request=self._count_token_request,
            )
            self._lwa = client
            return client

        common = {
            "endpoint": config.endpoint,
            "credentials": credentials,
            "lwa_factory": lwa_factory,
            "transport": self._transport,
            "timeout": config.timeout,
            "user_agent": config.user_agent or "sale_amazon_connector (python-amazon-sp-api)",
        }
        self._orders = make_api(OrdersV20260101, **common)
        self._orders_v0 = make_api(OrdersV0, **common)
        self._sellers = make_api(Sellers, **common)
        self._tokens = make_api(Tokens, **common)
        self._feeds = make_api(FeedsV20210630, **common)
        self._finances = make_api(FinancesV0, **common)
        self._inventories = make_api(Inventories, **common)
        self._reports = make_api(Reports, **common)
        self._notifications = make_api(Notifications, **common)
        self._apis = (
            self._orders,
            self._orders_v0,
            self._sellers,
            self._tokens,
            self._feeds,
            self._finances,
            self._inventories,
            self._reports,
            self._notifications,
        )
        self._feeds_api = None
        self._finances_api = None
        self._inventory_api = None
        self._reports_api = None
        self._notifications_api = None
        self._closed = False

    # --- lifecycle -------------------------------------------------------------

    def close(self):
        if not self._closed:
            self._closed = True
            self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        cfg = self.config
        return f"SpApiClient(endpoint={cfg.endpoint!r}, client_id={cfg.client_id!r})"

    def _count_token_request(self):
        self.stats.token_requests += 1

    # --- the caller's deadline ------------------------------------------------------

    def set_deadline(self, seconds):
        """No wait inside the client (rate limit, retry backoff, document retries, report
        polls) may end later than ``seconds`` from now: a call that would wait past it
        raises :class:`.errors.SpApiOutOfTimeError` before sending (a report poll returns
        the pending status). None (the default): only ``max_retry_seconds`` bounds them."""
        self.deadline = None if seconds is None else self._clock() + max(0.0, float(seconds))

    def time_left(self):
        """Seconds left before the deadline; None without one."""
        return None if self.deadline is None else max(0.0, self.deadline - self._clock())

    def _wait_limit(self, until):
        """(seconds a wait may last now, until ``until`` (a time on ``_clock``; None: no
        bound) and the deadline; whether the deadline is the nearer of the two)."""
        if self.deadline is not None and (until is None or self.deadline <= until):
            return max(0.0, self.deadline - self._clock()), True
        return (None if until is None else max(0.0, until - self._clock())), False

    def _acquire(self, bucket, operation, until=None):
        """Wait for a token of ``bucket``: the seconds waited, or None when it would come
        after ``until``. :raise errors.SpApiOutOfTimeError: after the deadline."""
        limit, deadline_first = self._wait_limit(until)
        waited = bucket.acquire(max_wait=limit)
        if waited is None and deadline_first:
            raise errors.SpApiOutOfTimeError(operation, bucket.wait())
        return waited

    def _out_of_time(self, operation, delay, until, error=None, bucket=None):
        """The :class:`.errors.SpApiOutOfTimeError` to raise when sleeping ``delay`` now
        would end after the deadline, the deadline coming before ``until`` (else None).
        Its ``retry_after`` includes the wait for a token of ``bucket`` after the sleep."""
        limit, deadline_first = self._wait_limit(until)
        if not deadline_first or delay <= limit:
            return None
        after = max(delay, bucket.wait()) if bucket is not None else delay
        unknown = bool(getattr(error, "outcome_unknown", False))
        return errors.SpApiOutOfTimeError(operation, after, outcome_unknown=unknown, error=error)

    # --- the retry loop ----------------------------------------------------------

    def bucket(self, operation):
        return self._limiter.bucket(self.config.endpoint, self._seller_key, operation)

    def pacing_wait(self, operation):
        """Seconds the next call of ``operation`` would wait for its rate limit (0: none),
        so that a caller with a deadline can stop instead of waiting past it."""
        return self.bucket(operation).wait()

    def _call(
        self, api, operation, fn, *args, idempotent=True, expect_body=True, rdt=None, **kwargs
    ):
        """Send one operation through the library with pacing and bounded retries."""
        cfg = self.config
        bucket = self.bucket(operation)
        deadline = self._clock() + cfg.max_retry_seconds
        attempt = 0
        reauthenticated = False
        while True:
            attempt += 1
            waited = self._acquire(bucket, operation, deadline)
            if waited is None:
                raise errors.SpApiThrottledError(
                    f"the rate limit ({bucket.rate:g} requests/s) would make us wait past "
                    f"max_retry_seconds={cfg.max_retry_seconds:g}",
                    operation=operation,
                )
            self.stats.waited += waited
            api.operation = operation
            api.expect_body = expect_body
            api.restricted_data_token = self._rdt(rdt) if rdt else None
            self.stats.calls += 1
            self.stats.by_operation[operation] += 1
            try:
                response = fn(*args, **kwargs)
            except errors.SpApiError as exc:
                if getattr(exc, "rate", None):
                    bucket.set_rate(exc.rate)
                sent = getattr(exc, "request_sent", True)
                if isinstance(exc, errors.SpApiAuthError):
                    from_lwa = exc.operation == "LWA token"
                    if not from_lwa and not reauthenticated and _is_expired_token(exc):
                        reauthenticated = True
                        attempt -= 1
                        self._invalidate_tokens(rdt)
                        continue
                    raise
                if isinstance(exc, errors.SpApiThrottledError):
                    self.stats.throttled += 1
                    self.stats.throttled_by_operation[operation] += 1
                    bucket.drain()
                retryable = isinstance(
                    exc,
                    (
                        errors.SpApiThrottledError,
                        errors.SpApiServerError,
                        errors.SpApiTransportError,
                    ),
                ) or getattr(exc, "transient", False)
                if not retryable:
                    raise
                if not idempotent and sent and not isinstance(exc, errors.SpApiThrottledError):
                    # The request may have been acted upon: never resend blindly.
                    exc.outcome_unknown = True
                    raise type(exc)(
                        exc.summary,
                        status=exc.status,
                        operation=operation,
                        errors=exc.errors,
                        request_id=exc.request_id,
                        outcome_unknown=True,
                    ) from None
                delay = exc.retry_after
                if delay is None:
                    delay = ratelimit.backoff_delay(attempt - 1, rng=self._rng)
                if attempt < cfg.max_attempts:
                    # Not past the caller's deadline either: out of time is raised before
                    # the next attempt is sent (see errors.SpApiOutOfTimeError).
                    out_of_time = self._out_of_time(operation, delay, deadline, exc, bucket)
                    if out_of_time is not None:
                        raise out_of_time from None
                if attempt >= cfg.max_attempts or self._clock() + delay > deadline:
                    raise type(exc)(
                        f"{exc.summary} (gave up after {attempt} attempt(s))",
                        status=exc.status,
                        operation=exc.operation or operation,
                        errors=exc.errors,
                        request_id=exc.request_id,
                        outcome_unknown=exc.outcome_unknown,
                        retry_after=exc.retry_after,
                    ) from None
                self.stats.retries += 1
                self.stats.backoff += delay
                _logger.info(
                    "%s: %s; retry %d in %.2fs", operation, type(exc).__name__, attempt, delay
                )
                self._sleep(delay)
                continue
            finally:
                api.restricted_data_token = None
            if response.rate:
                bucket.set_rate(response.rate)
            self._note_amazon_time(response.headers)
            return response

    # --- Amazon's clock --------------------------------------------------------------

    def _note_amazon_time(self, headers):
        moment = window.parse_http_date(headers.get("Date") if headers is not None else None)
        if moment is not None:
            self._amazon_clock = (moment, self._clock())

    def amazon_now(self):
        """Amazon's current time (naive UTC), from the ``Date`` header of this client's
        latest SP-API response plus the time elapsed since (never the local wall clock).
        Without any response yet, one getMarketplaceParticipations call (cheap: burst 15)
        provides it. :raise errors.SpApiResponseError: Amazon sends no usable Date."""
        if self._amazon_clock is None:
            self.get_marketplace_participations()
        if self._amazon_clock is None:
            raise errors.SpApiResponseError(
                "no Date header in Amazon's responses: cannot place the sync window",
                operation="getMarketplaceParticipations",
            )
        moment, received = self._amazon_clock
        return moment + timedelta(seconds=max(0.0, self._clock() - received))

    def _invalidate_tokens(self, rdt):
        if self._lwa is not None:
            self._lwa.invalidate()
        if rdt:
            with self._rdt_lock:
                self._rdt_cache.pop(rdt, None)

    # --- Restricted Data Tokens ----------------------------------------------------

    def create_restricted_data_token(self, resources):
        """resources: [{"method": "GET", "path": ..., "dataElements": [...]}, ...] -> RDT."""
        return self._create_rdt([dict(r) for r in resources])[0]

    def _create_rdt(self, resources):
        response = self._call(
            self._tokens,
            "createRestrictedDataToken",
            self._tokens.create_restricted_data_token,
            restrictedResources=resources,
        )
        token = response.body.get("restrictedDataToken")
        if not token or not isinstance(token, str):
            raise errors.SpApiResponseError(
                "no restrictedDataToken in the response", operation="createRestrictedDataToken"
            )
        register_secret(token)
        try:
            expires_in = float(response.body.get("expiresIn") or 3600)
        except (TypeError, ValueError):
            expires_in = 3600.0
        return token, expires_in

    def _rdt(self, key):
        """Cached RDT for a frozen resource spec (tuple of (method, path, elements))."""
        with self._rdt_lock:
            entry = self._rdt_cache.get(key)
            if entry and entry[1] > self._clock():
                return entry[0]
        resources = [
            {"method": method, "path": path, "dataElements": list(elements)}
            if elements
            else {"method": method, "path": path}
            for method, path, elements in key
        ]
        token, expires_in = self._create_rdt(resources)
        with self._rdt_lock:
            self._rdt_cache[key] = (token, self._clock() + expires_in - min(60, expires_in / 10))
        return token

    # --- Sellers ---------------------------------------------------------------------

    def get_marketplace_participations(self):
        response = self._call(
            self._sellers,
            "getMarketplaceParticipations",
            self._sellers.get_marketplace_participation,
        )
        payload = response.body.get("payload")
        if not isinstance(payload, list):
            raise errors.SpApiResponseError(
                "missing 'payload' list", operation="getMarketplaceParticipations"
            )
        result = []
        for entry in payload:
            market = (entry or {}).get("marketplace") or {}
            if not market.get("id"):
                raise errors.SpApiResponseError(
                    "a participation without marketplace.id",
                    operation="getMarketplaceParticipations",
                )
            participation = (entry or {}).get("participation") or {}
            result.append(
                types.MarketplaceParticipation(
                    marketplace_id=market["id"],
                    name=market.get("name"),
                    country_code=market.get("countryCode"),
                    currency=market.get("defaultCurrencyCode"),
                    language=market.get("defaultLanguageCode"),
                    domain=market.get("domainName"),
                    is_participating=bool(participation.get("isParticipating")),
                )
            )
        return result

    # --- Orders (see orders.py) ----------------------------------------------------------

    def orders_api(self, version="v2026"):
        """The Orders API of ``version`` ("v2026" or "v0") as one object:
        :class:`.orders.OrdersV2026` or :class:`.orders.OrdersV0`, same calls and types."""
        return orders.orders_api(self, version)

    def search_orders(self, *args, **kwargs):
        """Yield :class:`~.orders.Page` objects of raw v2026 orders, following nextToken
        (arguments of :meth:`.orders.OrdersV2026.search_raw`)."""
        return self.orders_api("v2026").search_raw(*args, **kwargs)

    def get_order(self, order_id, included_data=const.ORDER_INCLUDED_DATA):
        """One raw v2026 order."""
        return self.orders_api("v2026").get_raw(order_id, included_data=included_data)

    def search_orders_v0(self, *args, **kwargs):
        """Yield :class:`~.orders.Page` objects of raw v0 orders (with ``OrderItems``
        attached and PII obtained with a Restricted Data Token; arguments of
        :meth:`.orders.OrdersV0.search_raw`)."""
        return self.orders_api("v0").search_raw(*args, **kwargs)

    def get_order_v0(self, order_id):
        """One raw v0 order with its ``OrderItems``."""
        return self.orders_api("v0").get_raw(order_id)

    def confirm_shipment(self, order_id, **kwargs):
        """See :meth:`.orders.OrdersApi.confirm_shipment` (keyword arguments only)."""
        self.orders_api("v2026").confirm_shipment(order_id, **kwargs)

    # --- Feeds (see feeds.py) ----------------------------------------------------------------

    @property
    def feeds(self):
        """The Feeds API, typed: :class:`.feeds.FeedsApi`."""
        if self._feeds_api is None:
            self._feeds_api = FeedsApi(self)
        return self._feeds_api

    # --- FBA inventory, Reports (see inventory.py, reports.py) -----------------------------

    @property
    def inventory(self):
        """The FBA Inventory API, typed: :class:`.inventory.InventoryApi`."""
        if self._inventory_api is None:
            self._inventory_api = InventoryApi(self)
        return self._inventory_api

    @property
    def reports(self):
        """The Reports API, typed: :class:`.reports.ReportsApi`."""
        if self._reports_api is None:
            self._reports_api = ReportsApi(self)
        return self._reports_api

    @property
    def notifications(self):
        """The Notifications API: :class:`.notifications.NotificationsApi`."""
        if self._notifications_api is None:
            self._notifications_api = NotificationsApi(self, self._notifications)
        return self._notifications_api

    def create_feed_document(self, content_type):
        return self.feeds.create_document(content_type)

    def upload_feed_document(self, upload_url, content, content_type):
        self.feeds.upload_document(upload_url, content, content_type)

    def create_feed(self, feed_type, marketplace_ids, input_feed_document_id):
        return self.feeds.create(feed_type, marketplace_ids, input_feed_document_id)

    def get_feed(self, feed_id):
        """Amazon's getFeed JSON (``client.feeds.get`` gives a typed FeedStatus)."""
        return self.feeds.get_raw(feed_id)

    def get_feed_document(self, document_id):
        return self.feeds.get_document(document_id)

    def download_feed_document(self, document):
        return self.feeds.download_document(document)

    # --- Finances v0 (see finances_api.py) -------------------------------------------------

    @property
    def finances(self):
        """The Finances API v0, typed: :class:`.finances_api.FinancesApi`."""
        if self._finances_api is None:
            self._finances_api = FinancesApi(self)
        return self._finances_api
