# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The accounts' dashboard: its counters, the lateness of the order sync, who may read
them, and the lists they open."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import AmazonSyncCase
from .test_invoice_upload import InvoiceUploadCase

COUNTERS = (
    "dashboard_orders_today",
    "dashboard_failed_order_count",
    "dashboard_failed_shipment_count",
    "dashboard_failed_stock_count",
)


@tagged("post_install", "-at_install")
class TestDashboard(AmazonSyncCase):
    def counters(self, account):
        account.invalidate_recordset()
        return {fname: account[fname] for fname in COUNTERS}

    def test_counters_age_and_lateness(self):
        account = self.account
        self.assertEqual(account.dashboard_orders_age, "never")
        self.assertTrue(account.dashboard_orders_stale, "never synced: late")
        self.assertEqual(set(self.counters(account).values()), {0})

        self.add_order("171-9000001-0000001")
        self.add_order("171-9000002-0000001")
        self.add_order("171-9000003-0000001", marketplace="SE")
        self.env.ref("base.SEK").active = False  # this one fails: inactive currency
        self.sync()
        first = self.amazon_order("171-9000001-0000001")
        first.date_order = fields.Datetime.now()  # bought today
        picking = self.amazon_order("171-9000002-0000001").picking_ids
        picking.amazon_sync_status = "error"
        offer = self.env["amazon.offer"].search([("account_id", "=", account.id)], limit=1)
        offer.stock_sync_state = "error"
        # Another account's troubles are not this one's.
        other = self._create_account("Other Amazon Account", seller_id="A1OTHERSELLER")
        self.env["amazon.order.failure"]._record(other, "171-9000009-0000001", "broken")

        self.assertEqual(
            self.counters(account),
            {
                "dashboard_orders_today": 1,
                "dashboard_failed_order_count": 1,
                "dashboard_failed_shipment_count": 1,
                "dashboard_failed_stock_count": 1,
            },
        )
        self.assertEqual(self.counters(other)["dashboard_failed_order_count"], 1)
        self.assertEqual(other.dashboard_failed_shipment_count, 0)
        self.assertFalse(account.dashboard_orders_stale)
        self.assertIn(account.dashboard_orders_age, ("just now", "1 min ago"))

        # Late: the last successful sync is older than twice the orders job's interval.
        run = account.sync_run_ids.filtered(lambda r: r.kind == "orders")[:1]
        run.start = fields.Datetime.now() - timedelta(minutes=61)
        account.invalidate_recordset()
        self.assertTrue(account.dashboard_orders_stale)
        self.assertEqual(account.dashboard_orders_age, "1 h ago")
        cron = self.env.ref("sale_amazon_connector.ir_cron_sync_orders")
        cron.write({"interval_number": 1, "interval_type": "hours"})
        account.invalidate_recordset()
        self.assertFalse(account.dashboard_orders_stale, "two hours allowed now")
        # A failed run is no successful sync.
        self.env["amazon.sync.run"].create(
            {"account_id": account.id, "kind": "orders", "state": "error"}
        )
        account.invalidate_recordset()
        self.assertEqual(account.dashboard_orders_synced_at, run.start)

        # Each counter opens its list.
        def found(action):
            return self.env[action["res_model"]].search(action["domain"])

        self.assertEqual(found(account.action_view_orders_today()), first)
        self.assertEqual(found(account.action_view_failed_shipments()), picking)
        self.assertEqual(found(account.action_view_failed_stock()), offer)
        failures = found(account.action_view_order_failures()).filtered(lambda f: f.state == "open")
        self.assertEqual(failures.order_ref, "171-9000003-0000001")

    def test_salesperson_with_own_documents_only_reads_every_counter(self):
        self.add_order("171-9100001-0000001")
        self.sync()
        order = self.amazon_order("171-9100001-0000001")
        order.write({"date_order": fields.Datetime.now(), "user_id": self.env.user.id})
        as_salesperson = self.account.with_user(self.salesperson)
        self.assertFalse(
            self.env["sale.order"].with_user(self.salesperson).search([("id", "=", order.id)]),
            "not the salesperson's order: they cannot see it",
        )
        self.assertEqual(as_salesperson.dashboard_orders_today, 1, "yet it is counted")
        self.assertFalse(as_salesperson.dashboard_orders_stale)
        self.assertEqual(
            as_salesperson.read(["dashboard_orders_age", *COUNTERS])[0]["dashboard_orders_today"],
            1,
        )

    def test_accounts_menu_opens_the_dashboard(self):
        action = self.env.ref("sale_amazon_connector.action_amazon_account")
        self.assertEqual(action.view_mode.split(",")[0], "kanban")
        arch = self.env["amazon.account"].get_views([(False, "kanban")])["views"]["kanban"]["arch"]
        for name in (
            "action_view_sync_runs",
            "action_view_orders_today",
            "action_view_failed_uploads",
            "dashboard_failed_upload_count",
            "dashboard_notification_age",
            *COUNTERS,
        ):
            self.assertIn(name, arch)
        self.assertIn("record.notifications_active.raw_value", arch)

    def test_age_of_the_last_notification(self):
        account = self.account
        self.assertFalse(account.notifications_active)
        self.assertEqual(account.dashboard_notification_age, "never")
        account.sudo().write(
            {
                "notification_subscription_ref": "amzn1-subscription-test",
                "notification_last_at": fields.Datetime.now() - timedelta(minutes=5),
            }
        )
        account.invalidate_recordset()
        self.assertTrue(account.notifications_active)
        self.assertEqual(account.dashboard_notification_age, "5 min ago")
        self.assertEqual(
            account.with_user(self.salesperson).dashboard_notification_age, "5 min ago"
        )

    def test_late_notifications_show_red(self):
        account = self.account
        self.add_order("171-9200001-0000001")
        self.sync()
        order = self.amazon_order("171-9200001-0000001")
        now = fields.Datetime.now()
        self.assertFalse(account.dashboard_notification_stale, "notifications off: never late")
        account.sudo().write(
            {
                "notification_subscription_ref": "amzn1-subscription-test",
                "notification_last_at": now - timedelta(minutes=5),
            }
        )

        def stale():
            account.invalidate_recordset()
            return account.dashboard_notification_stale

        self.assertTrue(stale(), "the queue was never read")
        run = self.env["amazon.sync.run"].create(
            {"account_id": account.id, "kind": "notifications", "state": "done", "start": now}
        )
        order.amazon_last_update = now - timedelta(minutes=10)
        self.assertFalse(stale(), "read just now; the last change came with its notification")
        self.assertFalse(account.with_user(self.salesperson).dashboard_notification_stale)
        # The consumer stopped: its last successful read is older than two of its intervals.
        run.start = now - timedelta(minutes=3)
        self.assertTrue(stale())
        self.assertTrue(account.with_user(self.salesperson).dashboard_notification_stale)
        self.env["amazon.sync.run"].create(
            {"account_id": account.id, "kind": "notifications", "state": "error", "start": now}
        )
        self.assertTrue(stale(), "a failed read of the queue is no read")
        run.start = now
        # An order changed on Amazon 4 minutes ago, after the last notification handled, and
        # reached Odoo through the order sync: its notification did not come.
        order.amazon_last_update = now - timedelta(minutes=4)
        self.assertTrue(stale())
        order.amazon_last_update = now - timedelta(minutes=1)
        self.assertFalse(stale(), "its notification may still be on its way")
        order.amazon_last_update = now - timedelta(minutes=4)
        cron = self.env.ref("sale_amazon_connector.ir_cron_consume_notifications")
        cron.write({"interval_number": 5, "interval_type": "minutes"})
        self.assertFalse(stale(), "ten minutes allowed now")
        arch = account.get_views([(False, "kanban")])["views"]["kanban"]["arch"]
        self.assertIn("record.dashboard_notification_stale.raw_value", arch)


@tagged("post_install", "-at_install")
class TestDashboardUploads(InvoiceUploadCase):
    def test_failed_uploads_counted_for_their_account_and_listed(self):
        self.account.upload_invoices = True
        refs = ("171-9200001-0000001", "171-9200002-0000001")
        invoices = self.env["account.move"]
        for ref in refs:
            invoices |= self.invoice(self.shipped_order(ref))
        self.assertEqual(self.account.dashboard_failed_upload_count, 0)
        failed, pending = invoices
        failed.write({"amazon_upload_state": "failed", "amazon_upload_error": "refused"})
        other = self._create_account("Other Amazon Account", seller_id="A1OTHERSELLER")
        self.account.invalidate_recordset()
        self.assertEqual(self.account.dashboard_failed_upload_count, 1)
        self.assertEqual(other.dashboard_failed_upload_count, 0)
        self.assertEqual(pending.amazon_upload_state, "pending")
        # Read with sudo: a salesperson who may not read invoices still sees the counter.
        self.assertEqual(self.account.with_user(self.salesperson).dashboard_failed_upload_count, 1)
        action = self.account.action_view_failed_uploads()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), failed)
