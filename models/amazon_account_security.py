# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who may steer an Amazon account where it matters: the credentials and the hosts they are
sent to (system administrators), the accounting the daily crons post with (accounting
managers), and the stock location FBA moves leave from (checked whatever the view shows).

Odoo checks field groups when writing and reading, not when creating: the checks below run
on every path (create, copy, write, web_save, import), server side."""

from urllib.parse import urlsplit

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..amazon_sp import ClientConfig
from ..amazon_sp.documents import is_loopback
from .amazon_account import CREDENTIAL_FIELDS
from .const import ALLOW_SANDBOX_PARAM, LWA_HOSTS, SP_API_HOSTS

ENDPOINT_FIELDS = {"sp_api_endpoint": SP_API_HOSTS, "lwa_endpoint": LWA_HOSTS}
SYSTEM_FIELDS = CREDENTIAL_FIELDS + tuple(ENDPOINT_FIELDS)
ACCOUNTING_FIELDS = ("journal_id", "fee_product_id", "fee_mapping_ids")
ACCOUNTING_GROUP = "account.group_account_manager"
# Client options a caller's context may lower (tests, the campaigns), never raise: the
# account's client runs as superuser, and a context comes from RPC too.
CLIENT_OPTION_LIMITS = {
    name: ClientConfig.__dataclass_fields__[name].default
    for name in ("timeout", "max_attempts", "max_retry_seconds")
}


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    sp_api_endpoint = fields.Char(
        help="Leave empty to use Amazon's endpoint of the region. Otherwise an https:// URL of "
        "an Amazon SP-API host (e.g. https://sandbox.sellingpartnerapi-eu.amazon.com). A "
        "sandbox on this machine (http://127.0.0.1:<port>) is accepted only while the system "
        "parameter sale_amazon_connector.allow_sandbox_endpoints is True (Settings > "
        "Technical > System Parameters; off by default)."
    )
    lwa_endpoint = fields.Char(
        help="Leave empty to use Amazon's Login with Amazon token URL. Otherwise an https:// "
        "URL of Amazon's LWA hosts (api.amazon.com, api.amazon.co.uk, api.amazon.co.jp), or a "
        "sandbox on this machine while the system parameter "
        "sale_amazon_connector.allow_sandbox_endpoints is True."
    )

    # --- Who may set what ---------------------------------------------------------------------
    def _amazon_check_system_fields(self, vals, creating):
        """Refuse credentials and endpoints from anybody but a system administrator (an
        empty value on creation sets nothing and is let through)."""
        if self.env.su or self.env.is_system():
            return
        for fname in SYSTEM_FIELDS:
            if fname in vals and (vals[fname] or not creating):
                raise AccessError(
                    _(
                        "Only administrators may set the %(field)s of an Amazon account.",
                        field=self._fields[fname].string,
                    )
                )

    def _amazon_check_accounting_fields(self, vals, creating):
        """Refuse the payout journal, the fee product and the fee mappings from anybody but
        an accounting manager: the daily crons post bills and payments where they point. A
        new account may keep the defaults."""
        if self.env.su or self.env.user.has_group(ACCOUNTING_GROUP):
            return
        for fname in ACCOUNTING_FIELDS:
            if fname not in vals:
                continue
            value = vals[fname]
            if creating and (not value or value == self._amazon_accounting_default(fname, vals)):
                continue
            raise AccessError(
                _(
                    "Only accounting managers may set the %(field)s of an Amazon account.",
                    field=self._fields[fname].string,
                )
            )

    @api.model
    def _amazon_accounting_default(self, fname, vals):
        if fname == "fee_product_id":
            return self._default_amazon_product("product_amazon_fees").id
        if fname == "journal_id":
            company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
            return company.sudo()._amazon_get_journal().id
        return None

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._amazon_check_system_fields(vals, creating=True)
            self._amazon_check_accounting_fields(vals, creating=True)
        return super().create(vals_list)

    def write(self, vals):
        self._amazon_check_system_fields(vals, creating=False)
        self._amazon_check_accounting_fields(vals, creating=False)
        return super().write(vals)

    # --- Where credentials go -----------------------------------------------------------------
    @api.model
    def _amazon_sandbox_allowed(self):
        """Whether endpoints on this machine's loopback are accepted (a sandbox for tests
        and demonstrations): system parameter ``sale_amazon_connector.allow_sandbox_endpoints``,
        off unless set to True."""
        value = self.env["ir.config_parameter"].sudo().get_param(ALLOW_SANDBOX_PARAM, "")
        return value.strip().lower() in ("true", "1", "yes")

    @api.constrains("sp_api_endpoint", "lwa_endpoint")
    def _check_endpoints(self):
        for account in self.sudo():
            for fname, hosts in ENDPOINT_FIELDS.items():
                url = (account[fname] or "").strip()
                if url and not self._amazon_endpoint_allowed(url, hosts):
                    raise ValidationError(
                        _(
                            "%(field)s must be an https:// URL of Amazon (%(hosts)s), got "
                            "%(url)s. A sandbox on this machine (http://127.0.0.1:...) is "
                            "accepted only when the system parameter %(param)s is True.",
                            field=self._fields[fname].string,
                            hosts=", ".join(sorted(hosts)),
                            url=url,
                            param=ALLOW_SANDBOX_PARAM,
                        )
                    )

    @api.model
    def _amazon_endpoint_allowed(self, url, hosts):
        """Whether ``url`` may receive our credentials: https on the default port to a host
        of ``hosts`` (a collection, or a predicate on the host name), no user info; a
        loopback sandbox only with the system parameter."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if not host or parts.username or parts.password:
            return False
        if is_loopback(host):
            return parts.scheme in ("http", "https") and self._amazon_sandbox_allowed()
        known = hosts(host) if callable(hosts) else host in hosts
        return parts.scheme == "https" and known and port in (None, 443)

    # --- What reaches superuser code -------------------------------------------------------
    def _amazon_client_options(self):
        """The ``amazon_client_options`` of the context, each capped at the client's default
        (a caller may make the client give up sooner, not later); other keys are dropped."""
        options = self.env.context.get("amazon_client_options") or {}
        if not isinstance(options, dict):
            return {}
        capped = {}
        for name, limit in CLIENT_OPTION_LIMITS.items():
            value = options.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                capped[name] = type(limit)(min(value, limit))
        return capped

    def _amazon_visible(self, other):
        """Whether the current user may read the account ``other`` (superuser code, which
        no user steers, sees every account)."""
        if self.env.su:
            return True
        other = other.with_env(self.env)
        try:
            other.check_access_rights("read")
            other.check_access_rule("read")
        except AccessError:
            return False
        return True

    # --- Where FBA goods leave from -----------------------------------------------------------
    @api.constrains("location_id", "company_id")
    def _check_location(self):
        for account in self.sudo():
            location = account.location_id
            if location and (
                location.usage != "internal"
                or location.company_id not in (account.company_id, location.browse())
            ):
                raise ValidationError(
                    _(
                        "The stock location of the Amazon account %(account)s must be an "
                        "internal location of its company %(company)s.",
                        account=account.name,
                        company=account.company_id.name,
                    )
                )
