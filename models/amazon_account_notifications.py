# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Orders within a minute: Amazon's ``ORDER_CHANGE`` notifications, read from the seller's
SQS queue every minute, apply the changed orders through the order sync's own path.

Set up: the queue (URL, region, an AWS key allowed to read and delete its messages), then
"Set up notifications" creates the SP-API destination of the queue and the seller's
``ORDER_CHANGE`` subscription to it (idempotent). The consumer (scheduled every minute)
long-polls the queue for up to a budget, fetches each changed order with getOrder, applies
it like the order sync, commits, and only then deletes the messages: a crash before the
delete redelivers them, and applying an order again changes nothing. The order sync keeps
running as the safety net (a lost notification is caught by its next window)."""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..amazon_sp import errors as amazon_errors
from ..amazon_sp import sqs

_logger = logging.getLogger(__name__)

NOTIFICATION_SYSTEM_FIELDS = (
    "sqs_queue_url",
    "sqs_queue_arn",
    "sqs_region",
    "aws_access_key_id",
    "aws_secret_access_key",
    "sqs_endpoint",
    "notification_destination_ref",
    "notification_subscription_ref",
)
POLL_SECONDS_PARAM = "sale_amazon_connector.notifications_poll_seconds"
DEFAULT_POLL_SECONDS = 45  # the consumer runs every minute: leave it time to apply and stop
MIN_POLL_SECONDS = 2.0  # a scheduled run out of time still polls once, this long at most
DESTINATION_NAME = "Odoo sale_amazon_connector"


def _is_sqs_host(host):
    labels = host.split(".")
    return len(labels) == 4 and labels[0] == "sqs" and labels[2:] == ["amazonaws", "com"]


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    # --- The queue: readable and writable by system administrators only, never tracked -----
    sqs_queue_url = fields.Char(
        string="SQS Queue URL",
        groups="base.group_system",
        copy=False,
        help="The Amazon SQS queue Amazon sends this seller's order notifications to, e.g. "
        "https://sqs.eu-west-1.amazonaws.com/123456789012/amazon-orders. It must allow "
        "Amazon's notifications principal to send messages (see the README).",
    )
    sqs_queue_arn = fields.Char(
        string="SQS Queue ARN",
        groups="base.group_system",
        copy=False,
        help="Leave empty to derive it from the queue URL and region.",
    )
    sqs_region = fields.Char(
        string="AWS Region", groups="base.group_system", copy=False, help="e.g. eu-west-1"
    )
    aws_access_key_id = fields.Char(
        string="AWS Access Key ID",
        groups="base.group_system",
        copy=False,
        help="An AWS key allowed to receive and delete the queue's messages (nothing else).",
    )
    aws_secret_access_key = fields.Char(
        string="AWS Secret Access Key", groups="base.group_system", copy=False
    )
    sqs_endpoint = fields.Char(
        string="SQS Endpoint",
        groups="base.group_system",
        copy=False,
        help="Leave empty to use Amazon SQS of the region. Set it to test against an "
        "SQS-compatible server on this machine.",
    )
    notification_destination_ref = fields.Char(
        string="Notification Destination", groups="base.group_system", copy=False, readonly=True
    )
    notification_subscription_ref = fields.Char(
        string="ORDER_CHANGE Subscription", groups="base.group_system", copy=False, readonly=True
    )
    notifications_active = fields.Boolean(
        compute="_compute_notifications_active",
        store=True,
        help="Amazon sends this account's order changes to its SQS queue.",
    )
    notification_last_at = fields.Datetime(
        string="Last Notification",
        copy=False,
        readonly=True,
        help="When the last Amazon order notification of this account was handled.",
    )

    @api.depends("notification_subscription_ref")
    def _compute_notifications_active(self):
        for account in self:
            account.notifications_active = bool(account.sudo().notification_subscription_ref)

    # --- Who may set what -----------------------------------------------------------------------
    def _amazon_check_system_fields(self, vals, creating):
        super()._amazon_check_system_fields(vals, creating)
        if self.env.su or self.env.is_system():
            return
        for fname in NOTIFICATION_SYSTEM_FIELDS:
            if fname in vals and (vals[fname] or not creating):
                raise AccessError(
                    _(
                        "Only administrators may set the %(field)s of an Amazon account.",
                        field=self._fields[fname].string,
                    )
                )

    @api.constrains("sqs_endpoint", "sqs_queue_url")
    def _check_sqs_endpoints(self):
        for account in self.sudo():
            for fname in ("sqs_endpoint", "sqs_queue_url"):
                url = (account[fname] or "").strip()
                if url and not account._amazon_sqs_url_allowed(url):
                    raise ValidationError(
                        _(
                            "%(field)s must be an https:// URL of Amazon SQS "
                            "(https://sqs.<region>.amazonaws.com), got %(url)s. An SQS server "
                            "on this machine is accepted only when the system parameter "
                            "%(param)s is True.",
                            field=self._fields[fname].string,
                            url=url,
                            param="sale_amazon_connector.allow_sandbox_endpoints",
                        )
                    )

    def _amazon_sqs_url_allowed(self, url):
        """An Amazon SQS endpoint (``sqs.<region>.amazonaws.com``) or an allowed sandbox."""
        return self._amazon_endpoint_allowed(url, _is_sqs_host)

    # --- The queue ------------------------------------------------------------------------------
    def _amazon_queue(self):
        """(queue URL, region, ARN) of this account; UserError when incomplete."""
        account = self.sudo()
        account._check_sqs_endpoints()  # again: the sandbox parameter may have been turned off
        required = ("sqs_queue_url", "sqs_region", "aws_access_key_id", "aws_secret_access_key")
        missing = [
            account._fields[fname].string
            for fname in required
            if not (account[fname] or "").strip()
        ]
        if missing:
            raise UserError(
                _(
                    "Fill in the SQS queue of the Amazon account %(account)s first: %(fields)s.",
                    account=self.name,
                    fields=", ".join(missing),
                )
            )
        url, region = account.sqs_queue_url.strip(), account.sqs_region.strip()
        arn = (account.sqs_queue_arn or "").strip()
        if not arn:
            try:
                arn = sqs.queue_arn(url, region)
            except ValueError as exc:
                raise UserError(
                    _("The SQS queue URL of %(account)s: %(error)s", account=self.name, error=exc)
                ) from None
        return url, region, arn

    def _amazon_sqs_consumer(self):
        """An ``amazon_sp.sqs.SqsConsumer`` of this account's queue."""
        url, region, _arn = self._amazon_queue()
        account = self.sudo()
        try:
            return sqs.SqsConsumer(
                url,
                region,
                account.aws_access_key_id.strip(),
                account.aws_secret_access_key.strip(),
                endpoint_url=(account.sqs_endpoint or "").strip() or None,
            )
        except sqs.SqsUnavailableError:
            raise UserError(
                _(
                    "Reading Amazon's notifications needs the Python package boto3: ask your "
                    "administrator to install it (pip install boto3)."
                )
            ) from None

    # --- Buttons --------------------------------------------------------------------------------
    def _amazon_check_notification_admin(self):
        if not (self.env.su or self.env.is_system()):
            raise AccessError(_("Only administrators may set up Amazon notifications."))
        self.check_access_rights("write")
        self.check_access_rule("write")

    def action_setup_notifications(self):
        """Create the SP-API destination of the queue and the ORDER_CHANGE subscription
        (what exists already is kept: running it twice changes nothing)."""
        self._amazon_check_notification_admin()
        for account in self:
            if not (account.seller_id or "").strip():
                raise UserError(
                    _(
                        "Fill in the Merchant ID of %(account)s first: Amazon's notifications "
                        "are matched to the account by it.",
                        account=account.name,
                    )
                )
            _url, _region, arn = account._amazon_queue()
            account._amazon_sqs_consumer()  # boto3 is there before Amazon sends anything
            try:
                with account._get_sp_api_client() as client:
                    destination, subscription, _created = client.notifications.ensure_order_change(
                        arn, DESTINATION_NAME
                    )
            except amazon_errors.SpApiError as exc:
                raise UserError(
                    _(
                        "Amazon refused to set up the notifications of %(account)s:\n%(error)s",
                        account=account.name,
                        error=str(exc),
                    )
                ) from exc
            account.sudo().write(
                {
                    "notification_destination_ref": destination.destination_id,
                    "notification_subscription_ref": subscription.subscription_id,
                }
            )
            account.message_post(
                body=_("Amazon now sends this account's order changes to its SQS queue.")
            )
        return self._amazon_notification_message(
            _("Notifications set up: Amazon sends order changes to the SQS queue.")
        )

    def action_remove_notifications(self):
        """Delete the ORDER_CHANGE subscription and the destination of the queue."""
        self._amazon_check_notification_admin()
        for account in self:
            _url, _region, arn = account._amazon_queue()
            try:
                with account._get_sp_api_client() as client:
                    client.notifications.remove_order_change(arn)
            except amazon_errors.SpApiError as exc:
                raise UserError(
                    _(
                        "Amazon refused to remove the notifications of %(account)s:\n%(error)s",
                        account=account.name,
                        error=str(exc),
                    )
                ) from exc
            account.sudo().write(
                {"notification_destination_ref": False, "notification_subscription_ref": False}
            )
            account.message_post(body=_("Amazon no longer sends order changes to the SQS queue."))
        return self._amazon_notification_message(
            _("Notifications removed: the order synchronization alone keeps the orders.")
        )

    def _amazon_notification_message(self, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Amazon notifications"),
                "message": message,
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # --- The consumer ---------------------------------------------------------------------------
    @api.model
    def _cron_consume_notifications(self):
        accounts = self.sudo().search([("notifications_active", "=", True)])
        self._amazon_cron("_consume_notifications", accounts)

    @api.model
    def _amazon_poll_seconds(self):
        value = self.env["ir.config_parameter"].sudo().get_param(POLL_SECONDS_PARAM)
        try:
            return max(1.0, float(value)) if value else DEFAULT_POLL_SECONDS
        except ValueError:
            return DEFAULT_POLL_SECONDS

    def _consume_notifications(self, trigger="manual", budget=None, idle_polls=None, wait=20):
        """Read the account's queue for up to ``budget`` seconds (default: the system
        parameter, 45 s), or until ``idle_polls`` polls of ``wait`` seconds found nothing,
        and apply the changed orders; returns the run's ``SyncOutcome`` (None when the
        account has no notifications set up)."""
        self.ensure_one()
        if not self.sudo().notifications_active:
            return None
        budget = self._amazon_poll_seconds() if budget is None else budget
        with self._amazon_sync_run("notifications", trigger) as run:
            if run.busy:
                return run.outcome
            with run.api() as client:
                consumer = run.account._amazon_sqs_consumer()
                try:
                    run.account._amazon_consume(
                        client, consumer, run.outcome, budget, idle_polls, wait
                    )
                except sqs.SqsError as exc:
                    _logger.warning("Amazon account %s: SQS: %s", self.id, exc)
                    run.outcome.errors.append(
                        _("The SQS queue cannot be read: %(error)s", error=str(exc))
                    )
            run.account._amazon_notify_new_failures()
        return run.outcome

    def _amazon_consume(self, client, consumer, outcome, budget, idle_polls, wait):
        marketplaces = set(self.active_marketplace_ids.mapped("api_ref"))
        if outcome.budget is not None:
            # A scheduled run polls no longer than its time budget allows (one short poll
            # at least: each run does some work).
            budget = min(budget, max(outcome.budget.remaining(), MIN_POLL_SECONDS))
        for batch in consumer.poll(budget, idle_polls=idle_polls, wait_seconds=wait):
            handled, changed = [], {}
            for received in batch:
                key = self._amazon_triage(received, outcome, marketplaces)
                if key is None:
                    handled.append(received)
                else:
                    changed.setdefault(key, []).append(received)
            try:
                for order_ref, messages in changed.items():
                    try:
                        self._amazon_sync_order_ref(client, order_ref, outcome)
                    except amazon_errors.SpApiNotFoundError:
                        self._amazon_order_failed(
                            order_ref, _("Amazon does not know this order reference."), outcome
                        )
                    handled += messages
                    outcome.counts["notified"] += len(messages)
            finally:
                # Never delete a message before what it caused is committed: a crash
                # until here redelivers it, and the order is applied again (no change).
                self._amazon_commit_progress(
                    {"notification_last_at": fields.Datetime.now()} if handled else {}
                )
                self._amazon_delete_messages(consumer, handled)
            if outcome.out_of_time():
                # Between two batches (this one applied, committed and deleted; none
                # received after it): the messages left are the next run's, at once.
                outcome.more = True
                break

    def _amazon_delete_messages(self, consumer, handled):
        if handled:
            consumer.delete(handled)
            _logger.info(
                "Amazon account %s: %s notification message(s) handled and deleted.",
                self.id,
                len(handled),
            )

    def _amazon_triage(self, received, outcome, marketplaces):
        """The order reference a message asks to fetch, or None when it is to be deleted
        as it is: malformed, another seller's or of a marketplace this account does not
        synchronize, or a notification already handled."""
        if received.event is None:
            outcome.counts["malformed"] += 1
            _logger.warning(
                "Amazon account %s: SQS message %s is no valid ORDER_CHANGE notification "
                "(%s); deleted.",
                self.id,
                received.message_id,
                received.problem,
            )
            return None
        event = received.event
        if event.seller_id != (self.seller_id or "").strip():
            outcome.counts["foreign"] += 1
            _logger.warning(
                "Amazon account %s: SQS message %s is a notification of another seller; deleted.",
                self.id,
                received.message_id,
            )
            return None
        if event.marketplace_id not in marketplaces:
            outcome.counts["foreign"] += 1
            _logger.info(
                "Amazon account %s: SQS message %s is about a marketplace the account does not "
                "synchronize; deleted.",
                self.id,
                received.message_id,
            )
            return None
        if received.duplicate:
            outcome.counts["duplicate"] += 1
            return None
        return event.order_id
