# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..amazon_sp import const

_logger = logging.getLogger(__name__)

MODULE = "sale_amazon_connector"


class AmazonMarketplace(models.Model):
    _name = "amazon.marketplace"
    _description = "Amazon Marketplace"
    _order = "region, name"

    name = fields.Char(required=True)
    api_ref = fields.Char(
        string="Marketplace ID",
        required=True,
        help="Amazon's identifier of the marketplace, e.g. A1RKKUPIHCS9HS for Amazon.es.",
    )
    code = fields.Char(required=True, help="Short code of the marketplace, e.g. ES, UK, US.")
    country_id = fields.Many2one("res.country")
    region = fields.Selection(
        selection=[(code, label) for code, (label, *_rest) in const.REGIONS.items()],
        required=True,
        help="SP-API region serving this marketplace.",
    )
    currency_id = fields.Many2one(
        "res.currency",
        string="Default Currency",
        help="Currency in which Amazon sells on this marketplace.",
    )
    seller_central_url = fields.Char(string="Seller Central URL")
    tax_included = fields.Boolean(
        string="Prices Include Tax",
        help="Prices shown to buyers on this marketplace include taxes.",
    )

    _sql_constraints = [
        (
            "api_ref_unique",
            "UNIQUE(api_ref)",
            "An Amazon marketplace with this Marketplace ID already exists.",
        ),
    ]

    @api.ondelete(at_uninstall=False)
    def _unlink_except_marketplace(self):
        raise UserError(_("Amazon marketplaces are reference data and cannot be deleted."))

    @api.model
    def _get_marketplace_values(self, code):
        """Return the field values of the marketplace ``code`` of ``const.MARKETPLACES``."""
        api_ref, name, country_code, region, currency, url, tax_included = const.MARKETPLACES[code]
        country = self.env["res.country"].search([("code", "=", country_code)], limit=1)
        currency_rec = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", currency)], limit=1)
        )
        if not country or not currency_rec:
            _logger.warning(
                "Amazon marketplace %s: country %s or currency %s not found in Odoo",
                code,
                country_code,
                currency,
            )
        return {
            "api_ref": api_ref,
            "name": name,
            "code": code,
            "country_id": country.id,
            "region": region,
            "currency_id": currency_rec.id,
            "seller_central_url": url,
            "tax_included": tax_included,
        }

    @api.model
    def _load_marketplaces(self):
        """Create or update one record per entry of ``const.MARKETPLACES``.

        Called from ``data/amazon_marketplace_data.xml`` at install and update. Each record gets
        the xml id ``sale_amazon_connector.marketplace_<code lower>``. Records are registered
        through ``_load_records`` so that Odoo knows they belong to this module (they are not
        removed as obsolete at update, and are removed at uninstall).
        """
        data_list = []
        for code in const.MARKETPLACES:
            values = self._get_marketplace_values(code)
            xml_id = f"{MODULE}.marketplace_{code.lower()}"
            self._adopt_marketplace(xml_id, values["api_ref"])
            data_list.append({"xml_id": xml_id, "values": values, "noupdate": False})
        return self.sudo()._load_records(data_list, update=True)

    @api.model
    def _adopt_marketplace(self, xml_id, api_ref):
        """Give ``xml_id`` to a record with ``api_ref`` created without it (e.g. by hand),
        so loading the data updates that record instead of breaking the unique key."""
        if self.env.ref(xml_id, raise_if_not_found=False):
            return
        existing = self.search([("api_ref", "=", api_ref)], limit=1)
        if existing:
            module, name = xml_id.split(".", 1)
            self.env["ir.model.data"].sudo().create(
                {"module": module, "name": name, "model": self._name, "res_id": existing.id}
            )
