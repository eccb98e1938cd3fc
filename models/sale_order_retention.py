# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Removing the buyer data of Amazon orders once their retention period is over (Amazon's
Data Protection Policy: at most 30 days after delivery), keeping what tax law needs.

What is removed, per order past the limit:

* the gift messages (note lines "Gift message: ..." of the sale order);
* the buyer's contact and the delivery contact (name, street, city, postal code, state,
  phone, mobile, e-mail, VAT number, the ``amazon_buyer_key`` that links the orders of
  one buyer, and their tracked past values), once no other order still needs them.

What is kept: the Amazon order reference (``amazon_order_ref``, ``client_order_ref``),
amounts, products, the country of the contacts (taxes and statistics), and everything a
posted invoice shows. Odoo prints an invoice's customer and delivery address from the
contacts themselves (``res.partner``: nothing is copied on the invoice), so a contact that
a posted invoice names keeps its name, address and VAT number; only what the invoice does
not show (phone, mobile, e-mail, buyer key) is removed from it. Posted invoices themselves
are never written."""

from odoo import _, fields, models
from odoo.tools.translate import code_translations

# Contact fields removed from a contact no posted invoice names.
PARTNER_PII = {
    "street": False,
    "street2": False,
    "city": False,
    "zip": False,
    "state_id": False,
    "phone": False,
    "mobile": False,
    "email": False,
    "vat": False,
    "company_name": False,
    "comment": False,
    "amazon_buyer_key": False,
}
# What an invoice does not show: removed even from contacts posted invoices name.
PARTNER_PII_NOT_ON_INVOICES = ("phone", "mobile", "email", "amazon_buyer_key")
# The note lines the order sync writes (``sale.order._amazon_prepare_lines``), in English;
# their translations are looked up in the installed languages.
GIFT_NOTE = "Gift message: %(message)s"


class SaleOrder(models.Model):
    _inherit = "sale.order"

    amazon_pii_removed_at = fields.Datetime(
        string="Buyer Data Removed On",
        readonly=True,
        copy=False,
        help="When the buyer's personal data of this Amazon order was removed, its retention "
        "period after delivery being over (see the Amazon account's settings).",
    )

    def _amazon_remove_pii(self, now):
        """Remove the buyer data of the Amazon orders ``self`` (all past their retention
        period), as superuser code: gift messages, then the contacts no other order needs.

        Idempotent; orders are marked with ``amazon_pii_removed_at``.

        :return: (number of contacts anonymised, number of contacts kept because a posted
            invoice shows them)
        """
        if not self:
            return 0, 0
        self._amazon_remove_gift_messages()
        partners = self.partner_id | self.partner_invoice_id | self.partner_shipping_id
        # Never a user's or a company's own contact (an order moved to one by hand).
        partners = partners.filtered(lambda p: not p.user_ids and not p.ref_company_ids)
        partners = partners - self._amazon_partners_still_needed(partners)
        on_invoices = self._amazon_partners_on_posted_invoices(partners)
        anonymised = partners - on_invoices
        Partner = self.env["res.partner"].with_context(tracking_disable=True)
        if on_invoices:
            Partner.browse(on_invoices.ids).write(dict.fromkeys(PARTNER_PII_NOT_ON_INVOICES, False))
            self._amazon_drop_tracking(on_invoices, PARTNER_PII_NOT_ON_INVOICES)
        if anonymised:
            Partner.browse(anonymised.ids).write(
                {**PARTNER_PII, "name": _("Anonymised Amazon buyer")}
            )
            self._amazon_drop_tracking(anonymised, None)
        self.write({"amazon_pii_removed_at": now})
        return len(anonymised), len(on_invoices)

    def _amazon_remove_gift_messages(self):
        """Blank the gift message notes of the orders (locked orders included: a note is
        no protected data of a confirmed order)."""
        prefixes = self._amazon_gift_prefixes()
        lines = self.order_line.filtered(
            lambda line: (
                line.amazon_gift_message
                or (
                    line.display_type == "line_note"
                    and line.name
                    and line.name.startswith(prefixes)
                )
            )
        )
        if not lines:
            return
        self.env["sale.order.line"].flush_model(["name"])
        self.env.cr.execute(
            "UPDATE sale_order_line SET name = %s WHERE id IN %s",
            (_("Gift message removed (data retention)."), tuple(lines.ids)),
        )
        lines.invalidate_recordset(["name"])

    def _amazon_gift_prefixes(self):
        """How a gift message note starts, in every installed language."""
        prefixes = {GIFT_NOTE.split("%")[0]}
        for code, _name in self.env["res.lang"].get_installed():
            translations = code_translations.get_python_translations("sale_amazon_connector", code)
            translated = translations.get(GIFT_NOTE)
            if translated and "%" in translated:
                prefixes.add(translated.split("%")[0])
        return tuple(prefix for prefix in prefixes if prefix.strip())

    def _amazon_partners_still_needed(self, partners):
        """The contacts among ``partners`` that an order other than ``self`` names and whose
        data is not removed yet (not delivered, or delivered recently, or no Amazon order):
        they are anonymised with the last of their orders."""
        if not partners:
            return partners
        self.env["sale.order"].flush_model(
            ["partner_id", "partner_invoice_id", "partner_shipping_id", "amazon_pii_removed_at"]
        )
        # One index lookup per column (a join on "IN (three columns)" would scan).
        self.env.cr.execute(
            """
            SELECT partner_id FROM sale_order
             WHERE partner_id IN %(partners)s AND id NOT IN %(orders)s
               AND amazon_pii_removed_at IS NULL
             UNION
            SELECT partner_invoice_id FROM sale_order
             WHERE partner_invoice_id IN %(partners)s AND id NOT IN %(orders)s
               AND amazon_pii_removed_at IS NULL
             UNION
            SELECT partner_shipping_id FROM sale_order
             WHERE partner_shipping_id IN %(partners)s AND id NOT IN %(orders)s
               AND amazon_pii_removed_at IS NULL
            """,
            {"partners": tuple(partners.ids), "orders": tuple(self.ids)},
        )
        return partners.browse([row[0] for row in self.env.cr.fetchall()])

    def _amazon_partners_on_posted_invoices(self, partners):
        """The contacts among ``partners`` that a posted journal entry names (customer
        invoices and credit notes above all: as customer, commercial partner or delivery
        address; any other posted entry too, to be safe)."""
        if not partners:
            return partners
        self.env["account.move"].flush_model(
            ["partner_id", "partner_shipping_id", "commercial_partner_id", "state"]
        )
        self.env.cr.execute(
            """
            SELECT partner_id FROM account_move
             WHERE partner_id IN %(partners)s AND state = 'posted'
             UNION
            SELECT partner_shipping_id FROM account_move
             WHERE partner_shipping_id IN %(partners)s AND state = 'posted'
             UNION
            SELECT commercial_partner_id FROM account_move
             WHERE commercial_partner_id IN %(partners)s AND state = 'posted'
            """,
            {"partners": tuple(partners.ids)},
        )
        return partners.browse([row[0] for row in self.env.cr.fetchall()])

    def _amazon_drop_tracking(self, partners, fnames):
        """Delete the tracked past values (chatter) of ``fnames`` (all fields if None) of
        ``partners``: an old address in the chatter is the address still."""
        domain = [
            ("mail_message_id.model", "=", "res.partner"),
            ("mail_message_id.res_id", "in", partners.ids),
        ]
        if fnames is not None:
            domain.append(("field_id.name", "in", list(fnames)))
        self.env["mail.tracking.value"].sudo().search(domain).unlink()
