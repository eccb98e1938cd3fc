# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""How long an Amazon account keeps the buyer data of its orders after delivery, and the
daily run that removes it afterwards (what is removed and kept: ``sale_order_retention``).

An order counts as delivered once every stock move of its lines is done or cancelled (at
least one done), on the date of its last done move; an order that moves no goods, once
Amazon says it is shipped, on the date of Amazon's last update. A cancelled order counts
from its cancellation (Amazon's last update), once no move of it is still open. Orders not
delivered yet are never touched."""

import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

_logger = logging.getLogger(__name__)

RETENTION_BATCH = 200  # orders per committed batch

ELIGIBLE_SQL = """
    SELECT so.id
      FROM sale_order so
     WHERE so.amazon_account_id = %(account)s
       AND so.amazon_order_ref IS NOT NULL
       AND so.amazon_pii_removed_at IS NULL
       AND (
            (
                so.state = 'sale'
                AND EXISTS (
                    SELECT 1 FROM stock_move m JOIN sale_order_line l ON l.id = m.sale_line_id
                     WHERE l.order_id = so.id AND m.state = 'done'
                )
                AND NOT EXISTS (
                    SELECT 1 FROM stock_move m JOIN sale_order_line l ON l.id = m.sale_line_id
                     WHERE l.order_id = so.id AND m.state NOT IN ('done', 'cancel')
                )
                AND (
                    SELECT max(m.date) FROM stock_move m
                      JOIN sale_order_line l ON l.id = m.sale_line_id
                     WHERE l.order_id = so.id AND m.state = 'done'
                ) < %(cutoff)s
            )
            OR (
                so.state = 'sale'
                AND so.amazon_status = 'SHIPPED'
                AND so.amazon_last_update < %(cutoff)s
                AND NOT EXISTS (
                    SELECT 1 FROM stock_move m JOIN sale_order_line l ON l.id = m.sale_line_id
                     WHERE l.order_id = so.id
                )
            )
            OR (
                so.state = 'cancel'
                AND coalesce(so.amazon_last_update, so.write_date) < %(cutoff)s
                AND NOT EXISTS (
                    SELECT 1 FROM stock_move m JOIN sale_order_line l ON l.id = m.sale_line_id
                     WHERE l.order_id = so.id AND m.state NOT IN ('done', 'cancel')
                )
            )
       )
     ORDER BY so.id
"""


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    pii_retention_days = fields.Integer(
        string="Keep Buyer Data (days after delivery)",
        default=30,
        required=True,
        tracking=True,
        help="The buyer's personal data of an Amazon order (names, addresses, phone numbers, "
        "gift messages) is removed this many days after the order was delivered, or was "
        "cancelled. Amazon's Data Protection Policy allows at most 30 days. What posted "
        "invoices show is kept.",
    )
    pii_retention_due_count = fields.Integer(
        string="Orders Past Retention",
        compute="_compute_pii_retention_due_count",
        help="Delivered or cancelled orders whose buyer data the next daily run will remove.",
    )

    @api.constrains("pii_retention_days")
    def _check_pii_retention_days(self):
        for account in self:
            if account.pii_retention_days < 0:
                raise ValidationError(_("The buyer data retention cannot be negative."))

    @api.depends("pii_retention_days")
    def _compute_pii_retention_due_count(self):
        now = fields.Datetime.now()
        for account in self:
            account.pii_retention_due_count = (
                len(account.sudo()._amazon_retention_due(now)) if account.id else 0
            )

    def _amazon_retention_cutoff(self, now):
        return now - timedelta(days=self.pii_retention_days)

    def _amazon_retention_due(self, now, limit=None):
        """Ids of the delivered orders of this account past its retention period whose
        buyer data is still there (oldest ids first)."""
        self.ensure_one()
        for model, fnames in (
            ("sale.order", ["amazon_pii_removed_at", "state", "amazon_status"]),
            ("sale.order.line", ["order_id"]),
            ("stock.move", ["state", "date", "sale_line_id"]),
        ):
            self.env[model].flush_model(fnames)
        query = ELIGIBLE_SQL + (" LIMIT %(limit)s" if limit else "")
        params = {"account": self.id, "cutoff": self._amazon_retention_cutoff(now)}
        self.env.cr.execute(query, {**params, "limit": limit})
        return [row[0] for row in self.env.cr.fetchall()]

    def action_remove_expired_pii(self):
        """Remove the buyer data past retention of these accounts now (button and RPC)."""
        return self._amazon_run_now(
            "_remove_expired_pii", "retention", _("Amazon buyer data removed")
        )

    @api.model
    def _cron_remove_expired_pii(self):
        """Daily, whatever the "Amazon Sync" setting says (a legal obligation does not
        pause), for archived accounts too (their orders hold buyer data as well)."""
        for account in self.sudo().with_context(active_test=False).search([]):
            account._remove_expired_pii(trigger="cron")

    def _remove_expired_pii(self, trigger="manual"):
        """Remove the buyer data of this account's orders past retention, in committed
        batches; returns the run's ``SyncOutcome`` (counts: ``updated`` orders,
        ``created`` contacts anonymised, ``skipped`` contacts kept as posted invoices show
        them, ``failed`` batches that failed, retried next run)."""
        with self._amazon_sync_run("retention", trigger, start=False) as run:
            if run.busy:
                return run.outcome
            account = run.account
            now = fields.Datetime.now()
            todo = account._amazon_retention_due(now)
            if not todo and trigger == "cron":
                return run.outcome
            run.start()
            Order = account.env["sale.order"]
            for start in range(0, len(todo), RETENTION_BATCH):
                batch = Order.browse(todo[start : start + RETENTION_BATCH])
                try:
                    with account.env.cr.savepoint():
                        anonymised, kept = batch._amazon_remove_pii(now)
                except Exception as error:  # noqa: BLE001 - recorded; the next run retries
                    _logger.exception("Amazon account %s: buyer data removal failed", account.id)
                    run.outcome.counts["failed"] += 1
                    run.outcome.failures.append(str(error))
                    account.env.invalidate_all()
                    continue
                run.outcome.counts["updated"] += len(batch)
                run.outcome.counts["created"] += anonymised
                run.outcome.counts["skipped"] += kept
                account._amazon_commit()
                if run.out_of_time() and start + RETENTION_BATCH < len(todo):
                    run.outcome.more = True  # committed; the scheduled action goes on
                    break
            _logger.info(
                "Amazon account %s: buyer data removed from %s order(s)",
                account.id,
                run.outcome.counts["updated"],
            )
        return run.outcome
