# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from psycopg2 import IntegrityError

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..amazon_sp import const


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_marketplaces_loaded_from_constants(self):
        Marketplace = self.env["amazon.marketplace"]
        self.assertEqual(Marketplace.search_count([]), len(const.MARKETPLACES))
        for code, values in const.MARKETPLACES.items():
            api_ref, name, country, region, currency, url, tax_included = values
            marketplace = self.env.ref(f"sale_amazon_connector.marketplace_{code.lower()}")
            self.assertRecordValues(
                marketplace,
                [
                    {
                        "api_ref": api_ref,
                        "name": name,
                        "code": code,
                        "region": region,
                        "seller_central_url": url,
                        "tax_included": tax_included,
                    }
                ],
            )
            self.assertEqual(marketplace.country_id.code, country, code)
            self.assertEqual(marketplace.currency_id.name, currency, code)

    def test_inactive_currencies_linked_not_activated(self):
        egypt = self.env.ref("sale_amazon_connector.marketplace_eg")
        self.assertTrue(egypt.currency_id)
        # EGP is not one of the currencies active in a fresh database
        if self.env.ref("base.EGP").active is False:
            self.assertFalse(egypt.currency_id.active)

    def test_reload_marketplaces_is_idempotent(self):
        Marketplace = self.env["amazon.marketplace"]
        before = Marketplace.search([])
        spain = self.env.ref("sale_amazon_connector.marketplace_es")
        spain.seller_central_url = "https://example.com"
        Marketplace._load_marketplaces()
        self.assertEqual(Marketplace.search([]), before)
        self.assertEqual(spain.seller_central_url, const.MARKETPLACES["ES"][5])

    def test_marketplace_not_deletable(self):
        with self.assertRaises(UserError):
            self.env.ref("sale_amazon_connector.marketplace_de").unlink()

    def test_marketplace_api_ref_unique(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.cr.savepoint():
            self.env["amazon.marketplace"].create(
                {"name": "Copy", "code": "XX", "region": "eu", "api_ref": "A1RKKUPIHCS9HS"}
            )

    def test_views_and_menus(self):
        for xml_id in (
            "sale_amazon_connector.menu_amazon_account",
            "sale_amazon_connector.menu_amazon_marketplace",
            "sale_amazon_connector.action_amazon_account",
        ):
            self.assertTrue(self.env.ref(xml_id))
        views = self.env["amazon.account"].get_views([(False, "tree"), (False, "form")])
        self.assertIn("action_check_connection", views["views"]["form"]["arch"])
        settings = self.env["res.config.settings"].get_views([(False, "form")])
        self.assertIn("amazon_sync_enabled", settings["views"]["form"]["arch"])

    def test_sync_setting(self):
        Account = self.env["amazon.account"]
        self.assertTrue(Account._is_sync_enabled(), "enabled by default")
        self.env["res.config.settings"].create({"amazon_sync_enabled": False}).execute()
        self.assertFalse(Account._is_sync_enabled())
        self.assertFalse(self.env["res.config.settings"].create({}).amazon_sync_enabled)
        self.env["res.config.settings"].create({"amazon_sync_enabled": True}).execute()
        self.assertTrue(Account._is_sync_enabled())

    def test_spanish_translation(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(
            ["sale_amazon_connector"], ["es_ES"], overwrite=True
        )
        menu = self.env.ref("sale_amazon_connector.menu_amazon_account")
        self.assertEqual(menu.with_context(lang="es_ES").name, "Cuentas de Amazon")
        marketplace = self.env.ref("sale_amazon_connector.marketplace_es")
        with self.assertRaisesRegex(UserError, "no se pueden eliminar"):
            marketplace.with_context(lang="es_ES").unlink()
