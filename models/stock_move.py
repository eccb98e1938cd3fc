# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from dataclasses import dataclass, field

from odoo import Command, _, api, fields, models
from odoo.tools import float_compare, float_is_zero

FAR_FUTURE = fields.Datetime.to_datetime("9999-12-31 00:00:00")


@dataclass
class FbaMoves:
    """What ``stock.move._amazon_create_fba_moves`` did for one order."""

    done: object  # stock.move
    waiting: object  # stock.move
    problems: list = field(default_factory=list)  # translated messages for the salesperson


class StockMove(models.Model):
    _inherit = "stock.move"

    @api.model
    def _amazon_create_fba_moves(self, sale_order, location, serials_by_line=None):
        """Record the goods Amazon shipped for ``sale_order`` out of ``location``.

        Storable products (kits: their components, when mrp is installed) leave
        ``location`` in done moves. Tracked products take the serial numbers Amazon
        reported (``serials_by_line``: sale line id -> names) when they exist in Odoo for
        the product, then the lots available in ``location``, first expiring then oldest
        first. A tracked product whose lots cannot cover the quantity is not done: its move
        waits in a delivery from ``location``, and the returned problems say what to fix.

        :return: :class:`FbaMoves`
        """
        serials_by_line = serials_by_line or {}
        customers = self.env.ref("stock.stock_location_customers")
        destination = sale_order.partner_shipping_id.property_stock_customer or customers
        taken = {}  # lot id -> quantity already given to a move of this order
        done_vals, waiting_vals, problems = [], [], []
        for need in self._amazon_fba_needs(sale_order):
            product, quantity = need["product"], need["quantity"]
            vals = {
                "name": need["line"].name[:2000],
                "origin": sale_order.name,
                "product_id": product.id,
                "product_uom": need["uom"].id,
                "product_uom_qty": quantity,
                "location_id": location.id,
                "location_dest_id": destination.id,
                "company_id": sale_order.company_id.id,
                "partner_id": sale_order.partner_shipping_id.id,
                "sale_line_id": need["line"].id,
            }
            if need.get("bom_line"):
                vals["bom_line_id"] = need["bom_line"].id
            line_vals = {
                "product_id": product.id,
                "location_id": location.id,
                "location_dest_id": destination.id,
                "company_id": sale_order.company_id.id,
            }
            if product.tracking == "none":
                line_vals.update(product_uom_id=need["uom"].id, quantity=quantity)
                done_vals.append(
                    {**vals, "picked": True, "move_line_ids": [Command.create(line_vals)]}
                )
                continue
            # Tracked: lots are counted in the product's unit.
            wanted = need["uom"]._compute_quantity(quantity, product.uom_id)
            vals.update(product_uom=product.uom_id.id, product_uom_qty=wanted)
            lots = self._amazon_fba_lots(
                product, location, wanted, serials_by_line.get(need["line"].id, ()), taken
            )
            covered = sum(qty for _lot, qty in lots)
            if float_compare(covered, wanted, precision_rounding=product.uom_id.rounding) < 0:
                waiting_vals.append(vals)
                problems.append(
                    _(
                        "Amazon shipped %(quantity)s %(uom)s of %(product)s, but %(location)s "
                        "holds no available lot or serial number for it (%(covered)s found): "
                        "its stock move waits in a delivery from %(location)s. Add the "
                        "lots/serial numbers to %(location)s (inventory adjustment), then "
                        "validate that delivery.",
                        quantity=wanted,
                        uom=product.uom_id.name,
                        product=product.display_name,
                        location=location.display_name,
                        covered=covered,
                    )
                )
                continue
            for lot, qty in lots:
                taken[lot.id] = taken.get(lot.id, 0.0) + qty
            done_vals.append(
                {
                    **vals,
                    "picked": True,
                    "move_line_ids": [
                        Command.create(
                            {
                                **line_vals,
                                "product_uom_id": product.uom_id.id,
                                "quantity": qty,
                                "lot_id": lot.id,
                            }
                        )
                        for lot, qty in lots
                    ],
                }
            )
        done = self.create(done_vals) if done_vals else self.browse()
        done._action_done()
        waiting = self.browse()
        if waiting_vals:
            waiting = self._amazon_fba_waiting_delivery(sale_order, location, waiting_vals)
            names = waiting.picking_id.mapped("name")
            problems = [f"{message} ({', '.join(names)})" for message in problems]
        return FbaMoves(done=done, waiting=waiting, problems=problems)

    @api.model
    def _amazon_fba_needs(self, sale_order):
        """What left Amazon's warehouse for each line: the product itself, or the
        components of its kit (phantom BoM) when mrp is installed."""
        needs = []
        Bom = self.env["mrp.bom"] if "mrp.bom" in self.env else None
        for line in sale_order.order_line:
            product = line.product_id
            if line.display_type or product.type not in ("product", "consu"):
                continue
            if float_is_zero(line.product_uom_qty, precision_rounding=line.product_uom.rounding):
                continue
            bom = (
                Bom._bom_find(product, company_id=sale_order.company_id.id, bom_type="phantom")[
                    product
                ]
                if Bom is not None
                else None
            )
            if bom:
                factor = (
                    line.product_uom._compute_quantity(line.product_uom_qty, bom.product_uom_id)
                    / bom.product_qty
                )
                _boms, lines = bom.explode(product, factor)
                for bom_line, data in lines:
                    # Consumable components move too: sale_mrp counts a kit delivered
                    # only when every component has its move.
                    if bom_line.product_id.type not in ("product", "consu") or not data["qty"]:
                        continue
                    needs.append(
                        {
                            "line": line,
                            "product": bom_line.product_id,
                            "uom": bom_line.product_uom_id,
                            "quantity": data["qty"],
                            "bom_line": bom_line,
                        }
                    )
            elif product.type == "product":
                needs.append(
                    {
                        "line": line,
                        "product": product,
                        "uom": line.product_uom,
                        "quantity": line.product_uom_qty,
                    }
                )
        return needs

    @api.model
    def _amazon_fba_lots(self, product, location, wanted, serials, taken):
        """[(lot, quantity)] covering at most ``wanted`` units of ``product``: the serial
        numbers Amazon reported that exist in Odoo first, then the lots available in
        ``location``, first expiring then oldest first. ``taken`` holds what earlier moves
        of the same order already use."""
        rounding = product.uom_id.rounding
        picked, remaining = [], wanted
        available = self._amazon_fba_available_lots(product, location)
        if serials:
            reported = self.env["stock.lot"].search(
                [
                    ("product_id", "=", product.id),
                    ("name", "in", list(serials)),
                    ("company_id", "in", (False, location.company_id.id)),
                ]
            )
            for lot in reported.sorted(lambda lot: list(serials).index(lot.name)):
                if float_compare(remaining, 0, precision_rounding=rounding) <= 0:
                    break
                if product.tracking == "serial":
                    qty = 0.0 if taken.get(lot.id) else 1.0
                else:
                    qty = min(remaining, available.get(lot, 0.0) - taken.get(lot.id, 0.0))
                if qty > 0:
                    picked.append((lot, qty))
                    remaining -= qty
        used = {lot.id for lot, _qty in picked}
        for lot, qty in available.items():
            if float_compare(remaining, 0, precision_rounding=rounding) <= 0:
                break
            if lot.id in used:
                continue
            qty = min(remaining, qty - taken.get(lot.id, 0.0))
            if product.tracking == "serial":
                qty = min(qty, 1.0)
            if float_compare(qty, 0, precision_rounding=rounding) > 0:
                picked.append((lot, qty))
                remaining -= qty
        return picked

    @api.model
    def _amazon_fba_available_lots(self, product, location):
        """{lot: unreserved quantity} in ``location``, first expiring then oldest first
        (expiry dates exist when product_expiry is installed)."""
        quants = self.env["stock.quant"].search(
            [
                ("product_id", "=", product.id),
                ("location_id", "child_of", location.id),
                ("lot_id", "!=", False),
                ("quantity", ">", 0),
            ]
        )
        available, first_in = {}, {}
        for quant in quants:
            free = quant.quantity - quant.reserved_quantity
            if free > 0:
                available[quant.lot_id] = available.get(quant.lot_id, 0.0) + free
                in_date = quant.in_date or FAR_FUTURE
                first_in[quant.lot_id] = min(first_in.get(quant.lot_id, in_date), in_date)
        Lot = self.env["stock.lot"]
        expiry_fields = [f for f in ("removal_date", "expiration_date") if f in Lot._fields]

        def order(lot):
            expiry = next((lot[f] for f in expiry_fields if lot[f]), None) or FAR_FUTURE
            return (expiry, first_in[lot], lot.create_date or FAR_FUTURE, lot.id)

        return {lot: available[lot] for lot in sorted(available, key=order)}

    @api.model
    def _amazon_fba_waiting_delivery(self, sale_order, location, vals_list):
        """A delivery from ``location`` holding the moves that cannot be done yet, linked
        to the sale order, reserved as far as stock allows."""
        warehouse = location.warehouse_id or self.env["stock.warehouse"].search(
            [("company_id", "=", sale_order.company_id.id)], limit=1
        )
        picking_type = warehouse.out_type_id
        group = sale_order.procurement_group_id
        if not group:
            group = self.env["procurement.group"].create(
                {
                    "name": sale_order.name,
                    "move_type": "direct",
                    "sale_id": sale_order.id,
                    "partner_id": sale_order.partner_shipping_id.id,
                }
            )
            sale_order.procurement_group_id = group
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": picking_type.id,
                "location_id": location.id,
                "location_dest_id": vals_list[0]["location_dest_id"],
                "partner_id": sale_order.partner_shipping_id.id,
                "origin": sale_order.name,
                "group_id": group.id,
                "company_id": sale_order.company_id.id,
                "move_ids": [
                    Command.create(
                        {**vals, "group_id": group.id, "picking_type_id": picking_type.id}
                    )
                    for vals in vals_list
                ],
            }
        )
        picking.action_confirm()
        picking.action_assign()
        return picking.move_ids
