# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The refunds of an Amazon account: settings and entry points (the refunds and their credit
notes are made by ``amazon.refund``)."""

import logging
from datetime import datetime, timedelta

from odoo import _, api, fields, models

from ..amazon_sp import errors as amazon_errors
from .amazon_refund import RETRIED

_logger = logging.getLogger(__name__)

REFUND_BATCH = 50
# Amazon may post a refund up to 48 hours after it happened: each run reads again from
# that long before the end of the previous one (refunds already recorded are skipped).
REFUND_OVERLAP = timedelta(hours=48)
REFUND_WINDOW_FIELDS = ("refunds_window_start", "refunds_window_end", "refunds_page_token")
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
    # A window of listFinancialEvents read page by page over several runs: where the next
    # run goes on (the window's bounds and the next page's token).
    refunds_window_start = fields.Datetime(copy=False, readonly=True)
    refunds_window_end = fields.Datetime(copy=False, readonly=True)
    refunds_page_token = fields.Char(copy=False, readonly=True)
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
            done = [0]  # batches done by the run: one at least, whatever the time
            with run.api() as client:
                if order_refs:
                    events = [
                        e for ref in order_refs for e in client.finances.list_order_refunds(ref)
                    ]
                    seen = account._amazon_credit_refunds(events, run, done)
                else:
                    seen = account._amazon_read_refund_window(client, run, done)
                if run.outcome.more:
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
                size = account._amazon_refund_batch_size()
                for index in range(0, len(waiting), size):
                    # Out of time: the others are retried by the next scheduled run (least
                    # recently tried first), not at once: a refund that keeps waiting for its
                    # order would otherwise trigger the job again and again.
                    if (index or done[0]) and run.out_of_time():
                        break
                    waiting[index : index + size]._amazon_retry(run.outcome)
                    account._amazon_commit()
        return run.outcome

    def _amazon_read_refund_window(self, client, run, done):
        """Read the refunds window (see ``_amazon_refunds_window``) page by page and credit
        its refunds; out of time, keep where the next run goes on. Returns the refunds
        processed (``amazon.refund``)."""
        start, end, token = self._amazon_refunds_window(client)
        seen = self.env["amazon.refund"]

        def keep(token):  # the next run reads from this page
            self._amazon_commit_progress(
                {
                    "refunds_window_start": start,
                    "refunds_window_end": end,
                    "refunds_page_token": token or False,
                }
            )

        try:
            pages = client.finances.refund_pages(
                start, end, token=token, page_size=self._amazon_finance_page_size()
            )
            for events, next_token in pages:
                seen |= self._amazon_credit_refunds(events, run, done)
                if not run.outcome.more and next_token and run.out_of_time():
                    run.outcome.more, token = True, next_token  # this page is done
                if run.outcome.more:
                    keep(token)
                    return seen
                token = next_token
        except amazon_errors.SpApiOutOfTimeError:
            keep(token)  # Amazon's rate limit would keep the page past the budget
            raise
        except amazon_errors.SpApiBadRequestError:
            if self.refunds_page_token:  # a token Amazon no longer takes: start afresh
                _logger.warning(
                    "Amazon account %s: the page token of the refunds window under way was "
                    "refused; the next run reads the window from its start.",
                    self.id,
                )
                self._amazon_commit_progress(dict.fromkeys(REFUND_WINDOW_FIELDS, False))
            raise
        # Every refund of the window is recorded: the next window starts from its end.
        self._amazon_commit_progress(
            {"last_refunds_sync": end, **dict.fromkeys(REFUND_WINDOW_FIELDS, False)}
        )
        return seen

    def _amazon_credit_refunds(self, events, run, done):
        """Credit ``events`` (RefundEvent) not recorded yet, by batches that commit; stop
        between batches once out of time (``run.outcome.more``), after one batch at least
        per run (``done``: [batches done by the run])."""
        Refund, seen = self.env["amazon.refund"], self.env["amazon.refund"]
        events = self._amazon_refunds_unrecorded(events)
        size = self._amazon_refund_batch_size()
        for index in range(0, len(events), size):
            if done[0] and run.out_of_time():
                run.outcome.more = True
                break
            seen |= Refund._amazon_process(self, events[index : index + size], run.outcome)
            done[0] += 1
            self._amazon_commit()
        done[0] += not events  # an empty page read is work done too
        return seen

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

    def _amazon_refunds_window(self, client):
        """(start, end, page token) of the listFinancialEvents window to read: the one an
        earlier run stopped in, from its next page, else a new one ending now."""
        self.ensure_one()
        if self.refunds_window_end and self.refunds_window_start:
            return self.refunds_window_start, self.refunds_window_end, self.refunds_page_token
        window_end = client.amazon_now().replace(microsecond=0) - WINDOW_MARGIN
        return self._amazon_refund_window_start(window_end), window_end, None

    def _amazon_refund_window_start(self, window_end):
        self.ensure_one()
        if self.last_refunds_sync:
            return min(self.last_refunds_sync, window_end) - REFUND_OVERLAP
        return window_end - timedelta(days=max(self.refund_lookback_days, 1))
