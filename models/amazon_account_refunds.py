# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The refunds of an Amazon account: settings and entry points (the refunds and their credit
notes are made by ``amazon.refund``)."""

from datetime import datetime, timedelta

from odoo import _, api, fields, models

from .amazon_refund import RETRIED

REFUND_BATCH = 50
# Amazon may post a refund up to 48 hours after it happened: each run reads again from
# that long before the end of the previous one (refunds already recorded are skipped).
REFUND_OVERLAP = timedelta(hours=48)
# Window ends stay this far behind Amazon's clock (Amazon refuses later ones).
WINDOW_MARGIN = timedelta(minutes=3)


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    refund_credit_note_state = fields.Selection(
        [("draft", "Draft"), ("posted", "Posted")],
        string="Credit Notes of Refunds",
        default="posted",
        required=True,
        help="Whether the credit notes made from Amazon refunds are posted, or left in draft "
        "for an accountant to check.",
    )
    refund_lookback_days = fields.Integer(
        string="Refund Look-back (days)",
        default=30,
        help="How far back the first refund import reads Amazon's refunds.",
    )
    last_refunds_sync = fields.Datetime(
        string="Refunds Read Until",
        readonly=True,
        copy=False,
        help="Amazon's refunds posted before this time were read.",
    )
    refund_ids = fields.One2many("amazon.refund", "account_id", string="Refunds")
    refund_count = fields.Integer(compute="_compute_refund_count")

    def _compute_refund_count(self):
        counts = dict(
            self.env["amazon.refund"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.refund_count = counts.get(account, 0)

    def action_sync_refunds(self):
        """Turn the accounts' new Amazon refunds into credit notes now (button and RPC)."""
        return self._amazon_run_now("_sync_refunds", "refunds", _("Amazon refunds"))

    @api.model
    def _cron_sync_refunds(self):
        self._amazon_cron("_sync_refunds")

    def action_view_refunds(self):
        return self._amazon_action(
            "amazon.refund", _("Amazon Refunds"), [("account_id", "=", self.id)], {"create": False}
        )

    def _sync_refunds(self, trigger="manual", order_refs=None):
        """Read Amazon's refunds posted since the last run (``listFinancialEvents``), or
        those of the orders ``order_refs`` (``listFinancialEventsByOrderId``), and credit
        them (see ``amazon.refund``); then retry the refunds recorded without credit note.
        Batches of refunds commit one by one; every step is idempotent.

        Counts: ``created`` credit notes, ``skipped`` refunds recorded without one yet,
        ``failed`` refunds Odoo could not credit."""
        with self._amazon_sync_run("refunds", trigger) as run:
            if run.busy:
                return run.outcome
            account = run.account
            Refund = account.env["amazon.refund"]
            with run.api() as client:
                window_end = None
                if order_refs:
                    events = [
                        e for ref in order_refs for e in client.finances.list_order_refunds(ref)
                    ]
                else:
                    window_end = client.amazon_now().replace(microsecond=0) - WINDOW_MARGIN
                    start = account._amazon_refund_window_start(window_end)
                    events = client.finances.list_refunds(start, window_end)
                # Oldest first, those recorded already left out: a run stopped on its time
                # budget moves the window's marker only past the refunds it processed.
                events = account._amazon_refunds_unrecorded(events)
                size = account._amazon_refund_batch_size()
                seen, read_until, batches = Refund, None, 0
                for index in range(0, len(events), size):
                    if batches and run.out_of_time():  # the next run goes on from here
                        run.outcome.more = True
                        break
                    batch = events[index : index + size]
                    seen |= Refund._amazon_process(account, batch, run.outcome)
                    read_until = batch[-1].posted_date or read_until
                    batches += 1
                    account._amazon_commit()
                if run.outcome.more:
                    if window_end is not None:
                        account._amazon_refunds_read_until(read_until, start, window_end)
                    return run.outcome
                # Refunds recorded by earlier runs (or a settlement import) wait for their
                # order, their invoice or a fix of the account (a product): try them again.
                waiting = Refund.search(
                    [
                        ("account_id", "=", account.id),
                        ("state", "in", RETRIED),
                        ("id", "not in", seen.ids),
                    ],
                    order="write_date, id",
                )
                if window_end is not None:  # every refund of the window is recorded
                    account._amazon_commit_progress({"last_refunds_sync": window_end})
                for index in range(0, len(waiting), size):
                    # Out of time: the others are retried by the next scheduled run (least
                    # recently tried first), not at once: a refund that keeps waiting for its
                    # order would otherwise trigger the job again and again.
                    if batches and run.out_of_time():
                        break
                    waiting[index : index + size]._amazon_retry(run.outcome)
                    batches += 1
                    account._amazon_commit()
        return run.outcome

    def _amazon_refunds_unrecorded(self, events):
        """``events`` (RefundEvent) not recorded yet for this account, oldest first."""
        self.ensure_one()
        known = set(
            self.env["amazon.refund"]
            .search(
                [
                    ("account_id", "=", self.id),
                    ("adjustment_ref", "in", [event.adjustment_id for event in events]),
                ]
            )
            .mapped("adjustment_ref")
        )
        fresh = [event for event in events if event.adjustment_id not in known]
        return sorted(fresh, key=lambda e: (e.posted_date is None, e.posted_date or datetime.min))

    def _amazon_refund_batch_size(self):
        size = self.env.context.get("amazon_test_page_size")
        if size and self._amazon_in_test_mode():
            return int(size)
        return REFUND_BATCH

    def _amazon_refunds_read_until(self, read_until, start, window_end):
        """A run stopped within its window (read from ``start``): the marker moves to the
        last refund processed, when the next window (read from the marker minus the
        overlap) still starts later than this one, so that no refund is read twice for
        nothing and none of the window is skipped."""
        if read_until and read_until - REFUND_OVERLAP > start:
            self._amazon_commit_progress({"last_refunds_sync": min(read_until, window_end)})

    def _amazon_refund_window_start(self, window_end):
        self.ensure_one()
        if self.last_refunds_sync:
            return min(self.last_refunds_sync, window_end) - REFUND_OVERLAP
        return window_end - timedelta(days=max(self.refund_lookback_days, 1))
