# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""FBA customer returns: one record per return Amazon reports (the row of its customer
returns report), with the stock move that brought the units back, or why there is none."""

from odoo import Command, _, api, fields, models
from odoo.tools import float_compare

from ..amazon_sp.parsing import format_datetime


class AmazonFbaReturn(models.Model):
    _name = "amazon.fba.return"
    _description = "Amazon FBA Customer Return"
    _order = "return_date desc, id desc"

    account_id = fields.Many2one("amazon.account", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    key = fields.Char(
        required=True,
        readonly=True,
        help="What identifies the return at Amazon: its license plate number, else the "
        "order, SKU and return date. A return is applied once.",
    )
    return_date = fields.Datetime(required=True, readonly=True)
    order_ref = fields.Char(string="Amazon Order", required=True, readonly=True, index=True)
    sku = fields.Char(string="SKU", required=True, readonly=True)
    quantity = fields.Integer(required=True, readonly=True)
    disposition = fields.Char(readonly=True, help="Amazon's detailed disposition of the units.")
    reason = fields.Char(readonly=True)
    license_plate_number = fields.Char(readonly=True)
    fulfillment_center = fields.Char(readonly=True)
    sellable = fields.Boolean(readonly=True)
    sale_order_id = fields.Many2one("sale.order", readonly=True, index="btree_not_null")
    product_id = fields.Many2one("product.product", readonly=True)
    move_id = fields.Many2one("stock.move", string="Return Move", readonly=True)
    state = fields.Selection(
        [
            ("done", "Back in Stock"),
            ("unknown_order", "Unknown Order"),
            ("to_check", "To Check"),
        ],
        required=True,
        readonly=True,
        default="done",
    )
    message = fields.Text(readonly=True)
    reconciliation_id = fields.Many2one(
        "amazon.inventory.reconciliation",
        readonly=True,
        help="The inventory reconciliation that counted this unit (returns of unknown orders).",
    )

    _sql_constraints = [
        (
            "key_account_uniq",
            "unique(account_id, key)",
            "An Amazon return is recorded once per account.",
        )
    ]

    @api.model
    def _amazon_import(self, account, rows, outcome):
        """Record ``rows`` (``amazon_sp.reports.CustomerReturn``) of ``account`` not
        recorded yet; counts: created (units back in stock), skipped (known), failed
        (unknown order or to check)."""
        keys = [row.key for row in rows]
        known = set(
            self.search([("account_id", "=", account.id), ("key", "in", keys)]).mapped("key")
        )
        orders = self.env["sale.order"].search(
            [
                ("amazon_account_id", "=", account.id),
                ("amazon_order_ref", "in", list({row.order_id for row in rows})),
                ("state", "!=", "cancel"),
            ]
        )
        by_ref = {order.amazon_order_ref: order for order in orders}
        for row in rows:
            if row.key in known:
                outcome.counts["skipped"] += 1
                continue
            known.add(row.key)
            vals = {
                "account_id": account.id,
                "key": row.key,
                "return_date": row.return_date,
                "order_ref": row.order_id,
                "sku": row.sku,
                "quantity": row.quantity,
                "disposition": row.detailed_disposition,
                "reason": row.reason,
                "license_plate_number": row.license_plate_number,
                "fulfillment_center": row.fulfillment_center_id,
                "sellable": row.sellable,
            }
            order = by_ref.get(row.order_id)
            if not order:
                vals.update(
                    state="unknown_order",
                    message=_(
                        "Amazon order %(ref)s is not synchronized in Odoo: nothing was moved. "
                        "Recover the order, or count the unit in the next inventory "
                        "reconciliation.",
                        ref=row.order_id,
                    ),
                )
                outcome.counts["failed"] += 1
            else:
                vals.update(self._amazon_return_move(account, order, row))
                outcome.counts["created" if vals["state"] == "done" else "failed"] += 1
            with self.env.cr.savepoint():
                self.create(vals)

    @api.model
    def _amazon_return_move(self, account, order, row):
        """The done return move of ``row`` into the Amazon location (sellable) or the
        unfulfillable location, linked to the order's line; the values of the record."""
        lines = order.order_line.filtered(
            lambda line: line.amazon_offer_id.sku == row.sku and line.product_id
        )
        vals = {"sale_order_id": order.id}
        line = lines[:1]
        if not line:
            vals.update(
                state="to_check",
                message=_("Order %(ref)s has no line of SKU %(sku)s.", ref=order.name, sku=row.sku),
            )
            return vals
        product = line.product_id
        vals["product_id"] = product.id
        moves = line.move_ids.filtered(
            lambda m: (
                m.state == "done"
                and m.location_id == account.location_id
                and m.location_dest_id.usage == "customer"
                and m.product_id == product
            )
        )
        if not moves:
            vals.update(
                state="to_check",
                message=_(
                    "No delivery of %(product)s from %(location)s was recorded for order "
                    "%(ref)s (a kit, or a delivery still waiting): return the unit by hand.",
                    product=product.display_name,
                    location=account.location_id.display_name,
                    ref=order.name,
                ),
            )
            return vals
        rounding = product.uom_id.rounding
        delivered = sum(m.product_qty for m in moves)
        returned = sum(
            m.product_qty for m in line.move_ids if m.state == "done" and m.origin_returned_move_id
        )
        if float_compare(returned + row.quantity, delivered, precision_rounding=rounding) > 0:
            vals.update(
                state="to_check",
                message=_(
                    "Amazon reports %(qty)s more unit(s) of %(product)s returned than order "
                    "%(ref)s delivered (%(delivered)s delivered, %(returned)s already "
                    "returned): nothing was moved.",
                    qty=row.quantity,
                    product=product.display_name,
                    ref=order.name,
                    delivered=delivered,
                    returned=returned,
                ),
            )
            return vals
        lot = self.env["stock.lot"]
        if product.tracking != "none":
            lots = moves.move_line_ids.lot_id
            if len(lots) != 1:
                vals.update(
                    state="to_check",
                    message=_(
                        "Order %(ref)s delivered %(product)s from %(count)s lots/serial "
                        "numbers (%(lots)s): Amazon's report does not say which came back. "
                        "Return it from the order's delivery with the right one.",
                        ref=order.name,
                        product=product.display_name,
                        count=len(lots),
                        lots=", ".join(lots.mapped("name")) or "-",
                    ),
                )
                return vals
            lot = lots
        destination = (
            account.location_id if row.sellable else account._amazon_unfulfillable_location()
        )
        origin = moves[0]
        reference = _(
            "Amazon return %(ref)s (%(disposition)s)",
            ref=row.license_plate_number or format_datetime(row.return_date),
            disposition=row.detailed_disposition,
        )
        move = self.env["stock.move"].create(
            {
                "name": reference,
                "origin": order.name,
                "product_id": product.id,
                "product_uom": product.uom_id.id,
                "product_uom_qty": row.quantity,
                "location_id": origin.location_dest_id.id,
                "location_dest_id": destination.id,
                "company_id": order.company_id.id,
                "partner_id": order.partner_shipping_id.id,
                "sale_line_id": line.id,
                "origin_returned_move_id": origin.id,
                "to_refund": True,
                "picked": True,
                "move_line_ids": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "product_uom_id": product.uom_id.id,
                            "quantity": row.quantity,
                            "lot_id": lot.id,
                            "location_id": origin.location_dest_id.id,
                            "location_dest_id": destination.id,
                            "company_id": order.company_id.id,
                        }
                    )
                ],
            }
        )
        move._action_done()
        vals.update(state="done", move_id=move.id)
        return vals
