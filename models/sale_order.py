from odoo import _, fields, models
from odoo.exceptions import UserError


class SaleOrder(models.Model):
    _inherit = "sale.order"

    amazon_order_ref = fields.Char(
        string="Amazon Reference", readonly=True, copy=False, index="btree_not_null"
    )
    amazon_account_id = fields.Many2one(
        "amazon.account", readonly=True, copy=False, index="btree_not_null"
    )
    amazon_marketplace_id = fields.Many2one("amazon.marketplace", readonly=True, copy=False)
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
        readonly=True,
        copy=False,
    )
    amazon_last_update = fields.Datetime(readonly=True, copy=False)
    amazon_total = fields.Monetary(
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

    # --- Invoicing -------------------------------------------------------------------------
    def _prepare_invoice(self):
        vals = super()._prepare_invoice()
        if self.amazon_account_id:
            vals.update(
                amazon_account_id=self.amazon_account_id.id,
                amazon_marketplace_id=self.amazon_marketplace_id.id,
            )
        return vals

    def _amazon_missing_vat(self):
        """Business orders of Amazon whose invoiced customer has no VAT number."""
        return self.filtered(
            lambda order: (
                order.amazon_is_business and not order.partner_invoice_id.commercial_partner_id.vat
            )
        )

    def _create_invoices(self, grouped=False, final=False, date=None):
        missing = self._amazon_missing_vat()
        if missing:
            raise UserError(
                _(
                    "Enter the VAT number of the business customer before invoicing these "
                    "Amazon orders (Amazon did not send it): %(orders)s.",
                    orders=", ".join(missing.mapped("name")),
                )
            )
        return super()._create_invoices(grouped=grouped, final=final, date=date)

    def _amazon_remind_missing_vat(self):
        """Ask the salesperson (an activity) for the VAT number of B2B customers without one."""
        activity_type = self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        for order in self._amazon_missing_vat():
            order.activity_schedule(
                activity_type_id=activity_type.id if activity_type else False,
                summary=_("Enter the customer's VAT number"),
                note=_(
                    "This Amazon business order comes without the buyer's VAT number. Enter it "
                    "on the customer (ask the buyer through Seller Central messaging) before "
                    "invoicing: business invoices must show it."
                ),
                user_id=(order.user_id or order.amazon_account_id.user_id or self.env.user).id,
            )
