# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""FBM shipments reported to Amazon, over HTTP against the SP-API sandbox."""

import unittest

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import html2plaintext

from ..amazon_sp import const
from .common import AmazonSyncCase

FAST = {"amazon_client_options": {"max_attempts": 1, "timeout": 1}}


@tagged("post_install", "-at_install")
class TestShipments(AmazonSyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        service = cls.env["product.product"].create({"name": "Delivery", "type": "service"})

        cls.service = service
        cls.dhl = cls.carrier("DHL")

    @classmethod
    def carrier(cls, name):
        return cls.env["delivery.carrier"].create(
            {"name": name, "product_id": cls.service.id, "delivery_type": "fixed"}
        )

    # --- helpers ----------------------------------------------------------------------------
    def fbm_order(self, ref, items=None, marketplace="ES"):
        self.add_order(
            ref,
            marketplace=marketplace,
            items=items
            or [
                {"sku": "MUG-RED", "quantity": 2, "unitPrice": "12.10"},
                {"sku": "BOOK-1", "quantity": 1, "unitPrice": "20.00"},
            ],
        )
        self.sync()
        order = self.amazon_order(ref)
        self.assertEqual(order.amazon_channel, "fbm")
        return order

    def delivery(self, order):
        return order.picking_ids.filtered(
            lambda p: p.picking_type_code == "outgoing" and p.state not in ("done", "cancel")
        )

    def ship(self, picking, quantities=None, carrier=None, tracking="JJD000123456789"):
        """Ship ``picking`` (see AmazonSyncCase.ship) with DHL unless told otherwise."""
        carrier = carrier if carrier is not None else self.dhl
        return super().ship(picking, carrier, tracking=tracking, quantities=quantities)

    def send(self, **context):
        """Run the pickings cron's work for the account (what the trigger would do)."""
        account = self.account.with_context(**context) if context else self.account
        return account._sync_pickings(trigger="cron").counts

    def items_sent(self, shipment):
        return {
            line["orderItemId"]: line["quantity"]
            for line in shipment["packageDetail"]["orderItems"]
        }

    def item_ref(self, order, product):
        return order.order_line.filtered(lambda line: line.product_id == product).amazon_item_ref

    # --- tests ------------------------------------------------------------------------------
    def test_full_shipment_is_confirmed_after_validation(self):
        ref = "171-0000101-0000001"
        order = self.fbm_order(ref)
        picking = self.delivery(order)
        cron = self.env.ref("sale_amazon_connector.ir_cron_sync_pickings")
        triggers_before = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        self.ship(picking)
        self.assertEqual(picking.amazon_sync_status, "pending")
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            triggers_before + 1,
            "validation triggers the pickings cron",
        )
        self.assertEqual(self.sandbox.state.shipments(ref), [], "nothing sent while validating")

        self.env["amazon.account"]._cron_sync_pickings()

        self.assertEqual(picking.amazon_sync_status, "done")
        self.assertFalse(picking.amazon_sync_error)
        [shipment] = self.sandbox.state.shipments(ref)
        detail = shipment["packageDetail"]
        self.assertEqual(shipment["marketplaceId"], order.amazon_marketplace_id.api_ref)
        self.assertEqual(detail["packageReferenceId"], str(picking.id))
        self.assertEqual(detail["carrierCode"], "DHL")
        self.assertNotIn("carrierName", detail)
        self.assertEqual(detail["trackingNumber"], "JJD000123456789")
        self.assertEqual(
            self.items_sent(shipment),
            {self.item_ref(order, self.mug): 2, self.item_ref(order, self.book): 1},
        )
        self.assertEqual(self.sandbox.state.order_status(ref), "SHIPPED")
        run = self.env["amazon.sync.run"].search(
            [("account_id", "=", self.account.id), ("kind", "=", "pickings")], limit=1
        )
        self.assertEqual((run.state, run.created_count, run.failed_count), ("done", 1, 0))
        self.assertIn("Shipment confirmed to Amazon", html2plaintext(picking.message_ids[0].body))
        # The order sync then sees it shipped, with nothing to flag.
        self.sandbox.state.advance(600)
        self.sync()
        self.assertEqual(order.amazon_status, "SHIPPED")
        self.assertFalse(order.activity_ids)

    def test_stock_user_seeing_own_sales_only_validates_deliveries(self):
        """A warehouse user whose sales rights are "own documents only" validates the
        deliveries of orders they may not read, Amazon's and the others."""
        clerk = self._create_user(
            "amazon_stock_clerk", "stock.group_stock_user,sales_team.group_sale_salesman"
        )
        ref = "171-0000109-0000001"
        order = self.fbm_order(ref)
        other = self.env["sale.order"].create(
            {
                "partner_id": self.env["res.partner"].create({"name": "Local buyer"}).id,
                "user_id": self.salesperson.id,
                "order_line": [Command.create({"product_id": self.mug.id, "product_uom_qty": 1})],
            }
        )
        other.action_confirm()
        for sale in (order, other):
            self.assertNotEqual(sale.user_id, clerk)
            with self.assertRaises(AccessError, msg="the clerk may not read this order"):
                sale.with_user(clerk).check_access_rule("read")

        amazon_picking = self.ship(self.delivery(order).with_user(clerk))
        self.assertEqual(amazon_picking.amazon_sync_status, "pending")
        # The clerk may also send it again at once (the Retry button).
        amazon_picking.action_retry_amazon_sync()
        self.assertEqual(amazon_picking.amazon_sync_status, "done")
        self.assertEqual(len(self.sandbox.state.shipments(ref)), 1)
        other_picking = self.ship(self.delivery(other).with_user(clerk), carrier=False)
        self.assertFalse(other_picking.amazon_sync_status)
        # Amazon's rules still hold for them: no tracking reference, no validation.
        second = self.fbm_order("171-0000109-0000002")
        with self.assertRaisesRegex(UserError, "tracking reference"):
            self.ship(self.delivery(second).with_user(clerk), tracking=False)

    def test_partial_delivery_and_backorder_send_only_what_shipped(self):
        ref = "171-0000102-0000001"
        order = self.fbm_order(ref)
        first = self.delivery(order)
        self.ship(first, {self.mug: 1})
        self.send()
        self.assertEqual(first.amazon_sync_status, "done")
        [shipment] = self.sandbox.state.shipments(ref)
        self.assertEqual(self.items_sent(shipment), {self.item_ref(order, self.mug): 1})
        self.assertEqual(self.sandbox.state.order_status(ref), "PARTIALLY_SHIPPED")

        backorder = self.delivery(order)
        self.assertEqual(backorder.backorder_id, first)
        self.assertFalse(backorder.amazon_sync_status)
        self.ship(backorder, tracking="JJD000999")
        self.send()
        self.assertEqual(backorder.amazon_sync_status, "done")
        shipments = self.sandbox.state.shipments(ref)
        self.assertEqual(len(shipments), 2)
        self.assertEqual(
            self.items_sent(shipments[1]),
            {self.item_ref(order, self.mug): 1, self.item_ref(order, self.book): 1},
        )
        self.assertEqual(shipments[1]["packageDetail"]["packageReferenceId"], str(backorder.id))
        self.assertEqual(self.sandbox.state.order_status(ref), "SHIPPED")

    def test_missing_or_invalid_carrier_and_tracking_block_validation(self):
        for index, marketplace in enumerate(("ES", "DE", "US")):
            sku = {"ES": "MUG-RED", "DE": "MUG-DE", "US": "MUG-US"}[marketplace]
            order = self.fbm_order(
                f"171-0000103-000000{index}",
                items=[{"sku": sku, "quantity": 1, "unitPrice": "10.00"}],
                marketplace=marketplace,
            )
            picking = self.delivery(order)
            cases = [
                (self.env["delivery.carrier"], "JJD1", "carrier"),
                (self.dhl, False, "tracking reference"),
                (self.dhl, "   ", "tracking reference"),
                (self.dhl, "X" * (const.TRACKING_REF_MAX_LENGTH + 1), "longer than"),
                (self.dhl, "JJD1\nJJD2", "line breaks"),
            ]
            for carrier, tracking, message in cases:
                with self.subTest(marketplace=marketplace, tracking=tracking):
                    with self.assertRaises(UserError) as caught:
                        self.ship(picking, carrier=carrier, tracking=tracking)
                    self.assertIn(message, str(caught.exception))
                    self.assertNotEqual(picking.state, "done")
                    self.assertFalse(picking.amazon_sync_status)
        # Pickings of other sale orders are none of Amazon's business.
        other = self.env["sale.order"].create(
            {
                "partner_id": self.env.user.partner_id.id,
                "order_line": [(0, 0, {"product_id": self.mug.id, "product_uom_qty": 1})],
            }
        )
        other.action_confirm()
        self.ship(other.picking_ids, carrier=self.env["delivery.carrier"], tracking=False)
        self.assertFalse(other.picking_ids.amazon_sync_status)

    def test_carrier_names_are_resolved_like_amazon_expects(self):
        table = [
            ("easyship", "Easyship", None),  # a carrier named like an Amazon carrier
            ("dhl EXPRESS", "DHL Express", None),  # case variant
            ("Self Delivery", const.CARRIER_SELF_DELIVERY, None),
            ("Autoentrega", const.CARRIER_SELF_DELIVERY, None),
            ("Mensajería Paco", const.CARRIER_OTHER, "Mensajería Paco"),  # free text
        ]
        pickings = {}
        for index, (name, _code, _name) in enumerate(table):
            ref = f"171-0000104-000000{index}"
            order = self.fbm_order(ref, items=[{"sku": "MUG-RED", "unitPrice": "10.00"}])
            pickings[ref] = self.ship(self.delivery(order), carrier=self.carrier(name))
        self.assertEqual(self.send()["created"], len(table))
        for index, (name, code, carrier_name) in enumerate(table):
            ref = f"171-0000104-000000{index}"
            with self.subTest(carrier=name):
                [shipment] = self.sandbox.state.shipments(ref)
                detail = shipment["packageDetail"]
                self.assertEqual(detail["carrierCode"], code)
                self.assertEqual(detail.get("carrierName"), carrier_name)
                self.assertEqual(pickings[ref].amazon_sync_status, "done")

    def test_refused_confirmations_fail_mail_once_and_retry_succeeds(self):
        refs = ("171-0000105-0000001", "171-0000105-0000002")
        pickings = [self.ship(self.delivery(self.fbm_order(ref))) for ref in refs]
        self.sandbox.faults.add(operation="confirmShipment", kind="400", count=2)
        mails_before = self._mails_to_salesperson()
        counts = self.send()
        self.assertEqual(counts["failed"], 2)
        for picking in pickings:
            self.assertEqual(picking.amazon_sync_status, "error")
            self.assertIn("The request was rejected", picking.amazon_sync_error)
            self.assertIn(
                "Amazon did not accept the shipment confirmation",
                html2plaintext(picking.message_ids[0].body),
            )
        mails = self._mails_to_salesperson() - mails_before
        self.assertEqual(len(mails), 1, "one e-mail per run lists every failure")
        body = html2plaintext(mails.body)
        for picking, ref in zip(pickings, refs, strict=True):
            self.assertIn(picking.name, body)
            self.assertIn(ref, body)
        self.assertIn("The request was rejected", body)
        run = self.env["amazon.sync.run"].search(
            [("account_id", "=", self.account.id), ("kind", "=", "pickings")], limit=1
        )
        self.assertEqual(run.failed_count, 2)

        # A retry sends it again now; Amazon accepts it this time.
        pickings[0].action_retry_amazon_sync()
        self.assertEqual(pickings[0].amazon_sync_status, "done")
        self.assertFalse(pickings[0].amazon_sync_error)
        self.assertEqual(len(self.sandbox.state.shipments(refs[0])), 1)
        self.assertEqual(pickings[1].amazon_sync_status, "error", "retry is per delivery")
        pickings[1].action_retry_amazon_sync()
        self.assertEqual(pickings[1].amazon_sync_status, "done")
        self.assertEqual(len(self.sandbox.state.shipments(refs[1])), 1)
        self.assertEqual(self._mails_to_salesperson() - mails_before, mails, "no more e-mail")

    def _mails_to_salesperson(self):
        return self.env["mail.message"].search(
            [
                ("model", "=", "amazon.account"),
                ("res_id", "=", self.account.id),
                ("partner_ids", "in", self.salesperson.partner_id.ids),
            ]
        )

    def test_lost_answer_is_retried_without_a_second_shipment(self):
        # Amazon's packages echo our package reference or not (the model does not say):
        # without it, our package is recognized by its tracking number and items.
        self.addCleanup(self.sandbox.state.conventions.set, package_echo=True)
        cases = {
            ("171-0000106-0000001", True): {"kind": "slow", "delay": 2.5},  # timeout after
            ("171-0000106-0000002", True): {"kind": "500"},  # 5xx after Amazon acted
            ("171-0000106-0000003", False): {"kind": "slow", "delay": 2.5},
            ("171-0000106-0000004", False): {"kind": "500"},
        }
        for (ref, echo), fault in cases.items():
            with self.subTest(fault=fault["kind"], package_echo=echo):
                self.sandbox.state.conventions.set(package_echo=echo)
                picking = self.ship(self.delivery(self.fbm_order(ref)))
                self.sandbox.faults.add(
                    operation="confirmShipment", after_effect=True, count=1, **fault
                )
                counts = self.send(**FAST)
                self.assertEqual(counts["skipped"], 1)
                self.assertEqual(picking.amazon_sync_status, "pending", "not synced: retried")
                self.assertIn("answer was lost", picking.amazon_sync_error)
                self.assertEqual(picking.amazon_sync_attempts, 1)
                self.assertEqual(len(self.sandbox.state.shipments(ref)), 1, "Amazon has it")

                counts = self.send(**FAST)
                self.assertEqual(counts["updated"], 1)
                self.assertEqual(picking.amazon_sync_status, "done")
                self.assertIn(
                    "already had this shipment", html2plaintext(picking.message_ids[0].body)
                )
                self.assertEqual(len(self.sandbox.state.shipments(ref)), 1, "never twice")
                self.assertEqual(picking.amazon_sync_attempts, 1, "nothing was resent")

    def test_unsure_check_leaves_the_resend_to_the_user(self):
        ref = "171-0000106-0000005"
        order = self.fbm_order(ref)
        first = self.ship(self.delivery(order), {self.mug: 1}, tracking="JJD000555")
        self.send()
        self.assertEqual(first.amazon_sync_status, "done")
        # The rest leaves with the same tracking number; Amazon never gets the answer.
        backorder = self.ship(self.delivery(order), tracking="JJD000555")
        self.sandbox.faults.add(operation="confirmShipment", kind="reset", count=1)
        self.send(**FAST)
        self.assertEqual(backorder.amazon_sync_status, "pending")
        self.assertEqual(len(self.sandbox.state.shipments(ref)), 1)
        # Amazon's package with that tracking number carries other items: a resend might
        # ship them twice, so the user decides.
        counts = self.send(**FAST)
        self.assertEqual(counts["failed"], 1)
        self.assertEqual(backorder.amazon_sync_status, "error")
        self.assertIn("Not sent again", backorder.amazon_sync_error)
        self.assertIn("JJD000555", backorder.amazon_sync_error)
        self.assertEqual(len(self.sandbox.state.shipments(ref)), 1, "nothing was resent")
        self.assertEqual(backorder.amazon_sync_attempts, 1)

    def unsure_delivery(self, ref, echo):
        """A backorder whose lost confirmation Amazon's order neither shows nor rules out
        (its tracking number on the first delivery's items), under ``package_echo=echo``."""
        self.sandbox.state.conventions.set(package_echo=echo)
        order = self.fbm_order(ref)
        first = self.ship(self.delivery(order), {self.mug: 1}, tracking=f"JJD{ref[-3:]}")
        self.send()
        backorder = self.ship(self.delivery(order), tracking=f"JJD{ref[-3:]}")
        self.sandbox.faults.add(operation="confirmShipment", kind="reset", count=1)
        self.send(**FAST)
        self.send(**FAST)
        self.assertEqual(
            (first.amazon_sync_status, backorder.amazon_sync_status), ("done", "error")
        )
        self.assertTrue(backorder.amazon_sync_unsure)
        self.assertEqual(len(self.sandbox.state.shipments(ref)), 1)
        return backorder

    def test_unsure_delivery_is_for_the_stock_user_to_decide(self):
        """The narrowest rights that validate deliveries (stock user, own sales only) see
        why and decide: confirmed on Amazon (nothing sent) or sent again on request."""
        self.addCleanup(self.sandbox.state.conventions.set, package_echo=True)
        clerk = self._create_user(
            "amazon_unsure_clerk", "stock.group_stock_user,sales_team.group_sale_salesman"
        )
        Picking = self.env["stock.picking"].with_user(clerk)
        views = Picking.get_views([(False, "form"), (False, "search")])["views"]
        for name in ("action_amazon_confirmed_on_amazon", "action_amazon_send_again"):
            self.assertIn(f'name="{name}"', views["form"]["arch"])
        self.assertIn('name="amazon_sync_unsure"', views["search"]["arch"])
        for index, echo in enumerate((True, False)):
            with self.subTest(package_echo=echo):
                kept = self.unsure_delivery(f"171-0000111-00000{index}1", echo).with_user(clerk)
                resent = self.unsure_delivery(f"171-0000111-00000{index}2", echo).with_user(clerk)
                self.assertNotEqual(kept.sudo().sale_id.user_id, clerk)
                with self.assertRaises(AccessError, msg="the clerk may not read the order"):
                    kept.sale_id.check_access_rule("read")
                self.assertIn("Not sent again", kept.amazon_sync_error)
                self.assertIn(f"JJD{kept.amazon_order_ref[-3:]}", kept.amazon_sync_error)
                self.assertEqual(Picking.search([("amazon_sync_unsure", "=", True)]), kept | resent)
                calls = self.sandbox.state.stats["total"]

                kept.action_amazon_confirmed_on_amazon()
                self.assertEqual(kept.amazon_sync_status, "done")
                self.assertFalse(kept.amazon_sync_unsure or kept.amazon_sync_error)
                self.assertIn("Marked as confirmed on Amazon", kept.message_ids[0].body)
                self.assertEqual(self.sandbox.state.stats["total"], calls, "nothing sent")
                self.assertEqual(len(self.sandbox.state.shipments(kept.amazon_order_ref)), 1)
                with self.assertRaises(UserError):
                    kept.action_amazon_send_again()

                resent.action_amazon_send_again()
                self.assertEqual(resent.amazon_sync_status, "done")
                self.assertFalse(resent.amazon_sync_unsure or resent.amazon_resend_confirmed)
                self.assertEqual(resent.amazon_sync_attempts, 2)
                shipments = self.sandbox.state.shipments(resent.amazon_order_ref)
                self.assertEqual(len(shipments), 2, "sent once more, on request")
                self.assertEqual(
                    shipments[1]["packageDetail"]["packageReferenceId"], str(resent.id)
                )
                self.assertEqual(
                    self.sandbox.state.order_status(resent.amazon_order_ref), "SHIPPED"
                )
                self.assertFalse(Picking.search([("amazon_sync_unsure", "=", True)]))

    def test_faults_confirm_each_delivery_once_under_each_convention(self):
        """Orders synced and deliveries confirmed through faults (lost answers among them),
        under the sandbox's defaults and then under the other answer to every question
        Amazon's models leave open: each delivery confirmed exactly once, totals right."""
        conventions = self.sandbox.state.conventions
        defaults = conventions.as_dict()
        self.addCleanup(conventions.set, **defaults)
        others = {
            "proceeds": "itemized",
            "window_echo": False,
            "package_echo": False,
            "fulfilled_by": False,
        }
        faults = self.sandbox.faults
        for index, values in enumerate((defaults, others)):
            with self.subTest(**values):
                conventions.set(**values)
                refs = [f"171-0000112-{index}{n:06d}" for n in range(6)]
                for n, ref in enumerate(refs):
                    self.add_order(
                        ref,
                        fulfilled_by="AMAZON" if n % 3 == 0 else "MERCHANT",
                        items=[{"sku": "MUG-RED", "quantity": 1 + n % 2, "unitPrice": "12.10"}],
                    )
                faults.seed(15 + index)
                for kind, probability in (("429", 0.2), ("500", 0.2), ("reset", 0.1)):
                    faults.add(operation="*", kind=kind, probability=probability)
                for _round in range(3):
                    self.account.with_context(**FAST)._sync_orders()
                faults.clear()
                self.assertFalse(self.account._sync_orders().errors)
                orders = self.env["sale.order"].search(
                    [("amazon_account_id", "=", self.account.id), ("amazon_order_ref", "in", refs)]
                )
                self.assertEqual(len(orders), 6, "every order once")
                for order in orders:
                    self.assertFalse(order.amazon_total_difference, order.amazon_order_ref)
                fbm = orders.filtered(lambda o: o.amazon_channel == "fbm")
                self.assertEqual(len(fbm), 4)
                pickings = self.env["stock.picking"]
                for order in fbm:
                    pickings |= self.ship(self.delivery(order))
                # Half the answers lost after Amazon acted, other calls failing too.
                faults.add(operation="confirmShipment", kind="500", after_effect=True, count=2)
                faults.add(operation="confirmShipment", kind="reset", after_effect=True, count=1)
                faults.add(operation="*", kind="500", probability=0.2)
                for _round in range(3):
                    self.send(**FAST)
                faults.clear()
                for _round in range(3):
                    if not pickings.filtered(lambda p: p.amazon_sync_status == "pending"):
                        break
                    self.send()
                for picking in pickings:
                    ref = picking.sale_id.amazon_order_ref
                    self.assertEqual(picking.amazon_sync_status, "done", ref)
                    self.assertEqual(len(self.sandbox.state.shipments(ref)), 1, ref)

    def test_shipment_confirmed_outside_odoo_is_not_resent(self):
        ref = "171-0000107-0000001"
        picking = self.ship(self.delivery(self.fbm_order(ref)))
        self.sandbox.faults.add(operation="confirmShipment", kind="reset", count=1)
        self.send(**FAST)
        self.assertEqual(picking.amazon_sync_status, "pending")
        self.assertEqual(self.sandbox.state.shipments(ref), [], "the reset came first")
        # Meanwhile the seller confirmed it in Seller Central.
        self.sandbox.state.set_status(ref, "SHIPPED")
        self.send(**FAST)
        self.assertEqual(picking.amazon_sync_status, "done")
        self.assertIn(
            "already reports these items as shipped", html2plaintext(picking.message_ids[0].body)
        )
        self.assertEqual(self.sandbox.state.shipments(ref), [])

    def test_order_shipped_outside_odoo_is_flagged_not_validated(self):
        ref = "171-0000108-0000001"
        order = self.fbm_order(ref)
        self.sandbox.state.set_status(ref, "SHIPPED")
        self.sandbox.state.advance(600)
        self.sync()
        self.assertEqual(order.amazon_status, "SHIPPED")
        picking = order.picking_ids
        self.assertNotEqual(picking.state, "done", "nothing is validated silently")
        self.assertFalse(picking.amazon_sync_status)
        [activity] = order.activity_ids
        self.assertEqual(activity.user_id, self.account.user_id)
        self.assertIn("shipped outside Odoo", html2plaintext(activity.note))
        self.sandbox.state.advance(600)
        self.sync()
        self.assertEqual(len(order.activity_ids), 1, "flagged once")

    def test_recover_order_wizard(self):
        ref = "171-0000109-0000001"
        self.add_order(ref)
        # The regular sync would never look that far back.
        self.account.last_orders_sync = self.sandbox.state.now().replace(tzinfo=None)
        self.assertEqual(self.sync()["created"], 0)
        self.assertFalse(self.amazon_order(ref))

        action = self.account.action_open_recover_order()
        wizard = (
            self.env[action["res_model"]]
            .with_context(**action["context"])
            .create({"order_ref": f" {ref} "})
        )
        wizard.action_recover()
        order = self.amazon_order(ref)
        self.assertTrue(order)
        self.assertEqual(wizard.sale_order_id, order)
        self.assertEqual(wizard.state, "done")
        self.assertIn(order.name, wizard.result)
        run = self.env["amazon.sync.run"].search(
            [("account_id", "=", self.account.id), ("trigger", "=", "recover")], limit=1
        )
        self.assertEqual((run.state, run.created_count), ("done", 1))

        again = self.env["amazon.recover.order"].create(
            {"account_id": self.account.id, "order_ref": ref}
        )
        again.action_recover()
        self.assertIn("already in Odoo", again.result)
        self.assertEqual(self.env["sale.order"].search_count([("amazon_order_ref", "=", ref)]), 1)

        unknown = self.env["amazon.recover.order"].create(
            {"account_id": self.account.id, "order_ref": "171-9999999-9999999"}
        )
        with self.assertRaises(UserError) as caught:
            unknown.action_recover()
        self.assertIn("Amazon does not know order 171-9999999-9999999", str(caught.exception))
        malformed = self.env["amazon.recover.order"].create(
            {"account_id": self.account.id, "order_ref": "171-12345"}
        )
        with self.assertRaises(UserError) as caught:
            malformed.action_recover()
        self.assertIn("not an Amazon order reference", str(caught.exception))
        self.assertFalse(
            self.env["amazon.order.failure"].search([("order_ref", "like", "171-9999999")]),
            "an unknown reference typed by a user is not retried forever",
        )

    def test_kit_lines_count_whole_kits_only(self):
        if "mrp.bom" not in self.env:
            raise unittest.SkipTest("mrp is not installed: kits (phantom BoMs) cannot exist")
        component_a = self.env["product.product"].create({"name": "Leg", "type": "product"})
        component_b = self.env["product.product"].create({"name": "Top", "type": "product"})
        table = self.env["product.product"].create(
            {"name": "Table kit", "default_code": "TABLE-KIT", "type": "product"}
        )
        self.env["mrp.bom"].create(
            {
                "product_tmpl_id": table.product_tmpl_id.id,
                "type": "phantom",
                "bom_line_ids": [
                    (0, 0, {"product_id": component_a.id, "product_qty": 4}),
                    (0, 0, {"product_id": component_b.id, "product_qty": 1}),
                ],
            }
        )
        ref = "171-0000110-0000001"
        order = self.fbm_order(
            ref, items=[{"sku": "TABLE-KIT", "quantity": 2, "unitPrice": "100.00"}]
        )
        first = self.delivery(order)
        # 8 legs but a single top: one whole kit shipped.
        self.ship(first, {component_a: 8, component_b: 1})
        self.send()
        [shipment] = self.sandbox.state.shipments(ref)
        self.assertEqual(self.items_sent(shipment), {self.item_ref(order, table): 1})
        second = self.delivery(order)
        self.ship(second, {component_b: 1})
        self.send()
        shipments = self.sandbox.state.shipments(ref)
        self.assertEqual(self.items_sent(shipments[1]), {self.item_ref(order, table): 1})
        self.assertEqual(self.sandbox.state.order_status(ref), "SHIPPED")
