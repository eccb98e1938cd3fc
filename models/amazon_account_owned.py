# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class AmazonAccountOwned(models.AbstractModel):
    """A record of one Amazon account (offer, feed, order failure): deleted with the
    account, in the account's company (which the multi-company rules read)."""

    _name = "amazon.account.owned"
    _description = "Record of an Amazon Account"

    account_id = fields.Many2one("amazon.account", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
