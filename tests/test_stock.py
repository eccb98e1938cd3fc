# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Stock: FBA locations per account, tracked products and kits in FBA orders,
and the FBM stock push through JSON_LISTINGS_FEED, against the SP-API sandbox."""

import json
import os
import unittest
from datetime import timedelta
from pathlib import Path

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import AmazonSyncCase, Scenario

ES = "A1RKKUPIHCS9HS"
SELLER = "A1SELLERTEST"  # the seller id of the test accounts (tests/common.py)
SCHEMAS_DIR = Path(os.path.realpath(__file__)).parents[2] / "shared" / "sp-api" / "schemas"
REPORT_SCHEMA = SCHEMAS_DIR / "listings-feed-processing-report-schema-v2.json"


class AmazonStockCase(AmazonSyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Quant = cls.env["stock.quant"]
        cls.amazon_location = cls.account.location_id
        cls.warehouse = cls.account.warehouse_id

    def put(self, product, location, quantity, lot=None, days_ago=0):
        """Put stock in ``location`` (what an inventory adjustment does), received
        ``days_ago`` days ago."""
        in_date = self.env.cr.now() - timedelta(days=days_ago)
        self.Quant._update_available_quantity(
            product, location, quantity, lot_id=lot, in_date=in_date
        )

    def moves_of(self, order):
        return self.env["stock.move"].search([("sale_line_id", "in", order.order_line.ids)])


@tagged("post_install", "-at_install")
class TestFbaLocations(AmazonStockCase):
    def _split_account(self):
        """The seller watches Germany apart: a second record with DE only and its own
        location; the first record keeps the other marketplaces."""
        de = self.env["amazon.marketplace"].search([("code", "=", "DE")])
        self.account.active_marketplace_ids = [Command.unlink(de.id)]
        location = self.env["stock.location"].create(
            {
                "name": "Amazon DE",
                "usage": "internal",
                "location_id": self.warehouse.view_location_id.id,
            }
        )
        second = self._create_account(
            "Amazon Test Account (DE)",
            location_id=location.id,
            available_marketplace_ids=[Command.set(de.ids)],
            active_marketplace_ids=[Command.set(de.ids)],
            last_orders_sync=self.account.last_orders_sync,
        )
        return second, de

    def test_two_accounts_isolate_marketplaces_into_two_locations(self):
        second, _de = self._split_account()
        self.assertNotEqual(second.location_id, self.account.location_id)
        self.add_order(
            "181-0000001-0000001",
            marketplace="ES",
            fulfilled_by="AMAZON",
            items=[{"sku": "MUG-RED", "quantity": 2, "unitPrice": "12.10"}],
        )
        self.add_order(
            "181-0000001-0000002",
            marketplace="DE",
            fulfilled_by="AMAZON",
            items=[{"sku": "MUG-DE", "quantity": 3, "unitPrice": "7.77"}],
        )
        self.sync()
        second._sync_orders()
        # Each record synced again: nothing new, nothing twice.
        self.sync()
        second._sync_orders()
        orders = self.env["sale.order"].search(
            [("amazon_order_ref", "in", ["181-0000001-0000001", "181-0000001-0000002"])]
        )
        self.assertEqual(len(orders), 2, "each Amazon order exists once")
        spain = orders.filtered(lambda o: o.amazon_order_ref == "181-0000001-0000001")
        germany = orders - spain
        self.assertEqual(spain.amazon_account_id, self.account)
        self.assertEqual(germany.amazon_account_id, second)
        self.assertEqual(self.moves_of(spain).location_id, self.account.location_id)
        self.assertEqual(self.moves_of(germany).location_id, second.location_id)
        self.assertEqual(self.moves_of(germany).mapped("state"), ["done"])
        self.assertEqual(self.mug_de.with_context(location=second.location_id.id).qty_available, -3)
        self.assertEqual(
            self.mug_de.with_context(location=self.account.location_id.id).qty_available, 0
        )

    def test_overlapping_marketplaces_of_one_seller_are_refused(self):
        second, de = self._split_account()
        spain = self.env["amazon.marketplace"].search([("code", "=", "ES")])
        with self.assertRaises(ValidationError) as caught:
            second.write(
                {
                    "available_marketplace_ids": [Command.link(spain.id)],
                    "active_marketplace_ids": [Command.link(spain.id)],
                }
            )
        message = str(caught.exception)
        self.assertIn(spain.name, message)
        self.assertIn(self.account.name, message)
        self.assertNotIn(de.name, message, "only the overlapping marketplaces are named")
        # Another company's record of the same seller is refused as well.
        company_b = self._create_company("Amazon Stock Company B")
        with self.assertRaises(ValidationError):
            self._create_account(
                "Same seller, company B",
                company=company_b,
                available_marketplace_ids=[Command.set(de.ids)],
                active_marketplace_ids=[Command.set(de.ids)],
            )
        # Archived records and other sellers do not count.
        second.active = False
        third = self._create_account(
            "Replacement DE",
            available_marketplace_ids=[Command.set(de.ids)],
            active_marketplace_ids=[Command.set(de.ids)],
        )
        self.assertTrue(third)
        other_seller = self._create_account(
            "Other seller",
            seller_id="A9OTHERSELLER",
            available_marketplace_ids=[Command.set(spain.ids)],
            active_marketplace_ids=[Command.set(spain.ids)],
        )
        self.assertTrue(other_seller)
        with self.assertRaises(ValidationError):
            second.active = True


@tagged("post_install", "-at_install")
class TestFbaTrackedProducts(AmazonStockCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Lots and serial numbers need the "Lots & Serial Numbers" setting.
        cls.env.ref("base.group_user").implied_ids = [
            Command.link(cls.env.ref("stock.group_production_lot").id)
        ]

        def tracked(code, tracking):
            return cls.env["product.product"].create(
                {
                    "name": f"Product {code}",
                    "default_code": code,
                    "detailed_type": "product",
                    "tracking": tracking,
                    "taxes_id": [Command.set(cls.tax_es.ids)],
                }
            )

        cls.honey = tracked("HONEY-LOT", "lot")
        cls.phone = tracked("PHONE-SN", "serial")

    def lot(self, product, name):
        return self.env["stock.lot"].create(
            {"name": name, "product_id": product.id, "company_id": self.company.id}
        )

    def fba_order(self, ref, sku, quantity, serials=None):
        item = {"sku": sku, "quantity": quantity, "unitPrice": "20.00"}
        if serials:
            item["serialNumbers"] = serials
        self.add_order(ref, fulfilled_by="AMAZON", items=[item])

    def test_lot_tracked_order_takes_oldest_lots_first(self):
        old, new = self.lot(self.honey, "HONEY-OLD"), self.lot(self.honey, "HONEY-NEW")
        self.put(self.honey, self.amazon_location, 5, lot=new, days_ago=1)
        self.put(self.honey, self.amazon_location, 2, lot=old, days_ago=30)
        self.put(self.honey, self.warehouse.lot_stock_id, 10, lot=old, days_ago=60)
        self.fba_order("182-0000001-0000001", "HONEY-LOT", 3)
        self.sync()
        order = self.amazon_order("182-0000001-0000001")
        moves = self.moves_of(order)
        self.assertEqual(moves.mapped("state"), ["done"])
        taken = {line.lot_id.name: line.quantity for line in moves.move_line_ids}
        self.assertEqual(taken, {"HONEY-OLD": 2, "HONEY-NEW": 1})
        self.assertEqual(moves.move_line_ids.location_id, self.amazon_location)
        self.assertEqual(self.honey.with_context(location=self.amazon_location.id).qty_available, 4)
        self.assertEqual(order.order_line.filtered("amazon_item_ref").qty_delivered, 3)
        self.assertFalse(order.activity_ids)

    def test_serial_numbers_reported_by_amazon_are_used(self):
        serials = {name: self.lot(self.phone, name) for name in ("SN-1", "SN-2", "SN-3")}
        for days, name in ((30, "SN-1"), (20, "SN-2"), (10, "SN-3")):
            self.put(self.phone, self.amazon_location, 1, lot=serials[name], days_ago=days)
        # Amazon names one of the two units it shipped; the other is the oldest.
        self.fba_order("182-0000002-0000001", "PHONE-SN", 2, serials=["SN-3", "SN-UNKNOWN"])
        self.sync()
        order = self.amazon_order("182-0000002-0000001")
        moves = self.moves_of(order)
        self.assertEqual(moves.mapped("state"), ["done"])
        self.assertEqual(sorted(moves.move_line_ids.lot_id.mapped("name")), ["SN-1", "SN-3"])
        remaining = self.Quant.search(
            [
                ("product_id", "=", self.phone.id),
                ("location_id", "=", self.amazon_location.id),
                ("quantity", ">", 0),
            ]
        )
        self.assertEqual(remaining.lot_id.mapped("name"), ["SN-2"])

    def test_tracked_order_without_lots_is_created_waiting_and_flagged(self):
        self.fba_order("182-0000003-0000001", "PHONE-SN", 1)
        self.add_order(
            "182-0000003-0000002",
            fulfilled_by="AMAZON",
            items=[{"sku": "MUG-RED", "quantity": 1, "unitPrice": "12.10"}],
        )
        result = self.sync()
        self.assertEqual(result["created"], 2)
        self.assertEqual(result["failed"], 0, "a missing lot never fails the sync")
        blocked = self.amazon_order("182-0000003-0000001")
        self.assertEqual(blocked.state, "sale")
        move = self.moves_of(blocked)
        self.assertEqual(len(move), 1)
        self.assertNotEqual(move.state, "done")
        self.assertEqual(move.location_id, self.amazon_location)
        self.assertTrue(move.picking_id, "the waiting move sits in a delivery to validate")
        self.assertEqual(move.picking_id.sale_id, blocked)
        activity = blocked.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.account.user_id)
        self.assertIn(self.phone.display_name, activity.note)
        self.assertIn(move.picking_id.name, activity.note)
        self.assertEqual(blocked.order_line.filtered("amazon_item_ref").qty_delivered, 0)
        # The other order of the same sync is unaffected.
        other = self.amazon_order("182-0000003-0000002")
        self.assertEqual(self.moves_of(other).mapped("state"), ["done"])
        # Fixing the stock and validating the delivery completes the order.
        serial = self.lot(self.phone, "SN-LATE")
        self.put(self.phone, self.amazon_location, 1, lot=serial)
        picking = move.picking_id
        picking.action_assign()
        picking.move_ids.picked = True
        picking.button_validate()
        self.assertEqual(move.state, "done")
        self.assertEqual(move.move_line_ids.lot_id, serial)
        self.assertEqual(blocked.order_line.filtered("amazon_item_ref").qty_delivered, 1)

    def test_lot_tracked_order_with_too_few_lots_waits(self):
        lot = self.lot(self.honey, "HONEY-FEW")
        self.put(self.honey, self.amazon_location, 1, lot=lot)
        self.fba_order("182-0000004-0000001", "HONEY-LOT", 4)
        self.sync()
        order = self.amazon_order("182-0000004-0000001")
        move = self.moves_of(order)
        self.assertNotEqual(move.state, "done")
        self.assertEqual(move.move_line_ids.lot_id, lot, "what exists is reserved")
        self.assertTrue(order.activity_ids)


@tagged("post_install", "-at_install")
class TestFbaKits(AmazonStockCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "mrp.bom" not in cls.env:
            raise unittest.SkipTest(
                "mrp is not installed: kits (phantom BoMs) are only exploded with mrp"
            )

        def product(code, kind="product"):
            return cls.env["product.product"].create(
                {"name": f"Product {code}", "default_code": code, "detailed_type": kind}
            )

        cls.kit = product("KIT-BOX", "consu")
        cls.cup = product("KIT-CUP")
        cls.saucer = product("KIT-SAUCER")
        cls.leaflet = product("KIT-LEAFLET", "consu")
        cls.env["mrp.bom"].create(
            {
                "product_tmpl_id": cls.kit.product_tmpl_id.id,
                "type": "phantom",
                "product_qty": 1,
                "bom_line_ids": [
                    Command.create({"product_id": cls.cup.id, "product_qty": 2}),
                    Command.create({"product_id": cls.saucer.id, "product_qty": 1}),
                    Command.create({"product_id": cls.leaflet.id, "product_qty": 1}),
                ],
            }
        )

    def test_kit_in_fba_order_moves_its_components(self):
        self.put(self.cup, self.amazon_location, 10)
        self.put(self.saucer, self.amazon_location, 10)
        self.add_order(
            "183-0000001-0000001",
            fulfilled_by="AMAZON",
            items=[{"sku": "KIT-BOX", "quantity": 3, "unitPrice": "30.00"}],
        )
        self.sync()
        order = self.amazon_order("183-0000001-0000001")
        moves = self.moves_of(order)
        self.assertEqual(set(moves.mapped("state")), {"done"})
        moved = {move.product_id: move.quantity for move in moves}
        self.assertEqual(moved, {self.cup: 6, self.saucer: 3, self.leaflet: 3})
        self.assertEqual(moves.location_id, self.amazon_location)
        self.assertEqual(self.cup.with_context(location=self.amazon_location.id).qty_available, 4)
        if "sale_mrp" in self.env.registry._init_modules:
            line = order.order_line.filtered("amazon_item_ref")
            self.assertEqual(line.qty_delivered, 3)


@tagged("post_install", "-at_install")
class TestStockPush(AmazonStockCase):
    @classmethod
    def _sandbox_scenario(cls):
        return Scenario.from_dict(
            {
                "seller": {"sellerId": SELLER},
                "marketplaces": list(cls.marketplace_codes),
                "listings": [
                    {"sku": "MUG-RED", "quantity": 0},
                    {"sku": "BOOK-1", "quantity": 0},
                    {"sku": "MUG-FBA", "quantity": 0},
                ],
                "orders": [],
                "start": "2026-11-20T12:00:00Z",
            }
        )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.spain = cls.env["amazon.marketplace"].search([("code", "=", "ES")])
        cls.mug_fba = cls.env["product.product"].create(
            {"name": "FBA mug", "default_code": "MUG-FBA", "detailed_type": "product"}
        )
        cls.ghost = cls.env["product.product"].create(
            {"name": "Ghost", "default_code": "GHOST-SKU", "detailed_type": "product"}
        )

    def offer(self, sku, product, channel="fbm", sync=True):
        return self.env["amazon.offer"].create(
            {
                "account_id": self.account.id,
                "marketplace_id": self.spain.id,
                "sku": sku,
                "product_id": product.id,
                "fulfillment_channel": channel,
                "sync_stock": sync,
            }
        )

    def push(self):
        return self.account._sync_stock().counts

    def finish_feeds(self):
        """Let Amazon process the feeds sent, then read their reports."""
        self.sandbox.state.advance(600)
        return self.push()

    def uploaded(self, feed):
        return json.loads(self.sandbox.state.documents[feed.document_ref]["content"])

    def test_order_sync_records_the_fulfillment_channel_of_new_offers(self):
        self.add_order("184-0000001-0000001", fulfilled_by="MERCHANT")
        self.add_order(
            "184-0000001-0000002",
            fulfilled_by="AMAZON",
            items=[{"sku": "MUG-FBA", "quantity": 1, "unitPrice": "9.00"}],
        )
        self.sync()
        offers = self.account.offer_ids
        channels = {offer.sku: offer.fulfillment_channel for offer in offers}
        self.assertEqual(channels, {"MUG-RED": "fbm", "MUG-FBA": "fba"})
        fba = offers.filtered(lambda o: o.sku == "MUG-FBA")
        with self.assertRaises(ValidationError):
            fba.sync_stock = True

    def test_push_sends_changed_offers_only_and_never_fba(self):
        mug, book = self.offer("MUG-RED", self.mug), self.offer("BOOK-1", self.book)
        fba = self.offer("MUG-FBA", self.mug_fba, channel="fba", sync=False)
        idle = self.offer("IDLE-SKU", self.mug_de, sync=False)
        self.put(self.mug, self.warehouse.lot_stock_id, 7)
        self.put(self.mug, self.amazon_location, 50)  # FBA stock is not the seller's to ship
        self.put(self.mug_fba, self.warehouse.lot_stock_id, 9)
        self.put(self.book, self.warehouse.lot_stock_id, 2.5)
        counts = self.push()
        self.assertEqual(counts["created"], 2)
        feed = self.account.stock_feed_ids
        self.assertEqual(len(feed), 1, "one feed per marketplace")
        self.assertEqual(feed.marketplace_id, self.spain)
        sent = self.uploaded(feed)
        self.assertEqual(sent["header"], {"sellerId": SELLER, "version": "2.0"})
        self.assertEqual(
            {m["sku"]: m["patches"][0]["value"][0]["quantity"] for m in sent["messages"]},
            {"MUG-RED": 7, "BOOK-1": 2},
        )
        self.assertEqual((mug | book).mapped("stock_sync_state"), ["pending", "pending"])
        self.assertFalse(fba.stock_sync_state or idle.stock_sync_state)
        # Amazon processes the feed: the next run reads the report.
        counts = self.finish_feeds()
        self.assertEqual(counts["updated"], 2)
        self.assertEqual(counts["created"], 0, "nothing changed: nothing sent")
        self.assertEqual(feed.state, "done")
        self.assertEqual((mug | book).mapped("stock_sync_state"), ["done", "done"])
        self.assertEqual(self.sandbox.state.listings["MUG-RED"]["quantity"], 7)
        self.assertEqual(self.sandbox.state.listings["BOOK-1"]["quantity"], 2)
        self.assertEqual(self.sandbox.state.listings["MUG-FBA"]["quantity"], 0)
        # A sale reserves two mugs: only the mug is sent again.
        self.put(self.mug, self.warehouse.lot_stock_id, -2)
        counts = self.push()
        self.assertEqual(counts["created"], 1)
        latest = self.account.stock_feed_ids.sorted("id")[-1]
        self.assertEqual([m["sku"] for m in self.uploaded(latest)["messages"]], ["MUG-RED"])
        self.finish_feeds()
        self.assertEqual(mug.stock_last_qty, 5)
        self.assertEqual(self.sandbox.state.listings["MUG-RED"]["quantity"], 5)
        self.assertEqual(len(self.account.stock_feed_ids), 2)
        self.assertEqual(self.account.sync_run_ids[:1].kind, "stock")

    def test_processing_report_errors_fail_their_offers_and_tell_the_salesperson(self):
        mug = self.offer("MUG-RED", self.mug)
        ghost = self.offer("GHOST-SKU", self.ghost)
        self.put(self.mug, self.warehouse.lot_stock_id, 3)
        self.push()
        counts = self.finish_feeds()
        self.assertEqual(counts["updated"], 1)
        self.assertEqual(counts["failed"], 1)
        self.assertEqual(mug.stock_sync_state, "done")
        self.assertEqual(ghost.stock_sync_state, "error")
        self.assertIn("GHOST-SKU", ghost.stock_sync_message)
        mail = self.env["mail.message"].search(
            [("model", "=", "amazon.account"), ("res_id", "=", self.account.id)],
            order="id desc",
            limit=1,
        )
        self.assertIn("GHOST-SKU", mail.body)
        self.assertNotIn("MUG-RED", mail.body)
        self.assertIn(self.account.user_id.partner_id, mail.partner_ids)
        # Unchanged quantity: not resent (no second e-mail) until asked.
        self.assertEqual(self.push()["created"], 0)
        ghost.action_amazon_push_stock_again()
        self.assertEqual(self.push()["created"], 1)

    def test_feed_amazon_never_processes_is_given_up_and_its_offers_sent_again(self):
        mug = self.offer("MUG-RED", self.mug)
        self.put(self.mug, self.warehouse.lot_stock_id, 4)
        state = self.sandbox.state
        state.FEED_QUEUE_SECONDS = 10**9  # Amazon's queue is stuck
        self.addCleanup(vars(state).pop, "FEED_QUEUE_SECONDS", None)
        self.assertEqual(self.push()["created"], 1)
        stuck = self.account.stock_feed_ids
        # Amazon keeps it queued: a later run waits...
        self.assertEqual(self.push()["created"], 0)
        self.assertEqual((stuck.state, mug.stock_sync_state), ("submitted", "pending"))
        # ...until the feed is a day old: given up, the quantity goes in a new feed.
        self.env.cr.execute(
            "UPDATE amazon_feed SET create_date = create_date - interval '25 hours' WHERE id = %s",
            [stuck.id],
        )
        stuck.invalidate_recordset(["create_date"])
        counts = self.push()
        self.assertEqual((counts["failed"], counts["created"]), (1, 1))
        self.assertEqual(stuck.state, "error")
        self.assertIn("24", stuck.error)
        self.assertEqual(mug.stock_sync_state, "pending")
        self.assertNotEqual(mug.stock_feed_id, stuck)
        del state.FEED_QUEUE_SECONDS  # Amazon's queue moves again
        self.finish_feeds()
        self.assertEqual(mug.stock_sync_state, "done")
        self.assertEqual(self.sandbox.state.listings["MUG-RED"]["quantity"], 4)

    def test_processing_report_matches_amazons_schema(self):
        if not REPORT_SCHEMA.is_file():
            self.skipTest(f"Amazon's listings processing report schema is absent ({SCHEMAS_DIR})")
        from jsonschema import Draft7Validator

        self.offer("MUG-RED", self.mug)
        self.offer("GHOST-SKU", self.ghost)
        self.push()
        self.finish_feeds()
        feed = self.account.stock_feed_ids
        self.assertTrue(feed.result_document_ref)
        report = self.sandbox.state.feeds[feed.feed_ref]["report"]
        Draft7Validator(json.loads(REPORT_SCHEMA.read_text())).validate(report)
        self.assertEqual(report["summary"]["messagesAccepted"], 1)

    def test_cron_pushes_every_account(self):
        self.offer("MUG-RED", self.mug)
        self.env["amazon.account"]._cron_sync_stock()
        run = self.account.sync_run_ids[:1]
        self.assertEqual(run.kind, "stock")
        self.assertEqual(run.trigger, "cron")
        self.assertEqual(run.state, "done")
        self.assertEqual(run.created_count, 1)
