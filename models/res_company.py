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
    amazon_journal_id = fields.Many2one(
        "account.journal",
        string="Amazon Payments Journal",
        ondelete="set null",
        help="Bank journal of Amazon's payouts, shared by the Amazon accounts of this company.",
    )
    amazon_partner_id = fields.Many2one(
        "res.partner",
        ondelete="set null",
        help="The partner Amazon itself: vendor of the fee bills and payer of the payouts.",
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

    # --- Accounting ------------------------------------------------------------------------
    def _amazon_get_journal(self):
        """Return the company's "Amazon Payments" bank journal, creating it (with its own
        outstanding receipts account) the first time. False while the company has no chart
        of accounts."""
        self.ensure_one()
        company = self.sudo()
        if company.amazon_journal_id:
            return company.amazon_journal_id.sudo(False)
        if not company.chart_template:
            return self.env["account.journal"]
        Account = company.env["account.account"]
        template = company.account_journal_payment_debit_account_id
        digits = len(template.code) if template.code else 6
        prefix = template.code[:-2] if template.code else (company.bank_account_code_prefix or "1")
        outstanding = Account.create(
            {
                "name": _("Amazon Outstanding Receipts"),
                "code": Account._search_new_account_code(company, digits, prefix),
                "account_type": "asset_current",
                "reconcile": True,
                "company_id": self.id,
            }
        )
        Journal = company.env["account.journal"]
        code = next(
            candidate
            for candidate in ("AMZN", *(f"AMZ{n}" for n in range(1, 100)))
            if not Journal.search_count(
                [("code", "=", candidate), ("company_id", "=", self.id)], limit=1
            )
        )
        journal = Journal.create(
            {"name": _("Amazon Payments"), "type": "bank", "code": code, "company_id": self.id}
        )
        # Customer payments and fee payments both clear through the same account, so the
        # payout's bank statement line (sales minus fees) reconciles against both at once.
        (journal.inbound_payment_method_line_ids | journal.outbound_payment_method_line_ids).write(
            {"payment_account_id": outstanding.id}
        )
        company.amazon_journal_id = journal
        return journal.sudo(False)

    def _amazon_get_partner(self):
        """Return the company's "Amazon" partner (fee vendor, payout payer)."""
        self.ensure_one()
        company = self.sudo()
        if company.amazon_partner_id:
            return company.amazon_partner_id.sudo(False)
        partner = company.env["res.partner"].create(
            {
                "name": "Amazon",
                "is_company": True,
                "company_id": self.id,
                "supplier_rank": 1,
                "customer_rank": 1,
            }
        )
        company.amazon_partner_id = partner
        return partner.sudo(False)
