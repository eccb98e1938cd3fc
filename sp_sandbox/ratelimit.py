"""Per-operation token buckets with Amazon's documented rate and burst.

``speed`` compresses time: buckets refill ``speed`` times faster (real, monotonic time) and the
``x-amzn-RateLimit-Limit`` header reports the effective rate (rate x speed).
"""

import threading
import time

from .data import USAGE_PLANS


class TokenBucket:
    def __init__(self, rate, burst, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()

    def _refill(self):
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self):
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def fill(self, tokens=None):
        self.tokens = float(self.burst if tokens is None else tokens)
        self.stamp = self.clock()


class RateLimiter:
    def __init__(self, speed=1.0, plans=None):
        self.speed = float(speed)
        self.plans = dict(USAGE_PLANS if plans is None else plans)
        self._buckets = {}
        self._lock = threading.Lock()

    def rate(self, operation):
        return self.plans[operation][0] * self.speed

    def header(self, operation):
        return f"{self.rate(operation):g}"

    def _bucket(self, operation):
        bucket = self._buckets.get(operation)
        if bucket is None:
            rate, burst = self.plans[operation]
            bucket = self._buckets[operation] = TokenBucket(rate * self.speed, burst)
        return bucket

    def allow(self, operation):
        """Take one token; False when the request must be throttled."""
        if operation not in self.plans:
            return True
        with self._lock:
            return self._bucket(operation).take()

    def reset(self):
        """Refill every bucket to its burst."""
        with self._lock:
            for operation in self.plans:
                self._bucket(operation).fill()

    def drain(self):
        """Empty every bucket (a client must then wait 1/rate per call)."""
        with self._lock:
            for operation in self.plans:
                self._bucket(operation).fill(0)
