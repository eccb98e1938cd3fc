# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who may steer an Amazon account: credentials and endpoints (system administrators),
accounting settings (accounting managers), the FBA stock location (checked server side)."""

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from ..models.const import ALLOW_SANDBOX_PARAM
from . import test_stock
from .common import AmazonTestCommon

SYSTEM_VALUES = {
    "lwa_client_id": "amzn1.application-oa2-client.attacker",
    "lwa_client_secret": "attacker-secret",
    "refresh_token": "Atzr|attacker",
    "sp_api_endpoint": "https://sellingpartnerapi-eu.amazon.com",
    "lwa_endpoint": "https://api.amazon.com/auth/o2/token",
}


@tagged("post_install", "-at_install")
class TestAccountFieldSecurity(AmazonTestCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls._create_user("amazon_sec_manager", "sales_team.group_sale_manager")
        cls.accountant = cls._create_user(
            "amazon_sec_accountant", "sales_team.group_sale_manager,account.group_account_manager"
        )
        cls.Account = cls.env["amazon.account"].with_user(cls.manager)

    def field_label(self, fname):
        return self.env["amazon.account"]._fields[fname].string

    # --- Credentials and endpoints: system administrators only -----------------------------
    def test_sales_manager_cannot_create_with_credentials_or_endpoints(self):
        for fname, value in SYSTEM_VALUES.items():
            with self.subTest(fname), self.assertRaises(AccessError) as caught:
                self.Account.create({"name": "Evil", fname: value})
            self.assertIn(self.field_label(fname), str(caught.exception))
        # Without them, a sales manager still creates accounts.
        self.assertTrue(self.Account.create({"name": "Plain account"}))

    def test_sales_manager_cannot_copy_with_credentials_or_endpoints(self):
        for fname, value in SYSTEM_VALUES.items():
            with self.subTest(fname), self.assertRaises(AccessError) as caught:
                self.account.with_user(self.manager).copy({fname: value})
            self.assertIn(self.field_label(fname), str(caught.exception))
        copy = self.account.with_user(self.manager).copy().sudo()
        self.assertFalse(copy.sp_api_endpoint or copy.lwa_endpoint or copy.refresh_token)

    def test_sales_manager_cannot_write_credentials_or_endpoints(self):
        account = self.account.with_user(self.manager)
        for fname, value in [*SYSTEM_VALUES.items(), ("sp_api_endpoint", False)]:
            with self.subTest(fname), self.assertRaises(AccessError) as caught:
                account.write({fname: value})
            self.assertIn(self.field_label(fname), str(caught.exception))

    def test_sales_manager_cannot_web_save_credentials_or_endpoints(self):
        for fname, value in SYSTEM_VALUES.items():
            with self.subTest(fname), self.assertRaises(AccessError):
                self.Account.web_save({"name": "Evil", fname: value}, {"name": {}})
            with self.subTest(fname), self.assertRaises(AccessError):
                self.account.with_user(self.manager).web_save({fname: value}, {"name": {}})

    def test_sales_manager_cannot_import_credentials_or_endpoints(self):
        before = self.env["amazon.account"].search_count([])
        for fname, value in SYSTEM_VALUES.items():
            with self.subTest(fname):
                result = self.Account.load(["name", fname], [["Imported", value]])
                self.assertFalse(result["ids"])
                self.assertTrue(result["messages"])
        self.assertEqual(self.env["amazon.account"].search_count([]), before)

    def test_system_administrator_sets_them(self):
        admin = self._create_user(
            "amazon_sec_admin", "base.group_system,sales_team.group_sale_manager"
        )
        account = self.env["amazon.account"].with_user(admin).create({"name": "By admin"})
        account.write(SYSTEM_VALUES)
        self.assertEqual(account.sudo().refresh_token, "Atzr|attacker")

    def test_sales_user_cannot_probe_credentials(self):
        Account = self.env["amazon.account"].with_user(self.salesperson)
        secret = self.credentials["refresh_token"]
        for fname in ("refresh_token", "lwa_client_secret", "lwa_client_id", "sp_api_endpoint"):
            with self.subTest(fname), self.assertRaises(AccessError):
                Account.search([(fname, "=like", secret[:1] + "%")])
            with self.subTest(fname), self.assertRaises(AccessError):
                Account.search_count([(fname, "!=", False)])
            with self.subTest(fname), self.assertRaises(AccessError):
                Account.read_group([], [fname], [fname])
            with self.subTest(fname), self.assertRaises(AccessError):
                Account.search([], order=fname)
            with self.subTest(fname), self.assertRaises(AccessError):
                self.account.with_user(self.salesperson).onchange({}, [], {fname: {}})
        names = Account.name_search(secret[:5])
        self.assertFalse(names, "name_search searches the name only")
        self.assertEqual(
            [n for _id, n in Account.name_search("Amazon Test")], ["Amazon Test Account"]
        )

    def test_credentials_never_in_tracking(self):
        account = self.account.with_context(tracking_disable=False)
        account.write({**SYSTEM_VALUES, "name": "Tracked"})
        self.env.cr.precommit.run()
        tracked = account.message_ids.tracking_value_ids
        self.assertIn("name", tracked.field_id.mapped("name"))
        for fname, value in SYSTEM_VALUES.items():
            self.assertNotIn(fname, tracked.field_id.mapped("name"))
            for message in account.message_ids:
                self.assertNotIn(value, str(message.body))

    # --- Endpoint hosts -------------------------------------------------------------------
    def test_endpoint_hosts_limited_to_amazon(self):
        account = self.account
        for bad in (
            "https://attacker.example.com",
            "http://sellingpartnerapi-eu.amazon.com",
            "https://sellingpartnerapi-eu.amazon.com.attacker.example",
            "https://user:pw@sellingpartnerapi-eu.amazon.com",
            "https://sellingpartnerapi-eu.amazon.com:8443",
            "https://api.amazon.com",  # an LWA host, not an SP-API one
            "http://10.0.0.1:8069",
        ):
            with self.subTest(bad), self.assertRaises(ValidationError):
                account.sp_api_endpoint = bad
        with self.assertRaises(ValidationError):
            account.lwa_endpoint = "https://sellingpartnerapi-eu.amazon.com/auth/o2/token"
        for good in (
            "https://sellingpartnerapi-na.amazon.com",
            "https://sandbox.sellingpartnerapi-fe.amazon.com/",
        ):
            account.sp_api_endpoint = good
        account.lwa_endpoint = "https://api.amazon.co.uk/auth/o2/token"

    def test_loopback_only_when_the_parameter_allows_it(self):
        params = self.env["ir.config_parameter"].sudo()
        self.account.sp_api_endpoint = "http://127.0.0.1:9"
        params.set_param(ALLOW_SANDBOX_PARAM, False)
        for url in ("http://127.0.0.1:9", "http://localhost:8069", "https://[::1]:9"):
            with self.subTest(url), self.assertRaises(ValidationError):
                self.account.sp_api_endpoint = url
        with self.assertRaises(ValidationError, msg="an endpoint set earlier is not used"):
            self.account._get_sp_api_client()
        params.set_param(ALLOW_SANDBOX_PARAM, "True")
        self.account.sp_api_endpoint = "http://localhost:8069"

    # --- FBA location ---------------------------------------------------------------------
    def test_location_must_be_internal_of_the_company(self):
        customers = self.env.ref("stock.stock_location_customers")
        with self.assertRaises(ValidationError):
            self.account.location_id = customers
        other = self._create_company("Amazon Security B")
        foreign = self.env["stock.warehouse"].search([("company_id", "=", other.id)]).lot_stock_id
        with self.assertRaises(ValidationError):
            self.account.location_id = foreign
        with self.assertRaises(ValidationError):
            self._create_account("Foreign location", location_id=foreign.id)
        own = self.env["stock.warehouse"].search([("company_id", "=", self.company.id)], limit=1)
        self.account.location_id = own.lot_stock_id

    # --- Accounting settings: accounting managers -----------------------------------------
    def test_accounting_settings_for_accounting_managers_only(self):
        journal = self.env["account.journal"].create(
            {"name": "Other bank", "type": "bank", "code": "OBK", "company_id": self.company.id}
        )
        product = self.env["product.product"].create({"name": "Other fee", "type": "service"})
        expense = self.env["account.account"].search(
            [("company_id", "=", self.company.id), ("account_type", "=", "expense")], limit=1
        )
        account = self.account.with_user(self.manager)
        self.assertTrue(account.read(["journal_id", "fee_product_id", "fee_mapping_ids"]))
        for vals in (
            {"journal_id": journal.id},
            {"fee_product_id": product.id},
            {"fee_mapping_ids": [Command.create({"fee_type": "X", "product_id": product.id})]},
        ):
            with self.subTest(vals), self.assertRaises(AccessError):
                account.write(vals)
            with self.subTest(vals), self.assertRaises(AccessError):
                self.Account.create({"name": "Evil", **vals})
        with self.assertRaises(AccessError):
            self.env["amazon.fee.mapping"].with_user(self.manager).create(
                {
                    "amazon_account_id": self.account.id,
                    "fee_type": "X",
                    "product_id": product.id,
                    "expense_account_id": expense.id,
                }
            )
        by_accountant = self.account.with_user(self.accountant)
        by_accountant.write(
            {
                "journal_id": journal.id,
                "fee_product_id": product.id,
                "fee_mapping_ids": [
                    Command.create(
                        {
                            "fee_type": "X",
                            "product_id": product.id,
                            "expense_account_id": expense.id,
                        }
                    )
                ],
            }
        )
        self.assertEqual(self.account.journal_id, journal)


@tagged("post_install", "-at_install")
class TestSecurityBeforeAmazon(AmazonTestCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls._create_user("amazon_sec_manager2", "sales_team.group_sale_manager")

    def test_check_connection_checks_access_first(self):
        # A closed port: had the call gone out, the error would be a connection failure.
        self.account.sp_api_endpoint = "http://127.0.0.1:9"
        with self.assertRaises(AccessError):
            self.account.with_user(self.salesperson).action_check_connection()

    def test_client_options_from_the_context_are_capped(self):
        account = self.account.with_context(
            amazon_client_options={
                "max_attempts": 1000,
                "max_retry_seconds": 1e9,
                "timeout": 0.5,
                "user_agent": "attacker",
                "endpoint": "https://attacker.example.com",
            }
        )
        self.assertEqual(
            account._amazon_client_options(),
            {"max_attempts": 8, "max_retry_seconds": 300.0, "timeout": 0.5},
        )
        self.assertEqual(
            self.account.with_context(amazon_client_options="junk")._amazon_client_options(), {}
        )

    def test_sync_drops_the_callers_default_keys(self):
        account = self.account.with_user(self.manager).with_context(
            default_user_id=self.manager.id, default_company_id=99, lang="en_US"
        )
        context = account._amazon_sync_env().env.context
        self.assertFalse([key for key in context if key.startswith("default_")])
        self.assertEqual(context.get("lang"), "en_US")
        self.assertTrue(context.get("amazon_sync"))

    def test_overlap_with_an_invisible_account_names_nothing(self):
        spain = self.env.ref("sale_amazon_connector.marketplace_es")
        company_b = self._create_company("Secret Company B")
        self._create_account(
            "Secret account of B",
            company=company_b,
            available_marketplace_ids=[Command.set(spain.ids)],
            active_marketplace_ids=[Command.set(spain.ids)],
        )
        self.account.available_marketplace_ids = spain
        with self.assertRaises(ValidationError) as caught:
            self.account.with_user(self.manager).active_marketplace_ids = spain
        message = str(caught.exception)
        self.assertIn("another Amazon account", message)
        self.assertNotIn("Secret", message)
        # An administrator of both companies gets the names.
        with self.assertRaises(ValidationError) as caught:
            self.account.active_marketplace_ids = spain
        self.assertIn("Secret account of B", str(caught.exception))


@tagged("post_install", "-at_install")
class TestDocumentDownloads(test_stock.AmazonStockCase):
    """A processing report whose URL is not Amazon's document storage is refused: the run
    says why, and nothing of the feed is applied until a good report comes."""

    # The stock push's seller: listings, no orders (not its tests: not imported here).
    _sandbox_scenario = classmethod(test_stock.TestStockPush._sandbox_scenario.__func__)

    def test_report_off_amazon_storage_is_refused_and_nothing_applied(self):
        offer = self.env["amazon.offer"].create(
            {
                "account_id": self.account.id,
                "marketplace_id": self.env["amazon.marketplace"].search([("code", "=", "ES")]).id,
                "sku": "MUG-RED",
                "product_id": self.mug.id,
                "fulfillment_channel": "fbm",
                "sync_stock": True,
            }
        )
        self.put(self.mug, self.warehouse.lot_stock_id, 3)
        self.assertEqual(self.account._sync_stock().counts["created"], 1)
        feed = self.account.stock_feed_ids
        self.sandbox.state.advance(600)
        self.sandbox.app.document_fault = "foreign_host"
        try:
            outcome = self.account._sync_stock()
        finally:
            self.sandbox.app.document_fault = None
        self.assertIn("not Amazon's document storage", " ".join(outcome.errors))
        run = self.account.sync_run_ids.filtered(lambda r: r.kind == "stock")[:1]
        self.assertEqual(run.state, "error")
        self.assertIn("documents.attacker.example", run.error_summary)
        self.assertEqual((feed.state, offer.stock_sync_state), ("submitted", "pending"))
        self.assertEqual(self.account._sync_stock().counts["updated"], 1)
        self.assertEqual((feed.state, offer.stock_sync_state), ("done", "done"))
