"""Feed processing: JSON_LISTINGS_FEED (PATCH of ``fulfillment_availability``).

Produces a processing report following Amazon's listings-feed-processing-report-schema-v2.
Other feed types are accepted and answered with a report saying they are not processed.
"""

import json

from .amazon import default_root, feed_document_problems

AVAILABILITY_PATH = "/attributes/fulfillment_availability"
MAX_MESSAGES = 10_000  # messages per JSON_LISTINGS_FEED document
MAX_REPORTED = 20  # schema violations listed in a FATAL report


def process_feed(feed, document, state, contract_root=None):
    """Return (report dict, fatal flag); applies accepted quantities to ``state.listings``.

    The document is first checked against Amazon's listings feed schema (``contract_root``,
    default: the models' location) and the message cap: any violation ends the feed FATAL with
    a report listing them, nothing applied."""
    seller_id = state.scenario.seller.get("sellerId", "")
    header = {"sellerId": seller_id, "version": "2.0", "feedId": feed["feedId"]}
    content = document.get("content")
    if feed["feedType"] != "JSON_LISTINGS_FEED":
        return _report(
            header,
            [
                _issue(
                    None,
                    None,
                    "SANDBOX_UNSUPPORTED",
                    f"Feed type {feed['feedType']} is not processed by the sandbox.",
                )
            ],
            0,
            0,
            0,
        ), True
    if content is None:
        return _report(
            header,
            [_issue(None, None, "NO_CONTENT", "The feed document was never uploaded.")],
            0,
            0,
            0,
        ), True
    try:
        payload = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return _report(
            header,
            [_issue(None, None, "INVALID_JSON", f"The feed is not valid JSON: {exc}")],
            0,
            0,
            0,
        ), True
    problems = feed_document_problems(contract_root or default_root(), payload, MAX_MESSAGES)
    if problems:
        issues = [
            _issue(None, None, "4000004", f"The feed does not follow the feed schema: {text}")
            for text in problems[:MAX_REPORTED]
        ]
        return _report(header, issues, 0, 0, 0), True
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("header"), dict)
        or not isinstance(payload.get("messages"), list)
    ):
        return _report(
            header,
            [
                _issue(
                    None,
                    None,
                    "INVALID_FEED",
                    "The feed needs a 'header' object and a 'messages' array.",
                )
            ],
            0,
            0,
            0,
        ), True
    feed_header = payload["header"]
    if feed_header.get("sellerId") != seller_id or feed_header.get("version") != "2.0":
        return _report(
            header,
            [
                _issue(
                    None,
                    None,
                    "INVALID_HEADER",
                    "header.sellerId must be the seller's id and header.version must be '2.0'.",
                )
            ],
            0,
            0,
            0,
        ), True
    issues = []
    accepted = invalid = 0
    for message in payload["messages"]:
        problems = _check_message(message, state.listings)
        message_id = message.get("messageId") if isinstance(message, dict) else None
        if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id < 1:
            message_id = None
        sku = message.get("sku") if isinstance(message, dict) else None
        sku = sku if isinstance(sku, str) and sku else None
        if problems:
            invalid += 1
            issues += [_issue(message_id, sku, code, text) for code, text in problems]
            continue
        accepted += 1
        for patch in message["patches"]:
            if patch["op"] == "delete":
                state.listings[sku]["quantity"] = 0
                continue
            for entry in patch["value"]:
                state.listings[sku]["quantity"] = entry["quantity"]
    return _report(header, issues, len(payload["messages"]), accepted, invalid), False


def _check_message(message, listings):
    if not isinstance(message, dict):
        return [("4000000", "A message must be a JSON object.")]
    problems = []
    message_id = message.get("messageId")
    if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id < 1:
        problems.append(("4000000", "messageId must be an integer >= 1."))
    sku = message.get("sku")
    if not isinstance(sku, str) or not sku:
        problems.append(("4000000", "sku is required."))
    operation = message.get("operationType")
    if operation != "PATCH":
        problems.append(
            (
                "4000002",
                f"operationType {operation!r} is not supported by the "
                "sandbox (only PATCH of fulfillment_availability).",
            )
        )
        return problems
    if not isinstance(message.get("productType"), str) or not message["productType"]:
        problems.append(("4000000", "productType is required for PATCH."))
    patches = message.get("patches")
    if not isinstance(patches, list) or not patches:
        problems.append(("4000000", "patches must be a non-empty array."))
        return problems
    for patch in patches:
        if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "delete"):
            problems.append(("4000000", "Each patch needs op add, replace or delete."))
            continue
        if patch.get("path") != AVAILABILITY_PATH:
            problems.append(
                (
                    "4000003",
                    f"Patch path {patch.get('path')!r} is not supported by "
                    f"the sandbox (only {AVAILABILITY_PATH}).",
                )
            )
            continue
        if patch["op"] == "delete":
            continue
        value = patch.get("value")
        if not isinstance(value, list) or not value:
            problems.append(("4000000", "fulfillment_availability needs a non-empty value array."))
            continue
        for entry in value:
            quantity = entry.get("quantity") if isinstance(entry, dict) else None
            if not isinstance(entry, dict) or not entry.get("fulfillment_channel_code"):
                problems.append(("4000000", "fulfillment_channel_code is required."))
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
                problems.append(("4000000", "quantity must be an integer >= 0."))
    if isinstance(sku, str) and sku and sku not in listings:
        problems.append(("4000001", f"The SKU '{sku}' does not exist for this seller."))
    return problems


def _issue(message_id, sku, code, text):
    issue = {"code": code, "severity": "ERROR", "message": text}
    if message_id is not None:
        issue["messageId"] = message_id
    if sku:
        issue["sku"] = sku
    return issue


def _report(header, issues, processed, accepted, invalid):
    return {
        "header": header,
        "issues": issues,
        "summary": {
            "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
            "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
            "messagesProcessed": processed,
            "messagesAccepted": accepted,
            "messagesInvalid": invalid,
        },
    }
