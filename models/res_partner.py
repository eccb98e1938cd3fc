from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    amazon_buyer_key = fields.Char(
        copy=False,
        index="btree_not_null",
        help="Technical: a one-way hash identifying an Amazon buyer of one account, so the "
        "same buyer is reused without storing Amazon's anonymized e-mail.",
    )
