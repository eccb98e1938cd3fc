# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import AmazonTestCommon, requires_sandbox


class _CaptureLogs(logging.Handler):
    """Collects every formatted log record (all loggers, DEBUG and up)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        try:
            self.lines.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a broken record must not break the test
            self.lines.append(str(record.msg))


@tagged("post_install", "-at_install")
class TestAccountDefaults(AmazonTestCommon):
    def test_shared_location_and_team(self):
        location = self.account.location_id
        team = self.account.team_id
        self.assertEqual(location.name, "Amazon")
        self.assertEqual(location.usage, "internal")
        self.assertEqual(location.company_id, self.company)
        warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", self.company.id)], limit=1
        )
        self.assertEqual(location.location_id, warehouse.view_location_id)
        self.assertEqual(team.name, "Amazon")
        self.assertEqual(team.company_id, self.company)
        self.assertEqual(self.company.amazon_location_id, location)
        self.assertEqual(self.company.amazon_team_id, team)

        second = self._create_account("Second account")
        self.assertEqual(second.location_id, location)
        self.assertEqual(second.team_id, team)
        self.assertEqual(
            self.env["stock.location"].search_count(
                [("name", "=", "Amazon"), ("company_id", "=", self.company.id)]
            ),
            1,
        )
        self.assertEqual(
            self.env["crm.team"].search_count(
                [("name", "=", "Amazon"), ("company_id", "=", self.company.id)]
            ),
            1,
        )

    def test_other_company_gets_its_own(self):
        company_b = self._create_company("Amazon Company B")
        account_b = self._create_account("Account B", company=company_b)
        self.assertEqual(account_b.location_id.company_id, company_b)
        self.assertEqual(account_b.team_id.company_id, company_b)
        self.assertNotEqual(account_b.location_id, self.account.location_id)
        self.assertNotEqual(account_b.team_id, self.account.team_id)
        again = self._create_account("Account B2", company=company_b)
        self.assertEqual(again.location_id, account_b.location_id)
        self.assertEqual(again.team_id, account_b.team_id)

    def test_account_can_use_other_location_and_team(self):
        stock = (
            self.env["stock.warehouse"]
            .search([("company_id", "=", self.company.id)], limit=1)
            .lot_stock_id
        )
        team = self.env["crm.team"].create({"name": "Marketplaces", "company_id": self.company.id})
        account = self._create_account("Custom", location_id=stock.id, team_id=team.id)
        self.assertEqual(account.location_id, stock)
        self.assertEqual(account.team_id, team)

    def test_endpoint_urls_validated(self):
        for bad in ("ftp://127.0.0.1/", "127.0.0.1:8000", "javascript:alert(1)", "http://"):
            with self.assertRaises(ValidationError, msg=bad):
                self.account.sp_api_endpoint = bad
            with self.assertRaises(ValidationError, msg=bad):
                self.account.lwa_endpoint = bad
        self.account.sp_api_endpoint = "https://sellingpartnerapi-eu.amazon.com"
        self.account.lwa_endpoint = "http://127.0.0.1:9/auth/o2/token"

    def test_synchronized_marketplaces_among_available(self):
        spain = self.env.ref("sale_amazon_connector.marketplace_es")
        france = self.env.ref("sale_amazon_connector.marketplace_fr")
        self.account.available_marketplace_ids = spain
        self.account.active_marketplace_ids = spain
        with self.assertRaises(ValidationError):
            self.account.active_marketplace_ids = [Command.link(france.id)]


@tagged("post_install", "-at_install")
class TestAccountSecurity(AmazonTestCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls._create_user("amazon_sale_manager", "sales_team.group_sale_manager")
        cls.admin = cls._create_user(
            "amazon_admin", "base.group_system,sales_team.group_sale_manager"
        )
        cls.stock_user = cls._create_user("amazon_stock_user", "stock.group_stock_user")

    def test_salesperson_cannot_read_credentials(self):
        account = self.account.with_user(self.salesperson)
        self.assertEqual(account.read(["name"])[0]["name"], "Amazon Test Account")
        for fname in ("refresh_token", "lwa_client_secret", "lwa_client_id", "lwa_endpoint"):
            with self.assertRaises(AccessError, msg=fname):
                account.read([fname])
        # the form the salesperson gets has no credential field at all
        arch = account.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("refresh_token", arch)

    def test_sales_manager_cannot_touch_credentials(self):
        account = self.account.with_user(self.manager)
        account.name = "Renamed by the manager"
        with self.assertRaises(AccessError):
            account.read(["refresh_token"])
        with self.assertRaises(AccessError):
            account.write({"refresh_token": "stolen"})
        with self.assertRaises(AccessError):
            account.write({"lwa_endpoint": "https://attacker.example.com/token"})

    def test_system_admin_reads_credentials(self):
        values = self.account.with_user(self.admin).read(["refresh_token", "lwa_client_secret"])
        self.assertEqual(values[0]["refresh_token"], self.credentials["refresh_token"])
        self.assertEqual(values[0]["lwa_client_secret"], self.credentials["client_secret"])

    def test_salesperson_and_stock_user_read_only(self):
        for user in (self.salesperson, self.stock_user):
            account = self.account.with_user(user)
            self.assertTrue(account.read(["name", "region"]))
            with self.assertRaises(AccessError):
                account.write({"name": "nope"})
            self.assertTrue(self.env["amazon.marketplace"].with_user(user).search([]))

    def test_credentials_not_tracked(self):
        account = self.account.with_context(tracking_disable=False)
        account.write({"name": "Tracked name", "refresh_token": "Atzr|new-secret-token-value"})
        self.env.cr.precommit.run()  # tracking values are written at commit time
        tracked = account.message_ids.tracking_value_ids.field_id.mapped("name")
        self.assertIn("name", tracked)
        self.assertNotIn("refresh_token", tracked)
        bodies = " ".join(account.message_ids.mapped(lambda m: str(m.body)))
        self.assertNotIn("new-secret-token-value", bodies)

    def test_multi_company_isolation(self):
        company_b = self._create_company("Amazon Company B")
        account_b = self._create_account("Account of B", company=company_b)
        user_a = self._create_user("amazon_manager_a", "sales_team.group_sale_manager")
        Account = self.env["amazon.account"].with_user(user_a)
        visible = Account.search([])
        self.assertIn(self.account, visible)
        self.assertNotIn(account_b, visible)
        with self.assertRaises(AccessError):
            account_b.with_user(user_a).read(["name"])


@tagged("post_install", "-at_install")
@requires_sandbox
class TestCheckConnection(AmazonTestCommon):
    def _participations(self):
        with self.account._get_sp_api_client() as client:
            return client.get_marketplace_participations()

    def test_check_connection_fills_marketplaces(self):
        participations = self._participations()
        expected = self.env["amazon.marketplace"].search(
            [("api_ref", "in", [p.marketplace_id for p in participations if p.is_participating])]
        )
        self.assertTrue(expected, "the sandbox scenario has known marketplaces")
        manager = new_test_user(
            self.env, login="amazon_check_manager", groups="sales_team.group_sale_manager"
        )
        action = self.account.with_user(manager).action_check_connection()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(self.account.available_marketplace_ids, expected)
        self.assertEqual(self.account.active_marketplace_ids, expected)
        self.assertIn(self.account.home_marketplace_id, expected)

        # a second check keeps the seller's choice of synchronized marketplaces
        chosen = expected[:1]
        self.account.active_marketplace_ids = chosen
        self.account.action_check_connection()
        self.assertEqual(self.account.active_marketplace_ids, chosen)

    def test_rejected_credentials_show_amazon_error(self):
        # Access tokens are cached per (LWA URL, client id, refresh token) in the process: a
        # fresh refresh token makes the client ask LWA, which now refuses these credentials.
        account = self._create_account("Rejected", refresh_token="Atzr|never-issued-0001")
        self.sandbox.set_credentials(
            client_id="someone-else", client_secret="other-secret", refresh_token="other-token"
        )
        self.addCleanup(self.sandbox.set_credentials, **self.credentials)
        with self.assertRaises(UserError) as caught:
            account.action_check_connection()
        message = str(caught.exception)
        self.assertIn("invalid_client", message)
        self.assertIn("Client authentication failed", message)
        self.assertNotIn("other-secret", message)
        self.assertNotIn(self.credentials["client_secret"], message)
        self.assertFalse(account.available_marketplace_ids)

    def test_no_secret_in_logs(self):
        """Nothing logged during a connection check (DEBUG included) contains a secret."""
        capture = _CaptureLogs()
        saved = []
        names = ("", "sp_api", "httpx", "httpcore", "urllib3", "odoo.addons.sale_amazon_connector")
        for name in names:
            logger = logging.getLogger(name)
            saved.append((logger, logger.level, logger.propagate))
            logger.addHandler(capture)
            if name:  # DEBUG on the client's loggers, kept out of the test log
                logger.setLevel(logging.DEBUG)
                logger.propagate = False
        try:
            self.account.action_check_connection()
        finally:
            for logger, level, propagate in saved:
                logger.removeHandler(capture)
                logger.setLevel(level)
                logger.propagate = propagate
        self.assertTrue(capture.lines, "the client logs something at DEBUG level")
        text = "\n".join(capture.lines)
        for secret in self.credentials.values():
            if secret != self.credentials["client_id"]:
                self.assertNotIn(secret, text)
