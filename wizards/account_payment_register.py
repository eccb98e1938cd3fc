# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class AccountPaymentRegister(models.TransientModel):
    _inherit = "account.payment.register"

    def _get_line_batch_key(self, line):
        # An Amazon payout pays the invoices of many buyers at once: Amazon is the payer,
        # so the lines of all buyers make one batch (one payment) per account/currency.
        key = super()._get_line_batch_key(line)
        payer = self.env.context.get("amazon_payout_partner_id")
        if payer:
            key.update(partner_id=payer, partner_bank_id=False)
        return key
