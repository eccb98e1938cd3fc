"""Inside Odoo: the actions the campaigns ask of their Odoo service (``_odoo_shell.py serve``).

Each action takes the registry and its options (``account_id``, ``client_options``... see
each one) and returns a JSON-serializable dict. They go through the models' public entry
points only (``_sync_orders``, ``_sync_pickings``, ``_cron_sync_orders``, ``action_*``).
"""

import random
import time
import traceback
from datetime import datetime
from pathlib import Path

import psycopg2.errors
from _odoo_harness import allow_sandbox_endpoints

import odoo
from odoo.tests import Form

CAMPAIGN_CURRENCIES = ["EUR", "GBP", "CAD", "JPY", "SEK", "PLN", "USD", "AUD", "MXN"]


def _env(cr):
    return odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})


def _account(env, opts):
    """The campaign's account, with the client options the campaign chose (timeouts...)."""
    return (
        env["amazon.account"]
        .browse(opts["account_id"])
        .with_context(amazon_client_options=opts.get("client_options") or {})
    )


def setup(registry, opts):
    """An account on the campaign's sandbox (in a new company when ``company`` is given),
    connection checked, window starting at ``since``."""
    with registry.cursor() as cr:
        env = _env(cr)
        company = env.company
        if opts.get("company"):
            company = env["res.company"].create({"name": opts["company"]})
        currencies = (
            env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "in", CAMPAIGN_CURRENCIES)])
        )
        currencies.write({"active": True})
        allow_sandbox_endpoints(env)
        secrets = opts["secrets"]
        account = (
            env["amazon.account"]
            .with_company(company)
            .create(
                {
                    "name": opts["name"],
                    "company_id": company.id,
                    "region": "eu",
                    "seller_id": opts["seller_id"],
                    "lwa_client_id": secrets["client_id"],
                    "lwa_client_secret": secrets["client_secret"],
                    "refresh_token": secrets["refresh_token"],
                    "sp_api_endpoint": opts["url"],
                    "lwa_endpoint": opts["lwa"],
                }
            )
        )
        account.action_check_connection()
        account.last_orders_sync = datetime.fromisoformat(opts["since"])
        for fname in (
            "shipping_product_id",
            "gift_wrap_product_id",
            "promotion_product_id",
            "default_product_id",
        ):
            account[fname].taxes_id = False
        return {
            "account_id": account.id,
            "company_id": company.id,
            "marketplaces": account.active_marketplace_ids.mapped("code"),
        }


def sync(registry, opts):
    """One order sync of the account (``trigger``: manual or cron)."""
    with registry.cursor() as cr:
        outcome = _account(_env(cr), opts)._sync_orders(trigger=opts.get("trigger", "manual"))
        return {
            "counts": dict(outcome.counts),
            "errors": outcome.errors,
            "api_calls": outcome.api_calls,
            "throttled": outcome.throttled,
        }


def sync_pickings(registry, opts):
    """One sync of the account's validated FBM deliveries to Amazon."""
    with registry.cursor() as cr:
        outcome = _account(_env(cr), opts)._sync_pickings(trigger="manual")
        return {
            "counts": dict(outcome.counts),
            "errors": outcome.errors,
            "api_calls": outcome.api_calls,
        }


def cron_loop(registry, opts):
    """The orders job's method called in a loop, as a second scheduler would, bypassing
    Odoo's job lock, until the file ``stop`` exists (or ``max_seconds`` passed)."""
    deadline = time.monotonic() + opts.get("max_seconds", 600)
    stop = Path(opts["stop"])
    rounds = failures = 0
    while not stop.exists() and time.monotonic() < deadline:
        try:
            with registry.cursor() as cr:
                _env(cr)["amazon.account"].with_context(
                    amazon_client_options=opts.get("client_options") or {}
                )._cron_sync_orders()
            rounds += 1
        except Exception:  # noqa: BLE001 - counted and shown, the loop goes on
            failures += 1
            traceback.print_exc()
        time.sleep(opts.get("pause", 0))  # a scheduler's period, not a wait for anything
    return {"rounds": rounds, "failures": failures, "stopped": stop.exists()}


def ship(registry, opts):
    """Validate ``count`` random open FBM deliveries of the account with a carrier and a
    tracking reference, one transaction each, retried on a concurrency error like Odoo
    retries a user's request (odoo.service.model.retrying)."""
    rng = random.Random(opts["seed"])
    with registry.cursor() as cr:
        env = _env(cr)
        carrier = env["delivery.carrier"].search([("name", "=", "DHL")], limit=1)
        if not carrier:
            service = env["product.product"].create(
                {"name": "Campaign delivery", "type": "service"}
            )
            carrier = env["delivery.carrier"].create(
                {"name": "DHL", "product_id": service.id, "delivery_type": "fixed"}
            )
        open_pickings = env["stock.picking"].search(
            [
                ("sale_id.amazon_account_id", "=", opts["account_id"]),
                ("picking_type_code", "=", "outgoing"),
                ("state", "not in", ("done", "cancel")),
                ("sale_id.amazon_status", "in", ("UNSHIPPED", "PARTIALLY_SHIPPED")),
            ]
        )
        chosen = rng.sample(open_pickings.ids, min(opts["count"], len(open_pickings)))
        carrier_id = carrier.id
        cr.commit()
    shipped, refused, retried = [], 0, 0
    for picking_id in chosen:
        for attempt in range(5):
            try:
                with registry.cursor() as cr:
                    _validate(_env(cr)["stock.picking"].browse(picking_id), carrier_id)
                shipped.append(picking_id)
                break
            except psycopg2.errors.SerializationFailure:
                retried += 1
                time.sleep(0.1 * 2**attempt)
            except Exception:  # noqa: BLE001 - a refused delivery is counted and shown
                refused += 1
                traceback.print_exc()
                break
    return {"shipped": shipped, "refused": refused, "retried": retried, "open": len(open_pickings)}


def _validate(picking, carrier_id):
    picking.carrier_id = carrier_id
    picking.carrier_tracking_ref = f"JJD{picking.id:012d}"
    for move in picking.move_ids:
        move.quantity = move.product_uom_qty
        move.picked = True
    res = picking.with_context(skip_sms=True).button_validate()
    if isinstance(res, dict) and res.get("res_model") == "stock.backorder.confirmation":
        wizard = Form(picking.env[res["res_model"]].with_context(**res["context"]))
        wizard.save().process()


def dump(registry, opts):
    """What Odoo holds for the account: sale orders, validated FBM deliveries, sync runs,
    failures, chatter messages."""
    with registry.cursor() as cr:
        env = _env(cr)
        account = env["amazon.account"].browse(opts["account_id"])
        orders = env["sale.order"].search([("amazon_account_id", "=", account.id)])
        runs = env["amazon.sync.run"].search([("account_id", "=", account.id)])
        failures = env["amazon.order.failure"].search([("account_id", "=", account.id)])
        messages = env["mail.message"].search(
            [("model", "in", ("amazon.account", "sale.order", "amazon.sync.run"))]
        )
        return {
            "last_orders_sync": account.last_orders_sync.isoformat(),
            "order_ids": orders.ids,
            "picking_ids": orders.picking_ids.ids,
            "orders": [
                {
                    "ref": so.amazon_order_ref,
                    "status": so.amazon_status,
                    "total": str(so.amazon_total),
                    "state": so.state,
                }
                for so in orders
            ],
            "pickings": [
                {
                    "id": p.id,
                    "ref": p.sale_id.amazon_order_ref,
                    "state": p.state,
                    "sync": p.amazon_sync_status or "",
                    "attempts": p.amazon_sync_attempts,
                }
                for p in orders.picking_ids
                if p.picking_type_code == "outgoing" and p.state == "done"
            ],
            "runs": [
                {
                    "kind": r.kind,
                    "state": r.state,
                    "created": r.created_count,
                    "trigger": r.trigger,
                    "error": r.error_summary or "",
                }
                for r in runs
            ],
            "failures": [
                {"ref": f.order_ref, "state": f.state, "error": f.error} for f in failures
            ],
            "messages": [m.body or "" for m in messages],
        }


def progress(registry, opts):
    """Where a sync of the account stands, as other transactions see it: its committed sale
    orders, its last sync run, Last Order Sync, and the sale order id sequence (which moves
    when the sync creates a sale order, committed or not)."""
    with registry.cursor() as cr:
        env = _env(cr)
        account = env["amazon.account"].browse(opts["account_id"])
        runs = env["amazon.sync.run"].search(
            [("account_id", "=", account.id), ("kind", "=", "orders")], order="id desc"
        )
        cr.execute("SELECT last_value FROM sale_order_id_seq")
        sequence = cr.fetchone()[0]
        return {
            "committed": env["sale.order"].search_count([("amazon_account_id", "=", account.id)]),
            "sequence": sequence,
            "last_run": runs[:1].id,
            "running": len(runs.filtered(lambda r: r.state == "running")),
            "last_orders_sync": account.last_orders_sync.isoformat(),
        }


def cron_jobs(registry, opts):
    """The addon's scheduled actions, made due every minute from now on."""
    with registry.cursor() as cr:
        env = _env(cr)
        ids = env["ir.model.data"].search(
            [("module", "=", opts["module"]), ("model", "=", "ir.cron")]
        )
        jobs = env["ir.cron"].browse(ids.mapped("res_id"))
        jobs.write(
            {
                "interval_number": 1,
                "interval_type": "minutes",
                "nextcall": odoo.fields.Datetime.now(),
            }
        )
        return {"jobs": {job.id: job.name for job in jobs}}


def trigger_crons(registry, opts):
    """Trigger the jobs ``ids`` now, as ``ir.cron._trigger`` does (a trigger row and the
    ``cron_trigger`` notification the cron workers listen to)."""
    with registry.cursor() as cr:
        for job in _env(cr)["ir.cron"].browse(opts["ids"]):
            job._trigger()
        return {}


def only_account(registry, opts):
    """Archive every other account: the cron syncs every active account, and the sandboxes
    of the other campaigns are gone."""
    with registry.cursor() as cr:
        env = _env(cr)
        others = env["amazon.account"].search([("id", "!=", opts["account_id"])])
        others.write({"active": False})
        return {"archived": len(others)}


def security(registry, opts):
    """Users of company A (sales, stock, sales manager; an administrator for the legitimate
    path) for the access checks over RPC, and what the attacks aim at: company B's account
    (its seller and marketplaces, its stock location), a fee mapping, a delivery of an
    Amazon order validated and waiting to be sent."""
    with registry.cursor() as cr:
        env = _env(cr)
        account_a = env["amazon.account"].browse(opts["account_id"])
        company_a = account_a.company_id
        company_b = env["res.company"].browse(opts["company_b"])
        account_b = env["amazon.account"].browse(opts["account_b"])
        users = {}
        for login, groups in (
            ("campaign_sales_a", ["sales_team.group_sale_salesman", "base.group_allow_export"]),
            ("campaign_stock_a", ["stock.group_stock_user", "base.group_allow_export"]),
            ("campaign_manager_a", ["sales_team.group_sale_manager"]),
            (
                "campaign_admin_a",
                [
                    "base.group_system",
                    "sales_team.group_sale_manager",
                    "account.group_account_manager",
                    "stock.group_stock_manager",
                ],
            ),
        ):
            user = env["res.users"].create(
                {
                    "name": login,
                    "login": login,
                    "email": f"{login}@campaign.example.com",  # chatter messages need one
                    "password": login + "-pw",
                    "company_id": company_a.id,
                    "company_ids": [(6, 0, company_a.ids)],
                    "groups_id": [
                        (6, 0, [env.ref(group).id for group in ["base.group_user", *groups]])
                    ],
                }
            )
            users[login] = user.id
        fee_product = env["product.product"].create({"name": "Campaign fee", "type": "service"})
        mapping = env["amazon.fee.mapping"].create(
            {
                "amazon_account_id": account_a.id,
                "fee_type": "CampaignFee",
                "product_id": fee_product.id,
            }
        )
        journal = env["account.journal"].search(
            [("company_id", "=", company_a.id), ("type", "=", "bank")], limit=1
        )
        expense = env["account.account"].search(
            [("company_id", "=", company_a.id), ("account_type", "=", "expense")], limit=1
        )
        pending = env["stock.picking"].search(
            [
                ("sale_id.amazon_account_id", "=", account_a.id),
                ("picking_type_code", "=", "outgoing"),
                ("state", "not in", ("done", "cancel")),
                ("sale_id.amazon_status", "in", ("UNSHIPPED", "PARTIALLY_SHIPPED")),
            ],
            limit=1,
        )
        if pending:
            # Validated; sent by the stock user's retry (no cron runs on the RPC server).
            service = env["product.product"].create({"name": "Campaign carrier", "type": "service"})
            carrier = env["delivery.carrier"].create(
                {"name": "Campaign carrier", "product_id": service.id, "delivery_type": "fixed"}
            )
            _validate(pending, carrier.id)
        warehouse_b = env["stock.warehouse"].search([("company_id", "=", company_b.id)], limit=1)
        return {
            "users": users,
            "company_a": company_a.id,
            "company_b": company_b.id,
            "seller_b": account_b.seller_id,
            "marketplaces_b": account_b.active_marketplace_ids.ids,
            "location_b": warehouse_b.lot_stock_id.id,
            "customers": env.ref("stock.stock_location_customers").id,
            "mapping": mapping.id,
            "journal": journal.id,
            "expense": expense.id,
            "product": fee_product.id,
            "picking": pending.id,
        }


ACTIONS = {
    action.__name__: action
    for action in (
        setup,
        sync,
        sync_pickings,
        cron_loop,
        ship,
        dump,
        progress,
        cron_jobs,
        trigger_crons,
        only_account,
        security,
    )
}

# the notifications campaign's and bench-freshness's actions (their own file)
from _notifications_odoo import ACTIONS as NOTIFICATION_ACTIONS  # noqa: E402

ACTIONS.update(NOTIFICATION_ACTIONS)
