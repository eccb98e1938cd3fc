"""The client's deadline (``SpApiClient.set_deadline``) against the sandbox over real HTTP.

The client and its rate-limit buckets run on a fake clock that only moves when they sleep:
every wait is exact whatever the machine's speed, and a test can tell whether a sleep would
have ended past the deadline. Faults come from the sandbox's own fault injection.
"""

import socket
from datetime import timedelta

import pytest
from sandbox_helpers import FakeTime
from test_client import an_unshipped_mfn_order, make_client
from test_fba_inventory import ES, _return_rows, _stock_scenario

from amazon_sp import SpApiClient, errors, ratelimit, reports
from sp_sandbox import SandboxServer

PARTICIPATIONS = "getMarketplaceParticipations"


def timed_client(srv, fake, rng=1.0, **overrides):
    """A client of ``srv`` whose clock, sleep and buckets are ``fake``'s; backoff delays
    are their maximum (``rng`` 1.0): 0.5 s, 1 s, 2 s, 4 s..."""
    config = make_client(srv, **overrides).config
    limiter = ratelimit.RateLimiter(clock=fake.clock, sleep=fake.sleep)
    return SpApiClient(config, limiter=limiter, clock=fake.clock, sleep=fake.sleep, rng=lambda: rng)


def sent(srv, operation):
    """Requests of ``operation`` the sandbox received (whatever it answered)."""
    return srv.state.stats["calls"].get(operation, 0)


def test_no_deadline_by_default_and_the_same_retries_with_a_far_one(sandbox):
    runs = []
    for deadline in (None, 1000.0):
        sandbox.faults.clear()
        sandbox.faults.add(operation=PARTICIPATIONS, kind="429", count=3)
        fake = FakeTime()
        with timed_client(sandbox, fake) as client:
            assert client.deadline is None and client.time_left() is None
            client.set_deadline(deadline)
            assert client.get_marketplace_participations()
            runs.append((fake.sleeps, client.stats.calls, client.stats.retries))
    assert runs[0] == runs[1]
    sleeps, calls, retries = runs[0]
    assert (calls, retries) == (4, 3)
    assert sleeps == [0.5, 1.0, 2.0]  # the backoffs (the bucket refills meanwhile)


def test_429_backoff_stops_at_the_deadline_before_sending_again(sandbox):
    sandbox.faults.add(operation=PARTICIPATIONS, kind="429")  # Amazon throttles for good
    fake = FakeTime()
    with timed_client(sandbox, fake, max_attempts=20, max_retry_seconds=300) as client:
        client.set_deadline(2.0)
        assert client.time_left() == 2.0
        with pytest.raises(errors.SpApiOutOfTimeError) as info:
            client.get_marketplace_participations()
    exc = info.value
    assert not isinstance(exc, errors.SpApiError), "no failure of Amazon: not an SpApiError"
    assert fake.now <= 2.0, "no sleep ended past the deadline"
    # 0.5 s and 1 s backoffs slept; the next one, 2 s, would end past the deadline: raised
    # instead, with nothing sent after the last 429.
    assert fake.sleeps == [0.5, 1.0]
    assert client.stats.calls == sent(sandbox, PARTICIPATIONS) == 3
    assert exc.operation == PARTICIPATIONS and exc.retry_after >= 2.0
    assert isinstance(exc.error, errors.SpApiThrottledError) and not exc.outcome_unknown
    assert client.time_left() == 2.0 - fake.now
    # Without the deadline the same client goes on retrying up to its own bounds.
    client = timed_client(sandbox, fake, max_attempts=4, max_retry_seconds=300)
    with client, pytest.raises(errors.SpApiThrottledError, match="gave up after 4"):
        client.get_marketplace_participations()


def test_rate_limit_wait_past_the_deadline_raises_at_once(sandbox):
    fake = FakeTime()
    with timed_client(sandbox, fake, max_retry_seconds=300) as client:
        bucket = client.bucket(PARTICIPATIONS)
        bucket.drain()  # the documented 0.016 requests/s: the next token in ~63 s
        wait = bucket.wait()
        assert wait > 60
        client.set_deadline(10.0)
        with pytest.raises(errors.SpApiOutOfTimeError) as info:
            client.get_marketplace_participations()
        assert info.value.retry_after == pytest.approx(wait)
        assert info.value.error is None and "not sent" in str(info.value)
        assert fake.sleeps == [] and client.stats.calls == sent(sandbox, PARTICIPATIONS) == 0
        client.set_deadline(wait + 1)  # a deadline after the token: waited for, then sent
        assert client.get_marketplace_participations()
        assert fake.sleeps == [pytest.approx(wait)]
        bucket.drain()
        client.set_deadline(None)  # no deadline: waited for as before
        assert client.get_marketplace_participations()
        assert len(fake.sleeps) == 2 and client.stats.calls == sent(sandbox, PARTICIPATIONS) == 2


def test_confirm_shipment_out_of_time_after_429_was_not_sent(sandbox):
    """A non-idempotent call is retried only after an answer saying Amazon did not act
    (429): out of time there means not sent, ``outcome_unknown`` False; a lost answer
    (500 after the effect) is raised at once as before, deadline or not."""
    fake = FakeTime()
    with timed_client(sandbox, fake) as client:
        order = an_unshipped_mfn_order(client, sandbox, min_units=1)
        items = [(i.item_id, i.quantity_ordered) for i in order.items]
        ship = {
            "marketplace_id": order.marketplace_id,
            "carrier_code": "DHL",
            "tracking_number": "TRK31",
            "ship_date": order.purchase_date + timedelta(hours=3),
            "items": items,
        }
        client.set_deadline(1.0)
        sandbox.faults.add(operation="confirmShipment", kind="429")
        with pytest.raises(errors.SpApiOutOfTimeError) as info:
            client.confirm_shipment(order.order_id, package_reference_id="31", **ship)
        assert not info.value.outcome_unknown
        assert isinstance(info.value.error, errors.SpApiThrottledError)
        assert sandbox.state.shipments(order.order_id) == []
        sandbox.faults.clear()
        sandbox.faults.add(operation="confirmShipment", kind="500", count=1, after_effect=True)
        with pytest.raises(errors.SpApiServerError) as lost:
            client.confirm_shipment(order.order_id, package_reference_id="32", **ship)
        assert lost.value.outcome_unknown
        assert fake.now <= client.deadline
    assert len(sandbox.state.shipments(order.order_id)) == 1


def test_document_retries_stop_at_the_deadline(sandbox):
    with socket.socket() as probe:  # a loopback port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/_docs/nowhere"
    fake = FakeTime()
    with timed_client(sandbox, fake, max_attempts=4) as client:
        with pytest.raises(errors.SpApiTransportError):  # no deadline: max_attempts
            client.feeds.upload_document(url, b"content", "text/plain")
        assert fake.sleeps == [0.5, 1.0, 2.0]
        client.set_deadline(2.0)
        with pytest.raises(errors.SpApiOutOfTimeError) as info:
            client.feeds.upload_document(url, b"content", "text/plain")
    assert fake.sleeps[3:] == [0.5, 1.0], "the 2 s backoff would end past the deadline"
    assert info.value.operation == "uploadFeedDocument" and info.value.retry_after == 2.0
    assert isinstance(info.value.error, errors.SpApiTransportError)


def test_report_polls_stop_before_waiting_past_the_deadline():
    scenario = _stock_scenario(3, returns=_return_rows("171-0000001-0000003"))
    for row in scenario.fba["returns"]:
        row["marketplaceId"] = ES
    # Slow time: the report stays pending, and getReport is paced at 0.002 requests/s.
    with SandboxServer(scenario, port=0, speed=0.001) as srv:
        fake = FakeTime()
        with timed_client(srv, fake) as client:
            end = client.amazon_now() - timedelta(minutes=5)
            report_id = client.reports.create(reports.CUSTOMER_RETURNS, [ES], None, end)
            client.set_deadline(60.0)
            # Pending, for a later run to come back to (customer_returns(report_id=...)).
            status = client.reports.wait(report_id, max_seconds=3600)
            assert status.is_pending and status.report_id == report_id
            polls = client.stats.by_operation["getReport"]
            assert polls == sent(srv, "getReport") >= 1
            assert client.bucket("getReport").wait() > client.time_left()
            assert fake.now <= 60.0
