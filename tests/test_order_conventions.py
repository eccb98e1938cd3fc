# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The order sync under each answer Amazon's models leave open (the sandbox's
conventions), and the unusual orders: non-Amazon sales, COD fees, delivery tips."""

from datetime import timedelta, timezone
from decimal import Decimal

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import AmazonSyncCase

try:
    from ..sp_sandbox import data, render
except ImportError:  # AmazonSyncCase is skipped without the sandbox
    data = render = None


@tagged("post_install", "-at_install")
class TestOrderConventions(AmazonSyncCase):
    def set_convention(self, **values):
        """Switch the sandbox's conventions for this test only."""
        current = self.sandbox.state.conventions
        self.addCleanup(current.set, **{name: current.get(name) for name in values})
        current.set(**values)

    def test_window_moves_without_amazon_echoing_it(self):
        self.set_convention(window_echo=False)
        self.add_order("175-0000001-0000001")
        start = self.account.last_orders_sync
        self.assertEqual(self.sync()["created"], 1)
        moved = self.account.last_orders_sync
        self.assertGreater(moved, start)
        amazon_now = self.sandbox.state.now().replace(tzinfo=None)
        self.assertLessEqual(moved, amazon_now - timedelta(minutes=2))
        self.add_order("175-0000001-0000002")
        counts = self.sync()
        self.assertEqual(counts["created"], 1, "only the new order: the window moved")
        self.assertGreater(self.account.last_orders_sync, moved)
        self.assertTrue(self.amazon_order("175-0000001-0000002"))

    def test_orders_without_fulfilled_by_keep_their_channel(self):
        self.set_convention(fulfilled_by=False)
        self.add_order("175-0000002-0000001", fulfilled_by="MERCHANT")
        self.add_order("175-0000002-0000002", fulfilled_by="AMAZON")
        counts = self.sync()
        self.assertEqual(counts["created"], 2, counts)
        self.assertFalse(counts["failed"])
        self.assertEqual(self.amazon_order("175-0000002-0000001").amazon_channel, "fbm")
        self.assertEqual(self.amazon_order("175-0000002-0000002").amazon_channel, "fba")

    def test_non_amazon_order_is_skipped_with_its_reason(self):
        ref = "175-0000003-0000001"
        self.add_order(ref, channel="NON_AMAZON")
        self.add_order("175-0000003-0000002")
        # A failure left open for it (an earlier version tried to import it) gets closed.
        failure = self.env["amazon.order.failure"]._record(self.account, ref, "old error")
        counts = self.sync()
        self.assertEqual(counts["skipped"], 1)
        self.assertEqual(counts["created"], 1)
        self.assertFalse(counts["failed"])
        self.assertFalse(self.amazon_order(ref), "never imported")
        run = self.account.sync_run_ids[:1]
        self.assertEqual(run.skipped_count, 1)
        self.assertIn(ref, run.error_summary)
        self.assertIn("Not imported", run.error_summary)
        self.assertEqual(failure.state, "resolved")
        self.assertIn("Not imported", failure.error)
        with self.assertRaisesRegex(UserError, "is not imported"):
            self.account._amazon_recover_order(ref)
        self.assertFalse(self.amazon_order(ref))

    def test_cod_fee_other_charge_and_tip_become_lines(self):
        ref = "175-0000004-0000001"
        self.add_order(ref, codFee="2.50", otherCharge="1.00", deliveryTip="3.00")
        counts = self.sync()
        self.assertEqual(counts["created"], 1, counts)
        order = self.amazon_order(ref)
        lines = {line.product_id: line for line in order.order_line}
        for product, amount in (
            (self.account.cod_fee_product_id, Decimal("2.50")),
            (self.account.other_charge_product_id, Decimal("1.00")),
            (self.account.delivery_tip_product_id, Decimal("3.00")),
        ):
            self.assertIn(product, lines)
            self.assertEqual(Decimal(str(lines[product].price_total)), amount)
        self.assertEqual(Decimal(str(order.amazon_total)), Decimal("18.60"))
        self.assertFalse(order.currency_id.compare_amounts(order.amount_total, order.amazon_total))
        self.assertFalse(order.amazon_total_difference)

    def test_without_grand_total_amazon_total_is_the_proceeds_summed(self):
        """``grandTotal`` is optional in Amazon's model: what the buyer paid is then the
        items' ``proceedsTotal`` summed, so numbers that fit no reading still show as a
        stated difference instead of Odoo's own sum passing for Amazon's."""
        created = self.add_order("175-0000005-0000001")
        view = self.sandbox.state.view("175-0000005-0000001")
        body = render.order_v2026(view, set(data.INCLUDED_DATA))
        ref = body["orderId"] = "175-0000005-0000002"
        body["proceeds"].pop("grandTotal", None)
        proceeds = body["orderItems"][0]["proceeds"]["proceedsTotal"]
        stated = Decimal(proceeds["amount"]) + Decimal("0.50")
        proceeds["amount"] = str(stated)
        self.sandbox.state.add_raw_order(body, when=created.replace(tzinfo=timezone.utc))
        self.sandbox.state.advance(600)
        counts = self.sync()
        self.assertFalse(counts["failed"], counts)
        order = self.amazon_order(ref)
        self.assertEqual(len(order), 1)
        self.assertEqual(Decimal(str(order.amazon_total)), stated)
        self.assertEqual(Decimal(str(order.amazon_total_difference)), Decimal("0.50"))
        self.assertEqual(Decimal(str(order.amount_total)) + Decimal("0.50"), stated)
