# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Amazon seller account: its configuration, its setup, its one door to the SP-API
(``_get_sp_api_client``).

The entry points of the order and shipment synchronizations are in ``amazon_account_runs``;
the work of each synchronization lives with what it concerns: the run framework in
``amazon_sync_run``, the order sync in ``amazon_account_orders`` (with ``sale.order``,
``res.partner`` and ``amazon.offer``), shipments on ``stock.picking``, stock feeds on
``amazon.feed``, settlements on ``amazon.settlement``."""

import logging
import threading

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..amazon_sp import ClientConfig, SpApiClient, const
from ..amazon_sp.errors import SpApiError

_logger = logging.getLogger(__name__)

SYNC_ENABLED_PARAM = "sale_amazon_connector.sync_enabled"
CREDENTIAL_FIELDS = ("lwa_client_id", "lwa_client_secret", "refresh_token")
# Longest the order sync keeps an updated sale order locked before committing (users wait).
# Read at run time by the order sync (benchmarks override it here).
SYNC_COMMIT_SECONDS = 1.0


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
        copy=False,
    )  # help: amazon_account_security, with the rules of the hosts accepted
    lwa_endpoint = fields.Char(
        string="LWA Token Endpoint",
        groups="base.group_system",
        copy=False,
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
    orders_window_holds = fields.Integer(
        string="Window Held (runs)",
        copy=False,
        readonly=True,
        help="Runs in a row that kept the synchronization window in place because Amazon "
        "sent an order without a reference.",
    )

    # --- Order synchronization: configuration ------------------------------------------------
    orders_api_version = fields.Selection(
        [("v2026", "Orders API 2026-01-01"), ("v0", "Orders API v0 (fallback)")],
        string="Orders API",
        default="v2026",
        required=True,
        help="Orders API 2026-01-01 fetches orders with their items in one call. Use v0 only "
        "as a fallback: Amazon retires its order reads on 2027-03-27.",
    )
    default_product_id = fields.Many2one(
        "product.product",
        default=lambda self: self._default_amazon_product("product_amazon_sale"),
        help="Product of order lines whose SKU matches no product's internal reference. "
        "Remap the offer to the right product to fix future orders.",
    )
    shipping_product_id = fields.Many2one(
        "product.product",
        default=lambda self: self._default_amazon_product("product_amazon_shipping"),
        help="Product of the shipping lines (and shipping discounts) of Amazon orders.",
    )
    gift_wrap_product_id = fields.Many2one(
        "product.product",
        string="Gift Wrapping Product",
        default=lambda self: self._default_amazon_product("product_amazon_gift_wrap"),
    )
    promotion_product_id = fields.Many2one(
        "product.product",
        default=lambda self: self._default_amazon_product("product_amazon_promotion"),
        help="Product of the discount lines of Amazon promotions.",
    )
    offer_ids = fields.One2many("amazon.offer", "account_id", string="Offers")
    order_failure_ids = fields.One2many(
        "amazon.order.failure",
        "account_id",
        string="Order Failures",
        domain=[("state", "=", "open")],
    )
    sync_run_ids = fields.One2many("amazon.sync.run", "account_id", string="Sync History")
    offer_count = fields.Integer(compute="_compute_amazon_counts")
    order_failure_count = fields.Integer(compute="_compute_amazon_counts")
    sync_run_count = fields.Integer(compute="_compute_amazon_counts")
    sale_order_count = fields.Integer(compute="_compute_amazon_counts")

    # --- Accounting: payouts, fees and settlements --------------------------------------------
    journal_id = fields.Many2one(
        "account.journal",
        string="Payout Journal",
        domain="[('type', '=', 'bank'), ('company_id', '=', company_id)]",
        tracking=True,
        help="Bank journal of Amazon's payouts. Defaults to the company's \"Amazon Payments\" "
        "journal (created with the first account once the company has a chart of accounts).",
    )
    fee_product_id = fields.Many2one(
        "product.product",
        string="Default Fee Product",
        default=lambda self: self._default_amazon_product("product_amazon_fees"),
        help="Product of the fee bill lines whose Amazon fee type has no mapping.",
    )
    fee_mapping_ids = fields.One2many(
        "amazon.fee.mapping", "amazon_account_id", string="Fee Mappings", copy=True
    )
    settlement_ids = fields.One2many("amazon.settlement", "account_id", string="Settlements")
    settlement_count = fields.Integer(compute="_compute_amazon_counts")
    settlement_lookback_days = fields.Integer(
        string="Settlement Look-back (days)",
        default=90,
        help="Settlement groups opened in the last N days are read on each import; the ones "
        "already imported are skipped.",
    )

    # --- Constraints --------------------------------------------------------------------------
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

    @api.constrains("seller_id", "active_marketplace_ids", "active", "company_id")
    def _check_seller_marketplace_overlap(self):
        """One seller's marketplace is synchronized by one active account only, whatever
        the company: two records would import its orders twice."""
        for account in self.filtered(
            lambda a: a.active and a.seller_id and a.active_marketplace_ids
        ):
            others = (
                self.sudo()
                .with_context(active_test=True)
                .search(
                    [
                        ("id", "!=", account.id),
                        ("seller_id", "=", account.seller_id),
                        ("active_marketplace_ids", "in", account.active_marketplace_ids.ids),
                    ]
                )
            )
            for other in others:
                shared = account.active_marketplace_ids & other.sudo().active_marketplace_ids
                if not self._amazon_visible(other):
                    # Another company's account: say that it exists, not whose it is.
                    raise ValidationError(
                        _(
                            "Marketplace(s) %(marketplaces)s of seller %(seller)s are already "
                            "synchronized by another Amazon account, of a company you cannot "
                            "access. Each marketplace of a seller is synchronized by one "
                            "account only: ask an administrator.",
                            marketplaces=", ".join(shared.mapped("name")),
                            seller=account.seller_id,
                        )
                    )
                raise ValidationError(
                    _(
                        "Marketplace(s) %(marketplaces)s of seller %(seller)s are already "
                        "synchronized by the Amazon account %(other)s (company %(company)s). "
                        "Each marketplace of a seller is synchronized by one account only: "
                        "remove them from one of the two accounts.",
                        marketplaces=", ".join(shared.mapped("name")),
                        seller=account.seller_id,
                        other=other.name,
                        company=other.company_id.name,
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
        if not vals.get("journal_id"):
            vals["journal_id"] = company._amazon_get_journal().id or False
        return vals

    # --- Settings -----------------------------------------------------------------------------
    @api.model
    def _is_sync_enabled(self):
        """Whether the "Amazon Sync" setting is on (default: on)."""
        value = self.env["ir.config_parameter"].sudo().get_param(SYNC_ENABLED_PARAM, "True")
        return value.strip().lower() not in ("false", "0", "")

    def _amazon_in_test_mode(self):
        """Whether this runs inside Odoo's tests, where everything is one transaction: no
        commit, and the sync lock is the transaction's."""
        return getattr(threading.current_thread(), "testing", False) or (
            self.env.registry.in_test_mode()
        )

    def _amazon_commit(self):
        """Commit the sync's progress, except inside tests (which run in one transaction)."""
        if not self._amazon_in_test_mode():
            # Deliberate, like Odoo's own batch crons: a page synced stays synced when a
            # later page fails or the process dies (see _sync_orders).
            self.env.cr.commit()  # pylint: disable=invalid-commit

    # --- SP-API -------------------------------------------------------------------------------
    def _get_sp_api_client(self):
        """Return an ``amazon_sp.SpApiClient`` configured for this account.

        The credentials are read with sudo(): callers need not be administrators. They are
        handed to the client only; never log them. Use it as a context manager.
        """
        self.ensure_one()
        account = self.sudo()
        account._check_endpoints()  # again: the sandbox parameter may have been turned off
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
            # Technical: callers (tests, the campaigns) may lower timeouts and retries.
            **self._amazon_client_options(),
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
        # Before anything reaches Amazon: only who may edit the account may test it.
        self.check_access_rights("write")
        self.check_access_rule("write")
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

    @api.model
    def _default_amazon_product(self, xmlid):
        template = self.env.ref(f"sale_amazon_connector.{xmlid}", raise_if_not_found=False)
        return template.product_variant_id if template else False

    def _compute_amazon_counts(self):
        counters = (
            ("offer_count", "amazon.offer", "account_id", []),
            ("order_failure_count", "amazon.order.failure", "account_id", [("state", "=", "open")]),
            ("sync_run_count", "amazon.sync.run", "account_id", []),
            ("sale_order_count", "sale.order", "amazon_account_id", []),
            ("settlement_count", "amazon.settlement", "account_id", []),
        )
        for fname, model, link, domain in counters:
            groups = self.env[model]._read_group(
                [(link, "in", self.ids), *domain], [link], ["__count"]
            )
            by_account = {account.id: count for account, count in groups}
            for account in self:
                account[fname] = by_account.get(account.id, 0)

    def action_open_recover_order(self):
        return self._amazon_open_wizard("amazon.recover.order", _("Recover Order"))

    def _amazon_open_wizard(self, model, name):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "view_mode": "form",
            "target": "new",
            "context": {"default_account_id": self.id},
        }

    # --- Smart buttons ------------------------------------------------------------------------
    def _amazon_action(self, model, name, domain, context=None):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "view_mode": "tree,form",
            "domain": domain,
            "context": context or {},
        }

    def action_view_sale_orders(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action["domain"] = [("amazon_account_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    def action_view_offers(self):
        return self._amazon_action(
            "amazon.offer",
            _("Offers"),
            [("account_id", "=", self.id)],
            {"default_account_id": self.id},
        )

    def action_view_order_failures(self):
        return self._amazon_action(
            "amazon.order.failure",
            _("Failed Orders"),
            [("account_id", "=", self.id)],
            {"search_default_open": 1, "create": False},
        )

    def action_view_sync_runs(self):
        return self._amazon_action(
            "amazon.sync.run", _("Sync History"), [("account_id", "=", self.id)], {"create": False}
        )
