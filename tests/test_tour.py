# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Browser test: the tour ``sale_amazon_connector_sync_tour`` in headless Chromium.

Odoo's HttpCase finds Chromium (or Chrome) itself; ``.ci/run`` installs the distribution's
``chromium`` package when it is missing. Without a browser (or without the websocket-client
Python package Odoo drives it with) the test is skipped with one line saying so.
"""

import shutil
from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import AmazonTestCommon, requires_sandbox

BROWSERS = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")


def browser_missing():
    """Why no browser test can run here, or None."""
    try:
        import websocket  # noqa: F401  (Odoo drives Chromium with it)
    except ImportError:
        return "the Python package websocket-client is not installed"
    if not any(shutil.which(name) for name in BROWSERS):
        return "no Chromium/Chrome executable (apt-get install -y chromium)"
    return None


@requires_sandbox
@tagged("post_install", "-at_install")
class TestSyncTour(HttpCase, AmazonTestCommon):
    sandbox_orders = 12
    sandbox_speed = 1000.0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account.write(
            {
                "name": "Sandbox Tour Account",
                "last_orders_sync": fields.Datetime.now() - timedelta(days=8),
            }
        )
        cls.account.action_check_connection()
        # the marketplaces' currencies, as an integrator activates them (else orders fail)
        currencies = cls.account.active_marketplace_ids.with_context(active_test=False).currency_id
        currencies.active = True

    def test_sync_orders_from_the_account_form(self):
        reason = browser_missing()
        if reason:
            self.skipTest(f"browser tour skipped: {reason}")
        self.assertFalse(self.account.sale_order_count)
        self.start_tour(
            "/web?debug=1", "sale_amazon_connector_sync_tour", login="admin", timeout=180
        )
        orders = self.env["sale.order"].search([("amazon_account_id", "=", self.account.id)])
        self.assertGreaterEqual(len(orders), 2, "the tour synced the sandbox's orders")
        run = self.account.sync_run_ids[:1]
        self.assertEqual(run.trigger, "manual")
        self.assertEqual(run.created_count, len(orders))
