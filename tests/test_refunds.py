from decimal import Decimal

from odoo.tests import tagged

from .common import AmazonAccountingCase

ES = "A1RKKUPIHCS9HS"


@tagged("post_install", "-at_install")
class TestRefunds(AmazonAccountingCase):
    """Amazon refunds (served by the sandbox over HTTP) become customer credit notes of
    their sale orders, and payouts net them with the invoices they offset; the company has
    Odoo's generic chart of accounts (as in TestAccounting)."""

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

    def shipped_invoiced(self, ref, **kwargs):
        order = self.synced_order(ref, fulfilled_by="AMAZON", **kwargs)
        return order, self.invoice(order)

    def amazon_refunds(self, ref):
        """What Amazon gave back to the buyer in each refund of ``ref``, read from the raw
        events the sandbox serves (charges and promotions given back; every marketplace
        used here has prices that include tax)."""
        totals = []
        for _when, name, event in self.sandbox.state.order_finance_rows(ref):
            if name != "RefundEventList":
                continue
            total = Decimal(0)
            for item in event["ShipmentItemAdjustmentList"]:
                for charge in item.get("ItemChargeAdjustmentList", []):
                    total -= Decimal(str(charge["ChargeAmount"]["CurrencyAmount"]))
                for promotion in item.get("PromotionAdjustmentList", []):
                    total -= Decimal(str(promotion["PromotionAmount"]["CurrencyAmount"]))
            totals.append(total)
        return totals

    def refund_run(self, **kwargs):
        self.sandbox.state.advance(600)
        return self.account._sync_refunds(**kwargs)

    def refunds_of(self, order):
        return self.env["amazon.refund"].search(
            [("sale_order_id", "=", order.id)], order="date, id"
        )

    def assertTotal(self, move, amount):
        self.assertEqual(
            move.currency_id.compare_amounts(move.amount_total, float(amount)),
            0,
            f"{move.name}: {move.amount_total} != Amazon's {amount}",
        )

    # --- tests --------------------------------------------------------------------------------
    def test_refund_partial_shipping_only_full_and_rerun(self):
        ref = "171-7100001-0000001"
        order, invoice = self.shipped_invoiced(
            ref,
            items=[
                {
                    "sku": "MUG-RED",
                    "quantity": 2,
                    "unitPrice": "12.10",
                    "shipping": "3.99",
                    "promotionDiscount": "1.21",
                    "promotionIds": ["PROMO-10"],
                    "giftWrap": "2.99",
                },
                {"sku": "BOOK-1", "quantity": 1, "unitPrice": "20.80"},
                {"sku": "MUG-RED", "quantity": 3, "unitPrice": "0.99"},
            ],
        )
        book_id = self.sandbox.state.record(ref)["items"][1]["orderItemId"]
        first_id = self.sandbox.state.record(ref)["items"][0]["orderItemId"]
        # Partial: one item of three; then shipping only on another one.
        self.sandbox.state.refund(ref, [book_id])
        self.sandbox.state.advance(60)
        self.sandbox.state.refund(ref, [first_id], only="shipping")
        full = "171-7100001-0000002"
        full_order, full_invoice = self.shipped_invoiced(
            full,
            items=[
                {
                    "sku": "MUG-RED",
                    "quantity": 2,
                    "unitPrice": "33.33",
                    "shipping": "4.99",
                    "giftWrap": "2.50",
                    "promotionDiscount": "3.33",
                }
            ],
        )
        self.sandbox.state.refund(full)
        outcome = self.refund_run()
        self.assertEqual(outcome.counts["created"], 3, outcome)
        self.assertFalse(outcome.errors)

        partial, shipping = self.refunds_of(order)
        self.assertEqual((partial.state, shipping.state), ("done", "done"))
        self.assertNotEqual(partial.adjustment_ref, shipping.adjustment_ref)
        expected = self.amazon_refunds(ref)
        self.assertEqual(len(expected), 2)
        for refund, amount in zip((partial, shipping), expected, strict=True):
            note = refund.credit_note_id
            self.assertEqual(note.move_type, "out_refund")
            self.assertEqual(note.state, "posted")
            self.assertEqual(note.reversed_entry_id, invoice)
            self.assertEqual(note.amazon_account_id, self.account)
            self.assertEqual(note.amazon_marketplace_id.api_ref, ES)
            self.assertIn(refund.adjustment_ref, note.ref)
            self.assertTotal(note, amount)
            self.assertEqual(
                refund.currency_id.compare_amounts(refund.amount_total, float(amount)), 0
            )
        self.assertEqual(expected[0], Decimal("20.80"))
        self.assertEqual(expected[1], Decimal("3.99"))
        # The partial credit note gives back the book; the order sees both credit notes.
        book_line = order.order_line.filtered(lambda line: line.product_id == self.book)
        lines = partial.credit_note_id.invoice_line_ids.filtered("product_id")
        self.assertEqual(lines.product_id, self.book)
        self.assertEqual(lines.quantity, 1)
        self.assertEqual(lines.sale_line_ids, book_line)
        self.assertEqual(book_line.qty_invoiced, 0)
        ship_lines = shipping.credit_note_id.invoice_line_ids.filtered("product_id")
        self.assertEqual(ship_lines.product_id, self.account.shipping_product_id)
        self.assertEqual(
            order.invoice_ids, invoice | partial.credit_note_id | shipping.credit_note_id
        )
        # The full refund: every part of the order, to the cent.
        [whole] = self.refunds_of(full_order)
        self.assertEqual(whole.credit_note_id.reversed_entry_id, full_invoice)
        # the upload of the credit note to Amazon needs the refund's transaction id
        self.assertEqual(
            whole.credit_note_id.amazon_transaction_ref, whole.adjustment_ref.split(",")[0]
        )
        self.assertTotal(whole.credit_note_id, self.amazon_refunds(full)[0])
        self.assertTotal(whole.credit_note_id, Decimal(str(full_invoice.amount_total)))
        products = whole.credit_note_id.invoice_line_ids.product_id
        self.assertIn(self.account.gift_wrap_product_id, products)
        self.assertIn(self.account.promotion_product_id, products)
        # The run is in the history; running again makes nothing new.
        run = self.env["amazon.sync.run"].search(
            [("account_id", "=", self.account.id), ("kind", "=", "refunds")], limit=1
        )
        self.assertEqual((run.state, run.created_count), ("done", 3))
        self.assertIn("3 credit note(s) created", run.summary)
        moves = self.env["account.move"].search_count([("move_type", "=", "out_refund")])
        again = self.refund_run()
        self.assertEqual(again.counts["created"], 0)
        by_order = self.refund_run(order_refs=[ref, full])
        self.assertEqual(by_order.counts["created"], 0)
        self.assertEqual(
            self.env["account.move"].search_count([("move_type", "=", "out_refund")]), moves
        )
        self.assertEqual(self.env["amazon.refund"].search_count([]), 3)

    def test_refund_of_order_never_synced_or_not_invoiced_is_recorded_then_credited(self):
        uninvoiced = self.synced_order("171-7100002-0000002", fulfilled_by="AMAZON")
        never = "171-7100002-0000001"
        self.add_order(never, fulfilled_by="AMAZON")  # not synchronized (yet)
        self.sandbox.state.refund(never)
        self.sandbox.state.refund(uninvoiced.amazon_order_ref)
        outcome = self.refund_run()
        self.assertEqual((outcome.counts["created"], outcome.counts["skipped"]), (0, 2))
        lost = self.env["amazon.refund"].search([("order_ref", "=", never)])
        self.assertEqual(lost.state, "no_order")
        self.assertFalse(lost.sale_order_id or lost.credit_note_id)
        self.assertIn("never synchronized", lost.reason)
        waiting = self.refunds_of(uninvoiced)
        self.assertEqual(waiting.state, "not_invoiced")
        self.assertIn("no posted invoice", waiting.reason)
        self.assertEqual(self.refund_run().counts["created"], 0)
        # Invoiced later: the next run credits it, once.
        invoice = self.invoice(uninvoiced)
        self.assertEqual(self.refund_run().counts["created"], 1)
        self.assertEqual(waiting.state, "done")
        self.assertEqual(waiting.credit_note_id.reversed_entry_id, invoice)
        self.assertTotal(waiting.credit_note_id, invoice.amount_total)
        self.assertEqual(waiting.attempts, 3)
        # The lost order synchronized at last: it waits for its invoice now.
        self.assertEqual(lost.state, "no_order")
        self.sync()
        self.refund_run()
        self.assertEqual(lost.sale_order_id, self.amazon_order(never))
        self.assertEqual(lost.state, "not_invoiced")
        self.assertEqual(self.env["amazon.refund"].search_count([]), 2)

    def test_refund_totals_to_the_cent_on_de_uk_jp_and_draft_setting(self):
        self.account.refund_credit_note_state = "draft"
        cases = [
            (
                "302-7100003-0000001",
                "DE",
                [
                    {"sku": "MUG-DE", "quantity": 3, "unitPrice": "7.77", "shipping": "3.99"},
                    {
                        "sku": "MUG-DE",
                        "quantity": 1,
                        "unitPrice": "149.00",
                        "promotionDiscount": "14.90",
                    },
                ],
            ),
            (
                "026-7100003-0000002",
                "UK",
                [
                    {
                        "sku": "MUG-UK",
                        "quantity": 2,
                        "unitPrice": "11.99",
                        "shipping": "2.49",
                        "giftWrap": "1.99",
                    }
                ],
            ),
            (
                "503-7100003-0000003",
                "JP",
                [{"sku": "MUG-JP", "quantity": 3, "unitPrice": "1234", "shipping": "350"}],
            ),
        ]
        invoices = {}
        for ref, marketplace, items in cases:
            _order, invoices[ref] = self.shipped_invoiced(ref, marketplace=marketplace, items=items)
            record = self.sandbox.state.record(ref)
            # A part of the first item (one unit), then the rest of the order.
            first = record["items"][0]
            self.sandbox.state.refund(
                ref, [first["orderItemId"]], quantities={first["orderItemId"]: 1}
            )
            self.sandbox.state.advance(60)
            rest = [i["orderItemId"] for i in record["items"][1:]]
            if rest:
                self.sandbox.state.refund(ref, rest)
        self.assertEqual(self.refund_run().counts["created"], 4)
        for ref, _marketplace, _items in cases:
            order = self.amazon_order(ref)
            notes = self.refunds_of(order).credit_note_id
            expected = self.amazon_refunds(ref)
            self.assertEqual(len(notes), len(expected))
            for note, amount in zip(notes, expected, strict=True):
                self.assertEqual(note.state, "draft")
                self.assertEqual(note.currency_id, order.currency_id)
                self.assertTotal(note, amount)
        self.assertEqual(self.amazon_order(cases[1][0]).currency_id.name, "GBP")
        self.assertEqual(self.amazon_order(cases[2][0]).currency_id.name, "JPY")

    def test_refund_nets_in_the_payout_and_in_the_settlement(self):
        paid = "171-7100004-0000001"
        refunded = "171-7100004-0000002"
        _order, invoice = self.shipped_invoiced(
            paid, items=[{"sku": "MUG-RED", "quantity": 2, "unitPrice": "12.10"}]
        )
        order, other = self.shipped_invoiced(
            refunded,
            items=[
                {"sku": "MUG-RED", "quantity": 1, "unitPrice": "12.10"},
                {"sku": "BOOK-1", "quantity": 1, "unitPrice": "20.80"},
            ],
        )
        book_id = self.sandbox.state.record(refunded)["items"][1]["orderItemId"]
        self.sandbox.state.refund(refunded, [book_id])
        # The settlement period closes: its import credits the refund too, once.
        self.sandbox.state.advance(15 * 86400)
        settlement = self.account._import_settlements()
        [refund] = settlement.refund_ids
        note = refund.credit_note_id
        self.assertEqual(settlement.credit_note_ids, note)
        self.assertEqual(refund.sale_order_id, order)
        self.assertTotal(note, Decimal("20.80"))
        self.assertEqual(self.refund_run().counts["created"], 0)
        # Posted, the credit note settled its invoice (Odoo reconciles a reversal with the
        # entry it reverses): the payout pays what is left, in one payment.
        self.assertEqual(note.payment_state, "paid")
        self.assertEqual(other.payment_state, "partial")
        Wizard = self.env["amazon.payout.register"]
        wizard = Wizard.create({"account_id": self.account.id})
        self.assertEqual(wizard.move_ids, invoice | other)
        payment = wizard._create_payments()
        self.assertEqual(len(payment), 1)
        net = invoice.amount_total + other.amount_total - note.amount_total
        self.assertEqual(payment.currency_id.compare_amounts(payment.amount, net), 0)
        # A refund of an order already paid out: its credit note stays open and the next
        # payout nets it with the new invoices (one payment per currency).
        self.sandbox.state.refund(paid)
        late = self.refund_run()
        self.assertEqual(late.counts["created"], 1)
        [late_note] = self.refunds_of(self.amazon_order(paid)).credit_note_id
        self.assertEqual(late_note.payment_state, "not_paid")
        _new, new_invoice = self.shipped_invoiced(
            "171-7100004-0000003", items=[{"sku": "BOOK-1", "quantity": 3, "unitPrice": "20.80"}]
        )
        wizard = Wizard.create({"account_id": self.account.id})
        self.assertEqual(wizard.move_ids, new_invoice | late_note)
        payment = wizard._create_payments()
        self.assertEqual(len(payment), 1)
        self.assertEqual(payment.payment_type, "inbound")
        net = new_invoice.amount_total - late_note.amount_total
        self.assertEqual(payment.currency_id.compare_amounts(payment.amount, net), 0)
        for move in new_invoice | late_note:
            self.assertIn(move.payment_state, ("paid", "in_payment"), move.name)
