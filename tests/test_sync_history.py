# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sync history: what a run records on the account, the smart button, the progress lines,
what is pruned."""

import logging
import re
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import AmazonSyncCase

LOGGER = "odoo.addons.sale_amazon_connector.models.amazon_account_orders"


@tagged("post_install", "-at_install")
class TestSyncHistory(AmazonSyncCase):
    def test_run_records_counts_calls_throttling_and_errors(self):
        self.add_order("174-0000001-0000001", events=[(0, "UNSHIPPED"), (3 * 3600, "CANCELLED")])
        self.add_order("174-0000002-0000001")
        self.add_order("174-0000003-0000001", marketplace="SE")
        self.env.ref("base.SEK").active = False  # this one fails: inactive currency
        self.sandbox.faults.add(operation="searchOrders", kind="429", count=1)
        # logging.INFO, not "INFO": Odoo names its level 25 "INFO" too (runbot level)
        with self.assertLogs(LOGGER, level=logging.INFO) as logs:
            self.sync()
        run = self.account.sync_run_ids[:1]
        self.assertEqual(run.kind, "orders")
        self.assertEqual(run.trigger, "manual")
        self.assertEqual(run.state, "done")
        self.assertTrue(run.start)
        self.assertGreater(run.duration, 0)
        self.assertEqual((run.created_count, run.failed_count), (2, 1))
        self.assertEqual(run.throttled_count, 1, "the 429 was counted, then retried")
        self.assertGreaterEqual(run.api_calls, 2)
        self.assertIn("174-0000003-0000001", run.error_summary)
        progress = [line for line in logs.output if re.search(r"page \d+ done, \d+ orders", line)]
        self.assertTrue(progress, "a progress line per page in the server log")
        self.assertIn("3 orders so far", progress[-1])

        # Cancelled on Amazon three hours later: the next run counts the cancellation.
        self.sandbox.state.advance(4 * 3600)
        self.sync()
        second = self.account.sync_run_ids[:1]
        self.assertNotEqual(second, run)
        self.assertEqual(second.cancelled_count, 1)
        self.assertEqual(second.created_count, 0)

    def test_smart_button_opens_the_account_history(self):
        self.sync()
        other = self._create_account("Other Amazon Account")
        other._amazon_start_run("orders", "manual")
        self.assertEqual(self.account.sync_run_count, 1)
        action = self.account.action_view_sync_runs()
        self.assertEqual(action["res_model"], "amazon.sync.run")
        runs = self.env["amazon.sync.run"].search(action["domain"])
        self.assertEqual(runs, self.account.sync_run_ids)

    def test_old_and_empty_runs_are_pruned(self):
        Run = self.env["amazon.sync.run"]
        now = fields.Datetime.now()

        def run(kind, days, state="done", **counts):
            return Run.create(
                {
                    "account_id": self.account.id,
                    "kind": kind,
                    "state": state,
                    "start": now - timedelta(days=days),
                    **counts,
                }
            )

        # The notification consumer every minute: most of its runs find nothing.
        empty_old = run("notifications", 2) | run("notifications", 3)
        empty_recent = run("notifications", 0.5)
        applied = run("notifications", 2, updated_count=1)
        failed = run("notifications", 2.5, state="error", error_summary="SQS unreadable")
        # Orders: the newest run (failed) and the newest successful one stay, however old.
        newest_done = run("orders", 100)
        newest = run("orders", 95, state="error", error_summary="Amazon unreachable")
        too_old = run("orders", 120) | run("orders", 110, created_count=4)
        interrupted = run("pickings", 200, state="running")
        Run._gc_amazon_history()
        left = Run.search([("account_id", "=", self.account.id)])
        self.assertFalse(left & (empty_old | too_old))
        self.assertEqual(left, empty_recent | applied | failed | newest_done | newest | interrupted)

        # 0 days: the history is kept whole, only the runs that did nothing go.
        self.env["ir.config_parameter"].set_param("sale_amazon_connector.sync_history_days", "0")
        old_error = run("orders", 400, state="error", error_summary="gone")
        empty = run("orders", 300)
        Run._gc_amazon_history()
        self.assertTrue(old_error.exists())
        self.assertFalse(empty.exists())
