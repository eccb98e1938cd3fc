# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .const import AMAZON_CHANNELS, amazon_channel


class AmazonOffer(models.Model):
    _name = "amazon.offer"
    _inherit = ["amazon.account.owned"]
    _description = "Amazon Offer"
    _order = "sku"
    _rec_name = "sku"

    marketplace_id = fields.Many2one("amazon.marketplace", required=True, ondelete="restrict")
    sku = fields.Char(string="SKU", required=True, help="The seller's SKU of the offer on Amazon.")
    asin = fields.Char(string="ASIN")
    product_id = fields.Many2one(
        "product.product",
        required=True,
        ondelete="restrict",
        check_company=True,
        help="The product sold when Amazon reports this SKU. Changing it fixes future orders.",
    )
    is_default_product = fields.Boolean(
        string="Needs Mapping",
        compute="_compute_is_default_product",
        store=True,
        help="The SKU matched no product's internal reference: it points at the default "
        "'Amazon Sale' product until you map it.",
    )

    # FBM stock push
    fulfillment_channel = fields.Selection(
        AMAZON_CHANNELS,
        help="Set from the first order of the SKU. Only offers you fulfill yourself (FBM) can "
        "synchronize their stock; Amazon counts its own (FBA) stock.",
    )
    sync_stock = fields.Boolean(
        string="Synchronize Stock",
        help="Send the free quantity of the product in the account's warehouse to Amazon "
        "(scheduled action 'Amazon: synchronize stock'), when it changed since the last push.",
    )
    stock_last_qty = fields.Integer(string="Last Pushed Quantity", readonly=True, copy=False)
    stock_last_push = fields.Datetime(string="Last Stock Push", readonly=True, copy=False)
    stock_sync_state = fields.Selection(
        [("pending", "Pending"), ("done", "Synced"), ("error", "Failed")],
        string="Stock Status",
        readonly=True,
        copy=False,
    )
    stock_sync_message = fields.Text(string="Stock Message", readonly=True, copy=False)
    stock_feed_id = fields.Many2one(
        "amazon.feed", string="Last Stock Feed", readonly=True, copy=False, ondelete="set null"
    )

    _sql_constraints = [
        (
            "sku_unique",
            "UNIQUE(account_id, marketplace_id, sku)",
            "An Amazon SKU can only be mapped once per account and marketplace.",
        ),
    ]

    @api.depends("product_id", "account_id.default_product_id")
    def _compute_is_default_product(self):
        for offer in self:
            offer.is_default_product = offer.product_id == offer.account_id.default_product_id

    @api.constrains("sync_stock", "fulfillment_channel")
    def _check_sync_stock_channel(self):
        for offer in self:
            if offer.sync_stock and offer.fulfillment_channel == "fba":
                raise ValidationError(
                    _(
                        "Offer %(sku)s is fulfilled by Amazon: Amazon counts its stock, so it "
                        "cannot synchronize stock from Odoo.",
                        sku=offer.sku,
                    )
                )

    def action_amazon_push_stock_again(self):
        """Send the quantity again on the next stock synchronization."""
        self.write({"stock_last_push": False, "stock_sync_state": False})

    # --- Offers of Amazon orders (by the order sync) ----------------------------------------
    @api.model
    def _amazon_get_offers(self, account, orders, marketplaces):
        """Offers of ``account`` for every (marketplace, SKU) of ``orders``; missing ones are
        created, matched to products by internal reference, else to the default product."""
        wanted = {
            (order.marketplace_id, item.sku)
            for order in orders
            for item in order.items
            if item.sku and order.marketplace_id in marketplaces
        }
        channels = {
            (order.marketplace_id, item.sku): amazon_channel(order)
            for order in orders
            for item in order.items
        }
        if not wanted:
            return {}
        skus = list({sku for _mp, sku in wanted})
        offers = self.search([("account_id", "=", account.id), ("sku", "in", skus)])
        found = {(offer.marketplace_id.api_ref, offer.sku): offer for offer in offers}
        for key, offer in found.items():
            if not offer.fulfillment_channel and key in channels:
                offer.fulfillment_channel = channels[key]
        missing = wanted - set(found)
        if missing:
            products = self.env["product.product"].search(
                [
                    ("default_code", "in", list({sku for _mp, sku in missing})),
                    ("company_id", "in", (False, account.company_id.id)),
                ]
            )
            by_code = {}
            for product in products:
                by_code.setdefault(product.default_code, product)
            default = account.default_product_id or account._default_amazon_product(
                "product_amazon_sale"
            )
            created = self.create(
                [
                    {
                        "account_id": account.id,
                        "marketplace_id": marketplaces[mp_ref].id,
                        "sku": sku,
                        "product_id": by_code.get(sku, default).id,
                        "fulfillment_channel": channels[(mp_ref, sku)],
                    }
                    for mp_ref, sku in sorted(missing)
                ]
            )
            found.update({(offer.marketplace_id.api_ref, offer.sku): offer for offer in created})
        return found

    # --- FBM stock push -----------------------------------------------------------------------
    @api.model
    def _amazon_stock_to_push(self, account):
        """The FBM offers of ``account`` whose stock is synchronized and not waiting for
        Amazon's report, with their quantity: ``(offers, {offer: quantity})``, only those
        whose quantity changed since the last push."""
        offers = self.search(
            [
                ("account_id", "=", account.id),
                ("sync_stock", "=", True),
                ("fulfillment_channel", "=", "fbm"),
                ("is_default_product", "=", False),
                ("marketplace_id", "in", account.active_marketplace_ids.ids),
                ("stock_sync_state", "!=", "pending"),
            ]
        )
        if not offers:
            return offers, {}
        if not account.seller_id:
            raise UserError(
                _(
                    "Set the Merchant ID of the Amazon account %(account)s: stock feeds need it.",
                    account=account.name,
                )
            )
        quantities = offers._amazon_stock_quantities(account._amazon_stock_warehouse())
        changed = offers.filtered(
            lambda o: not o.stock_last_push or o.stock_last_qty != quantities[o]
        )
        return changed, quantities

    def _amazon_stock_quantities(self, warehouse):
        """{offer: whole units free in ``warehouse``'s stock} (never negative)."""
        location = warehouse.lot_stock_id
        products = self.product_id.with_context(location=location.id)
        # free_qty does not depend on quants: a manual run after an inventory change in
        # the same transaction must not read a stale value.
        products.invalidate_recordset(["free_qty"])
        free = {product.id: product.free_qty for product in products}
        return {offer: max(int(free.get(offer.product_id.id, 0.0) // 1), 0) for offer in self}
