# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class AccountMoveSend(models.TransientModel):
    _inherit = "account.move.send"

    @api.model
    def default_get(self, fields_list):
        # Opening Send & Print on invoices of Amazon orders says why it is not possible.
        moves = self.env["account.move"].browse(self.env.context.get("active_ids") or [])
        if self.env.context.get("active_model", "account.move") == "account.move":
            moves.exists()._amazon_check_not_sent()
        return super().default_get(fields_list)

    def action_send_and_print(self, force_synchronous=False, allow_fallback_pdf=False, **kwargs):
        if any(wizard.checkbox_send_mail for wizard in self):
            self.move_ids._amazon_check_not_sent()
        return super().action_send_and_print(
            force_synchronous=force_synchronous, allow_fallback_pdf=allow_fallback_pdf, **kwargs
        )

    def _send_mail(self, move, mail_template, **kwargs):
        # Last line of defence (e.g. the asynchronous sending cron).
        move._amazon_check_not_sent()
        return super()._send_mail(move, mail_template, **kwargs)
