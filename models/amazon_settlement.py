# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta
from decimal import Decimal

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

from ..amazon_sp import errors as amazon_errors
from .amazon_sync_run import SyncOutcome

_logger = logging.getLogger(__name__)


class AmazonSettlement(models.Model):
    """One Amazon financial event group (settlement period) of an account."""

    _name = "amazon.settlement"
    _description = "Amazon Settlement"
    _inherit = ["mail.thread"]
    _order = "date_start desc, id desc"
    _rec_name = "name"

    name = fields.Char(compute="_compute_name", store=True)
    account_id = fields.Many2one(
        "amazon.account", string="Amazon Account", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    group_ref = fields.Char(
        string="Financial Event Group", required=True, readonly=True, index=True
    )
    marketplace_id = fields.Many2one("amazon.marketplace", readonly=True)
    processing_status = fields.Char(readonly=True)
    fund_transfer_status = fields.Char(readonly=True)
    date_start = fields.Datetime(string="Period Start", readonly=True)
    date_end = fields.Datetime(string="Period End", readonly=True)
    fund_transfer_date = fields.Datetime(readonly=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    original_total = fields.Monetary(
        readonly=True, help="Amazon's total of the period in the marketplace currency."
    )
    payout = fields.Monetary(
        readonly=True,
        help="What Amazon transferred to the seller's bank account (negative: charged).",
    )
    sales_total = fields.Monetary(
        string="Sales and Refunds",
        readonly=True,
        help="Charges, promotions and withheld taxes of the period, refunds deducted.",
    )
    fee_total = fields.Monetary(
        string="Amazon Fees", readonly=True, help="Fees Amazon kept (positive: a cost)."
    )
    bill_id = fields.Many2one("account.move", string="Fee Bill", readonly=True, copy=False)
    order_ids = fields.Many2many(
        "sale.order",
        "amazon_settlement_order_rel",
        "settlement_id",
        "order_id",
        string="Shipped Orders",
        readonly=True,
    )
    refund_order_ids = fields.Many2many(
        "sale.order",
        "amazon_settlement_refund_rel",
        "settlement_id",
        "order_id",
        string="Refunded Orders",
        readonly=True,
    )
    refund_ids = fields.One2many("amazon.refund", "settlement_id", string="Amazon Refunds")
    credit_note_ids = fields.Many2many(
        "account.move",
        string="Credit Notes",
        compute="_compute_credit_note_ids",
        help="The credit notes of the refunds of the period: the payout nets them with the "
        "invoices they offset.",
    )
    note = fields.Text(readonly=True)

    _sql_constraints = [
        (
            "group_ref_unique",
            "UNIQUE(account_id, group_ref)",
            "A financial event group is imported only once per Amazon account.",
        ),
    ]

    @api.depends("account_id.name", "date_start", "date_end", "group_ref")
    def _compute_name(self):
        for settlement in self:
            if settlement.date_start and settlement.date_end:
                settlement.name = _(
                    "%(account)s %(start)s – %(end)s",
                    account=settlement.account_id.name,
                    start=fields.Date.to_string(settlement.date_start.date()),
                    end=fields.Date.to_string(settlement.date_end.date()),
                )
            else:
                settlement.name = settlement.group_ref

    @api.depends("refund_ids.credit_note_id")
    def _compute_credit_note_ids(self):
        for settlement in self:
            settlement.credit_note_ids = settlement.refund_ids.credit_note_id

    # --- Import -----------------------------------------------------------------------------
    @api.model
    def _amazon_import(self, account, client, outcome):
        """Import the closed financial event groups of ``account`` opened in its look-back
        period and not imported yet; one savepoint (and commit) each.

        A group is read page by page, each page kept (``amazon.settlement.page``) and
        committed: out of time, the run stops between two pages (one page per run at
        least) and the next one goes on from the page after the last one kept, that group
        first.

        :return: the settlements created
        """
        since = fields.Datetime.now() - timedelta(days=max(account.settlement_lookback_days, 1))
        groups = client.finances.list_financial_event_groups(started_after=since)
        known = set(
            self.search(
                [("account_id", "=", account.id), ("group_ref", "in", [g.group_id for g in groups])]
            ).mapped("group_ref")
        )
        todo = [g for g in groups if g.is_closed and g.group_id not in known]
        staged = self.env["amazon.settlement.page"]._amazon_staged(account)
        under_way = set(staged.mapped("group_ref"))
        # Pages of a group no longer to import (out of the look-back period): not needed.
        stale = staged.filtered(lambda p: p.group_ref not in {g.group_id for g in todo})
        if stale:
            stale.unlink()
            account._amazon_commit()
        todo.sort(key=lambda g: g.group_id not in under_way)  # the group under way first
        created = self
        done = [0]  # pages read and settlements made by this run
        for group in todo:
            if done[0] and outcome.out_of_time():
                outcome.more = True
                break
            pages = self._amazon_read_group(account, client, group, outcome, done)
            if pages is None:  # out of time: the next run goes on from the next page
                break
            with self.env.cr.savepoint():
                created |= self._amazon_create_from_group(account, group, pages._amazon_events())
                pages.unlink()
            done[0] += 1
            outcome.counts["created"] += 1
            account._amazon_commit()
        return created

    @api.model
    def _amazon_read_group(self, account, client, group, outcome, done):
        """The pages of ``group`` (``amazon.settlement.page``): those kept by earlier runs,
        then the next ones, read, kept and committed one by one; None when the run got out
        of time between two pages (``outcome.more`` set)."""
        Page = self.env["amazon.settlement.page"]
        pages = Page._amazon_staged(account, group.group_id)
        token = pages[-1:].next_token
        if pages and not token:  # read whole by an earlier run
            return pages
        try:
            reader = client.finances.group_event_pages(
                group.group_id, token=token or None, page_size=account._amazon_finance_page_size()
            )
            for payload, next_token in reader:
                page = Page._amazon_keep(account, group.group_id, len(pages), payload, next_token)
                pages |= page
                account._amazon_commit()
                page.invalidate_recordset(["payload"])  # stored: not kept in memory as well
                done[0] += 1
                if next_token and outcome.out_of_time():
                    outcome.more = True
                    return None
        except amazon_errors.SpApiBadRequestError:
            if token:  # a token Amazon no longer takes: the group is read again from its start
                _logger.warning(
                    "Amazon account %s: the page token of settlement group %s was refused; "
                    "the next run reads the group from its start.",
                    account.id,
                    group.group_id,
                )
                pages.unlink()
                account._amazon_commit()
            raise
        return pages

    @api.model
    def _amazon_create_from_group(self, account, group, events):
        """Create the settlement of a closed group and its fee bill.

        :param group: ``amazon_sp.finances.FinancialEventGroup``
        :param events: ``amazon_sp.finances.GroupEvents`` of the group
        """
        code = group.currency or next(iter(events.currencies), None)
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", code)], limit=1)
        )
        if not currency:
            raise UserError(_("Currency %(code)s is unknown to Odoo.", code=code or "?"))
        orders = self.env["sale.order"].search(
            [
                ("amazon_account_id", "=", account.id),
                ("amazon_order_ref", "in", events.shipment_order_ids + events.refund_order_ids),
            ]
        )
        by_ref = {order.amazon_order_ref: order for order in orders}
        shipped = self.env["sale.order"].browse(
            [by_ref[r].id for r in events.shipment_order_ids if r in by_ref]
        )
        refunded = self.env["sale.order"].browse(
            [by_ref[r].id for r in events.refund_order_ids if r in by_ref]
        )
        refs = events.shipment_order_ids + events.refund_order_ids
        missing = [ref for ref in refs if ref not in by_ref]
        notes = []
        if missing:
            notes.append(
                _("Orders not found in Odoo: %(refs)s", refs=", ".join(sorted(set(missing))))
            )
        if events.unhandled:
            notes.append(
                _(
                    "Events not detailed by Odoo (their amounts are in the totals only): %(lists)s",
                    lists=", ".join(f"{k} ({v})" for k, v in sorted(events.unhandled.items())),
                )
            )
        total = group.original_total.amount if group.original_total else events.total
        settlement = self.create(
            {
                "account_id": account.id,
                "group_ref": group.group_id,
                "marketplace_id": (shipped | refunded).amazon_marketplace_id[:1].id
                if len((shipped | refunded).amazon_marketplace_id) == 1
                else False,
                "processing_status": group.processing_status,
                "fund_transfer_status": group.fund_transfer_status,
                "date_start": group.start,
                "date_end": group.end,
                "fund_transfer_date": group.fund_transfer_date,
                "currency_id": currency.id,
                "original_total": float(total),
                "payout": float(total) if group.is_closed else 0.0,
                "sales_total": float(events.total - events.fee_total),
                "fee_total": float(-events.fee_total),
                "order_ids": [Command.set(shipped.ids)],
                "refund_order_ids": [Command.set(refunded.ids)],
                "note": "\n".join(notes) or False,
            }
        )
        settlement.bill_id = settlement._amazon_create_fee_bill(events.fees)
        # The refunds of the period become credit notes (unless a refund run made them).
        self.env["amazon.refund"]._amazon_process(
            account, events.refund_events, SyncOutcome(), settlement=settlement
        )
        return settlement

    def _amazon_create_fee_bill(self, fees):
        """One vendor bill (a refund when Amazon gave back more than it kept) to the Amazon
        partner, one line per fee type, posted. ``fees``: {fee type: Decimal} (negative =
        kept by Amazon)."""
        self.ensure_one()
        account = self.account_id
        total = -sum(fees.values(), Decimal(0))
        if not total and not any(fees.values()):
            return self.env["account.move"]
        sign = 1 if total >= 0 else -1
        lines = []
        for fee_type in sorted(fees):
            amount = -fees[fee_type] * sign
            if not amount:
                continue
            product, expense_account = account._amazon_fee_product(fee_type)
            vals = {
                "product_id": product.id,
                "name": _("Amazon fees: %(type)s", type=fee_type),
                "quantity": 1,
                "price_unit": float(amount),
                "tax_ids": [Command.clear()],
            }
            if expense_account:
                vals["account_id"] = expense_account.id
            lines.append(Command.create(vals))
        date = (self.fund_transfer_date or self.date_end or fields.Datetime.now()).date()
        bill = (
            self.env["account.move"]
            .with_company(account.company_id)
            .create(
                {
                    "move_type": "in_invoice" if sign > 0 else "in_refund",
                    "partner_id": account.company_id._amazon_get_partner().id,
                    "company_id": account.company_id.id,
                    "currency_id": self.currency_id.id,
                    "invoice_date": date,
                    "date": date,
                    "ref": _("Amazon settlement %(ref)s", ref=self.group_ref),
                    "amazon_account_id": account.id,
                    "amazon_marketplace_id": self.marketplace_id.id,
                    "amazon_settlement_id": self.id,
                    "invoice_line_ids": lines,
                }
            )
        )
        bill.action_post()
        return bill

    def action_view_bill(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.bill_id.id,
            "view_mode": "form",
        }
