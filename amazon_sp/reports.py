"""Reports API 2021-06-30, typed, and the FBA customer returns report.

``client.reports`` (a :class:`ReportsApi`)::

    report_id = client.reports.create(CUSTOMER_RETURNS, [marketplace_id], start, end)
    status = client.reports.wait(report_id, max_seconds=120)  # polls getReport
    if status.is_done:
        rows = parse_customer_returns(client.reports.download(status))

``wait`` polls ``getReport`` until Amazon reports a final status (DONE, CANCELLED, FATAL):
the pace is the operation's rate limit (2 requests/s, burst 15; the client's token bucket),
nothing else is slept. It gives up after ``max_seconds`` (or before a poll would wait past
the client's deadline) and returns the pending status, for the caller to come back to the
same report later. Amazon CANCELS a report that has no
data for the period: :attr:`ReportStatus.is_empty`.

The document is fetched from its presigned URL in one place, :meth:`ReportsApi._fetch`,
with the client's safe download (``documents.fetch_document``).
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
from dataclasses import dataclass
from datetime import datetime

from sp_api.base.helpers import fill_query_params

from . import documents, errors
from .parsing import format_datetime, parse_datetime

REPORTS_PATH = "/reports/2021-06-30"
CUSTOMER_RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
PENDING = ("IN_QUEUE", "IN_PROGRESS")
FINAL = ("DONE", "CANCELLED", "FATAL")
# The columns of the FBA customer returns report, in Amazon's order.
RETURN_COLUMNS = (
    "return-date",
    "order-id",
    "sku",
    "asin",
    "fnsku",
    "product-name",
    "quantity",
    "fulfillment-center-id",
    "detailed-disposition",
    "reason",
    "status",
    "license-plate-number",
    "customer-comments",
)
REQUIRED_COLUMNS = ("return-date", "order-id", "sku", "quantity", "detailed-disposition")
# Dispositions of a returned unit Amazon puts back in sellable stock.
SELLABLE_DISPOSITIONS = ("SELLABLE",)


class ReportError(ValueError):
    """A report document that cannot be read (bad GZIP, columns missing, bad values)."""


@dataclass(frozen=True)
class ReportStatus:
    """getReport, typed. Dates are naive UTC."""

    report_id: str
    processing_status: str
    report_type: str | None = None
    marketplace_ids: tuple[str, ...] = ()
    created_time: datetime | None = None
    data_start_time: datetime | None = None
    data_end_time: datetime | None = None
    document_id: str | None = None

    @property
    def is_pending(self):
        return self.processing_status in PENDING

    @property
    def is_done(self):
        return self.processing_status == "DONE"

    @property
    def is_empty(self):
        """Amazon cancelled it: no data for the period (or cancelled by the seller)."""
        return self.processing_status == "CANCELLED"

    @property
    def is_fatal(self):
        return self.processing_status == "FATAL"


@dataclass(frozen=True)
class CustomerReturn:
    """One row of the FBA customer returns report (one or more units of one SKU)."""

    return_date: datetime
    order_id: str
    sku: str
    quantity: int
    detailed_disposition: str
    asin: str | None = None
    fnsku: str | None = None
    product_name: str | None = None
    fulfillment_center_id: str | None = None
    reason: str | None = None
    status: str | None = None
    license_plate_number: str | None = None
    customer_comments: str | None = None

    @property
    def sellable(self):
        return self.detailed_disposition.upper() in SELLABLE_DISPOSITIONS

    @property
    def key(self):
        """What identifies this return at Amazon: its license plate number, else the
        order, SKU and return date."""
        if self.license_plate_number:
            return f"LPN:{self.license_plate_number}"
        return f"{self.order_id}|{self.sku}|{format_datetime(self.return_date)}"


def _date(body, key, operation="getReport"):
    value = body.get(key)
    if value in (None, ""):
        return None
    try:
        return parse_datetime(value)
    except (TypeError, ValueError):
        raise errors.SpApiResponseError(
            f"unparseable {key} {value!r}", operation=operation
        ) from None


def report_status(body):
    """A getReport body -> :class:`ReportStatus`."""
    errors.require_fields(body, ("reportId", "processingStatus"), "getReport")
    marketplaces = body.get("marketplaceIds")
    return ReportStatus(
        report_id=str(body["reportId"]),
        processing_status=str(body["processingStatus"]),
        report_type=body.get("reportType"),
        marketplace_ids=tuple(marketplaces) if isinstance(marketplaces, list) else (),
        created_time=_date(body, "createdTime"),
        data_start_time=_date(body, "dataStartTime"),
        data_end_time=_date(body, "dataEndTime"),
        document_id=body.get("reportDocumentId") or None,
    )


def decompress(content, compression):
    if not compression:
        return content
    if compression.upper() != "GZIP":
        raise ReportError(f"unknown compression {compression!r}")
    try:
        return gzip.decompress(content)
    except (OSError, EOFError) as exc:
        raise ReportError(f"document is not valid GZIP: {exc}") from None


def parse_customer_returns(content):
    """The tab-separated FBA customer returns report (bytes or str) -> [CustomerReturn].

    The header row names the columns (any order; unknown columns ignored). Text is UTF-8
    (a BOM, and Windows-1252 from older Amazon documents, are accepted).

    :raise ReportError: a required column is missing or a row has an unreadable value
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            content = content.decode("cp1252")
    reader = csv.reader(io.StringIO(content), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header is None:
        return []
    header = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ReportError(f"the returns report lacks column(s) {', '.join(missing)}")
    index = {name: header.index(name) for name in RETURN_COLUMNS if name in header}
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue

        def cell(name, values=values):
            position = index.get(name)
            if position is None or position >= len(values):
                return None
            return values[position].strip() or None

        try:
            when = parse_datetime(cell("return-date") or "")
            quantity = int(cell("quantity") or "")
        except (TypeError, ValueError):
            raise ReportError(f"line {number}: unreadable return-date or quantity") from None
        order_id, sku = cell("order-id"), cell("sku")
        disposition = cell("detailed-disposition")
        if not order_id or not sku or not disposition or quantity < 1:
            raise ReportError(f"line {number}: order-id, sku, disposition or quantity missing")
        rows.append(
            CustomerReturn(
                return_date=when,
                order_id=order_id,
                sku=sku,
                quantity=quantity,
                detailed_disposition=disposition.upper(),
                asin=cell("asin"),
                fnsku=cell("fnsku"),
                product_name=cell("product-name"),
                fulfillment_center_id=cell("fulfillment-center-id"),
                reason=cell("reason"),
                status=cell("status"),
                license_plate_number=cell("license-plate-number"),
                customer_comments=cell("customer-comments"),
            )
        )
    return rows


class ReportsApi:
    """The Reports API on one :class:`~.client.SpApiClient` (same thread rules)."""

    def __init__(self, client):
        self._client = client

    def __repr__(self):
        return f"ReportsApi({self._client!r})"

    def _send(self, operation, method, path, data=None):
        client = self._client
        api = client._reports

        def call():
            if method == "GET":
                return api._request(path, params={"method": method})
            return api._request(path, params={"method": method}, data=data)

        return client._call(api, operation, functools.partial(call))

    def create(self, report_type, marketplace_ids, start=None, end=None, options=None):
        """createReport -> report id. Retried like a read: a duplicate report is harmless."""
        body = {"reportType": report_type, "marketplaceIds": list(marketplace_ids)}
        if start is not None:
            body["dataStartTime"] = format_datetime(start)
        if end is not None:
            body["dataEndTime"] = format_datetime(end)
        if options:
            body["reportOptions"] = {str(k): str(v) for k, v in options.items()}
        response = self._send("createReport", "POST", f"{REPORTS_PATH}/reports", body)
        report_id = response.body.get("reportId")
        if not report_id:
            raise errors.SpApiResponseError("missing reportId", operation="createReport")
        return str(report_id)

    def get(self, report_id):
        """getReport -> :class:`ReportStatus`."""
        path = fill_query_params(f"{REPORTS_PATH}/reports/{{}}", report_id)
        return report_status(self._send("getReport", "GET", path).body)

    def wait(self, report_id, max_seconds=300.0):
        """Poll getReport until a final status, or until ``max_seconds`` have passed or the
        next poll would wait for its rate limit past the client's deadline (then the last,
        pending status is returned: come back to the same report later). The rate limiter
        paces the polls."""
        client = self._client
        deadline = client._clock() + max_seconds
        while True:
            status = self.get(report_id)
            if not status.is_pending or client._clock() >= deadline:
                return status
            if client._out_of_time("getReport", client.pacing_wait("getReport"), None):
                return status

    def get_document(self, document_id):
        """getReportDocument -> Amazon's JSON (``url``, ``compressionAlgorithm``)."""
        path = fill_query_params(f"{REPORTS_PATH}/documents/{{}}", document_id)
        body = self._send("getReportDocument", "GET", path).body
        if not body.get("url"):
            raise errors.SpApiResponseError("missing url", operation="getReportDocument")
        return body

    def download(self, status):
        """The content of a DONE report (``status``: its :class:`ReportStatus`), GZIP undone.

        :raise ValueError: the report has no document (not DONE)
        :raise ReportError: the document is not valid GZIP
        """
        if not status.document_id:
            raise ValueError(f"report {status.report_id} has no document")
        document = self.get_document(status.document_id)
        return self._fetch(document["url"], document.get("compressionAlgorithm"))

    def _fetch(self, url, compression):
        """The content at a presigned document URL, GZIP undone: Amazon's storage over https
        only, within the client's size caps (``documents.fetch_document``), storage errors
        retried. Broken GZIP is a :class:`ReportError`; a refused URL or size, a
        ``documents.DocumentRefusedError``."""
        client = self._client
        fetch = functools.partial(
            documents.fetch_document,
            client._http,
            url,
            compression,
            client.config.document_limits,
            operation="downloadReportDocument",
        )
        try:
            return client.feeds._retrying("downloadReportDocument", fetch)
        except documents.DocumentEncodingError as exc:
            raise ReportError(f"document is not valid GZIP: {exc}") from None

    def customer_returns(self, marketplace_ids, start, end, max_seconds=300.0, report_id=None):
        """Create (or, with ``report_id``, come back to) the FBA customer returns report of
        [start, end] -> ``(ReportStatus, [CustomerReturn] or None)``: rows when DONE, ``[]``
        when Amazon cancelled it (no returns), None while it is still pending.

        :raise errors.SpApiResponseError: Amazon ended the report FATAL
        :raise ReportError: the document cannot be read
        """
        if report_id is None:
            report_id = self.create(CUSTOMER_RETURNS, marketplace_ids, start, end)
        status = self.wait(report_id, max_seconds=max_seconds)
        if status.is_pending:
            return status, None
        if status.is_empty:
            return status, []
        if status.is_fatal:
            raise errors.SpApiResponseError(
                f"Amazon could not produce report {report_id} (FATAL)", operation="getReport"
            )
        return status, parse_customer_returns(self.download(status))
