"""Feeds API 2021-06-30: feed documents (presigned-style URLs), feeds and their reports.

A feed goes IN_QUEUE -> IN_PROGRESS -> DONE on the virtual clock (``state.feed_status``); the
first read that finds it DONE processes it (``sp_sandbox.feeds``) and stores its report as a
result document, GZIP-compressed unless ``app.gzip_reports`` is off.
"""

import gzip
import hashlib
import hmac
import json
import uuid
import zlib
from datetime import timedelta

from werkzeug.wrappers import Response

from .. import invoices
from ..feeds import process_feed
from ..values import format_time
from .common import ApiError, Operation, invalid, known_marketplaces, listed

FEEDS = "feeds_2021-06-30"
PROCESSING_STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
FINAL_STATUSES = ("DONE", "FATAL", "CANCELLED")


# --- documents -----------------------------------------------------------------------
def _signature(app, document_id):
    return hmac.new(app.secret, document_id.encode(), hashlib.sha256).hexdigest()


def _new_document(state, content_type, content=None, compression=None):
    document_id = "amzn1.tortuga.4.eu." + uuid.uuid4().hex
    state.documents[document_id] = {
        "contentType": content_type,
        "content": content,
        "compression": compression,
    }
    return document_id


# ``app.document_fault`` (None by default) makes the documents misbehave, for the client's
# download checks: "foreign_host" hands out URLs on a host that is not Amazon's storage,
# "plain_http" URLs on Amazon's storage host over http, "gzip_bomb" serves every GZIP
# document as ``app.document_bomb_bytes`` zero bytes compressed (about 1/1000 of that).
DOCUMENT_FAULTS = (None, "foreign_host", "plain_http", "gzip_bomb")


def _doc_url(app, request, document_id):
    fault = getattr(app, "document_fault", None)
    base = request.host_url
    if fault == "foreign_host":
        base = "https://documents.attacker.example/"
    elif fault == "plain_http":
        base = "http://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/"
    return (
        f"{base}_docs/{document_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Expires=300&X-Amz-Signature={_signature(app, document_id)}"
    )


def _s3_error(status, code, message=None):
    """S3's XML error body (the bare NoSuchKey one has neither prolog nor message)."""
    text = f"<Code>{code}</Code>" + (f"<Message>{message}</Message>" if message else "")
    prolog = '<?xml version="1.0" encoding="UTF-8"?>' if message else ""
    return Response(
        f"{prolog}<Error>{text}</Error>".encode(), status=status, content_type="application/xml"
    )


def document(app, request, document_id):
    """The presigned URL itself (``/_docs/<id>``): PUT uploads a feed, GET downloads."""
    document = app.state.documents.get(document_id)
    if document is None or not hmac.compare_digest(
        request.args.get("X-Amz-Signature", ""), _signature(app, document_id)
    ):
        return _s3_error(403, "AccessDenied", "Access Denied")
    if request.method == "PUT":
        sent = (request.content_type or "").split(";")[0].strip().lower()
        wanted = document["contentType"].split(";")[0].strip().lower()
        if sent != wanted:
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The Content-Type does not match the signed request.",
            )
        with app.state.lock:
            document["content"] = request.get_data()
        return Response(b"", status=200)
    if document["content"] is None:
        return _s3_error(404, "NoSuchKey")
    if getattr(app, "document_fault", None) == "gzip_bomb" and document.get("compression"):
        return Response(
            _gzip_bomb(getattr(app, "document_bomb_bytes", 64 << 20)),
            status=200,
            content_type=document["contentType"],
        )
    return Response(document["content"], status=200, content_type=document["contentType"])


def _gzip_bomb(size):
    """``size`` zero bytes, GZIP-compressed chunk by chunk (never all of them in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    parts = []
    for start in range(0, size, len(zeros)):
        parts.append(packer.compress(zeros[: min(len(zeros), size - start)]))
    parts.append(packer.flush())
    return b"".join(parts)


def create_feed_document(app, request, elements):
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict) or not body.get("contentType"):
        raise invalid("contentType is required.")
    document_id = _new_document(app.state, body["contentType"])
    return 201, {"feedDocumentId": document_id, "url": _doc_url(app, request, document_id)}


def get_feed_document(app, request, elements, document_id):
    document = app.state.documents.get(document_id)
    if document is None:
        raise ApiError(404, "NotFound", "The requested feed document was not found.", document_id)
    result = {"feedDocumentId": document_id, "url": _doc_url(app, request, document_id)}
    if document.get("compression"):
        result["compressionAlgorithm"] = document["compression"]
    return 200, result


# --- feeds ---------------------------------------------------------------------------
def create_feed(app, request, elements):
    state = app.state
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise invalid("The request body is not a valid JSON object.")
    missing = [k for k in ("feedType", "marketplaceIds", "inputFeedDocumentId") if not body.get(k)]
    if missing:
        raise invalid("Missing required field(s).", ", ".join(missing))
    if not isinstance(body["marketplaceIds"], list):
        raise invalid("marketplaceIds must be a list.")
    known_marketplaces(state, body["marketplaceIds"])
    if body["inputFeedDocumentId"] not in state.documents:
        raise invalid("Invalid inputFeedDocumentId.")
    options = body.get("feedOptions")
    if options is not None and not isinstance(options, dict):
        raise invalid("feedOptions must be an object of strings.")
    if body["feedType"] == invoices.FEED_TYPE and not app.rate_limiter.allow(invoices.PLAN):
        raise ApiError(429, "QuotaExceeded", "One invoice upload every three seconds.")
    feed_id = state.new_id(11)
    state.feeds[feed_id] = {
        "feedId": feed_id,
        "feedType": body["feedType"],
        "marketplaceIds": list(body["marketplaceIds"]),
        "input": body["inputFeedDocumentId"],
        "feedOptions": dict(options or {}),
        "created": state.now(),
        "processingStatus": "IN_QUEUE",
        "result": None,
    }
    return 202, {"feedId": feed_id}


def _process(app, feed):
    state = app.state
    document = state.documents.get(feed["input"], {})
    if feed["feedType"] == invoices.FEED_TYPE:
        raw, fatal = invoices.process(feed, document, state)
        report, content_type = raw.decode(), "text/xml; charset=UTF-8"
    else:
        report, fatal = process_feed(feed, document, state, app.rules.root)
        raw, content_type = json.dumps(report, ensure_ascii=False).encode(), "application/json"
    compression = None
    if app.gzip_reports:
        raw, compression = gzip.compress(raw), "GZIP"
    queued = state.FEED_QUEUE_SECONDS + state.FEED_PROCESS_SECONDS
    feed["ended"] = feed["created"] + timedelta(seconds=queued / state.speed)
    feed["processingStatus"] = "FATAL" if fatal else "DONE"
    feed["result"] = _new_document(state, content_type, raw, compression)
    feed["report"] = report


def _feed(app, feed_id):
    """The feed as getFeed renders it (processed on the first read that finds it DONE)."""
    state = app.state
    feed = state.feeds.get(feed_id)
    if feed is None:
        raise ApiError(404, "NotFound", "The requested feed was not found.", feed_id)
    status = state.feed_status(feed)
    if status == "DONE" and feed["processingStatus"] != "DONE":
        _process(app, feed)
    final = feed["processingStatus"] in FINAL_STATUSES
    result = {
        "feedId": feed_id,
        "feedType": feed["feedType"],
        "marketplaceIds": feed["marketplaceIds"],
        "createdTime": format_time(feed["created"]),
        "processingStatus": feed["processingStatus"] if final else status,
    }
    queued = timedelta(seconds=state.FEED_QUEUE_SECONDS / state.speed)
    if result["processingStatus"] not in ("IN_QUEUE", "CANCELLED"):
        result["processingStartTime"] = format_time(feed["created"] + queued)
    if feed.get("ended"):
        result["processingEndTime"] = format_time(feed["ended"])
    if feed["result"]:
        result["resultFeedDocumentId"] = feed["result"]
    return result


def get_feed(app, request, elements, feed_id):
    return 200, _feed(app, feed_id)


def get_feeds(app, request, elements):
    types = listed(request, "feedTypes")
    statuses = listed(request, "processingStatuses", PROCESSING_STATUSES)
    feeds = [_feed(app, feed_id) for feed_id in list(app.state.feeds)]
    feeds = [
        f
        for f in feeds
        if (not types or f["feedType"] in types)
        and (not statuses or f["processingStatus"] in statuses)
    ]
    return 200, {"feeds": feeds}


def cancel_feed(app, request, elements, feed_id):
    if _feed(app, feed_id)["processingStatus"] != "IN_QUEUE":
        raise invalid("Only feeds IN_QUEUE can be cancelled.")
    app.state.feeds[feed_id]["processingStatus"] = "CANCELLED"
    return 200, None


_FEEDS = "/feeds/2021-06-30"
ROUTES = [
    Operation(f"{_FEEDS}/documents", "POST", FEEDS, "createFeedDocument", create_feed_document),
    Operation(
        f"{_FEEDS}/documents/<document_id>", "GET", FEEDS, "getFeedDocument", get_feed_document
    ),
    Operation(f"{_FEEDS}/feeds", "POST", FEEDS, "createFeed", create_feed),
    Operation(f"{_FEEDS}/feeds", "GET", FEEDS, "getFeeds", get_feeds),
    Operation(f"{_FEEDS}/feeds/<feed_id>", "GET", FEEDS, "getFeed", get_feed),
    Operation(f"{_FEEDS}/feeds/<feed_id>", "DELETE", FEEDS, "cancelFeed", cancel_feed),
]
