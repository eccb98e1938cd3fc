"""The inside-Odoo half of scripts/test, scripts/demo and scripts/campaign.

Run as ``python scripts/_odoo_shell.py COMMAND '<json options>'`` with Odoo importable (the
scripts set PYTHONPATH; ``_odoo_harness.Odoo.shell`` builds the command line). Options:
``args`` (the odoo-bin arguments: config, addons path, database server, ``-d DB``), ``db``
and the command's own. Commands:

* ``uninstall-check``: uninstalls the addon, then prints one ``UNINSTALL PROBLEM: ...`` line
  per leftover (module state, ``amazon.*`` models, tables, columns, XML ids) and
  ``UNINSTALL OK`` or ``UNINSTALL FAILED``;
* ``demo-setup``: the demo's account, connection check, order sync, FBM shipments,
  pickings sync and one invoice uploaded to Amazon; prints ``DEMO STEP`` lines and one
  ``DEMO RESULT <json>`` line;
* ``serve``: the campaigns' Odoo process (see :func:`serve`).
"""

import json
import os
import select
import signal
import sys
import time
import traceback
import urllib.request
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from _odoo_harness import allow_sandbox_endpoints

import odoo
from odoo import fields
from odoo.tools import config

MODULE = "sale_amazon_connector"


def load(opts):
    """Odoo configured as the scripts' odoo-bin processes are; the database's registry."""
    config.parse_config(opts["args"])
    odoo.service.server.load_server_wide_modules()
    return odoo.modules.registry.Registry(opts["db"])


def superuser_env(cr):
    return odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})


# --- uninstall-check -----------------------------------------------------------------------------
def uninstall_check(opts):
    registry = load(opts)
    with registry.cursor() as cr:
        module = superuser_env(cr)["ir.module.module"].search([("name", "=", MODULE)])
        module.button_immediate_uninstall()
    problems = []
    registry = odoo.modules.registry.Registry(opts["db"])
    with registry.cursor() as cr:
        cr.execute("SELECT state FROM ir_module_module WHERE name = %s", [MODULE])
        state = cr.fetchone()[0]
        if state != "uninstalled":
            problems.append(f"module state is {state!r}")
        cr.execute("SELECT model FROM ir_model WHERE model LIKE 'amazon.%%'")
        problems += [f"model {row[0]} left" for row in cr.fetchall()]
        cr.execute(
            "SELECT table_name FROM information_schema.tables "
            r"WHERE table_schema = 'public' AND table_name LIKE 'amazon\_%%'"
        )
        problems += [f"table {row[0]} left" for row in cr.fetchall()]
        cr.execute(
            "SELECT table_name || '.' || column_name FROM information_schema.columns "
            r"WHERE table_schema = 'public' AND column_name LIKE 'amazon\_%%'"
        )
        problems += [f"column {row[0]} left" for row in cr.fetchall()]
        cr.execute("SELECT count(*) FROM ir_model_data WHERE module = %s", [MODULE])
        left = cr.fetchone()[0]
        if left:
            problems.append(f"{left} ir.model.data records left")
    for problem in problems:
        print("UNINSTALL PROBLEM: " + problem, flush=True)
    print("UNINSTALL " + ("FAILED" if problems else "OK"), flush=True)


# --- demo-setup ----------------------------------------------------------------------------------
def demo_setup(opts):
    registry = load(opts)
    result = {"steps": {}, "notes": []}

    def step(name, started):
        result["steps"][name] = round(time.monotonic() - started, 1)
        print("DEMO STEP %s %.1f s" % (name, result["steps"][name]), flush=True)

    with registry.cursor() as cr:
        env = superuser_env(cr)
        admin = env.ref("base.user_admin")
        groups = ("sales_team.group_sale_manager", "stock.group_stock_manager", "base.group_user")
        env["res.users"].with_context(no_reset_password=True).create(
            {
                "name": "Vendedor Amazon",
                "login": opts["spanish_login"],
                "password": opts["spanish_login"],
                "lang": "es_ES",
                "tz": "Europe/Madrid",
                "groups_id": [(6, 0, [env.ref(group).id for group in groups])],
            }
        )
        # --load-language on a new database makes Spanish its only language: bring English
        # back for the administrator (the README is English), Spanish stays for the seller.
        env["res.lang"]._activate_lang("en_US")
        admin.lang = "en_US"
        env = env(user=admin)
        started = time.monotonic()
        allow_sandbox_endpoints(env)
        account = env["amazon.account"].create(
            {
                "name": "Sandbox Store",
                "seller_id": "A2SANDBOX0SELLER",
                "region": "eu",
                "lwa_client_id": "amzn1.application-oa2-client.demo",
                "lwa_client_secret": "demo-client-secret",
                "refresh_token": "Atzr|demo-refresh-token",
                "sp_api_endpoint": opts["sandbox_url"],
                "lwa_endpoint": opts["lwa_url"],
                "user_id": admin.id,
                "last_orders_sync": fields.Datetime.now() - timedelta(days=opts["days"] + 1),
            }
        )
        account.action_check_connection()
        result["marketplaces"] = account.active_marketplace_ids.mapped("name")
        # What an integrator does first: activate the currencies of the marketplaces (orders
        # in an inactive currency are recorded as failed and retried at the next sync).
        currencies = account.active_marketplace_ids.with_context(active_test=False).currency_id
        currencies.filtered(lambda c: not c.active).active = True
        cr.commit()
        step("connection", started)

        if opts.get("sqs"):  # Amazon's order notifications through the demo's SQS server
            started = time.monotonic()
            sqs = opts["sqs"]
            account.write(
                {
                    "sqs_queue_url": sqs["queue_url"],
                    "sqs_region": sqs["region"],
                    "sqs_endpoint": sqs["endpoint"],
                    "aws_access_key_id": sqs["access_key_id"],
                    "aws_secret_access_key": sqs["secret_access_key"],
                }
            )
            account.action_setup_notifications()
            result["notifications"] = account.notifications_active
            cr.commit()
            step("notifications set-up", started)

        started = time.monotonic()
        outcome = account._sync_orders(trigger="manual")
        result["sync_errors"] = outcome.errors
        cr.commit()
        step("orders sync", started)

        orders = env["sale.order"].search([("amazon_account_id", "=", account.id)])
        started = time.monotonic()
        result["shipped"], pickings = _demo_ship(env, orders, opts["ship"], result["notes"])
        cr.commit()
        account.action_sync_pickings()
        cr.commit()
        pickings.invalidate_recordset()
        result["pickings"] = dict(Counter(p.amazon_sync_status or "none" for p in pickings))
        step("shipments", started)

        started = time.monotonic()
        result["invoice_upload"] = _demo_invoice_upload(env, account, pickings, opts)
        cr.commit()
        step("invoice upload", started)
        result["refund"] = _demo_refund(env, account, orders, opts["sandbox_url"], result["notes"])
        cr.commit()
        step("refund", started)

        orders.invalidate_recordset()
        per_status = Counter((o.amazon_status or "?", o.amazon_channel or "?") for o in orders)
        result["orders"] = [[s, c, n] for (s, c), n in sorted(per_status.items())]
        result["orders_total"] = len(orders)
        result["failures"] = env["amazon.order.failure"].search_count(
            [("account_id", "=", account.id), ("state", "=", "open")]
        )
        result["runs"] = [
            {
                "kind": run.kind,
                "state": run.state,
                "duration": run.duration,
                "created": run.created_count,
                "updated": run.updated_count,
                "cancelled": run.cancelled_count,
                "failed": run.failed_count,
                "api_calls": run.api_calls,
                "throttled": run.throttled_count,
            }
            for run in account.sync_run_ids.sorted("id")
        ]
        result["account_id"] = account.id
    print("DEMO RESULT " + json.dumps(result), flush=True)


def _demo_invoice_upload(env, account, pickings, opts):
    """Turn the account's invoice upload on, invoice one shipped order of an EU
    marketplace, upload it, move the sandbox's clock past Amazon's processing and read its
    verdict; return what the invoice shows (empty when no order qualifies)."""
    account.upload_invoices = True
    orders = pickings.filtered(lambda p: p.amazon_sync_status == "done").sale_id.filtered(
        lambda o: (
            o.amazon_marketplace_id.code in ("ES", "DE", "FR", "IT", "UK")
            and o.invoice_status == "to invoice"
        )
    )
    if not orders:
        return {}
    invoice = orders[0]._create_invoices()
    invoice.action_post()
    account._upload_invoices(trigger="manual")
    request = urllib.request.Request(
        opts["sandbox_url"] + "/_sandbox/advance",
        data=json.dumps({"seconds": 600}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()
    account._upload_invoices(trigger="manual")
    return {
        "invoice": invoice.name,
        "order": orders[0].amazon_order_ref,
        "marketplace": orders[0].amazon_marketplace_id.code,
        "state": invoice.amazon_upload_state,
        "error": invoice.amazon_upload_error or "",
    }


def _demo_ship(env, orders, count, notes):
    """Validate ``count`` FBM deliveries with a carrier and a tracking reference each;
    return (how many were validated, the deliveries tried)."""
    carrier_product = env["product.product"].create(
        {"name": "Demo shipping", "type": "service", "list_price": 0.0}
    )
    carriers = [
        env["delivery.carrier"].create(
            {"name": name, "product_id": carrier_product.id, "delivery_type": "fixed"}
        )
        for name in ("UPS", "Correos", "Self Delivery")
    ]
    pickings = orders.filtered(lambda o: o.amazon_channel == "fbm").picking_ids.filtered(
        lambda p: p.picking_type_code == "outgoing" and p.state not in ("done", "cancel")
    )[:count]
    shipped = 0
    for index, picking in enumerate(pickings):
        try:
            with env.cr.savepoint():
                picking.write(
                    {
                        "carrier_id": carriers[index % len(carriers)].id,
                        "carrier_tracking_ref": "1Z999AA1%010d" % picking.id,
                    }
                )
                for move in picking.move_ids:
                    move.quantity = move.product_uom_qty
                picking.move_ids.picked = True
                picking.with_context(
                    skip_backorder=True, skip_sms=True, skip_immediate=True
                ).button_validate()
                shipped += 1
        except Exception as exc:  # noqa: BLE001 - a demo goes on: say it, keep the others
            notes.append(f"picking {picking.name} not validated: {exc}")
    return shipped, pickings


def _demo_refund(env, account, orders, sandbox_url, notes):
    """Invoice one shipped FBA order, have Amazon (the sandbox) refund one unit of its
    first item, and turn the refund into a credit note; what happened, for the summary."""
    order = orders.filtered(
        lambda o: (
            o.amazon_channel == "fba" and o.amazon_status == "SHIPPED" and not o.amazon_is_business
        )
    )[:1]
    item = order.order_line.filtered("amazon_item_ref")[:1]
    if not item:
        notes.append("no shipped FBA order to refund")
        return None
    try:
        invoice = order._create_invoices()
        invoice.action_post()
        body = {"itemIds": [item.amazon_item_ref], "quantities": {item.amazon_item_ref: 1}}
        request = urllib.request.Request(
            f"{sandbox_url}/_sandbox/orders/{order.amazon_order_ref}/refund",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=30).close()
        account._sync_refunds(trigger="manual", order_refs=[order.amazon_order_ref])
    except Exception as exc:  # noqa: BLE001 - a demo goes on: say it
        notes.append(f"refund of {order.amazon_order_ref} not credited: {exc}")
        return None
    refund = env["amazon.refund"].search([("sale_order_id", "=", order.id)], limit=1)
    note = refund.credit_note_id
    return {
        "order": order.amazon_order_ref,
        "amazon": refund.amount_total,
        "currency": refund.currency_id.name,
        "state": refund.state,
        "credit_note": note.name,
        "credit_note_total": note.amount_total,
        "credit_note_state": note.state,
    }


# --- serve ---------------------------------------------------------------------------------------
def serve(opts):
    """The campaigns' Odoo process: the registry is loaded once, then every request runs
    one action of ``_campaign_odoo.ACTIONS``.

    Requests are JSON lines on stdin: ``{"id", "action", "opts", "log", "fork"}``. Without
    ``fork`` the action runs here, its log records going to the file ``log``, and the answer
    is ``{"id", "result"}`` or ``{"id", "error"}``. With ``fork`` it runs in a child process
    forked from this one (as Odoo's prefork server forks its workers after loading the
    registry, the connection pool emptied first); the answer ``{"id", "pid"}`` comes at once
    and ``{"id", "exit", "result"}`` when the child ended (``exit`` < 0: killed by that
    signal). The campaigns kill such children with SIGKILL. Answers are JSON lines on stdout;
    everything else this process prints goes to stderr. EOF on stdin stops the service.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _campaign_odoo import ACTIONS

    registry = load(opts)
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # a stray print must never break the protocol
    children = {}  # pid -> (request id, result file)

    def answer(message):
        answers.write(json.dumps(message) + "\n")

    answer({"ready": os.getpid()})
    pending = b""
    while True:
        _reap(children, answer)
        readable, _, _ = select.select([0], [], [], 0.05 if children else None)
        if not readable:
            continue
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            registry = registry.check_signaling()
            if request.get("fork"):
                answer(_fork(registry, ACTIONS, request, children, answers))
            else:
                answer(_run_here(registry, ACTIONS, request))
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    while children:
        _reap(children, answer)
        time.sleep(0.05)


@contextmanager
def _logs_to(path):
    """This process's stderr (Odoo's log handler) appended to ``path`` meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(target, 2)
    os.close(target)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _run_here(registry, actions, request):
    with _logs_to(request["log"]):
        try:
            result = actions[request["action"]](registry, request.get("opts") or {})
        except Exception:  # noqa: BLE001 - the driver reports it, the service goes on
            registry.reset_changes()
            traceback.print_exc()
            return {"id": request["id"], "error": traceback.format_exc().splitlines()[-1]}
        registry.signal_changes()
        return {"id": request["id"], "result": result}


def _fork(registry, actions, request, children, answers):
    result_file = f"{request['log']}.{request['id']}.json"
    odoo.sql_db.close_all()  # the child opens its own connections
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        children[pid] = (request["id"], result_file)
        return {"id": request["id"], "pid": pid}
    code = 1
    try:
        answers.close()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        print(f"RUNNER READY {request['action']} pid {os.getpid()}", flush=True)
        result = actions[request["action"]](registry, request.get("opts") or {})
        Path(result_file + ".part").write_text(json.dumps(result))
        os.rename(result_file + ".part", result_file)
        code = 0
    except BaseException:  # noqa: BLE001 - the child must end here, whatever happened
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap(children, answer):
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if not pid:
            return
        request_id, result_file = children.pop(pid)
        result = None
        if os.path.exists(result_file):
            result = json.loads(Path(result_file).read_text())
        answer({"id": request_id, "exit": os.waitstatus_to_exitcode(status), "result": result})


COMMANDS = {"uninstall-check": uninstall_check, "demo-setup": demo_setup, "serve": serve}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](json.loads(sys.argv[2]))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip the interpreter's slow teardown of the registry
