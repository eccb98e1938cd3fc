"""UPLOAD_VAT_INVOICE feeds: invoices and credit notes a seller uploads (EU marketplaces).

Checked as Amazon documents it: one invoicing marketplace, a PDF document, the required
``feedOptions`` (``metadata:InvoiceNumber``, ``metadata:DocumentType`` Invoice/CreditNote,
``metadata:OrderId`` or ``metadata:ShippingId``, ``metadata:TransactionId`` for a credit
note), only the characters Amazon accepts in the values, an order of the seller that has
shipped, and ``metadata:TotalAmount`` / ``metadata:TotalVATAmount`` (when given) equal to
Amazon's own figures to two decimals: the order's total and VAT for an invoice; for a credit
note, no more than what is left to credit on the order. The verdict is Amazon's XML
``ProcessingReport``; documents accepted are kept in ``state.invoices``.

Amazon's documented message codes are used where it documents one (795xx); the amount,
character, order-state and duplicate refusals carry the sandbox's own named codes.
"""

import re
from decimal import Decimal, InvalidOperation
from xml.sax.saxutils import escape

from .render import order_total
from .timeline import view_at
from .values import format_time

FEED_TYPE = "UPLOAD_VAT_INVOICE"
PLAN = FEED_TYPE  # the rate-limiter plan: one upload every three seconds
MARKETPLACES = (
    "A1RKKUPIHCS9HS",  # ES
    "A1F83G8C2ARO7P",  # UK
    "A13V1IB3VIYZZH",  # FR
    "A1PA6795UKMFR9",  # DE
    "APJ6JRA9NG5V4",  # IT
    "A1805IZSGTT6HS",  # NL
    "A1C3SOZRARQ6R3",  # PL
    "A2NODRKZP88ZB9",  # SE
)
ALLOWED = re.compile(r"^[A-Za-z0-9 ,/\\\-_;:#]*$")
AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")
CENT = Decimal("0.01")

ORDER_ID = "metadata:OrderId"
SHIPPING_ID = "metadata:ShippingId"
NUMBER = "metadata:InvoiceNumber"
DOC_TYPE = "metadata:DocumentType"
TOTAL = "metadata:TotalAmount"
VAT = "metadata:TotalVATAmount"
TRANSACTION = "metadata:TransactionId"
TEXT_OPTIONS = (ORDER_ID, SHIPPING_ID, NUMBER, DOC_TYPE, TRANSACTION)
SHIPPED = ("SHIPPED", "PARTIALLY_SHIPPED")


def process(feed, document, state):
    """Return (XML report bytes, fatal flag); records an accepted document."""
    options = {
        str(key): " ".join(str(value).split())
        for key, value in (feed.get("feedOptions") or {}).items()
    }
    problems = _problems(feed, document, options, state)
    if not problems:
        state.invoices.append(
            {
                "feedId": feed["feedId"],
                "marketplaceId": feed["marketplaceIds"][0],
                "orderId": options.get(ORDER_ID),
                "shippingId": options.get(SHIPPING_ID),
                "invoiceNumber": options[NUMBER],
                "documentType": options[DOC_TYPE],
                "totalAmount": options.get(TOTAL),
                "totalVATAmount": options.get(VAT),
                "transactionId": options.get(TRANSACTION),
                "size": len(document.get("content") or b""),
                "received": format_time(state.now()),
            }
        )
    return report(state.scenario.seller.get("sellerId", ""), feed["feedId"], problems), False


def _problems(feed, document, options, state):
    """[(code, description)] of everything Amazon would refuse, first the documented."""
    order_id, shipping_id = options.get(ORDER_ID), options.get(SHIPPING_ID)
    number, kind = options.get(NUMBER), options.get(DOC_TYPE)
    where = f"shipmentId {shipping_id}, orderId {order_id} and invoiceNumber {number}"
    marketplaces = feed.get("marketplaceIds") or []
    if len(marketplaces) != 1 or marketplaces[0] not in MARKETPLACES:
        return [("79523", "Please provide only one valid marketplace while uploading an invoice.")]
    missing = [key for key in (NUMBER, DOC_TYPE) if not options.get(key)]
    if not order_id and not shipping_id:
        missing.append(f"{ORDER_ID} or {SHIPPING_ID}")
    if kind == "CreditNote" and not options.get(TRANSACTION):
        missing.append(TRANSACTION)
    if missing:
        return [("79513", f"Please provide {', '.join(missing)}")]
    if kind not in ("Invoice", "CreditNote"):
        return [("79531", f"The document type {kind} is not supported")]
    content = document.get("content")
    if not content:
        code = "79544" if kind == "CreditNote" else "79540"
        return [
            (code, f"Invoice missing in feed submission. Please provide an invoice for {where}")
        ]
    content_type = (document.get("contentType") or "").split(";")[0].strip().lower()
    if content_type != "application/pdf" or not content[:1024].lstrip().startswith(b"%PDF-"):
        return [("79503", f"Invoice uploaded is not pdf for {where}")]
    problems = [
        (
            "InvalidCharacters",
            f"{key} {value!r} has characters Amazon does not accept (only letters A-Z, digits, "
            "spaces, commas, forward slashes, backslashes, dashes, underscores, semicolons, "
            "colons and #).",
        )
        for key, value in options.items()
        if key in TEXT_OPTIONS and not ALLOWED.match(value)
    ]
    amounts = {}
    for key in (TOTAL, VAT):
        if key in options:
            value = options[key]
            try:
                amounts[key] = Decimal(value) if AMOUNT.match(value) else None
            except InvalidOperation:
                amounts[key] = None
            if amounts[key] is None:
                problems.append(("InvalidAmount", f"{key} {value!r} is not an amount."))
    if problems:
        return problems
    record = _order(state, order_id, shipping_id)
    if record is None:
        return [("79517", f"The order {order_id or shipping_id} does not exist for this seller.")]
    current = view_at(record, state.now())
    if current is None or current.status not in SHIPPED:
        return [
            (
                "79517",
                f"The order {record['orderId']} has not shipped yet: invoices are due after "
                "dispatch.",
            )
        ]
    if record["marketplace"]["id"] != marketplaces[0]:
        return [("79523", "Please provide only one valid marketplace while uploading an invoice.")]
    accepted = [i for i in state.invoices if i["orderId"] == record["orderId"]]
    if any(i["invoiceNumber"] == number and i["documentType"] == kind for i in accepted):
        return [("DuplicateInvoice", f"Invoice number {number} was already uploaded.")]
    total, vat = _expected(record, kind, accepted)
    return _compare(amounts, total, vat, kind)


def _order(state, order_id, shipping_id):
    if shipping_id:
        for record in state.orders.values():
            if any(
                str(p["detail"].get("packageReferenceId")) == shipping_id
                for p in record["packages"]
            ):
                return record
        return None
    return state.orders.get(order_id)


def _expected(record, kind, accepted):
    """Amazon's (total, VAT) for an invoice; the amounts left to credit for a credit note."""
    total = Decimal(order_total(record)).quantize(CENT)
    vat = sum((item["taxTotal"] for item in record["items"]), Decimal(0)).quantize(CENT)
    if kind == "CreditNote":
        credited = [i for i in accepted if i["documentType"] == "CreditNote"]
        total -= sum((Decimal(i["totalAmount"] or 0) for i in credited), Decimal(0))
        vat -= sum((Decimal(i["totalVATAmount"] or 0) for i in credited), Decimal(0))
    return total, vat


def _compare(amounts, total, vat, kind):
    problems = []
    for key, expected, label in ((TOTAL, total, "total amount"), (VAT, vat, "VAT amount")):
        if key not in amounts:
            continue
        given = amounts[key].quantize(CENT)
        if kind == "Invoice" and given != expected:
            problems.append(
                (
                    "TotalAmountMismatch" if key == TOTAL else "TotalVATAmountMismatch",
                    f"The {label} {given} does not match Amazon's {label} {expected} for "
                    "this shipment.",
                )
            )
        elif kind == "CreditNote" and not Decimal(0) <= given <= expected:
            problems.append(
                (
                    "TotalAmountMismatch" if key == TOTAL else "TotalVATAmountMismatch",
                    f"The {label} {given} of the credit note exceeds the {label} {expected} "
                    "left to refund on this order.",
                )
            )
    return problems


def report(seller_id, feed_id, problems):
    """Amazon's XML ProcessingReport of a one-document feed."""
    results = "".join(
        "<Result><MessageID>1</MessageID><ResultCode>Error</ResultCode>"
        f"<ResultMessageCode>{escape(code)}</ResultMessageCode>"
        f"<ResultDescription>{escape(text)}</ResultDescription></Result>"
        for code, text in problems
    )
    failed = 1 if problems else 0
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">'
        f"<Header><DocumentVersion>1.02</DocumentVersion>"
        f"<MerchantIdentifier>{escape(seller_id)}</MerchantIdentifier></Header>"
        "<MessageType>ProcessingReport</MessageType><Message><MessageID>1</MessageID>"
        f"<ProcessingReport><DocumentTransactionID>{escape(feed_id)}</DocumentTransactionID>"
        "<StatusCode>Complete</StatusCode><ProcessingSummary>"
        f"<MessagesProcessed>1</MessagesProcessed><MessagesSuccessful>{1 - failed}"
        f"</MessagesSuccessful><MessagesWithError>{failed}</MessagesWithError>"
        "<MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>"
        f"{results}</ProcessingReport></Message></AmazonEnvelope>"
    ).encode()
