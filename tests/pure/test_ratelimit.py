"""Token buckets with an injected clock, and the embedded rate table vs Amazon's."""

import json
import re
import threading
from pathlib import Path

import pytest
from sandbox_helpers import FakeTime

from amazon_sp import ratelimit
from amazon_sp.ratelimit import RateLimiter, TokenBucket, backoff_delay, parse_rate_header

SUMMARY = Path(__file__).resolve().parents[2].parent / "shared/sp-api/operations-summary.json"
# Models the summary does not cover: their usage plans are read from each operation's
# description table ("| Rate (requests per second) | Burst |").
UNSUMMARIZED_OPERATIONS = {
    "fbaInventory.json": ("getInventorySummaries",),
    "reports_2021-06-30.json": ("createReport", "getReport", "getReportDocument"),
}


def documented_in_models():
    """{operationId: (rate, burst)} of UNSUMMARIZED_OPERATIONS, from Amazon's models."""
    found = {}
    for model, operation_ids in UNSUMMARIZED_OPERATIONS.items():
        document = json.loads((SUMMARY.parent / "models" / model).read_text())
        for item in document["paths"].values():
            for operation in item.values():
                if not isinstance(operation, dict):
                    continue
                if operation.get("operationId") not in operation_ids:
                    continue
                rate, burst = re.findall(
                    r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", operation["description"]
                )[0]
                found[operation["operationId"]] = (float(rate), int(burst))
    return found


def test_burst_then_paced():
    t = FakeTime(1000.0)
    bucket = TokenBucket(2.0, 3, clock=t.clock, sleep=t.sleep)
    for _ in range(3):
        assert bucket.acquire() == 0
    assert bucket.acquire() == pytest.approx(0.5)
    assert bucket.acquire() == pytest.approx(0.5)
    assert t.now == pytest.approx(1001.0)


def test_wait_tells_the_next_wait_without_reserving():
    t = FakeTime(1000.0)
    bucket = TokenBucket(2.0, 2, clock=t.clock, sleep=t.sleep)
    assert bucket.wait() == 0
    bucket.acquire()
    bucket.acquire()
    assert bucket.wait() == pytest.approx(0.5)
    assert bucket.wait() == pytest.approx(0.5), "nothing was reserved"
    t.now += 0.25
    assert bucket.wait() == pytest.approx(0.25)


def test_margin_keeps_head_room_without_slowing_the_pace():
    t = FakeTime(1000.0)
    bucket = TokenBucket(100.0, 30, initial=0, margin=0.1, clock=t.clock, sleep=t.sleep)
    waits = [bucket.acquire() for _ in range(50)]
    assert waits[0] == pytest.approx(0.11)  # 1 token + 10 tokens of head-room
    assert all(w == pytest.approx(0.01) for w in waits[1:])
    t.now += 10
    assert sum(1 for _ in range(30) if bucket.acquire() == 0) == 20  # burst minus head-room
    slow = TokenBucket(0.0056, 20, initial=0, margin=0.1, clock=t.clock, sleep=t.sleep)
    assert slow.acquire() == pytest.approx((1 + 0.00056) / 0.0056)


def test_start_empty_and_refill_capped_at_burst():
    t = FakeTime(1000.0)
    bucket = TokenBucket(1.0, 2, initial=0, clock=t.clock, sleep=t.sleep)
    assert bucket.acquire() == pytest.approx(1.0)
    t.now += 100  # long idle: refill stops at the burst
    assert bucket.tokens == pytest.approx(2.0)
    bucket.acquire()
    bucket.acquire()
    assert bucket.acquire() == pytest.approx(1.0)


def test_max_wait_reserves_nothing():
    t = FakeTime(1000.0)
    bucket = TokenBucket(0.1, 1, initial=0, clock=t.clock, sleep=t.sleep)
    assert bucket.acquire(max_wait=5) is None
    assert t.sleeps == []
    assert bucket.acquire(max_wait=10) == pytest.approx(10)


def test_set_rate_and_drain():
    t = FakeTime(1000.0)
    bucket = TokenBucket(0.0056, 20, clock=t.clock, sleep=t.sleep)
    bucket.set_rate(1.12)  # the header of a 200x sandbox
    bucket.drain()
    assert bucket.acquire() == pytest.approx(1 / 1.12)
    bucket.set_rate(None)
    assert bucket.rate == pytest.approx(1.12)


def test_threads_share_one_bucket():
    limiter = RateLimiter(margin=0)
    bucket = limiter.bucket("http://x", "seller", "getOrder")
    bucket.set_rate(200.0)
    waits = []

    def worker():
        for _ in range(10):
            waits.append(bucket.acquire())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(waits) == 40
    assert limiter.bucket("http://x", "seller", "getOrder") is bucket
    assert limiter.bucket("http://y", "seller", "getOrder") is not bucket
    assert bucket.waited == pytest.approx((40 - 30) / 200.0, abs=0.05)


def test_backoff_full_jitter_bounds():
    assert backoff_delay(0, rng=lambda: 1.0) == 0.5
    assert backoff_delay(3, rng=lambda: 1.0) == 4.0
    assert backoff_delay(20, rng=lambda: 1.0) == 30.0
    assert backoff_delay(5, rng=lambda: 0.0) == 0.0


def test_rate_header():
    assert parse_rate_header("0.0167") == pytest.approx(0.0167)
    assert parse_rate_header(None) is None
    assert parse_rate_header("fast") is None
    assert parse_rate_header("-1") is None


@pytest.mark.skipif(not SUMMARY.exists(), reason="../shared/sp-api/operations-summary.json absent")
def test_table_matches_amazon_summary():
    documented = {
        op["operationId"]: (op["rate"], op["burst"])
        for op in json.loads(SUMMARY.read_text())["operations"]
    }
    documented.update(documented_in_models())
    for operation, limits in documented.items():
        assert ratelimit.OPERATION_LIMITS[operation] == limits, operation
    assert set(ratelimit.OPERATION_LIMITS) == set(documented)
