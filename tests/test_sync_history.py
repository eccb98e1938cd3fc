# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sync history: what a run records on the account, the smart button, the progress lines."""

import logging
import re

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
