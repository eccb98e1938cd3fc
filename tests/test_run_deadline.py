# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A scheduled run's time budget bounds the waits inside the SP-API client too: Amazon
answering 429 for longer than the budget ends the run as continued (its job triggered, no
record failed), and the next run does the work, once. The 429s come from the sandbox's
fault injection; a budget of 0 s (a test-only override) lets no retry wait at all."""

from datetime import timedelta

from odoo.tests import tagged

from .common import AmazonSyncCase
from .test_invoice_upload import InvoiceUploadCase
from .test_run_budget import BudgetMixin


class DeadlineMixin(BudgetMixin):
    def assert_out_of_time(self, kind, xmlid, run_once):
        """``run_once()`` ends as continued, its job triggered, nothing failed."""
        before = self.triggers(xmlid)
        run_once()
        run = self.last_run(kind)
        self.assertEqual((run.trigger, run.state), ("cron", "done"), run.error_summary)
        self.assertTrue(run.continued, "out of time: the job goes on")
        self.assertEqual((run.created_count, run.failed_count), (0, 0))
        self.assertFalse(run.error_summary)
        self.assertGreaterEqual(run.throttled_count, 1, "Amazon answered 429")
        self.assertEqual(self.triggers(xmlid), before + 1, "the job is triggered again")
        return run


@tagged("post_install", "-at_install")
class TestRunDeadline(DeadlineMixin, AmazonSyncCase):
    ORDERS_CRON = "sale_amazon_connector.ir_cron_sync_orders"
    PICKINGS_CRON = "sale_amazon_connector.ir_cron_sync_pickings"

    def cron_orders(self):
        Account = self.env["amazon.account"].with_context(
            amazon_test_run_budget=0, amazon_test_page_size=1
        )
        Account._cron_sync_orders()

    def failures(self):
        return self.env["amazon.order.failure"].search([("account_id", "=", self.account.id)])

    def test_orders_run_throttled_past_its_budget_goes_on_later_without_failures(self):
        refs = [f"171-8600{n:03d}-0000001" for n in range(1, 4)]
        for ref in refs:
            self.add_order(ref)
        self.cron_orders()  # page 1 (one order); it stops there, keeping the next page
        self.assertEqual(self.last_run("orders").created_count, 1)
        token = self.account.orders_page_token
        self.assertTrue(token)
        # Amazon throttles searchOrders for longer than the run may wait.
        self.sandbox.faults.add(operation="searchOrders", kind="429")
        self.assert_out_of_time("orders", self.ORDERS_CRON, self.cron_orders)
        self.assertFalse(self.failures(), "running out of time fails no order")
        self.assertEqual(self.account.orders_page_token, token, "the next run asks that page")
        self.sandbox.faults.clear()
        runs = self.run_until_done("orders", self.ORDERS_CRON, self.cron_orders)
        self.assertEqual(sum(runs.mapped("created_count")), 2)
        self.assertEqual(sum(runs.mapped("failed_count")), 0)
        for ref in refs:
            self.assertEqual(len(self.amazon_order(ref)), 1, f"{ref} created once")
        self.assertFalse(self.failures())

    def test_retry_of_a_failed_order_throttled_past_the_budget_records_nothing(self):
        ref = "171-8700001-0000001"
        created = self.add_order(ref)
        # The window starts after the order: only the retry of its failure fetches it.
        self.account.last_orders_sync = created + timedelta(minutes=1)
        failure = self.env["amazon.order.failure"]._record(self.account, ref, "Earlier failure")
        attempts = failure.attempts
        self.sandbox.faults.add(operation="getOrder", kind="429")
        self.assert_out_of_time("orders", self.ORDERS_CRON, self.cron_orders)
        self.assertEqual(failure.state, "open")
        self.assertEqual((failure.error, failure.attempts), ("Earlier failure", attempts))
        self.assertFalse(self.amazon_order(ref))
        self.sandbox.faults.clear()
        self.run_until_done("orders", self.ORDERS_CRON, self.cron_orders)
        self.assertEqual(len(self.amazon_order(ref)), 1)
        self.assertEqual(failure.state, "resolved")

    def test_shipment_throttled_past_the_budget_stays_pending_and_is_sent_once(self):
        product = self.env["product.product"].create({"name": "Delivery", "type": "service"})
        carrier = self.env["delivery.carrier"].create(
            {"name": "DHL", "product_id": product.id, "delivery_type": "fixed"}
        )
        ref = "171-8800001-0000001"
        self.add_order(ref)
        self.sync()
        picking = self.ship(self.amazon_order(ref).picking_ids, carrier)
        self.assertEqual(picking.amazon_sync_status, "pending")
        Account = self.env["amazon.account"].with_context(amazon_test_run_budget=0)
        self.sandbox.faults.add(operation="confirmShipment", kind="429")
        self.assert_out_of_time("pickings", self.PICKINGS_CRON, Account._cron_sync_pickings)
        # Not sent (Amazon refused it with 429s): no attempt counted, nothing unsure.
        self.assertEqual(picking.amazon_sync_status, "pending")
        self.assertEqual(picking.amazon_sync_attempts, 0)
        self.assertFalse(picking.amazon_sync_unsure or picking.amazon_sync_error)
        self.assertEqual(self.sandbox.state.shipments(ref), [])
        self.sandbox.faults.clear()
        runs = self.run_until_done("pickings", self.PICKINGS_CRON, Account._cron_sync_pickings)
        self.assertEqual(sum(runs.mapped("created_count")), 1)
        self.assertEqual(len(self.sandbox.state.shipments(ref)), 1, "confirmed once")
        self.assertEqual(picking.amazon_sync_status, "done")


@tagged("post_install", "-at_install")
class TestRunDeadlineInvoices(DeadlineMixin, InvoiceUploadCase):
    INVOICES_CRON = "sale_amazon_connector.ir_cron_upload_invoices"

    def test_upload_throttled_past_the_budget_stays_pending_and_is_sent_once(self):
        self.account.upload_invoices = True
        invoice = self.invoice(self.shipped_order("171-8900001-0000001"))
        self.assertEqual(invoice.amazon_upload_state, "pending")
        Account = self.env["amazon.account"].with_context(amazon_test_run_budget=0)
        self.sandbox.faults.add(operation="createFeed", kind="429")
        self.assert_out_of_time("invoices", self.INVOICES_CRON, Account._cron_upload_invoices)
        # createFeed was refused with 429s: not sent, so not marked as possibly sent.
        self.assertEqual(invoice.amazon_upload_state, "pending")
        self.assertFalse(invoice.amazon_upload_sent_at or invoice.amazon_upload_error)
        self.assertFalse(self.sandbox.state.feeds)
        self.sandbox.faults.clear()
        Account._cron_upload_invoices()
        self.assertEqual(self.last_run("invoices").created_count, 1)
        self.assertTrue(invoice.amazon_upload_feed_ref)
        self.assertEqual(len(self.sandbox.state.feeds), 1, "uploaded once")
