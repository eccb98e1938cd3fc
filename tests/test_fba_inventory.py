# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""FBA stock that matches Amazon's: inventory reconciliation and customer returns on a seller
with 300 orders, and FBM returns that send nothing to Amazon, over HTTP against the SP-API
sandbox."""

import copy
from datetime import timedelta

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools import float_compare

from .common import AmazonSyncCase, AmazonTestCommon, Scenario, requires_sandbox

START = "2026-11-20T12:00:00Z"
CODES = ("ES", "DE", "FR", "IT", "UK")
ES = "A1RKKUPIHCS9HS"
UNKNOWN_SKUS = 2  # SKUs left without a product in Odoo


def _fba_order(ref, sku, quantity, created, shipped):
    return {
        "orderId": ref,
        "marketplaceId": ES,
        "fulfilledBy": "AMAZON",
        "createdTime": created,
        "events": [{"time": created, "status": "PENDING"}, {"time": shipped, "status": "SHIPPED"}],
        "items": [{"sku": sku, "quantity": quantity, "unitPrice": "20.00"}],
        "buyer": {"name": "Ana Ruiz", "email": f"{ref}@marketplace.amazon.es"},
        "recipient": {
            "name": "Ana Ruiz",
            "addressLine1": "Calle Mayor 1",
            "city": "Madrid",
            "postalCode": "28013",
            "countryCode": "ES",
        },
    }


@requires_sandbox
@tagged("post_install", "-at_install")
class TestFbaInventory(AmazonTestCommon):
    """300 generated orders on five marketplaces (seed 3), their FBA inventory, returns and
    unexplained events, plus hand-made orders of a lot-tracked product and of a mug."""

    sandbox_speed = 1000.0

    @classmethod
    def _sandbox_scenario(cls):
        generated = Scenario.generate(
            orders=300, seed=3, marketplaces=CODES, start=START, future_ratio=0.0
        ).to_dict()
        start = generated["start"]
        # Nothing happens on the clock while the tests run: what the scenario would do
        # later is left undone (orders stay pending: reserved at Amazon).
        for order in generated["orders"]:
            order["events"] = [e for e in order["events"] if e["time"] <= start]
        generated["orders"] += [
            _fba_order(
                "171-5550001-0000001",
                "HONEY-LOT",
                2,
                "2026-11-15T10:00:00Z",
                "2026-11-15T16:00:00Z",
            ),
            _fba_order(
                "171-5550002-0000001", "MUG-FBA", 3, "2026-11-15T11:00:00Z", "2026-11-15T18:00:00Z"
            ),
        ]
        fba = generated["fba"]
        fba["stock"]["HONEY-LOT"] = {"marketplaceId": ES, "initial": 10}
        fba["stock"]["MUG-FBA"] = {"marketplaceId": ES, "initial": 20}
        fba["returns"] += [
            {
                "orderId": "171-5550001-0000001",
                "sku": "HONEY-LOT",
                "disposition": "SELLABLE",
                "time": "2026-11-17T09:00:00Z",
                "licensePlateNumber": "LPN-HONEY-1",
            },
            {
                "orderId": "171-5550002-0000001",
                "sku": "MUG-FBA",
                "disposition": "SELLABLE",
                "time": "2026-11-17T10:00:00Z",
                "licensePlateNumber": "LPN-MUG-1",
            },
            {
                "orderId": "171-5550002-0000001",
                "sku": "MUG-FBA",
                "disposition": "DEFECTIVE",
                "time": "2026-11-17T11:00:00Z",
            },
        ]
        return Scenario.from_dict(generated)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.ref("base.group_user").implied_ids = [
            Command.link(cls.env.ref("stock.group_production_lot").id)
        ]
        for code in ("EUR", "GBP"):
            cls.env.ref(f"base.{code}").active = True
        marketplaces = cls.env["amazon.marketplace"].search([("code", "in", list(CODES))])
        cls.account.write(
            {
                "available_marketplace_ids": [Command.set(marketplaces.ids)],
                "active_marketplace_ids": [Command.set(marketplaces.ids)],
                "last_orders_sync": cls.sandbox.state.now().replace(tzinfo=None)
                - timedelta(days=8),
            }
        )
        cls.location = cls.account.location_id
        stock = cls.sandbox.state.fba["stock"]
        skus = sorted(stock)
        cls.unknown_skus = [s for s in skus if s not in ("HONEY-LOT", "MUG-FBA")][:UNKNOWN_SKUS]
        Product = cls.env["product.product"]
        cls.products = {}
        for sku in skus:
            if sku in cls.unknown_skus:
                continue
            cls.products[sku] = Product.create(
                {
                    "name": f"FBA {sku}",
                    "default_code": sku,
                    "detailed_type": "product",
                    "tracking": "lot" if sku == "HONEY-LOT" else "none",
                    "taxes_id": [Command.clear()],
                }
            )
        cls.honey = cls.products["HONEY-LOT"]
        cls.mug = cls.products["MUG-FBA"]
        cls.honey_lot = cls.env["stock.lot"].create(
            {"name": "HONEY-A", "product_id": cls.honey.id, "company_id": cls.company.id}
        )
        # What the seller sent to Amazon, as Odoo knows it: Amazon's starting stock, but a
        # few SKUs off (a missed reception, a transfer recorded twice).
        Quant = cls.env["stock.quant"]
        cls.drift = {}
        for index, sku in enumerate(sorted(cls.products)):
            entry = stock[sku]
            drift = 0
            if sku not in ("HONEY-LOT", "MUG-FBA") and index % 7 == 3:
                inbound = entry["inboundShipped"] + entry["inboundReceiving"]
                drift = -2 if inbound else 2
            cls.drift[sku] = drift
            lot = cls.honey_lot if sku == "HONEY-LOT" else None
            Quant._update_available_quantity(
                cls.products[sku], cls.location, entry["initial"] + drift, lot_id=lot
            )
        for product_field in (
            "shipping_product_id",
            "gift_wrap_product_id",
            "promotion_product_id",
            "default_product_id",
        ):
            cls.account[product_field].taxes_id = False
        outcome = cls.account._sync_orders()
        assert not outcome.errors, outcome.errors

    def setUp(self):
        super().setUp()
        # The database is rolled back after each test; Amazon's side is put back too.
        state = self.sandbox.state
        fba, orders = copy.deepcopy(state.fba), set(state.orders)

        def restore():
            with state.lock:
                state.fba = fba
                for order_id in set(state.orders) - orders:
                    del state._records[order_id]

        self.addCleanup(restore)

    # --- helpers ----------------------------------------------------------------------------
    def on_hand(self, product, location=None):
        return product.with_context(location=(location or self.location).id).qty_available

    def order(self, ref):
        return self.env["sale.order"].search(
            [("amazon_order_ref", "=", ref), ("amazon_account_id", "=", self.account.id)]
        )

    def reconcile(self):
        outcome = self.account._sync_inventory()
        self.assertFalse(outcome.errors)
        return self.account.reconciliation_ids.sorted("id")[-1]

    # --- tests ------------------------------------------------------------------------------
    def test_returns_come_back_once_sellable_to_stock_defective_apart(self):
        mug_before = self.on_hand(self.mug)
        honey_before = self.on_hand(self.honey)
        outcome = self.account._sync_returns()
        self.assertFalse(outcome.errors)
        Return = self.env["amazon.fba.return"]
        returns = Return.search([("account_id", "=", self.account.id)])
        scenario_returns = self.sandbox.state.fba["returns"]
        self.assertEqual(len(returns), len(scenario_returns))
        self.assertEqual(outcome.counts["created"] + outcome.counts["failed"], len(returns))

        mug_order = self.order("171-5550002-0000001")
        mug_returns = returns.filtered(lambda r: r.order_ref == "171-5550002-0000001")
        self.assertEqual(set(mug_returns.mapped("state")), {"done"})
        sellable = mug_returns.filtered("sellable")
        defective = mug_returns - sellable
        self.assertEqual(sellable.move_id.location_dest_id, self.location)
        unfulfillable = self.account.fba_unfulfillable_location_id
        self.assertTrue(unfulfillable)
        self.assertEqual(defective.move_id.location_dest_id, unfulfillable)
        self.assertEqual(defective.disposition, "DEFECTIVE")
        self.assertEqual(self.on_hand(self.mug), mug_before + 1)
        self.assertEqual(self.on_hand(self.mug, unfulfillable), 1)
        line = mug_order.order_line.filtered(lambda ln: ln.product_id == self.mug)
        self.assertEqual(line.qty_delivered, 1)  # 3 shipped, 2 came back
        self.assertEqual((sellable | defective).move_id.sale_line_id, line)
        self.assertIn("LPN-MUG-1", sellable.move_id.name)

        honey_return = returns.filtered(lambda r: r.sku == "HONEY-LOT")
        self.assertEqual(honey_return.state, "done")
        self.assertEqual(honey_return.move_id.move_line_ids.lot_id, self.honey_lot)
        self.assertEqual(self.on_hand(self.honey), honey_before + 1)

        unknown = returns.filtered(lambda r: r.state == "unknown_order")
        self.assertEqual(unknown.mapped("order_ref"), ["999-0000000-0000001"])
        self.assertFalse(unknown.move_id)
        self.assertTrue(self.account.returns_last_sync)
        self.assertFalse(self.account.returns_report_id)

        # Each return once: the next runs (overlapping windows) move nothing.
        moves = self.env["stock.move"].search_count([])
        again = self.account._sync_returns()
        self.assertFalse(again.errors)
        self.assertEqual(again.counts["created"], 0)
        self.assertEqual(Return.search_count([("account_id", "=", self.account.id)]), len(returns))
        self.assertEqual(self.env["stock.move"].search_count([]), moves)
        self.assertEqual(self.on_hand(self.mug), mug_before + 1)
        runs = self.account.sync_run_ids.filtered(lambda r: r.kind == "returns")
        self.assertEqual(len(runs), 2)
        self.assertEqual(set(runs.mapped("state")), {"done"})

    def test_reconciliation_explains_applies_and_then_proposes_nothing(self):
        self.account._sync_returns()
        record = self.reconcile()
        self.assertEqual(record.state, "draft")
        lines = record.line_ids
        amazon = self.sandbox.state.fba_inventory()
        self.assertEqual(set(lines.mapped("sku")), set(amazon))
        unknown = lines.filtered(lambda ln: ln.state == "unknown")
        self.assertEqual(sorted(unknown.mapped("sku")), self.unknown_skus)
        self.assertTrue(all(ln.explanation for ln in lines))
        self.assertFalse(lines.filtered(lambda ln: ln.state in ("wait", "manual")))
        for line in lines:
            row = amazon[line.sku]
            self.assertEqual(line.amazon_fulfillable, row["fulfillable"])
            self.assertEqual(line.amazon_reserved, row["pendingCustomerOrderQuantity"])
            self.assertEqual(line.amazon_quantity, line.amazon_fulfillable + line.amazon_reserved)
            if line.amazon_reserved and line.product_id:
                self.assertIn("reserved", line.explanation)
        to_adjust = lines.filtered(lambda ln: ln.state == "adjust")
        self.assertTrue(to_adjust)
        drifted = {sku for sku, drift in self.drift.items() if drift}
        events = {e["sku"] for e in self.sandbox.state.fba["events"]}
        unknown_returns = {
            r["sku"] for r in self.sandbox.state.fba["returns"] if r["orderId"].startswith("999-")
        }
        self.assertTrue(set(to_adjust.mapped("sku")) <= drifted | events | unknown_returns)
        self.assertTrue(drifted & set(to_adjust.mapped("sku")))
        for line in to_adjust:
            self.assertIn("The adjustment sets the Amazon location", line.explanation)
        self.assertEqual(record.adjust_count, len(to_adjust))

        record.action_apply()
        self.assertEqual(record.state, "applied")
        self.assertTrue(record.move_ids)
        self.assertEqual(set(record.move_ids.mapped("name")), {record.name})
        self.assertTrue(all(record.move_ids.mapped("is_inventory")))
        for line in lines.filtered("product_id"):
            expected = line.amazon_quantity + line.explained_quantity
            self.assertEqual(
                float_compare(self.on_hand(line.product_id), expected, precision_digits=3),
                0,
                line.sku,
            )
            if not line.explained_quantity:
                self.assertEqual(self.on_hand(line.product_id), line.amazon_quantity, line.sku)
        honey = lines.filtered(lambda ln: ln.sku == "HONEY-LOT")
        self.assertIn(honey.state, ("match", "applied"))

        second = self.reconcile()
        self.assertNotEqual(second, record)
        self.assertEqual(second.state, "nothing")
        self.assertEqual(second.adjust_count, 0)
        self.assertFalse(second.line_ids.filtered(lambda ln: ln.difference))
        runs = self.account.sync_run_ids.filtered(lambda r: r.kind == "inventory")
        self.assertEqual(len(runs), 2)

    def test_lot_tracked_difference_adjusts_its_only_lot_or_says_what_to_do(self):
        self.account._sync_returns()
        self.sandbox.state.add_inventory_event({"sku": "HONEY-LOT", "kind": "found", "quantity": 2})
        record = self.reconcile()
        honey = record.line_ids.filtered(lambda ln: ln.sku == "HONEY-LOT")
        self.assertEqual(honey.state, "adjust")
        self.assertEqual(honey.difference, 2)
        self.assertEqual(honey.lot_id, self.honey_lot)
        before = self.on_hand(self.honey)
        # An inventory adjustment is an inventory administrator's decision.
        stock_user = self._create_user("amazon_stock_user", "stock.group_stock_user")
        with self.assertRaises(UserError):
            record.with_user(stock_user).action_apply()
        stock_manager = self._create_user("amazon_stock_manager", "stock.group_stock_manager")
        record.with_user(stock_manager).action_apply()
        self.assertEqual(self.on_hand(self.honey), before + 2)
        quant = self.env["stock.quant"].search(
            [("product_id", "=", self.honey.id), ("location_id", "=", self.location.id)]
        )
        self.assertEqual(quant.lot_id, self.honey_lot)

        # Two lots in the location: which one Amazon lost cannot be told.
        other = self.env["stock.lot"].create(
            {"name": "HONEY-B", "product_id": self.honey.id, "company_id": self.company.id}
        )
        self.env["stock.quant"]._update_available_quantity(
            self.honey, self.location, 1, lot_id=other
        )
        self.sandbox.state.add_inventory_event({"sku": "HONEY-LOT", "kind": "found", "quantity": 1})
        self.sandbox.state.add_inventory_event(
            {"sku": "HONEY-LOT", "kind": "damage", "quantity": 3}
        )
        # Amazon counts fewer units since the last order sync: an order may be missing.
        record = self.reconcile()
        honey = record.line_ids.filtered(lambda ln: ln.sku == "HONEY-LOT")
        self.assertEqual(honey.state, "wait")
        self.assertIn("Synchronize the orders", honey.explanation)
        self.sandbox.state.advance(600)
        self.assertFalse(self.account._sync_orders().errors)
        record = self.reconcile()
        honey = record.line_ids.filtered(lambda ln: ln.sku == "HONEY-LOT")
        self.assertEqual(honey.state, "manual")
        self.assertEqual(honey.difference, -3)
        self.assertIn("Physical Inventory", honey.explanation)
        self.assertEqual(record.state, "nothing")  # nothing Odoo may apply by itself
        self.assertFalse(honey.lot_id)

    def test_auto_apply_option_and_unshipped_orders_are_not_a_difference(self):
        self.account._sync_returns()
        self.account.inventory_auto_apply = True
        record = self.reconcile()
        self.assertIn(record.state, ("applied", "nothing"))
        # Amazon takes an order: its units become reserved, Odoo does not move them.
        before = self.on_hand(self.mug)
        state = self.sandbox.state
        state.add_order(
            {
                **copy.deepcopy(_fba_order("171-5550003-0000001", "MUG-FBA", 2, START, START)),
                "createdTime": None,
                "events": None,
            }
        )
        second = self.reconcile()
        mug = second.line_ids.filtered(lambda ln: ln.sku == "MUG-FBA")
        self.assertEqual(mug.amazon_reserved, 2)
        self.assertEqual(mug.state, "match")
        self.assertIn("reserved", mug.explanation)
        self.assertEqual(self.on_hand(self.mug), before)
        self.assertEqual(second.state, "nothing")


@tagged("post_install", "-at_install")
class TestFbmReturns(AmazonSyncCase):
    """FBM returns are the seller's own receptions: Odoo's return pickings, nothing to Amazon."""

    def test_returning_an_fbm_delivery_sends_nothing_to_amazon(self):
        service = self.env["product.product"].create({"name": "Delivery", "type": "service"})
        carrier = self.env["delivery.carrier"].create(
            {"name": "DHL", "product_id": service.id, "delivery_type": "fixed"}
        )
        self.env["stock.quant"]._update_available_quantity(
            self.mug, self.account.warehouse_id.lot_stock_id, 5
        )
        self.add_order(
            "171-0000901-0000001", items=[{"sku": "MUG-RED", "quantity": 2, "unitPrice": "12.10"}]
        )
        self.sync()
        order = self.amazon_order("171-0000901-0000001")
        delivery = self.ship(order.picking_ids, carrier, tracking="JJD000999")
        self.assertEqual(delivery.amazon_sync_status, "pending")
        self.assertEqual(self.account._sync_pickings(trigger="cron").counts["created"], 1)
        calls = self.sandbox.state.stats["calls"].get("confirmShipment", 0)
        shipments = len(self.sandbox.state.shipments())

        wizard = Form(
            self.env["stock.return.picking"].with_context(
                active_id=delivery.id, active_model="stock.picking"
            )
        ).save()
        action = wizard.create_returns()
        returned = self.ship(self.env["stock.picking"].browse(action["res_id"]), False)
        self.assertEqual(returned.picking_type_code, "incoming")
        self.assertFalse(returned.amazon_sync_status)
        self.assertFalse(self.env["stock.picking"]._amazon_pending(self.account))
        self.assertEqual(order.order_line.qty_delivered, 0)
        counts = self.account._sync_pickings(trigger="cron").counts
        self.assertFalse(counts["created"] or counts["failed"])
        self.assertEqual(self.sandbox.state.stats["calls"].get("confirmShipment", 0), calls)
        self.assertEqual(len(self.sandbox.state.shipments()), shipments)
        self.assertEqual(delivery.amazon_sync_status, "done")
