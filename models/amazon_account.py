# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from urllib.parse import urlsplit

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..amazon_sp import ClientConfig, SpApiClient, const
from ..amazon_sp.errors import SpApiError

_logger = logging.getLogger(__name__)

SYNC_ENABLED_PARAM = "sale_amazon_connector.sync_enabled"
CREDENTIAL_FIELDS = ("lwa_client_id", "lwa_client_secret", "refresh_token")


class AmazonAccount(models.Model):
    _name = "amazon.account"
    _description = "Amazon Seller Account"
    _inherit = ["mail.thread"]
    _order = "name, id"

    # --- Identity -----------------------------------------------------------------------------
    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    seller_id = fields.Char(
        string="Merchant ID",
        tracking=True,
        help="Your Amazon Merchant Token (Seller ID), shown in Seller Central > Settings > "
        "Account Info > Business Information.",
    )
    region = fields.Selection(
        selection=[(code, label) for code, (label, *_rest) in const.REGIONS.items()],
        required=True,
        default="eu",
        tracking=True,
        help="SP-API region of the seller account.",
    )

    # --- Credentials: readable and writable by system administrators only, never tracked ----
    lwa_client_id = fields.Char(
        string="LWA Client ID",
        groups="base.group_system",
        copy=False,
        help="Client identifier of your SP-API application (Login with Amazon).",
    )
    lwa_client_secret = fields.Char(
        string="LWA Client Secret",
        groups="base.group_system",
        copy=False,
    )
    refresh_token = fields.Char(
        groups="base.group_system",
        copy=False,
        help="Refresh token obtained when the seller authorized your application.",
    )
    # Endpoint overrides receive the credentials, so only administrators may change them.
    sp_api_endpoint = fields.Char(
        string="SP-API Endpoint",
        groups="base.group_system",
        help="Leave empty to use Amazon's endpoint of the region. Set it to test against a "
        "sandbox, e.g. http://127.0.0.1:8069.",
    )
    lwa_endpoint = fields.Char(
        string="LWA Token Endpoint",
        groups="base.group_system",
        help="Leave empty to use Amazon's Login with Amazon token URL.",
    )

    # --- Marketplaces -------------------------------------------------------------------------
    home_marketplace_id = fields.Many2one(
        "amazon.marketplace",
        tracking=True,
        help="The marketplace where the seller account was registered.",
    )
    available_marketplace_ids = fields.Many2many(
        "amazon.marketplace",
        "amazon_account_available_marketplace_rel",
        "account_id",
        "marketplace_id",
        string="Available Marketplaces",
        help="Marketplaces in which the seller participates, as reported by Amazon.",
    )
    active_marketplace_ids = fields.Many2many(
        "amazon.marketplace",
        "amazon_account_active_marketplace_rel",
        "account_id",
        "marketplace_id",
        string="Synchronized Marketplaces",
        domain="[('id', 'in', available_marketplace_ids)]",
        help="Orders are synchronized for these marketplaces only.",
    )

    # --- Order follow-up ----------------------------------------------------------------------
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
        tracking=True,
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        domain="['|', ('company_id', '=', False), ('company_id', '=', company_id)]",
        tracking=True,
        help="Defaults to the company's shared Amazon sales team.",
    )
    location_id = fields.Many2one(
        "stock.location",
        string="Stock Location",
        domain="[('usage', '=', 'internal'), ('company_id', 'in', (False, company_id))]",
        tracking=True,
        help="Stock location of the goods that Amazon fulfills (FBA). Defaults to the "
        "company's shared Amazon location.",
    )
    last_orders_sync = fields.Datetime(
        required=True,
        default=fields.Datetime.now,
        copy=False,
        help="Orders updated on Amazon after this time (UTC) are synchronized next.",
    )

    # --- Constraints --------------------------------------------------------------------------
    @api.constrains("sp_api_endpoint", "lwa_endpoint")
    def _check_endpoints(self):
        for account in self.sudo():
            for fname in ("sp_api_endpoint", "lwa_endpoint"):
                url = account[fname]
                if url and not self._is_valid_http_url(url):
                    raise ValidationError(
                        _(
                            "%(field)s must be an http:// or https:// URL, got %(url)s.",
                            field=self._fields[fname].string,
                            url=url,
                        )
                    )

    @staticmethod
    def _is_valid_http_url(url):
        parts = urlsplit(url.strip())
        return parts.scheme in ("http", "https") and bool(parts.netloc)

    @api.constrains("available_marketplace_ids", "active_marketplace_ids")
    def _check_active_marketplaces(self):
        for account in self:
            if account.active_marketplace_ids - account.available_marketplace_ids:
                raise ValidationError(
                    _(
                        "The synchronized marketplaces of %(account)s must be among its "
                        "available marketplaces.",
                        account=account.name,
                    )
                )

    # --- CRUD ---------------------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._prepare_company_defaults(vals)
        return super().create(vals_list)

    @api.model
    def _prepare_company_defaults(self, vals):
        """Point a new account at its company's shared Amazon location and sales team
        (created with the company's first account) unless ``vals`` names other ones."""
        company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
        if not vals.get("location_id"):
            vals["location_id"] = company._amazon_get_location().id
        if not vals.get("team_id"):
            vals["team_id"] = company._amazon_get_team().id
        return vals

    # --- Settings -----------------------------------------------------------------------------
    @api.model
    def _is_sync_enabled(self):
        """Whether the "Amazon Sync" setting is on (default: on)."""
        value = self.env["ir.config_parameter"].sudo().get_param(SYNC_ENABLED_PARAM, "True")
        return value.strip().lower() not in ("false", "0", "")

    # --- SP-API -------------------------------------------------------------------------------
    def _get_sp_api_client(self):
        """Return an ``amazon_sp.SpApiClient`` configured for this account.

        The credentials are read with sudo(): callers need not be administrators. They are
        handed to the client only; never log them. Use it as a context manager.
        """
        self.ensure_one()
        account = self.sudo()
        missing = [
            account._fields[fname].string for fname in CREDENTIAL_FIELDS if not account[fname]
        ]
        if missing:
            raise UserError(
                _(
                    "Fill in the credentials of the Amazon account %(account)s first: %(fields)s.",
                    account=self.name,
                    fields=", ".join(missing),
                )
            )
        config = ClientConfig(
            account.lwa_client_id,
            account.lwa_client_secret,
            account.refresh_token,
            region=account.region,
            endpoint=(account.sp_api_endpoint or "").strip() or None,
            lwa_endpoint=(account.lwa_endpoint or "").strip() or None,
        )
        return SpApiClient(config)

    def _fetch_marketplace_participations(self):
        """Ask Amazon for the account's marketplace participations.

        :return: list of ``amazon_sp.types.MarketplaceParticipation``
        :raise UserError: with Amazon's message when the call fails
        """
        self.ensure_one()
        try:
            with self._get_sp_api_client() as client:
                return client.get_marketplace_participations()
        except SpApiError as error:
            _logger.info(
                "Amazon account %s: connection check failed (%s)",
                self.id,
                type(error).__name__,
            )
            raise UserError(
                _(
                    "Amazon rejected the connection of %(account)s:\n%(error)s",
                    account=self.name,
                    error=str(error),
                )
            ) from error

    def _update_marketplaces(self, participations):
        """Set the available marketplaces from ``participations`` (and the home and
        synchronized marketplaces when they are empty). Unknown marketplace ids are ignored.

        :return: the available marketplaces
        """
        self.ensure_one()
        api_refs = [p.marketplace_id for p in participations if p.is_participating]
        marketplaces = self.env["amazon.marketplace"].search([("api_ref", "in", api_refs)])
        # keep Amazon's order
        by_ref = {marketplace.api_ref: marketplace for marketplace in marketplaces}
        ordered = [by_ref[ref] for ref in api_refs if ref in by_ref]
        vals = {"available_marketplace_ids": [fields.Command.set(marketplaces.ids)]}
        if not self.home_marketplace_id and ordered:
            in_region = [m for m in ordered if m.region == self.region]
            vals["home_marketplace_id"] = (in_region or ordered)[0].id
        if not self.active_marketplace_ids:
            vals["active_marketplace_ids"] = [fields.Command.set(marketplaces.ids)]
        else:
            # keep the seller's choice, minus what Amazon no longer offers
            still_available = self.active_marketplace_ids & marketplaces
            vals["active_marketplace_ids"] = [fields.Command.set(still_available.ids)]
        self.write(vals)
        return marketplaces

    def action_check_connection(self):
        """Check the credentials with getMarketplaceParticipations and fill the marketplaces."""
        self.ensure_one()
        participations = self._fetch_marketplace_participations()
        marketplaces = self._update_marketplaces(participations)
        message = _(
            "Connection to Amazon successful: %(count)s marketplace(s) available (%(names)s).",
            count=len(marketplaces),
            names=", ".join(marketplaces.mapped("name")) or _("none"),
        )
        self.message_post(body=message)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Amazon"),
                "message": message,
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
