"""Client-side pacing for the SP-API: one token bucket per operation.

Amazon throttles each operation with a token bucket (rate = requests per second,
burst = bucket size). The client mirrors those buckets and waits *before* sending
instead of provoking 429s. Buckets start from the documented defaults below (from
Amazon's models; ``tests/pure/test_ratelimit*.py`` checks them against
``../shared/sp-api/operations-summary.json`` when present) and follow the
``x-amzn-RateLimit-Limit`` header of each response (the rate Amazon actually
applies to this seller; a time-compressed sandbox reports rate x speed there).

Buckets are shared process-wide per (endpoint, seller credentials, operation) and are
thread-safe. ``clock`` and ``sleep`` are injectable for unit tests.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time

# operationId: (rate in requests/second, burst). Documented defaults.
OPERATION_LIMITS = {
    # Orders v0
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderBuyerInfo": (0.5, 30),
    "getOrderAddress": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getOrderItemsBuyerInfo": (0.5, 30),
    "updateShipmentStatus": (5.0, 15),
    "confirmShipment": (2.0, 10),
    # Orders 2026-01-01 (getOrder shares its operationId with v0; same limits)
    "searchOrders": (0.0056, 20),
    # Feeds 2021-06-30
    "getFeeds": (0.0222, 10),
    "createFeed": (0.0083, 15),
    "cancelFeed": (2.0, 15),
    "getFeed": (2.0, 15),
    "createFeedDocument": (0.5, 15),
    "getFeedDocument": (0.0222, 10),
    # FBA Inventory v1
    "getInventorySummaries": (2.0, 2),
    # Reports 2021-06-30
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    # Tokens, Sellers
    "createRestrictedDataToken": (1.0, 10),
    "getMarketplaceParticipations": (0.016, 15),
}
# Notifications v1 (not in the shared operations summary: from notifications.json's tables)
NOTIFICATION_LIMITS = {
    "getDestinations": (1.0, 5),
    "createDestination": (1.0, 5),
    "deleteDestination": (1.0, 5),
    "getSubscription": (1.0, 5),
    "createSubscription": (1.0, 5),
    "deleteSubscriptionById": (1.0, 5),
}
DEFAULT_LIMIT = (0.5, 10)  # operations not in the table


class TokenBucket:
    """A token bucket that makes callers wait for their turn.

    ``acquire()`` reserves one token: tokens may go negative, meaning callers are
    queued; each caller sleeps until its reserved token has been refilled.
    """

    def __init__(
        self, rate, burst, *, initial=None, margin=0.0, clock=time.monotonic, sleep=time.sleep
    ):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = float(burst)
        # Head-room in seconds: keep rate x margin tokens (at most burst - 1) unused, so
        # that jitter in the delay between our send and Amazon's count (which can only
        # cost rate x jitter tokens, never more) does not turn into 429s. It delays the
        # schedule once by ``margin``; it does not slow the steady pace.
        self.margin = float(margin)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst if initial is None else initial)
        self._stamp = clock()
        self.waited = 0.0  # total seconds callers slept here

    def _refill(self, now):
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._stamp = now

    @property
    def tokens(self):
        with self._lock:
            self._refill(self._clock())
            return self._tokens

    def wait(self):
        """Seconds a caller would wait for a token now (nothing is reserved)."""
        with self._lock:
            self._refill(self._clock())
            need = 1.0 + min(self.burst - 1.0, self.rate * self.margin)
            return 0.0 if self._tokens >= need else (need - self._tokens) / self.rate

    def reserve(self, max_wait=None):
        """Reserve a token; return the seconds to wait for it, or None (and
        reserve nothing) if that wait would exceed ``max_wait``."""
        with self._lock:
            self._refill(self._clock())
            need = 1.0 + min(self.burst - 1.0, self.rate * self.margin)
            wait = 0.0 if self._tokens >= need else (need - self._tokens) / self.rate
            if max_wait is not None and wait > max_wait:
                return None
            self._tokens -= 1
            return wait

    def acquire(self, max_wait=None):
        """Wait for a token. Returns the seconds waited, or None if the wait would
        exceed ``max_wait`` (nothing is reserved then)."""
        wait = self.reserve(max_wait)
        if wait is None:
            return None
        if wait > 0:
            self._sleep(wait)
            with self._lock:
                self.waited += wait
        return wait

    def set_rate(self, rate):
        """Follow the rate Amazon reports (``x-amzn-RateLimit-Limit``)."""
        if not rate or rate <= 0:
            return
        with self._lock:
            self._refill(self._clock())
            self.rate = float(rate)

    def drain(self):
        """Amazon answered 429: its bucket is empty, so is ours from now on."""
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self._tokens, 0.0)

    def __repr__(self):
        return f"TokenBucket(rate={self.rate}, burst={self.burst}, tokens={self.tokens:.2f})"


class RateLimiter:
    """Registry of buckets keyed by (endpoint, seller key, operation)."""

    def __init__(self, *, clock=time.monotonic, sleep=time.sleep, limits=None, margin=0.1):
        self.clock = clock
        self.sleep = sleep
        self.margin = margin
        default = {**OPERATION_LIMITS, **NOTIFICATION_LIMITS}
        self.limits = dict(default if limits is None else limits)
        self._lock = threading.Lock()
        self._buckets = {}

    def bucket(self, endpoint, seller_key, operation, *, start_empty=False):
        key = (endpoint, seller_key, operation)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                rate, burst = self.limits.get(operation, DEFAULT_LIMIT)
                bucket = TokenBucket(
                    rate,
                    burst,
                    initial=0.0 if start_empty else None,
                    margin=self.margin,
                    clock=self.clock,
                    sleep=self.sleep,
                )
                self._buckets[key] = bucket
            return bucket

    def buckets(self, endpoint=None, seller_key=None):
        """{operation: bucket} for one endpoint/seller (all when None)."""
        with self._lock:
            return {
                key[2]: bucket
                for key, bucket in self._buckets.items()
                if (endpoint is None or key[0] == endpoint)
                and (seller_key is None or key[1] == seller_key)
            }

    def forget(self, endpoint=None, seller_key=None):
        """Drop buckets (e.g. between benchmark runs or tests)."""
        with self._lock:
            for key in list(self._buckets):
                if (endpoint is None or key[0] == endpoint) and (
                    seller_key is None or key[1] == seller_key
                ):
                    del self._buckets[key]


def seller_key(client_id, refresh_token):
    """A stable, non-reversible key for one seller authorisation (no secret in it)."""
    digest = hashlib.sha256(f"{client_id}\x00{refresh_token}".encode()).hexdigest()
    return digest[:24]


def parse_rate_header(value):
    """``x-amzn-RateLimit-Limit`` -> float rate, or None when absent/garbled."""
    if not value:
        return None
    try:
        rate = float(str(value).strip())
    except ValueError:
        return None
    return rate if rate > 0 and rate < 1e6 else None


def backoff_delay(attempt, *, base=0.5, cap=30.0, rng=random.random):
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng() * min(cap, base * (2 ** max(0, attempt)))


# The process-wide registry used by SpApiClient.
LIMITER = RateLimiter()
