"""VAT invoices and credit notes uploaded to Amazon (Feeds API, ``UPLOAD_VAT_INVOICE``).

One feed per document: the PDF is the feed document (``application/pdf``) and what Amazon
needs to file it travels as the feed's ``feedOptions`` (``metadata:OrderId`` or
``metadata:ShippingId``, ``metadata:InvoiceNumber``, ``metadata:DocumentType``,
``metadata:TotalAmount``, ``metadata:TotalVATAmount``, ``metadata:TransactionId`` for a
credit note)::

    api = invoices.InvoicesApi(client)
    sent = api.upload(invoices.VatInvoice(marketplace_id=..., order_id=..., ...))
    result = api.result(sent.feed_id)  # None while Amazon processes it, else InvoiceResult

Amazon allows one invoice upload every three seconds per seller: :meth:`InvoicesApi.upload`
waits for its turn (a bucket of its own, besides createFeed's). The feed's processing
report (Amazon's XML ``ProcessingReport``) says whether the document was accepted and, if
not, why. Only EU marketplaces (and the UK) take this feed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from xml.etree import ElementTree

from . import errors, ratelimit
from .feeds import FEEDS_PATH, SubmittedFeed

FEED_TYPE = "UPLOAD_VAT_INVOICE"
CONTENT_TYPE = "application/pdf"
INVOICE = "Invoice"
CREDIT_NOTE = "CreditNote"
DOCUMENT_TYPES = (INVOICE, CREDIT_NOTE)

# The marketplaces Amazon takes UPLOAD_VAT_INVOICE on (its "upload invoices" guide):
# Spain, UK, France, Germany, Italy, Netherlands, Poland, Sweden.
MARKETPLACES = {
    "A1RKKUPIHCS9HS": "ES",
    "A1F83G8C2ARO7P": "UK",
    "A13V1IB3VIYZZH": "FR",
    "A1PA6795UKMFR9": "DE",
    "APJ6JRA9NG5V4": "IT",
    "A1805IZSGTT6HS": "NL",
    "A1C3SOZRARQ6R3": "PL",
    "A2NODRKZP88ZB9": "SE",
}

# "one invoice upload every three seconds" (Amazon's invoicing feed documentation)
UPLOAD_INTERVAL = 3.0
# Characters Amazon accepts in an option value (it trims extra spaces). Amounts are
# decimal numbers with a dot and two decimals.
_ALLOWED = re.compile(r"^[A-Za-z0-9 ,/\\\-_;:#]+$")
_AMOUNT = re.compile(r"^\d+\.\d{2}$")
PDF_MAGIC = b"%PDF-"

OPTION_ORDER = "metadata:OrderId"
OPTION_SHIPPING = "metadata:ShippingId"
OPTION_NUMBER = "metadata:InvoiceNumber"
OPTION_TYPE = "metadata:DocumentType"
OPTION_TOTAL = "metadata:TotalAmount"
OPTION_VAT = "metadata:TotalVATAmount"
OPTION_TRANSACTION = "metadata:TransactionId"


class InvoiceError(ValueError):
    """The document cannot be sent as it is (nothing was sent): the text says why."""


@dataclass(frozen=True)
class VatInvoice:
    """One document to upload. Amounts are Decimal, VAT included, positive for credit
    notes too (``document_type`` says which way the money goes)."""

    marketplace_id: str
    invoice_number: str
    document_type: str
    total_amount: Decimal
    total_vat_amount: Decimal
    pdf: bytes
    order_id: str | None = None
    shipping_id: str | None = None  # Amazon's shipment id, when known (preferred by Amazon)
    transaction_id: str | None = None  # credit notes: Amazon's refund transaction


@dataclass(frozen=True)
class InvoiceResult:
    """What Amazon's processing report says of one uploaded document."""

    feed_id: str
    processing_status: str  # DONE, FATAL or CANCELLED
    accepted: bool
    code: str | None = None  # Amazon's message code of the first error (e.g. 79513)
    message: str = ""  # Amazon's description(s) of the error(s), one per line


def format_amount(value):
    """Decimal (or str/int) -> Amazon's two-decimal text; :raise InvoiceError: negative or
    not a number."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise InvoiceError(f"{value!r} is not an amount") from None
    if amount < 0:
        raise InvoiceError(f"amount {amount} is negative: Amazon takes positive amounts")
    return f"{amount:.2f}"


def check_value(name, value):
    """An option value as Amazon takes it (trimmed); :raise InvoiceError: empty, or with a
    character Amazon refuses."""
    text = " ".join(str(value or "").split())
    if not text:
        raise InvoiceError(f"{name} is empty")
    if not _ALLOWED.match(text):
        bad = sorted({c for c in text if not _ALLOWED.match(c)})
        raise InvoiceError(
            f"{name} {text!r} has character(s) Amazon refuses: {' '.join(bad)} (allowed: "
            "letters A-Z, digits, spaces and , / \\ - _ ; : #)"
        )
    return text


def check_pdf(content):
    """:raise InvoiceError: ``content`` is not a PDF document."""
    if not isinstance(content, bytes | bytearray) or not bytes(content[:1024]).lstrip().startswith(
        PDF_MAGIC
    ):
        raise InvoiceError("the document is not a PDF file")


def feed_options(invoice):
    """The ``feedOptions`` of ``invoice`` (a :class:`VatInvoice`), checked as Amazon would.

    :raise InvoiceError: an order/shipping id, the number or the type is missing, or a
        value has characters Amazon refuses
    """
    if invoice.marketplace_id not in MARKETPLACES:
        raise InvoiceError(
            f"marketplace {invoice.marketplace_id} does not take invoice uploads (only "
            f"{', '.join(sorted(MARKETPLACES.values()))})"
        )
    if invoice.document_type not in DOCUMENT_TYPES:
        raise InvoiceError(f"document type {invoice.document_type!r} is not Invoice or CreditNote")
    if not invoice.order_id and not invoice.shipping_id:
        raise InvoiceError("an order id or a shipping id is required")
    options = {}
    if invoice.shipping_id:
        options[OPTION_SHIPPING] = check_value("shipping id", invoice.shipping_id)
    if invoice.order_id:
        options[OPTION_ORDER] = check_value("order id", invoice.order_id)
    options[OPTION_NUMBER] = check_value("invoice number", invoice.invoice_number)
    options[OPTION_TYPE] = invoice.document_type
    options[OPTION_TOTAL] = format_amount(invoice.total_amount)
    options[OPTION_VAT] = format_amount(invoice.total_vat_amount)
    # Amazon requires it with a credit note; without it, the feed's report says so (the
    # refund's id may come later: the seller then uploads the credit note again).
    if invoice.transaction_id:
        options[OPTION_TRANSACTION] = check_value("transaction id", invoice.transaction_id)
    return options


def parse_report(content, feed_id, processing_status):
    """Amazon's XML processing report of an invoice feed -> :class:`InvoiceResult`.

    :raise errors.SpApiResponseError: not a processing report
    """
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise errors.SpApiResponseError(
            f"the processing report is not XML: {exc}", operation="getFeedDocument"
        ) from None
    report = root.find(".//ProcessingReport")
    if report is None:
        raise errors.SpApiResponseError(
            "no ProcessingReport in the feed's result document", operation="getFeedDocument"
        )
    problems = []
    for result in report.findall("Result"):
        kind = (result.findtext("ResultCode") or "").strip()
        if kind.lower() != "error":
            continue
        code = (result.findtext("ResultMessageCode") or "").strip() or None
        text = " ".join((result.findtext("ResultDescription") or "").split())
        problems.append((code, text))
    summary = report.find("ProcessingSummary")
    with_error = 0
    if summary is not None:
        try:
            with_error = int((summary.findtext("MessagesWithError") or "0").strip())
        except ValueError:
            with_error = 0
    accepted = not problems and not with_error and processing_status == "DONE"
    if not accepted and not problems:
        problems.append((None, f"Amazon did not accept the document ({processing_status})"))
    return InvoiceResult(
        feed_id=feed_id,
        processing_status=processing_status,
        accepted=accepted,
        code=problems[0][0] if problems else None,
        message="\n".join(f"[{code}] {text}" if code else text for code, text in problems),
    )


_PACERS = {}
_PACERS_LOCK = threading.Lock()


def _pacer(client):
    """The seller's invoice-upload bucket (process-wide, like the operation buckets)."""
    key = (client.config.endpoint, client._seller_key)
    with _PACERS_LOCK:
        bucket = _PACERS.get(key)
        if bucket is None:
            bucket = ratelimit.TokenBucket(
                1.0 / UPLOAD_INTERVAL, 1, clock=client._clock, sleep=client._sleep
            )
            _PACERS[key] = bucket
        return bucket


def forget_pacers():
    """Drop the upload buckets (tests, benchmarks)."""
    with _PACERS_LOCK:
        _PACERS.clear()


class InvoicesApi:
    """Invoice uploads on one :class:`~.client.SpApiClient` (same thread rules)."""

    def __init__(self, client):
        self._client = client

    def __repr__(self):
        return f"InvoicesApi({self._client!r})"

    def _pace(self):
        """Wait for this seller's next upload slot (not past the client's deadline: out of
        time before createFeed). A time-compressed sandbox reports its operations' rates
        multiplied by its speed: the three seconds shrink alike."""
        client = self._client
        documented = ratelimit.OPERATION_LIMITS["createFeedDocument"][0]
        speed = max(1.0, client.bucket("createFeedDocument").rate / documented)
        bucket = _pacer(client)
        bucket.set_rate(speed / UPLOAD_INTERVAL)
        client.stats.waited += client._acquire(bucket, "createFeed") or 0.0

    def upload(self, invoice):
        """Send ``invoice`` (a :class:`VatInvoice`) as one UPLOAD_VAT_INVOICE feed ->
        :class:`~.feeds.SubmittedFeed`.

        Everything is checked before the first request. createFeed is sent once: an
        answer lost on its way back raises with ``outcome_unknown`` (the feed may exist),
        and the caller must not upload the document again blindly.

        :raise InvoiceError: the document cannot be sent as it is (nothing was sent)
        :raise errors.SpApiError: Amazon refused or could not be reached
        """
        options = feed_options(invoice)
        check_pdf(invoice.pdf)
        feeds = self._client.feeds
        document_id, url = feeds.create_document(CONTENT_TYPE)
        feeds.upload_document(url, bytes(invoice.pdf), CONTENT_TYPE)
        self._pace()
        client = self._client
        response = client._call(
            client._feeds,
            "createFeed",
            feeds._raw,
            "POST",
            f"{FEEDS_PATH}/feeds",
            data={
                "feedType": FEED_TYPE,
                "marketplaceIds": [invoice.marketplace_id],
                "inputFeedDocumentId": document_id,
                "feedOptions": options,
            },
            idempotent=False,
        )
        feed_id = response.body.get("feedId")
        if not feed_id:
            raise errors.SpApiResponseError("missing feedId", operation="createFeed")
        return SubmittedFeed(
            feed_id=str(feed_id),
            document_id=document_id,
            feed_type=FEED_TYPE,
            marketplace_ids=(invoice.marketplace_id,),
        )

    def result(self, feed_id):
        """What Amazon made of an uploaded document: None while it processes the feed,
        else :class:`InvoiceResult` (a cancelled feed, or one finished without a report,
        is not accepted)."""
        status = self._client.feeds.get(feed_id)
        if status.is_pending:
            return None
        if not status.has_report:
            return InvoiceResult(
                feed_id=status.feed_id,
                processing_status=status.processing_status,
                accepted=False,
                message=f"Amazon finished the feed ({status.processing_status}) without a "
                "processing report",
            )
        feeds = self._client.feeds
        content = feeds.download_document(feeds.get_document(status.result_document_id))
        return parse_report(content, status.feed_id, status.processing_status)
