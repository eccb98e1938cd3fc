"""JSON listings feeds for the FBM stock push (no Odoo import).

``build_availability_feed`` writes Amazon's JSON listings feed (version 2.0): one PATCH of
``/attributes/fulfillment_availability`` per SKU, numbered from 1 (the ``messageId`` the
processing report refers to). :func:`parse_report` reads Amazon's listings feed processing
report (schema v2) into a :class:`FeedReport` (typed issues and summary), whose
:meth:`FeedReport.results` gives one :class:`MessageResult` per message sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import const

SEVERITY_ERROR = "ERROR"


class FeedReportError(ValueError):
    """A processing report that cannot be read (not GZIP/JSON, or not a report)."""


@dataclass(frozen=True)
class FeedIssue:
    """One issue of a processing report."""

    severity: str  # ERROR, WARNING or INFO
    message: str
    code: str | None = None
    message_id: int | None = None  # None: the issue concerns the whole feed
    sku: str | None = None
    attribute_name: str | None = None

    @property
    def is_error(self):
        return self.severity == SEVERITY_ERROR

    @property
    def text(self):
        """``[code] message (attribute)``, as shown to the seller."""
        prefix = f"[{self.code}] " if self.code else ""
        suffix = f" ({self.attribute_name})" if self.attribute_name else ""
        return f"{prefix}{self.message}{suffix}"


@dataclass(frozen=True)
class FeedSummary:
    errors: int = 0
    warnings: int = 0
    messages_processed: int = 0
    messages_accepted: int = 0
    messages_invalid: int = 0


@dataclass(frozen=True)
class MessageResult:
    """What Amazon did with one message of a listings feed."""

    message_id: int
    sku: str | None
    accepted: bool
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    issues: tuple[FeedIssue, ...] = ()

    @property
    def text(self):
        """Amazon's messages about this SKU, errors first, one per line."""
        return "\n".join(self.errors + self.warnings)


def build_availability_feed(seller_id, quantities):
    """The listings feed setting the FBM quantity of each SKU.

    :param seller_id: the seller's Merchant ID (header ``sellerId``)
    :param quantities: iterable of ``(sku, quantity)``; quantities are whole units >= 0
    :return: the feed as a dict; message ``n`` (from 1) is the ``n``-th pair
    :raise ValueError: on an empty seller id or SKU, or a quantity that is not a whole number
        of units >= 0
    """
    if not seller_id or not str(seller_id).strip():
        raise ValueError("the seller id (Merchant ID) is required in a listings feed")
    messages = []
    for message_id, (sku, quantity) in enumerate(quantities, start=1):
        if not sku or not str(sku).strip():
            raise ValueError(f"message {message_id}: the SKU is empty")
        if isinstance(quantity, bool) or int(quantity) != quantity or quantity < 0:
            raise ValueError(f"SKU {sku}: quantity {quantity!r} is not a whole number >= 0")
        messages.append(
            {
                "messageId": message_id,
                "sku": str(sku),
                "operationType": "PATCH",
                "productType": const.LISTINGS_PRODUCT_TYPE,
                "patches": [
                    {
                        "op": "replace",
                        "path": const.LISTINGS_AVAILABILITY_PATH,
                        "value": [
                            {
                                "fulfillment_channel_code": const.FULFILLMENT_CHANNEL_DEFAULT,
                                "quantity": int(quantity),
                            }
                        ],
                    }
                ],
            }
        )
    return {
        "header": {"sellerId": str(seller_id).strip(), "version": const.LISTINGS_FEED_VERSION},
        "messages": messages,
    }


def encode_feed(feed):
    """The bytes to upload (UTF-8 JSON, as ``const.LISTINGS_FEED_CONTENT_TYPE`` says)."""
    return json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_report(content):
    """The processing report document (bytes or str, already decompressed) as a dict.

    :raise FeedReportError: (a ValueError) when it is not a JSON object with a ``summary``
        and a list of ``issues``
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FeedReportError(f"the processing report is not UTF-8: {exc}") from None
    try:
        report = json.loads(content)
    except ValueError as exc:
        raise FeedReportError(f"the processing report is not JSON: {exc}") from None
    if not isinstance(report, dict) or not isinstance(report.get("summary"), dict):
        raise FeedReportError("the processing report has no summary")
    if not isinstance(report.get("issues", []), list):
        raise FeedReportError("the processing report's issues are not a list")
    return report


@dataclass(frozen=True)
class FeedReport:
    """Amazon's processing report of a listings feed, typed."""

    processing_status: str  # the feed's processingStatus when the report was read
    summary: FeedSummary
    issues: tuple[FeedIssue, ...] = ()
    feed_id: str | None = None
    document_id: str | None = None  # the result feed document it was read from
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def feed_issues(self):
        """Issues naming no message: they concern the whole feed."""
        return tuple(issue for issue in self.issues if issue.message_id is None)

    def message_issues(self, message_id):
        return tuple(issue for issue in self.issues if issue.message_id == message_id)

    @property
    def whole_feed_failed(self):
        """FATAL, or no message accepted while the feed itself has an ERROR."""
        return self.processing_status == const.FEED_STATUS_FATAL or bool(
            any(issue.is_error for issue in self.feed_issues) and not self.summary.messages_accepted
        )

    def results(self, message_ids):
        """``{message_id: MessageResult}`` for every message id sent.

        A message is accepted unless an ERROR issue names it. When the whole feed failed
        (:attr:`whole_feed_failed`), every message fails with the feed's errors. WARNING and
        INFO issues never make a message fail.
        """
        feed_errors = [issue.text for issue in self.feed_issues if issue.is_error]
        failed = self.whole_feed_failed
        results = {}
        for message_id in message_ids:
            issues = self.message_issues(message_id)
            errors = [issue.text for issue in issues if issue.is_error]
            if failed:
                errors += feed_errors or ["Amazon could not process the feed."]
            results[message_id] = MessageResult(
                message_id=message_id,
                sku=next((issue.sku for issue in issues if issue.sku), None),
                accepted=not errors,
                errors=tuple(errors),
                warnings=tuple(issue.text for issue in issues if not issue.is_error),
                issues=issues,
            )
        return results


def _count(summary, key):
    value = summary.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(issue, key):
    value = issue.get(key)
    return value.strip() or None if isinstance(value, str) else None


def parse_report(
    report, processing_status=const.FEED_STATUS_DONE, *, feed_id=None, document_id=None
):
    """A processing report (dict from :func:`decode_report`, or the document's bytes)
    -> :class:`FeedReport`. Issues that are not objects are skipped; a missing severity
    counts as ERROR, a missing message as "(no message)"."""
    if not isinstance(report, dict):
        report = decode_report(report)
    issues = []
    for issue in report.get("issues") or []:
        if not isinstance(issue, dict):
            continue
        message_id = issue.get("messageId")
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            message_id = None
        issues.append(
            FeedIssue(
                severity=(_text(issue, "severity") or SEVERITY_ERROR).upper(),
                message=_text(issue, "message") or "(no message)",
                code=_text(issue, "code"),
                message_id=message_id,
                sku=_text(issue, "sku"),
                attribute_name=_text(issue, "attributeName"),
            )
        )
    summary = report.get("summary") or {}
    header = report.get("header") if isinstance(report.get("header"), dict) else {}
    return FeedReport(
        processing_status=processing_status,
        summary=FeedSummary(
            errors=_count(summary, "errors"),
            warnings=_count(summary, "warnings"),
            messages_processed=_count(summary, "messagesProcessed"),
            messages_accepted=_count(summary, "messagesAccepted"),
            messages_invalid=_count(summary, "messagesInvalid"),
        ),
        issues=tuple(issues),
        feed_id=feed_id or header.get("feedId"),
        document_id=document_id,
        raw=report,
    )


def read_processing_report(report, message_ids, processing_status=const.FEED_STATUS_DONE):
    """One :class:`MessageResult` per sent message id, from a processing report (dict):
    ``parse_report(report, processing_status).results(message_ids)``."""
    return parse_report(report, processing_status).results(message_ids)
