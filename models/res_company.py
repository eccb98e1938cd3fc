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

    def _amazon_shared(self, fname, make):
        """The company's shared Amazon record held in ``fname``, made the first time by
        ``make(company)`` (the company as superuser); returned without superuser rights."""
        self.ensure_one()
        company = self.sudo()
        if not company[fname]:
            company[fname] = make(company)
        return company[fname].sudo(False)

    def _amazon_get_location(self):
        """Return the company's shared "Amazon" stock location, creating it the first time."""
        return self._amazon_shared(
            "amazon_location_id", lambda company: company._amazon_make_location()
        )

    def _amazon_make_location(self):
        warehouse = self.env["stock.warehouse"].search([("company_id", "=", self.id)], limit=1)
        parent = warehouse.view_location_id or self.env.ref(
            "stock.stock_location_locations", raise_if_not_found=False
        )
        return self.env["stock.location"].create(
            {
                "name": _("Amazon"),
                "usage": "internal",
                "location_id": parent.id,
                "company_id": self.id,
            }
        )

    def _amazon_get_team(self):
        """Return the company's shared "Amazon" sales team, creating it the first time."""
        return self._amazon_shared(
            "amazon_team_id",
            lambda company: company.env["crm.team"].create(
                {"name": _("Amazon"), "company_id": company.id}
            ),
        )

    # --- Accounting ------------------------------------------------------------------------
    def _amazon_get_journal(self):
        """Return the company's "Amazon Payments" bank journal, creating it (with its own
        outstanding receipts account) the first time. Empty while the company has no chart
        of accounts."""
        return self._amazon_shared(
            "amazon_journal_id", lambda company: company._amazon_make_journal()
        )

    def _amazon_make_journal(self):
        company = self
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
        return journal

    def _amazon_get_partner(self):
        """Return the company's "Amazon" partner (fee vendor, payout payer)."""
        return self._amazon_shared(
            "amazon_partner_id",
            lambda company: company.env["res.partner"].create(
                {
                    "name": "Amazon",
                    "is_company": True,
                    "company_id": company.id,
                    "supplier_rank": 1,
                    "customer_rank": 1,
                }
            ),
        )
