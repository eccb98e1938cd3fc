# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .const import AMAZON_CHANNELS


class SaleReport(models.Model):
    _inherit = "sale.report"

    amazon_account_id = fields.Many2one("amazon.account", readonly=True)
    amazon_marketplace_id = fields.Many2one("amazon.marketplace", readonly=True)
    amazon_channel = fields.Selection(
        AMAZON_CHANNELS,
        string="Fulfillment Channel",
        readonly=True,
    )

    def _select_additional_fields(self):
        res = super()._select_additional_fields()
        res["amazon_account_id"] = "s.amazon_account_id"
        res["amazon_marketplace_id"] = "s.amazon_marketplace_id"
        res["amazon_channel"] = "s.amazon_channel"
        return res

    def _group_by_sale(self):
        res = super()._group_by_sale()
        res += """,
            s.amazon_account_id,
            s.amazon_marketplace_id,
            s.amazon_channel"""
        return res
