# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..amazon_sp import const


class AmazonRecoverOrder(models.TransientModel):
    """Fetch one Amazon order by reference and synchronize it now, whatever the account's
    Last Order Sync says (an order the regular sync missed or skipped)."""

    _name = "amazon.recover.order"
    _description = "Recover an Amazon Order"

    account_id = fields.Many2one(
        "amazon.account",
        string="Amazon Account",
        required=True,
        ondelete="cascade",
        default=lambda self: (
            self.env.context.get("active_id")
            if self.env.context.get("active_model") == "amazon.account"
            else False
        ),
    )
    order_ref = fields.Char(
        string="Amazon Order Reference",
        help="The order number shown in Seller Central, e.g. 171-1234567-1234567.",
    )
    state = fields.Selection([("draft", "Draft"), ("done", "Done")], default="draft")
    result = fields.Text(readonly=True)
    sale_order_id = fields.Many2one("sale.order", readonly=True)

    @api.model
    def _clean_ref(self, ref):
        return re.sub(r"\s+", "", ref or "")

    def action_recover(self):
        self.ensure_one()
        self.account_id.check_access_rights("write")
        self.account_id.check_access_rule("write")
        ref = self._clean_ref(self.order_ref)
        if not re.match(const.ORDER_REF_PATTERN, ref):
            raise UserError(
                _(
                    "'%(ref)s' is not an Amazon order reference: it reads like "
                    "171-1234567-1234567 (3, 7 and 7 digits).",
                    ref=self.order_ref or "",
                )
            )
        outcome = self.account_id._amazon_recover_order(ref)
        order = self.env["sale.order"].search(
            [("amazon_account_id", "=", self.account_id.id), ("amazon_order_ref", "=", ref)],
            limit=1,
        )
        self.write(
            {
                "order_ref": ref,
                "state": "done",
                "result": self._describe(ref, outcome, order),
                "sale_order_id": order.id,
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Recover Order"),
        }

    def _describe(self, ref, outcome, order):
        counts = outcome.counts
        if counts["failed"]:
            return _(
                "Order %(ref)s could not be synchronized:\n%(errors)s\nIt is listed in the "
                "account's Order Failures and retried with every synchronization.",
                ref=ref,
                errors="\n".join(outcome.failures),
            )
        if counts["created"]:
            return _("Order %(ref)s was created as %(order)s.", ref=ref, order=order.name)
        if counts["cancelled"]:
            return _("Order %(ref)s was cancelled (%(order)s).", ref=ref, order=order.name)
        if counts["updated"]:
            return _("Order %(ref)s (%(order)s) was updated.", ref=ref, order=order.name)
        if order:
            return _(
                "Order %(ref)s is already in Odoo (%(order)s) and up to date.",
                ref=ref,
                order=order.name,
            )
        return _(
            "Amazon knows order %(ref)s but it is not ready to be synchronized (pending "
            "payment, or cancelled before it was ever synchronized). Nothing was created.",
            ref=ref,
        )

    def action_open_sale_order(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "sale.order",
            "res_id": self.sale_order_id.id,
            "view_mode": "form",
        }
