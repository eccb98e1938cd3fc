"""Listings feeds of the FBM stock push: building the feed, reading the processing report,
and the round trip through the SP-API sandbox (which checks the message shape)."""

import json
import time
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from sandbox_helpers import sandbox_config

from amazon_sp import SpApiClient, _adapter, const, listings, ratelimit

SCHEMAS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "sp-api" / "schemas"
REPORT_SCHEMA = SCHEMAS_DIR / "listings-feed-processing-report-schema-v2.json"
REPORT_EXAMPLE = SCHEMAS_DIR / "listings-feed-processing-report-schema-v2.example.json"
NO_SCHEMA = f"Amazon's listings processing report schema is absent ({SCHEMAS_DIR})"

FEED_SCHEMA_PATH = SCHEMAS_DIR / "listings-feed-schema-v2.json"
MESSAGE_SCHEMA_PATH = SCHEMAS_DIR / "listings-feed-message-schema-v2.json"


def validate_feed(feed):
    """Amazon's own listings feed schema (v2) on the whole document, and Amazon's message
    schema on each message (the feed schema inlines its messages; no $ref links them)."""
    if not (FEED_SCHEMA_PATH.is_file() and MESSAGE_SCHEMA_PATH.is_file()):
        pytest.skip(f"Amazon's listings feed schemas are absent ({SCHEMAS_DIR})")
    Draft7Validator(json.loads(FEED_SCHEMA_PATH.read_text())).validate(feed)
    message_validator = Draft7Validator(json.loads(MESSAGE_SCHEMA_PATH.read_text()))
    for message in feed["messages"]:
        message_validator.validate(message)
    assert len(feed["messages"]) <= const.LISTINGS_FEED_MAX_MESSAGES


def _report_validator():
    if not REPORT_SCHEMA.is_file():
        pytest.skip(NO_SCHEMA)
    return Draft7Validator(json.loads(REPORT_SCHEMA.read_text()))


# --- building ----------------------------------------------------------------------------------


def test_feed_has_one_numbered_patch_per_sku_and_matches_the_feed_format():
    feed = listings.build_availability_feed("A1SELLER", [("MUG-RED", 5), ("BOOK-1", 0)])
    validate_feed(feed)
    assert feed["header"] == {"sellerId": "A1SELLER", "version": "2.0"}
    assert [m["messageId"] for m in feed["messages"]] == [1, 2]
    assert [m["sku"] for m in feed["messages"]] == ["MUG-RED", "BOOK-1"]
    patch = feed["messages"][0]["patches"][0]
    assert patch["op"] == "replace"
    assert patch["path"] == "/attributes/fulfillment_availability"
    assert patch["value"] == [{"fulfillment_channel_code": "DEFAULT", "quantity": 5}]
    assert json.loads(listings.encode_feed(feed)) == feed


@pytest.mark.parametrize(
    "seller, pairs",
    [
        ("", [("SKU", 1)]),
        ("A1", [("", 1)]),
        ("A1", [("SKU", -1)]),
        ("A1", [("SKU", 1.5)]),
        ("A1", [("SKU", True)]),
    ],
)
def test_bad_input_is_refused(seller, pairs):
    with pytest.raises(ValueError):
        listings.build_availability_feed(seller, pairs)


def test_whole_float_quantities_become_integers():
    feed = listings.build_availability_feed("A1", [("SKU", 3.0)])
    assert feed["messages"][0]["patches"][0]["value"][0]["quantity"] == 3
    assert isinstance(feed["messages"][0]["patches"][0]["value"][0]["quantity"], int)


# --- reading ---------------------------------------------------------------------------------


def test_amazons_example_report_reads_per_message():
    if not REPORT_EXAMPLE.is_file():
        pytest.skip(NO_SCHEMA)
    report = listings.decode_report(REPORT_EXAMPLE.read_bytes())
    _report_validator().validate(report)
    results = listings.read_processing_report(report, [1, 4, 5])
    assert results[1].accepted and results[1].errors == ()
    assert not results[4].accepted
    assert results[4].sku == "My-SKU-B"
    assert len(results[4].errors) == 2
    assert "[90220]" in results[4].text
    assert not results[5].accepted
    assert "purchasable_offer.our_price" in results[5].text


def test_warnings_do_not_fail_a_message():
    report = {
        "header": {"sellerId": "A1", "version": "2.0", "feedId": "1"},
        "issues": [{"messageId": 1, "severity": "WARNING", "message": "Quantity is high."}],
        "summary": {
            "errors": 0,
            "warnings": 1,
            "messagesProcessed": 1,
            "messagesAccepted": 1,
            "messagesInvalid": 0,
        },
    }
    result = listings.read_processing_report(report, [1])[1]
    assert result.accepted
    assert result.warnings == ("Quantity is high.",)


def test_feed_level_errors_fail_every_message_when_nothing_was_accepted():
    report = {
        "header": {"sellerId": "A1", "version": "2.0", "feedId": "1"},
        "issues": [{"code": "INVALID_HEADER", "severity": "ERROR", "message": "Bad header."}],
        "summary": {
            "errors": 1,
            "warnings": 0,
            "messagesProcessed": 0,
            "messagesAccepted": 0,
            "messagesInvalid": 0,
        },
    }
    results = listings.read_processing_report(report, [1, 2])
    assert not results[1].accepted and not results[2].accepted
    assert results[2].errors == ("[INVALID_HEADER] Bad header.",)
    fatal = listings.read_processing_report(
        {"issues": [], "summary": {}}, [1], processing_status=const.FEED_STATUS_FATAL
    )
    assert not fatal[1].accepted


def test_amazons_example_report_parses_into_typed_issues_and_summary():
    if not REPORT_EXAMPLE.is_file():
        pytest.skip(NO_SCHEMA)
    report = listings.parse_report(REPORT_EXAMPLE.read_bytes(), document_id="DOC-1")
    assert (report.feed_id, report.document_id) == ("1234567890", "DOC-1")
    assert report.processing_status == const.FEED_STATUS_DONE
    assert report.summary == listings.FeedSummary(
        errors=3, warnings=0, messages_processed=4, messages_accepted=2, messages_invalid=2
    )
    assert [issue.message_id for issue in report.issues] == [4, 4, 5]
    assert report.feed_issues == () and not report.whole_feed_failed
    last = report.issues[-1]
    assert (last.sku, last.code, last.severity) == ("My-SKU-C", "99022", "ERROR")
    assert last.attribute_name == "purchasable_offer.our_price" and last.is_error
    assert last.text.startswith("[99022] The field") and last.text.endswith("our_price)")
    results = report.results([1, 4, 5])
    assert results == listings.read_processing_report(report.raw, [1, 4, 5])
    assert results[4].issues == report.message_issues(4)


def test_issue_defaults_follow_the_schema_leniently():
    report = listings.parse_report(
        {
            "issues": [
                "not an issue",
                {"messageId": True, "message": "  ", "severity": "warning"},
                {"messageId": 2, "code": "X"},
            ],
            "summary": {"messagesAccepted": "many"},
        }
    )
    feed_issue, message_issue = report.issues
    assert feed_issue.message_id is None and feed_issue.severity == "WARNING"
    assert feed_issue.message == "(no message)" and not feed_issue.is_error
    assert message_issue.severity == "ERROR" and message_issue.text == "[X] (no message)"
    assert report.summary.messages_accepted == 0
    assert not report.whole_feed_failed  # the feed's own issue is only a warning
    assert not report.results([2])[2].accepted
    with pytest.raises(listings.FeedReportError):
        listings.parse_report(b"\xff\xfe")


@pytest.mark.parametrize("content", [b"not json", b"[]", b'{"issues": []}'])
def test_unreadable_reports_are_refused(content):
    with pytest.raises(ValueError):
        listings.decode_report(content)


# --- against the sandbox ---------------------------------------------------------------------


@pytest.fixture
def client(sandbox):
    _adapter.clear_token_cache()
    ratelimit.LIMITER.forget()
    config = sandbox_config(
        sandbox,
        "amzn1.application-oa2-client.listings",
        "listings-secret-0123456789",
        "Atzr|listings-refresh-0123456789",
        timeout=5.0,
        max_attempts=4,
        max_retry_seconds=10.0,
    )
    with SpApiClient(config) as api:
        yield api
    _adapter.clear_token_cache()
    ratelimit.LIMITER.forget()


def test_round_trip_through_the_sandbox(sandbox, client):
    sku = next(iter(sandbox.state.listings))
    seller = sandbox.scenario.seller["sellerId"]
    feed = listings.build_availability_feed(seller, [(sku, 7), ("NO-SUCH-SKU-XYZ", 1)])
    document_id, url = client.create_feed_document(const.LISTINGS_FEED_CONTENT_TYPE)
    client.upload_feed_document(url, listings.encode_feed(feed), const.LISTINGS_FEED_CONTENT_TYPE)
    feed_id = client.create_feed(const.LISTINGS_FEED_TYPE, ["A1PA6795UKMFR9"], document_id)
    status = client.get_feed(feed_id)
    for _ in range(20):
        if status["processingStatus"] not in const.FEED_STATUSES_PENDING:
            break
        sandbox.state.advance(120)
        time.sleep(0.05)
        status = client.get_feed(feed_id)
    assert status["processingStatus"] == const.FEED_STATUS_DONE
    document = client.get_feed_document(status["resultFeedDocumentId"])
    report = listings.decode_report(client.download_feed_document(document))
    if REPORT_SCHEMA.is_file():
        _report_validator().validate(report)
    results = listings.read_processing_report(report, [1, 2], status["processingStatus"])
    assert results[1].accepted, results[1].text
    assert not results[2].accepted
    assert "NO-SUCH-SKU-XYZ" in results[2].text
    assert sandbox.state.listings[sku]["quantity"] == 7
