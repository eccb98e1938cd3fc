from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    amazon_order_ref = fields.Char(
        string="Amazon Reference", readonly=True, copy=False, index="btree_not_null"
    )
    amazon_account_id = fields.Many2one(
        "amazon.account", string="Amazon Account", readonly=True, copy=False, index="btree_not_null"
    )
    amazon_marketplace_id = fields.Many2one(
        "amazon.marketplace", string="Amazon Marketplace", readonly=True, copy=False
    )
    amazon_channel = fields.Selection(
        [("fba", "Fulfilled by Amazon"), ("fbm", "Fulfilled by Merchant")],
        string="Fulfillment Channel",
        readonly=True,
        copy=False,
    )
    amazon_status = fields.Selection(
        [
            ("PENDING_AVAILABILITY", "Pending Availability"),
            ("PENDING", "Pending"),
            ("UNSHIPPED", "Unshipped"),
            ("PARTIALLY_SHIPPED", "Partially Shipped"),
            ("SHIPPED", "Shipped"),
            ("CANCELLED", "Cancelled"),
            ("UNFULFILLABLE", "Unfulfillable"),
        ],
        string="Amazon Status",
        readonly=True,
        copy=False,
    )
    amazon_last_update = fields.Datetime(string="Amazon Last Update", readonly=True, copy=False)
    amazon_total = fields.Monetary(
        string="Amazon Total",
        readonly=True,
        copy=False,
        help="The order total as Amazon reports it, in the order's currency.",
    )
    amazon_total_difference = fields.Monetary(
        string="Difference with Amazon",
        readonly=True,
        copy=False,
        help="Amazon's total minus Odoo's total, when Odoo's taxes cannot reproduce Amazon's "
        "amounts exactly (see the chatter for why).",
    )
    amazon_is_business = fields.Boolean(string="Amazon Business Order", readonly=True, copy=False)

    _sql_constraints = [
        (
            "amazon_order_ref_unique",
            "UNIQUE(amazon_account_id, amazon_order_ref)",
            "There can only be one sale order per Amazon order and account.",
        ),
    ]

    def message_subscribe(self, partner_ids=None, subtype_ids=None):
        # Confirming an order subscribes its customer; an Amazon buyer must never
        # receive mail from Odoo (Amazon relays buyer messages itself).
        if partner_ids and self.env.context.get("amazon_sync"):
            buyers = set(self.filtered("amazon_order_ref").partner_id.ids)
            partner_ids = [pid for pid in partner_ids if pid not in buyers]
        return super().message_subscribe(partner_ids=partner_ids, subtype_ids=subtype_ids)

    def _amazon_is_delivered(self):
        """Whether goods of this order already left the warehouse in Odoo."""
        self.ensure_one()
        if self.amazon_channel == "fba":
            return any(line.qty_delivered for line in self.order_line)
        return any(picking.state == "done" for picking in self.picking_ids)
