# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import hashlib
import logging
import re
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from psycopg2 import errors as pg_errors

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import html2plaintext

from ..amazon_sp import ClientConfig, SpApiClient, amounts, const, parse_order, parse_order_v0
from ..amazon_sp import errors as amazon_errors
from ..amazon_sp import listings as amazon_listings
from ..amazon_sp import shipments as amazon_shipments
from ..amazon_sp.errors import SpApiError

_logger = logging.getLogger(__name__)

SYNC_ENABLED_PARAM = "sale_amazon_connector.sync_enabled"
CREDENTIAL_FIELDS = ("lwa_client_id", "lwa_client_secret", "refresh_token")
# Advisory lock namespaces (first key of pg_try_advisory_lock) of the syncs of one account.
SYNC_LOCK_KEYS = {"orders": 0x414D5A01, "pickings": 0x414D5A02, "stock": 0x414D5A03}
# Longest the order sync keeps an updated sale order locked before committing (users wait).
SYNC_COMMIT_SECONDS = 1.0
# Runs in a row that re-read the window for an order Amazon sent without a reference before
# the window moves on (Amazon sends the same unreadable order again and again).
UNIDENTIFIED_HOLD_RUNS = 3
# Another transaction changed (or holds) a sale order the sync updates: the order is applied
# again after a commit (a fresh snapshot), this many times, before it is left for next run.
CONFLICT_ERRORS = (
    pg_errors.SerializationFailure,
    pg_errors.LockNotAvailable,
    pg_errors.DeadlockDetected,
)
CONFLICT_RETRIES = 3


@dataclass
class SyncOutcome:
    """What one sync run did (returned by ``_sync_orders``)."""

    counts: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)  # run-level errors (Amazon unreachable...)
    failures: list = field(default_factory=list)  # "ref: reason" of the orders that failed
    seen_refs: set = field(default_factory=set)
    api_calls: int = 0
    throttled: int = 0
    started: float = field(default_factory=time.monotonic)
    caches: dict = field(default_factory=dict)  # countries and states, across pages


class PageContext:
    """Lookups of one page of orders, made in bulk before the orders are applied.

    Partners created while applying an order stay pending until the order's savepoint
    succeeds: a rolled-back order must not leave a dangling partner in the cache."""

    def __init__(self, caches):
        self.existing = {}
        self.failures = {}
        self.marketplaces = {}
        self.offers = {}
        self.partners = {}
        self.pending_partners = {}
        self._caches = caches

    def keep_pending(self):
        self.partners.update(self.pending_partners)
        self.pending_partners.clear()

    def discard_pending(self):
        self.pending_partners.clear()

    def country(self, env, code):
        countries = self._caches.setdefault("countries", {})
        if code not in countries:
            countries[code] = (
                env["res.country"].search([("code", "=", code.upper())], limit=1)
                if code
                else env["res.country"]
            )
        return countries[code]

    def state(self, env, country, name):
        if not country or not name:
            return env["res.country.state"]
        states = self._caches.setdefault("states", {})
        key = (country.id, name.strip().lower())
        if key not in states:
            states[key] = env["res.country.state"].search(
                [
                    ("country_id", "=", country.id),
                    "|",
                    ("code", "=ilike", name.strip()),
                    ("name", "=ilike", name.strip()),
                ],
                limit=1,
            )
        return states[key]


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
        if not vals.get("journal_id"):
            vals["journal_id"] = company._amazon_get_journal().id or False
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
            # Technical: callers (tests, the campaigns) may bound timeouts and retries.
            **self.env.context.get("amazon_client_options", {}),
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
        )
        for fname, model, link, domain in counters:
            groups = self.env[model]._read_group(
                [(link, "in", self.ids), *domain], [link], ["__count"]
            )
            by_account = {account.id: count for account, count in groups}
            for account in self:
                account[fname] = by_account.get(account.id, 0)

    # --- Order synchronization: entry points -----------------------------------------------
    def action_sync_orders(self):
        """Synchronize the orders of the accounts in ``self`` now (button and RPC)."""
        totals, messages = self._amazon_run_now("_sync_orders")
        message = _(
            "%(created)s created, %(updated)s updated, %(cancelled)s cancelled, %(failed)s failed.",
            created=totals["created"],
            updated=totals["updated"],
            cancelled=totals["cancelled"],
            failed=totals["failed"],
        )
        return self._amazon_run_notification(
            _("Amazon orders synchronized"), message, totals, messages
        )

    def _amazon_run_now(self, method):
        """Run one sync (``method``, e.g. ``"_sync_orders"``) of each account in ``self``
        for a user who may edit them; returns the summed counts and the run errors."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        totals, messages = Counter(), []
        for account in self:
            outcome = getattr(account, method)(trigger="manual")
            totals.update(outcome.counts)
            messages += outcome.errors
        return totals, messages

    def _amazon_run_notification(self, title, message, totals, messages):
        """The notification a sync button shows: what happened, and what went wrong."""
        if totals["busy"]:
            message += " " + _("A synchronization was already running for this account.")
        problems = bool(totals["failed"] or messages)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": "\n".join([message, *messages]),
                "type": "warning" if problems else "success",
                "sticky": problems,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _cron_sync_orders(self):
        if not self._is_sync_enabled():
            return
        for account in self.sudo().search([]):
            account._sync_orders(trigger="cron")

    def _sync_orders(self, trigger="manual"):
        """Pull the orders updated on Amazon since ``last_orders_sync`` and apply them.

        Each order is applied in its own savepoint; progress is committed page by page
        outside tests; ``last_orders_sync`` only moves to the end of the window that
        Amazon served once every order of it was synced or recorded as failed, so a
        crash at any point loses nothing and the next run re-reads the window.
        """
        self.ensure_one()
        account = self._amazon_sync_env()
        outcome = SyncOutcome()
        with account._amazon_sync_lock("orders") as locked:
            if not locked:
                _logger.info(
                    "Amazon account %s: an order sync is already running; this one exits.",
                    account.id,
                )
                outcome.counts["busy"] += 1
                return outcome
            run = account._amazon_start_run("orders", trigger)
            # On an Amazon error what was synced stays synced and the window does not
            # advance, so the next run starts where this one did.
            with account._amazon_api_session("order", outcome) as client:
                account._amazon_pull_orders(client, outcome)
                account._amazon_retry_failed_orders(client, outcome)
            account._amazon_notify_new_failures()
            account._amazon_finish_run(run, outcome)
        return outcome

    @contextmanager
    def _amazon_api_session(self, kind, outcome, connect=True):
        """The SP-API client of one sync run (None when ``connect`` is false).

        An Amazon error, or an account not usable yet (UserError), ends the work inside
        the block: the reason goes to ``outcome.errors`` (the run record and the caller
        show it) instead of escaping, and the client's call counts go to ``outcome``."""
        client = None
        try:
            if connect:
                client = self._get_sp_api_client()
            yield client
        except (amazon_errors.SpApiError, UserError) as exc:
            error = exc.args[0] if isinstance(exc, UserError) else str(exc)
            _logger.warning("Amazon account %s: %s sync interrupted: %s", self.id, kind, error)
            outcome.errors.append(error)
        finally:
            if client is not None:
                outcome.api_calls = client.stats.calls
                outcome.throttled = client.stats.throttled
                client.close()

    def _amazon_sync_env(self):
        """The account as the sync uses it: superuser in the account's company, no
        tracking noise, and the marker that keeps Amazon buyers from being e-mailed."""
        return (
            self.sudo()
            .with_company(self.company_id)
            .with_context(amazon_sync=True, tracking_disable=True, mail_create_nosubscribe=True)
        )

    @contextmanager
    def _amazon_sync_lock(self, kind):
        """Hold a PostgreSQL advisory lock on (kind, account) for the whole sync, taken
        without waiting. It lives on a dedicated connection, so it survives the page
        commits of the sync's own cursor, and dies with the process if that crashes.
        Tests run in one transaction: there the lock is the transaction's."""
        self.ensure_one()
        key = (SYNC_LOCK_KEYS[kind], self.id)
        if self.env.registry.in_test_mode():
            self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", key)
            yield self.env.cr.fetchone()[0]
            return
        with self.env.registry.cursor() as lock_cr:
            lock_cr.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            locked = lock_cr.fetchone()[0]
            lock_cr.commit()
            try:
                yield locked
            finally:
                if locked:
                    lock_cr.execute("SELECT pg_advisory_unlock(%s, %s)", key)

    def _amazon_commit(self):
        """Commit the sync's progress, except inside tests (which run in one transaction)."""
        if not getattr(threading.current_thread(), "testing", False):
            # Deliberate, like Odoo's own batch crons: a page synced stays synced when a
            # later page fails or the process dies (see _sync_orders).
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _amazon_start_run(self, kind, trigger):
        # The lock is ours from here on, but this transaction's snapshot may predate it
        # (the cron searched the accounts, the button checked access): writing rows the
        # previous lock holder updated since would fail to serialize. Start afresh.
        self._amazon_commit()
        self.env.invalidate_all()
        self._amazon_close_dead_runs(kind)
        run = self.env["amazon.sync.run"].create(
            {"account_id": self.id, "kind": kind, "trigger": trigger}
        )
        self._amazon_commit()
        return run

    def _amazon_finish_run(self, run, outcome):
        counts = outcome.counts
        run.write(
            {
                "state": "error" if outcome.errors else "done",
                "duration": time.monotonic() - outcome.started,
                "created_count": counts["created"],
                "updated_count": counts["updated"],
                "cancelled_count": counts["cancelled"],
                "failed_count": counts["failed"],
                "skipped_count": counts["skipped"],
                "api_calls": outcome.api_calls,
                "throttled_count": outcome.throttled,
                "error_summary": "\n".join(outcome.errors + outcome.failures) or False,
            }
        )
        self._amazon_commit()

    # --- Order synchronization: pulling ----------------------------------------------------
    def _amazon_pull_orders(self, client, outcome):
        marketplace_refs = self.active_marketplace_ids.mapped("api_ref")
        if not marketplace_refs:
            raise UserError(
                _("Account %(account)s has no marketplace to synchronize.", account=self.name)
            )
        if self.orders_api_version == "v0":
            pages = client.search_orders_v0(
                last_updated_after=self.last_orders_sync, marketplace_ids=marketplace_refs
            )
            parser = parse_order_v0
        else:
            pages = client.search_orders(
                last_updated_after=self.last_orders_sync,
                marketplace_ids=marketplace_refs,
                fulfillment_statuses=const.SEARCH_STATUSES,
            )
            parser = parse_order
        window_end = None
        seen = 0
        for page in pages:
            # Apply on a snapshot taken now, not before Amazon answered (an LWA token and
            # 429 retries can take seconds): fewer changes made meanwhile by users to meet.
            self._amazon_commit()
            self._amazon_apply_orders(page.raw_orders, parser, outcome)
            seen += len(page.raw_orders)
            window_end = page.window_end or window_end
            self._amazon_commit()
            _logger.info(
                "Amazon account %s: page %s done, %s orders so far (%s created, %s failed).",
                self.id,
                page.number,
                seen,
                outcome.counts["created"],
                outcome.counts["failed"],
            )
        if outcome.counts["unidentified"]:
            # An order without reference cannot be fetched again by itself: keep the window
            # so that the next runs read it again instead of losing it, but not forever: the
            # same unreadable order would hold the account back and every run would re-read
            # a growing window. The failure stays open for the seller to check.
            holds = self.orders_window_holds + 1
            if holds <= UNIDENTIFIED_HOLD_RUNS:
                window_end = None
                self.orders_window_holds = holds
            else:
                self._amazon_release_window()
        elif self.orders_window_holds:
            self.orders_window_holds = 0
        if window_end and window_end > self.last_orders_sync:
            self.last_orders_sync = window_end
        self._amazon_commit()

    def _amazon_release_window(self):
        """The window moves on past an order without reference: say so on its failure."""
        self.orders_window_holds = 0
        failure = self.env["amazon.order.failure"].search(
            [("account_id", "=", self.id), ("order_ref", "=", _("<unknown>"))], limit=1
        )
        failure.error = _(
            "%(error)s\nAfter %(runs)s runs reading it again, the synchronization window moved "
            "on so that newer orders keep coming. Find this order in Seller Central and create "
            "it with Recover Order once Amazon shows its reference.",
            error=failure.error,
            runs=UNIDENTIFIED_HOLD_RUNS,
        )

    def _amazon_retry_failed_orders(self, client, outcome):
        """Fetch again, one by one, the orders that failed in earlier runs."""
        failures = self.env["amazon.order.failure"].search(
            [
                ("account_id", "=", self.id),
                ("state", "=", "open"),
                ("order_ref", "not in", list(outcome.seen_refs)),
            ]
        )
        for failure in failures:
            if not re.match(const.ORDER_REF_PATTERN, failure.order_ref or ""):
                continue
            raw = self._amazon_fetch_order(client, failure.order_ref, outcome)
            if raw is not None:
                self._amazon_apply_orders([raw], self._amazon_parser(), outcome)
                self._amazon_commit()

    def _amazon_parser(self):
        return parse_order_v0 if self.orders_api_version == "v0" else parse_order

    def _amazon_fetch_order(self, client, order_ref, outcome):
        """One order from Amazon by reference, or None (recorded as a failure)."""
        try:
            if self.orders_api_version == "v0":
                return client.get_order_v0(order_ref)
            return client.get_order(order_ref)
        except amazon_errors.SpApiNotFoundError:
            self._amazon_order_failed(
                order_ref, _("Amazon does not know this order reference."), outcome
            )
        return None

    # --- Order synchronization: applying ---------------------------------------------------
    def _amazon_apply_orders(self, raw_orders, parser, outcome):
        """Apply one page of Amazon orders; one bad order never stops the others."""
        orders = []
        for raw in raw_orders:
            try:
                order = parser(self._amazon_clean_raw(raw))
            except amazon_errors.OrderParseError as exc:
                if exc.order_id in (None, "<unknown>"):
                    self._amazon_unidentified_order(exc, outcome)
                    continue
                self._amazon_order_failed(exc.order_id, str(exc), outcome)
                continue
            orders.append(order)
        if not orders:
            return
        conflicts = self._amazon_apply_parsed(orders, outcome)
        for attempt in range(CONFLICT_RETRIES):
            if not conflicts:
                return
            # A user (validating a delivery) or another process changed these sale orders
            # after this transaction's snapshot: commit, so that a new snapshot sees their
            # change, and apply Amazon's update on top of it.
            self._amazon_commit()
            time.sleep(0.2 * 2**attempt)
            conflicts = self._amazon_apply_parsed(conflicts, outcome)
        for order in conflicts:
            self._amazon_order_failed(
                order.order_id,
                _(
                    "Another user or process kept changing this sale order while Amazon's "
                    "update was being applied; the next synchronization applies it."
                ),
                outcome,
                notify=False,
            )

    def _amazon_apply_parsed(self, orders, outcome):
        """Apply parsed orders, each in its own savepoint; returns those that ran into a
        concurrent change of their sale order (nothing of them was applied)."""
        ctx = self._amazon_page_context(orders, outcome)
        conflicts = []
        locked_since = None
        for order in orders:
            # A sale order the sync updates stays locked until its transaction ends, and a
            # user editing it must not wait for a whole page (100 orders): commit within
            # SYNC_COMMIT_SECONDS of the first such update. New orders lock nothing users
            # can see, so a page of creations stays one transaction (each commit empties
            # the ORM cache, which costs re-reads). Safe at any point: the window only
            # advances once every page is done.
            if locked_since is not None and time.monotonic() - locked_since >= SYNC_COMMIT_SECONDS:
                self._amazon_commit()
                locked_since = None
            outcome.seen_refs.add(order.order_id)
            started = time.monotonic()
            existing = ctx.existing.get(order.order_id)
            try:
                with self.env.cr.savepoint():
                    if existing:
                        self._amazon_lock_sale_order(existing)
                    result = self._amazon_apply_order(order, ctx)
            except CONFLICT_ERRORS:
                ctx.discard_pending()
                conflicts.append(order)
                continue
            except Exception as exc:  # noqa: BLE001 - any error of one order is recorded
                ctx.discard_pending()
                message = exc.args[0] if isinstance(exc, UserError) and exc.args else str(exc)
                _logger.warning(
                    "Amazon account %s: order %s failed: %s",
                    self.id,
                    order.order_id,
                    type(exc).__name__,
                )
                self._amazon_order_failed(order.order_id, message, outcome)
                continue
            ctx.keep_pending()
            outcome.counts[result] += 1
            if existing and locked_since is None:
                locked_since = started
            failure = ctx.failures.get(order.order_id)
            if failure:
                failure.state = "resolved"
        if conflicts:
            _logger.info(
                "Amazon account %s: %s order(s) met a concurrent change of their sale order.",
                self.id,
                len(conflicts),
            )
        return conflicts

    def _amazon_lock_sale_order(self, sale_order):
        """Lock what the sync may update of an existing sale order (the order, its lines,
        its deliveries and their moves), without waiting: a row another transaction holds
        or changed since this one's snapshot (a delivery validated meanwhile updates all
        four) raises one of CONFLICT_ERRORS here, quietly, instead of a failed UPDATE
        logged as an error at flush time."""
        for query in (
            "SELECT 1 FROM sale_order WHERE id = %s FOR NO KEY UPDATE NOWAIT",
            "SELECT 1 FROM sale_order_line WHERE order_id = %s FOR NO KEY UPDATE NOWAIT",
            "SELECT 1 FROM stock_picking WHERE sale_id = %s FOR NO KEY UPDATE NOWAIT",
            """SELECT 1 FROM stock_move WHERE sale_line_id IN (
                   SELECT id FROM sale_order_line WHERE order_id = %s
               ) FOR NO KEY UPDATE NOWAIT""",
        ):
            self.env.cr.execute(query, [sale_order.id], log_exceptions=False)

    def _amazon_order_failed(self, order_ref, message, outcome, notify=True):
        failure = self.env["amazon.order.failure"]._record(self, order_ref, message)
        if not notify:  # transient: no e-mail to the salesperson
            failure.notified = True
        outcome.counts["failed"] += 1
        outcome.failures.append(f"{order_ref}: {message}")

    def _amazon_page_context(self, orders, outcome):
        """Everything one page needs, looked up in a handful of queries."""
        refs = [order.order_id for order in orders]
        ctx = PageContext(outcome.caches)
        ctx.existing = {
            so.amazon_order_ref: so
            for so in self.env["sale.order"].search(
                [("amazon_account_id", "=", self.id), ("amazon_order_ref", "in", refs)]
            )
        }
        ctx.failures = {
            failure.order_ref: failure
            for failure in self.env["amazon.order.failure"].search(
                [
                    ("account_id", "=", self.id),
                    ("order_ref", "in", refs),
                    ("state", "=", "open"),
                ]
            )
        }
        ctx.marketplaces = {mp.api_ref: mp for mp in self.active_marketplace_ids}
        new_orders = [order for order in orders if order.order_id not in ctx.existing]
        ctx.offers = self._amazon_get_offers(new_orders, ctx.marketplaces)
        keys = {self._amazon_buyer_key(order) for order in new_orders} - {None}
        if keys:
            partners = self.env["res.partner"].search(
                [("amazon_buyer_key", "in", list(keys)), ("parent_id", "=", False)]
            )
            ctx.partners = {partner.amazon_buyer_key: partner for partner in partners}
        return ctx

    def _amazon_get_offers(self, orders, marketplaces):
        """Offers of every (marketplace, SKU) of ``orders``; missing ones are created,
        matched to products by internal reference, else to the default product."""
        wanted = {
            (order.marketplace_id, item.sku)
            for order in orders
            for item in order.items
            if item.sku and order.marketplace_id in marketplaces
        }
        channels = {
            (order.marketplace_id, item.sku): "fba" if order.channel == const.CHANNEL_AFN else "fbm"
            for order in orders
            for item in order.items
        }
        if not wanted:
            return {}
        skus = list({sku for _mp, sku in wanted})
        offers = self.env["amazon.offer"].search(
            [("account_id", "=", self.id), ("sku", "in", skus)]
        )
        found = {(offer.marketplace_id.api_ref, offer.sku): offer for offer in offers}
        for key, offer in found.items():
            if not offer.fulfillment_channel and key in channels:
                offer.fulfillment_channel = channels[key]
        missing = wanted - set(found)
        if missing:
            products = self.env["product.product"].search(
                [
                    ("default_code", "in", list({sku for _mp, sku in missing})),
                    ("company_id", "in", (False, self.company_id.id)),
                ]
            )
            by_code = {}
            for product in products:
                by_code.setdefault(product.default_code, product)
            default = self.default_product_id or self._default_amazon_product("product_amazon_sale")
            created = self.env["amazon.offer"].create(
                [
                    {
                        "account_id": self.id,
                        "marketplace_id": marketplaces[mp_ref].id,
                        "sku": sku,
                        "product_id": by_code.get(sku, default).id,
                        "fulfillment_channel": channels[(mp_ref, sku)],
                    }
                    for mp_ref, sku in sorted(missing)
                ]
            )
            found.update({(offer.marketplace_id.api_ref, offer.sku): offer for offer in created})
        return found

    def _amazon_apply_order(self, order, ctx):
        """Create or update the sale order of one Amazon order; returns the outcome key."""
        sale_order = ctx.existing.get(order.order_id)
        if sale_order:
            return self._amazon_update_order(sale_order, order)
        if order.status not in const.SYNC_STATUSES.get(order.channel, ()):
            # Not ready yet (e.g. Pending), or cancelled before we ever saw it.
            return "skipped"
        if order.status == const.STATUS_CANCELLED:
            return "skipped"
        sale_order = self._amazon_create_order(order, ctx)
        ctx.existing[order.order_id] = sale_order
        return "created"

    # --- Order synchronization: creating ---------------------------------------------------
    def _amazon_create_order(self, order, ctx):
        marketplace = ctx.marketplaces.get(order.marketplace_id)
        if not marketplace:
            raise UserError(
                _(
                    "The order comes from marketplace %(marketplace)s, which is not synchronized "
                    "by account %(account)s.",
                    marketplace=order.marketplace_id or _("(none)"),
                    account=self.name,
                )
            )
        currency = self._amazon_currency(order, marketplace, ctx)
        if not order.items:
            raise UserError(_("Amazon sent the order without any item."))
        item_ids = [item.item_id for item in order.items]
        if len(set(item_ids)) != len(item_ids):
            raise UserError(_("Amazon sent the same order item twice in this order."))
        partner, shipping = self._amazon_get_customer(order, ctx)
        fiscal_position = self.env["account.fiscal.position"]._get_fiscal_position(
            partner, delivery=shipping
        )
        lines, expected = self._amazon_prepare_lines(
            order, marketplace, currency, fiscal_position, ctx
        )
        sale_order = self.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "partner_invoice_id": partner.id,
                "partner_shipping_id": shipping.id,
                "company_id": self.company_id.id,
                "user_id": self.user_id.id,
                "team_id": self.team_id.id,
                "pricelist_id": self._amazon_pricelist(currency, ctx).id,
                "fiscal_position_id": fiscal_position.id,
                "client_order_ref": order.order_id,
                "origin": _("Amazon %(ref)s", ref=order.order_id),
                "date_order": order.purchase_date,
                "amazon_order_ref": order.order_id,
                "amazon_account_id": self.id,
                "amazon_marketplace_id": marketplace.id,
                "amazon_channel": "fba" if order.channel == const.CHANNEL_AFN else "fbm",
                "amazon_status": order.status,
                "amazon_last_update": order.last_update_date,
                "amazon_is_business": order.is_business,
                # Set here rather than written after the totals: one UPDATE less per order.
                "amazon_total": float(order.total if order.total is not None else expected),
                "order_line": [Command.create(vals) for vals in lines],
            }
        )
        self._amazon_match_total(sale_order, expected, order)
        sale_order.action_confirm()
        # Confirmation stamps "now"; the order date is the buyer's purchase date.
        sale_order.date_order = order.purchase_date
        if sale_order.amazon_channel == "fba":
            self._amazon_create_fba_moves(sale_order, order)
        self._amazon_after_create_order(sale_order, order)
        return sale_order

    def _amazon_currency(self, order, marketplace, ctx=None):
        code = order.currency or marketplace.currency_id.name
        # Looked up once per sync run (not per order); activity is checked on every order.
        currencies = ctx._caches.setdefault("currencies", {}) if ctx else {}
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

    def _amazon_pricelist(self, currency, ctx=None):
        Pricelist = self.env["product.pricelist"]
        # Existing pricelists are cached for the run; one created here is not (the order's
        # savepoint may roll it back): the next order finds it and caches it.
        pricelists = ctx._caches.setdefault("pricelists", {}) if ctx else {}
        pricelist = pricelists.get(currency.id) or Pricelist.search(
            [
                ("currency_id", "=", currency.id),
                ("company_id", "in", (False, self.company_id.id)),
            ],
            limit=1,
        )
        if pricelist:
            pricelists[currency.id] = pricelist
        return pricelist or Pricelist.create(
            {
                "name": _("Amazon (%(currency)s)", currency=currency.name),
                "currency_id": currency.id,
                "company_id": self.company_id.id,
            }
        )

    def _amazon_buyer_key(self, order):
        """A one-way key naming a buyer of this account, or None when Amazon gave
        nothing to recognize the buyer by. Amazon's anonymized e-mail is stable per
        buyer; failing that, name + postal code + country."""
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
        return hashlib.sha256(f"{self.id}|{identity}".encode()).hexdigest()

    def _amazon_get_customer(self, order, ctx):
        """The buyer's contact (reused or created) and the delivery address."""
        key = self._amazon_buyer_key(order)
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
                "company_id": self.company_id.id,
                "customer_rank": 1,
                "amazon_buyer_key": key,
                **self._amazon_address_vals(address, ctx),
            }
            vat = self._amazon_buyer_vat(order)
            if vat:
                vals["vat"] = vat
            partner = self.env["res.partner"].create(vals)
            if key:
                ctx.pending_partners[key] = partner
        if not address or not (address.line1 or address.city or address.postal_code):
            return partner, partner
        shipping = self._amazon_get_delivery_address(partner, address, ctx)
        return partner, shipping

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

    def _amazon_get_delivery_address(self, partner, address, ctx):
        vals = {
            "name": address.name or partner.name,
            "type": "delivery",
            "parent_id": partner.id,
            "company_id": self.company_id.id,
            **self._amazon_address_vals(address, ctx),
        }
        if address.company_name:
            vals["name"] = f"{vals['name']}, {address.company_name}"
        compared = ("name", "street", "street2", "city", "zip", "country_id")
        for child in partner.child_ids:
            if child.type == "delivery" and all(
                (child[f].id if f == "country_id" else child[f]) == vals[f] for f in compared
            ):
                return child
        return self.env["res.partner"].create(vals)

    def _amazon_buyer_vat(self, order):
        for registration in order.tax_registrations:
            if registration.entity_type == "BUYER" and registration.number:
                return registration.number
        return None

    def _amazon_prepare_lines(self, order, marketplace, currency, fiscal_position, ctx):
        """Sale order line values for ``order`` and the total Odoo should reach."""
        items = {item.item_id: item for item in order.items}
        products = {
            amounts.KIND_SHIPPING: self.shipping_product_id,
            amounts.KIND_SHIPPING_DISCOUNT: self.shipping_product_id,
            amounts.KIND_GIFT_WRAP: self.gift_wrap_product_id,
            amounts.KIND_PROMOTION: self.promotion_product_id,
        }
        digits = self.env["decimal.precision"].precision_get("Product Price")
        lines, expected = [], Decimal(0)
        for charge in amounts.order_charges(order):
            item = items.get(charge.item_id)
            offer = None
            if charge.kind == amounts.KIND_ITEM:
                offer = ctx.offers.get((order.marketplace_id, item.sku)) if item.sku else None
                product = offer.product_id if offer else self.default_product_id
                if charge.quantity <= 0:
                    continue
            else:
                product = products[charge.kind]
            if not product:
                raise UserError(
                    _(
                        "Account %(account)s has no product set for Amazon %(kind)s lines.",
                        account=self.name,
                        kind=charge.kind,
                    )
                )
            # Promotions carry the taxes of the product they discount.
            tax_source = product
            if charge.kind == amounts.KIND_PROMOTION and item:
                item_offer = ctx.offers.get((order.marketplace_id, item.sku)) if item.sku else None
                tax_source = item_offer.product_id if item_offer else self.default_product_id
            taxes = fiscal_position.map_tax(
                tax_source.taxes_id.filtered(lambda t: t.company_id == self.company_id)
            )
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
                    }
                )
        return lines, amounts.round_money(expected, currency.decimal_places)

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
            amounts.KIND_PROMOTION: _(
                "Promotion on %(item)s", item=(item and (item.sku or item.title)) or ""
            ),
        }
        return labels[charge.kind]

    def _amazon_match_total(self, sale_order, expected, order):
        """Record Amazon's total; where Odoo's taxes cannot reproduce what the buyer
        paid, state the difference on the order (field and chatter note)."""
        currency = sale_order.currency_id
        target = float(expected)
        amazon_total = float(order.total) if order.total is not None else target
        difference = currency.round(amazon_total - sale_order.amount_total)
        if sale_order.amazon_total != amazon_total:
            sale_order.amazon_total = amazon_total
        if not currency.is_zero(difference):
            sale_order.amazon_total_difference = difference
            sale_order.message_post(
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

    def _amazon_create_fba_moves(self, sale_order, order=None):
        """Goods Amazon shipped leave the account's Amazon location (see
        ``stock.move._amazon_create_fba_moves``); what cannot be moved yet (tracked
        products without lots) becomes an activity for the salesperson."""
        serials = {}
        if order is not None:
            by_item = {item.item_id: item.serial_numbers for item in order.items}
            serials = {
                line.id: by_item.get(line.amazon_item_ref) or ()
                for line in sale_order.order_line
                if line.amazon_item_ref
            }
        result = self.env["stock.move"]._amazon_create_fba_moves(
            sale_order, self.location_id, serials
        )
        for message in result.problems:
            self._amazon_flag(sale_order, message)
        return result

    # --- Order synchronization: updating ---------------------------------------------------
    def _amazon_update_order(self, sale_order, order):
        """Apply a newer Amazon state of an order already in Odoo."""
        if sale_order.amazon_last_update and order.last_update_date < sale_order.amazon_last_update:
            return "unchanged"
        result = "unchanged"
        if order.status == const.STATUS_CANCELLED and sale_order.state != "cancel":
            if sale_order._amazon_is_delivered():
                self._amazon_flag(
                    sale_order,
                    _(
                        "Amazon cancelled order %(ref)s, but its goods were already delivered "
                        "in Odoo: nothing was cancelled. Check the order and refund or return "
                        "it as needed.",
                        ref=order.order_id,
                    ),
                )
                result = "updated"
            else:
                sale_order._action_cancel()
                result = "cancelled"
        elif sale_order.state != "cancel":
            if self._amazon_apply_item_cancellations(sale_order, order):
                result = "updated"
            if (
                order.status == const.STATUS_SHIPPED
                and sale_order.amazon_channel == "fbm"
                and sale_order.picking_ids.filtered(
                    lambda p: (
                        p.state not in ("done", "cancel") and p.picking_type_code == "outgoing"
                    )
                )
            ):
                self._amazon_flag(
                    sale_order,
                    _(
                        "Amazon reports order %(ref)s as shipped, but its delivery is still open "
                        "in Odoo (shipped outside Odoo?). Nothing was validated: check the "
                        "delivery and validate or cancel it.",
                        ref=order.order_id,
                    ),
                )
        if sale_order.amazon_status != order.status:
            result = "updated" if result == "unchanged" else result
        sale_order.write(
            {"amazon_status": order.status, "amazon_last_update": order.last_update_date}
        )
        return result

    def _amazon_apply_item_cancellations(self, sale_order, order):
        """Reduce lines whose items Amazon partly cancelled (never below delivered)."""
        changed = False
        lines = {
            line.amazon_item_ref: line for line in sale_order.order_line if line.amazon_item_ref
        }
        for item in order.items:
            line = lines.get(item.item_id)
            if not line or not item.quantity_cancelled:
                continue
            wanted = max(item.quantity_ordered - item.quantity_cancelled, line.qty_delivered)
            if wanted < line.product_uom_qty:
                line.product_uom_qty = wanted
                changed = True
        return changed

    def _amazon_flag(self, sale_order, message):
        """Tell the salesperson, once per message, with an activity on the order."""
        if message in [
            html2plaintext(note or "") for note in sale_order.activity_ids.mapped("note")
        ]:
            return
        sale_order.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=_("Amazon order needs attention"),
            note=message,
            user_id=(self.user_id or self.env.user).id,
        )

    def _amazon_notify_new_failures(self):
        """One e-mail per run to the salesperson, listing the failures not yet told."""
        failures = self.env["amazon.order.failure"].search(
            [("account_id", "=", self.id), ("state", "=", "open"), ("notified", "=", False)]
        )
        if not failures or not self.user_id:
            return
        self._amazon_notify_salesperson(
            "sale_amazon_connector.order_failures_message",
            {"failures": failures},
            _("Amazon orders could not be synchronized (%(account)s)", account=self.name),
        )
        failures.notified = True

    def _amazon_notify_salesperson(self, template, values, subject):
        """E-mail the account's salesperson (a message on the account, so it stays in its
        chatter too), rendering the QWeb ``template`` with ``values`` and the account."""
        self.message_post(
            body=self.env["ir.qweb"]._render(template, {"account": self, **values}),
            subject=subject,
            partner_ids=self.user_id.partner_id.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )

    # --- Reliability (issue 8): input Amazon should never send, handled anyway -------------
    @api.model
    def _amazon_clean_raw(self, raw):
        """``raw`` without NUL characters, which PostgreSQL refuses in text: a buyer name
        carrying one must not make the order fail."""
        if isinstance(raw, str):
            return raw.replace("\x00", "") if "\x00" in raw else raw
        if isinstance(raw, dict):
            return {key: self._amazon_clean_raw(value) for key, value in raw.items()}
        if isinstance(raw, list):
            return [self._amazon_clean_raw(value) for value in raw]
        return raw

    def _amazon_unidentified_order(self, exc, outcome):
        """An order Amazon sent without a usable reference: record it and hold the window
        (see ``_amazon_pull_orders``)."""
        outcome.counts["unidentified"] += 1
        self._amazon_order_failed(
            _("<unknown>"),
            _(
                "Amazon sent an order without a valid order reference (%(problem)s). The "
                "synchronization window is kept for a few runs, so that they read it again.",
                problem=exc.problem,
            ),
            outcome,
        )

    def _amazon_close_dead_runs(self, kind):
        """Runs of this account still "running" while we hold its sync lock belong to a
        process that died (killed, out of memory, restarted): say so in the history."""
        dead = self.env["amazon.sync.run"].search(
            [("account_id", "=", self.id), ("kind", "=", kind), ("state", "=", "running")]
        )
        if dead:
            dead.write(
                {
                    "state": "error",
                    "error_summary": _(
                        "Interrupted: the Odoo process running this synchronization stopped "
                        "(restart, crash or kill). The next run took over; nothing is lost."
                    ),
                }
            )

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

    # --- Accounting: invoices, payouts, fees and settlements ---------------------------------
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
    settlement_count = fields.Integer(compute="_compute_settlement_count")
    settlement_lookback_days = fields.Integer(
        string="Settlement Look-back (days)",
        default=90,
        help="Settlement groups opened in the last N days are read on each import; the ones "
        "already imported are skipped.",
    )

    def _compute_settlement_count(self):
        groups = self.env["amazon.settlement"]._read_group(
            [("account_id", "in", self.ids)], ["account_id"], ["__count"]
        )
        counts = {account.id: count for account, count in groups}
        for account in self:
            account.settlement_count = counts.get(account.id, 0)

    def _amazon_payout_journal(self):
        """The journal payouts are registered in (created on first use if need be)."""
        self.ensure_one()
        journal = self.journal_id or self.company_id._amazon_get_journal()
        if not journal:
            raise UserError(
                _(
                    "Install a chart of accounts for %(company)s first: the Amazon Payments "
                    "journal needs one.",
                    company=self.company_id.name,
                )
            )
        if not self.journal_id:
            self.sudo().journal_id = journal
        return journal

    def _amazon_after_create_order(self, sale_order, order):
        """Called at the end of ``_amazon_create_order`` (extension point)."""
        sale_order._amazon_remind_missing_vat()

    def action_view_settlements(self):
        return self._amazon_action(
            "amazon.settlement",
            _("Settlements"),
            [("account_id", "=", self.id)],
            {"create": False},
        )

    def action_register_payout(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Register Amazon Payout"),
            "res_model": "amazon.payout.register",
            "view_mode": "form",
            "target": "new",
            "context": {"default_account_id": self.id},
        }

    def action_import_settlements(self):
        self.check_access_rights("write")
        self.check_access_rule("write")
        imported = self.env["amazon.settlement"]
        for account in self:
            imported |= account._import_settlements()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Amazon settlements"),
                "message": _("%(count)s settlement(s) imported.", count=len(imported)),
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _cron_import_settlements(self):
        if not self._is_sync_enabled():
            return
        for account in self.sudo().search([]):
            try:
                account._import_settlements()
            except UserError as error:
                _logger.warning(
                    "Amazon account %s: settlement import failed: %s", account.id, error
                )

    def _import_settlements(self):
        """Import the closed financial event groups not imported yet; one savepoint each.

        :return: the settlements created
        """
        self.ensure_one()
        Settlement = self.env["amazon.settlement"]
        since = fields.Datetime.now() - timedelta(days=max(self.settlement_lookback_days, 1))
        created = Settlement
        try:
            with self._get_sp_api_client() as client:
                groups = client.list_financial_event_groups(started_after=since)
                known = set(
                    Settlement.search(
                        [
                            ("account_id", "=", self.id),
                            ("group_ref", "in", [g.group_id for g in groups]),
                        ]
                    ).mapped("group_ref")
                )
                for group in groups:
                    if not group.is_closed or group.group_id in known:
                        continue
                    events = client.list_financial_events_by_group_id(group.group_id)
                    with self.env.cr.savepoint():
                        created |= Settlement._amazon_create_from_group(self, group, events)
        except SpApiError as error:
            raise UserError(
                _(
                    "Amazon settlements of %(account)s could not be read:\n%(error)s",
                    account=self.name,
                    error=str(error),
                )
            ) from error
        return created

    def _amazon_fee_product(self, fee_type):
        """(product, expense account or empty) of one Amazon fee type."""
        mapping = self.fee_mapping_ids.filtered(lambda m: m.fee_type == fee_type)[:1]
        product = mapping.product_id or self.fee_product_id
        if not product:
            raise UserError(
                _(
                    "Set a default fee product on the Amazon account %(account)s (fee type "
                    "%(fee)s has no mapping).",
                    account=self.name,
                    fee=fee_type,
                )
            )
        return product, mapping.expense_account_id

    # --- Stock: FBA locations per account, FBM stock push (issue 6) ----------------------------
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        string="Warehouse (FBM stock)",
        default=lambda self: self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        ),
        check_company=True,
        tracking=True,
        help="The free quantity of the products in this warehouse's stock location is sent to "
        "Amazon for the offers you ship yourself (FBM) that synchronize their stock.",
    )
    stock_feed_ids = fields.One2many("amazon.feed", "account_id", string="Stock Feeds")

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

    def _amazon_stock_warehouse(self):
        self.ensure_one()
        return self.warehouse_id or self.env["stock.warehouse"].search(
            [("company_id", "=", self.company_id.id)], limit=1
        )

    def action_sync_stock(self):
        """Push the FBM quantities of the accounts in ``self`` now (button and RPC)."""
        totals, messages = self._amazon_run_now("_sync_stock")
        message = _(
            "%(sent)s quantities sent, %(synced)s confirmed by Amazon, %(failed)s failed.",
            sent=totals["created"],
            synced=totals["updated"],
            failed=totals["failed"],
        )
        return self._amazon_run_notification(
            _("Amazon stock synchronized"), message, totals, messages
        )

    @api.model
    def _cron_sync_stock(self):
        if not self._is_sync_enabled():
            return
        for account in self.sudo().search([]):
            account._sync_stock(trigger="cron")

    def _sync_stock(self, trigger="manual"):
        """Read the processing reports of the stock feeds sent earlier, then send one
        JSON_LISTINGS_FEED per marketplace with the FBM offers whose quantity changed.

        Counts: ``created`` offers sent, ``updated`` offers Amazon confirmed, ``failed``
        offers Amazon refused (told to the salesperson in one message per run)."""
        self.ensure_one()
        account = self._amazon_sync_env()
        outcome = SyncOutcome()
        with account._amazon_sync_lock("stock") as locked:
            if not locked:
                outcome.counts["busy"] += 1
                return outcome
            run = account._amazon_start_run("stock", trigger)
            failed = self.env["amazon.offer"]
            with account._amazon_api_session("stock", outcome) as client:
                failed = account._amazon_check_stock_feeds(client, outcome)
                account._amazon_push_stock(client, outcome)
            account._amazon_notify_stock_failures(failed)
            account._amazon_finish_run(run, outcome)
        return outcome

    def _amazon_stock_quantities(self, offers):
        """{offer: whole units free in the account's warehouse stock} (never negative)."""
        location = self._amazon_stock_warehouse().lot_stock_id
        products = offers.product_id.with_context(location=location.id)
        # free_qty does not depend on quants: a manual run after an inventory change in
        # the same transaction must not read a stale value.
        products.invalidate_recordset(["free_qty"])
        free = {product.id: product.free_qty for product in products}
        return {offer: max(int(free.get(offer.product_id.id, 0.0) // 1), 0) for offer in offers}

    def _amazon_push_stock(self, client, outcome):
        offers = self.env["amazon.offer"].search(
            [
                ("account_id", "=", self.id),
                ("sync_stock", "=", True),
                ("fulfillment_channel", "=", "fbm"),
                ("is_default_product", "=", False),
                ("marketplace_id", "in", self.active_marketplace_ids.ids),
                ("stock_sync_state", "!=", "pending"),
            ]
        )
        if not offers:
            return
        if not self.seller_id:
            raise UserError(
                _(
                    "Set the Merchant ID of the Amazon account %(account)s: stock feeds need it.",
                    account=self.name,
                )
            )
        quantities = self._amazon_stock_quantities(offers)
        changed = offers.filtered(
            lambda o: not o.stock_last_push or o.stock_last_qty != quantities[o]
        )
        for marketplace in changed.marketplace_id:
            batch = changed.filtered(lambda o, mp=marketplace: o.marketplace_id == mp)
            self._amazon_send_stock_feed(client, marketplace, batch, quantities, outcome)

    def _amazon_send_stock_feed(self, client, marketplace, offers, quantities, outcome):
        feed = amazon_listings.build_availability_feed(
            self.seller_id, [(offer.sku, quantities[offer]) for offer in offers]
        )
        content_type = const.LISTINGS_FEED_CONTENT_TYPE
        document_id, url = client.create_feed_document(content_type)
        client.upload_feed_document(url, amazon_listings.encode_feed(feed), content_type)
        feed_id = client.create_feed(const.LISTINGS_FEED_TYPE, [marketplace.api_ref], document_id)
        record = self.env["amazon.feed"].create(
            {
                "account_id": self.id,
                "marketplace_id": marketplace.id,
                "feed_ref": feed_id,
                "document_ref": document_id,
                "message_map": {
                    str(index): offer.id for index, offer in enumerate(offers, start=1)
                },
            }
        )
        now = fields.Datetime.now()
        for offer in offers:
            offer.write(
                {
                    "stock_last_qty": quantities[offer],
                    "stock_last_push": now,
                    "stock_sync_state": "pending",
                    "stock_sync_message": False,
                    "stock_feed_id": record.id,
                }
            )
        outcome.counts["created"] += len(offers)
        self._amazon_commit()
        return record

    def _amazon_check_stock_feeds(self, client, outcome):
        """Apply the processing reports of the feeds Amazon has finished; returns the
        offers that failed."""
        failed = self.env["amazon.offer"]
        feeds = self.env["amazon.feed"].search(
            [("account_id", "=", self.id), ("state", "=", "submitted")], order="id"
        )
        stale_before = fields.Datetime.now() - timedelta(hours=const.FEED_STALE_HOURS)
        for feed in feeds:
            status = client.get_feed(feed.feed_ref)
            processing = status.get("processingStatus")
            feed.amazon_status = processing
            results, error = {}, None
            if processing in const.FEED_STATUSES_PENDING:
                if feed.create_date > stale_before:
                    continue
                # A feed stuck on Amazon's side would keep its offers Pending, and out
                # of every later push, for ever: give it up and send them again.
                error = _(
                    "Amazon had not processed the feed after %(hours)s hours (%(status)s); "
                    "the quantity is sent again.",
                    hours=const.FEED_STALE_HOURS,
                    status=processing,
                )
                stale = feed._amazon_apply_results(results, error, outcome)
                stale.action_amazon_push_stock_again()
                self._amazon_commit()
                continue
            document_ref = status.get("resultFeedDocumentId")
            if processing == const.FEED_STATUS_CANCELLED:
                error = _("The feed was cancelled on Amazon; the quantity was not updated.")
            elif not document_ref:
                error = _(
                    "Amazon finished the feed (%(status)s) without a processing report.",
                    status=processing,
                )
            else:
                document = client.get_feed_document(document_ref)
                try:
                    report = amazon_listings.decode_report(client.download_feed_document(document))
                except ValueError as exc:
                    error = _(
                        "Amazon's processing report cannot be read: %(error)s", error=str(exc)
                    )
                else:
                    results = amazon_listings.read_processing_report(
                        report, [int(key) for key in feed.message_map or {}], processing
                    )
                    feed.result_document_ref = document_ref
            failed |= feed._amazon_apply_results(results, error, outcome)
            self._amazon_commit()
        return failed

    def _amazon_notify_stock_failures(self, offers):
        """One message per run to the salesperson listing the offers Amazon refused."""
        if not offers or not self.user_id:
            return
        self._amazon_notify_salesperson(
            "sale_amazon_connector.stock_failures_message",
            {"offers": offers},
            _("Amazon refused stock quantities (%(account)s)", account=self.name),
        )

    # --- FBM shipments: picking synchronization ------------------------------------------------
    def action_sync_pickings(self):
        """Send the pending shipment confirmations of these accounts to Amazon now."""
        totals, messages = self._amazon_run_now("_sync_pickings")
        message = _(
            "%(synced)s shipment(s) confirmed, %(known)s already known to Amazon, %(failed)s "
            "failed, %(waiting)s waiting for Amazon's answer.",
            synced=totals["created"],
            known=totals["updated"],
            failed=totals["failed"],
            waiting=totals["skipped"],
        )
        return self._amazon_run_notification(
            _("Amazon deliveries synchronized"), message, totals, messages
        )

    @api.model
    def _cron_sync_pickings(self):
        if not self._is_sync_enabled():
            return
        pending = (
            self.env["stock.picking"]
            .sudo()
            ._read_group(
                [("amazon_sync_status", "=", "pending"), ("state", "=", "done")], ["sale_id"]
            )
        )
        accounts = self.sudo().browse()
        for (sale_order,) in pending:
            accounts |= sale_order.amazon_account_id
        for account in accounts.filtered("active"):
            account._sync_pickings(trigger="cron")

    def _sync_pickings(self, trigger="manual", pickings=None):
        """Confirm to Amazon the shipments of the pending FBM deliveries of this account
        (or only of ``pickings``), one ``confirmShipment`` per delivery.

        Each delivery is committed on its own (outside tests). A delivery whose answer was
        lost stays pending; before any resend, the order is read on Amazon and the delivery
        is marked synced when Amazon already has its package. Deliveries Amazon refused are
        marked failed, and the salesperson gets one e-mail listing them.

        :return: SyncOutcome; counts: created (confirmed), updated (already on Amazon),
            failed, skipped (answer lost: retried), busy
        """
        self.ensure_one()
        account = self._amazon_sync_env()
        outcome = SyncOutcome()
        with account._amazon_sync_lock("pickings") as locked:
            if not locked:
                _logger.info(
                    "Amazon account %s: a picking sync is already running; this one exits.",
                    account.id,
                )
                outcome.counts["busy"] += 1
                return outcome
            todo = account._amazon_pending_pickings(pickings)
            if not todo and trigger == "cron":
                return outcome
            run = account._amazon_start_run("pickings", trigger)
            failed = self.env["stock.picking"]
            # On an error for the whole account (credentials, outage...) the deliveries
            # not sent stay pending for the next run.
            with account._amazon_api_session("picking", outcome, connect=bool(todo)) as client:
                for picking in todo:
                    result = account._amazon_send_picking(client, picking, outcome)
                    outcome.counts[result] += 1
                    if result == "failed":
                        failed |= picking
                    account._amazon_commit()
            account._amazon_notify_picking_failures(failed)
            account._amazon_finish_run(run, outcome)
        return outcome

    def _amazon_pending_pickings(self, pickings=None):
        domain = [
            ("amazon_sync_status", "=", "pending"),
            ("state", "=", "done"),
            ("sale_id.amazon_account_id", "=", self.id),
        ]
        if pickings is not None:
            domain.append(("id", "in", pickings.ids))
        return self.env["stock.picking"].search(domain, order="date_done, id")

    def _amazon_send_picking(self, client, picking, outcome):
        """Confirm one delivery's shipment; returns the outcome key. Errors of the whole
        account (authentication, throttling, Amazon unreachable) are raised."""
        order = picking.sale_id
        try:
            items = picking._amazon_shipment_items()
            tracking = picking._amazon_tracking_error()
            if tracking:
                raise UserError(tracking)
            if not picking.carrier_id:
                raise UserError(_("The delivery has no carrier."))
        except UserError as exc:
            picking._amazon_mark_failed(exc.args[0])
            outcome.failures.append(f"{picking.name}: {exc.args[0]}")
            return "failed"
        if not items:
            picking._amazon_mark_synced(
                _(
                    "Nothing to confirm to Amazon: this delivery completes no order item yet "
                    "(kits count once all their components shipped)."
                )
            )
            return "updated"
        try:
            if picking.amazon_sync_attempts:
                # An earlier confirmation may have reached Amazon: look before resending.
                raw = client.get_order(
                    order.amazon_order_ref, included_data=("PACKAGES", "FULFILLMENT")
                )
                found = amazon_shipments.already_confirmed(raw, picking.id, items)
                if found:
                    picking._amazon_mark_synced(
                        _(
                            "Amazon already had this shipment (package %(package)s).",
                            package=picking.id,
                        )
                        if found == amazon_shipments.PACKAGE_FOUND
                        else _("Amazon already reports these items as shipped: nothing was resent.")
                    )
                    return "updated"
            # Counted (and committed) before sending: should the process die while the
            # request is on its way, the next run reads the order on Amazon first.
            picking.amazon_sync_attempts += 1
            self._amazon_commit()
            client.confirm_shipment(
                order.amazon_order_ref,
                marketplace_id=order.amazon_marketplace_id.api_ref,
                package_reference_id=picking.id,
                carrier_code=picking.carrier_id.name,
                tracking_number=picking.carrier_tracking_ref,
                ship_date=picking.date_done,
                items=items,
            )
        except (amazon_errors.SpApiBadRequestError, amazon_errors.SpApiNotFoundError) as exc:
            if exc.outcome_unknown:
                raise
            picking._amazon_mark_failed(str(exc))
            outcome.failures.append(f"{picking.name}: {exc}")
            return "failed"
        except amazon_errors.SpApiError as exc:
            if not exc.outcome_unknown:
                raise
            picking.amazon_sync_error = _(
                "Amazon's answer was lost (%(error)s). The delivery stays pending; before "
                "sending it again, the order is checked on Amazon.",
                error=str(exc),
            )
            outcome.failures.append(f"{picking.name}: {exc}")
            return "skipped"
        picking._amazon_mark_synced(
            _(
                "Shipment confirmed to Amazon: %(items)s item(s) with %(carrier)s, tracking "
                "%(tracking)s.",
                items=sum(qty for _item, qty in items),
                carrier=picking.carrier_id.name,
                tracking=picking.carrier_tracking_ref,
            )
        )
        return "created"

    def _amazon_notify_picking_failures(self, pickings):
        """One e-mail to the salesperson listing the deliveries Amazon refused in a run."""
        if not pickings or not self.user_id:
            return
        self._amazon_notify_salesperson(
            "sale_amazon_connector.picking_failures_message",
            {"pickings": pickings},
            _("Amazon refused shipment confirmations (%(account)s)", account=self.name),
        )

    # --- Recover Order ----------------------------------------------------------------------
    def action_open_recover_order(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Recover Order"),
            "res_model": "amazon.recover.order",
            "view_mode": "form",
            "target": "new",
            "context": {"default_account_id": self.id},
        }

    def _amazon_recover_order(self, order_ref):
        """Fetch one order by reference and apply it through the order sync's own path,
        whatever Last Order Sync says.

        :return: SyncOutcome (counts: created, updated, unchanged, cancelled, skipped, failed)
        :raise UserError: Amazon does not know the order, or cannot be reached
        """
        self.ensure_one()
        account = self._amazon_sync_env()
        outcome = SyncOutcome()
        with account._amazon_sync_lock("orders") as locked:
            if not locked:
                raise UserError(
                    _(
                        "An order synchronization of %(account)s is running: try again in a "
                        "minute.",
                        account=self.name,
                    )
                )
            run = account._amazon_start_run("orders", "recover")
            error = None
            try:
                with account._get_sp_api_client() as client:
                    try:
                        if account.orders_api_version == "v0":
                            raw = client.get_order_v0(order_ref)
                        else:
                            raw = client.get_order(order_ref)
                    finally:
                        outcome.api_calls = client.stats.calls
                        outcome.throttled = client.stats.throttled
            except amazon_errors.SpApiNotFoundError:
                error = _(
                    "Amazon does not know order %(ref)s in account %(account)s. Check the "
                    "reference (and that the order belongs to this seller account).",
                    ref=order_ref,
                    account=self.name,
                )
            except amazon_errors.SpApiError as exc:
                error = _(
                    "Amazon could not be asked for order %(ref)s:\n%(error)s",
                    ref=order_ref,
                    error=str(exc),
                )
            if error:
                outcome.errors.append(error)
                account._amazon_finish_run(run, outcome)
                raise UserError(error)
            account._amazon_apply_orders([raw], account._amazon_parser(), outcome)
            account._amazon_finish_run(run, outcome)
        return outcome
