# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError


class AmazonPayoutRegister(models.TransientModel):
    """Register one payment for all open Amazon invoices (or fee bills) of an account, so
    that the payout's bank statement line reconciles against one payment."""

    _name = "amazon.payout.register"
    _description = "Register Amazon Payout"

    account_id = fields.Many2one("amazon.account", string="Amazon Account", required=True)
    company_id = fields.Many2one(related="account_id.company_id")
    kind = fields.Selection(
        [("invoices", "Customer invoices"), ("fee_bills", "Vendor bills of Amazon fees")],
        string="Pay",
        required=True,
        default="invoices",
    )
    marketplace_ids = fields.Many2many(
        "amazon.marketplace",
        string="Marketplaces",
        help="Leave empty for every marketplace of the account.",
    )
    date_from = fields.Date(string="From")
    date_to = fields.Date(string="To")
    journal_id = fields.Many2one(
        "account.journal",
        compute="_compute_journal_id",
        store=True,
        readonly=False,
        domain="[('type', '=', 'bank'), ('company_id', '=', company_id)]",
    )
    payment_date = fields.Date(required=True, default=fields.Date.context_today)
    move_ids = fields.Many2many("account.move", string="Documents", compute="_compute_move_ids")
    move_count = fields.Integer(compute="_compute_move_ids")

    @api.depends("account_id")
    def _compute_journal_id(self):
        for wizard in self:
            wizard.journal_id = wizard.account_id.journal_id or wizard.company_id.amazon_journal_id

    def _moves_domain(self):
        self.ensure_one()
        domain = [
            ("company_id", "=", self.company_id.id),
            ("amazon_account_id", "=", self.account_id.id),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
            (
                "move_type",
                "in",
                ("out_invoice", "out_refund")
                if self.kind == "invoices"
                else ("in_invoice", "in_refund"),
            ),
        ]
        if self.marketplace_ids:
            domain.append(("amazon_marketplace_id", "in", self.marketplace_ids.ids))
        if self.date_from:
            domain.append(("invoice_date", ">=", self.date_from))
        if self.date_to:
            domain.append(("invoice_date", "<=", self.date_to))
        return domain

    @api.depends("account_id", "kind", "marketplace_ids", "date_from", "date_to")
    def _compute_move_ids(self):
        for wizard in self:
            moves = (
                self.env["account.move"].search(wizard._moves_domain())
                if wizard.account_id
                else self.env["account.move"]
            )
            wizard.move_ids = [Command.set(moves.ids)]
            wizard.move_count = len(moves)

    def _create_payments(self):
        """One grouped payment per currency; returns the payments."""
        self.ensure_one()
        moves = self.env["account.move"].search(self._moves_domain())
        if not moves:
            raise UserError(_("There is nothing to pay: no open document matches."))
        journal = self.journal_id or self.account_id._amazon_payout_journal()
        payer = self.company_id._amazon_get_partner()
        payments = self.env["account.payment"]
        for currency in moves.currency_id:
            batch = moves.filtered(lambda move, currency=currency: move.currency_id == currency)
            register = (
                self.env["account.payment.register"]
                .with_context(
                    active_model="account.move",
                    active_ids=batch.ids,
                    amazon_payout_partner_id=payer.id,
                )
                .create(
                    {
                        "journal_id": journal.id,
                        "payment_date": self.payment_date,
                        "group_payment": True,
                        "communication": _(
                            "Amazon payout %(account)s", account=self.account_id.name
                        ),
                    }
                )
            )
            payments |= register._create_payments()
        return payments

    def action_register(self):
        payments = self._create_payments()
        action = {
            "type": "ir.actions.act_window",
            "name": _("Amazon Payouts"),
            "res_model": "account.payment",
            "context": {"create": False},
        }
        if len(payments) == 1:
            action.update(view_mode="form", res_id=payments.id)
        else:
            action.update(view_mode="tree,form", domain=[("id", "in", payments.ids)])
        return action
