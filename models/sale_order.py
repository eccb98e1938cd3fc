# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from decimal import Decimal

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html2plaintext

from ..amazon_sp import amounts, const
from .const import AMAZON_CHANNELS, amazon_channel


def _stated_total(order, computed):
    """Amazon's total of ``order`` (grandTotal, else its items' proceeds summed), or
    ``computed`` (the lines' own sum) when Amazon states neither."""
    stated = amounts.stated_total(order)
    return computed if stated is None else stated


class SaleOrder(models.Model):
    _inherit = "sale.order"

    amazon_order_ref = fields.Char(
        string="Amazon Reference", readonly=True, copy=False, index="btree_not_null"
    )
    amazon_account_id = fields.Many2one(
        "amazon.account", readonly=True, copy=False, index="btree_not_null"
    )
    amazon_marketplace_id = fields.Many2one("amazon.marketplace", readonly=True, copy=False)
    amazon_channel = fields.Selection(
        AMAZON_CHANNELS,
        string="Fulfillment Channel",
        readonly=True,
        copy=False,
    )
    amazon_status = fields.Selection(
        [
            ("PENDING_AVAILABILITY", "Pending Availability"),
            ("PENDING", "Pending"),
            ("UNSHIPPED", "Unshipped"),
            ("PARTIALLY_SHIPPED", "Partially Shipped"),
            ("SHIPPED", "Shipped"),
            ("CANCELLED", "Cancelled"),
            ("UNFULFILLABLE", "Unfulfillable"),
        ],
        readonly=True,
        copy=False,
    )
    amazon_last_update = fields.Datetime(readonly=True, copy=False)
    amazon_total = fields.Monetary(
        readonly=True,
        copy=False,
        help="The order total as Amazon reports it, in the order's currency.",
    )
    amazon_total_difference = fields.Monetary(
        string="Difference with Amazon",
        readonly=True,
        copy=False,
        help="Amazon's total minus Odoo's total, when Odoo's taxes cannot reproduce Amazon's "
        "amounts exactly (see the chatter for why).",
    )
    amazon_is_business = fields.Boolean(string="Amazon Business Order", readonly=True, copy=False)

    _sql_constraints = [
        (
            "amazon_order_ref_unique",
            "UNIQUE(amazon_account_id, amazon_order_ref)",
            "There can only be one sale order per Amazon order and account.",
        ),
    ]

    def message_subscribe(self, partner_ids=None, subtype_ids=None):
        # Confirming an order subscribes its customer; an Amazon buyer must never
        # receive mail from Odoo (Amazon relays buyer messages itself).
        if partner_ids and self.env.context.get("amazon_sync"):
            buyers = set(self.filtered("amazon_order_ref").partner_id.ids)
            partner_ids = [pid for pid in partner_ids if pid not in buyers]
        return super().message_subscribe(partner_ids=partner_ids, subtype_ids=subtype_ids)

    def _amazon_is_delivered(self):
        """Whether goods of this order already left the warehouse in Odoo."""
        self.ensure_one()
        if self.amazon_channel == "fba":
            return any(line.qty_delivered for line in self.order_line)
        return any(picking.state == "done" for picking in self.picking_ids)

    # --- Invoicing -------------------------------------------------------------------------
    def _prepare_invoice(self):
        vals = super()._prepare_invoice()
        if self.amazon_account_id:
            vals.update(
                amazon_account_id=self.amazon_account_id.id,
                amazon_marketplace_id=self.amazon_marketplace_id.id,
            )
        return vals

    def _get_invoiceable_lines(self, final=False):
        # A gift message is for the parcel, not for the invoice (nor for Amazon's copy of
        # it): invoices would keep the buyer's words after their retention period.
        lines = super()._get_invoiceable_lines(final=final)
        return lines.filtered(lambda line: not line.amazon_gift_message)

    def _amazon_missing_vat(self):
        """Business orders of Amazon whose invoiced customer has no VAT number."""
        return self.filtered(
            lambda order: (
                order.amazon_is_business and not order.partner_invoice_id.commercial_partner_id.vat
            )
        )

    def _create_invoices(self, grouped=False, final=False, date=None):
        missing = self._amazon_missing_vat()
        if missing:
            raise UserError(
                _(
                    "Enter the VAT number of the business customer before invoicing these "
                    "Amazon orders (Amazon did not send it): %(orders)s.",
                    orders=", ".join(missing.mapped("name")),
                )
            )
        return super()._create_invoices(grouped=grouped, final=final, date=date)

    def _amazon_remind_missing_vat(self):
        """Ask the salesperson (an activity) for the VAT number of B2B customers without one."""
        activity_type = self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        for order in self._amazon_missing_vat():
            order.activity_schedule(
                activity_type_id=activity_type.id if activity_type else False,
                summary=_("Enter the customer's VAT number"),
                note=_(
                    "This Amazon business order comes without the buyer's VAT number. Enter it "
                    "on the customer (ask the buyer through Seller Central messaging) before "
                    "invoicing: business invoices must show it."
                ),
                user_id=(order.user_id or order.amazon_account_id.user_id or self.env.user).id,
            )

    # --- Made from Amazon orders (by the order sync) ----------------------------------------
    @api.model
    def _amazon_create_from_order(self, account, order, ctx):
        """Create and confirm the sale order of a parsed Amazon order of ``account``.

        :param ctx: the page's lookups (``amazon_account_orders.PageContext``)
        """
        marketplace = ctx.marketplaces.get(order.marketplace_id)
        if not marketplace:
            raise UserError(
                _(
                    "The order comes from marketplace %(marketplace)s, which is not synchronized "
                    "by account %(account)s.",
                    marketplace=order.marketplace_id or _("(none)"),
                    account=account.name,
                )
            )
        currency = self._amazon_currency(order, marketplace, ctx)
        if not order.items:
            raise UserError(_("Amazon sent the order without any item."))
        item_ids = [item.item_id for item in order.items]
        if len(set(item_ids)) != len(item_ids):
            raise UserError(_("Amazon sent the same order item twice in this order."))
        partner, shipping = self.env["res.partner"]._amazon_get_customer(account, order, ctx)
        fiscal_position = self.env["account.fiscal.position"]._get_fiscal_position(
            partner, delivery=shipping
        )
        lines, expected = self._amazon_prepare_lines(
            account, order, marketplace, currency, fiscal_position, ctx
        )
        sale_order = self.create(
            {
                "partner_id": partner.id,
                "partner_invoice_id": partner.id,
                "partner_shipping_id": shipping.id,
                "company_id": account.company_id.id,
                "user_id": account.user_id.id,
                "team_id": account.team_id.id,
                "pricelist_id": self._amazon_pricelist(account, currency, ctx).id,
                "fiscal_position_id": fiscal_position.id,
                "client_order_ref": order.order_id,
                "origin": _("Amazon %(ref)s", ref=order.order_id),
                "date_order": order.purchase_date,
                "amazon_order_ref": order.order_id,
                "amazon_account_id": account.id,
                "amazon_marketplace_id": marketplace.id,
                "amazon_channel": amazon_channel(order),
                "amazon_status": order.status,
                "amazon_last_update": order.last_update_date,
                "amazon_is_business": order.is_business,
                # Set here rather than written after the totals: one UPDATE less per order.
                "amazon_total": float(_stated_total(order, expected)),
                "order_line": [Command.create(vals) for vals in lines],
            }
        )
        sale_order._amazon_match_total(expected, order)
        sale_order.action_confirm()
        # Confirmation stamps "now"; the order date is the buyer's purchase date.
        sale_order.date_order = order.purchase_date
        if sale_order.amazon_channel == "fba":
            sale_order._amazon_create_fba_moves(order)
        sale_order._amazon_remind_missing_vat()
        return sale_order

    @api.model
    def _amazon_currency(self, order, marketplace, ctx):
        code = order.currency or marketplace.currency_id.name
        # Looked up once per sync run (not per order); activity is checked on every order.
        currencies = ctx.cache("currencies")
        if code not in currencies:
            currencies[code] = (
                self.env["res.currency"]
                .with_context(active_test=False)
                .search([("name", "=", code)], limit=1)
            )
        currency = currencies[code]
        if not currency:
            raise UserError(_("Currency %(code)s is unknown to Odoo.", code=code))
        if not currency.active:
            raise UserError(
                _(
                    "Currency %(code)s is not active in Odoo: activate it (Accounting ▶ "
                    "Configuration ▶ Currencies); the order is retried on the next sync.",
                    code=code,
                )
            )
        return currency

    @api.model
    def _amazon_pricelist(self, account, currency, ctx):
        Pricelist = self.env["product.pricelist"]
        # Existing pricelists are cached for the run; one created here is not (the order's
        # savepoint may roll it back): the next order finds it and caches it.
        pricelists = ctx.cache("pricelists")
        pricelist = pricelists.get(currency.id) or Pricelist.search(
            [
                ("currency_id", "=", currency.id),
                ("company_id", "in", (False, account.company_id.id)),
            ],
            limit=1,
        )
        if pricelist:
            pricelists[currency.id] = pricelist
        return pricelist or Pricelist.create(
            {
                "name": _("Amazon (%(currency)s)", currency=currency.name),
                "currency_id": currency.id,
                "company_id": account.company_id.id,
            }
        )

    @api.model
    def _amazon_prepare_lines(self, account, order, marketplace, currency, fiscal_position, ctx):
        """Sale order line values for ``order`` and the total Odoo should reach."""
        items = {item.item_id: item for item in order.items}
        products = account._amazon_charge_products()

        def item_offer(item):
            return ctx.offers.get((order.marketplace_id, item.sku)) if item.sku else None

        digits = self.env["decimal.precision"].precision_get("Product Price")
        lines, expected = [], Decimal(0)
        for charge in amounts.order_charges(order):
            item = items.get(charge.item_id)
            offer = None
            if charge.kind == amounts.KIND_ITEM:
                offer = item_offer(item)
                product = offer.product_id if offer else account.default_product_id
                if charge.quantity <= 0:
                    continue
            else:
                product = products[charge.kind]
            account._amazon_required_product(product, charge.kind)
            # Promotions carry the taxes of the product they discount.
            tax_source = product
            if charge.kind == amounts.KIND_PROMOTION and item:
                discounted = item_offer(item)
                tax_source = discounted.product_id if discounted else account.default_product_id
            taxes = fiscal_position.map_tax(
                tax_source.taxes_id.filtered(lambda t: t.company_id == account.company_id)
            )
            price, discount, gross = self._amazon_price_charge(
                charge, taxes, marketplace, currency, digits
            )
            lines.append(
                {
                    "product_id": product.id,
                    "name": self._amazon_line_name(charge, item, product),
                    "product_uom_qty": charge.quantity,
                    "price_unit": float(price),
                    "discount": float(discount),
                    "tax_id": [Command.set(taxes.ids)],
                    "amazon_item_ref": charge.item_id
                    if charge.kind == amounts.KIND_ITEM
                    else False,
                    "amazon_offer_id": offer.id if offer else False,
                }
            )
            expected += gross
        for item in order.items:
            if item.gift_message:
                lines.append(
                    {
                        "display_type": "line_note",
                        "name": _("Gift message: %(message)s", message=item.gift_message),
                        "product_uom_qty": 0,
                        "amazon_gift_message": True,
                    }
                )
        return lines, amounts.round_money(expected, currency.decimal_places)

    @api.model
    def _amazon_price_charge(self, charge, taxes, marketplace, currency, digits):
        """(unit price, discount %, gross) of the line of ``charge`` (``amounts.Charge``)
        with ``taxes``, so that Odoo's computed line total equals what Amazon charged by
        the marketplace's tax rule (credit notes of refunds price their lines this way
        too)."""
        if charge.tax_included is False and marketplace.tax_included:
            # Amazon added the tax on top, on a marketplace where the seller collects it:
            # the buyer paid amount + tax, whatever taxes Odoo puts on the line.
            gross = charge.amount + charge.tax
        else:
            gross = amounts.target_gross(
                charge, tax_included=marketplace.tax_included, has_taxes=bool(taxes)
            )
        rates = [
            Decimal(str(tax.amount)) / 100
            for tax in taxes
            if tax.amount_type == "percent" and not tax.price_include
        ]
        subtotal = amounts.line_subtotal(gross, rates, digits=currency.decimal_places)
        price, discount = amounts.price_and_discount(
            subtotal, charge.quantity, digits=currency.decimal_places, price_digits=digits
        )
        return price, discount, gross

    @api.model
    def _amazon_line_name(self, charge, item, product):
        if charge.kind == amounts.KIND_ITEM:
            name = item.title or item.sku or product.display_name
            if item.sku and item.sku not in name:
                name = f"[{item.sku}] {name}"
            if item.condition_type and item.condition_type.upper() != "NEW":
                condition = " - ".join(
                    filter(
                        None,
                        (
                            item.condition_type.title(),
                            (item.condition_subtype or "").replace("_", " ").title(),
                        ),
                    )
                )
                name += "\n" + _("Condition: %(condition)s", condition=condition)
                if item.condition_note:
                    name += f" ({item.condition_note})"
            return name
        labels = {
            amounts.KIND_SHIPPING: _("Shipping"),
            amounts.KIND_SHIPPING_DISCOUNT: _("Shipping discount"),
            amounts.KIND_GIFT_WRAP: _("Gift wrapping"),
            amounts.KIND_COD_FEE: _("Cash on delivery fee"),
            amounts.KIND_OTHER: _("Other charges"),
            amounts.KIND_DELIVERY_TIP: _("Delivery tip"),
            amounts.KIND_PROMOTION: _(
                "Promotion on %(item)s", item=(item and (item.sku or item.title)) or ""
            ),
        }
        return labels[charge.kind]

    def _amazon_match_total(self, expected, order):
        """Record Amazon's total; where Odoo's taxes cannot reproduce what the buyer
        paid, state the difference on the order (field and chatter note)."""
        self.ensure_one()
        currency = self.currency_id
        target = float(expected)
        amazon_total = float(_stated_total(order, target))
        difference = currency.round(amazon_total - self.amount_total)
        if self.amazon_total != amazon_total:
            self.amazon_total = amazon_total
        if not currency.is_zero(difference):
            self.amazon_total_difference = difference
            self.message_post(
                body=_(
                    "Odoo's total differs from Amazon's by %(difference)s %(currency)s. Amazon "
                    "charged %(amazon)s; the taxes Odoo applies to these products cannot "
                    "reproduce it (for example, tax Amazon collected itself, or taxes that "
                    "differ from Amazon's).",
                    difference=difference,
                    currency=currency.name,
                    amazon=amazon_total,
                ),
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )

    def _amazon_create_fba_moves(self, order=None):
        """Goods Amazon shipped leave the account's Amazon location (see
        ``stock.move._amazon_create_fba_moves``); what cannot be moved yet (tracked
        products without lots) becomes an activity for the salesperson."""
        self.ensure_one()
        serials = {}
        if order is not None:
            by_item = {item.item_id: item.serial_numbers for item in order.items}
            serials = {
                line.id: by_item.get(line.amazon_item_ref) or ()
                for line in self.order_line
                if line.amazon_item_ref
            }
        result = self.env["stock.move"]._amazon_create_fba_moves(
            self, self.amazon_account_id.location_id, serials
        )
        for message in result.problems:
            self._amazon_flag(message)
        return result

    def _amazon_update_from_order(self, order):
        """Apply a newer Amazon state (a parsed order) of this sale order; returns the
        outcome key (unchanged, updated, cancelled)."""
        self.ensure_one()
        if self.amazon_last_update and order.last_update_date < self.amazon_last_update:
            return "unchanged"
        result = "unchanged"
        if order.status == const.STATUS_CANCELLED and self.state != "cancel":
            if self._amazon_is_delivered():
                self._amazon_flag(
                    _(
                        "Amazon cancelled order %(ref)s, but its goods were already delivered "
                        "in Odoo: nothing was cancelled. Check the order and refund or return "
                        "it as needed.",
                        ref=order.order_id,
                    ),
                )
                result = "updated"
            else:
                self._action_cancel()
                result = "cancelled"
        elif self.state != "cancel":
            if self._amazon_apply_item_cancellations(order):
                result = "updated"
            if (
                order.status == const.STATUS_SHIPPED
                and self.amazon_channel == "fbm"
                and self.picking_ids.filtered(
                    lambda p: (
                        p.state not in ("done", "cancel") and p.picking_type_code == "outgoing"
                    )
                )
            ):
                self._amazon_flag(
                    _(
                        "Amazon reports order %(ref)s as shipped, but its delivery is still open "
                        "in Odoo (shipped outside Odoo?). Nothing was validated: check the "
                        "delivery and validate or cancel it.",
                        ref=order.order_id,
                    ),
                )
        if self.amazon_status != order.status:
            result = "updated" if result == "unchanged" else result
        self.write({"amazon_status": order.status, "amazon_last_update": order.last_update_date})
        return result

    def _amazon_apply_item_cancellations(self, order):
        """Reduce lines whose items Amazon partly cancelled (never below delivered)."""
        changed = False
        lines = {line.amazon_item_ref: line for line in self.order_line if line.amazon_item_ref}
        for item in order.items:
            line = lines.get(item.item_id)
            if not line or not item.quantity_cancelled:
                continue
            wanted = max(item.quantity_ordered - item.quantity_cancelled, line.qty_delivered)
            if wanted < line.product_uom_qty:
                line.product_uom_qty = wanted
                changed = True
        return changed

    def _amazon_flag(self, message):
        """Tell the salesperson, once per message, with an activity on the order."""
        self.ensure_one()
        if message in [html2plaintext(note or "") for note in self.activity_ids.mapped("note")]:
            return
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=_("Amazon order needs attention"),
            note=message,
            user_id=(self.amazon_account_id.user_id or self.env.user).id,
        )

    def _amazon_lock_nowait(self):
        """Lock what the order sync may update of this sale order (the order, its lines,
        its deliveries and their moves), without waiting: a row another transaction holds
        or changed since this one's snapshot (a delivery validated meanwhile updates all
        four) raises a serialization or lock error here, quietly, instead of a failed
        UPDATE logged as an error at flush time."""
        self.ensure_one()
        for query in (
            "SELECT 1 FROM sale_order WHERE id = %s FOR NO KEY UPDATE NOWAIT",
            "SELECT 1 FROM sale_order_line WHERE order_id = %s FOR NO KEY UPDATE NOWAIT",
            "SELECT 1 FROM stock_picking WHERE sale_id = %s FOR NO KEY UPDATE NOWAIT",
            """SELECT 1 FROM stock_move WHERE sale_line_id IN (
                   SELECT id FROM sale_order_line WHERE order_id = %s
               ) FOR NO KEY UPDATE NOWAIT""",
        ):
            self.env.cr.execute(query, [self.id], log_exceptions=False)
