# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import hashlib

from odoo import _, api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    amazon_buyer_key = fields.Char(
        copy=False,
        index="btree_not_null",
        help="Technical: a one-way hash identifying an Amazon buyer of one account, so the "
        "same buyer is reused without storing Amazon's anonymized e-mail.",
    )

    # --- Buyers of Amazon orders (by the order sync) ----------------------------------------
    @api.model
    def _amazon_buyer_key(self, account, order):
        """A one-way key naming a buyer of ``account``, or None when Amazon gave nothing
        to recognize the buyer by. Amazon's anonymized e-mail is stable per buyer;
        failing that, name + postal code + country."""
        buyer, address = order.buyer, order.recipient
        if buyer and buyer.email:
            identity = buyer.email.strip().lower()
        elif address and (buyer and buyer.name or address.name) and address.postal_code:
            name = (buyer and buyer.name) or address.name
            identity = "|".join(
                part.strip().lower()
                for part in (name, address.postal_code, address.country_code or "")
            )
        else:
            return None
        return hashlib.sha256(f"{account.id}|{identity}".encode()).hexdigest()

    @api.model
    def _amazon_find_buyers(self, account, orders):
        """{buyer key: contact} of the buyers of ``orders`` already in Odoo."""
        keys = {self._amazon_buyer_key(account, order) for order in orders} - {None}
        if not keys:
            return {}
        partners = self.search([("amazon_buyer_key", "in", list(keys)), ("parent_id", "=", False)])
        return {partner.amazon_buyer_key: partner for partner in partners}

    @api.model
    def _amazon_get_customer(self, account, order, ctx):
        """The buyer's contact (reused or created) and the delivery address."""
        key = self._amazon_buyer_key(account, order)
        partner = ctx.partners.get(key) if key else None
        buyer, address = order.buyer, order.recipient
        if not partner:
            name = (
                (buyer and (buyer.company_name if order.is_business else None))
                or (buyer and buyer.name)
                or (address and address.name)
            )
            vals = {
                "name": name or _("Amazon Customer #%(ref)s", ref=order.order_id),
                "is_company": bool(order.is_business and buyer and buyer.company_name),
                "company_id": account.company_id.id,
                "customer_rank": 1,
                "amazon_buyer_key": key,
                **self._amazon_address_vals(address, ctx),
            }
            vat = self._amazon_buyer_vat(order)
            if vat:
                vals["vat"] = vat
            partner = self._amazon_unchecked_vat().create(vals).with_env(self.env)
            if key:
                ctx.pending_partners[key] = partner
        if not address or not (address.line1 or address.city or address.postal_code):
            return partner, partner
        delivery = partner._amazon_unchecked_vat()._amazon_get_delivery_address(
            account, address, ctx
        )
        return partner, delivery.with_env(self.env)

    def _amazon_unchecked_vat(self):
        """Amazon checked the buyer's VAT number (Amazon Business): it is stored as given on
        the buyer and on its delivery addresses (which copy it), even where a localization's
        base_vat would refuse its format or checksum."""
        return self.with_context(no_vat_validation=True)

    @api.model
    def _amazon_address_vals(self, address, ctx):
        if not address:
            return {}
        country = ctx.country(self.env, address.country_code)
        return {
            "street": address.line1 or False,
            "street2": ", ".join(filter(None, (address.line2, address.line3))) or False,
            "city": address.city or False,
            "zip": address.postal_code or False,
            "country_id": country.id or False,
            "state_id": ctx.state(self.env, country, address.state).id or False,
            "phone": address.phone or False,
        }

    def _amazon_get_delivery_address(self, account, address, ctx):
        """This buyer's delivery contact at ``address`` (reused or created)."""
        self.ensure_one()
        vals = {
            "name": address.name or self.name,
            "type": "delivery",
            "parent_id": self.id,
            "company_id": account.company_id.id,
            **self._amazon_address_vals(address, ctx),
        }
        if address.company_name:
            vals["name"] = f"{vals['name']}, {address.company_name}"
        compared = ("name", "street", "street2", "city", "zip", "country_id")
        for child in self.child_ids:
            if child.type == "delivery" and all(
                (child[f].id if f == "country_id" else child[f]) == vals[f] for f in compared
            ):
                return child
        return self.create(vals)

    @api.model
    def _amazon_buyer_vat(self, order):
        for registration in order.tax_registrations:
            if registration.entity_type == "BUYER" and registration.number:
                return registration.number
        return None
