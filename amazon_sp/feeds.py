"""Feeds API 2021-06-30, typed: callers never read Amazon's feed JSON.

``client.feeds`` (a :class:`FeedsApi`)::

    sent = client.feeds.submit_availability(seller_id, marketplace_id, [(sku, qty), ...])
    sent.feed_id, sent.document_id, sent.message_ids  # message n is the n-th (sku, qty)
    status = client.feeds.get(sent.feed_id)  # -> FeedStatus
    if status.has_report:
        report = client.feeds.get_report(status)  # -> listings.FeedReport
        report.results(sent.message_ids)  # {message_id: listings.MessageResult}

createFeed/createFeedDocument/getFeedDocument use the library's generic ``_request``: its
wrappers put their own "path" key into the JSON body (createFeed, createFeedDocument) and
download/upload with a bare httpx client outside our timeout and retry rules.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import httpx
from sp_api.base.helpers import fill_query_params

from . import const, documents, errors, listings, ratelimit
from .parsing import parse_datetime

FEEDS_PATH = "/feeds/2021-06-30"


@dataclass(frozen=True)
class SubmittedFeed:
    """A feed Amazon accepted (createFeed answered)."""

    feed_id: str
    document_id: str  # the input feed document
    feed_type: str
    marketplace_ids: tuple[str, ...]
    message_ids: tuple[int, ...] = ()  # listings feeds: the messageIds sent, in order
    skus: tuple[str, ...] = ()  # listings feeds: the SKU of each message, in the same order


@dataclass(frozen=True)
class FeedStatus:
    """getFeed, typed. Dates are naive UTC."""

    feed_id: str
    processing_status: str  # IN_QUEUE, IN_PROGRESS, DONE, FATAL or CANCELLED
    feed_type: str | None = None
    marketplace_ids: tuple[str, ...] = ()
    created_time: datetime | None = None
    processing_start_time: datetime | None = None
    processing_end_time: datetime | None = None
    result_document_id: str | None = None

    @property
    def is_pending(self):
        """Amazon has not finished it yet (IN_QUEUE, IN_PROGRESS)."""
        return self.processing_status in const.FEED_STATUSES_PENDING

    @property
    def is_cancelled(self):
        return self.processing_status == const.FEED_STATUS_CANCELLED

    @property
    def is_fatal(self):
        return self.processing_status == const.FEED_STATUS_FATAL

    @property
    def has_report(self):
        """Finished, with a processing report to read."""
        return not self.is_pending and bool(self.result_document_id)


def _feed_date(body, key):
    value = body.get(key)
    if value in (None, ""):
        return None
    try:
        return parse_datetime(value)
    except (TypeError, ValueError):
        raise errors.SpApiResponseError(
            f"unparseable {key} {value!r}", operation="getFeed"
        ) from None


def feed_status(body):
    """A getFeed response body -> :class:`FeedStatus` (``feedId`` and
    ``processingStatus`` required)."""
    errors.require_fields(body, ("feedId", "processingStatus"), "getFeed")
    marketplaces = body.get("marketplaceIds")
    return FeedStatus(
        feed_id=str(body["feedId"]),
        processing_status=str(body["processingStatus"]),
        feed_type=body.get("feedType"),
        marketplace_ids=tuple(marketplaces) if isinstance(marketplaces, list) else (),
        created_time=_feed_date(body, "createdTime"),
        processing_start_time=_feed_date(body, "processingStartTime"),
        processing_end_time=_feed_date(body, "processingEndTime"),
        result_document_id=body.get("resultFeedDocumentId") or None,
    )


class FeedsApi:
    """The Feeds API on one :class:`~.client.SpApiClient` (same thread rules)."""

    def __init__(self, client):
        self._client = client

    def __repr__(self):
        return f"FeedsApi({self._client!r})"

    # --- typed -----------------------------------------------------------------------------

    def submit(self, feed_type, marketplace_ids, content, content_type):
        """createFeedDocument + upload + createFeed in one call -> :class:`SubmittedFeed`.

        ``content``: bytes or str (UTF-8). createFeed is retried like any read (a
        duplicate quantity feed is harmless)."""
        document_id, url = self.create_document(content_type)
        self.upload_document(url, content, content_type)
        feed_id = self.create(feed_type, marketplace_ids, document_id)
        return SubmittedFeed(
            feed_id=feed_id,
            document_id=document_id,
            feed_type=feed_type,
            marketplace_ids=tuple(marketplace_ids),
        )

    def submit_availability(self, seller_id, marketplace_id, quantities):
        """The FBM quantities of ``quantities`` (``[(sku, units), ...]``) as one
        JSON_LISTINGS_FEED on ``marketplace_id``; message ``n`` (from 1) is the ``n``-th
        pair, listed in :attr:`SubmittedFeed.message_ids`.

        :raise ValueError: on an empty seller id or SKU, or a quantity that is not a whole
            number of units >= 0, or more pairs than one feed may carry
            (:data:`.const.LISTINGS_FEED_MAX_MESSAGES`: use
            :meth:`submit_availability_feeds`); nothing is sent
        """
        quantities = list(quantities)
        if len(quantities) > const.LISTINGS_FEED_MAX_MESSAGES:
            raise ValueError(
                f"{len(quantities)} quantities exceed one listings feed "
                f"({const.LISTINGS_FEED_MAX_MESSAGES} messages): use submit_availability_feeds"
            )
        return self.submit_availability_feeds(seller_id, marketplace_id, quantities)[0]

    def submit_availability_feeds(self, seller_id, marketplace_id, quantities):
        """Like :meth:`submit_availability`, split into as many JSON_LISTINGS_FEEDs as
        Amazon's cap requires (:data:`.const.LISTINGS_FEED_MAX_MESSAGES` messages each),
        in order -> ``[SubmittedFeed]``. Each feed numbers its messages from 1; its
        ``skus`` give the SKU of each message id. Every chunk is built (and checked) before
        the first is sent."""
        quantities = list(quantities)
        size = const.LISTINGS_FEED_MAX_MESSAGES
        chunks = [quantities[i : i + size] for i in range(0, len(quantities), size)] or [[]]
        feeds = [listings.build_availability_feed(seller_id, chunk) for chunk in chunks]
        submitted = []
        for feed in feeds:
            sent = self.submit(
                const.LISTINGS_FEED_TYPE,
                [marketplace_id],
                listings.encode_feed(feed),
                const.LISTINGS_FEED_CONTENT_TYPE,
            )
            submitted.append(
                SubmittedFeed(
                    feed_id=sent.feed_id,
                    document_id=sent.document_id,
                    feed_type=sent.feed_type,
                    marketplace_ids=sent.marketplace_ids,
                    message_ids=tuple(m["messageId"] for m in feed["messages"]),
                    skus=tuple(m["sku"] for m in feed["messages"]),
                )
            )
        return submitted

    def get(self, feed_id):
        """getFeed -> :class:`FeedStatus`."""
        return feed_status(self.get_raw(feed_id))

    def get_report(self, status):
        """The processing report of a finished feed -> :class:`.listings.FeedReport`.

        ``status``: the feed's :class:`FeedStatus` (its ``result_document_id`` is read and
        its ``processing_status`` given to the report).

        :raise listings.FeedReportError: (a ValueError) the document is not a readable
            processing report (bad GZIP, not JSON, not a report)
        :raise ValueError: the feed has no processing report (pending, or none produced)
        """
        if not status.result_document_id:
            raise ValueError(f"feed {status.feed_id} has no processing report")
        document = self.get_document(status.result_document_id)
        try:
            content = self._download(document, "downloadFeedDocument")
        except documents.DocumentEncodingError as exc:
            raise listings.FeedReportError(exc.summary) from None
        return listings.parse_report(
            listings.decode_report(content),
            status.processing_status,
            feed_id=status.feed_id,
            document_id=status.result_document_id,
        )

    # --- the underlying operations (JSON in, JSON out) ---------------------------------------

    def _raw(self, method, path, *, data=None):
        api = self._client._feeds
        if method == "GET":
            return api._request(path, params={"method": method})
        return api._request(path, params={"method": method}, data=data)

    def _send(self, operation, method, path, data=None):
        client = self._client
        call = functools.partial(self._raw, method, path, data=data)
        return client._call(client._feeds, operation, call)

    def create_document(self, content_type):
        """createFeedDocument -> (feed document id, presigned upload URL)."""
        response = self._send(
            "createFeedDocument",
            "POST",
            f"{FEEDS_PATH}/documents",
            data={"contentType": content_type},
        )
        body = response.body
        if not body.get("feedDocumentId") or not body.get("url"):
            raise errors.SpApiResponseError(
                "missing feedDocumentId/url", operation="createFeedDocument"
            )
        return body["feedDocumentId"], body["url"]

    def upload_document(self, upload_url, content, content_type):
        if isinstance(content, str):
            content = content.encode("utf-8")
        self._plain_http(
            "uploadFeedDocument",
            "PUT",
            upload_url,
            content=content,
            headers={"Content-Type": content_type},
        )

    def create(self, feed_type, marketplace_ids, input_feed_document_id):
        """createFeed -> feed id."""
        response = self._send(
            "createFeed",
            "POST",
            f"{FEEDS_PATH}/feeds",
            data={
                "feedType": feed_type,
                "marketplaceIds": list(marketplace_ids),
                "inputFeedDocumentId": input_feed_document_id,
            },
        )
        if not response.body.get("feedId"):
            raise errors.SpApiResponseError("missing feedId", operation="createFeed")
        return response.body["feedId"]

    def get_raw(self, feed_id):
        """getFeed -> Amazon's JSON (``feedId`` and ``processingStatus`` checked)."""
        client = self._client
        response = client._call(client._feeds, "getFeed", client._feeds.get_feed, feed_id)
        errors.require_fields(response.body, ("feedId", "processingStatus"), "getFeed")
        return response.body

    def get_document(self, document_id):
        """getFeedDocument -> Amazon's JSON (``url``, ``compressionAlgorithm``)."""
        path = fill_query_params(f"{FEEDS_PATH}/documents/{{}}", document_id)
        response = self._send("getFeedDocument", "GET", path)
        if not response.body.get("url"):
            raise errors.SpApiResponseError("missing url", operation="getFeedDocument")
        return response.body

    def download_document(self, document):
        """The content of a feed document (getFeedDocument's JSON), GZIP undone.

        :raise documents.DocumentRefusedError: URL or size refused (see ``documents``)
        :raise errors.SpApiResponseError: the document is not valid GZIP
        """
        try:
            return self._download(document, "downloadFeedDocument")
        except documents.DocumentEncodingError as exc:
            raise errors.SpApiResponseError(exc.summary, operation="downloadFeedDocument") from None

    def _download(self, document, operation):
        """A document's content, GZIP undone, within the client's ``document_limits``
        (``documents.fetch_document``), storage errors retried."""
        client = self._client
        fetch = functools.partial(
            documents.fetch_document,
            client._http,
            document["url"],
            document.get("compressionAlgorithm"),
            client.config.document_limits,
            operation=operation,
        )
        return self._retrying(operation, fetch)

    def _plain_http(self, operation, method, url, **kwargs):
        """Presigned document URLs (checked like downloads): no SP-API headers, no rate
        limit, bounded retries."""
        client = self._client
        documents.check_url(url, client.config.document_limits, operation)

        def send():
            response = client._http.request(method, url, follow_redirects=False, **kwargs)
            if response.status_code >= 500:
                raise errors.SpApiServerError(
                    "document storage error", status=response.status_code, operation=operation
                )
            if response.status_code >= 300:
                raise errors.SpApiError(
                    "document storage refused the request",
                    status=response.status_code,
                    operation=operation,
                )
            return response

        return self._retrying(operation, send)

    def _retrying(self, operation, send):
        """``send()`` retried on storage (5xx) and network errors, with backoff, within the
        client's ``max_attempts``, ``max_retry_seconds`` and deadline (``set_deadline``:
        out of time rather than a retry ending past it)."""
        client = self._client
        deadline = client._clock() + client.config.max_retry_seconds
        attempt = 0
        while True:
            attempt += 1
            try:
                return send()
            except (errors.SpApiServerError, errors.SpApiTransportError) as exc:
                error = exc
            except httpx.HTTPError as exc:
                error = errors.SpApiTransportError(
                    f"{type(exc).__name__}: {exc}", operation=operation
                )
            delay = ratelimit.backoff_delay(attempt - 1, rng=client._rng)
            if attempt < client.config.max_attempts:
                out_of_time = client._out_of_time(operation, delay, deadline, error)
                if out_of_time is not None:
                    raise out_of_time from None
            if attempt >= client.config.max_attempts or client._clock() + delay > deadline:
                raise error
            client.stats.retries += 1
            client._sleep(delay)
