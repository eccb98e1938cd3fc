from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import AmazonAccountingCase

ES = "A1RKKUPIHCS9HS"


class InvoiceUploadCase(AmazonAccountingCase):
    """Amazon orders invoiced in a company with a chart of accounts, their invoices and
    credit notes uploaded to the sandbox (which checks them as Amazon does)."""

    def shipped_order(self, ref, **kwargs):
        """An FBM order synchronized, then shipped on Amazon (invoices are due after)."""
        self.add_order(ref, **kwargs)
        self.sync()
        order = self.amazon_order(ref)
        self.assertTrue(order, f"order {ref} was synchronized")
        self.sandbox.state.set_status(ref, "SHIPPED")
        return order

    def invoice(self, order, post=True):
        invoice = order._create_invoices()
        if post:
            invoice.action_post()
        return invoice

    def credit_note(self, invoice, transaction=None, post=True):
        credit = invoice._reverse_moves(cancel=False)
        credit.amazon_transaction_ref = transaction
        if post:
            credit.action_post()
        return credit

    def upload(self):
        """One run of the invoices cron for the account, then the sandbox's clock moves on
        past its feed processing time (Amazon's verdicts are ready for the next run)."""
        outcome = self.account._upload_invoices(trigger="cron")
        self.sandbox.state.advance(600)
        return outcome.counts

    def created_feeds(self):
        return self.sandbox.state.stats["calls"].get("createFeed", 0)


@tagged("post_install", "-at_install")
class TestInvoiceUpload(InvoiceUploadCase):
    def setUp(self):
        super().setUp()
        self.account.upload_invoices = True

    def test_invoice_and_credit_note_accepted_with_amazons_options(self):
        ref = "171-8000001-0000001"
        order = self.shipped_order(
            ref, items=[{"sku": "MUG-RED", "quantity": 2, "unitPrice": "12.10"}]
        )
        invoice = self.invoice(order)
        self.assertEqual(invoice.amazon_upload_state, "pending")
        with self.assertRaisesRegex(UserError, "cannot be e-mailed.*go to Amazon instead"):
            invoice.action_send_and_print()
        self.assertEqual(self.upload()["created"], 1)
        self.assertEqual(invoice.amazon_upload_state, "pending")
        self.assertTrue(invoice.amazon_upload_feed_ref)
        counts = self.upload()
        self.assertEqual((counts["updated"], counts["created"]), (1, 0))
        self.assertEqual(invoice.amazon_upload_state, "sent")
        self.assertFalse(invoice.amazon_upload_error)
        feed = self.sandbox.state.feeds[invoice.amazon_upload_feed_ref]
        self.assertEqual(
            feed["feedOptions"],
            {
                "metadata:OrderId": ref,
                "metadata:InvoiceNumber": invoice.name,
                "metadata:DocumentType": "Invoice",
                "metadata:TotalAmount": "24.20",
                "metadata:TotalVATAmount": "4.20",
            },
        )
        self.assertEqual(feed["marketplaceIds"], [ES])
        document = self.sandbox.state.documents[feed["input"]]
        self.assertEqual(document["contentType"], "application/pdf")
        self.assertTrue(document["content"].startswith(b"%PDF-"))

        credit = self.credit_note(invoice, transaction="amzn1-refund-8000001")
        self.assertEqual(credit.amazon_upload_state, "pending")
        self.assertEqual(credit.amazon_account_id, self.account)
        self.upload()
        self.upload()
        self.assertEqual(credit.amazon_upload_state, "sent", credit.amazon_upload_error)
        accepted = self.sandbox.state.invoices
        self.assertEqual(
            [(i["documentType"], i["invoiceNumber"], i["totalAmount"]) for i in accepted],
            [("Invoice", invoice.name, "24.20"), ("CreditNote", credit.name, "24.20")],
        )
        self.assertEqual(accepted[1]["transactionId"], "amzn1-refund-8000001")
        self.assertEqual(accepted[1]["totalVATAmount"], "4.20")
        runs = self.env["amazon.sync.run"].search(
            [("account_id", "=", self.account.id), ("kind", "=", "invoices")]
        )
        self.assertEqual(len(runs), 4)
        self.assertIn("accepted by Amazon", runs[0].summary)

        # Never sent twice: later runs, a retry, a reset to draft and a new posting leave
        # Amazon alone.
        sent = self.created_feeds()
        self.upload()
        with self.assertRaisesRegex(UserError, "None of these documents failed"):
            invoice.action_amazon_upload_again()
        invoice.button_draft()
        invoice.action_post()
        self.assertEqual(invoice.amazon_upload_state, "sent")
        self.upload()
        self.assertEqual(self.created_feeds(), sent)
        self.assertEqual(len(self.sandbox.state.invoices), 2)

    def test_total_mismatch_and_missing_option_fail_with_amazons_message(self):
        order = self.shipped_order("171-8000002-0000001")
        invoice = self.invoice(order, post=False)
        invoice.invoice_line_ids[0].price_unit += 1  # no longer Amazon's total
        invoice.action_post()
        other = self.shipped_order("171-8000002-0000002")
        other_invoice = self.invoice(other)
        credit = self.credit_note(other_invoice)  # no refund transaction id
        self.upload()
        # Amazon accepted the invoice of the second order; not the other documents.
        self.upload()
        self.assertEqual(other_invoice.amazon_upload_state, "sent")
        self.assertEqual(invoice.amazon_upload_state, "failed")
        self.assertIn("TotalAmountMismatch", invoice.amazon_upload_error)
        self.assertIn("does not match Amazon's total amount 12.10", invoice.amazon_upload_error)
        self.assertEqual(credit.amazon_upload_state, "failed")
        self.assertEqual(
            credit.amazon_upload_error, "[79513] Please provide metadata:TransactionId"
        )
        # One e-mail to the salesperson for the run, listing both.
        mails = self.account.message_ids.filtered(
            lambda m: m.subject and m.subject.startswith("Amazon refused invoices")
        )
        self.assertEqual(len(mails), 1)
        self.assertIn(invoice.name, mails.body)
        self.assertIn(credit.name, mails.body)
        self.assertEqual(mails.partner_ids, self.salesperson.partner_id)
        # Fixed, and sent again by hand.
        credit.amazon_transaction_ref = "amzn1-refund-8000002"
        credit.action_amazon_upload_again()
        self.assertEqual(credit.amazon_upload_state, "pending")
        self.sandbox.state.advance(600)
        self.upload()
        self.assertEqual(credit.amazon_upload_state, "sent", credit.amazon_upload_error)

    def test_nothing_uploaded_when_the_setting_is_off(self):
        self.account.upload_invoices = False
        order = self.shipped_order("171-8000003-0000001")
        invoice = self.invoice(order)
        self.assertFalse(invoice.amazon_upload_state)
        with self.assertRaisesRegex(UserError, "cannot be e-mailed.*Seller Central"):
            invoice.action_send_and_print()
        self.account._cron_upload_invoices()
        self.account._upload_invoices(trigger="cron")
        self.assertEqual(self.created_feeds(), 0)
        self.assertFalse(
            self.env["amazon.sync.run"].search_count(
                [("account_id", "=", self.account.id), ("kind", "=", "invoices")]
            )
        )

    def test_japan_is_not_uploaded(self):
        self.env.ref("base.JPY").active = True
        order = self.shipped_order(
            "249-8000004-0000001",
            marketplace="JP",
            items=[{"sku": "MUG-JP", "quantity": 1, "unitPrice": "1100"}],
        )
        invoice = self.invoice(order)
        self.assertFalse(invoice.amazon_upload_state)
        self.upload()
        self.assertEqual(self.created_feeds(), 0)

    def test_interrupted_upload_is_not_sent_again_blindly(self):
        order = self.shipped_order("171-8000005-0000001")
        invoice = self.invoice(order)
        self.sandbox.faults.add("createFeed", "500", count=1)
        counts = self.upload()
        self.assertEqual(counts["skipped"], 1)
        self.assertEqual(self.created_feeds(), 1)
        self.assertIn("answer was lost", invoice.amazon_upload_error)
        self.upload()
        self.assertEqual(invoice.amazon_upload_state, "failed")
        self.assertIn("may have reached Amazon", invoice.amazon_upload_error)
        self.assertEqual(self.created_feeds(), 1)


@tagged("post_install", "-at_install")
class TestSpanishSimplifiedInvoices(InvoiceUploadCase):
    """With Spain's localization (l10n_es) installed: Amazon's consumers get simplified
    invoices (facturas simplificadas), businesses with a VAT number full ones. The Spanish
    chart lives in a company of its own; the main company keeps its chart."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "l10n_es_is_simplified" not in cls.env["account.move"]._fields:
            cls.spain = None
            return
        cls.spain = cls.env["res.company"].create(
            {"name": "Tienda Amazon SL", "country_id": cls.env.ref("base.es").id}
        )
        cls.env.user.company_ids |= cls.spain
        cls.env["account.chart.template"].try_loading(
            "es_pymes", company=cls.spain, install_demo=False
        )
        cls.spain_account = cls._create_account(
            "Amazon España",
            company=cls.spain,
            seller_id="A1SELLERSPAIN",
            user_id=False,
            upload_invoices=True,
        )
        marketplaces = cls.account.active_marketplace_ids
        cls.spain_account.write(
            {
                "available_marketplace_ids": [Command.set(marketplaces.ids)],
                "active_marketplace_ids": [Command.set(marketplaces.ids)],
            }
        )
        iva = cls.env["account.tax"].search(
            [
                ("company_id", "=", cls.spain.id),
                ("type_tax_use", "=", "sale"),
                ("amount", "=", 21),
                ("amount_type", "=", "percent"),
            ],
            limit=1,
        )
        cls.mug.taxes_id |= iva

    def setUp(self):
        super().setUp()
        if self.spain is None:
            self.skipTest("l10n_es is not installed")
        self.spain_account.last_orders_sync = self.account.last_orders_sync
        self.env = self.env(context=dict(self.env.context, allowed_company_ids=self.spain.ids))

    def spanish_order(self, ref, **kwargs):
        self.add_order(ref, **kwargs)
        self.spain_account._sync_orders()
        order = self.env["sale.order"].search(
            [("amazon_account_id", "=", self.spain_account.id), ("amazon_order_ref", "=", ref)]
        )
        self.assertTrue(order, f"order {ref} was synchronized")
        self.assertEqual(order.company_id, self.spain)
        self.sandbox.state.set_status(ref, "SHIPPED")
        return order

    def test_consumer_gets_simplified_invoice_and_credit_note(self):
        self.assertNotEqual(self.company.chart_template, "es_pymes")
        order = self.spanish_order("171-8100001-0000001")
        invoice = self.invoice(order)
        self.assertEqual(invoice.country_code, "ES")
        self.assertTrue(invoice.l10n_es_is_simplified)
        credit = self.credit_note(invoice, transaction="amzn1-refund-8100001")
        self.assertTrue(credit.l10n_es_is_simplified)
        # Both go to Amazon as usual.
        self.assertEqual((invoice | credit).mapped("amazon_upload_state"), ["pending"] * 2)
        self.spain_account._upload_invoices()
        self.sandbox.state.advance(600)
        self.spain_account._upload_invoices()
        self.assertEqual((invoice | credit).mapped("amazon_upload_state"), ["sent"] * 2)

    def test_business_with_vat_gets_full_invoice(self):
        order = self.spanish_order(
            "171-8100002-0000001",
            business=True,
            buyer={"name": "Ana Ruiz", "companyName": "Ruiz SL", "vatNumber": "ESA12345674"},
        )
        self.assertTrue(order.amazon_is_business)
        invoice = self.invoice(order)
        self.assertFalse(invoice.l10n_es_is_simplified)
        credit = self.credit_note(invoice, transaction="amzn1-refund-8100002")
        self.assertFalse(credit.l10n_es_is_simplified)
