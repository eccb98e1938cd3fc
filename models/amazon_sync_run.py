# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The run framework every synchronization of an account goes through: the account's
lock, the ``amazon.sync.run`` record of the history, the SP-API session, the counts."""

import logging
import math
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import clean_context

from ..amazon_sp.errors import SpApiError, SpApiOutOfTimeError
from .amazon_sync_budget import (
    BUDGET_PARAM,
    DEFAULT_BUDGET,
    TRIGGER_MIN_AGE,
    RunBudget,
    current_cron_job,
)

_logger = logging.getLogger(__name__)

# Advisory lock namespaces (first key of pg_try_advisory_lock) of the syncs of one account.
SYNC_LOCK_KEYS = {
    "orders": 0x414D5A01,
    "pickings": 0x414D5A02,
    "stock": 0x414D5A03,
    "settlements": 0x414D5A04,
    "invoices": 0x414D5A49,
    "inventory": 0x414D5A05,
    "returns": 0x414D5A06,
    "refunds": 0x414D5A17,
    "notifications": 0x414D5A07,
    "retention": 0x414D5A10,
}
# The scheduled action of each kind, triggered again when a scheduled run stops on its time
# budget with work left (a run inside a cron job triggers that job itself).
SYNC_CRONS = {
    "orders": "sale_amazon_connector.ir_cron_sync_orders",
    "pickings": "sale_amazon_connector.ir_cron_sync_pickings",
    "stock": "sale_amazon_connector.ir_cron_sync_stock",
    "settlements": "sale_amazon_connector.ir_cron_import_settlements",
    "retention": "sale_amazon_connector.ir_cron_remove_expired_pii",
    "refunds": "sale_amazon_connector.ir_cron_sync_refunds",
    "invoices": "sale_amazon_connector.ir_cron_upload_invoices",
    "inventory": "sale_amazon_connector.ir_cron_sync_fba_inventory",
    "returns": "sale_amazon_connector.ir_cron_sync_fba_returns",
    "notifications": "sale_amazon_connector.ir_cron_consume_notifications",
}
# The history: runs older than this many days go (system parameter; 0 keeps them all), and
# runs that did nothing after QUIET_RUN_DAYS.
HISTORY_DAYS_PARAM = "sale_amazon_connector.sync_history_days"
DEFAULT_HISTORY_DAYS = 90
QUIET_RUN_DAYS = 1
COUNT_FIELDS = (
    "created_count",
    "updated_count",
    "cancelled_count",
    "failed_count",
    "skipped_count",
)
# Context key of the tests: the budget of scheduled runs in seconds (honoured in tests only).
TEST_BUDGET_KEY = "amazon_test_run_budget"


@dataclass
class SyncOutcome:
    """What one sync run did (returned by ``_sync_orders`` and the other flows)."""

    counts: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)  # run-level errors (Amazon unreachable...)
    failures: list = field(default_factory=list)  # "ref: reason" of the records that failed
    seen_refs: set = field(default_factory=set)
    api_calls: int = 0
    throttled: int = 0
    started: float = field(default_factory=time.monotonic)
    caches: dict = field(default_factory=dict)  # countries and states, across pages
    more: bool = False  # stopped on its time budget with work left: the cron goes on
    resume_after: float = 0.0  # seconds before going on is useful (Amazon's rate limit)
    budget: RunBudget | None = field(default=None, repr=False)  # scheduled runs only

    def out_of_time(self):
        """Whether the run's time budget is spent (never for runs without one: buttons,
        Recover Order). Loops check it between batches and stop with ``more = True``."""
        return self.budget is not None and self.budget.spent()


class SyncRun:
    """One synchronization of an account, as ``amazon.account._amazon_sync_run`` yields it.

    ``account`` is the account as the sync uses it (see ``_amazon_sync_env``), ``outcome``
    collects the counts, ``busy`` says that nothing is to be done: another run of the same
    kind holds the lock, or the cron pass has no time left, ``record`` is the
    ``amazon.sync.run`` once started."""

    def __init__(self, account, kind, trigger):
        self.account = account
        self.kind = kind
        self.trigger = trigger
        self.outcome = SyncOutcome()
        self.busy = False
        self.record = account.env["amazon.sync.run"]

    def out_of_time(self):
        """True once the run's time budget is spent (scheduled runs only): stop between
        two batches, committed, and set ``outcome.more`` when work is left."""
        return self.outcome.out_of_time()

    def start(self):
        """Record the run in the history (done on entry unless the flow defers it)."""
        if not self.record:
            self.record = self.account._amazon_start_run(self.kind, self.trigger)

    @contextmanager
    def api(self, connect=True, describe=None):
        """The SP-API client of the run (None when ``connect`` is false).

        An Amazon error, or an account not usable yet (UserError), ends the work inside
        the block: the reason (``describe(error)`` if given) goes to ``outcome.errors``,
        which the run record and the caller show, instead of escaping; the client's call
        counts go to ``outcome``.

        A run with a time budget gives it to the client: no wait inside the client ends
        after it (a call that needs no wait still goes out once it is spent). A call that
        would wait longer raises ``SpApiOutOfTimeError`` before sending; it ends the work
        inside the block as out of time, not as an error: ``outcome.more`` is set and the
        job is triggered again when Amazon takes the call (``retry_after``)."""
        outcome = self.outcome
        client = None
        try:
            if connect:
                client = self.account._get_sp_api_client()
                if outcome.budget is not None:
                    client.set_deadline(outcome.budget.remaining())
            yield client
        except SpApiOutOfTimeError as exc:
            _logger.info(
                "Amazon account %s: %s sync out of time (%s); it goes on in %.0f s.",
                self.account.id,
                self.kind,
                exc,
                exc.retry_after,
            )
            outcome.more = True
            outcome.resume_after = max(outcome.resume_after, exc.retry_after)
        except (SpApiError, UserError) as exc:
            if describe:
                error = describe(exc)
            else:
                error = exc.args[0] if isinstance(exc, UserError) else str(exc)
            _logger.warning(
                "Amazon account %s: %s sync interrupted: %s", self.account.id, self.kind, error
            )
            outcome.errors.append(error)
        finally:
            if client is not None:
                outcome.api_calls = client.stats.calls
                outcome.throttled = client.stats.throttled
                client.close()


class AmazonSyncRun(models.Model):
    """One run of a synchronization of an account, for the sync history."""

    _name = "amazon.sync.run"
    _description = "Amazon Synchronization Run"
    _order = "start desc, id desc"

    account_id = fields.Many2one("amazon.account", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    kind = fields.Selection(
        [
            ("orders", "Orders"),
            ("pickings", "Pickings"),
            ("stock", "Stock"),
            ("settlements", "Settlements"),
            ("invoices", "Invoices"),
            ("inventory", "FBA Inventory"),
            ("returns", "FBA Returns"),
            ("refunds", "Refunds"),
            ("notifications", "Notifications"),
            ("retention", "Buyer Data Retention"),
        ],
        required=True,
        default="orders",
    )
    trigger = fields.Selection(
        [("cron", "Scheduled"), ("manual", "Manual"), ("recover", "Recover Order")],
        default="manual",
    )
    start = fields.Datetime(required=True, default=fields.Datetime.now)
    duration = fields.Float(string="Duration (s)", digits=(16, 1))
    state = fields.Selection(
        [("running", "Running"), ("done", "Done"), ("error", "Failed"), ("skipped", "Skipped")],
        string="Status",
        default="running",
        required=True,
    )
    # What the counters mean depends on the kind: ``summary`` says it in words.
    created_count = fields.Integer(string="Created")
    updated_count = fields.Integer(string="Updated")
    cancelled_count = fields.Integer(string="Cancelled")
    failed_count = fields.Integer(string="Failed")
    skipped_count = fields.Integer(string="Skipped")
    summary = fields.Char(string="Result", compute="_compute_summary")
    api_calls = fields.Integer(string="API Calls")
    throttled_count = fields.Integer(string="Throttled (429)")
    error_summary = fields.Text(string="Errors")
    continued = fields.Boolean(
        help="The run stopped on its time budget with work left; the next run, scheduled "
        "at once, went on where it stopped.",
    )

    @api.depends(
        "kind", "created_count", "updated_count", "cancelled_count", "failed_count", "skipped_count"
    )
    def _compute_summary(self):
        for run in self:
            run.summary = self._amazon_describe(
                run.kind,
                {
                    "created": run.created_count,
                    "updated": run.updated_count,
                    "cancelled": run.cancelled_count,
                    "failed": run.failed_count,
                    "skipped": run.skipped_count,
                },
            )

    @api.model
    def _amazon_describe(self, kind, counts):
        """What a run of ``kind`` did, in the words of its kind (``counts``: outcome key
        -> number, e.g. a SyncOutcome's counts)."""
        counts = {
            key: counts.get(key, 0)
            for key in ("created", "updated", "cancelled", "failed", "skipped")
        }
        if kind == "pickings":
            return _(
                "%(created)s shipment(s) confirmed, %(updated)s already known to Amazon, "
                "%(failed)s refused, %(skipped)s answer lost (sent again).",
                **counts,
            )
        if kind == "stock":
            return _(
                "%(created)s quantities sent, %(updated)s confirmed by Amazon, %(failed)s refused.",
                **counts,
            )
        if kind == "invoices":
            return _(
                "%(created)s invoice(s) uploaded, %(updated)s accepted by Amazon, %(failed)s "
                "refused, %(skipped)s answer lost.",
                **counts,
            )
        if kind == "inventory":
            return _(
                "%(created)s difference(s) to adjust, %(updated)s adjusted, %(skipped)s "
                "matching, %(failed)s needing attention.",
                **counts,
            )
        if kind == "returns":
            return _(
                "%(created)s return(s) back in stock, %(skipped)s already known or not ready, "
                "%(failed)s to check (unknown orders...).",
                **counts,
            )
        if kind == "settlements":
            return _("%(created)s settlement(s) imported.", **counts)
        if kind == "refunds":
            return _(
                "%(created)s credit note(s) created, %(skipped)s refund(s) waiting for their "
                "order or invoice, %(failed)s failed.",
                **counts,
            )
        if kind == "retention":
            return _(
                "Buyer data removed from %(updated)s order(s): %(created)s contact(s) "
                "anonymised, %(skipped)s kept as posted invoices show them, %(failed)s "
                "batch(es) failed.",
                **counts,
            )
        return _(
            "%(created)s created, %(updated)s updated, %(cancelled)s cancelled, %(failed)s "
            "failed, %(skipped)s skipped (not ready or not an Amazon sale).",
            **counts,
        )

    def _amazon_finish(self, outcome):
        """Write what the run did (``outcome``: SyncOutcome) on the run record."""
        counts = outcome.counts
        self.write(
            {
                "state": "error" if outcome.errors else "done",
                "duration": time.monotonic() - outcome.started,
                "created_count": counts["created"],
                "updated_count": counts["updated"],
                "cancelled_count": counts["cancelled"],
                "failed_count": counts["failed"],
                "skipped_count": counts["skipped"],
                "api_calls": outcome.api_calls,
                "throttled_count": outcome.throttled,
                "error_summary": "\n".join(outcome.errors + outcome.failures) or False,
                "continued": outcome.more,
            }
        )

    @api.model
    def _amazon_close_dead(self, account, kind):
        """Runs of ``account`` still "running" while we hold its sync lock belong to a
        process that died (killed, out of memory, restarted): say so in the history."""
        dead = self.search(
            [("account_id", "=", account.id), ("kind", "=", kind), ("state", "=", "running")]
        )
        if dead:
            dead.write(
                {
                    "state": "error",
                    "error_summary": _(
                        "Interrupted: the Odoo process running this synchronization stopped "
                        "(restart, crash or kill). The next run took over; nothing is lost."
                    ),
                }
            )

    @api.autovacuum
    def _gc_amazon_history(self):
        """Keep the history readable and small: the notification consumer runs every minute
        and most runs of a quiet account find nothing. Runs that did nothing (no count, no
        error, not continued) go after a day; every run after ``sync_history_days`` (system
        parameter, default 90; 0 keeps them all). The newest run and the newest successful
        run of each account and kind always stay: the dashboard dates the syncs by them."""
        param = self.env["ir.config_parameter"].sudo().get_param(HISTORY_DAYS_PARAM)
        try:
            days = int(param) if param else DEFAULT_HISTORY_DAYS
        except ValueError:
            days = DEFAULT_HISTORY_DAYS
        now = fields.Datetime.now()
        self.env.cr.execute(
            """
            SELECT DISTINCT ON (account_id, kind) id FROM amazon_sync_run
             ORDER BY account_id, kind, start DESC, id DESC
            """
        )
        keep = {row[0] for row in self.env.cr.fetchall()}
        self.env.cr.execute(
            """
            SELECT DISTINCT ON (account_id, kind) id FROM amazon_sync_run WHERE state = 'done'
             ORDER BY account_id, kind, start DESC, id DESC
            """
        )
        keep.update(row[0] for row in self.env.cr.fetchall())
        quiet = [
            ("state", "=", "done"),
            ("start", "<", now - timedelta(days=QUIET_RUN_DAYS)),
            ("continued", "=", False),
            ("error_summary", "=", False),
            *[(fname, "in", [0, False]) for fname in COUNT_FIELDS],
        ]
        domain = quiet
        if days > 0:
            old = [("state", "!=", "running"), ("start", "<", now - timedelta(days=days))]
            domain = expression.OR([quiet, old])
        runs = self.search(expression.AND([[("id", "not in", list(keep))], domain]))
        _logger.info("Amazon sync history: %s old or empty run(s) removed.", len(runs))
        runs.unlink()


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    @contextmanager
    def _amazon_sync_run(self, kind, trigger, start=True):
        """Run one synchronization of ``kind`` of this account::

            with account._amazon_sync_run("stock", trigger) as run:
                if run.busy:
                    return run.outcome
                with run.api() as client:
                    ...  # the work, on run.account with run.outcome

        The account's lock of ``kind`` is held for the whole block (taken without
        waiting: ``run.busy`` when another run holds it); the run record is created on
        entry (or by ``run.start()`` when ``start`` is false) and finished on exit.

        A scheduled run (``trigger`` "cron") has a time budget: its loops stop between
        batches once ``run.out_of_time()``, setting ``run.outcome.more`` when work is
        left; on exit the run is committed and its scheduled action triggered again."""
        self.ensure_one()
        account = self._amazon_sync_env()
        run = SyncRun(account, kind, trigger)
        # Inside Odoo's tests a scheduled run has no budget unless the test gives it one: no
        # test may pass or fail with the machine's speed.
        if trigger == "cron" and (
            TEST_BUDGET_KEY in self.env.context or not self._amazon_in_test_mode()
        ):
            job = current_cron_job()
            run.outcome.budget = RunBudget(
                self._amazon_run_budget_seconds(), job and job["pass_started"]
            )
        if run.outcome.budget is not None and run.outcome.budget.too_late():
            # Not even one batch fits before Odoo's limits (jobs before this one used the
            # pass): do nothing, and trigger the job for the next pass.
            _logger.info(
                "Amazon account %s: no time left in this cron pass (%s); the %s run waits "
                "for the next one.",
                account.id,
                run.outcome.budget.reason,
                kind,
            )
            run.busy = True
            run.outcome.more = True
            yield run
            account._amazon_continue_later(kind, run.outcome, deferred=True)
            return
        with account._amazon_sync_lock(kind) as locked:
            if not locked:
                _logger.info(
                    "Amazon account %s: a %s sync is already running; this one exits.",
                    account.id,
                    kind,
                )
                run.outcome.counts["busy"] += 1
                run.busy = True
                yield run
                return
            if start:
                run.start()
            yield run
            if run.record:
                account._amazon_finish_run(run.record, run.outcome)
        if run.outcome.more and trigger == "cron":
            account._amazon_continue_later(kind, run.outcome)

    def _amazon_run_budget_seconds(self):
        """Seconds a scheduled run may work (system parameter ``BUDGET_PARAM``; in tests
        the context may set it, e.g. 0 so that each run does one batch)."""
        if TEST_BUDGET_KEY in self.env.context and self._amazon_in_test_mode():
            return float(self.env.context[TEST_BUDGET_KEY])
        value = self.env["ir.config_parameter"].sudo().get_param(BUDGET_PARAM)
        try:
            seconds = float(value) if value else DEFAULT_BUDGET
        except ValueError:
            _logger.warning("Ignoring %s=%r: not a number of seconds.", BUDGET_PARAM, value)
            seconds = DEFAULT_BUDGET
        return seconds if seconds > 0 else DEFAULT_BUDGET

    def _amazon_continue_later(self, kind, outcome, deferred=False):
        """A scheduled run of ``kind`` stopped on its time budget with work left (or, when
        ``deferred``, did not start: no time left in the cron pass): trigger its scheduled
        action again (the running job, else the kind's own), committed."""
        job = current_cron_job()
        cron = self.env["ir.cron"].sudo()
        if job:
            cron = cron.browse(job["cron_id"])
            # Odoo deletes the job's triggers dated before its start, with whole seconds.
            wait = job["job_wall"] + TRIGGER_MIN_AGE - time.time()
            if wait > 0:
                time.sleep(wait)
        elif kind in SYNC_CRONS:
            cron = self.env.ref(SYNC_CRONS[kind], raise_if_not_found=False) or cron
        if not cron:
            _logger.warning(
                "Amazon account %s: no scheduled action goes on with %s.", self.id, kind
            )
            return
        if deferred:
            _logger.info("Amazon account %s: %s triggered for the next pass.", self.id, cron.name)
        else:
            _logger.info(
                "Amazon account %s: %s run stopped after %.1f s (%s) with work left; %s triggered.",
                self.id,
                kind,
                outcome.budget.elapsed() if outcome.budget else 0.0,
                (outcome.budget and outcome.budget.reason) or "Amazon's rate limit",
                cron.name,
            )
        at = None
        if outcome.resume_after:
            at = fields.Datetime.now() + timedelta(seconds=math.ceil(outcome.resume_after))
        cron._trigger(at)
        self._amazon_commit()

    def _amazon_sync_env(self):
        """The account as the sync uses it: superuser in the account's company, no
        tracking noise, and the marker that keeps Amazon buyers from being e-mailed. The
        caller's ``default_*`` context keys are dropped: records created as superuser
        must not take values chosen by whoever clicked (or called over RPC)."""
        account = self.sudo().with_company(self.company_id)
        return account.with_context(
            clean_context(account.env.context),
            amazon_sync=True,
            tracking_disable=True,
            mail_create_nosubscribe=True,
        )

    @contextmanager
    def _amazon_sync_lock(self, kind):
        """Hold a PostgreSQL advisory lock on (kind, account) for the whole sync, taken
        without waiting. It lives on a dedicated connection, so it survives the page
        commits of the sync's own cursor, and dies with the process if that crashes.
        Tests run in one transaction: there the lock is the transaction's."""
        self.ensure_one()
        key = (SYNC_LOCK_KEYS[kind], self.id)
        if self._amazon_in_test_mode():
            self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", key)
            yield self.env.cr.fetchone()[0]
            return
        with self.env.registry.cursor() as lock_cr:
            lock_cr.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            locked = lock_cr.fetchone()[0]
            lock_cr.commit()
            try:
                yield locked
            finally:
                if locked:
                    lock_cr.execute("SELECT pg_advisory_unlock(%s, %s)", key)

    def _amazon_start_run(self, kind, trigger):
        # The lock is ours from here on, but this transaction's snapshot may predate it
        # (the cron searched the accounts, the button checked access): writing rows the
        # previous lock holder updated since would fail to serialize. Start afresh.
        self._amazon_commit()
        self.env.invalidate_all()
        Run = self.env["amazon.sync.run"]
        Run._amazon_close_dead(self, kind)
        run = Run.create({"account_id": self.id, "kind": kind, "trigger": trigger})
        self._amazon_commit()
        return run

    def _amazon_finish_run(self, run, outcome):
        run._amazon_finish(outcome)
        self._amazon_commit()

    def _amazon_run_now(self, method, kind, title):
        """Run one sync of ``kind`` (``method``, e.g. ``"_sync_orders"``) of each account in
        ``self`` for a user who may edit them; returns the notification the button shows."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        totals, messages = Counter(), []
        for account in self:
            outcome = getattr(account, method)(trigger="manual")
            totals.update(outcome.counts)
            messages += outcome.errors
        message = self.env["amazon.sync.run"]._amazon_describe(kind, totals)
        return self._amazon_run_notification(title, message, totals, messages)

    def _amazon_run_notification(self, title, message, totals, messages):
        """The notification a sync button shows: what happened, and what went wrong."""
        if totals["busy"]:
            message += " " + _("A synchronization was already running for this account.")
        problems = bool(totals["failed"] or messages)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": "\n".join([message, *messages]),
                "type": "warning" if problems else "success",
                "sticky": problems,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _amazon_cron(self, method, accounts=None):
        """Run ``method`` (e.g. ``"_sync_orders"``) of every account (or of ``accounts``)
        as the scheduled action does, unless the "Amazon Sync" setting is off."""
        if not self._is_sync_enabled():
            return
        for account in self.sudo().search([]) if accounts is None else accounts:
            getattr(account, method)(trigger="cron")

    def _amazon_notify_salesperson(self, template, values, subject):
        """E-mail the account's salesperson (a message on the account, so it stays in its
        chatter too), rendering the QWeb ``template`` with ``values`` and the account."""
        if not self.user_id:
            return
        self.message_post(
            body=self.env["ir.qweb"]._render(template, {"account": self, **values}),
            subject=subject,
            partner_ids=self.user_id.partner_id.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
