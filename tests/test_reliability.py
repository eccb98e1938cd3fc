# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The short version of the reliability campaigns, in-process through the sandbox:
the bad-input corpus, security (credentials, logs, multi-company) and faults in miniature.
The long, multi-process campaigns are ``scripts/campaign``."""

import logging
import re
from datetime import timezone

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import AmazonSyncCase

try:
    from ..sp_sandbox import checks, data, render
    from ..sp_sandbox.corpus import corpus
except ImportError:  # AmazonSyncCase is skipped without the sandbox
    checks = data = render = corpus = None

UNCLEAR = re.compile(
    r"Traceback|NoneType|object has no attribute|psycopg2|violates|KeyError|IndexError|"
    r"TypeError|ValueError|unsupported operand",
)
CONTROL_REF = "171-9999999-0000001"
FAST_CLIENT = {"timeout": 0.5, "max_attempts": 3, "max_retry_seconds": 3.0}


class LogCapture(logging.Handler):
    """Collect every record of the loggers the sync goes through, DEBUG included."""

    NAMES = ("odoo.addons.sale_amazon_connector", "sp_api", "httpx", "httpcore", "urllib3")

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []
        self._saved = []

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a broken record must not break the test
            self.lines.append(str(record.msg))

    def __enter__(self):
        for name in self.NAMES:
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.level, logger.propagate))
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
            logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        for logger, level, propagate in self._saved:
            logger.removeHandler(self)
            logger.setLevel(level)
            logger.propagate = propagate

    def text(self):
        return "\n".join(self.lines)


class ReliabilityCase(AmazonSyncCase):
    def odoo_orders(self):
        return [
            {"ref": so.amazon_order_ref, "status": so.amazon_status, "total": so.amazon_total}
            for so in self.env["sale.order"].search([("amazon_account_id", "=", self.account.id)])
        ]

    def check(self):
        """The campaigns' checks at the account's window end; returns the result."""
        end = self.account.last_orders_sync.replace(tzinfo=timezone.utc)
        state = self.sandbox.state
        amazon = [checks_row(view) for view in state.views(end)]
        now = [checks_row(view) for view in state.views()]
        return checks.compare(amazon, self.odoo_orders(), amazon_now=now)


def checks_row(view):
    rendered = render.order_v2026(view, {"PROCEEDS"})
    return {
        "orderId": view.order_id,
        "status": view.status,
        "fulfilledBy": view.record["fulfilledBy"],
        "total": rendered["proceeds"]["grandTotal"]["amount"],
    }


@tagged("post_install", "-at_install")
class TestBadInput(ReliabilityCase):
    def _serve_corpus(self):
        created = self.add_order(CONTROL_REF)
        template = render.order_v2026(self.sandbox.state.view(CONTROL_REF), set(data.INCLUDED_DATA))
        cases = corpus(template)
        when = created.replace(tzinfo=timezone.utc)
        for index, case in enumerate(cases):
            key = self.sandbox.state.add_raw_order(case["order"], when=when)
            case["key"] = key
            case["ref"] = case["order"].get("orderId") if isinstance(case["order"], dict) else None
            if index == len(cases) // 2:
                # an ordinary order in the middle of the bad ones, on the same page
                self.add_order("171-9999999-0000002")
        self.sandbox.state.advance(600)
        return cases

    def test_corpus_each_order_syncs_or_fails_clearly_and_the_page_goes_on(self):
        self.env.ref("base.CHF").active = False
        cases = self._serve_corpus()
        self.assertGreaterEqual(len(cases), 30)
        start = self.account.last_orders_sync
        result = self.sync()
        self.assertTrue(self.amazon_order(CONTROL_REF), "the ordinary orders sync")
        self.assertTrue(self.amazon_order("171-9999999-0000002"))
        Failure = self.env["amazon.order.failure"]
        problems = []
        for case in cases:
            ref = case["ref"] if isinstance(case["ref"], str) else None
            order = self.amazon_order(ref) if ref else self.env["sale.order"]
            failure = Failure.search(
                [("account_id", "=", self.account.id), ("order_ref", "=", ref or "<unknown>")]
            )
            got = "sync" if order else ("fail" if failure else "skip")
            expect = case["expect"]
            if order and failure.filtered(lambda f: f.state == "open"):
                problems.append(f"{case['label']}: both a sale order and an open failure")
            if expect == "either" and got == "skip" or expect not in ("either", got):
                problems.append(f"{case['label']}: expected {expect}, got {got}")
            if failure and (not failure.error or UNCLEAR.search(failure.error)):
                problems.append(f"{case['label']}: unclear reason {failure.error!r}")
            if order:
                self.assertEqual(order.state, "sale", case["label"])
                self.assertEqual(len(order), 1, case["label"])
        self.assertFalse(problems, "\n".join(problems))
        self.assertGreater(result["failed"], 0)
        # Orders without an id cannot be retried one by one: the window stays where it was
        # so that the next run reads them again rather than losing them.
        self.assertEqual(self.account.last_orders_sync, start)
        # A second run creates nothing twice and still syncs what is sensible.
        again = self.sync()
        self.assertEqual(again["created"], 0)

    def test_order_without_reference_holds_the_window_a_few_runs_only(self):
        created = self.add_order(CONTROL_REF)
        body = render.order_v2026(self.sandbox.state.view(CONTROL_REF), set(data.INCLUDED_DATA))
        body.pop("orderId")
        self.sandbox.state.add_raw_order(body, when=created.replace(tzinfo=timezone.utc))
        self.sandbox.state.advance(600)
        start = self.account.last_orders_sync
        for run in range(1, 4):
            counts = self.sync()
            self.assertEqual(counts["unidentified"], 1)
            self.assertEqual(self.account.last_orders_sync, start, f"run {run} holds")
            self.assertEqual(self.account.orders_window_holds, run)
        self.assertEqual(len(self.amazon_order(CONTROL_REF)), 1, "its page still syncs")
        self.sync()
        self.assertGreater(self.account.last_orders_sync, start, "the fourth run moves on")
        self.assertEqual(self.account.orders_window_holds, 0)
        failure = self.env["amazon.order.failure"].search(
            [("account_id", "=", self.account.id), ("order_ref", "=", "<unknown>")]
        )
        self.assertEqual(failure.state, "open")
        self.assertIn("moved on", failure.error)
        self.assertIn("Recover Order", failure.error)
        self.assertEqual(len(self.amazon_order(CONTROL_REF)), 1)

    def test_duplicate_order_in_one_page_gives_one_sale_order(self):
        created = self.add_order(CONTROL_REF)
        body = render.order_v2026(self.sandbox.state.view(CONTROL_REF), set(data.INCLUDED_DATA))
        self.sandbox.state.add_raw_order(body, when=created.replace(tzinfo=timezone.utc))
        self.sandbox.state.advance(600)
        self.sync()
        self.assertEqual(len(self.amazon_order(CONTROL_REF)), 1)


@tagged("post_install", "-at_install")
class TestFaultsMiniature(ReliabilityCase):
    """Faults in miniature: every kind of fault on a small backlog, then a clean sync."""

    def test_faults_then_clean_sync_lose_and_duplicate_nothing(self):
        self._faults_then_clean_sync("171-8000000")

    def test_faults_without_window_echo_and_with_itemized_proceeds(self):
        # The other answers to the questions Amazon's models leave open: the window end is
        # not echoed, the tax is added on top of the item amounts.
        conventions = self.sandbox.state.conventions
        self.addCleanup(conventions.set, window_echo=True, proceeds="tax_included")
        conventions.set(window_echo=False, proceeds="itemized")
        self._faults_then_clean_sync("171-8100000")

    def _faults_then_clean_sync(self, prefix):
        for index in range(24):
            fba = index % 3 == 0
            self.add_order(
                f"{prefix}-{index:07d}",
                marketplace=("ES", "DE", "UK")[index % 3],
                fulfilled_by="AMAZON" if fba else "MERCHANT",
                events=[(0, "PENDING"), (60, "SHIPPED" if fba else "UNSHIPPED")]
                + ([(900, "CANCELLED")] if index % 7 == 1 else []),
                items=[{"sku": "MUG-RED", "quantity": 1 + index % 3, "unitPrice": "12.10"}],
            )
        faults = self.sandbox.faults
        faults.seed(8)
        for kind, probability in (
            ("429", 0.3),
            ("500", 0.15),
            ("503", 0.15),
            ("reset", 0.1),
            ("malformed", 0.1),
            ("missing_field", 0.1),
        ):
            faults.add(operation="*", kind=kind, probability=probability)
        faults.add(operation="searchOrders", kind="slow", probability=0.2, delay=1.5)
        account = self.account.with_context(amazon_client_options=FAST_CLIENT)
        self.sandbox.state.advance(1800)
        errors = 0
        with LogCapture() as logs:
            for _cycle in range(6):
                outcome = account._sync_orders()
                errors += bool(outcome.errors)
                self.sandbox.state.advance(300)
            faults.clear()
            self.sandbox.state.advance(600)
            outcome = account._sync_orders()
        self.assertFalse(outcome.errors, outcome.errors)
        result = self.check()
        self.assertEqual(
            (result["lost"], result["duplicated"], result["mismatched"]),
            (0, 0, 0),
            "\n".join(result["details"]),
        )
        self.assertGreater(result["odoo_orders"], 15)
        text = logs.text()
        for secret in self.credentials.values():
            self.assertNotIn(secret, text)
        self.assertNotIn("Atza|", text, "no access token in the logs")
        self.assertNotIn("María García", text, "no buyer name in the logs")
        self.assertNotIn("Calle Mayor", text, "no buyer address in the logs")


@tagged("post_install", "-at_install")
class TestCrashLeftovers(ReliabilityCase):
    def test_run_left_running_by_a_dead_process_is_closed_by_the_next_one(self):
        dead = self.env["amazon.sync.run"].create(
            {"account_id": self.account.id, "kind": "orders", "trigger": "cron"}
        )
        self.assertEqual(dead.state, "running")
        self.sync()
        self.assertEqual(dead.state, "error")
        self.assertIn("Interrupted", dead.error_summary)
        latest = self.env["amazon.sync.run"].search([("account_id", "=", self.account.id)], limit=1)
        self.assertEqual(latest.state, "done")


@tagged("post_install", "-at_install")
class TestSecurity(ReliabilityCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stock_user = cls._create_user("amazon_stock_user", "stock.group_stock_user")
        export = cls.env.ref("base.group_allow_export")
        (cls.salesperson | cls.stock_user).groups_id = [Command.link(export.id)]
        cls.company_b = cls._create_company("Amazon Company B")
        cls.account_b = cls._create_account(
            name="Amazon B", company=cls.company_b, seller_id="A1SELLERTESTB"
        )
        cls.account_b.write(
            {
                "available_marketplace_ids": [Command.set(cls.account.active_marketplace_ids.ids)],
                "active_marketplace_ids": [Command.set(cls.account.active_marketplace_ids.ids)],
            }
        )

    def test_sales_and_inventory_users_cannot_read_or_export_credentials(self):
        secret_fields = ["lwa_client_id", "lwa_client_secret", "refresh_token"]
        for user in (self.salesperson, self.stock_user):
            account = self.account.with_user(user)
            Account = self.env["amazon.account"].with_user(user)
            self.assertTrue(account.read(["name"]), "they can read the account itself")
            for fname in secret_fields:
                with self.assertRaises(AccessError, msg=f"{user.login} read {fname}"):
                    account.read([fname])
                with self.assertRaises(AccessError, msg=f"{user.login} search_read {fname}"):
                    Account.search_read([], [fname])
                with self.assertRaises(AccessError, msg=f"{user.login} export {fname}"):
                    account.export_data([fname])
                self.assertNotIn(fname, Account.fields_get())
            for view_type in ("form", "tree"):
                arch = Account.get_views([(False, view_type)])["views"][view_type]["arch"]
                for fname in secret_fields:
                    self.assertNotIn(f'name="{fname}"', arch, f"{view_type} shows {fname}")

    def test_user_of_company_a_cannot_see_or_sync_company_b(self):
        self.add_order("171-7000000-0000001")
        self.account_b.last_orders_sync = self.account.last_orders_sync
        self.account_b._sync_orders()
        b_orders = self.env["sale.order"].search([("amazon_account_id", "=", self.account_b.id)])
        self.assertTrue(b_orders)
        user = self.salesperson
        self.assertNotIn(self.account_b, self.env["amazon.account"].with_user(user).search([]))
        self.assertFalse(
            self.env["sale.order"].with_user(user).search([("id", "in", b_orders.ids)])
        )
        self.assertFalse(
            self.env["stock.picking"]
            .with_user(user)
            .search([("id", "in", b_orders.picking_ids.ids)])
        )
        with self.assertRaises(AccessError):
            self.account_b.with_user(user).action_sync_orders()
        manager = self._create_user("amazon_manager_a", "sales_team.group_sale_manager")
        with self.assertRaises(AccessError):
            self.account_b.with_user(manager).action_sync_orders()

    def test_no_secret_token_or_buyer_data_in_logs_or_chatter(self):
        self.add_order("171-7000000-0000002")
        self.sandbox.faults.add(operation="searchOrders", kind="500", count=1)
        self.sandbox.faults.add(operation="lwa", kind="reset", count=1)
        with LogCapture() as logs:
            self.account.with_context(amazon_client_options=FAST_CLIENT)._sync_orders()
            self.account.action_check_connection()
        self.assertTrue(self.amazon_order("171-7000000-0000002"))
        messages = self.env["mail.message"].search(
            [("model", "in", ("amazon.account", "sale.order", "amazon.sync.run"))]
        )
        chatter = "\n".join(messages.mapped(lambda m: str(m.body or "")))
        text = logs.text()
        self.assertTrue(text, "the sync logged something")
        for secret in self.credentials.values():
            self.assertNotIn(secret, text)
            self.assertNotIn(secret, chatter)
        for needle in ("Atza|", "Atz.sprdt|"):
            self.assertNotIn(needle, text)
            self.assertNotIn(needle, chatter)
        for pii in ("María García", "Calle Mayor", "+34 600 000 000"):
            self.assertNotIn(pii, text)
        runs = self.env["amazon.sync.run"].search([("account_id", "=", self.account.id)])
        summaries = "\n".join(runs.mapped(lambda r: r.error_summary or ""))
        for secret in self.credentials.values():
            self.assertNotIn(secret, summaries)
