"""Inside-Odoo half of ``scripts/bench-sync`` and ``scripts/bench-scale`` (not run by hand).

Run as ``python scripts/_bench_odoo.py '<json options>'`` with Odoo importable (the driver
sets PYTHONPATH). Options: ``args`` (odoo-bin arguments: config, addons path, db server,
``-d DB``), ``db``, ``mode`` (``floor``, ``sync`` or ``scale``), ``scenario`` (a sandbox
scenario JSON file whose orders are all ready to be synchronized), ``sandbox_url``,
``lwa_url``, ``since`` (ISO UTC: Last Order Sync before the run), ``page_size``. Mode
``cron-setup`` only sets the database up and makes the orders job due (for
``scripts/_bench_cron.py``).

Sets the database up (products for every SKU, one 20 % sales tax, the currencies, an
``amazon.account`` pointed at the sandbox; committed before the clock starts), then runs the
phase and prints one line ``BENCH-RESULT <json>``: orders, seconds, queries
(``cr.sql_log_count`` of the cursor doing the work), seconds spent inside SP-API calls (HTTP
exchanges with the sandbox), RSS before and peak RSS during the phase (the kernel's
high-water mark, reset when the phase starts), and for
``scale`` the transaction durations and the lock probes. With ``BENCH_PROFILE=<dir>``
in the environment the phase runs under cProfile and its stats go to ``<dir>/<db>-<mode>.prof``;
``BENCH_COMMIT_SECONDS=<s>`` overrides the sync's ``SYNC_COMMIT_SECONDS``. Nothing of the
addon is patched by module path: the commit timer wraps ``_amazon_commit`` on the registry's
``amazon.account`` class.
"""

import json
import logging
import os
import sys
import threading
import time
from datetime import datetime

from _odoo_harness import allow_sandbox_endpoints

import odoo
from odoo import Command
from odoo.tools import config

_logger = logging.getLogger("bench")
PAGE = 100
TAX_RATE = 20.0


# --- memory -----------------------------------------------------------------------------------
def _status_kb(key):
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


# --- set-up -----------------------------------------------------------------------------------
def setup(env, scenario, opts):
    """Products, tax, currencies and (for the sync) the account. Returns the account."""
    company = env.company
    tax = env["account.tax"].create(
        {
            "name": "Bench VAT 20%",
            "amount": TAX_RATE,
            "amount_type": "percent",
            "type_tax_use": "sale",
            "company_id": company.id,
        }
    )
    skus = sorted(
        {item["sku"] for order in scenario["orders"] for item in order["items"]}
        | {entry["sku"] for entry in scenario.get("listings", [])}
    )
    env["product.product"].create(
        [
            {
                "name": f"Bench {sku}",
                "default_code": sku,
                "detailed_type": "product",
                "taxes_id": [Command.set(tax.ids)],
            }
            for sku in skus
        ]
    )
    marketplaces = env["amazon.marketplace"].search(
        [("api_ref", "in", [mp["id"] for mp in scenario["marketplaces"]])]
    )
    currencies = marketplaces.mapped("currency_id").with_context(active_test=False)
    currencies.filtered(lambda c: not c.active).write({"active": True})
    allow_sandbox_endpoints(env)
    account = env["amazon.account"].create(
        {
            "name": "Bench account",
            "company_id": company.id,
            "region": "eu",
            "seller_id": "A2SANDBOX0SELLER",
            "lwa_client_id": "bench-client",
            "lwa_client_secret": "bench-secret",
            "refresh_token": "Atzr|bench-refresh",
            "sp_api_endpoint": opts.get("sandbox_url") or "http://127.0.0.1:9",
            "lwa_endpoint": opts.get("lwa_url") or "http://127.0.0.1:9/auth/o2/token",
            "available_marketplace_ids": [Command.set(marketplaces.ids)],
            "active_marketplace_ids": [Command.set(marketplaces.ids)],
            "last_orders_sync": opts["since"],
        }
    )
    for fname in ("shipping_product_id", "gift_wrap_product_id", "promotion_product_id"):
        account[fname].taxes_id = tax
    # The user's own order, edited by the lock probes of bench-scale.
    customer = env["res.partner"].create({"name": "Walk-in customer"})
    product = env["product.product"].search([("default_code", "=", skus[0])])
    user_order = env["sale.order"].create(
        {
            "partner_id": customer.id,
            "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 1})],
        }
    )
    return account, user_order, product


# --- the ORM floor ----------------------------------------------------------------------------
class Floor:
    """The same records as the sync, made straight with the ORM from the scenario (no
    Amazon, no parsing, no money logic): per order the buyer (reused by e-mail), a delivery
    address, a sale order with the same Amazon fields and lines (items, promotions, shipping,
    shipping discount, gift wrap, gift-message note; taxes given, as the sync gives them),
    confirmation (delivery picking for FBM; none for FBA, as the addon decides), and for FBA
    the done stock moves. One savepoint per order and a commit every 100 orders, like the
    sync's pages."""

    def __init__(self, env, account):
        self.env = env
        self.account = account
        self.partners = {}
        self.countries = {}
        self.states = {}
        self.pricelists = {}
        self.products = {p.default_code: p for p in env["product.product"].search([])}
        self.marketplaces = {mp.api_ref: mp for mp in account.active_marketplace_ids}
        self.customers = env.ref("stock.stock_location_customers")

    def country(self, code):
        if code not in self.countries:
            self.countries[code] = self.env["res.country"].search([("code", "=", code)], limit=1)
        return self.countries[code]

    def state(self, country, name):
        key = (country.id, name)
        if key not in self.states:
            self.states[key] = self.env["res.country.state"].search(
                [
                    ("country_id", "=", country.id),
                    "|",
                    ("code", "=ilike", name),
                    ("name", "=ilike", name),
                ],
                limit=1,
            )
        return self.states[key]

    def pricelist(self, currency):
        if currency not in self.pricelists:
            Pricelist = self.env["product.pricelist"]
            self.pricelists[currency] = Pricelist.search(
                [("currency_id", "=", currency.id)], limit=1
            ) or Pricelist.create({"name": f"Floor {currency.name}", "currency_id": currency.id})
        return self.pricelists[currency]

    def address(self, recipient):
        country = self.country(recipient.get("countryCode"))
        return {
            "street": recipient.get("addressLine1"),
            "street2": recipient.get("addressLine2"),
            "city": recipient.get("city"),
            "zip": recipient.get("postalCode"),
            "country_id": country.id,
            "state_id": self.state(country, recipient.get("stateOrRegion") or "").id,
            "phone": recipient.get("phone"),
        }

    def order(self, raw):
        env, account = self.env, self.account
        buyer, recipient = raw.get("buyer") or {}, raw.get("recipient") or {}
        email = buyer.get("email")
        partner = self.partners.get(email)
        if not partner:
            # Amazon's VAT numbers as given, like the connector (base_vat may be installed)
            partner = (
                env["res.partner"]
                .with_context(no_vat_validation=True)
                .create(
                    {
                        "name": buyer.get("companyName") or buyer.get("name") or "Floor customer",
                        "is_company": bool(buyer.get("companyName")),
                        "company_id": account.company_id.id,
                        "customer_rank": 1,
                        "vat": buyer.get("vatNumber"),
                        **self.address(recipient),
                    }
                )
            )
            self.partners[email] = partner
        shipping = (
            env["res.partner"]
            .with_context(no_vat_validation=True)
            .create(
                {
                    "name": recipient.get("name") or partner.name,
                    "type": "delivery",
                    "parent_id": partner.id,
                    "company_id": account.company_id.id,
                    **self.address(recipient),
                }
            )
        )
        marketplace = self.marketplaces[raw["marketplaceId"]]
        lines, shipping_total, ship_discount, wrap = [], 0.0, 0.0, 0.0
        for item in raw["items"]:
            product = self.products[item["sku"]]
            lines.append(
                {
                    "product_id": product.id,
                    "name": item["title"],
                    "product_uom_qty": item["quantity"],
                    "price_unit": float(item["unitPrice"]) / 1.2,
                    "tax_id": [Command.set(product.taxes_id.ids)],
                }
            )
            if item.get("promotionDiscount"):
                lines.append(
                    {
                        "product_id": account.promotion_product_id.id,
                        "name": "Promotion",
                        "product_uom_qty": 1,
                        "price_unit": -float(item["promotionDiscount"]) / 1.2,
                        "tax_id": [Command.set(product.taxes_id.ids)],
                    }
                )
            shipping_total += float(item.get("shipping") or 0)
            ship_discount += float(item.get("shippingDiscount") or 0)
            wrap += float(item.get("giftWrap") or 0)
        for product, amount, name in (
            (account.shipping_product_id, shipping_total, "Shipping"),
            (account.shipping_product_id, -ship_discount, "Shipping discount"),
            (account.gift_wrap_product_id, wrap, "Gift wrapping"),
        ):
            if amount:
                lines.append(
                    {
                        "product_id": product.id,
                        "name": name,
                        "product_uom_qty": 1,
                        "price_unit": amount / 1.2,
                        "tax_id": [Command.set(product.taxes_id.ids)],
                    }
                )
        for item in raw["items"]:
            if item.get("giftMessage"):
                lines.append(
                    {"display_type": "line_note", "name": item["giftMessage"], "product_uom_qty": 0}
                )
        date = datetime.fromisoformat(raw["createdTime"].replace("Z", ""))
        sale_order = env["sale.order"].create(
            {
                "partner_id": partner.id,
                "partner_invoice_id": partner.id,
                "partner_shipping_id": shipping.id,
                "company_id": account.company_id.id,
                "user_id": account.user_id.id,
                "team_id": account.team_id.id,
                "pricelist_id": self.pricelist(marketplace.currency_id).id,
                "client_order_ref": raw["orderId"],
                "date_order": date,
                "amazon_order_ref": raw["orderId"],
                "amazon_account_id": account.id,
                "amazon_marketplace_id": marketplace.id,
                "amazon_channel": "fba" if raw["fulfilledBy"] == "AMAZON" else "fbm",
                "amazon_status": "SHIPPED" if raw["fulfilledBy"] == "AMAZON" else "UNSHIPPED",
                "amazon_last_update": date,
                "order_line": [Command.create(vals) for vals in lines],
            }
        )
        sale_order.action_confirm()
        sale_order.date_order = date
        if raw["fulfilledBy"] == "AMAZON":
            self.fba_moves(sale_order)

    def fba_moves(self, sale_order):
        account = self.account
        vals_list = []
        for line in sale_order.order_line:
            if line.product_id.type != "product" or line.product_uom_qty <= 0:
                continue
            common = {
                "product_id": line.product_id.id,
                "location_id": account.location_id.id,
                "location_dest_id": self.customers.id,
                "company_id": account.company_id.id,
            }
            vals_list.append(
                {
                    **common,
                    "name": line.name,
                    "origin": sale_order.name,
                    "product_uom": line.product_uom.id,
                    "product_uom_qty": line.product_uom_qty,
                    "partner_id": sale_order.partner_shipping_id.id,
                    "sale_line_id": line.id,
                    "picked": True,
                    "move_line_ids": [
                        Command.create(
                            {
                                **common,
                                "product_uom_id": line.product_uom.id,
                                "quantity": line.product_uom_qty,
                            }
                        )
                    ],
                }
            )
        if vals_list:
            self.env["stock.move"].create(vals_list)._action_done()

    def run(self, orders):
        # The sync's context: no tracking, no follower for the buyer (see sale.order).
        self.env = self.env(context=dict(self.env.context, amazon_sync=True))
        for start in range(0, len(orders), PAGE):
            for raw in orders[start : start + PAGE]:
                with self.env.cr.savepoint():
                    self.order(raw)
            self.env.cr.commit()


# --- lock probes (bench-scale) ---------------------------------------------------------------
class LockProbe(threading.Thread):
    """Another connection playing a user: every ``interval`` it edits (UPDATE, then
    ROLLBACK) the user's own sale order, the newest Amazon sale order already committed
    and a product the sync sells, and times how long each edit waits; it also samples
    pg_locks for lock waits blocked by the sync's backends."""

    def __init__(self, dsn, user_order_id, product_tmpl_id, interval=0.1):
        super().__init__(daemon=True)
        self.dsn = dsn
        self.targets = {"user_order": user_order_id, "product": product_tmpl_id}
        self.interval = interval
        self.stop = threading.Event()
        self.longest = {}
        self.samples = 0
        self.blocked_samples = 0
        self.longest_wait = 0.0
        self.error = None

    def run(self):
        import psycopg2

        try:
            conn = psycopg2.connect(**self.dsn)
            conn.autocommit = False
            cur = conn.cursor()
            statements = {
                "user_order": ("UPDATE sale_order SET note = note WHERE id = %s", "user_order"),
                "amazon_order": (
                    "UPDATE sale_order SET note = note WHERE id = (SELECT max(id) FROM "
                    "sale_order WHERE amazon_order_ref IS NOT NULL)",
                    None,
                ),
                "product": (
                    "UPDATE product_template SET write_date = write_date WHERE id = %s",
                    "product",
                ),
            }
            while not self.stop.wait(self.interval):
                cur.execute("SET lock_timeout = '30s'")
                for name, (sql, target) in statements.items():
                    started = time.monotonic()
                    cur.execute(sql, [self.targets[target]] if target else None)
                    elapsed = time.monotonic() - started
                    conn.rollback()
                    self.longest[name] = max(self.longest.get(name, 0.0), elapsed)
                cur.execute(
                    "SELECT count(*), coalesce(max(extract(epoch FROM now() - a.state_change)), 0)"
                    " FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock'"
                    " AND a.datname = current_database()"
                )
                waiting, longest_wait = cur.fetchone()
                conn.rollback()
                self.samples += 1
                if waiting:
                    self.blocked_samples += 1
                    self.longest_wait = max(self.longest_wait, float(longest_wait))
            conn.close()
        except Exception as exc:  # noqa: BLE001 - reported in the result
            self.error = f"{type(exc).__name__}: {exc}"


def wrap_commit(env, after):
    """Call ``after(account)`` after each commit of the sync: ``_amazon_commit`` of the
    registry's ``amazon.account`` class wrapped (every page, and at least every second within
    a page when it updates existing sale orders)."""
    model_class = type(env["amazon.account"])
    original = model_class._amazon_commit

    def _amazon_commit(account):
        result = original(account)
        after(account)
        return result

    model_class._amazon_commit = _amazon_commit


class CommitTimer:
    """Times the sync's transactions (the moment of each of its commits)."""

    def __init__(self, env):
        self.stamps = []
        wrap_commit(env, lambda _account: self.stamps.append(time.monotonic()))


class MemoryTracer:
    """BENCH_TRACEMALLOC=DIR: where the sync's memory grows. Snapshots tracemalloc at the
    5th commit and at the end, and writes the 30 biggest growths by line to DIR."""

    def __init__(self, env, directory, name):
        import tracemalloc

        self.tracemalloc = tracemalloc
        self.path = os.path.join(directory, f"{name}-tracemalloc.txt")
        self.first = None
        self.commits = 0
        tracemalloc.start(8)
        wrap_commit(env, self._committed)

    def _committed(self, _account):
        self.commits += 1
        if self.commits == 5:
            self.first = self.tracemalloc.take_snapshot()

    def write(self):
        if self.first is None:
            return
        last = self.tracemalloc.take_snapshot()
        with open(self.path, "w", encoding="utf-8") as out:
            for stat in last.compare_to(self.first, "traceback")[:30]:
                out.write(f"{stat}\n")
                for line in stat.traceback.format()[-16:]:
                    out.write(f"    {line}\n")


# --- what the sync spends waiting for Amazon, its commit period ------------------------------
def time_http():
    """Seconds this process spends in HTTP exchanges (``httpx.Client.send``, what the SP-API
    client sends its requests and LWA token requests with): the time inside SP-API calls,
    the sandbox being the only HTTP peer of the sync. Returns the running total (a dict)."""
    import httpx

    spent = {"seconds": 0.0}
    original = httpx.Client.send

    def send(self, *args, **kwargs):
        started = time.monotonic()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent["seconds"] += time.monotonic() - started

    httpx.Client.send = send
    return spent


def commit_seconds(env, override=None):
    """The sync's ``SYNC_COMMIT_SECONDS`` (its commit period within a page of updates), set
    to ``override`` when given.

    The order sync reads it as a module constant of the addon (today
    ``models/amazon_account.py``, through ``amazon_account.SYNC_COMMIT_SECONDS``): it is
    looked up in every loaded module of the addon, so that it may move, and set in each one
    holding it (a ``from ... import`` copy too). Raises when no module holds it, or when they
    disagree: a benchmark must not report a commit period the sync does not use."""
    prefix = f"odoo.addons.{env['amazon.account']._original_module}"
    holders = {
        name: module
        for name, module in list(sys.modules.items())
        if (name == prefix or name.startswith(prefix + "."))
        and module is not None
        and "SYNC_COMMIT_SECONDS" in vars(module)
    }
    if not holders:
        raise RuntimeError(
            f"SYNC_COMMIT_SECONDS is in no module of {prefix}: the order sync no longer reads "
            "its commit period from that constant; update commit_seconds() in "
            "scripts/_bench_odoo.py to where it reads it now"
        )
    values = {name: module.SYNC_COMMIT_SECONDS for name, module in holders.items()}
    if len(set(values.values())) > 1:
        raise RuntimeError(f"SYNC_COMMIT_SECONDS differs between modules: {values}")
    if override:
        for module in holders.values():
            module.SYNC_COMMIT_SECONDS = float(override)
    return next(iter(holders.values())).SYNC_COMMIT_SECONDS


# --- main -------------------------------------------------------------------------------------
def main():
    opts = json.loads(sys.argv[1])
    config.parse_config(opts["args"])
    odoo.service.server.load_server_wide_modules()
    registry = odoo.modules.registry.Registry(opts["db"])
    with open(opts["scenario"], encoding="utf-8") as handle:
        scenario = json.load(handle)
    orders = scenario["orders"]
    mode = opts["mode"]
    result = {"mode": mode, "orders": len(orders)}
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env = env(context=dict(env.context, tracking_disable=True, mail_create_nosubscribe=True))
        account, user_order, product = setup(env, scenario, opts)
        cr.commit()
        if mode == "cron-setup":  # scripts/_bench_cron.py: the cron workers do the rest
            env.ref("sale_amazon_connector.ir_cron_sync_orders").nextcall = datetime.now()
            cr.commit()
            print("BENCH-RESULT " + json.dumps({"account": account.id}), flush=True)
            os._exit(0)

        result["commit_seconds"] = commit_seconds(env, os.environ.get("BENCH_COMMIT_SECONDS"))
        amazon = time_http()
        probe = timer = None
        if mode == "scale":
            dsn = {
                "dbname": opts["db"],
                "host": config["db_host"],
                "port": config["db_port"],
                "user": config["db_user"],
            }
            if config["db_password"]:
                dsn["password"] = config["db_password"]
            probe = LockProbe(dsn, user_order.id, product.product_tmpl_id.id)
            timer = CommitTimer(env)
        tracer = None
        if os.environ.get("BENCH_TRACEMALLOC"):
            tracer = MemoryTracer(env, os.environ["BENCH_TRACEMALLOC"], f"{opts['db']}-{mode}")
        rss_before = _status_kb("VmRSS")
        result["peak_reset"] = reset_peak_rss()
        queries_before = cr.sql_log_count
        if probe:
            probe.start()
        profiler = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.monotonic()
        if mode == "floor":
            Floor(env, account).run(orders)
            counts = {"created": len(orders)}
        else:
            outcome = account._sync_orders(trigger="manual")
            counts = dict(outcome.counts)
            result["errors"] = outcome.errors
            result["failures"] = outcome.failures[:5]
            result["api_calls"] = outcome.api_calls
        seconds = time.monotonic() - started
        if tracer:
            tracer.write()
            result["tracemalloc"] = tracer.path
        if profiler:
            profiler.disable()
            out = os.path.join(os.environ["BENCH_PROFILE"], f"{opts['db']}-{mode}.prof")
            profiler.dump_stats(out)
            result["profile"] = out
        if probe:
            probe.stop.set()
            probe.join(10)
            stamps = [started, *timer.stamps]
            transactions = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
            result.update(
                transactions=len(transactions),
                longest_transaction=max(transactions, default=0.0),
                probe_longest=probe.longest,
                probe_samples=probe.samples,
                probe_blocked_samples=probe.blocked_samples,
                probe_longest_lock_wait=probe.longest_wait,
                probe_error=probe.error,
            )
        result.update(
            seconds=seconds,
            queries=cr.sql_log_count - queries_before,
            amazon_seconds=amazon["seconds"],
            counts=counts,
            rss_before_kb=rss_before,
            peak_rss_kb=_status_kb("VmHWM"),
            sale_orders=env["sale.order"].search_count([("state", "=", "sale")]),
        )
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    os._exit(0)  # skip the interpreter's slow teardown of the registry


if __name__ == "__main__":
    main()
