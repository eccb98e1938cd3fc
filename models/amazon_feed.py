# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import _, api, fields, models

from ..amazon_sp import const
from ..amazon_sp import listings as amazon_listings


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
        """Send one JSON_LISTINGS_FEED setting the quantity of ``offers`` (of one
        ``marketplace``) to ``quantities[offer]``; the offers wait for its report."""
        feed = amazon_listings.build_availability_feed(
            account.seller_id, [(offer.sku, quantities[offer]) for offer in offers]
        )
        content_type = const.LISTINGS_FEED_CONTENT_TYPE
        document_id, url = client.create_feed_document(content_type)
        client.upload_feed_document(url, amazon_listings.encode_feed(feed), content_type)
        feed_id = client.create_feed(const.LISTINGS_FEED_TYPE, [marketplace.api_ref], document_id)
        record = self.create(
            {
                "account_id": account.id,
                "marketplace_id": marketplace.id,
                "feed_ref": feed_id,
                "document_ref": document_id,
                "message_map": {
                    str(index): offer.id for index, offer in enumerate(offers, start=1)
                },
            }
        )
        now = fields.Datetime.now()
        for offer in offers:
            offer.write(
                {
                    "stock_last_qty": quantities[offer],
                    "stock_last_push": now,
                    "stock_sync_state": "pending",
                    "stock_sync_message": False,
                    "stock_feed_id": record.id,
                }
            )
        outcome.counts["created"] += len(offers)
        account._amazon_commit()
        return record

    @api.model
    def _amazon_check_reports(self, account, client, outcome):
        """Apply the processing reports of the feeds of ``account`` Amazon has finished;
        returns the offers that failed."""
        failed = self.env["amazon.offer"]
        feeds = self.search(
            [("account_id", "=", account.id), ("state", "=", "submitted")], order="id"
        )
        stale_before = fields.Datetime.now() - timedelta(hours=const.FEED_STALE_HOURS)
        for feed in feeds:
            status = client.get_feed(feed.feed_ref)
            processing = status.get("processingStatus")
            feed.amazon_status = processing
            if processing in const.FEED_STATUSES_PENDING:
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
        """``(results, error)`` of a feed Amazon finished (``status``: its getFeed)."""
        self.ensure_one()
        processing = status.get("processingStatus")
        document_ref = status.get("resultFeedDocumentId")
        if processing == const.FEED_STATUS_CANCELLED:
            return {}, _("The feed was cancelled on Amazon; the quantity was not updated.")
        if not document_ref:
            return {}, _(
                "Amazon finished the feed (%(status)s) without a processing report.",
                status=processing,
            )
        document = client.get_feed_document(document_ref)
        try:
            report = amazon_listings.decode_report(client.download_feed_document(document))
        except ValueError as exc:
            return {}, _("Amazon's processing report cannot be read: %(error)s", error=str(exc))
        self.result_document_ref = document_ref
        return amazon_listings.read_processing_report(
            report, [int(key) for key in self.message_map or {}], processing
        ), None
