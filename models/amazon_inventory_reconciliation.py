# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""FBA inventory reconciliation: Amazon's count of each SKU next to Odoo's on-hand quantity
in the account's Amazon location, the difference explained, and its adjustment."""

from collections import defaultdict

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero, float_round

STATES = [
    ("match", "Matches"),
    ("adjust", "To Adjust"),
    ("wait", "Wait for Orders"),
    ("manual", "To Do by Hand"),
    ("unknown", "Unknown SKU"),
    ("applied", "Adjusted"),
]


class AmazonInventoryReconciliation(models.Model):
    _name = "amazon.inventory.reconciliation"
    _description = "Amazon FBA Inventory Reconciliation"
    _order = "date desc, id desc"

    name = fields.Char(required=True, readonly=True, default="/")
    account_id = fields.Many2one("amazon.account", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    location_id = fields.Many2one("stock.location", required=True, readonly=True)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    state = fields.Selection(
        [("draft", "To Apply"), ("applied", "Applied"), ("nothing", "Nothing to Adjust")],
        required=True,
        readonly=True,
        default="draft",
    )
    line_ids = fields.One2many(
        "amazon.inventory.reconciliation.line", "reconciliation_id", string="Lines", readonly=True
    )
    adjust_count = fields.Integer(string="To Adjust", compute="_compute_counts", store=True)
    attention_count = fields.Integer(string="Need Attention", compute="_compute_counts", store=True)
    move_ids = fields.Many2many("stock.move", string="Adjustment Moves", readonly=True)

    @api.depends("line_ids.state")
    def _compute_counts(self):
        for record in self:
            states = record.line_ids.mapped("state")
            record.adjust_count = states.count("adjust")
            record.attention_count = sum(states.count(s) for s in ("wait", "manual", "unknown"))

    def action_apply(self):
        """Apply the differences (button): a stock manager's inventory adjustment."""
        if not self.env.user.has_group("stock.group_stock_manager"):
            raise UserError(_("Only an inventory administrator can apply an inventory adjustment."))
        for record in self:
            if record.state != "draft":
                raise UserError(_("%(name)s was already applied.", name=record.name))
            record._amazon_apply()
        return True

    def action_view_moves(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("stock.stock_move_action")
        action.update(domain=[("id", "in", self.move_ids.ids)], context={})
        return action

    def _amazon_apply(self):
        """Set the Amazon location to Amazon's count for the lines to adjust: one
        ``stock.quant`` inventory adjustment (inventory mode) named after the record."""
        self.ensure_one()
        lines = self.line_ids.filtered(lambda line: line.state == "adjust")
        # The account's option (or a stock manager's click) authorizes the adjustment.
        Quant = (
            self.env["stock.quant"]
            .with_user(SUPERUSER_ID)
            .with_context(inventory_mode=True, inventory_name=self.name)
        )
        quants = Quant.browse()
        for line in lines:
            current = sum(
                Quant._gather(line.product_id, self.location_id, lot_id=line.lot_id, strict=True)
                .filtered(lambda q: not q.package_id and not q.owner_id)
                .mapped("quantity")
            )
            quants |= Quant.create(
                {
                    "product_id": line.product_id.id,
                    "location_id": self.location_id.id,
                    "lot_id": line.lot_id.id,
                    "inventory_quantity": current + line.difference,
                }
            )
        if quants:
            quants._apply_inventory()
        moves = self.env["stock.move"].search(
            [
                ("is_inventory", "=", True),
                ("name", "=like", f"{self.name}%"),
                ("product_id", "in", lines.product_id.ids),
                "|",
                ("location_id", "=", self.location_id.id),
                ("location_dest_id", "=", self.location_id.id),
            ]
        )
        lines.write({"state": "applied"})
        self.write({"state": "applied", "move_ids": [fields.Command.set(moves.ids)]})
        returns = (
            self.env["amazon.fba.return"]
            .sudo()
            .search(
                [
                    ("account_id", "=", self.account_id.id),
                    ("state", "=", "unknown_order"),
                    ("reconciliation_id", "=", False),
                    ("sku", "in", lines.mapped("sku")),
                ]
            )
        )
        returns.reconciliation_id = self


class AmazonInventoryReconciliationLine(models.Model):
    _name = "amazon.inventory.reconciliation.line"
    _description = "Amazon FBA Inventory Reconciliation Line"
    _order = "state_sequence, sku, id"

    reconciliation_id = fields.Many2one(
        "amazon.inventory.reconciliation", required=True, index=True, ondelete="cascade"
    )
    sku = fields.Char(string="SKU", readonly=True)
    marketplace_id = fields.Many2one("amazon.marketplace", readonly=True)
    asin = fields.Char(string="ASIN", readonly=True)
    product_id = fields.Many2one("product.product", readonly=True)
    lot_id = fields.Many2one("stock.lot", string="Lot/Serial Adjusted", readonly=True)
    amazon_fulfillable = fields.Integer(string="Fulfillable", readonly=True)
    amazon_reserved = fields.Integer(string="Reserved", readonly=True)
    amazon_pending_orders = fields.Integer(string="Reserved for Orders", readonly=True)
    amazon_inbound_working = fields.Integer(string="Inbound (Working)", readonly=True)
    amazon_inbound_shipped = fields.Integer(string="Inbound (Shipped)", readonly=True)
    amazon_inbound_receiving = fields.Integer(string="Inbound (Receiving)", readonly=True)
    amazon_unfulfillable = fields.Integer(string="Unfulfillable", readonly=True)
    amazon_researching = fields.Integer(string="Researching", readonly=True)
    amazon_quantity = fields.Integer(
        string="Amazon Stock",
        readonly=True,
        help="Fulfillable + reserved: the units in Amazon's fulfillment centers that are "
        "sellable or belong to orders Amazon has not shipped yet.",
    )
    amazon_last_update = fields.Datetime(string="Amazon Update", readonly=True)
    odoo_quantity = fields.Float(
        string="Odoo On Hand", digits="Product Unit of Measure", readonly=True
    )
    explained_quantity = fields.Float(
        string="Explained",
        digits="Product Unit of Measure",
        readonly=True,
        help="Units of the gap that are not a difference (in transit to Amazon, shipped by "
        "Amazon but waiting in an Odoo delivery).",
    )
    difference = fields.Float(
        digits="Product Unit of Measure",
        readonly=True,
        help="Units to add to (or, negative, remove from) the Amazon location.",
    )
    state = fields.Selection(STATES, required=True, readonly=True, default="match")
    state_sequence = fields.Integer(
        string="Status Order", compute="_compute_state_sequence", store=True
    )
    explanation = fields.Text(readonly=True)

    @api.depends("state")
    def _compute_state_sequence(self):
        order = {key: index for index, (key, _label) in enumerate(reversed(STATES))}
        for line in self:
            line.state_sequence = order.get(line.state, 0)

    # --- Building the lines ------------------------------------------------------------------
    @api.model
    def _amazon_lines(self, account, summaries, marketplaces):
        """Line values for ``summaries`` ({sku: amazon_sp InventorySummary}) of ``account``."""
        location = account.location_id
        products = self._amazon_products(account, list(summaries))
        by_product = defaultdict(list)
        vals_list = []
        for sku in sorted(summaries):
            summary = summaries[sku]
            marketplace = marketplaces.get(summary.marketplace_id)
            vals = {
                "sku": sku,
                "marketplace_id": marketplace.id if marketplace else False,
                "asin": summary.asin,
                "amazon_fulfillable": summary.fulfillable,
                "amazon_reserved": summary.reserved,
                "amazon_pending_orders": summary.pending_customer_order,
                "amazon_inbound_working": summary.inbound_working,
                "amazon_inbound_shipped": summary.inbound_shipped,
                "amazon_inbound_receiving": summary.inbound_receiving,
                "amazon_unfulfillable": summary.unfulfillable,
                "amazon_researching": summary.researching,
                "amazon_quantity": summary.in_stock,
                "amazon_last_update": summary.last_updated,
            }
            product = products.get(sku)
            if not product:
                vals.update(
                    state="unknown",
                    explanation=_(
                        "No product for SKU %(sku)s: give a product this internal reference "
                        "(or map the SKU's Amazon offer to a product), then reconcile again. "
                        "Nothing was adjusted.",
                        sku=sku,
                    ),
                )
            else:
                vals["product_id"] = product.id
                by_product[product].append(vals)
            vals_list.append(vals)
        on_hand = self._amazon_on_hand(location, [p.id for p in by_product])
        waiting = self._amazon_waiting(location, [p.id for p in by_product])
        for product, group in by_product.items():
            self._amazon_compare(account, product, group, on_hand, waiting)
        return vals_list

    @api.model
    def _amazon_products(self, account, skus):
        """{sku: product} from the account's offers (not mapped to the default product),
        else the product whose internal reference is the SKU."""
        result = {}
        offers = self.env["amazon.offer"].search(
            [("account_id", "=", account.id), ("sku", "in", skus)]
        )
        for offer in offers:
            if offer.product_id and not offer.is_default_product:
                result.setdefault(offer.sku, offer.product_id)
        missing = [sku for sku in skus if sku not in result]
        if missing:
            products = self.env["product.product"].search(
                [
                    ("default_code", "in", missing),
                    ("company_id", "in", (False, account.company_id.id)),
                ]
            )
            for product in products:
                result.setdefault(product.default_code, product)
        return result

    @api.model
    def _amazon_on_hand(self, location, product_ids):
        groups = self.env["stock.quant"]._read_group(
            [("location_id", "child_of", location.id), ("product_id", "in", product_ids)],
            ["product_id"],
            ["quantity:sum"],
        )
        return {product.id: quantity for product, quantity in groups}

    @api.model
    def _amazon_waiting(self, location, product_ids):
        """Units Amazon shipped that wait in an open Odoo delivery from ``location``."""
        groups = self.env["stock.move"]._read_group(
            [
                ("location_id", "=", location.id),
                ("location_dest_id.usage", "=", "customer"),
                ("state", "not in", ("done", "cancel", "draft")),
                ("sale_line_id.order_id.amazon_channel", "=", "fba"),
                ("product_id", "in", product_ids),
            ],
            ["product_id"],
            ["product_qty:sum"],
        )
        return {product.id: quantity for product, quantity in groups}

    @api.model
    def _amazon_compare(self, account, product, group, on_hand, waiting):
        """Fill ``group`` (the line values of the SKUs of ``product``): quantities compared
        once per product, on its first line."""
        rounding = product.uom_id.rounding
        first = group[0]
        amazon = sum(vals["amazon_quantity"] for vals in group)
        odoo = on_hand.get(product.id, 0.0)
        in_delivery = waiting.get(product.id, 0.0)
        in_transit = sum(
            vals["amazon_inbound_shipped"] + vals["amazon_inbound_receiving"] for vals in group
        )
        gap = float_round(amazon + in_delivery - odoo, precision_rounding=rounding)
        explained = in_delivery
        transit = 0.0
        if gap < 0 and in_transit:
            transit = min(-gap, in_transit)
            gap += transit
            explained += transit
        for vals in group[1:]:
            vals.update(
                odoo_quantity=0.0,
                difference=0.0,
                state="match",
                explanation=_(
                    "Counted with SKU %(sku)s (same product %(product)s).",
                    sku=first["sku"],
                    product=product.display_name,
                ),
            )
        notes = []
        reserved = sum(vals["amazon_reserved"] for vals in group)
        if reserved:
            notes.append(
                _(
                    "%(qty)s unit(s) reserved by Amazon (orders not shipped yet, transfers "
                    "between fulfillment centers, processing): still in the Amazon location "
                    "in Odoo, as they should be; not a difference.",
                    qty=reserved,
                )
            )
        if in_delivery:
            notes.append(
                _(
                    "%(qty)s unit(s) shipped by Amazon wait in an Odoo delivery (lots or "
                    "serial numbers missing): counted as still in the location until that "
                    "delivery is validated.",
                    qty=in_delivery,
                )
            )
        if transit:
            notes.append(
                _(
                    "%(qty)s unit(s) Odoo already has in the Amazon location are still "
                    "inbound at Amazon (shipped or being received): not a difference until "
                    "Amazon receives them.",
                    qty=transit,
                )
            )
        unfulfillable = sum(vals["amazon_unfulfillable"] for vals in group)
        researching = sum(vals["amazon_researching"] for vals in group)
        if unfulfillable or researching:
            notes.append(
                _(
                    "Not sellable at Amazon, so not expected in the Amazon location: "
                    "%(unfulfillable)s unfulfillable unit(s) (their returns go to "
                    "%(location)s), %(researching)s unit(s) Amazon is researching.",
                    unfulfillable=unfulfillable,
                    researching=researching,
                    location=account._amazon_unfulfillable_location().display_name,
                )
            )
        first.update(odoo_quantity=odoo, explained_quantity=explained, difference=gap)
        if float_is_zero(gap, precision_rounding=rounding):
            first["state"] = "match"
            notes.insert(0, _("Odoo matches Amazon."))
        else:
            notes.insert(0, self._amazon_unexplained(account, group, gap))
            first["state"] = "adjust"
            state, note = self._amazon_check_adjustable(account, product, first, gap)
            if state:
                first["state"] = state
                notes.append(note)
        first["explanation"] = "\n".join(notes)

    @api.model
    def _amazon_unexplained(self, account, group, gap):
        unknown_returns = sum(
            self.env["amazon.fba.return"]
            .search(
                [
                    ("account_id", "=", account.id),
                    ("state", "=", "unknown_order"),
                    ("sellable", "=", True),
                    ("reconciliation_id", "=", False),
                    ("sku", "in", [vals["sku"] for vals in group]),
                ]
            )
            .mapped("quantity")
        )
        if gap > 0:
            text = _(
                "Amazon counts %(qty)s unit(s) more than Odoo, not explained by the orders, "
                "returns and transfers Odoo knows: units found, returns of orders Odoo does "
                "not have, receptions not recorded.",
                qty=gap,
            )
            if unknown_returns:
                text += " " + _(
                    "%(qty)s of them were returned for orders Odoo does not have (see FBA "
                    "Returns).",
                    qty=unknown_returns,
                )
        else:
            text = _(
                "Amazon counts %(qty)s unit(s) fewer than Odoo, not explained by the orders, "
                "returns and transfers Odoo knows: units damaged or lost in Amazon's "
                "warehouses, removals, or orders not synchronized yet.",
                qty=-gap,
            )
        return text + " " + _("The adjustment sets the Amazon location to Amazon's count.")

    @api.model
    def _amazon_check_adjustable(self, account, product, vals, gap):
        """(state, note) when the difference must not be applied as is, else (None, None)."""
        location = account.location_id
        last_orders = account.last_orders_sync
        if gap < 0 and vals["amazon_last_update"] and last_orders:
            if vals["amazon_last_update"] > last_orders:
                return "wait", _(
                    "Amazon's count changed after the last order synchronization (%(date)s): "
                    "an order Amazon shipped since may not be in Odoo yet. Synchronize the "
                    "orders, then reconcile again.",
                    date=fields.Datetime.to_string(last_orders),
                )
        if product.type != "product":
            return "manual", _(
                "%(product)s is not a storable product: Odoo keeps no stock of it.",
                product=product.display_name,
            )
        if product.tracking == "none":
            return None, None
        quants = self.env["stock.quant"].search(
            [
                ("product_id", "=", product.id),
                ("location_id", "=", location.id),
                ("quantity", ">", 0),
            ]
        )
        lots = quants.lot_id
        single = len(lots) == 1 and not quants.filtered(lambda q: not q.lot_id)
        if single and product.tracking == "lot":
            if float_compare(sum(quants.mapped("quantity")) + gap, 0, precision_digits=6) >= 0:
                vals["lot_id"] = lots.id
                return None, None
        if single and product.tracking == "serial" and gap == -1:
            vals["lot_id"] = lots.id
            return None, None
        return "manual", _(
            "%(product)s is tracked by lots/serial numbers and Odoo cannot tell which ones "
            "Amazon gained or lost: count them at Amazon (Seller Central inventory reports) and "
            "enter them in %(location)s with Inventory > Physical Inventory (%(qty)s unit(s) "
            "to %(direction)s).",
            product=product.display_name,
            location=location.display_name,
            qty=abs(gap),
            direction=_("add") if gap > 0 else _("remove"),
        )
