# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The buyer data retention: the daily run removes the buyer data of exactly the Amazon
orders delivered longer ago than the account's retention period, keeps what posted invoices
show, and does nothing more when run again."""

from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged

from .common import AmazonTestCommon

ANONYMOUS = "Anonymised Amazon buyer"
PARTNER_FIELDS = ("name", "street", "city", "zip", "phone", "vat", "amazon_buyer_key")
INVOICE_PARTNER_FIELDS = ("name", "display_name", "street", "city", "zip", "vat", "country_id")


@tagged("post_install", "-at_install")
class TestPiiRetention(AmazonTestCommon):
    """2,000 Amazon orders made directly as records (not through the sync):

    * 0-1199 delivered 40 days ago (past the default 30): their data goes; 0-39 have a
      posted invoice;
    * 1200-1699 delivered 10 days ago; 1700-1849 not delivered (move waiting);
      1850-1999 partly delivered 40 days ago, the rest waiting: all kept, 1200-1209
      invoiced too;
    * order 5 and order 1205 share their buyer and delivery contact: kept for 1205."""

    ORDERS = 2000
    PAST, RECENT, WAITING = range(0, 1200), range(1200, 1700), range(1700, 1850)
    PARTIAL = range(1850, 2000)
    INVOICED = [*range(0, 40), *range(1200, 1210)]
    SHARED = (5, 1205)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls.company.chart_template:
            cls.env["account.chart.template"].try_loading(
                "generic_coa", company=cls.company, install_demo=False
            )
        cls.now = fields.Datetime.now()
        cls.product = cls.env["product.product"].create(
            {"name": "Retention widget", "type": "consu", "invoice_policy": "order"}
        )
        spain = cls.env.ref("base.es")
        buyers = cls.env["res.partner"].create(
            [
                {
                    "name": f"Buyer {i}",
                    "street": f"Calle Mayor {i}",
                    "city": "Madrid",
                    "zip": f"28{i:03d}",
                    "country_id": spain.id,
                    "phone": f"+34 600 {i:06d}",
                    "vat": "ESA12345674" if i % 10 == 0 else False,
                    "amazon_buyer_key": f"key-{i}",
                    "customer_rank": 1,
                }
                for i in range(cls.ORDERS)
                if i != cls.SHARED[1]
            ]
        )
        contacts = cls.env["res.partner"].create(
            [
                {
                    "name": f"Recipient {buyer.name}",
                    "type": "delivery",
                    "parent_id": buyer.id,
                    "street": f"Gran Via {buyer.id}",
                    "city": "Madrid",
                    "zip": "28013",
                    "country_id": spain.id,
                    "phone": f"+34 611 {buyer.id:06d}",
                }
                for buyer in buyers
            ]
        )
        pairs = list(zip(buyers, contacts, strict=True))
        pairs.insert(cls.SHARED[1], pairs[cls.SHARED[0]])
        cls.orders = cls.env["sale.order"].create(
            [
                {
                    "partner_id": buyer.id,
                    "partner_invoice_id": buyer.id,
                    "partner_shipping_id": contact.id,
                    "client_order_ref": f"405-{i:07d}",
                    "amazon_order_ref": f"405-{i:07d}",
                    "amazon_account_id": cls.account.id,
                    "amazon_status": "SHIPPED" if i < 1700 else "UNSHIPPED",
                    "amazon_last_update": cls.now - timedelta(days=60),
                    "order_line": [
                        Command.create(
                            {
                                "product_id": cls.product.id,
                                "product_uom_qty": 2,
                                "price_unit": 10.0,
                                "tax_id": [Command.clear()],
                            }
                        ),
                        Command.create(
                            {
                                "display_type": "line_note",
                                "name": f"Gift message: Happy birthday, dear {i}!",
                                "product_uom_qty": 0,
                            }
                        ),
                    ],
                }
                for i, (buyer, contact) in enumerate(pairs)
            ]
        )
        # Confirmed without action_confirm: no procurement, the test makes the moves.
        cls.orders.write({"state": "sale"})
        stock = (
            cls.env["stock.warehouse"]
            .search([("company_id", "=", cls.company.id)], limit=1)
            .lot_stock_id
        )
        customers = cls.env.ref("stock.stock_location_customers")

        def move(order, state, days_ago, qty=2):
            line = order.order_line.filtered(lambda line: not line.display_type)
            return {
                "name": line.name,
                "product_id": cls.product.id,
                "product_uom": cls.product.uom_id.id,
                "product_uom_qty": qty,
                "location_id": stock.id,
                "location_dest_id": customers.id,
                "sale_line_id": line.id,
                "company_id": cls.company.id,
                "state": state,
                "date": cls.now - timedelta(days=days_ago),
            }

        moves = []
        for i, order in enumerate(cls.orders):
            if i in cls.PAST:
                moves.append(move(order, "done", 40))
            elif i in cls.RECENT:
                moves.append(move(order, "done", 10))
            elif i in cls.WAITING:
                moves.append(move(order, "confirmed", 0))
            else:
                moves += [move(order, "done", 40, 1), move(order, "confirmed", 0, 1)]
        cls.env["stock.move"].create(moves)
        invoiced = cls.orders.browse([cls.orders[i].id for i in cls.INVOICED])
        cls.invoices = invoiced._create_invoices()
        cls.invoices.action_post()

    def snapshot(self):
        """What the run may change, per order: its contacts, gift note and references."""
        self.env.invalidate_all()
        return {
            order.id: (
                order.amazon_pii_removed_at,
                order.amazon_order_ref,
                order.client_order_ref,
                order.order_line.filtered("display_type").name,
                order.partner_id.read(PARTNER_FIELDS)[0],
                order.partner_shipping_id.read(PARTNER_FIELDS)[0],
            )
            for order in self.orders
        }

    def invoice_snapshot(self):
        self.env.invalidate_all()
        return {
            invoice.id: (
                invoice.state,
                invoice.name,
                invoice.amount_total,
                invoice.invoice_line_ids.mapped("name"),
                invoice.partner_id.read(INVOICE_PARTNER_FIELDS)[0],
                invoice.partner_shipping_id.read(INVOICE_PARTNER_FIELDS)[0],
                invoice.commercial_partner_id.read(INVOICE_PARTNER_FIELDS)[0],
            )
            for invoice in self.invoices
        }

    def test_retention_removes_exactly_the_orders_past_the_limit(self):
        self.assertEqual(self.account.pii_retention_days, 30)
        self.assertEqual(len(self.orders), self.ORDERS)
        self.assertEqual(self.account.pii_retention_due_count, len(self.PAST))
        before, invoices_before = self.snapshot(), self.invoice_snapshot()
        invoiced = self.invoices.line_ids.sale_line_ids.order_id
        self.assertEqual(len(invoiced), len(self.INVOICED))
        self.assertEqual(set(self.invoices.mapped("state")), {"posted"})

        self.env["amazon.account"]._cron_remove_expired_pii()

        after = self.snapshot()
        run = self.env["amazon.sync.run"].search(
            [("account_id", "=", self.account.id), ("kind", "=", "retention")]
        )
        self.assertEqual(len(run), 1)
        self.assertEqual((run.state, run.updated_count), ("done", len(self.PAST)))
        self.assertEqual(self.account.pii_retention_due_count, 0)
        self.assertEqual(self.invoice_snapshot(), invoices_before, "posted invoices unchanged")
        for i, order in enumerate(self.orders):
            removed_at, ref, client_ref, gift, buyer, contact = after[order.id]
            old = before[order.id]
            self.assertEqual((ref, client_ref), old[1:3], "Amazon's reference is kept")
            if i not in self.PAST:
                self.assertEqual(after[order.id], old, f"order {i} is not past the limit")
                continue
            self.assertTrue(removed_at, f"order {i} is past the limit")
            self.assertEqual(gift, "Gift message removed (data retention).")
            if i == self.SHARED[0]:
                self.assertEqual((buyer, contact), old[4:], "still needed by a recent order")
                continue
            for partner, old_partner in ((buyer, old[4]), (contact, old[5])):
                self.assertFalse(partner["phone"] or partner["amazon_buyer_key"])
                if i in self.INVOICED:
                    kept = ("name", "street", "city", "zip", "vat")
                    self.assertEqual([partner[f] for f in kept], [old_partner[f] for f in kept])
                else:
                    self.assertEqual(partner["name"], ANONYMOUS)
                    self.assertFalse(
                        partner["street"] or partner["city"] or partner["zip"] or partner["vat"]
                    )

        # Idempotent: nothing more to do, nothing changes.
        self.env["amazon.account"]._cron_remove_expired_pii()
        self.assertEqual(self.snapshot(), after)
        self.assertEqual(self.invoice_snapshot(), invoices_before)
        outcome = self.account._remove_expired_pii()
        self.assertEqual(outcome.counts["updated"], 0)
        self.assertEqual(self.snapshot(), after)

    def test_retention_period_is_per_account(self):
        self.account.pii_retention_days = 45
        self.assertEqual(self.account.pii_retention_due_count, 0)
        self.account.pii_retention_days = 5
        self.assertEqual(self.account.pii_retention_due_count, len(self.PAST) + len(self.RECENT))

    def test_cancelled_orders_lose_their_buyer_data_after_the_period_too(self):
        cancelled = self.orders[1700:1703]  # not delivered: their moves were waiting
        self.assertFalse(any(self.snapshot()[order.id][0] for order in cancelled))
        cancelled.order_line.move_ids._action_cancel()
        cancelled.write({"state": "cancel", "amazon_status": "CANCELLED"})
        old, recent, unknown = cancelled
        old.amazon_last_update = self.now - timedelta(days=40)
        recent.amazon_last_update = self.now - timedelta(days=10)
        unknown.amazon_last_update = False  # counted from the order's last write: now
        self.account.invalidate_recordset()
        self.assertEqual(self.account.pii_retention_due_count, len(self.PAST) + 1)

        self.env["amazon.account"]._cron_remove_expired_pii()

        after = self.snapshot()
        self.assertTrue(after[old.id][0], "cancelled 40 days ago: removed")
        self.assertEqual(after[old.id][4]["name"], ANONYMOUS)
        self.assertEqual(after[old.id][3], "Gift message removed (data retention).")
        self.assertFalse(after[recent.id][0], "cancelled 10 days ago: kept")
        self.assertFalse(after[unknown.id][0])
        self.assertEqual(old.amazon_order_ref, "405-0001700", "Amazon's reference is kept")
