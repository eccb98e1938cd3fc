# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The FBM stock push of an Amazon account: its warehouse and its entry points (the feeds
are sent and read back by ``amazon.feed``, the quantities counted by ``amazon.offer``)."""

from odoo import _, api, fields, models


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    warehouse_id = fields.Many2one(
        "stock.warehouse",
        string="Warehouse (FBM stock)",
        default=lambda self: self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        ),
        check_company=True,
        tracking=True,
        help="The free quantity of the products in this warehouse's stock location is sent to "
        "Amazon for the offers you ship yourself (FBM) that synchronize their stock.",
    )
    stock_feed_ids = fields.One2many("amazon.feed", "account_id", string="Stock Feeds")

    def action_sync_stock(self):
        """Push the FBM quantities of the accounts in ``self`` now (button and RPC)."""
        return self._amazon_run_now("_sync_stock", "stock", _("Amazon stock synchronized"))

    @api.model
    def _cron_sync_stock(self):
        self._amazon_cron("_sync_stock")

    def _sync_stock(self, trigger="manual"):
        """Read the processing reports of the stock feeds sent earlier, then send one
        JSON_LISTINGS_FEED per marketplace with the FBM offers whose quantity changed
        (see ``amazon.feed``).

        Counts: ``created`` offers sent, ``updated`` offers Amazon confirmed, ``failed``
        offers Amazon refused (told to the salesperson in one message per run)."""
        with self._amazon_sync_run("stock", trigger) as run:
            if run.busy:
                return run.outcome
            account, Feed = run.account, run.account.env["amazon.feed"]
            failed = account.env["amazon.offer"]
            with run.api() as client:
                before = sum(run.outcome.counts.values())
                failed = Feed._amazon_check_reports(account, client, run.outcome)
                reports_read = sum(run.outcome.counts.values()) != before
                offers, quantities = account.env["amazon.offer"]._amazon_stock_to_push(account)
                if run.outcome.more:  # out of time reading reports: push in the next run
                    offers = offers.browse()
                for index, marketplace in enumerate(offers.marketplace_id):
                    # One batch at least per run: a report read, or else one feed sent.
                    if (index or reports_read) and run.out_of_time():
                        run.outcome.more = True
                        break
                    batch = offers.filtered(lambda o, mp=marketplace: o.marketplace_id == mp)
                    Feed._amazon_submit(
                        account, client, marketplace, batch, quantities, run.outcome
                    )
            if failed:
                account._amazon_notify_salesperson(
                    "sale_amazon_connector.stock_failures_message",
                    {"offers": failed},
                    _("Amazon refused stock quantities (%(account)s)", account=self.name),
                )
        return run.outcome

    def _amazon_stock_warehouse(self):
        self.ensure_one()
        return self.warehouse_id or self.env["stock.warehouse"].search(
            [("company_id", "=", self.company_id.id)], limit=1
        )
