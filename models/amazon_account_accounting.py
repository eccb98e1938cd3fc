# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The accounting side of an Amazon account: payout journal, fee products, settlement
import (the settlements themselves are made by ``amazon.settlement``)."""

import logging
from collections import Counter

from odoo import _, api, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    def action_import_settlements(self):
        self.check_access_rights("write")
        self.check_access_rule("write")
        imported = self.env["amazon.settlement"]
        for account in self:
            imported |= account._import_settlements()
        message = self.env["amazon.sync.run"]._amazon_describe(
            "settlements", {"created": len(imported)}
        )
        return self._amazon_run_notification(_("Amazon settlements"), message, Counter(), [])

    @api.model
    def _cron_import_settlements(self):
        if not self._is_sync_enabled():
            return
        for account in self.sudo().search([]):
            try:
                account._import_settlements(trigger="cron")
            except UserError as error:
                _logger.warning(
                    "Amazon account %s: settlement import failed: %s", account.id, error
                )

    def _import_settlements(self, trigger="manual"):
        """Import the closed financial event groups not imported yet (see
        ``amazon.settlement._amazon_import``).

        :return: the settlements created
        :raise UserError: another import of the account runs, or Amazon failed
        """
        self.ensure_one()
        imported = self.env["amazon.settlement"]
        with self._amazon_sync_run("settlements", trigger) as run:
            if run.busy:
                raise UserError(
                    _(
                        "A settlement import of %(account)s is running: try again in a minute.",
                        account=self.name,
                    )
                )
            with run.api(describe=self._amazon_settlement_error) as client:
                imported = run.account.env["amazon.settlement"]._amazon_import(
                    run.account, client, run.outcome
                )
        if run.outcome.errors:
            raise UserError(run.outcome.errors[0])
        return imported.with_env(self.env)

    def _amazon_settlement_error(self, error):
        if isinstance(error, UserError):
            return error.args[0]
        return _(
            "Amazon settlements of %(account)s could not be read:\n%(error)s",
            account=self.name,
            error=str(error),
        )

    def action_register_payout(self):
        return self._amazon_open_wizard("amazon.payout.register", _("Register Amazon Payout"))

    def action_view_settlements(self):
        return self._amazon_action(
            "amazon.settlement",
            _("Settlements"),
            [("account_id", "=", self.id)],
            {"create": False},
        )

    def _amazon_payout_journal(self):
        """The journal payouts are registered in (created on first use if need be)."""
        self.ensure_one()
        journal = self.journal_id or self.company_id._amazon_get_journal()
        if not journal:
            raise UserError(
                _(
                    "Install a chart of accounts for %(company)s first: the Amazon Payments "
                    "journal needs one.",
                    company=self.company_id.name,
                )
            )
        if not self.journal_id:
            self.sudo().journal_id = journal
        return journal

    def _amazon_fee_product(self, fee_type):
        """(product, expense account or empty) of one Amazon fee type."""
        mapping = self.fee_mapping_ids.filtered(lambda m: m.fee_type == fee_type)[:1]
        product = mapping.product_id or self.fee_product_id
        if not product:
            raise UserError(
                _(
                    "Set a default fee product on the Amazon account %(account)s (fee type "
                    "%(fee)s has no mapping).",
                    account=self.name,
                    fee=fee_type,
                )
            )
        return product, mapping.expense_account_id
