# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class AmazonFeeMapping(models.Model):
    _name = "amazon.fee.mapping"
    _description = "Amazon Fee Type Mapping"
    _order = "fee_type, id"

    amazon_account_id = fields.Many2one("amazon.account", required=True, ondelete="cascade")
    company_id = fields.Many2one(related="amazon_account_id.company_id", store=True)
    fee_type = fields.Char(
        required=True,
        help="Amazon's fee type exactly as the Finances API names it, e.g. Commission, "
        "FBAPerUnitFulfillmentFee, RefundCommission, Advertising.",
    )
    product_id = fields.Many2one(
        "product.product",
        required=True,
        domain="[('type', '=', 'service')]",
        help="Product of the fee bill line of this fee type.",
    )
    expense_account_id = fields.Many2one(
        "account.account",
        domain="[('deprecated', '=', False), ('company_id', '=', company_id)]",
        help="Leave empty to use the product's expense account.",
    )

    _sql_constraints = [
        (
            "fee_type_unique",
            "UNIQUE(amazon_account_id, fee_type)",
            "Each Amazon fee type can be mapped only once per account.",
        ),
    ]
