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

Helpers: :meth:`_create_company`, :meth:`_create_account`. The environment disables mail
tracking (``tracking_disable``) for speed; tests about tracking re-enable it.
"""

import unittest

from odoo.tests import TransactionCase, new_test_user

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
        cls.salesperson = new_test_user(
            cls.env,
            login="amazon_salesperson",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )
        cls.sandbox = cls._start_sandbox()
        cls.account = cls._create_account(name="Amazon Test Account", company=cls.company)

    @classmethod
    def _start_sandbox(cls):
        """Start the SP-API sandbox for this class (stopped at class teardown)."""
        if SandboxServer is None:
            return None
        scenario = Scenario.generate(orders=cls.sandbox_orders, seed=cls.sandbox_seed)
        server = SandboxServer(scenario, port=0, speed=cls.sandbox_speed)
        server.start()
        cls.addClassCleanup(server.stop)
        server.set_credentials(**cls.credentials)
        return server

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
