# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, fields, models
from odoo.exceptions import UserError


class AccountMove(models.Model):
    _inherit = "account.move"

    amazon_account_id = fields.Many2one(
        "amazon.account", readonly=True, copy=False, index="btree_not_null"
    )
    amazon_marketplace_id = fields.Many2one("amazon.marketplace", readonly=True, copy=False)
    amazon_settlement_id = fields.Many2one("amazon.settlement", readonly=True, copy=False)

    def _amazon_sale_documents(self):
        """Customer invoices and credit notes of Amazon orders.

        Runs when invoices are sent, by billing users who may not read the sale orders: the
        link to Amazon is read as superuser, nothing else."""
        amazon_ids = set(
            self.sudo()
            .filtered(
                lambda move: (
                    move.is_sale_document(include_receipts=True)
                    and (
                        move.amazon_account_id
                        or move.line_ids.sale_line_ids.order_id.amazon_account_id
                    )
                )
            )
            .ids
        )
        return self.filtered(lambda move: move.id in amazon_ids)

    def _amazon_check_not_sent(self):
        amazon = self._amazon_sale_documents()
        if amazon:
            raise UserError(
                _(
                    "Invoices of Amazon orders cannot be e-mailed: Amazon does not give the "
                    "buyer's e-mail address (messages go through Seller Central). Print the "
                    "invoice (Print ▶ Invoices) and upload the PDF in Seller Central (Orders ▶ "
                    "Manage Orders ▶ Upload invoice). Concerned: %(names)s.",
                    names=", ".join(amazon.mapped("name")),
                )
            )

    def action_send_and_print(self):
        self._amazon_check_not_sent()
        return super().action_send_and_print()

    def action_invoice_sent(self):
        self._amazon_check_not_sent()
        return super().action_invoice_sent()
