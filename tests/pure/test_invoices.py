"""Invoice and credit note uploads (UPLOAD_VAT_INVOICE): the client's checks, pacing and
report reading, and the sandbox's strictness, over real HTTP."""

from decimal import Decimal

import pytest
from test_client import make_client

from amazon_sp import SpApiClient, errors, invoices
from sp_sandbox import SandboxServer, Scenario

ES = "A1RKKUPIHCS9HS"
JP = "A1VC38T7YXB528"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def server():
    scenario = Scenario.from_dict(
        {"marketplaces": ["ES", "DE", "JP"], "orders": [], "start": "2026-11-20T12:00:00Z"}
    )
    with SandboxServer(scenario, port=0, speed=1000.0) as srv:
        invoices.forget_pacers()
        yield srv
    invoices.forget_pacers()


def _order(srv, status="SHIPPED", **extra):
    """An FBA order on Amazon.es (12.10 + 3.63 shipping, 21% VAT included), shipped."""
    return srv.state.add_order(
        {
            "marketplace": "ES",
            "fulfilledBy": "AMAZON",
            "status": status,
            "items": [{"sku": "MUG", "quantity": 2, "unitPrice": "6.05", "shipping": "3.63"}],
            **extra,
        }
    )


def _document(order_id, **values):
    fields = {
        "marketplace_id": ES,
        "invoice_number": "INV/2026/00001",
        "document_type": invoices.INVOICE,
        "total_amount": Decimal("15.73"),
        "total_vat_amount": Decimal("2.73"),
        "pdf": PDF,
        "order_id": order_id,
    }
    fields.update(values)
    return invoices.VatInvoice(**fields)


def _result(client, srv, feed_id):
    api = invoices.InvoicesApi(client)
    srv.state.advance(120)
    result = api.result(feed_id)
    assert result is not None
    return result


def test_invoice_and_credit_note_accepted_with_their_options(server):
    order_id = _order(server)
    with make_client(server) as client:
        api = invoices.InvoicesApi(client)
        sent = api.upload(_document(order_id))
        credit = api.upload(
            _document(
                order_id,
                invoice_number="RINV/2026/00001",
                document_type=invoices.CREDIT_NOTE,
                total_amount=Decimal("6.05"),
                total_vat_amount=Decimal("1.05"),
                transaction_id="amzn1-refund-0001",
            )
        )
        assert sent.feed_type == "UPLOAD_VAT_INVOICE" and sent.marketplace_ids == (ES,)
        invoice_result = _result(client, server, sent.feed_id)
        credit_result = _result(client, server, credit.feed_id)
    assert invoice_result.accepted and not invoice_result.message
    assert credit_result.accepted, credit_result.message
    stored = server.state.invoices
    assert [(i["documentType"], i["totalAmount"], i["totalVATAmount"]) for i in stored] == [
        ("Invoice", "15.73", "2.73"),
        ("CreditNote", "6.05", "1.05"),
    ]
    assert stored[1]["transactionId"] == "amzn1-refund-0001"
    assert stored[0]["invoiceNumber"] == "INV/2026/00001" and stored[0]["orderId"] == order_id
    feed = server.state.feeds[sent.feed_id]
    assert feed["feedOptions"] == {
        "metadata:OrderId": order_id,
        "metadata:InvoiceNumber": "INV/2026/00001",
        "metadata:DocumentType": "Invoice",
        "metadata:TotalAmount": "15.73",
        "metadata:TotalVATAmount": "2.73",
    }
    assert server.state.documents[feed["input"]]["contentType"] == "application/pdf"


def test_amounts_that_do_not_match_amazon_are_refused_with_its_message(server):
    order_id = _order(server)
    with make_client(server) as client:
        api = invoices.InvoicesApi(client)
        wrong_total = api.upload(_document(order_id, total_amount=Decimal("15.74")))
        wrong_vat = api.upload(
            _document(order_id, invoice_number="INV/2026/00002", total_vat_amount=Decimal("2.70"))
        )
        first = _result(client, server, wrong_total.feed_id)
        second = _result(client, server, wrong_vat.feed_id)
    assert not first.accepted and first.code == "TotalAmountMismatch"
    assert "15.74" in first.message and "15.73" in first.message
    assert not second.accepted and second.code == "TotalVATAmountMismatch"
    assert server.state.invoices == []


def test_sandbox_refuses_missing_options_non_pdf_and_unshipped_orders(server):
    """The feed's report says why (Amazon's codes), whatever a client sends."""
    shipped, unshipped = _order(server), _order(server, status="PENDING")
    with make_client(server) as client:
        feeds = client.feeds

        def send(options, content=PDF, content_type="application/pdf"):
            document_id, url = feeds.create_document(content_type)
            feeds.upload_document(url, content, content_type)
            response = client._call(
                client._feeds,
                "createFeed",
                feeds._raw,
                "POST",
                "/feeds/2021-06-30/feeds",
                data={
                    "feedType": "UPLOAD_VAT_INVOICE",
                    "marketplaceIds": [ES],
                    "inputFeedDocumentId": document_id,
                    "feedOptions": options,
                },
            )
            invoices.forget_pacers()
            return _result(client, server, response.body["feedId"])

        base = {
            "metadata:OrderId": shipped,
            "metadata:InvoiceNumber": "INV/1",
            "metadata:DocumentType": "Invoice",
        }
        no_number = send({k: v for k, v in base.items() if k != "metadata:InvoiceNumber"})
        credit = send({**base, "metadata:DocumentType": "CreditNote"})
        bad_type = send({**base, "metadata:DocumentType": "Receipt"})
        not_pdf = send(base, content=b"<html>invoice</html>")
        html_type = send(base, content_type="text/html")
        bad_chars = send({**base, "metadata:InvoiceNumber": "INV.1"})
        early = send({**base, "metadata:OrderId": unshipped})
    assert (no_number.code, no_number.message) == (
        "79513",
        "[79513] Please provide metadata:InvoiceNumber",
    )
    assert credit.code == "79513" and "metadata:TransactionId" in credit.message
    assert bad_type.code == "79531" and "Receipt" in bad_type.message
    assert not_pdf.code == "79503" and html_type.code == "79503"
    assert bad_chars.code == "InvalidCharacters" and "INV.1" in bad_chars.message
    assert early.code == "79517"
    assert not any(r.accepted for r in (no_number, credit, bad_type, not_pdf, bad_chars, early))


def test_client_refuses_before_sending(server):
    order_id = _order(server)
    with make_client(server) as client:
        api = invoices.InvoicesApi(client)
        cases = [
            (_document(order_id, marketplace_id=JP), "does not take invoice uploads"),
            (_document(order_id, pdf=b"<html></html>"), "not a PDF"),
            (_document(order_id, invoice_number="INV.1"), "refuses"),
            (_document(None), "order id or a shipping id"),
            (_document(order_id, total_amount=Decimal("-1")), "negative"),
        ]
        for document, message in cases:
            with pytest.raises(invoices.InvoiceError, match=message):
                api.upload(document)
    assert server.state.stats["calls"].get("createFeed", 0) == 0


def test_uploads_are_paced_one_per_three_seconds_scaled_by_the_sandbox_speed(server):
    """Amazon takes one invoice every three seconds; the sandbox (speed 1000) says so in
    its rate headers, so the client waits 3 ms before each next createFeed. Its clock only
    moves when it sleeps: the waits are exact whatever the machine's speed."""
    order_id = _order(server)
    now, sleeps = [0.0], []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    client = SpApiClient(make_client(server).config, clock=lambda: now[0], sleep=sleep)
    with client:
        api = invoices.InvoicesApi(client)
        for n in range(4):
            api.upload(_document(order_id, invoice_number=f"INV/{n}"))
    assert sleeps == pytest.approx([0.003] * 3)
    assert server.state.stats["calls"]["createFeed"] >= 4
    assert len(server.state.feeds) == 4


def test_sandbox_throttles_invoice_uploads_beyond_its_pace(server):
    order_id = _order(server)
    bucket = server.rate_limiter._bucket("UPLOAD_VAT_INVOICE")
    bucket.rate = 1e-9  # no refill during the test
    bucket.fill(0)
    with make_client(server, max_attempts=1) as client:
        with pytest.raises(errors.SpApiThrottledError):
            client._call(
                client._feeds,
                "createFeed",
                client.feeds._raw,
                "POST",
                "/feeds/2021-06-30/feeds",
                data={
                    "feedType": "UPLOAD_VAT_INVOICE",
                    "marketplaceIds": [ES],
                    "inputFeedDocumentId": client.feeds.create_document("application/pdf")[0],
                    "feedOptions": {"metadata:OrderId": order_id},
                },
            )
        # other feed types are not held by the invoice pace
        assert client.feeds.create(
            "JSON_LISTINGS_FEED", [ES], client.feeds.create_document("application/json")[0]
        )


def test_lost_createfeed_answer_is_not_resent(server):
    order_id = _order(server)
    server.faults.add("createFeed", "500", count=1)
    with make_client(server) as client:
        with pytest.raises(errors.SpApiServerError) as caught:
            invoices.InvoicesApi(client).upload(_document(order_id))
    assert caught.value.outcome_unknown
    assert server.state.stats["calls"]["createFeed"] == 1


def test_processing_report_parsing():
    ok = invoices.parse_report(
        b"<AmazonEnvelope><Message><ProcessingReport><ProcessingSummary>"
        b"<MessagesWithError>0</MessagesWithError></ProcessingSummary></ProcessingReport>"
        b"</Message></AmazonEnvelope>",
        "1",
        "DONE",
    )
    assert ok.accepted and ok.code is None
    fatal = invoices.parse_report(
        b"<AmazonEnvelope><ProcessingReport/></AmazonEnvelope>", "2", "FATAL"
    )
    assert not fatal.accepted and "FATAL" in fatal.message
    with pytest.raises(errors.SpApiResponseError):
        invoices.parse_report(b"not xml", "3", "DONE")
    with pytest.raises(errors.SpApiResponseError):
        invoices.parse_report(b"<Other/>", "3", "DONE")


def test_sandbox_refuses_a_duplicate_and_credit_beyond_the_order(server):
    order_id = _order(server)
    with make_client(server) as client:
        api = invoices.InvoicesApi(client)
        first = api.upload(_document(order_id))
        again = api.upload(_document(order_id))
        credits = [
            api.upload(
                _document(
                    order_id,
                    invoice_number=f"RINV/{n}",
                    document_type=invoices.CREDIT_NOTE,
                    total_amount=Decimal(total),
                    total_vat_amount=Decimal(vat),
                    transaction_id=f"refund-{n}",
                )
            )
            for n, (total, vat) in enumerate([("10.00", "1.73"), ("5.74", "1.00")])
        ]
        results = [_result(client, server, sent.feed_id) for sent in (first, again, *credits)]
    assert results[0].accepted
    assert results[1].code == "DuplicateInvoice"
    assert results[2].accepted, results[2].message
    # 15.73 paid, 10.00 credited: 5.73 left, not 5.74
    assert results[3].code == "TotalAmountMismatch" and "5.73" in results[3].message
