from odoo import api, fields, models


class AmazonOffer(models.Model):
    _name = "amazon.offer"
    _description = "Amazon Offer"
    _order = "sku"
    _rec_name = "sku"

    account_id = fields.Many2one(
        "amazon.account", string="Account", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    marketplace_id = fields.Many2one(
        "amazon.marketplace", string="Marketplace", required=True, ondelete="restrict"
    )
    sku = fields.Char(string="SKU", required=True, help="The seller's SKU of the offer on Amazon.")
    asin = fields.Char(string="ASIN")
    product_id = fields.Many2one(
        "product.product",
        string="Product",
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
