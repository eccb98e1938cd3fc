"""JSON listings feeds for the FBM stock push (no Odoo import).

``build_availability_feed`` writes Amazon's JSON listings feed (version 2.0): one PATCH of
``/attributes/fulfillment_availability`` per SKU, numbered from 1 (the ``messageId`` the
processing report refers to). ``read_processing_report`` reads Amazon's listings feed
processing report (schema v2) back into one :class:`MessageResult` per message sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import const


@dataclass(frozen=True)
class MessageResult:
    """What Amazon did with one message of a listings feed."""

    message_id: int
    sku: str | None
    accepted: bool
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

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

    :raise ValueError: when it is not a JSON object with ``issues`` and ``summary``
    """
    if isinstance(content, bytes):
        content = content.decode("utf-8")
    try:
        report = json.loads(content)
    except ValueError as exc:
        raise ValueError(f"the processing report is not JSON: {exc}") from None
    if not isinstance(report, dict) or not isinstance(report.get("summary"), dict):
        raise ValueError("the processing report has no summary")
    if not isinstance(report.get("issues", []), list):
        raise ValueError("the processing report's issues are not a list")
    return report


def read_processing_report(report, message_ids, processing_status=const.FEED_STATUS_DONE):
    """One :class:`MessageResult` per sent message id, from a processing report (dict).

    A message is accepted unless an ERROR issue names its ``messageId``. Issues naming no
    message concern the whole feed: when the feed is FATAL, or no message was accepted
    while such an ERROR exists, every message fails with them. WARNING and INFO issues
    never make a message fail.
    """
    by_message, feed_errors, feed_warnings = {}, [], []
    for issue in report.get("issues") or []:
        if not isinstance(issue, dict):
            continue
        text = _issue_text(issue)
        severity = (issue.get("severity") or "ERROR").upper()
        message_id = issue.get("messageId")
        if isinstance(message_id, int) and not isinstance(message_id, bool):
            errors, warnings, skus = by_message.setdefault(message_id, ([], [], set()))
            if issue.get("sku"):
                skus.add(issue["sku"])
        else:
            errors, warnings = feed_errors, feed_warnings
        (errors if severity == "ERROR" else warnings).append(text)
    summary = report.get("summary") or {}
    whole_feed_failed = processing_status == const.FEED_STATUS_FATAL or (
        feed_errors and not summary.get("messagesAccepted")
    )
    results = {}
    for message_id in message_ids:
        errors, warnings, skus = by_message.get(message_id, ([], [], set()))
        errors = list(errors)
        if whole_feed_failed:
            errors += feed_errors or ["Amazon could not process the feed."]
        results[message_id] = MessageResult(
            message_id=message_id,
            sku=next(iter(skus), None),
            accepted=not errors,
            errors=tuple(errors),
            warnings=tuple(warnings),
        )
    return results


def _issue_text(issue):
    message = (issue.get("message") or "").strip() or "(no message)"
    code = issue.get("code")
    attribute = issue.get("attributeName")
    prefix = f"[{code}] " if code else ""
    suffix = f" ({attribute})" if attribute else ""
    return f"{prefix}{message}{suffix}"
