"""The attacks of the security campaign (``scripts/campaign security``), replayed over
XML-RPC as the lowest user that could try each one, then the administrator's legitimate
path. Standard library only.

Each attack prints one line ``  security: attack <what> as <who>: refused`` (or ``ALLOWED``
and a campaign problem). The users and targets come from ``_campaign_odoo.security``.
"""

import json
import time
import xmlrpc.client

from _odoo_harness import say

FOREIGN_ENDPOINT = "https://attacker.example.com"
ROTATED_TOKEN = "Atzr|campaign-rotated-refresh-token"
SLOW = 40  # seconds the sandbox holds confirmShipment: more than the client's 30 s timeout


class Attacks:
    """One replay of every attack on the campaign's account A (see :meth:`run`)."""

    def __init__(self, campaign, server, url, account_a, info):
        self.campaign = campaign
        self.url = url
        self.account_a = account_a
        self.info = info
        self.users = info["users"]
        self.calls = {login: campaign.rpc(server, login, login + "-pw") for login in self.users}
        self.refused = 0
        self.secrets = dict(campaign.secrets, rotated=ROTATED_TOKEN)

    # --- outcome ------------------------------------------------------------------------------
    def verdict(self, label, login, refused, detail=""):
        line = f"  security: attack {label} as {login}: "
        if refused:
            self.refused += 1
            say(line + "refused" + (f" ({detail})" if detail else ""))
        else:
            say(line + "ALLOWED" + (f" ({detail})" if detail else ""))
            self.campaign.problem(f"security: attack {label} as {login} was allowed {detail}")

    def expect_fault(self, label, login, model, method, *args, **kwargs):
        """The call must fail (an Odoo error over XML-RPC); returns the fault text."""
        try:
            value = self.calls[login](model, method, *args, **kwargs)
        except xmlrpc.client.Fault as fault:
            self.verdict(label, login, True, _first_line(fault.faultString))
            return fault.faultString
        self.verdict(label, login, False, f"returned {json.dumps(value)[:80]}")
        return None

    def leaks(self, value):
        text = json.dumps(value, default=str)
        return [name for name, secret in self.secrets.items() if secret in text]

    # --- the attacks --------------------------------------------------------------------------
    def run(self):
        self.system_fields()
        self.probing()
        self.tracking()
        self.location()
        self.accounting()
        self.check_connection()
        self.default_keys()
        self.overlap()
        self.client_options()
        self.legitimate()
        return self.refused

    def system_fields(self):
        manager, a = "campaign_manager_a", self.account_a
        for fname, value in (
            ("sp_api_endpoint", FOREIGN_ENDPOINT),
            ("lwa_endpoint", FOREIGN_ENDPOINT + "/auth/o2/token"),
            ("refresh_token", ROTATED_TOKEN),
        ):
            self.expect_fault(
                f"create an account with {fname}",
                manager,
                "amazon.account",
                "create",
                [{"name": "Evil", fname: value}],
            )
            self.expect_fault(
                f"copy account A with {fname}",
                manager,
                "amazon.account",
                "copy",
                [a],
                {fname: value},
            )
            self.expect_fault(
                f"write {fname} on account A",
                manager,
                "amazon.account",
                "write",
                [a],
                {fname: value},
            )
            self.expect_fault(
                f"web_save {fname} on account A",
                manager,
                "amazon.account",
                "web_save",
                [a],
                {fname: value},
                {"name": {}},
            )
            self.expect_fault(
                f"web_save a new account with {fname}",
                manager,
                "amazon.account",
                "web_save",
                [],
                {"name": "Evil", fname: value},
                {"name": {}},
            )
            result = self.calls[manager](
                "amazon.account", "load", ["name", fname], [["Evil", value]]
            )
            self.verdict(
                f"import an account with {fname}",
                manager,
                not result.get("ids") and bool(result.get("messages")),
                _first_line((result.get("messages") or [{}])[0].get("message", "")),
            )

    def probing(self):
        sales, secret = "campaign_sales_a", self.secrets["refresh_token"]
        self.expect_fault(
            "search refresh_token one character at a time",
            sales,
            "amazon.account",
            "search",
            [("refresh_token", "=like", secret[:1] + "%")],
        )
        self.expect_fault(
            "read_group by lwa_client_secret",
            sales,
            "amazon.account",
            "read_group",
            [],
            ["lwa_client_secret"],
            ["lwa_client_secret"],
        )
        found = self.calls[sales]("amazon.account", "name_search", secret[:8])
        self.verdict("name_search a refresh token prefix", sales, not found, f"{len(found)} found")
        self.expect_fault(
            "onchange asking for refresh_token",
            sales,
            "amazon.account",
            "onchange",
            [self.account_a],
            {},
            [],
            {"refresh_token": {}},
        )

    def tracking(self):
        admin, sales, a = "campaign_admin_a", "campaign_sales_a", self.account_a
        self.calls[admin]("amazon.account", "write", [a], {"refresh_token": ROTATED_TOKEN})
        self.calls[admin](
            "amazon.account", "write", [a], {"refresh_token": self.secrets["refresh_token"]}
        )
        messages = self.calls[sales](
            "mail.message", "search", [("model", "=", "amazon.account"), ("res_id", "=", a)]
        )
        formatted = self.calls[sales]("mail.message", "message_format", messages)
        leaked = self.leaks(formatted)
        self.verdict(
            "read rotated credentials in the chatter tracking",
            sales,
            not leaked,
            f"{len(messages)} messages read, {len(leaked)} secrets in them",
        )

    def location(self):
        manager = "campaign_manager_a"
        for what, location in (
            ("another company's", self.info["location_b"]),
            ("a non-internal", self.info["customers"]),
        ):
            self.expect_fault(
                f"set {what} stock location on account A",
                manager,
                "amazon.account",
                "write",
                [self.account_a],
                {"location_id": location},
            )

    def accounting(self):
        manager, a, info = "campaign_manager_a", self.account_a, self.info
        for fname, value in (("journal_id", info["journal"]), ("fee_product_id", info["product"])):
            self.expect_fault(
                f"write {fname} on account A",
                manager,
                "amazon.account",
                "write",
                [a],
                {fname: value},
            )
        self.expect_fault(
            "create a fee mapping",
            manager,
            "amazon.fee.mapping",
            "create",
            [
                {
                    "amazon_account_id": a,
                    "fee_type": "EvilFee",
                    "product_id": info["product"],
                    "expense_account_id": info["expense"],
                }
            ],
        )
        self.expect_fault(
            "change a fee mapping's expense account",
            manager,
            "amazon.fee.mapping",
            "write",
            [info["mapping"]],
            {"expense_account_id": info["expense"]},
        )

    def check_connection(self):
        sales = "campaign_sales_a"
        before = self.campaign.ctl(self.url, "GET", "stats")
        self.expect_fault(
            "Check connection without write access",
            sales,
            "amazon.account",
            "action_check_connection",
            [self.account_a],
        )
        if self.campaign.ctl(self.url, "GET", "stats") != before:
            self.campaign.problem("security: Check connection reached Amazon before refusing")

    def default_keys(self):
        """The sales manager syncs with ``default_*`` keys: the records the sync creates as
        superuser must not take them."""
        manager, campaign = "campaign_manager_a", self.campaign
        # Created "now" on Amazon's clock: after any window an earlier sync has read.
        created = campaign.sandbox_now(self.url).replace(microsecond=0)
        stamp = created.isoformat() + "Z"
        ref = campaign.ctl(
            self.url,
            "POST",
            "orders",
            {
                "orderId": "171-8888888-0000001",
                "marketplace": "DE",
                "fulfilledBy": "MERCHANT",
                "createdTime": stamp,
                "events": [{"time": stamp, "status": "UNSHIPPED"}],
                "items": [{"sku": "MUG-DE", "quantity": 1, "unitPrice": "12.99"}],
                "buyer": {"name": "Default Keys Buyer", "email": "dk@marketplace.amazon.de"},
                "recipient": {
                    "name": "Default Keys Buyer",
                    "addressLine1": "Hauptstr. 2",
                    "city": "Berlin",
                    "postalCode": "10115",
                    "countryCode": "DE",
                },
            },
        )["orderId"]
        context = {
            "default_note": "INJECTED-DEFAULT",
            "default_comment": "INJECTED-DEFAULT",
            "default_company_id": self.info["company_b"],
            "default_state": "cancel",
        }
        orders = []
        for _attempt in range(5):  # until the sync's window holds the order
            campaign.ctl(self.url, "POST", "advance", {"seconds": 600})
            self.calls[manager](
                "amazon.account", "action_sync_orders", [self.account_a], context=context
            )
            orders = self.calls["campaign_admin_a"](
                "sale.order",
                "search_read",
                [("amazon_order_ref", "=", ref)],
                ["note", "company_id", "state", "partner_id"],
            )
            if orders:
                break
        if not orders:
            campaign.problem(f"security: the sync did not create order {ref}: cannot judge")
            return
        order = orders[0]
        partner = self.calls["campaign_admin_a"](
            "res.partner", "read", [order["partner_id"][0]], ["comment"]
        )[0]
        injected = "INJECTED-DEFAULT" in json.dumps([order, partner]) or (
            order["company_id"][0] == self.info["company_b"] or order["state"] == "cancel"
        )
        self.verdict("default_* context keys into the sync's records", manager, not injected)

    def overlap(self):
        manager, info = "campaign_manager_a", self.info
        if not info["marketplaces_b"]:
            self.campaign.problem("security: account B has no active marketplace")
            return
        text = self.expect_fault(
            "create an account overlapping company B's seller",
            manager,
            "amazon.account",
            "create",
            [
                {
                    "name": "Overlap",
                    "seller_id": info["seller_b"],
                    "available_marketplace_ids": [(6, 0, info["marketplaces_b"])],
                    "active_marketplace_ids": [(6, 0, info["marketplaces_b"])],
                }
            ],
        )
        if text and ("Campaign security-b" in text or "Campaign Company B" in text):
            self.campaign.problem("security: the overlap message names company B's account")
        elif text and "of a company you cannot access" not in text:
            self.campaign.problem(f"security: overlap refused for another reason: {text[-200:]}")

    def client_options(self):
        """An inventory user retries a delivery with huge client options: the client keeps
        its own 30 s timeout (Amazon holds the answer ``SLOW`` s: the answer is lost, the
        delivery stays to send) instead of waiting as long as the caller asked."""
        stock, picking = "campaign_stock_a", self.info["picking"]
        if not picking:
            self.campaign.problem("security: no delivery of account A to retry")
            return
        self.campaign.ctl(
            self.url,
            "POST",
            "faults",
            {"operation": "confirmShipment", "kind": "slow", "delay": SLOW, "count": 1},
        )
        started = time.monotonic()
        try:
            self.calls[stock](
                "stock.picking",
                "action_retry_amazon_sync",
                [picking],
                context={
                    "amazon_client_options": {
                        "timeout": 1e6,
                        "max_attempts": 1,
                        "max_retry_seconds": 1e9,
                    }
                },
            )
        finally:
            self.campaign.ctl(self.url, "DELETE", "faults")
        seconds = time.monotonic() - started
        status = self.calls["campaign_admin_a"](
            "stock.picking", "read", [picking], ["amazon_sync_status"]
        )[0]["amazon_sync_status"]
        self.verdict(
            "oversized amazon_client_options via action_retry_amazon_sync",
            stock,
            status != "done",
            f"gave up after {seconds:.0f} s, delivery {status}",
        )

    # --- the legitimate path ------------------------------------------------------------------
    def legitimate(self):
        admin, a, info = "campaign_admin_a", self.account_a, self.info
        call = self.calls[admin]
        steps = [
            (
                "create an account with Amazon's endpoints and credentials",
                lambda: call(
                    "amazon.account",
                    "unlink",
                    [
                        call(
                            "amazon.account",
                            "create",
                            [
                                {
                                    "name": "Admin account",
                                    "sp_api_endpoint": "https://sellingpartnerapi-eu.amazon.com",
                                    "lwa_endpoint": "https://api.amazon.com/auth/o2/token",
                                    "refresh_token": ROTATED_TOKEN,
                                }
                            ],
                        )[0]
                    ],
                ),
            ),
            (
                "set the journal",
                lambda: call("amazon.account", "write", [a], {"journal_id": info["journal"]}),
            ),
            (
                "change a fee mapping's expense account",
                lambda: call(
                    "amazon.fee.mapping",
                    "write",
                    [info["mapping"]],
                    {"expense_account_id": info["expense"]},
                ),
            ),
            (
                "check the connection",
                lambda: call("amazon.account", "action_check_connection", [a]),
            ),
        ]
        for label, step in steps:
            try:
                step()
            except xmlrpc.client.Fault as fault:
                self.campaign.problem(
                    f"security: the administrator cannot {label}: {_first_line(fault.faultString)}"
                )
                continue
            say(f"  security: legitimate: administrator may {label}: ok")


def _first_line(text):
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:110]
