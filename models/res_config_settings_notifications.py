# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The interval of the order polling (the safety net behind Amazon's notifications), as a
setting: it is the interval of the scheduled action *Amazon: synchronize orders*."""

from odoo import api, fields, models

ORDERS_CRON = "sale_amazon_connector.ir_cron_sync_orders"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    amazon_orders_poll_minutes = fields.Integer(
        string="Order Polling Interval (minutes)",
        help="How often the order synchronization polls Amazon for changed orders. With "
        "Amazon's notifications on it is only the safety net (a lost notification waits "
        "for it), and may be longer.",
    )

    def _amazon_orders_cron(self):
        return self.env.ref(ORDERS_CRON, raise_if_not_found=False)

    @api.model
    def get_values(self):
        res = super().get_values()
        cron = self.sudo()._amazon_orders_cron()
        minutes = {"minutes": 1, "hours": 60, "days": 1440, "weeks": 10080}
        if cron and cron.interval_type in minutes:
            res["amazon_orders_poll_minutes"] = cron.interval_number * minutes[cron.interval_type]
        return res

    def set_values(self):
        res = super().set_values()
        cron = self.sudo()._amazon_orders_cron()
        if cron and self.amazon_orders_poll_minutes > 0:
            current = self.get_values().get("amazon_orders_poll_minutes")
            if current != self.amazon_orders_poll_minutes:
                cron.write(
                    {"interval_number": self.amazon_orders_poll_minutes, "interval_type": "minutes"}
                )
        return res
