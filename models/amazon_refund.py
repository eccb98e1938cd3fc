# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Amazon refunds of an account and the customer credit notes made from them.

One record per account and Amazon adjustment id (``amazon_sp.refunds.RefundEvent
.adjustment_id``), whichever way the refund was read (the daily refund sync, a settlement
import, an order's own refunds): a refund is never credited twice. A refund Odoo cannot
credit yet (order not synchronized, items not invoiced) is recorded with the reason and
retried by the next runs, from the event kept on the record."""

import json
import logging
import re
from decimal import Decimal

import psycopg2

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

from ..amazon_sp import amounts, refunds

_logger = logging.getLogger(__name__)

STATES = [
    ("done", "Credit Note Created"),
    ("no_order", "Order Not Synchronized"),
    ("not_invoiced", "Items Not Invoiced"),
    ("failed", "Failed"),
]
RETRIED = ("no_order", "not_invoiced", "failed")


class AmazonRefund(models.Model):
    _name = "amazon.refund"
    _description = "Amazon Refund"
    _order = "date desc, id desc"
    _rec_name = "adjustment_ref"

    account_id = fields.Many2one(
        "amazon.account", string="Amazon Account", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    adjustment_ref = fields.Char(
        string="Amazon Adjustment ID",
        required=True,
        readonly=True,
        help="Amazon's order adjustment item ids of the refund (one per refunded item).",
    )
    order_ref = fields.Char(string="Amazon Order Reference", readonly=True, index=True)
    sale_order_id = fields.Many2one("sale.order", readonly=True, index="btree_not_null")
    marketplace_name = fields.Char(string="Marketplace", readonly=True)
    date = fields.Datetime(string="Refund Date", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount_total = fields.Monetary(
        string="Refunded by Amazon",
        readonly=True,
        help="What Amazon gave back to the buyer (by the same tax rule as the order totals).",
    )
    credit_note_id = fields.Many2one("account.move", readonly=True)
    settlement_id = fields.Many2one("amazon.settlement", readonly=True, index="btree_not_null")
    state = fields.Selection(STATES, required=True, default="failed", readonly=True)
    reason = fields.Text(readonly=True)
    attempts = fields.Integer(default=0, readonly=True)
    raw_event = fields.Text(readonly=True, help="The refund event as Amazon sent it.")

    _sql_constraints = [
        (
            "adjustment_unique",
            "UNIQUE(account_id, adjustment_ref)",
            "An Amazon refund is recorded only once per account.",
        ),
    ]

    # --- Processing -------------------------------------------------------------------------
    @api.model
    def _amazon_process(self, account, events, outcome, settlement=None):
        """Record the refunds ``events`` (``amazon_sp.refunds.RefundEvent``) of ``account``
        not recorded yet, and credit them; one savepoint each. Counts ``created`` (credit
        notes made), ``skipped`` (recorded, no credit note yet), ``failed``."""
        refs = [event.adjustment_id for event in events]
        known = {
            refund.adjustment_ref: refund
            for refund in self.search(
                [("account_id", "=", account.id), ("adjustment_ref", "in", refs)]
            )
        }
        done = self
        for event in events:
            existing = known.get(event.adjustment_id)
            if existing:
                if settlement and not existing.settlement_id:
                    existing.settlement_id = settlement
                continue
            try:
                with self.env.cr.savepoint():
                    refund = self.create(self._amazon_values(account, event, settlement))
            except psycopg2.IntegrityError:
                # Recorded meanwhile by another run (a settlement import): nothing to do.
                continue
            known[event.adjustment_id] = refund
            refund._amazon_credit(event, outcome)
            done |= refund
        return done

    @api.model
    def _amazon_values(self, account, event, settlement=None):
        currency = self.env["res.currency"].with_context(active_test=False)
        return {
            "account_id": account.id,
            "adjustment_ref": event.adjustment_id,
            "order_ref": event.order_id,
            "marketplace_name": event.marketplace_name,
            "date": event.posted_date,
            "currency_id": currency.search([("name", "=", event.currency)], limit=1).id
            if event.currency
            else False,
            "settlement_id": settlement.id if settlement else False,
            "raw_event": json.dumps(event.raw, sort_keys=True) if event.raw else False,
        }

    def _amazon_retry(self, outcome):
        """Credit again the refunds in ``self`` that could not be credited yet."""
        for refund in self.filtered(lambda r: r.state in RETRIED and r.raw_event):
            event = refunds.parse_refund_event(json.loads(refund.raw_event))
            refund._amazon_credit(event, outcome)

    def _amazon_credit(self, event, outcome):
        """Make the credit note of this refund, or record why it cannot be made."""
        self.ensure_one()
        order = self.env["sale.order"].search(
            [
                ("amazon_account_id", "=", self.account_id.id),
                ("amazon_order_ref", "=", event.order_id or False),
            ],
            limit=1,
        )
        self.write({"attempts": self.attempts + 1, "sale_order_id": order.id})
        try:
            with self.env.cr.savepoint():
                move = self._amazon_create_credit_note(event, order)
        except _NotYet as why:
            self.write({"state": why.state, "reason": why.reason})
            outcome.counts["skipped"] += 1
            return
        except UserError as error:
            self.write({"state": "failed", "reason": error.args[0]})
            outcome.counts["failed"] += 1
            outcome.failures.append(f"{self.adjustment_ref}: {error.args[0]}")
            return
        self.write({"state": "done", "reason": False, "credit_note_id": move.id})
        outcome.counts["created"] += 1

    def _amazon_transaction_ref(self):
        """Amazon's transaction id of the refund, as the invoice upload sends it: the first
        adjustment item id (made only of the characters Amazon accepts in feed options)."""
        first = (self.adjustment_ref or "").split(",")[0]
        return re.sub(r"[^A-Za-z0-9_-]", "-", first) or False

    def _amazon_create_credit_note(self, event, order):
        self.ensure_one()
        account = self.account_id
        if not order:
            raise _NotYet(
                "no_order",
                _(
                    "Order %(ref)s was never synchronized to Odoo: recover it (Recover Order) "
                    "and invoice it; the refund is credited on the next run.",
                    ref=event.order_id or "?",
                ),
            )
        currency = order.currency_id
        if event.currency and event.currency != currency.name:
            raise UserError(
                _(
                    "Amazon refunded in %(refund)s an order in %(order)s.",
                    refund=event.currency,
                    order=currency.name,
                )
            )
        invoices = order.invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice" and m.state == "posted"
        )
        if not invoices:
            raise _NotYet(
                "not_invoiced",
                _(
                    "Order %(order)s has no posted invoice yet: the refund is credited once "
                    "it is invoiced.",
                    order=order.name,
                ),
            )
        lines, expected = self._amazon_credit_lines(event, order)
        if not lines:
            raise UserError(_("Amazon's refund holds no amount to credit."))
        self.amount_total = float(expected)
        invoice = invoices.sorted("id")[-1:]
        date = (event.posted_date or fields.Datetime.now()).date()
        move = (
            self.env["account.move"]
            .with_company(account.company_id)
            .with_context(default_move_type="out_refund")
            .create(
                {
                    "move_type": "out_refund",
                    "partner_id": order.partner_invoice_id.id,
                    "partner_shipping_id": order.partner_shipping_id.id,
                    "company_id": account.company_id.id,
                    "currency_id": currency.id,
                    "journal_id": invoice.journal_id.id,
                    "fiscal_position_id": order.fiscal_position_id.id,
                    "invoice_date": date,
                    "invoice_origin": order.name,
                    "invoice_user_id": order.user_id.id,
                    "team_id": order.team_id.id,
                    "ref": _("Amazon refund %(ref)s", ref=self.adjustment_ref),
                    "reversed_entry_id": invoice.id,
                    # the refund it answers, which Amazon requires with the credit note's upload
                    "amazon_transaction_ref": self._amazon_transaction_ref(),
                    "amazon_account_id": account.id,
                    "amazon_marketplace_id": order.amazon_marketplace_id.id,
                    "invoice_line_ids": lines,
                }
            )
        )
        difference = currency.round(float(expected) - move.amount_total)
        if not currency.is_zero(difference):
            move.message_post(
                body=_(
                    "Odoo's total differs from Amazon's refund by %(difference)s %(currency)s: "
                    "the taxes Odoo applies cannot reproduce Amazon's amounts.",
                    difference=difference,
                    currency=currency.name,
                ),
                subtype_xmlid="mail.mt_note",
            )
        if account.refund_credit_note_state == "posted":
            move.action_post()
        return move

    def _amazon_credit_lines(self, event, order):
        """Credit note line commands of ``event`` and the total they must reach."""
        account = self.account_id
        marketplace = order.amazon_marketplace_id
        currency = order.currency_id
        digits = self.env["decimal.precision"].precision_get("Product Price")
        SaleOrder = self.env["sale.order"]
        item_lines = order.order_line.filtered("amazon_item_ref")
        by_item = {line.amazon_item_ref: line for line in item_lines}
        items = {item.order_item_id: item for item in event.items}
        products = account._amazon_charge_products()
        labels = {
            amounts.KIND_SHIPPING: _("Shipping"),
            amounts.KIND_GIFT_WRAP: _("Gift wrapping"),
        }
        lines = [
            Command.create(
                {
                    "display_type": "line_note",
                    "name": _("Amazon refund of order %(ref)s", ref=event.order_id or order.name),
                    # Links the credit note to the order without changing its quantities.
                    "sale_line_ids": [Command.set(order.order_line.ids)],
                }
            )
        ]
        expected = Decimal(0)
        for charge in event.buyer_charges():
            so_line = self.env["sale.order.line"]
            if charge.kind in (amounts.KIND_ITEM, amounts.KIND_PROMOTION):
                so_line = by_item.get(charge.item_id) or self._amazon_line_by_sku(
                    item_lines, items.get(charge.item_id)
                )
                if not so_line:
                    raise _NotYet(
                        "not_invoiced",
                        _(
                            "Item %(item)s of the refund is not on order %(order)s.",
                            item=charge.item_id or "?",
                            order=order.name,
                        ),
                    )
                if charge.kind == amounts.KIND_ITEM and so_line.qty_invoiced < charge.quantity:
                    raise _NotYet(
                        "not_invoiced",
                        _(
                            "%(quantity)s unit(s) of %(product)s are refunded, but only "
                            "%(invoiced)s are invoiced on order %(order)s.",
                            quantity=charge.quantity,
                            product=so_line.product_id.display_name,
                            invoiced=so_line.qty_invoiced,
                            order=order.name,
                        ),
                    )
            if charge.kind == amounts.KIND_ITEM:
                product, taxes = so_line.product_id, so_line.tax_id
                name = so_line.name
            else:
                product = account._amazon_required_product(products[charge.kind], charge.kind)
                if charge.kind == amounts.KIND_PROMOTION:
                    # A promotion carries the taxes of the product it discounted.
                    taxes = so_line.tax_id
                    name = _("Promotion on %(item)s", item=so_line.product_id.display_name)
                else:
                    taxes = order.fiscal_position_id.map_tax(
                        product.taxes_id.filtered(lambda t: t.company_id == account.company_id)
                    )
                    name = labels.get(charge.kind) or _(
                        "Amazon refund: %(charge)s", charge=charge.item_id
                    )
            price, discount, gross = SaleOrder._amazon_price_charge(
                charge, taxes, marketplace, currency, digits
            )
            expected += gross
            vals = {
                "product_id": product.id,
                "name": name,
                "quantity": charge.quantity,
                "price_unit": float(price),
                "discount": float(discount),
                "tax_ids": [Command.set(taxes.ids)],
            }
            if charge.kind == amounts.KIND_ITEM:
                # The order sees the units given back (its invoiced quantity goes down).
                vals["sale_line_ids"] = [Command.set(so_line.ids)]
            lines.append(Command.create(vals))
        if len(lines) == 1:
            return [], Decimal(0)
        return lines, amounts.round_money(expected, currency.decimal_places)

    @api.model
    def _amazon_line_by_sku(self, lines, item):
        if item is None or not item.sku:
            return self.env["sale.order.line"]
        return lines.filtered(lambda line: line.amazon_offer_id.sku == item.sku)[:1]

    # --- UI ---------------------------------------------------------------------------------
    def action_view_credit_note(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.credit_note_id.id,
            "view_mode": "form",
        }


class _NotYet(Exception):
    """The refund cannot be credited yet (``state``: why, ``reason``: in words)."""

    def __init__(self, state, reason):
        super().__init__(reason)
        self.state = state
        self.reason = reason
