"""client.feeds: a feed submitted in one call, its status and its processing report typed,
against the SP-API sandbox over real HTTP (the sandbox processes feeds on its own clock,
which the tests move forward)."""

import pytest
from test_client import make_client

from amazon_sp import FeedReport, FeedReportError, FeedStatus, SubmittedFeed, const, errors
from amazon_sp.feeds import feed_status

MARKETPLACE = "A1PA6795UKMFR9"


def _finished(client, srv, feed_id):
    """The feed's status once the sandbox has processed it (its clock moved forward)."""
    status = client.feeds.get(feed_id)
    for _ in range(50):
        if not status.is_pending:
            return status
        srv.state.advance(120)
        status = client.feeds.get(feed_id)
    raise AssertionError(f"feed {feed_id} still {status.processing_status}")


def _stock_feed(client, srv, pairs):
    seller = srv.scenario.seller["sellerId"]
    return client.feeds.submit_availability(seller, MARKETPLACE, pairs)


@pytest.mark.parametrize("gzip_reports", [True, False])
def test_stock_feed_round_trip_typed(sandbox, gzip_reports):
    sandbox.app.gzip_reports = gzip_reports
    sku = next(iter(sandbox.state.listings))
    with make_client(sandbox) as client:
        sent = _stock_feed(client, sandbox, [(sku, 7), ("NO-SUCH-SKU-XYZ", 1)])
        status = _finished(client, sandbox, sent.feed_id)
        report = client.feeds.get_report(status)
    assert isinstance(sent, SubmittedFeed)
    assert sent.feed_id and sent.document_id and sent.message_ids == (1, 2)
    assert sent.feed_type == const.LISTINGS_FEED_TYPE and sent.marketplace_ids == (MARKETPLACE,)
    assert isinstance(status, FeedStatus) and not status.is_pending
    assert status.processing_status == const.FEED_STATUS_DONE and status.has_report
    assert status.feed_type == const.LISTINGS_FEED_TYPE
    assert status.marketplace_ids == (MARKETPLACE,)
    assert status.created_time <= status.processing_start_time <= status.processing_end_time
    assert isinstance(report, FeedReport)
    assert (report.feed_id, report.document_id) == (sent.feed_id, status.result_document_id)
    assert report.summary.messages_processed == 2 and report.summary.errors >= 1
    assert report.summary.messages_accepted == 1 and not report.whole_feed_failed
    issue = report.message_issues(2)[0]
    assert issue.is_error and issue.sku == "NO-SUCH-SKU-XYZ" and issue.code
    assert issue.message_id == 2 and issue.text.startswith(f"[{issue.code}] ")
    results = report.results(sent.message_ids)
    assert results[1].accepted, results[1].text
    assert not results[2].accepted and "NO-SUCH-SKU-XYZ" in results[2].text
    assert results[2].issues == report.message_issues(2) and results[2].sku == "NO-SUCH-SKU-XYZ"
    assert sandbox.state.listings[sku]["quantity"] == 7


def test_fatal_feed_fails_every_message_with_its_issue(sandbox):
    with make_client(sandbox) as client:
        sent = client.feeds.submit(
            const.LISTINGS_FEED_TYPE, [MARKETPLACE], "not json", const.LISTINGS_FEED_CONTENT_TYPE
        )
        status = _finished(client, sandbox, sent.feed_id)
        report = client.feeds.get_report(status)
    assert sent.message_ids == ()
    assert status.is_fatal and status.has_report
    assert report.processing_status == const.FEED_STATUS_FATAL and report.whole_feed_failed
    assert [issue.code for issue in report.feed_issues] == ["INVALID_JSON"]
    results = report.results([1, 2])
    assert not results[1].accepted and not results[2].accepted
    assert results[1].errors[0].startswith("[INVALID_JSON] ")


def test_report_of_a_pending_feed_and_an_unreadable_report_are_refused(sandbox):
    sku = next(iter(sandbox.state.listings))
    with make_client(sandbox) as client:
        sent = _stock_feed(client, sandbox, [(sku, 3)])
        pending = FeedStatus(feed_id=sent.feed_id, processing_status="IN_QUEUE")
        with pytest.raises(ValueError, match="no processing report"):
            client.feeds.get_report(pending)
        assert client.stats.by_operation["getFeedDocument"] == 0
        status = _finished(client, sandbox, sent.feed_id)
        document = sandbox.state.documents[status.result_document_id]
        for content in (b"\x1f\x8b not gzip", b"not json"):
            document["content"], document["compression"] = content, None
            if content.startswith(b"\x1f\x8b"):
                document["compression"] = "GZIP"
            with pytest.raises(FeedReportError):
                client.feeds.get_report(status)


def test_submitting_bad_quantities_sends_nothing(sandbox):
    with make_client(sandbox) as client:
        with pytest.raises(ValueError):
            _stock_feed(client, sandbox, [("SKU", -1)])
    assert client.stats.calls == 0


def test_feed_status_reads_amazons_json():
    queued = feed_status(
        {
            "feedId": "FEED1",
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": ["A1PA6795UKMFR9"],
            "createdTime": "2026-03-01T10:00:00+01:00",
            "processingStatus": "IN_QUEUE",
        }
    )
    assert queued.is_pending and not queued.has_report and not queued.is_cancelled
    assert queued.created_time.isoformat() == "2026-03-01T09:00:00"
    assert queued.processing_start_time is None and queued.result_document_id is None
    cancelled = feed_status({"feedId": "F", "processingStatus": "CANCELLED"})
    assert cancelled.is_cancelled and not cancelled.is_pending and not cancelled.has_report
    with pytest.raises(errors.SpApiResponseError, match="processingStatus"):
        feed_status({"feedId": "F"})
    with pytest.raises(errors.SpApiResponseError, match="createdTime"):
        feed_status({"feedId": "F", "processingStatus": "DONE", "createdTime": "yesterday"})
