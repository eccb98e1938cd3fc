# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""FBA stock that matches Amazon's: the inventory reconciliation (FBA Inventory API) and the
FBA customer returns (Reports API) of an Amazon account, their runs, buttons and crons."""

from datetime import timedelta

from odoo import _, api, fields, models

from ..amazon_sp import errors as sp_errors
from ..amazon_sp import reports as sp_reports

RETURNS_FIRST_DAYS = 30  # the first returns run reads this far back
RETURNS_OVERLAP_DAYS = 3  # Amazon may list a return a few days after its date
RETURNS_WAIT_SECONDS = 120.0  # poll the report this long per run, then come back next run
RETURNS_RECHECK_SECONDS = 60  # cut short by its budget, a run looks again this much later
BATCH_SIZE = 100


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    fba_unfulfillable_location_id = fields.Many2one(
        "stock.location",
        string="Unfulfillable Location",
        check_company=True,
        help="Where FBA customer returns Amazon cannot sell again (damaged, defective...) are "
        "received. Created beside the Amazon location on the first such return.",
    )
    inventory_auto_apply = fields.Boolean(
        string="Apply Inventory Differences Automatically",
        help="Each inventory reconciliation sets the Amazon location to Amazon's count at once "
        "(an inventory adjustment), instead of waiting for an inventory administrator.",
    )
    returns_last_sync = fields.Datetime(
        string="Returns Read Until",
        copy=False,
        help="The FBA customer returns Amazon reported up to this time are in Odoo.",
    )
    returns_report_id = fields.Char(string="Pending Returns Report", copy=False, readonly=True)
    returns_report_start = fields.Datetime(string="Returns Report From", copy=False, readonly=True)
    returns_report_end = fields.Datetime(string="Returns Report To", copy=False, readonly=True)
    reconciliation_ids = fields.One2many(
        "amazon.inventory.reconciliation", "account_id", string="FBA Reconciliations"
    )
    reconciliation_count = fields.Integer(
        string="FBA Reconciliation Count", compute="_compute_fba_counts"
    )
    fba_return_ids = fields.One2many("amazon.fba.return", "account_id", string="FBA Returns")
    fba_return_count = fields.Integer(string="FBA Return Count", compute="_compute_fba_counts")

    def _compute_fba_counts(self):
        for model, fname in (
            ("amazon.inventory.reconciliation", "reconciliation_count"),
            ("amazon.fba.return", "fba_return_count"),
        ):
            groups = self.env[model]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
            counts = {account.id: count for account, count in groups}
            for account in self:
                account[fname] = counts.get(account.id, 0)

    def _amazon_unfulfillable_location(self):
        """The location of unsellable returns, made beside the Amazon location (shared by
        the accounts sharing that location) the first time."""
        self.ensure_one()
        if self.fba_unfulfillable_location_id:
            return self.fba_unfulfillable_location_id
        account = self.sudo()
        location = account.search(
            [
                ("location_id", "=", account.location_id.id),
                ("fba_unfulfillable_location_id", "!=", False),
            ],
            limit=1,
        ).fba_unfulfillable_location_id
        if not location:
            location = (
                self.env["stock.location"]
                .sudo()
                .create(
                    {
                        "name": _("Amazon Unfulfillable"),
                        "usage": "internal",
                        "location_id": account.location_id.location_id.id,
                        "company_id": account.company_id.id,
                    }
                )
            )
        account.fba_unfulfillable_location_id = location
        return location

    def _amazon_marketplace_refs(self):
        """{marketplace id: amazon.marketplace} of the active marketplaces, home first."""
        self.ensure_one()
        ordered = self.home_marketplace_id & self.active_marketplace_ids
        ordered |= self.active_marketplace_ids
        return {marketplace.api_ref: marketplace for marketplace in ordered}

    # --- Inventory reconciliation ------------------------------------------------------------
    def action_sync_inventory(self):
        """Reconcile the FBA inventory of these accounts now (button and RPC)."""
        return self._amazon_run_now(
            "_sync_inventory", "inventory", _("Amazon FBA inventory reconciled")
        )

    @api.model
    def _cron_sync_inventory(self):
        self._amazon_cron("_sync_inventory")

    def _sync_inventory(self, trigger="manual"):
        """Read Amazon's FBA inventory of every active marketplace and record it next to
        Odoo's Amazon location in a reconciliation (applied at once with the account's
        option). Counts: created (lines to adjust), updated (lines adjusted), skipped
        (lines matching), failed (lines needing attention)."""
        with self._amazon_sync_run("inventory", trigger) as run:
            if run.busy:
                return run.outcome
            account = run.account
            marketplaces = account._amazon_marketplace_refs()
            summaries = None
            with run.api(connect=bool(marketplaces)) as client:
                if client is not None:
                    summaries = client.inventory.by_sku(list(marketplaces))
            if summaries is not None:
                account._amazon_reconcile(summaries, marketplaces, run.outcome)
        return run.outcome

    def _amazon_reconcile(self, summaries, marketplaces, outcome):
        """One reconciliation of ``summaries`` ({sku: InventorySummary}); lines written in
        committed batches."""
        self.ensure_one()
        Reconciliation = self.env["amazon.inventory.reconciliation"]
        Line = self.env["amazon.inventory.reconciliation.line"]
        now = fields.Datetime.now()
        record = Reconciliation.create(
            {"account_id": self.id, "location_id": self.location_id.id, "date": now}
        )
        # The reference of the adjustment moves: unique, and telling where they come from.
        record.name = _(
            "Amazon FBA reconciliation %(number)s (%(account)s, %(date)s)",
            number=record.id,
            account=self.name,
            date=fields.Datetime.to_string(now),
        )
        vals_list = Line._amazon_lines(self, summaries, marketplaces)
        for start in range(0, len(vals_list), BATCH_SIZE):
            batch = vals_list[start : start + BATCH_SIZE]
            Line.create([dict(vals, reconciliation_id=record.id) for vals in batch])
            self._amazon_commit()
        for vals in vals_list:
            state = vals.get("state", "match")
            key = {"adjust": "created", "match": "skipped"}.get(state, "failed")
            outcome.counts[key] += 1
        if not record.adjust_count:
            record.state = "nothing"
        elif self.inventory_auto_apply:
            record._amazon_apply()
            outcome.counts["updated"] += outcome.counts["created"]
        self._amazon_commit()
        return record

    def action_view_reconciliations(self):
        self.ensure_one()
        return self._amazon_action(
            "amazon.inventory.reconciliation",
            _("FBA Inventory Reconciliations"),
            [("account_id", "=", self.id)],
        )

    # --- FBA customer returns ----------------------------------------------------------------
    def action_sync_returns(self):
        """Import the FBA customer returns of these accounts now (button and RPC)."""
        return self._amazon_run_now("_sync_returns", "returns", _("Amazon FBA returns imported"))

    @api.model
    def _cron_sync_returns(self):
        self._amazon_cron("_sync_returns")

    def _sync_returns(self, trigger="manual"):
        """Ask Amazon for the FBA customer returns report since the last one (a few days of
        overlap: returns are recorded once), wait for it a bounded time (else the next run
        reads the same report), and bring each returned unit back (``amazon.fba.return``).
        Counts: created (returns moved), skipped (already recorded, or report not ready),
        failed (unknown orders, returns to check)."""
        with self._amazon_sync_run("returns", trigger) as run:
            if run.busy:
                return run.outcome
            account = run.account
            marketplaces = account._amazon_marketplace_refs()
            with run.api(connect=bool(marketplaces)) as client:
                if client is not None:
                    account._amazon_read_returns(client, list(marketplaces), run.outcome)
        return run.outcome

    def _amazon_read_returns(self, client, marketplace_ids, outcome):
        self.ensure_one()
        if not self.returns_report_id:
            end = client.amazon_now().replace(microsecond=0) - timedelta(minutes=2)
            start = (self.returns_last_sync or end - timedelta(days=RETURNS_FIRST_DAYS)) - (
                timedelta(days=RETURNS_OVERLAP_DAYS)
            )
            report_id = client.reports.create(
                sp_reports.CUSTOMER_RETURNS, marketplace_ids, start, end
            )
            self._amazon_commit_progress(
                {
                    "returns_report_id": report_id,
                    "returns_report_start": start,
                    "returns_report_end": end,
                }
            )
        wait = self._amazon_returns_wait(outcome)
        try:
            status, rows = client.reports.customer_returns(
                marketplace_ids,
                None,
                None,
                max_seconds=wait,
                report_id=self.returns_report_id,
            )
        except (sp_errors.SpApiResponseError, sp_reports.ReportError) as exc:
            # A report Amazon failed (or that cannot be read) is asked again next run.
            self._amazon_commit_progress({"returns_report_id": False})
            if isinstance(exc, sp_errors.SpApiError):
                raise
            outcome.errors.append(_("Unreadable FBA returns report: %(error)s", error=exc))
            return
        if rows is None:
            if wait < RETURNS_WAIT_SECONDS:
                # The wait was cut by the run's time budget: the job looks again soon.
                outcome.more = True
                outcome.resume_after = max(outcome.resume_after, RETURNS_RECHECK_SECONDS)
            outcome.counts["skipped"] += 1
            outcome.failures.append(
                _(
                    "Amazon is still preparing the returns report (%(status)s): the next run "
                    "reads it.",
                    status=status.processing_status,
                )
            )
            return
        Return = self.env["amazon.fba.return"]
        # The returns recorded already (by an earlier run that stopped within this report,
        # kept pending: the next run reads it again) are left out of the batches.
        known = set(
            Return.search(
                [("account_id", "=", self.id), ("key", "in", [row.key for row in rows])]
            ).mapped("key")
        )
        outcome.counts["skipped"] += sum(row.key in known for row in rows)
        rows = [row for row in rows if row.key not in known]
        size = self._amazon_returns_batch_size()
        for start in range(0, len(rows), size):
            if start and outcome.out_of_time():  # the report stays pending: resumed
                outcome.more = True
                return
            Return._amazon_import(self, rows[start : start + size], outcome)
            self._amazon_commit()
        self._amazon_commit_progress(
            {
                "returns_last_sync": self.returns_report_end,
                "returns_report_id": False,
                "returns_report_start": False,
                "returns_report_end": False,
            }
        )

    def _amazon_returns_wait(self, outcome):
        """How long to wait for the returns report: no longer than a scheduled run's time
        budget allows (one look at it at least; a report not ready is read next run)."""
        if outcome.budget is None:
            return RETURNS_WAIT_SECONDS
        return min(RETURNS_WAIT_SECONDS, outcome.budget.remaining())

    def _amazon_returns_batch_size(self):
        size = self.env.context.get("amazon_test_page_size")
        if size and self._amazon_in_test_mode():
            return int(size)
        return BATCH_SIZE

    def action_view_fba_returns(self):
        self.ensure_one()
        return self._amazon_action(
            "amazon.fba.return", _("FBA Customer Returns"), [("account_id", "=", self.id)]
        )
