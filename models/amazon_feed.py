# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import _, api, fields, models

from ..amazon_sp import FeedReportError, const


class AmazonFeed(models.Model):
    """A JSON_LISTINGS_FEED sent to Amazon by the FBM stock push, until its processing
    report is read."""

    _name = "amazon.feed"
    _inherit = ["amazon.account.owned"]
    _description = "Amazon Stock Feed"
    _order = "id desc"
    _rec_name = "feed_ref"

    marketplace_id = fields.Many2one("amazon.marketplace", required=True, ondelete="restrict")
    feed_ref = fields.Char(string="Amazon Feed ID", required=True, readonly=True, index=True)
    document_ref = fields.Char(string="Feed Document ID", readonly=True)
    result_document_ref = fields.Char(string="Processing Report ID", readonly=True)
    state = fields.Selection(
        [("submitted", "Submitted"), ("done", "Processed"), ("error", "Failed")],
        required=True,
        default="submitted",
        readonly=True,
    )
    amazon_status = fields.Char(readonly=True, help="Amazon's processing status of the feed.")
    message_map = fields.Json(
        readonly=True, help="Technical: messageId of the feed -> id of the offer it updates."
    )
    offer_ids = fields.One2many("amazon.offer", "stock_feed_id", string="Offers")
    offer_count = fields.Integer(compute="_compute_offer_count")
    error = fields.Text(readonly=True)

    def _compute_offer_count(self):
        for feed in self:
            feed.offer_count = len(feed.message_map or {})

    def _amazon_apply_results(self, results, error, outcome):
        """Mark the feed's offers Synced or Failed from ``results`` (messageId ->
        ``amazon_sp.listings.MessageResult``) or, for the whole feed, ``error``.
        Offers pushed again since this feed are left alone. Returns the failed offers."""
        self.ensure_one()
        failed = self.env["amazon.offer"]
        for key, offer_id in (self.message_map or {}).items():
            offer = self.env["amazon.offer"].browse(offer_id).exists()
            if not offer or offer.stock_feed_id != self:
                continue
            result = results.get(int(key))
            if error or result is None or not result.accepted:
                message = error or (
                    result.text if result else _("Amazon's report does not mention this SKU.")
                )
                offer.write({"stock_sync_state": "error", "stock_sync_message": message})
                failed |= offer
                outcome.counts["failed"] += 1
            else:
                offer.write(
                    {"stock_sync_state": "done", "stock_sync_message": result.text or False}
                )
                outcome.counts["updated"] += 1
        self.write({"state": "error" if error else "done", "error": error or False})
        return failed

    # --- Sending and reading back ----------------------------------------------------------
    @api.model
    def _amazon_submit(self, account, client, marketplace, offers, quantities, outcome):
        """Send the JSON_LISTINGS_FEEDs setting the quantity of ``offers`` (of one
        ``marketplace``) to ``quantities[offer]``: one feed per Amazon's cap of messages,
        one record per feed; the offers wait for their feed's report."""
        sent_feeds = client.feeds.submit_availability_feeds(
            account.seller_id, marketplace.api_ref, [(o.sku, quantities[o]) for o in offers]
        )
        records = self.browse()
        now = fields.Datetime.now()
        start = 0
        for sent in sent_feeds:
            batch = offers[start : start + len(sent.message_ids)]
            start += len(sent.message_ids)
            record = self.create(
                {
                    "account_id": account.id,
                    "marketplace_id": marketplace.id,
                    "feed_ref": sent.feed_id,
                    "document_ref": sent.document_id,
                    "message_map": {
                        str(message_id): offer.id
                        for message_id, offer in zip(sent.message_ids, batch, strict=True)
                    },
                }
            )
            batch.write(
                {
                    "stock_last_push": now,
                    "stock_sync_state": "pending",
                    "stock_sync_message": False,
                    "stock_feed_id": record.id,
                }
            )
            for offer in batch:
                offer.stock_last_qty = quantities[offer]
            records |= record
        outcome.counts["created"] += len(offers)
        account._amazon_commit()
        return records

    @api.model
    def _amazon_check_reports(self, account, client, outcome):
        """Apply the processing reports of the feeds of ``account`` Amazon has finished;
        returns the offers that failed."""
        failed = self.env["amazon.offer"]
        feeds = self.search(
            [("account_id", "=", account.id), ("state", "=", "submitted")], order="id"
        )
        stale_before = fields.Datetime.now() - timedelta(hours=const.FEED_STALE_HOURS)
        for index, feed in enumerate(feeds):
            if index and outcome.out_of_time():  # the next run reads the others
                outcome.more = True
                break
            status = client.feeds.get(feed.feed_ref)
            processing = status.processing_status
            feed.amazon_status = processing
            if status.is_pending:
                if feed.create_date > stale_before:
                    continue
                # A feed stuck on Amazon's side would keep its offers Pending, and out
                # of every later push, for ever: give it up and send them again.
                error = _(
                    "Amazon had not processed the feed after %(hours)s hours (%(status)s); "
                    "the quantity is sent again.",
                    hours=const.FEED_STALE_HOURS,
                    status=processing,
                )
                feed._amazon_apply_results({}, error, outcome).action_amazon_push_stock_again()
            else:
                results, error = feed._amazon_read_report(client, status)
                failed |= feed._amazon_apply_results(results, error, outcome)
            account._amazon_commit()
        return failed

    def _amazon_read_report(self, client, status):
        """``(results, error)`` of a feed Amazon finished (``status``: its ``FeedStatus``)."""
        self.ensure_one()
        if status.is_cancelled:
            return {}, _("The feed was cancelled on Amazon; the quantity was not updated.")
        if not status.has_report:
            return {}, _(
                "Amazon finished the feed (%(status)s) without a processing report.",
                status=status.processing_status,
            )
        try:
            report = client.feeds.get_report(status)
        except FeedReportError as exc:
            return {}, _("Amazon's processing report cannot be read: %(error)s", error=str(exc))
        self.result_document_ref = report.document_id
        return report.results([int(key) for key in self.message_map or {}]), None
