from datetime import timedelta
from decimal import Decimal

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import AmazonAccountingCase

ES = "A1RKKUPIHCS9HS"
DE = "A1PA6795UKMFR9"


@tagged("post_install", "-at_install")
class TestAccounting(AmazonAccountingCase):
    """Invoices, payouts, fees/settlements and reporting of Amazon orders, with Odoo's
    generic chart of accounts on the test company and Amazon's side served by the sandbox."""

    # --- helpers ------------------------------------------------------------------------------
    def invoice(self, order):
        invoice = order._create_invoices()
        invoice.action_post()
        return invoice

    def synced_order(self, ref, **kwargs):
        self.add_order(ref, **kwargs)
        self.sync()
        order = self.amazon_order(ref)
        self.assertTrue(order, f"order {ref} was synchronized")
        return order

    # --- invoices -----------------------------------------------------------------------------
    def test_gift_message_stays_off_the_invoice(self):
        order = self.synced_order(
            "171-7000009-0000001",
            items=[
                {
                    "sku": "MUG-RED",
                    "quantity": 1,
                    "unitPrice": "25.00",
                    "giftWrap": "2.99",
                    "giftMessage": "Para ti, con cariño",
                }
            ],
        )
        gift = order.order_line.filtered("amazon_gift_message")
        self.assertEqual(gift.name, "Gift message: Para ti, con cariño")
        self.assertEqual(gift.display_type, "line_note")
        invoice = self.invoice(order)
        self.assertNotIn("Para ti", " ".join(invoice.invoice_line_ids.mapped("name")))
        self.assertEqual(invoice.amount_total, order.amount_total, "gift wrap still invoiced")

    def test_invoice_of_amazon_order_cannot_be_emailed_but_prints(self):
        order = self.synced_order("171-7000001-0000001")
        invoice = self.invoice(order)
        self.assertEqual(invoice.amazon_account_id, self.account)
        self.assertEqual(invoice.amazon_marketplace_id.api_ref, ES)
        for action in (invoice.action_invoice_sent, invoice.action_send_and_print):
            with self.assertRaisesRegex(UserError, "cannot be e-mailed.*Seller Central"):
                action()
        Send = self.env["account.move.send"].with_context(
            active_model="account.move", active_ids=invoice.ids
        )
        with self.assertRaisesRegex(UserError, "cannot be e-mailed"):
            Send.create({})
        # The PDF to upload in Seller Central still renders.
        content, _kind = self.env["ir.actions.report"]._render_qweb_pdf(
            "account.account_invoices", invoice.ids
        )
        self.assertTrue(content)
        # Other invoices are sent as usual.
        other = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.env["res.partner"].create({"name": "Shop buyer"}).id,
                "invoice_line_ids": [(0, 0, {"product_id": self.mug.id, "price_unit": 10})],
            }
        )
        other.action_post()
        self.assertEqual(other.action_send_and_print()["res_model"], "account.move.send")

    def test_business_order_without_vat_reminds_and_blocks_invoicing(self):
        order = self.synced_order(
            "171-7000002-0000001",
            marketplace="DE",
            items=[{"sku": "MUG-DE", "quantity": 1, "unitPrice": "11.90"}],
            business=True,
            buyer={"name": "Jürgen Müller", "companyName": "Müller GmbH"},
        )
        self.assertTrue(order.amazon_is_business)
        activity = order.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.salesperson)
        self.assertIn("VAT", activity.summary)
        with self.assertRaisesRegex(UserError, "VAT number"):
            order._create_invoices()
        order.partner_id.vat = "DE100000008"  # a valid number: base_vat (l10n_es) checks it
        self.assertEqual(self.invoice(order).state, "posted")
        # With the VAT number from Amazon: no reminder.
        with_vat = self.synced_order(
            "171-7000002-0000002",
            business=True,
            buyer={"name": "Ana Ruiz", "companyName": "Ruiz SL", "vatNumber": "ESB12345678"},
        )
        self.assertFalse(with_vat.activity_ids)

    # --- journal ------------------------------------------------------------------------------
    def test_amazon_payments_journal_is_created_once_per_company(self):
        journal = self.account.journal_id
        self.assertEqual(journal.type, "bank")
        self.assertEqual(journal.name, "Amazon Payments")
        self.assertEqual(self.company.amazon_journal_id, journal)
        outstanding = journal.inbound_payment_method_line_ids.payment_account_id
        self.assertEqual(len(outstanding), 1)
        self.assertNotEqual(outstanding, self.company.account_journal_payment_debit_account_id)
        self.assertTrue(outstanding.reconcile)
        second = self._create_account("Second Amazon Account")
        self.assertEqual(second.journal_id, journal)
        self.assertEqual(
            self.env["account.journal"].search_count(
                [("company_id", "=", self.company.id), ("name", "=", "Amazon Payments")]
            ),
            1,
        )
        # A company without a chart of accounts gets no journal, and payouts say why.
        bare = self._create_company("No Chart Co")
        self.env.user.company_ids |= bare
        account = (
            self.env["amazon.account"]
            .with_company(bare)
            .create({"name": "Bare", "company_id": bare.id})
        )
        self.assertFalse(account.journal_id)
        with self.assertRaisesRegex(UserError, "chart of accounts"):
            account._amazon_payout_journal()

    # --- payouts ------------------------------------------------------------------------------
    def test_grouped_payout_over_invoices_of_two_marketplaces(self):
        es = self.synced_order("171-7000003-0000001")
        de = self.synced_order(
            "302-7000003-0000002",
            marketplace="DE",
            items=[{"sku": "MUG-DE", "quantity": 2, "unitPrice": "11.90"}],
        )
        invoices = self.invoice(es) | self.invoice(de)
        self.assertNotEqual(es.partner_id, de.partner_id)
        Wizard = self.env["amazon.payout.register"]
        only_de = Wizard.create(
            {
                "account_id": self.account.id,
                "marketplace_ids": [(6, 0, de.amazon_marketplace_id.ids)],
            }
        )
        self.assertEqual(
            only_de.move_ids, invoices.filtered(lambda m: m.amazon_marketplace_id.api_ref == DE)
        )
        yesterday = invoices[0].invoice_date - timedelta(days=1)
        self.assertFalse(
            Wizard.create({"account_id": self.account.id, "date_to": yesterday}).move_ids
        )
        wizard = Wizard.create({"account_id": self.account.id})
        self.assertEqual(wizard.move_ids, invoices)
        self.assertEqual(wizard.journal_id, self.account.journal_id)
        payment = wizard._create_payments()
        self.assertEqual(len(payment), 1, "one payment for both marketplaces")
        self.assertEqual(payment.journal_id, self.account.journal_id)
        self.assertEqual(payment.partner_id, self.company.amazon_partner_id)
        self.assertEqual(payment.currency_id.name, "EUR")
        self.assertEqual(
            payment.currency_id.compare_amounts(
                payment.amount, sum(invoices.mapped("amount_total"))
            ),
            0,
        )
        self.assertEqual(set(invoices.mapped("payment_state")) - {"paid", "in_payment"}, set())
        self.assertEqual(
            payment.move_id.line_ids.filtered(lambda line: line.debit).account_id,
            self.account.journal_id.inbound_payment_method_line_ids.payment_account_id,
        )
        # Nothing left to pay.
        with self.assertRaisesRegex(UserError, "nothing to pay"):
            Wizard.create({"account_id": self.account.id})._create_payments()

    # --- settlements --------------------------------------------------------------------------
    def test_settlement_becomes_fee_bill_equal_to_amazon_fees_and_reimport_does_nothing(self):
        fba = "171-7000004-0000001"
        fbm = "171-7000004-0000002"
        self.add_order(
            fba,
            fulfilled_by="AMAZON",
            items=[{"sku": "MUG-RED", "quantity": 3, "unitPrice": "12.10"}],
        )
        self.add_order(fbm, items=[{"sku": "BOOK-1", "quantity": 1, "unitPrice": "20.80"}])
        self.sync()
        self.sandbox.state.set_status(fbm, "SHIPPED")
        self.sandbox.state.refund(fba)
        self.sandbox.state.add_ads_charge("ES", "20.00", "4.20")
        fba_product = self.env["product.product"].create(
            {"name": "FBA fees", "detailed_type": "service"}
        )
        self.account.fee_mapping_ids = [
            (0, 0, {"fee_type": "FBAPerUnitFulfillmentFee", "product_id": fba_product.id})
        ]
        # The period is still open: nothing to import yet.
        self.assertFalse(self.account._import_settlements())
        self.sandbox.state.advance(15 * 86400)
        [group] = [g for g in self.sandbox.state.finance_groups().values() if g["closed"]]
        settlement = self.account._import_settlements()
        self.assertEqual(len(settlement), 1)
        self.assertEqual(settlement.group_ref, group["id"])
        self.assertEqual(settlement.marketplace_id.api_ref, ES)
        self.assertEqual(settlement.currency_id.name, "EUR")
        self.assertEqual(settlement.date_end, group["end"].replace(tzinfo=None))
        money = settlement.currency_id
        self.assertEqual(money.compare_amounts(settlement.payout, float(group["total"])), 0)
        self.assertEqual(money.compare_amounts(settlement.fee_total, float(-group["fees"])), 0)
        self.assertEqual(settlement.refund_order_ids, self.amazon_order(fba))
        self.assertEqual(settlement.order_ids, self.amazon_order(fba) | self.amazon_order(fbm))
        bill = settlement.bill_id
        self.assertEqual((bill.state, bill.move_type), ("posted", "in_invoice"))
        self.assertEqual(bill.partner_id, self.company.amazon_partner_id)
        self.assertEqual(bill.currency_id.name, "EUR")
        self.assertEqual(bill.amazon_account_id, self.account)
        # The fee bill equals Amazon's fees to the cent, one line per fee type.
        expected = -group["fees"]
        self.assertEqual(Decimal(str(bill.amount_total)).quantize(Decimal("0.01")), expected)
        self.assertGreater(expected, 0)
        by_name = {line.name: line for line in bill.invoice_line_ids}
        self.assertEqual(
            set(by_name),
            {
                "Amazon fees: Advertising",
                "Amazon fees: Commission",
                "Amazon fees: FBAPerUnitFulfillmentFee",
                "Amazon fees: RefundCommission",
            },
        )
        self.assertEqual(by_name["Amazon fees: Advertising"].price_subtotal, 24.20)
        self.assertEqual(by_name["Amazon fees: FBAPerUnitFulfillmentFee"].product_id, fba_product)
        self.assertEqual(by_name["Amazon fees: Commission"].product_id, self.account.fee_product_id)
        # Re-importing changes nothing.
        counts = (
            self.env["amazon.settlement"].search_count([]),
            self.env["account.move"].search_count([("amazon_settlement_id", "!=", False)]),
        )
        self.assertFalse(self.account._import_settlements())
        self.assertFalse(self.account.action_import_settlements()["params"]["sticky"])
        self.assertEqual(
            counts,
            (
                self.env["amazon.settlement"].search_count([]),
                self.env["account.move"].search_count([("amazon_settlement_id", "!=", False)]),
            ),
        )
        # The fee bill is paid through the same payout wizard.
        wizard = self.env["amazon.payout.register"].create(
            {"account_id": self.account.id, "kind": "fee_bills"}
        )
        self.assertEqual(wizard.move_ids, bill)
        payment = wizard._create_payments()
        self.assertEqual(payment.payment_type, "outbound")
        self.assertIn(bill.payment_state, ("paid", "in_payment"))

    def test_cron_imports_settlements_of_every_account(self):
        self.add_order("171-7000005-0000001", fulfilled_by="AMAZON")
        self.sync()
        self.sandbox.state.advance(15 * 86400)
        self.env.ref("sale_amazon_connector.ir_cron_import_settlements").method_direct_trigger()
        self.assertEqual(self.account.settlement_count, 1)

    def test_settlement_import_is_recorded_in_the_sync_history(self):
        self.add_order("171-7000006-0000001", fulfilled_by="AMAZON")
        self.sync()
        self.sandbox.state.advance(15 * 86400)
        imported = self.account._import_settlements()
        self.assertEqual(len(imported), 1)
        run = self.account.sync_run_ids.filtered(lambda r: r.kind == "settlements")
        self.assertEqual(len(run), 1)
        self.assertEqual((run.state, run.trigger, run.created_count), ("done", "manual", 1))
        self.assertEqual(run.summary, "1 settlement(s) imported.")

    # --- reporting ----------------------------------------------------------------------------
    def test_sales_report_groups_by_marketplace_and_channel(self):
        orders = (
            self.synced_order(
                "171-7000006-0000001",
                items=[{"sku": "MUG-RED", "quantity": 2, "unitPrice": "12.10"}],
            )
            | self.synced_order("171-7000006-0000002", fulfilled_by="AMAZON")
            | self.synced_order(
                "302-7000006-0000003",
                marketplace="DE",
                fulfilled_by="AMAZON",
                items=[{"sku": "MUG-DE", "quantity": 3, "unitPrice": "11.90"}],
            )
        )
        expected = {}
        for order in orders:
            key = (order.amazon_marketplace_id.api_ref, order.amazon_channel)
            expected[key] = expected.get(key, 0.0) + order.amount_total / order.currency_rate
        self.assertEqual(len(expected), 3)
        self.env.flush_all()
        groups = self.env["sale.report"]._read_group(
            [("amazon_account_id", "=", self.account.id)],
            ["amazon_marketplace_id", "amazon_channel"],
            ["price_total:sum", "__count"],
        )
        got = {(mp.api_ref, channel): total for mp, channel, total, _count in groups}
        self.assertEqual(set(got), set(expected))
        for key, total in expected.items():
            self.assertAlmostEqual(got[key], total, places=2, msg=str(key))
        by_account = self.env["sale.report"]._read_group(
            [("amazon_account_id", "!=", False)], ["amazon_account_id"], ["price_total:sum"]
        )
        self.assertEqual(by_account[0][0], self.account)
        self.assertAlmostEqual(by_account[0][1], sum(expected.values()), places=2)
