# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Order synchronization of an account: pull the window, retry, apply, conflicts.

The sale orders themselves are made by ``sale.order`` (``_amazon_create_from_order``,
``_amazon_update_from_order``), the buyers by ``res.partner``, the offers by
``amazon.offer``."""

import logging
import re
import time

from psycopg2 import errors as pg_errors

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..amazon_sp import amounts, const
from ..amazon_sp import errors as amazon_errors
from . import amazon_account

_logger = logging.getLogger(__name__)

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

    def cache(self, name):
        """A dict kept for the whole run (currencies, pricelists...)."""
        return self._caches.setdefault(name, {})

    def country(self, env, code):
        countries = self.cache("countries")
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
        states = self.cache("states")
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
    _inherit = "amazon.account"

    # Charges of some orders beyond items, shipping and gift wrapping: lines like shipping.
    cod_fee_product_id = fields.Many2one(
        "product.product",
        string="COD Fee Product",
        default=lambda self: self._default_amazon_product("product_amazon_cod_fee"),
        help="Product of the cash-on-delivery fee lines of Amazon orders.",
    )
    other_charge_product_id = fields.Many2one(
        "product.product",
        string="Other Charges Product",
        default=lambda self: self._default_amazon_product("product_amazon_other_charge"),
        help="Product of the lines of charges Amazon reports as OTHER.",
    )
    delivery_tip_product_id = fields.Many2one(
        "product.product",
        default=lambda self: self._default_amazon_product("product_amazon_delivery_tip"),
        help="Product of the delivery tip lines of Amazon orders (the tip the buyer gave).",
    )

    def _amazon_charge_products(self):
        """The account's product of each kind of charge beyond items (``amounts.KIND_*``),
        for the lines of orders and of their refunds' credit notes."""
        self.ensure_one()
        return {
            amounts.KIND_SHIPPING: self.shipping_product_id,
            amounts.KIND_SHIPPING_DISCOUNT: self.shipping_product_id,
            amounts.KIND_GIFT_WRAP: self.gift_wrap_product_id,
            amounts.KIND_PROMOTION: self.promotion_product_id,
            amounts.KIND_COD_FEE: self.cod_fee_product_id,
            amounts.KIND_OTHER: self.other_charge_product_id,
            amounts.KIND_DELIVERY_TIP: self.delivery_tip_product_id,
        }

    def _amazon_required_product(self, product, kind):
        """``product`` for the lines of charge ``kind``; a clear error when it is not set."""
        if not product:
            raise UserError(
                _(
                    "Account %(account)s has no product set for Amazon %(kind)s lines.",
                    account=self.name,
                    kind=kind,
                )
            )
        return product

    # --- Pulling ------------------------------------------------------------------------------
    def _amazon_pull_orders(self, client, outcome):
        marketplace_refs = self.active_marketplace_ids.mapped("api_ref")
        if not marketplace_refs:
            raise UserError(
                _("Account %(account)s has no marketplace to synchronize.", account=self.name)
            )
        # A run that stopped on its time budget left where it was in its window: the same
        # window (same end), resumed at the page it stopped in (see _amazon_stop_in_window).
        resume = self._amazon_window_resume()
        token = resume["token"]
        orders_api = client.orders_api(self.orders_api_version)
        if self._amazon_paced_out(client, orders_api.search_operation, outcome):
            return
        pages = orders_api.search(
            last_updated_after=self.last_orders_sync,
            marketplace_ids=marketplace_refs,
            fulfillment_statuses=const.SEARCH_STATUSES,
            last_updated_before=resume["end"],
            page_token=token,
            page_size=self._amazon_orders_page_size(),
        )
        window_end = None
        seen = 0
        try:
            for page in self._amazon_resumed_pages(pages, resume):
                window_end = page.window_end or window_end
                # Apply on a snapshot taken now, not before Amazon answered (an LWA token and
                # 429 retries can take seconds): fewer changes made meanwhile by users to meet.
                self._amazon_commit()
                skip, resume["done"] = resume["done"], set()
                left = self._amazon_apply_page(page, outcome, skip_refs=skip)
                seen += len(page.raw_orders)
                if outcome.more:  # out of time within the page: read it again, minus the done
                    done = skip | (self._amazon_page_refs(page) - {o.order_id for o in left})
                    self._amazon_stop_in_window(window_end, token, done, resume, outcome)
                    return
                token = page.next_token
                if token and (
                    outcome.out_of_time()
                    or self._amazon_paced_out(client, orders_api.search_operation, outcome)
                ):
                    outcome.more = True
                    self._amazon_stop_in_window(window_end, token, set(), resume, outcome)
                    return
                self._amazon_commit()
                _logger.info(
                    "Amazon account %s: page %s done, %s orders so far (%s created, %s failed).",
                    self.id,
                    page.number,
                    seen,
                    outcome.counts["created"],
                    outcome.counts["failed"],
                )
        except amazon_errors.SpApiOutOfTimeError as exc:
            # Amazon's rate limit or its 429s would keep the next page past the run's
            # budget: the pages applied stay applied, the next run asks for that page.
            outcome.more = True
            outcome.resume_after = max(outcome.resume_after, exc.retry_after)
            if window_end:
                self._amazon_stop_in_window(window_end, token, set(), resume, outcome)
            return
        if outcome.counts["unidentified"] or resume["unidentified"]:
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
        progress = {}
        if window_end and window_end > self.last_orders_sync:
            progress["last_orders_sync"] = window_end
        if self.orders_window_end or self.orders_page_token or self.orders_page_done:
            progress.update(
                orders_window_end=False,
                orders_page_token=False,
                orders_page_done=False,
                orders_window_unidentified=0,
            )
        self._amazon_commit_progress(progress)

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
        for index, failure in enumerate(failures):
            if index and outcome.out_of_time():
                outcome.more = True
                return
            if not re.match(const.ORDER_REF_PATTERN, failure.order_ref or ""):
                continue
            try:
                self._amazon_sync_order_ref(client, failure.order_ref, outcome)
            except amazon_errors.SpApiNotFoundError:
                self._amazon_order_failed(
                    failure.order_ref, _("Amazon does not know this order reference."), outcome
                )

    def _amazon_sync_order_ref(self, client, order_ref, outcome):
        """Fetch one order from Amazon by reference and apply it (the retry of a failed
        order, Recover Order). Amazon's errors are raised."""
        page = client.orders_api(self.orders_api_version).get_page(order_ref)
        self._amazon_apply_page(page, outcome)
        self._amazon_commit()
        return page

    # --- Applying -----------------------------------------------------------------------------
    def _amazon_apply_page(self, page, outcome, skip_refs=()):
        """Apply one page of Amazon orders (``amazon_sp.orders.OrdersPage``) but those of
        ``skip_refs`` (applied by an earlier run that stopped in this page); one bad order
        never stops the others. Returns the orders left when the run's time budget ran out
        within the page (``outcome.more`` is set then)."""
        for failure in page.failures:
            if failure.order_id is None:
                self._amazon_unidentified_order(failure, outcome)
            elif failure.order_id not in skip_refs:
                self._amazon_order_failed(failure.order_id, failure.message, outcome)
        for skip in page.skipped:
            if skip.order_id not in skip_refs:
                self._amazon_order_skipped(skip, outcome)
        orders = [order for order in page.orders if order.order_id not in skip_refs]
        if not orders:
            return []
        conflicts = self._amazon_apply_parsed(orders, outcome)
        if outcome.more:
            return conflicts
        for attempt in range(CONFLICT_RETRIES):
            if not conflicts:
                return []
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
        return []

    def _amazon_apply_parsed(self, orders, outcome):
        """Apply parsed orders, each in its own savepoint; returns those that ran into a
        concurrent change of their sale order (nothing of them was applied) and, when the
        run's time budget ran out (``outcome.more`` set), those not reached."""
        ctx = self._amazon_page_context(orders, outcome)
        conflicts = []
        locked_since = None
        for index, order in enumerate(orders):
            if index and outcome.out_of_time():  # at least one order per run: progress
                outcome.more = True
                return conflicts + orders[index:]
            # A sale order the sync updates stays locked until its transaction ends, and a
            # user editing it must not wait for a whole page (100 orders): commit within
            # SYNC_COMMIT_SECONDS of the first such update. New orders lock nothing users
            # can see, so a page of creations stays one transaction (each commit empties
            # the ORM cache, which costs re-reads). Safe at any point: the window only
            # advances once every page is done.
            if (
                locked_since is not None
                and time.monotonic() - locked_since >= amazon_account.SYNC_COMMIT_SECONDS
            ):
                self._amazon_commit()
                locked_since = None
            outcome.seen_refs.add(order.order_id)
            started = time.monotonic()
            existing = ctx.existing.get(order.order_id)
            try:
                with self.env.cr.savepoint():
                    if existing:
                        existing._amazon_lock_nowait()
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

    def _amazon_apply_order(self, order, ctx):
        """Create or update the sale order of one Amazon order; returns the outcome key."""
        sale_order = ctx.existing.get(order.order_id)
        if sale_order:
            return sale_order._amazon_update_from_order(order)
        if order.status not in const.SYNC_STATUSES.get(order.channel, ()):
            # Not ready yet (e.g. Pending), or cancelled before we ever saw it.
            return "skipped"
        if order.status == const.STATUS_CANCELLED:
            return "skipped"
        sale_order = self.env["sale.order"]._amazon_create_from_order(self, order, ctx)
        ctx.existing[order.order_id] = sale_order
        return "created"

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
        ctx.offers = self.env["amazon.offer"]._amazon_get_offers(self, new_orders, ctx.marketplaces)
        ctx.partners = self.env["res.partner"]._amazon_find_buyers(self, new_orders)
        return ctx

    # --- Skipped and failed orders ------------------------------------------------------------
    def _amazon_order_skipped(self, skip, outcome):
        """An order Amazon lists that is no Amazon sale (another sales channel): never
        imported, counted as skipped with its reason in the run's notes; a failure left
        open for it is closed with that reason."""
        outcome.seen_refs.add(skip.order_id)
        outcome.counts["skipped"] += 1
        reason = _("Not imported: %(reason)s", reason=skip.message)
        outcome.failures.append(f"{skip.order_id}: {reason}")
        failures = self.env["amazon.order.failure"].search(
            [
                ("account_id", "=", self.id),
                ("order_ref", "=", skip.order_id),
                ("state", "=", "open"),
            ]
        )
        failures.write({"state": "resolved", "error": reason})

    def _amazon_order_failed(self, order_ref, message, outcome, notify=True):
        failure = self.env["amazon.order.failure"]._record(self, order_ref, message)
        if not notify:  # transient: no e-mail to the salesperson
            failure.notified = True
        outcome.counts["failed"] += 1
        outcome.failures.append(f"{order_ref}: {message}")

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

    # --- Recover Order ------------------------------------------------------------------------
    def _amazon_recover_order(self, order_ref):
        """Fetch one order by reference and apply it through the order sync's own path,
        whatever Last Order Sync says.

        :return: SyncOutcome (counts: created, updated, unchanged, cancelled, skipped, failed)
        :raise UserError: Amazon does not know the order, or cannot be reached
        """
        self.ensure_one()

        def describe(exc):
            if isinstance(exc, amazon_errors.SpApiNotFoundError):
                return _(
                    "Amazon does not know order %(ref)s in account %(account)s. Check the "
                    "reference (and that the order belongs to this seller account).",
                    ref=order_ref,
                    account=self.name,
                )
            if isinstance(exc, UserError):
                return exc.args[0]
            return _(
                "Amazon could not be asked for order %(ref)s:\n%(error)s",
                ref=order_ref,
                error=str(exc),
            )

        with self._amazon_sync_run("orders", "recover") as run:
            if run.busy:
                raise UserError(
                    _(
                        "An order synchronization of %(account)s is running: try again in a "
                        "minute.",
                        account=self.name,
                    )
                )
            skipped = []
            with run.api(describe=describe) as client:
                page = run.account._amazon_sync_order_ref(client, order_ref, run.outcome)
                skipped = page.skipped
        if run.outcome.errors:
            raise UserError(run.outcome.errors[0])
        if skipped:
            raise UserError(
                _(
                    "Order %(ref)s is not imported: %(reason)s",
                    ref=order_ref,
                    reason=skipped[0].message,
                )
            )
        return run.outcome
