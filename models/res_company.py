# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    amazon_location_id = fields.Many2one(
        "stock.location",
        ondelete="set null",
        help="Stock location shared by the Amazon accounts of this company (FBA stock).",
    )
    amazon_team_id = fields.Many2one(
        "crm.team",
        string="Amazon Sales Team",
        ondelete="set null",
        help="Sales team shared by the Amazon accounts of this company.",
    )

    def _amazon_get_location(self):
        """Return the company's shared "Amazon" stock location, creating it the first time."""
        self.ensure_one()
        company = self.sudo()
        if company.amazon_location_id:
            return company.amazon_location_id.sudo(False)
        warehouse = company.env["stock.warehouse"].search([("company_id", "=", self.id)], limit=1)
        parent = warehouse.view_location_id or company.env.ref(
            "stock.stock_location_locations", raise_if_not_found=False
        )
        location = company.env["stock.location"].create(
            {
                "name": _("Amazon"),
                "usage": "internal",
                "location_id": parent.id,
                "company_id": self.id,
            }
        )
        company.amazon_location_id = location
        return location.sudo(False)

    def _amazon_get_team(self):
        """Return the company's shared "Amazon" sales team, creating it the first time."""
        self.ensure_one()
        company = self.sudo()
        if company.amazon_team_id:
            return company.amazon_team_id.sudo(False)
        team = company.env["crm.team"].create({"name": _("Amazon"), "company_id": self.id})
        company.amazon_team_id = team
        return team.sudo(False)
