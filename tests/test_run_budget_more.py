# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Time-boxed scheduled runs of the later kinds (refunds, invoice uploads, FBA returns):
with a budget of 0 s (a test-only override) each scheduled run does one batch, says it
continued, triggers its job again, and the successive runs together do everything once."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import AmazonSyncCase, Scenario
from .test_invoice_upload import InvoiceUploadCase
from .test_run_budget import MAX_RUNS, SELLER, BudgetMixin

ES = "A1RKKUPIHCS9HS"


@tagged("post_install", "-at_install")
class TestRunBudgetRefunds(BudgetMixin, InvoiceUploadCase):
    REFUNDS_CRON = "sale_amazon_connector.ir_cron_sync_refunds"

    def refunded_orders(self, refs, never=None):
        """FBA orders ``refs`` synchronized and invoiced, then refunded a minute apart on
        Amazon (``never``: one more, refunded but never synchronized); their invoices."""
        invoices = self.env["account.move"]
        for ref in refs:
            self.add_order(ref, fulfilled_by="AMAZON")
        self.sync()
        for ref in refs:
            invoices |= self.invoice(self.amazon_order(ref))
        if never:
            self.add_order(never, fulfilled_by="AMAZON")
            self.sandbox.state.refund(never)
        for ref in refs:
            self.sandbox.state.advance(60)
            self.sandbox.state.refund(ref)
        self.sandbox.state.advance(600)
        return invoices

    def test_refunds_stop_after_one_batch_and_the_marker_never_passes_unread_ones(self):
        refs = [f"171-8600{n:03d}-0000001" for n in range(1, 4)]
        never = "171-8600009-0000001"  # not synchronized: its refund waits
        invoices = self.refunded_orders(refs, never=never)
        Refund = self.env["amazon.refund"]
        Account = self.env["amazon.account"].with_context(
            amazon_test_run_budget=0, amazon_test_page_size=1
        )

        def each(run):
            self.assertEqual(run.created_count + run.skipped_count, 1, "one refund per run")
            recorded = Refund.search([("account_id", "=", self.account.id)])
            # The window's marker moves only past refunds recorded.
            if self.account.last_refunds_sync:
                self.assertLessEqual(self.account.last_refunds_sync, max(recorded.mapped("date")))

        runs = self.run_until_done("refunds", self.REFUNDS_CRON, Account._cron_sync_refunds, each)
        self.assertEqual(len(runs), 4, "four refunds, one per run")
        self.assertEqual(sum(runs.mapped("created_count")), 3)
        self.assertEqual(sum(runs.mapped("failed_count")), 0)
        refunds = Refund.search([("account_id", "=", self.account.id)])
        self.assertEqual(len(refunds), 4, "each refund recorded once")
        self.assertEqual(refunds.filtered(lambda r: r.order_ref == never).state, "no_order")
        for invoice in invoices:
            credit = refunds.filtered(lambda r, i=invoice: r.credit_note_id.reversed_entry_id == i)
            self.assertEqual(len(credit), 1, f"{invoice.name} credited once")
        self.assertGreater(self.account.last_refunds_sync, max(refunds.mapped("date")))
        # The refund still waiting for its order is retried by later runs, and does not
        # keep triggering the job.
        runs = self.run_until_done("refunds", self.REFUNDS_CRON, Account._cron_sync_refunds)
        self.assertEqual(len(runs), 1)
        self.assertEqual(Refund.search_count([("account_id", "=", self.account.id)]), 4)

    def test_a_window_of_many_pages_goes_on_from_its_page_token(self):
        """Financial events include every shipment: a busy month is hundreds of pages, more
        than one run reads. Each run goes on from the page the previous one stopped at."""
        invoices = self.refunded_orders([f"171-8610{n:03d}-0000001" for n in range(1, 4)])
        Refund = self.env["amazon.refund"]
        Account = self.env["amazon.account"].with_context(
            amazon_test_run_budget=0, amazon_test_finance_page_size=1
        )
        account = self.account
        windows = set()

        def each(run):
            account.invalidate_recordset()
            windows.add((account.refunds_window_start, account.refunds_window_end))
            self.assertTrue(account.refunds_page_token, "the next run goes on from a page")
            self.assertFalse(account.last_refunds_sync, "the window is not read whole yet")

        runs = self.run_until_done("refunds", self.REFUNDS_CRON, Account._cron_sync_refunds, each)
        self.assertGreaterEqual(len(runs), 4, "a page a run: shipments and refunds")
        self.assertEqual(len(windows), 1, "one window, read over several runs")
        self.assertEqual(sum(runs.mapped("created_count")), 3)
        refunds = Refund.search([("account_id", "=", account.id)])
        self.assertEqual(len(refunds), 3, "each refund recorded once")
        self.assertEqual(refunds.credit_note_id.reversed_entry_id, invoices)
        account.invalidate_recordset()
        self.assertEqual(account.last_refunds_sync, windows.pop()[1])
        self.assertFalse(account.refunds_page_token or account.refunds_window_end)

        # A page token Amazon no longer takes: the run fails and says so, the next one reads
        # the window afresh and credits nothing twice.
        account.write(
            {
                "refunds_window_start": account.last_refunds_sync - timedelta(days=2),
                "refunds_window_end": account.last_refunds_sync,
                "refunds_page_token": "expired-token",
            }
        )
        with self.refused_on_purpose("listFinancialEvents"):
            Account._cron_sync_refunds()
        failed = self.last_run("refunds")
        self.assertEqual(failed.state, "error")
        self.assertFalse(account.refunds_page_token)
        self.assertFalse(account.refunds_window_end)
        runs = self.run_until_done("refunds", self.REFUNDS_CRON, Account._cron_sync_refunds)
        self.assertEqual(sum(runs.mapped("created_count")), 0)
        self.assertEqual(Refund.search_count([("account_id", "=", account.id)]), 3)


@tagged("post_install", "-at_install")
class TestRunBudgetInvoices(BudgetMixin, InvoiceUploadCase):
    INVOICES_CRON = "sale_amazon_connector.ir_cron_upload_invoices"

    def setUp(self):
        super().setUp()
        self.account.upload_invoices = True

    def immediate_triggers(self):
        """Triggers of the invoices job due now (a run that uploaded also triggers it in
        five minutes, for Amazon's verdicts)."""
        cron = self.env.ref(self.INVOICES_CRON)
        return self.env["ir.cron.trigger"].search_count(
            [
                ("cron_id", "=", cron.id),
                ("call_at", "<=", fields.Datetime.now() + timedelta(minutes=1)),
            ]
        )

    def upload_until_done(self):
        Account = self.env["amazon.account"].with_context(amazon_test_run_budget=0)
        runs = self.env["amazon.sync.run"]
        for _attempt in range(MAX_RUNS):
            before = self.immediate_triggers()
            Account._cron_upload_invoices()
            run = self.last_run("invoices")
            if run in runs:
                return runs.sorted("id")  # nothing pending: no run
            runs |= run
            self.assertEqual((run.trigger, run.state), ("cron", "done"), run.error_summary)
            done = run.created_count + run.updated_count + run.failed_count
            self.assertLessEqual(done, 1, "one document per run")
            if not run.continued:
                self.assertEqual(self.immediate_triggers(), before, "nothing left: no trigger")
                return runs.sorted("id")
            self.assertEqual(self.immediate_triggers(), before + 1, "the job goes on at once")
        self.fail(f"the invoice uploads did not finish in {MAX_RUNS} runs")

    def test_uploads_and_verdicts_stop_after_one_document(self):
        invoices = self.env["account.move"]
        for n in range(1, 4):
            order = self.shipped_order(f"171-8700{n:03d}-0000001")
            invoices |= self.invoice(order)
        self.assertEqual(set(invoices.mapped("amazon_upload_state")), {"pending"})
        runs = self.upload_until_done()
        # A run may spend its turn reading the verdict of a document sent before instead
        # of sending the next one.
        self.assertGreaterEqual(len(runs), 3)
        self.assertEqual(sum(runs.mapped("created_count")), 3)
        self.assertTrue(all(invoices.mapped("amazon_upload_feed_ref")))
        self.assertEqual(self.created_feeds(), 3, "each document sent once")
        self.sandbox.state.advance(600)  # Amazon's verdicts are ready
        runs |= self.upload_until_done()
        self.assertEqual(sum(runs.mapped("created_count")), 3)
        self.assertEqual(sum(runs.mapped("updated_count")), 3, "each verdict read once")
        self.assertEqual(set(invoices.mapped("amazon_upload_state")), {"sent"})
        self.assertEqual(self.created_feeds(), 3)
        self.assertEqual(
            sorted(i["invoiceNumber"] for i in self.sandbox.state.invoices),
            sorted(invoices.mapped("name")),
        )


@tagged("post_install", "-at_install")
class TestRunBudgetReturns(BudgetMixin, AmazonSyncCase):
    RETURNS_CRON = "sale_amazon_connector.ir_cron_sync_fba_returns"

    @classmethod
    def _sandbox_scenario(cls):
        returns = [
            {
                "orderId": f"999-8800{n:03d}-0000001",
                "sku": "MUG-FBA",
                "disposition": "SELLABLE",
                "time": f"2026-11-1{n}T10:00:00Z",
                "licensePlateNumber": f"LPN-BUDGET-{n}",
                "marketplaceId": ES,
            }
            for n in range(1, 6)
        ]
        return Scenario.from_dict(
            {
                "seller": {"sellerId": SELLER},
                "marketplaces": list(cls.marketplace_codes),
                "orders": [],
                "fba": {"stock": {}, "returns": returns},
                "start": "2026-11-20T12:00:00Z",
            }
        )

    def test_returns_stop_after_one_batch_and_resume_the_same_report(self):
        Return = self.env["amazon.fba.return"]
        Account = self.env["amazon.account"].with_context(
            amazon_test_run_budget=0, amazon_test_page_size=2
        )
        reports = []

        def each(run):
            # Amazon prepares the report meanwhile; a run stopped within it keeps it.
            self.sandbox.state.advance(600)
            if run.created_count + run.failed_count:
                self.assertTrue(self.account.returns_report_id, "the report is resumed")
                reports.append(self.account.returns_report_id)
                self.assertFalse(self.account.returns_last_sync)

        runs = self.run_until_done("returns", self.RETURNS_CRON, Account._cron_sync_returns, each)
        self.assertEqual(len(set(reports)), 1, "one report, read over several runs")
        recorded = [run.created_count + run.failed_count for run in runs]
        self.assertEqual(sum(recorded), 5)
        self.assertLessEqual(max(recorded), 2, "one batch of two per run")
        self.assertGreaterEqual(len([n for n in recorded if n]), 3)
        self.assertEqual(
            sorted(Return.search([("account_id", "=", self.account.id)]).mapped("order_ref")),
            [f"999-8800{n:03d}-0000001" for n in range(1, 6)],
            "each return recorded once",
        )
        self.assertFalse(self.account.returns_report_id)
        self.assertTrue(self.account.returns_last_sync)
