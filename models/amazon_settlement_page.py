# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The pages of a financial event group read so far, kept until the group is read whole.

A busy seller's settlement group is thousands of events, hundreds of pages of
``listFinancialEventsByGroupId`` at Amazon's 0.5 requests/s: more than one scheduled run
reads. Each page read is stored (and committed) with the NextToken of the page after it, so
that the next run goes on from there; once the last page is read, the pages are folded into
the settlement and removed in the same transaction (see ``amazon.settlement._amazon_import``).
Technical: written by the import (as superuser) only."""

from odoo import api, fields, models
from odoo.tools import split_every

from ..amazon_sp import finances

FOLD_BATCH = 20  # pages folded at once


class AmazonSettlementPage(models.Model):
    _name = "amazon.settlement.page"
    _description = "Amazon Settlement Page Read"
    _order = "account_id, group_ref, sequence"

    account_id = fields.Many2one(
        "amazon.account", required=True, ondelete="cascade", index=True, readonly=True
    )
    group_ref = fields.Char(string="Financial Event Group", required=True, readonly=True)
    sequence = fields.Integer(required=True, readonly=True)
    payload = fields.Json(readonly=True)  # the page's ``payload`` object (None: empty)
    next_token = fields.Char(
        readonly=True, help="Amazon's NextToken of the page after this one (none: the last)."
    )

    _sql_constraints = [
        (
            "page_unique",
            "UNIQUE(account_id, group_ref, sequence)",
            "A page of a financial event group is kept only once.",
        ),
    ]

    @api.model
    def _amazon_staged(self, account, group_ref=None):
        """The pages kept of ``account`` (of one group if ``group_ref``), in reading order."""
        domain = [("account_id", "=", account.id)]
        if group_ref is not None:
            domain.append(("group_ref", "=", group_ref))
        return self.search(domain)

    @api.model
    def _amazon_keep(self, account, group_ref, sequence, payload, next_token):
        return self.create(
            {
                "account_id": account.id,
                "group_ref": group_ref,
                "sequence": sequence,
                "payload": payload,
                "next_token": next_token or False,
            }
        )

    def _amazon_events(self):
        """The pages folded into ``amazon_sp.finances.GroupEvents`` (in reading order), a
        few at a time in memory (a group may be hundreds of pages)."""
        events = finances.GroupEvents()
        for ids in split_every(FOLD_BATCH, self.sorted("sequence").ids):
            pages = self.browse(ids)
            finances.parse_financial_events([page.payload or {} for page in pages], events)
            pages.invalidate_recordset(["payload"])
        return events
