# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Time-boxed scheduled runs: with a budget of 0 s (a test-only override) every scheduled run
of each kind does one batch, says it continued, triggers its job again, and the successive
runs together do everything once: no order lost, none created twice."""

import os
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.service import server as odoo_server
from odoo.tests import tagged
from odoo.tools import config

from ..amazon_sp import ratelimit
from ..models import amazon_sync_budget as sync_budget
from .common import AmazonAccountingCase, AmazonSyncCase, Scenario

SELLER = "A1SELLERTEST"
REJECTION_LOG = "SP_SANDBOX_REJECTION_LOG"  # where the sandbox logs the requests it refuses
MAX_RUNS = 30  # a bound for the loops below: a run that makes no progress fails the test


class BudgetMixin:
    """Helpers: run the scheduled work of one kind with a budget of 0 s until a run ends
    without work left, checking the trigger of each continued run."""

    def triggers(self, xmlid):
        cron = self.env.ref(xmlid)
        return self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])

    def last_run(self, kind):
        return self.env["amazon.sync.run"].search(
            [("account_id", "=", self.account.id), ("kind", "=", kind)], limit=1
        )

    @contextmanager
    def refused_on_purpose(self, operation):
        """Requests sent so that Amazon refuses them go to a rejection log of this test's
        own, not to the run's (where they would count as requests the client must never
        send); checks that Amazon refused ``operation``."""
        with tempfile.TemporaryDirectory() as tmp:
            own = os.path.join(tmp, "rejections.jsonl")
            with patch.dict(os.environ, {REJECTION_LOG: own}):
                yield
            with open(own, encoding="utf-8") as handle:
                self.assertIn(operation, handle.read(), f"Amazon refused {operation}")

    def run_until_done(self, kind, xmlid, run_once, each=None):
        """Call ``run_once()`` (one scheduled run) until its run is not continued; returns
        the runs, oldest first. ``each(run)`` is called after each continued run."""
        runs = self.env["amazon.sync.run"]
        for _attempt in range(MAX_RUNS):
            before = self.triggers(xmlid)
            run_once()
            run = self.last_run(kind)
            self.assertNotIn(run, runs, "each scheduled run is recorded")
            runs |= run
            self.assertEqual((run.trigger, run.state), ("cron", "done"), run.error_summary)
            if not run.continued:
                self.assertEqual(self.triggers(xmlid), before, "nothing left: no trigger")
                return runs.sorted("id")
            self.assertEqual(self.triggers(xmlid), before + 1, "a continued run triggers its job")
            if each:
                each(run)
        self.fail(f"the {kind} runs did not finish in {MAX_RUNS} runs")


@tagged("post_install", "-at_install")
class TestRunBudget(BudgetMixin, AmazonSyncCase):
    ORDERS_CRON = "sale_amazon_connector.ir_cron_sync_orders"
    PICKINGS_CRON = "sale_amazon_connector.ir_cron_sync_pickings"

    def cron_orders(self, **context):
        Account = self.env["amazon.account"].with_context(
            amazon_test_run_budget=0, amazon_test_page_size=2, **context
        )
        Account._cron_sync_orders()

    def test_orders_stop_after_one_order_and_successive_runs_bring_every_order_once(self):
        refs = [f"171-8000{n:03d}-0000001" for n in range(1, 6)]
        for ref in refs:
            self.add_order(ref)
        since = self.account.last_orders_sync
        changed = []

        def each(run):
            # The window is kept until it was read whole, with where the next run goes on.
            self.assertEqual(self.account.last_orders_sync, since)
            self.assertTrue(self.account.orders_window_end)
            self.assertLessEqual(run.created_count, 1, "one order per run (budget 0)")
            if not changed:
                # Amazon changes an order already applied while the window is being read:
                # it leaves this window (updated after its end) for the next one.
                self.sandbox.state.set_status(refs[0], "CANCELLED")
                changed.append(refs[0])

        runs = self.run_until_done("orders", self.ORDERS_CRON, self.cron_orders, each)
        self.assertGreaterEqual(len(runs), 5, "five orders, pages of two, one order per run")
        self.assertTrue(all(run.continued for run in runs[:-1]))
        self.assertEqual(sum(runs.mapped("created_count")), 5)
        self.assertEqual(sum(runs.mapped("failed_count")), 0)
        for ref in refs:
            self.assertEqual(len(self.amazon_order(ref)), 1, f"{ref} created once")
        self.assertGreater(self.account.last_orders_sync, since, "the window moved on at last")
        self.assertFalse(self.account.orders_window_end or self.account.orders_page_token)
        self.assertFalse(self.account.orders_page_done)
        # The order changed meanwhile comes with the next window.
        self.sandbox.state.advance(600)
        counts = self.sync()
        self.assertEqual(counts["cancelled"], 1)
        self.assertEqual(self.amazon_order(refs[0]).state, "cancel")
        self.assertEqual(
            self.env["sale.order"].search_count([("amazon_account_id", "=", self.account.id)]), 5
        )

    def test_refused_page_token_reads_the_window_again_from_its_start(self):
        refs = [f"171-8100{n:03d}-0000001" for n in range(1, 4)]
        for ref in refs:
            self.add_order(ref)
        self.cron_orders()  # the first order of page 1
        self.cron_orders()  # the second one: stops at the end of page 1
        self.assertTrue(self.account.orders_page_token)
        self.account.orders_page_token = "not-a-token-amazon-issued"
        with self.refused_on_purpose("searchOrders"):
            self.cron_orders()
        run = self.last_run("orders")
        self.assertEqual(run.state, "error")
        self.assertFalse(run.continued)
        self.assertFalse(self.account.orders_window_end, "the window is read again next time")
        self.env["amazon.account"]._cron_sync_orders()  # the default budget: all at once
        self.assertEqual(self.last_run("orders").state, "done")
        for ref in refs:
            self.assertEqual(len(self.amazon_order(ref)), 1, f"{ref} created once")

    def test_orders_stop_rather_than_wait_for_amazons_rate_limit_past_the_budget(self):
        self.add_order("171-8500001-0000001")
        with self.account._get_sp_api_client() as client:
            endpoint = client.config.endpoint
            bucket = client.bucket("searchOrders")
        self.addCleanup(ratelimit.LIMITER.forget, endpoint)
        # Amazon's documented searchOrders pace, the burst used up: the next call waits ~3 min.
        bucket.set_rate(0.0056)
        bucket.drain()
        cron = self.env.ref(self.ORDERS_CRON)
        before = fields.Datetime.now()
        # the default budget (45 s), given explicitly: inside tests a run has none otherwise
        self.env["amazon.account"].with_context(amazon_test_run_budget=45)._cron_sync_orders()
        run = self.last_run("orders")
        self.assertTrue(run.continued)
        self.assertEqual(run.created_count, 0)
        self.assertLess(run.duration, 30, "it stopped instead of waiting")
        trigger = self.env["ir.cron.trigger"].search(
            [("cron_id", "=", cron.id)], order="id desc", limit=1
        )
        self.assertGreaterEqual(trigger.call_at, before + timedelta(seconds=150))
        ratelimit.LIMITER.forget(endpoint)  # the time has come: Amazon takes calls again
        self.env["amazon.account"]._cron_sync_orders()
        self.assertEqual(len(self.amazon_order("171-8500001-0000001")), 1)
        self.assertFalse(self.last_run("orders").continued)

    def test_default_budget_and_buttons_are_not_cut(self):
        self.add_order("171-8200001-0000001")
        self.add_order("171-8200002-0000001")
        # A manual run has no budget: a tiny one set for scheduled runs does not apply.
        counts = self.account.with_context(amazon_test_run_budget=0, amazon_test_page_size=1)
        counts = counts._sync_orders().counts
        self.assertEqual(counts["created"], 2)
        self.assertFalse(self.last_run("orders").continued)
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("sale_amazon_connector.run_budget_seconds", "not a number")
        self.assertEqual(self.account._amazon_run_budget_seconds(), 45.0)
        params.set_param("sale_amazon_connector.run_budget_seconds", "30")
        self.assertEqual(self.account._amazon_run_budget_seconds(), 30.0)

    def test_pickings_stop_after_one_shipment(self):
        product = self.env["product.product"].create({"name": "Delivery", "type": "service"})
        carrier = self.env["delivery.carrier"].create(
            {"name": "DHL", "product_id": product.id, "delivery_type": "fixed"}
        )
        refs = [f"171-8300{n:03d}-0000001" for n in range(1, 4)]
        for ref in refs:
            self.add_order(ref)
        self.sync()
        for ref in refs:
            picking = self.ship(self.amazon_order(ref).picking_ids, carrier)
            self.assertEqual(picking.amazon_sync_status, "pending")
        Account = self.env["amazon.account"].with_context(amazon_test_run_budget=0)
        runs = self.run_until_done("pickings", self.PICKINGS_CRON, Account._cron_sync_pickings)
        self.assertEqual(runs.mapped("created_count"), [1, 1, 1])
        for ref in refs:
            self.assertEqual(len(self.sandbox.state.shipments(ref)), 1, f"{ref} confirmed once")
            self.assertEqual(self.amazon_order(ref).picking_ids.amazon_sync_status, "done")


@tagged("post_install", "-at_install")
class TestRunBudgetStock(BudgetMixin, AmazonSyncCase):
    STOCK_CRON = "sale_amazon_connector.ir_cron_sync_stock"

    @classmethod
    def _sandbox_scenario(cls):
        return Scenario.from_dict(
            {
                "seller": {"sellerId": SELLER},
                "marketplaces": list(cls.marketplace_codes),
                "listings": [{"sku": "MUG-RED", "quantity": 0}, {"sku": "MUG-DE", "quantity": 0}],
                "orders": [],
                "start": "2026-11-20T12:00:00Z",
            }
        )

    def test_stock_stops_after_one_feed_and_one_report(self):
        offers = self.env["amazon.offer"]
        for code, product in (("ES", self.mug), ("DE", self.mug_de)):
            offers |= self.env["amazon.offer"].create(
                {
                    "account_id": self.account.id,
                    "marketplace_id": self.env["amazon.marketplace"]
                    .search([("code", "=", code)])
                    .id,
                    "sku": product.default_code,
                    "product_id": product.id,
                    "fulfillment_channel": "fbm",
                    "sync_stock": True,
                }
            )
            self.env["stock.quant"]._update_available_quantity(
                product, self.account.warehouse_id.lot_stock_id, 4
            )
        Account = self.env["amazon.account"].with_context(amazon_test_run_budget=0)
        runs = self.run_until_done("stock", self.STOCK_CRON, Account._cron_sync_stock)
        # Amazon processes the feeds: their reports are read by the next runs.
        self.sandbox.state.advance(600)
        runs |= self.run_until_done("stock", self.STOCK_CRON, Account._cron_sync_stock)
        for run in runs:
            batches = run.created_count + run.updated_count + run.failed_count
            self.assertLessEqual(batches, 1, "one feed sent or one report read per run")
        self.assertEqual(sum(runs.mapped("created_count")), 2, "each offer sent once")
        self.assertEqual(sum(runs.mapped("updated_count")), 2, "each report read once")
        self.assertEqual(len(self.account.stock_feed_ids), 2, "one feed per marketplace")
        self.assertEqual(offers.mapped("stock_sync_state"), ["done", "done"])
        self.assertEqual(self.sandbox.state.listings["MUG-RED"]["quantity"], 4)
        self.assertEqual(self.sandbox.state.listings["MUG-DE"]["quantity"], 4)


@tagged("post_install", "-at_install")
class TestRunBudgetSettlements(BudgetMixin, AmazonAccountingCase):
    SETTLEMENTS_CRON = "sale_amazon_connector.ir_cron_import_settlements"

    def test_settlements_stop_after_one_settlement(self):
        self.add_order("171-8400001-0000001", fulfilled_by="AMAZON")
        self.add_order(
            "171-8400002-0000001",
            marketplace="DE",
            fulfilled_by="AMAZON",
            items=[{"sku": "MUG-DE", "quantity": 1, "unitPrice": "11.90"}],
        )
        self.sync()
        self.sandbox.state.advance(15 * 86400)
        closed = [g for g in self.sandbox.state.finance_groups().values() if g["closed"]]
        self.assertEqual(len(closed), 2, "one settlement group per marketplace")
        Account = self.env["amazon.account"].with_context(amazon_test_run_budget=0)
        runs = self.run_until_done(
            "settlements", self.SETTLEMENTS_CRON, Account._cron_import_settlements
        )
        self.assertEqual(runs.mapped("created_count"), [1, 1])
        self.assertEqual(
            sorted(self.account.settlement_ids.mapped("group_ref")),
            sorted(group["id"] for group in closed),
        )


@tagged("post_install", "-at_install")
class TestCronPassLimits(BudgetMixin, AmazonSyncCase):
    """Odoo's real-time limit of a cron pass, as the budget reckons it."""

    ORDERS_CRON = "sale_amazon_connector.ir_cron_sync_orders"

    def cron_orders(self):
        self.env["amazon.account"].with_context(amazon_test_run_budget=45)._cron_sync_orders()

    def test_a_cron_worker_process_counts_from_its_heartbeat_before_sleeping(self):
        now = time.monotonic()
        self.assertEqual(sync_budget.watchdog_origin(now), now, "cron thread: the pass start")
        # A cron worker process of the prefork server: the server's watchdog counts from the
        # worker's last heartbeat, sent before it slept until the job was due.
        prefork = odoo_server.PreforkServer(None)
        longest_sleep = odoo_server.SLEEP_INTERVAL + os.getpid() % 10 + 1
        with patch.object(odoo_server, "server", prefork):
            with patch.object(sync_budget, "_last_job_end", None):
                origin = sync_budget.watchdog_origin(now)
                self.assertEqual(origin, now - longest_sleep, "slept the longest")
            with patch.object(sync_budget, "_last_job_end", now - 5):
                self.assertEqual(sync_budget.watchdog_origin(now), now - 5, "woken at once")
            with patch.object(sync_budget, "_last_job_end", now - 3600):
                self.assertEqual(sync_budget.watchdog_origin(now), origin)
            limits = {"limit_time_real": 120, "limit_time_real_cron": -1}
            with patch.dict(config.options, limits):
                budget = sync_budget.RunBudget(45, origin)
        # 120 s from the heartbeat, a quarter kept: 90 s, of which the sleep used up to 70.
        self.assertAlmostEqual(budget.wall_deadline, origin + 90, places=3)
        self.assertLessEqual(budget.remaining(), 90 - longest_sleep)

    def test_a_run_with_no_time_left_in_the_pass_does_nothing_and_triggers_its_job(self):
        self.add_order("171-8700001-0000001")
        before = self.triggers(self.ORDERS_CRON)
        with patch.dict(config.options, {"limit_time_real": 1, "limit_time_real_cron": -1}):
            self.cron_orders()
        self.assertFalse(self.last_run("orders"), "no run: nothing was done")
        self.assertFalse(self.amazon_order("171-8700001-0000001"))
        self.assertEqual(self.triggers(self.ORDERS_CRON), before + 1, "the next pass does it")
        self.cron_orders()
        self.assertEqual(len(self.amazon_order("171-8700001-0000001")), 1)
