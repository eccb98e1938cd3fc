# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Invoices and credit notes of an Amazon account uploaded to Amazon (the documents are
sent and read back by ``account.move``, through ``amazon_sp.invoices``)."""

from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import split_every

from ..amazon_sp import invoices as amazon_invoices

# Documents uploaded between two commits (each upload commits on its own as well).
UPLOAD_BATCH = 20


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    upload_invoices = fields.Boolean(
        string="Upload Invoices to Amazon",
        default=False,
        tracking=True,
        help="Send the PDF of every invoice and credit note of this account's orders on the "
        "EU marketplaces (and the UK) to Amazon once posted, which shows them to the buyer. "
        "Leave it off if Amazon issues your invoices (VAT Calculation Service).",
    )

    def action_upload_invoices(self):
        """Upload the pending invoices of these accounts and read Amazon's verdicts now."""
        return self._amazon_run_now("_upload_invoices", "invoices", _("Amazon invoices"))

    @api.model
    def _cron_upload_invoices(self):
        pending = (
            self.env["account.move"]
            .sudo()
            ._read_group([("amazon_upload_state", "=", "pending")], ["amazon_account_id"])
        )
        accounts = self.sudo().browse()
        for (account,) in pending:
            accounts |= account
        self._amazon_cron("_upload_invoices", accounts.filtered("active"))

    def _upload_invoices(self, trigger="manual", moves=None):
        """Read Amazon's verdict on the documents uploaded earlier, then upload the pending
        invoices and credit notes of this account (or only ``moves``), one
        UPLOAD_VAT_INVOICE feed each, paced at Amazon's one upload per three seconds and
        committed one by one outside tests. Documents Amazon refused are marked failed and
        the salesperson gets one e-mail per run listing them.

        :return: SyncOutcome; counts: created (uploaded), updated (accepted by Amazon),
            failed, skipped (answer lost), busy
        """
        with self._amazon_sync_run("invoices", trigger, start=False) as run:
            if run.busy:
                return run.outcome
            account = run.account
            Move = account.env["account.move"]
            domain = [
                ("amazon_account_id", "=", account.id),
                ("amazon_upload_state", "=", "pending"),
            ]
            if moves is not None:
                domain.append(("id", "in", moves.ids))
            waiting = Move.search(domain + [("amazon_upload_feed_ref", "!=", False)], order="id")
            todo = Move.search(domain + [("amazon_upload_feed_ref", "=", False)], order="id")
            if not waiting and not todo and trigger == "cron":
                return run.outcome
            run.start()
            failed = Move
            # On an error of the whole account (credentials, outage...) what was not sent
            # stays pending for the next run.
            with run.api(connect=bool(waiting or todo)) as client:
                api = amazon_invoices.InvoicesApi(client)
                done = 0  # documents read or sent: each run does one at least
                for move in waiting:
                    if done and run.out_of_time():  # the next run reads the others
                        run.outcome.more = True
                        break
                    done += 1
                    result = move._amazon_read_upload(api, run.outcome)
                    if result:
                        run.outcome.counts[result] += 1
                    if result == "failed":
                        failed |= move
                    account._amazon_commit()
                for batch in split_every(UPLOAD_BATCH, todo.ids, Move.browse):
                    if run.outcome.more:
                        break
                    for move in batch:
                        # Each document is committed on its own (paced at one upload
                        # every three seconds): the run may stop between any two.
                        if done and run.out_of_time():
                            run.outcome.more = True
                            break
                        done += 1
                        result = move._amazon_upload(api, run.outcome)
                        run.outcome.counts[result] += 1
                        if result == "failed":
                            failed |= move
                        account._amazon_commit()
            if run.outcome.counts["created"]:
                # Amazon's verdict takes minutes: read it soon, not at the next half hour.
                cron = account.env.ref(
                    "sale_amazon_connector.ir_cron_upload_invoices", raise_if_not_found=False
                )
                if cron:
                    cron._trigger(fields.Datetime.now() + timedelta(minutes=5))
            if failed:
                account._amazon_notify_salesperson(
                    "sale_amazon_connector.invoice_upload_failures_message",
                    {"moves": failed},
                    _("Amazon refused invoices (%(account)s)", account=self.name),
                )
        return run.outcome
