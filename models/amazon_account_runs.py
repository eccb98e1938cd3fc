# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The entry points of an account's order and shipment synchronizations: the buttons, the
scheduled actions and the runs they start (see ``amazon_sync_run`` for the framework)."""

import logging

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models

from ..amazon_sp import errors as amazon_errors

_logger = logging.getLogger(__name__)

# Every kind of run (orders, refunds, returns, notifications...) keeps its progress on the
# account's row, each under its own lock, so two runs may update the row at the same time:
# PostgreSQL then refuses the later one (serialization failure) and it is written again.
PROGRESS_CONFLICTS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
PROGRESS_ATTEMPTS = 5


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    # Where a scheduled order sync stopped on its time budget, within its window: the next
    # run reads the same window (same end) from that page, minus the orders already applied.
    orders_window_end = fields.Datetime(
        string="Window Being Read Until",
        copy=False,
        readonly=True,
        help="A synchronization stopped on its time budget within the window ending then "
        "(UTC); the next one goes on in it. Empty: no window under way.",
    )
    orders_page_token = fields.Char(copy=False, readonly=True)
    orders_page_done = fields.Text(copy=False, readonly=True)
    orders_window_unidentified = fields.Integer(copy=False, readonly=True)

    # --- Synchronizations: buttons, scheduled actions and entry points -----------------------
    def _amazon_commit_progress(self, vals):
        """Commit the run's work, then write ``vals`` (its progress) on this account and
        commit, in transactions of their own: another kind of run may update the same row
        meanwhile, and a write PostgreSQL refuses for it is made again on a fresh snapshot
        (the work is committed already: nothing is lost). In tests, a plain write."""
        self.ensure_one()
        if self._amazon_in_test_mode():
            self.write(vals)
            return
        cr = self.env.cr
        self._amazon_commit()
        if not vals:
            return
        for attempt in range(1, PROGRESS_ATTEMPTS + 1):
            try:
                # The row first, quietly: refused while another run's update of it is newer
                # than this transaction, and once taken, nobody else writes it until commit.
                cr.execute(
                    "SELECT 1 FROM amazon_account WHERE id = %s FOR NO KEY UPDATE",
                    (self.id,),
                    log_exceptions=False,
                )
            except PROGRESS_CONFLICTS:
                cr.rollback()  # also empties the cache: the next attempt reads afresh
                if attempt == PROGRESS_ATTEMPTS:
                    raise
                _logger.info(
                    "Amazon account %s: a concurrent run updated the account; progress "
                    "written again.",
                    self.id,
                )
                continue
            self.write(vals)
            cr.commit()  # pylint: disable=invalid-commit
            return

    def action_sync_orders(self):
        """Synchronize the orders of the accounts in ``self`` now (button and RPC)."""
        return self._amazon_run_now("_sync_orders", "orders", _("Amazon orders synchronized"))

    @api.model
    def _cron_sync_orders(self):
        self._amazon_cron("_sync_orders")

    def _sync_orders(self, trigger="manual"):
        """Pull the orders updated on Amazon since ``last_orders_sync`` and apply them
        (see ``amazon_account_orders``); returns the run's ``SyncOutcome``.

        Each order is applied in its own savepoint; progress is committed page by page
        outside tests; ``last_orders_sync`` only moves to the end of the window that
        Amazon served once every order of it was synced or recorded as failed, so a
        crash at any point loses nothing and the next run re-reads the window.
        """
        with self._amazon_sync_run("orders", trigger) as run:
            if run.busy:
                return run.outcome
            # On an Amazon error what was synced stays synced and the window does not
            # advance, so the next run starts where this one did.
            with run.api() as client:
                run.account._amazon_pull_orders(client, run.outcome)
                if not run.outcome.more:
                    run.account._amazon_retry_failed_orders(client, run.outcome)
            run.account._amazon_notify_new_failures()
        return run.outcome

    def action_sync_pickings(self):
        """Send the pending shipment confirmations of these accounts to Amazon now."""
        return self._amazon_run_now(
            "_sync_pickings", "pickings", _("Amazon deliveries synchronized")
        )

    @api.model
    def _cron_sync_pickings(self):
        pending = (
            self.env["stock.picking"]
            .sudo()
            ._read_group(
                [("amazon_sync_status", "=", "pending"), ("state", "=", "done")], ["sale_id"]
            )
        )
        accounts = self.sudo().browse()
        for (sale_order,) in pending:
            accounts |= sale_order.amazon_account_id
        self._amazon_cron("_sync_pickings", accounts.filtered("active"))

    def _sync_pickings(self, trigger="manual", pickings=None):
        """Confirm to Amazon the shipments of the pending FBM deliveries of this account
        (or only of ``pickings``), one ``confirmShipment`` per delivery (see
        ``stock.picking._amazon_send_shipment``), each committed on its own outside tests.
        Deliveries Amazon refused are marked failed, and the salesperson gets one e-mail
        listing them.

        :return: SyncOutcome; counts: created (confirmed), updated (already on Amazon),
            failed, skipped (answer lost: retried), busy
        """
        with self._amazon_sync_run("pickings", trigger, start=False) as run:
            if run.busy:
                return run.outcome
            account = run.account
            todo = account.env["stock.picking"]._amazon_pending(account, pickings)
            if not todo and trigger == "cron":
                return run.outcome
            run.start()
            failed = account.env["stock.picking"]
            # On an error for the whole account (credentials, outage...) the deliveries
            # not sent stay pending for the next run.
            with run.api(connect=bool(todo)) as client:
                for index, picking in enumerate(todo):
                    if index and run.out_of_time():  # the next run sends the others
                        run.outcome.more = True
                        break
                    result = picking._amazon_send_shipment(client, run.outcome)
                    run.outcome.counts[result] += 1
                    if result == "failed":
                        failed |= picking
                    account._amazon_commit()
            if failed:
                account._amazon_notify_salesperson(
                    "sale_amazon_connector.picking_failures_message",
                    {"pickings": failed},
                    _("Amazon refused shipment confirmations (%(account)s)", account=self.name),
                )
        return run.outcome

    # --- Where a scheduled order sync stopped in its window ----------------------------------
    def _amazon_window_resume(self):
        """Where to read the window from: {"end": its end (None: a new window ending at
        Amazon's time minus the margin), "token": the page token (None: the first page),
        "done": refs of that page already applied, "unidentified": orders without a
        reference met earlier in the window}."""
        if not self.orders_window_end or self.orders_window_end <= self.last_orders_sync:
            return {"end": None, "token": None, "done": set(), "unidentified": 0}
        return {
            "end": self.orders_window_end,
            "token": self.orders_page_token or None,
            "done": set((self.orders_page_done or "").split()),
            "unidentified": self.orders_window_unidentified,
        }

    def _amazon_resumed_pages(self, pages, resume):
        """``pages``; Amazon refusing the page token of a resumed window (kept over 24
        hours, or the search changed) drops it, so that the next run reads the window
        from its start: orders already applied are recognised, none is lost."""
        first = True
        try:
            for page in pages:
                first = False
                yield page
        except amazon_errors.SpApiBadRequestError:
            if first and resume["token"]:
                _logger.warning(
                    "Amazon account %s: the page token of the window under way was refused; "
                    "the next run reads the window from its start.",
                    self.id,
                )
                self._amazon_window_done()
                self._amazon_commit()
            raise

    def _amazon_paced_out(self, client, operation, outcome):
        """Whether Amazon's rate limit of ``operation`` (searchOrders: about one call a
        minute after a burst of 20) would make a timed run wait past its budget: then it
        stops with work left, and its job is triggered when the call is allowed again.
        The cheap look before a call; the client itself stops any wait at the same
        deadline (``SyncRun.api``: out of time, handled alike)."""
        left = client.time_left()
        if outcome.budget is None or left is None:
            return False
        wait = client.pacing_wait(operation)
        if wait <= left:
            return False
        outcome.more = True
        outcome.resume_after = max(outcome.resume_after, wait)
        return True

    def _amazon_orders_page_size(self):
        """Orders per searchOrders page: Amazon's maximum (each call is paced at about
        one a minute); tests may ask for smaller pages to cross page boundaries."""
        size = self.env.context.get("amazon_test_page_size")
        if size and self._amazon_in_test_mode():
            return int(size)
        return 100

    def _amazon_finance_page_size(self):
        """Financial events per Finances API page (refunds, settlement groups): Amazon's
        maximum; tests may ask for smaller pages to cross page boundaries."""
        size = self.env.context.get("amazon_test_finance_page_size")
        if size and self._amazon_in_test_mode():
            return int(size)
        return 100

    @staticmethod
    def _amazon_page_refs(page):
        return (
            {order.order_id for order in page.orders}
            | {failure.order_id for failure in page.failures if failure.order_id}
            | {skip.order_id for skip in page.skipped if skip.order_id}
        )

    def _amazon_stop_in_window(self, window_end, token, done, resume, outcome):
        """The run stops on its time budget before the end of its window: keep the window
        (``last_orders_sync`` does not move) and where in it the next run goes on."""
        self._amazon_commit_progress(
            {
                "orders_window_end": window_end,
                "orders_page_token": token or False,
                "orders_page_done": " ".join(sorted(done)) or False,
                "orders_window_unidentified": resume["unidentified"]
                + outcome.counts["unidentified"],
            }
        )

    def _amazon_window_done(self):
        if self.orders_window_end or self.orders_page_token or self.orders_page_done:
            self.write(
                {
                    "orders_window_end": False,
                    "orders_page_token": False,
                    "orders_page_done": False,
                    "orders_window_unidentified": 0,
                }
            )
