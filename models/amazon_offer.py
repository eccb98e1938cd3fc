from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class AmazonOffer(models.Model):
    _name = "amazon.offer"
    _description = "Amazon Offer"
    _order = "sku"
    _rec_name = "sku"

    account_id = fields.Many2one("amazon.account", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    marketplace_id = fields.Many2one("amazon.marketplace", required=True, ondelete="restrict")
    sku = fields.Char(string="SKU", required=True, help="The seller's SKU of the offer on Amazon.")
    asin = fields.Char(string="ASIN")
    product_id = fields.Many2one(
        "product.product",
        required=True,
        ondelete="restrict",
        check_company=True,
        help="The product sold when Amazon reports this SKU. Changing it fixes future orders.",
    )
    is_default_product = fields.Boolean(
        string="Needs Mapping",
        compute="_compute_is_default_product",
        store=True,
        help="The SKU matched no product's internal reference: it points at the default "
        "'Amazon Sale' product until you map it.",
    )

    _sql_constraints = [
        (
            "sku_unique",
            "UNIQUE(account_id, marketplace_id, sku)",
            "An Amazon SKU can only be mapped once per account and marketplace.",
        ),
    ]

    @api.depends("product_id", "account_id.default_product_id")
    def _compute_is_default_product(self):
        for offer in self:
            offer.is_default_product = offer.product_id == offer.account_id.default_product_id

    # --- Stock: FBM stock push (issue 6) ---------------------------------------------------
    fulfillment_channel = fields.Selection(
        [("fbm", "Fulfilled by Merchant"), ("fba", "Fulfilled by Amazon")],
        help="Set from the first order of the SKU. Only offers you fulfill yourself (FBM) can "
        "synchronize their stock; Amazon counts its own (FBA) stock.",
    )
    sync_stock = fields.Boolean(
        string="Synchronize Stock",
        help="Send the free quantity of the product in the account's warehouse to Amazon "
        "(scheduled action 'Amazon: synchronize stock'), when it changed since the last push.",
    )
    stock_last_qty = fields.Integer(string="Last Pushed Quantity", readonly=True, copy=False)
    stock_last_push = fields.Datetime(string="Last Stock Push", readonly=True, copy=False)
    stock_sync_state = fields.Selection(
        [("pending", "Pending"), ("done", "Synced"), ("error", "Failed")],
        string="Stock Status",
        readonly=True,
        copy=False,
    )
    stock_sync_message = fields.Text(string="Stock Message", readonly=True, copy=False)
    stock_feed_id = fields.Many2one(
        "amazon.feed", string="Last Stock Feed", readonly=True, copy=False, ondelete="set null"
    )

    @api.constrains("sync_stock", "fulfillment_channel")
    def _check_sync_stock_channel(self):
        for offer in self:
            if offer.sync_stock and offer.fulfillment_channel == "fba":
                raise ValidationError(
                    _(
                        "Offer %(sku)s is fulfilled by Amazon: Amazon counts its stock, so it "
                        "cannot synchronize stock from Odoo.",
                        sku=offer.sku,
                    )
                )

    def action_amazon_push_stock_again(self):
        """Send the quantity again on the next stock synchronization."""
        self.write({"stock_last_push": False, "stock_sync_state": False})
