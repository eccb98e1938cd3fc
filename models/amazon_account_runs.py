# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The entry points of an account's order and shipment synchronizations: the buttons, the
scheduled actions and the runs they start (see ``amazon_sync_run`` for the framework)."""

from odoo import _, api, models


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    # --- Synchronizations: buttons, scheduled actions and entry points -----------------------
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
                for picking in todo:
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
