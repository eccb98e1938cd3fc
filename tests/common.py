# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared set-up of the connector's Odoo tests.

Subclass :class:`AmazonTestCommon` (and tag the subclass ``@tagged("post_install",
"-at_install")``). Once per class it provides:

* ``cls.company``: the company the tests run in (``env.company``);
* ``cls.salesperson``: an internal user of ``cls.company`` with Sales / User rights;
* ``cls.sandbox``: a running SP-API sandbox server (``sp_sandbox.SandboxServer``) with the
  scenario ``Scenario.generate(orders=cls.sandbox_orders, seed=cls.sandbox_seed)`` served at
  ``cls.sandbox_speed`` time compression; it accepts the credentials of
  :attr:`AmazonTestCommon.credentials` only. ``None`` when the sandbox package cannot be
  imported; decorate tests that need it with :func:`requires_sandbox`;
* ``cls.account``: an ``amazon.account`` of ``cls.company`` pointed at the sandbox (endpoints
  and credentials set), region ``eu``, no marketplaces yet (call
  ``cls.account.action_check_connection()`` or ``cls.account._update_marketplaces(...)``).

Helpers: :meth:`_create_user`, :meth:`_create_company`, :meth:`_create_account`. The
environment disables mail tracking (``tracking_disable``) for speed; tests about tracking
re-enable it.
"""

import unittest
from datetime import timedelta

from odoo import Command
from odoo.tests import Form, TransactionCase, new_test_user

from ..models.const import ALLOW_SANDBOX_PARAM

try:
    from ..sp_sandbox import SandboxServer, Scenario
except ImportError as error:  # the sandbox package is absent: tests needing it are skipped
    SandboxServer = Scenario = None
    SANDBOX_MISSING = f"the SP-API sandbox (sp_sandbox) cannot be imported: {error}"
else:
    SANDBOX_MISSING = None


def requires_sandbox(test_item):
    """Skip a test (method or class) when the SP-API sandbox cannot be imported."""
    return unittest.skipIf(SandboxServer is None, SANDBOX_MISSING)(test_item)


class AmazonTestCommon(TransactionCase):
    sandbox_orders = 20
    sandbox_seed = 1
    sandbox_speed = 50.0
    credentials = {
        "client_id": "amzn1.application-oa2-client.odoo-test",
        "client_secret": "odoo-test-client-secret-0123456789",
        "refresh_token": "Atzr|odoo-test-refresh-token-0123456789",
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        # The sandbox runs on loopback, which accounts accept only when this is on.
        cls.env["ir.config_parameter"].sudo().set_param(ALLOW_SANDBOX_PARAM, "True")
        cls.salesperson = cls._create_user("amazon_salesperson", "sales_team.group_sale_salesman")
        cls.sandbox = cls._start_sandbox()
        cls.account = cls._create_account(name="Amazon Test Account", company=cls.company)

    @classmethod
    def _start_sandbox(cls):
        """Start the SP-API sandbox for this class (stopped at class teardown)."""
        if SandboxServer is None:
            return None
        server = SandboxServer(cls._sandbox_scenario(), port=0, speed=cls.sandbox_speed)
        server.start()
        cls.addClassCleanup(server.stop)
        server.set_credentials(**cls.credentials)
        return server

    @classmethod
    def _sandbox_scenario(cls):
        """The scenario the class's sandbox serves (override for hand-made orders)."""
        return Scenario.generate(orders=cls.sandbox_orders, seed=cls.sandbox_seed)

    @classmethod
    def _create_user(cls, login, groups):
        """Create an internal user of ``cls.company`` (and of that company only)."""
        return new_test_user(
            cls.env,
            login=login,
            groups=groups,
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    @classmethod
    def _create_company(cls, name):
        """Create another company (with its warehouse), e.g. for multi-company tests."""
        return cls.env["res.company"].create({"name": name})

    @classmethod
    def _create_account(cls, name, company=None, **values):
        """Create an account of ``company`` (default ``cls.company``) with the test
        credentials, pointed at the sandbox when there is one. ``values`` override fields."""
        vals = {
            "name": name,
            "company_id": (company or cls.company).id,
            "region": "eu",
            "seller_id": "A1SELLERTEST",
            "lwa_client_id": cls.credentials["client_id"],
            "lwa_client_secret": cls.credentials["client_secret"],
            "refresh_token": cls.credentials["refresh_token"],
            "user_id": cls.salesperson.id,
        }
        if cls.sandbox is not None:
            vals.update(sp_api_endpoint=cls.sandbox.url, lwa_endpoint=cls.sandbox.lwa_url)
        vals.update(values)
        return cls.env["amazon.account"].with_company(company or cls.company).create(vals)


@requires_sandbox
class AmazonSyncCase(AmazonTestCommon):
    """Order-sync tests: an empty sandbox seller on several marketplaces, an account
    synchronizing them, products with the marketplaces' VAT, and helpers to add Amazon
    orders (:meth:`add_order`) and run the sync (:meth:`sync`).

    The sandbox is reset before each test (no orders, clock back to the start, full
    rate-limit buckets) and the account's ``last_orders_sync`` lies a week before."""

    sandbox_speed = 1000.0
    marketplace_codes = ("ES", "DE", "UK", "JP", "US", "SE")

    @classmethod
    def _sandbox_scenario(cls):
        return Scenario.from_dict(
            {
                "marketplaces": list(cls.marketplace_codes),
                "orders": [],
                "start": "2026-11-20T12:00:00Z",
            }
        )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in ("EUR", "GBP", "JPY", "SEK"):
            cls.env.ref(f"base.{code}").active = True
        marketplaces = cls.env["amazon.marketplace"].search(
            [("code", "in", [code for code in cls.marketplace_codes])]
        )
        cls.account.write(
            {
                "available_marketplace_ids": [Command.set(marketplaces.ids)],
                "active_marketplace_ids": [Command.set(marketplaces.ids)],
            }
        )

        def tax(rate, name):
            return cls.env["account.tax"].create(
                {
                    "name": name,
                    "amount": rate,
                    "amount_type": "percent",
                    "type_tax_use": "sale",
                    "company_id": cls.company.id,
                }
            )

        def product(code, taxes, storable=True):
            return cls.env["product.product"].create(
                {
                    "name": f"Product {code}",
                    "default_code": code,
                    "detailed_type": "product" if storable else "consu",
                    "taxes_id": [Command.set(taxes.ids)],
                }
            )

        Tax = cls.env["account.tax"]
        cls.tax_es = tax(21, "IVA 21%")
        cls.mug = product("MUG-RED", cls.tax_es)
        cls.book = product("BOOK-1", tax(4, "IVA 4%"))
        cls.mug_de = product("MUG-DE", tax(19, "MwSt 19%"))
        cls.mug_uk = product("MUG-UK", tax(20, "VAT 20%"))
        cls.mug_jp = product("MUG-JP", tax(10, "JCT 10%"))
        cls.mug_us = product("MUG-US", tax(7.25, "Sales Tax 7.25%"))
        cls.untaxed_us = product("UNTAXED-US", Tax)
        for product_field in (
            "shipping_product_id",
            "gift_wrap_product_id",
            "promotion_product_id",
            "cod_fee_product_id",
            "other_charge_product_id",
            "delivery_tip_product_id",
            "default_product_id",
        ):
            cls.account[product_field].taxes_id = False

    def setUp(self):
        super().setUp()
        self.sandbox.state.reset()
        self.sandbox.faults.clear()
        self.account.last_orders_sync = self.sandbox.state.now().replace(tzinfo=None) - timedelta(
            days=7
        )

    def add_order(
        self,
        ref,
        marketplace="ES",
        fulfilled_by="MERCHANT",
        status=None,
        events=None,
        items=None,
        buyer=False,
        recipient=False,
        **extra,
    ):
        """Add an Amazon order created five minutes ago on the sandbox's clock, which
        first moves ten minutes on, so the order is newer than any window already
        synchronized. ``events`` are (seconds after creation, status) pairs. Returns
        the creation time (naive UTC)."""
        self.sandbox.state.advance(600)
        created = self.sandbox.state.now().replace(microsecond=0, tzinfo=None) - timedelta(
            minutes=5
        )
        if events is None:
            default = "UNSHIPPED" if fulfilled_by == "MERCHANT" else "SHIPPED"
            events = [(0, status or default)]
        order = {
            "orderId": ref,
            "marketplace": marketplace,
            "fulfilledBy": fulfilled_by,
            "createdTime": created.isoformat() + "Z",
            "events": [
                {"time": (created + timedelta(seconds=delay)).isoformat() + "Z", "status": state}
                for delay, state in events
            ],
            "items": items or [{"sku": "MUG-RED", "quantity": 1, "unitPrice": "12.10"}],
            "buyer": {"name": "María García", "email": f"{ref}@marketplace.amazon.es"}
            if buyer is False
            else buyer,
            "recipient": {
                "name": "María García",
                "addressLine1": "Calle Mayor 1",
                "city": "Madrid",
                "postalCode": "28013",
                "countryCode": "ES",
                "phone": "+34 600 000 000",
            }
            if recipient is False
            else recipient,
            **extra,
        }
        self.sandbox.state.add_order(order)
        return created

    def sync(self):
        """Run the account's order sync; returns the Counter of outcomes."""
        return self.account._sync_orders().counts

    def amazon_order(self, ref):
        return self.env["sale.order"].search(
            [("amazon_account_id", "=", self.account.id), ("amazon_order_ref", "=", ref)]
        )

    def ship(self, picking, carrier, tracking="JJD000123456789", quantities=None):
        """Set the carrier, tracking ref and done quantities ({product: qty}, default all)
        of ``picking`` and validate it, with a backorder for what is left. ``carrier``
        False: none (a return, a delivery without carrier)."""
        if carrier is not False:
            picking.carrier_id = carrier
            picking.carrier_tracking_ref = tracking
        for move in picking.move_ids:
            qty = move.product_uom_qty if quantities is None else quantities.get(move.product_id, 0)
            move.quantity = qty
            move.picked = bool(qty)
        result = picking.button_validate()
        if isinstance(result, dict) and result.get("res_model") == "stock.backorder.confirmation":
            Form(
                self.env["stock.backorder.confirmation"].with_context(**result["context"])
            ).save().process()
        self.assertEqual(picking.state, "done")
        return picking


class AmazonAccountingCase(AmazonSyncCase):
    """An :class:`AmazonSyncCase` whose accounts live in companies with a chart of accounts
    (Odoo's generic chart template, as in account's AccountTestInvoicingCommon)."""

    @classmethod
    def _create_account(cls, name, company=None, **values):
        company = company or cls.company
        if not company.chart_template:
            cls.env["account.chart.template"].try_loading(
                "generic_coa", company=company, install_demo=False
            )
        return super()._create_account(name, company=company, **values)
