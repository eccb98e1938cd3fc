"""Document downloads (``amazon_sp.documents``): only Amazon's storage over https (loopback
for a sandbox client only), bounded compressed and uncompressed sizes, a gzip bomb stopped
at the cap; against the SP-API sandbox over real HTTP, which can hand out bad URLs and
bombs (``app.document_fault``)."""

import gzip

import httpx
import pytest
from test_client import make_client
from test_client_feeds import _finished, _stock_feed

from amazon_sp import documents, errors
from amazon_sp.documents import DocumentLimits, DocumentRefusedError, fetch_document

MiB = 1 << 20


def _finished_feed(client, sandbox):
    sku = next(iter(sandbox.state.listings))
    sent = _stock_feed(client, sandbox, [(sku, 4)])
    return _finished(client, sandbox, sent.feed_id)


def test_urls_outside_amazon_storage_are_refused():
    limits = DocumentLimits()
    for url in (
        "https://tortuga-prod-na.s3.amazonaws.com/%2FNinetyDays/amzn1.tortuga.3.x?X-Amz-Expires=300",
        "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/doc",
        "https://tortuga-prod-fe.s3.us-west-2.amazonaws.com/doc",
    ):
        documents.check_url(url, limits)
    for url in (
        "http://tortuga-prod-na.s3.amazonaws.com/doc",
        "https://tortuga-prod-na.s3.amazonaws.com:8443/doc",
        "https://attacker-bucket.s3.amazonaws.com/doc",
        "https://tortuga-prod-na.s3.amazonaws.com.attacker.example/doc",
        "https://user:pw@tortuga-prod-na.s3.amazonaws.com/doc",
        "http://127.0.0.1:8069/web",
        "http://localhost/",
        "http://[::1]:9/",
        "file:///etc/passwd",
        "ftp://tortuga-prod-na.s3.amazonaws.com/doc",
        "",
    ):
        with pytest.raises(DocumentRefusedError):
            documents.check_url(url, limits)


def test_loopback_only_for_a_sandbox_client():
    assert not DocumentLimits.for_endpoint("https://sellingpartnerapi-eu.amazon.com").allow_loopback
    assert DocumentLimits.for_endpoint("http://127.0.0.1:8123").allow_loopback
    documents.check_url("http://127.0.0.1:9/_docs/x", DocumentLimits.for_endpoint("http://[::1]:9"))


def test_sandbox_reports_still_download(sandbox):
    with make_client(sandbox) as client:
        assert client.config.document_limits.allow_loopback
        report = client.feeds.get_report(_finished_feed(client, sandbox))
    assert report.summary.messages_processed == 1


@pytest.mark.parametrize("fault", ["foreign_host", "plain_http"])
def test_foreign_or_plain_http_document_urls_are_refused_before_any_request(sandbox, fault):
    with make_client(sandbox) as client:
        status = _finished_feed(client, sandbox)
        sandbox.app.document_fault = fault
        with pytest.raises(DocumentRefusedError) as caught:
            client.feeds.get_report(status)
        assert isinstance(caught.value, errors.SpApiError)
        assert caught.value.operation == "downloadFeedDocument"
        assert "document" in str(caught.value)
        assert client.stats.retries == 0
        # The upload of a new feed is checked the same way: nothing is sent.
        sku = next(iter(sandbox.state.listings))
        with pytest.raises(DocumentRefusedError):
            _stock_feed(client, sandbox, [(sku, 5)])


def test_gzip_bomb_stops_at_the_uncompressed_cap(sandbox):
    sandbox.app.document_bomb_bytes = 64 * MiB
    limits = DocumentLimits.for_endpoint(sandbox.url, max_uncompressed=2 * MiB)
    with make_client(sandbox, document_limits=limits) as client:
        status = _finished_feed(client, sandbox)
        sandbox.app.document_fault = "gzip_bomb"
        with pytest.raises(DocumentRefusedError, match="larger than the 2 MiB"):
            client.feeds.get_report(status)
        assert client.stats.retries == 0, "a refused document is not fetched again"
        sandbox.app.document_fault = None
        assert client.feeds.get_report(status).summary.messages_processed == 1


def test_compressed_cap(sandbox):
    limits = DocumentLimits.for_endpoint(sandbox.url, max_compressed=64)
    with make_client(sandbox, document_limits=limits) as client:
        status = _finished_feed(client, sandbox)
        with pytest.raises(DocumentRefusedError, match="larger than the 64 bytes"):
            client.feeds.get_report(status)


def test_fetch_document_is_reusable(sandbox):
    """What another API's download (reports, settlements, invoices) calls directly."""
    with make_client(sandbox) as client:
        status = _finished_feed(client, sandbox)
        document = client.feeds.get_document(status.result_document_id)
    limits = DocumentLimits.for_endpoint(sandbox.url)
    with httpx.Client(timeout=5.0) as http:
        body = fetch_document(http, document["url"], "GZIP", limits, operation="getReport")
        assert b'"messagesProcessed"' in body
        raw = fetch_document(http, document["url"], None, limits)
        assert gzip.decompress(raw) == body
        with pytest.raises(DocumentRefusedError, match="compression"):
            fetch_document(http, document["url"], "ZIP", limits)
        with pytest.raises(DocumentRefusedError, match="loopback"):
            fetch_document(http, document["url"], "GZIP", DocumentLimits())
        with pytest.raises(errors.SpApiError) as caught:
            fetch_document(http, document["url"] + "tampered", "GZIP", limits)
        assert caught.value.status == 403
