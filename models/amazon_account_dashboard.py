# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The health of an account at a glance: the counters of its dashboard card (Sales >
Configuration > Amazon Accounts opens the cards) and the lists they open.

Whoever may read the account may read its counters: they are computed with sudo, on the
records of this account only (its sale orders, failures, deliveries, offers and runs all
belong to the account's company), so a salesperson who sees only their own orders still
sees how the account is doing. The lists behind them open with the user's own rights."""

from datetime import datetime, time

import pytz

from odoo import _, fields, models
from odoo.addons.base.models.ir_cron import _intervalTypes

ORDERS_CRON = "sale_amazon_connector.ir_cron_sync_orders"
NOTIFICATIONS_CRON = "sale_amazon_connector.ir_cron_consume_notifications"
# The order sync (the notifications) is stale when its last success is older than this
# many intervals of its scheduled action.
STALE_INTERVALS = 2

# Counters of the card: (field, model, field linking to the account, domain). Counters of
# records that link to the account directly; the others are computed below.
DASHBOARD_COUNTERS = (
    (
        "dashboard_failed_order_count",
        "amazon.order.failure",
        "account_id",
        [("state", "=", "open")],
    ),
    (
        "dashboard_failed_stock_count",
        "amazon.offer",
        "account_id",
        [("stock_sync_state", "=", "error")],
    ),
)


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    dashboard_orders_synced_at = fields.Datetime(
        string="Last Successful Order Sync",
        compute="_compute_dashboard",
        help="Start of the last order synchronization that ended without error.",
    )
    dashboard_orders_age = fields.Char(string="Order Sync Age", compute="_compute_dashboard")
    dashboard_orders_stale = fields.Boolean(
        string="Order Sync Late",
        compute="_compute_dashboard",
        help="No successful order synchronization for more than two intervals of the "
        "scheduled action 'Amazon: synchronize orders'.",
    )
    dashboard_notification_age = fields.Char(
        string="Last Notification Age",
        compute="_compute_dashboard",
        help="How long ago the last Amazon order notification of the account was handled.",
    )
    dashboard_notification_stale = fields.Boolean(
        string="Notifications Late",
        compute="_compute_dashboard",
        help="Notifications are set up, but the scheduled action 'Amazon: apply order "
        "notifications' has not read the queue successfully for more than two of its "
        "intervals, or an order changed on Amazon more than two of those intervals ago and "
        "reached Odoo through the order sync only: its notification never came.",
    )
    dashboard_orders_today = fields.Integer(string="Orders Today", compute="_compute_dashboard")
    dashboard_failed_order_count = fields.Integer(
        string="Failed Orders", compute="_compute_dashboard"
    )
    dashboard_failed_shipment_count = fields.Integer(
        string="Failed Shipments", compute="_compute_dashboard"
    )
    dashboard_failed_stock_count = fields.Integer(
        string="Failed Stock Updates",
        compute="_compute_dashboard",
        help="FBM offers whose last stock feed Amazon refused (the feed or their line in it).",
    )
    dashboard_failed_upload_count = fields.Integer(
        string="Failed Invoice Uploads",
        compute="_compute_dashboard",
        help="Invoices and credit notes of the account that Amazon refused, or that could not "
        "be sent to it.",
    )

    def _compute_dashboard(self):
        ids = [account_id for account_id in self.ids if account_id]
        synced = dict(
            self.env["amazon.sync.run"]
            .sudo()
            ._read_group(
                [("account_id", "in", ids), ("kind", "=", "orders"), ("state", "=", "done")],
                ["account_id"],
                ["start:max"],
            )
        )
        today = dict(
            self.env["sale.order"]
            .sudo()
            ._read_group(
                [
                    ("amazon_account_id", "in", ids),
                    ("date_order", ">=", self._amazon_today_start()),
                ],
                ["amazon_account_id"],
                ["__count"],
            )
        )
        counters = {}
        for fname, model, link, domain in DASHBOARD_COUNTERS:
            groups = (
                self.env[model]
                .sudo()
                ._read_group([(link, "in", ids), *domain], [link], ["__count"])
            )
            counters[fname] = dict(groups)
        shipments = {}
        for picking in (
            self.env["stock.picking"]
            .sudo()
            .search(
                [("amazon_sync_status", "=", "error"), ("sale_id.amazon_account_id", "in", ids)]
            )
        ):
            account = picking.sale_id.amazon_account_id
            shipments[account] = shipments.get(account, 0) + 1
        uploads = {}
        # Those of the account's company only (a document keeps its company).
        for account, company, count in (
            self.env["account.move"]
            .sudo()
            ._read_group(
                [("amazon_account_id", "in", ids), ("amazon_upload_state", "=", "failed")],
                ["amazon_account_id", "company_id"],
                ["__count"],
            )
        ):
            if company == account.company_id:
                uploads[account] = uploads.get(account, 0) + count
        stale_after = self._amazon_stale_after()
        now = fields.Datetime.now()
        notifications_stale = self._amazon_notifications_stale(ids, now)
        for account in self:
            last = synced.get(account)
            account.dashboard_orders_synced_at = last
            account.dashboard_orders_age = self._amazon_age(last, now)
            account.dashboard_orders_stale = not last or last < now - stale_after
            account.dashboard_orders_today = today.get(account, 0)
            account.dashboard_failed_shipment_count = shipments.get(account, 0)
            account.dashboard_failed_upload_count = uploads.get(account, 0)
            account.dashboard_notification_age = self._amazon_age(
                account.sudo().notification_last_at, now
            )
            account.dashboard_notification_stale = account.id in notifications_stale
            for fname, *_rest in DASHBOARD_COUNTERS:
                account[fname] = counters[fname].get(account, 0)

    def _amazon_today_start(self):
        """Midnight of today in the user's time zone, as naive UTC."""
        tz = pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")
        midnight = tz.localize(datetime.combine(datetime.now(tz).date(), time.min))
        return midnight.astimezone(pytz.UTC).replace(tzinfo=None)

    def _amazon_stale_after(self, xmlid=ORDERS_CRON, default_minutes=30):
        """Two intervals of the job ``xmlid`` (sudo: users need not read scheduled actions)."""
        cron = self.env.ref(xmlid, raise_if_not_found=False)
        cron = cron.sudo() if cron else None
        if not cron or cron.interval_number <= 0:
            return _intervalTypes["minutes"](default_minutes * STALE_INTERVALS)
        return _intervalTypes[cron.interval_type](cron.interval_number * STALE_INTERVALS)

    def _amazon_notifications_stale(self, ids, now):
        """Ids of the accounts among ``ids`` whose notifications are set up but late: no
        successful read of the queue within two intervals of its job, or an order change
        older than that, newer than the last notification handled (or than the first read
        of the queue when none was ever handled): it came through the order sync alone."""
        accounts = self.browse(ids).sudo().filtered("notifications_active")
        if not accounts:
            return set()
        late = now - self._amazon_stale_after(NOTIFICATIONS_CRON, default_minutes=1)
        Run = self.env["amazon.sync.run"].sudo()
        runs = [("account_id", "in", accounts.ids), ("kind", "=", "notifications")]
        read = dict(Run._read_group([*runs, ("state", "=", "done")], ["account_id"], ["start:max"]))
        first = dict(Run._read_group(runs, ["account_id"], ["start:min"]))
        changed = dict(
            self.env["sale.order"]
            .sudo()
            ._read_group(
                [("amazon_account_id", "in", accounts.ids)],
                ["amazon_account_id"],
                ["amazon_last_update:max"],
            )
        )
        stale = set()
        for account in accounts:
            since = account.notification_last_at or first.get(account)
            change = changed.get(account)
            if not read.get(account) or read[account] < late:
                stale.add(account.id)
            elif change and since and since < change < late:
                stale.add(account.id)
        return stale

    def _amazon_age(self, moment, now=None):
        """How long ago ``moment`` (naive UTC) was, in words: "never" when empty."""
        if not moment:
            return _("never")
        seconds = max(((now or fields.Datetime.now()) - moment).total_seconds(), 0)
        if seconds < 60:
            return _("just now")
        if seconds < 3600:
            return _("%(count)s min ago", count=int(seconds // 60))
        if seconds < 2 * 86400:
            return _("%(count)s h ago", count=int(seconds // 3600))
        return _("%(count)s days ago", count=int(seconds // 86400))

    # --- The lists behind the counters --------------------------------------------------------
    def action_view_orders_today(self):
        action = self.action_view_sale_orders()
        action["domain"] = [
            ("amazon_account_id", "=", self.id),
            ("date_order", ">=", fields.Datetime.to_string(self._amazon_today_start())),
        ]
        action["name"] = _("Amazon Orders Today")
        return action

    def action_view_failed_shipments(self):
        return self._amazon_action(
            "stock.picking",
            _("Failed Shipment Confirmations"),
            [("sale_id.amazon_account_id", "=", self.id), ("amazon_sync_status", "=", "error")],
            {"create": False},
        )

    def action_view_failed_stock(self):
        return self._amazon_action(
            "amazon.offer",
            _("Failed Stock Updates"),
            [("account_id", "=", self.id), ("stock_sync_state", "=", "error")],
            {"create": False},
        )

    def action_view_failed_uploads(self):
        return self._amazon_action(
            "account.move",
            _("Failed Invoice Uploads"),
            [
                ("amazon_account_id", "=", self.id),
                ("company_id", "=", self.company_id.id),
                ("amazon_upload_state", "=", "failed"),
            ],
            {"create": False},
        )
