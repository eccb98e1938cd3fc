# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, fields, models


class AmazonFeed(models.Model):
    """A JSON_LISTINGS_FEED sent to Amazon by the FBM stock push, until its processing
    report is read."""

    _name = "amazon.feed"
    _description = "Amazon Stock Feed"
    _order = "id desc"
    _rec_name = "feed_ref"

    account_id = fields.Many2one("amazon.account", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
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
