from odoo import fields, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    amazon_item_ref = fields.Char(string="Amazon Item Reference", readonly=True, copy=False)
    amazon_offer_id = fields.Many2one("amazon.offer", readonly=True)
    amazon_gift_message = fields.Boolean(
        readonly=True,
        help="A note holding the buyer's gift message: for the parcel, not the invoice (it "
        "is left off invoices, and removed with the buyer's data).",
    )

    def _action_launch_stock_rule(self, previous_product_uom_qty=False):
        # Amazon ships FBA orders from its own warehouses: no delivery picking is
        # made; the sync records done stock moves out of the Amazon location instead.
        # The channel is read as superuser: stock rules also run for users who may not
        # read every sale order (a procurement run by the warehouse).
        fba_ids = set(self.sudo().filtered(lambda line: line.order_id.amazon_channel == "fba").ids)
        lines = self.filtered(lambda line: line.id not in fba_ids)
        return super(SaleOrderLine, lines)._action_launch_stock_rule(previous_product_uom_qty)
