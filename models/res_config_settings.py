# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .amazon_account import SYNC_ENABLED_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    amazon_sync_enabled = fields.Boolean(
        string="Amazon Synchronization",
        help="Synchronize orders and deliveries with Amazon automatically for every active "
        "Amazon account.",
    )

    @api.model
    def get_values(self):
        res = super().get_values()
        res["amazon_sync_enabled"] = self.env["amazon.account"]._is_sync_enabled()
        return res

    def set_values(self):
        res = super().set_values()
        # Stored as "True"/"False" (never deleted) so that a missing parameter means the
        # default: enabled.
        self.env["ir.config_parameter"].sudo().set_param(
            SYNC_ENABLED_PARAM, "True" if self.amazon_sync_enabled else "False"
        )
        return res
