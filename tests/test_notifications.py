# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Amazon's ORDER_CHANGE notifications: set-up and removal at Amazon (the sandbox's
Notifications API), and the consumer reading a real SQS-compatible server (moto's server
mode, started for the class) that the sandbox publishes every order change to."""

import importlib.util
import json
import unittest

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, tagged

from ..models.const import ALLOW_SANDBOX_PARAM
from .common import AmazonSyncCase

try:
    from ..sp_sandbox import sqs_server
    from ..sp_sandbox.sqs_server import SqsServer
except ImportError:  # no sandbox: AmazonSyncCase skips
    sqs_server = SqsServer = None

if importlib.util.find_spec("boto3") is None:
    SQS_MISSING = "boto3 missing: pip install boto3"
else:
    SQS_MISSING = sqs_server and sqs_server.unavailable()
MISSING = bool(SQS_MISSING)

NOTIFICATION_VALUES = {
    "sqs_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/attacker",
    "sqs_queue_arn": "arn:aws:sqs:eu-west-1:123456789012:attacker",
    "sqs_region": "eu-west-1",
    "aws_access_key_id": "AKIAATTACKER",
    "aws_secret_access_key": "attacker-secret",
    "sqs_endpoint": "https://sqs.eu-west-1.amazonaws.com",
}


@tagged("post_install", "-at_install")
@unittest.skipIf(MISSING, SQS_MISSING)
class TestNotifications(AmazonSyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sqs = SqsServer().start()
        cls.addClassCleanup(cls.sqs.stop)
        cls.queue_url, cls.queue_arn = cls.sqs.create_queue("amazon-orders")
        cls.sandbox.notifier.configure_sqs(cls.sqs.url, cls.sqs.region, **cls.sqs.credentials)
        cls.seller = cls.sandbox.scenario.seller["sellerId"]
        cls.account.write(
            {
                "seller_id": cls.seller,
                "sqs_queue_url": cls.queue_url,
                "sqs_region": cls.sqs.region,
                "aws_access_key_id": cls.sqs.credentials["access_key_id"],
                "aws_secret_access_key": cls.sqs.credentials["secret_access_key"],
                "sqs_endpoint": cls.sqs.url,
            }
        )
        cls.manager = cls._create_user("amazon_notif_manager", "sales_team.group_sale_manager")

    def setUp(self):
        super().setUp()
        self.sandbox.notifier.reset()
        self.sqs.purge(self.queue_url)
        # the order sync never runs here: only notifications bring the orders in
        self.account.last_orders_sync = self.sandbox.state.now().replace(tzinfo=None)

    def setup_notifications(self):
        self.account.action_setup_notifications()
        self.assertTrue(self.account.notifications_active)

    def consume(self):
        """Wait until the sandbox published every change, then read the queue until
        empty; returns the run's counts."""
        self.assertTrue(self.sandbox.notifier.wait_idle(60), "the sandbox did not publish")
        outcome = self.account._consume_notifications(budget=120, idle_polls=1, wait=1)
        self.assertFalse(outcome.errors)
        return outcome.counts

    def send_raw(self, body):
        self.sqs.client().send_message(QueueUrl=self.queue_url, MessageBody=body)

    def notification(self, ref):
        """An ORDER_CHANGE notification of the sandbox order ``ref`` as it is now."""
        notifier = self.sandbox.notifier
        now = self.sandbox.state.now()
        return notifier.message(self.sandbox.state.view(ref, now), {"subscriptionId": "s-1"}, now)

    # --- Set-up at Amazon -----------------------------------------------------------------------
    def test_setup_is_idempotent_and_remove(self):
        self.setup_notifications()
        account = self.account.sudo()
        refs = (account.notification_destination_ref, account.notification_subscription_ref)
        notifier = self.sandbox.notifier
        self.assertEqual(len(notifier.destinations), 1)
        self.assertEqual(
            notifier.subscriptions["ORDER_CHANGE"]["destinationId"], refs[0], "subscribed to it"
        )
        self.assertEqual(next(iter(notifier.destinations.values()))["arn"], self.queue_arn)
        self.account.action_setup_notifications()
        self.assertEqual(
            (account.notification_destination_ref, account.notification_subscription_ref), refs
        )
        self.assertEqual(len(notifier.destinations), 1)
        self.assertEqual(len(notifier.subscriptions), 1)
        self.account.action_remove_notifications()
        self.assertFalse(self.account.notifications_active)
        self.assertFalse(notifier.destinations or notifier.subscriptions)
        self.account.action_remove_notifications()  # nothing left: no error
        self.assertFalse(self.sandbox.state.stats["rejections"])

    def test_without_subscription_nothing_runs(self):
        self.assertIsNone(self.account._consume_notifications(budget=5, idle_polls=1, wait=1))

    def test_setup_needs_the_merchant_id(self):
        self.account.seller_id = False
        with self.assertRaises(UserError):
            self.account.action_setup_notifications()
        self.assertFalse(self.sandbox.notifier.destinations)

    # --- The consumer -----------------------------------------------------------------------
    def test_change_arrives_and_order_is_applied(self):
        self.setup_notifications()
        self.add_order("405-1000001-0000001")
        counts = self.consume()
        order = self.amazon_order("405-1000001-0000001")
        self.assertEqual(len(order), 1)
        self.assertEqual(order.state, "sale")
        self.assertEqual((counts["created"], counts["notified"]), (1, 1))
        self.assertTrue(self.account.notification_last_at)
        run = self.env["amazon.sync.run"].search(
            [("account_id", "=", self.account.id), ("kind", "=", "notifications")], limit=1
        )
        self.assertEqual((run.state, run.created_count), ("done", 1))
        self.sandbox.state.cancel("405-1000001-0000001")
        counts = self.consume()
        self.assertEqual(counts["cancelled"], 1)
        self.assertEqual(order.state, "cancel")
        self.assertEqual(self.sqs.count(self.queue_url), 0, "handled messages are deleted")

    def test_duplicated_and_reordered_messages_apply_once_in_final_state(self):
        self.setup_notifications()
        self.add_order("405-2000001-0000001")
        self.consume()
        # the next three messages go out newest first, the first change's twice
        self.sandbox.notifier.set_faults(duplicate_next=1, reorder=3)
        self.sandbox.state.cancel("405-2000001-0000001")
        self.add_order("405-2000002-0000002")
        counts = self.consume()
        self.assertEqual(self.sandbox.notifier.counts["duplicated"], 1)
        self.assertEqual(counts["duplicate"], 1)
        first = self.amazon_order("405-2000001-0000001")
        self.assertEqual(len(first), 1)
        self.assertEqual(first.state, "cancel")
        self.assertEqual(len(self.amazon_order("405-2000002-0000002")), 1)
        self.assertEqual(self.sqs.count(self.queue_url), 0)

    def test_redelivered_message_applies_once(self):
        """A message handled but not deleted (the process died in between) comes back:
        applying the order again changes nothing."""
        self.setup_notifications()
        self.add_order("405-3000001-0000001")
        self.consume()
        body = json.dumps(self.notification("405-3000001-0000001"))
        for _attempt in range(2):
            self.send_raw(body)
            counts = self.consume()
            self.assertEqual(counts["created"], 0)
            self.assertEqual(counts["notified"], 1)
        self.assertEqual(len(self.amazon_order("405-3000001-0000001")), 1)

    def test_malformed_and_foreign_messages_are_deleted(self):
        self.setup_notifications()
        self.add_order("405-4000001-0000001")
        self.assertTrue(self.sandbox.notifier.wait_idle(60))
        self.sqs.purge(self.queue_url)  # only the messages below
        valid = self.notification("405-4000001-0000001")
        foreign = json.loads(json.dumps(valid))
        foreign["Payload"]["OrderChangeNotification"]["SellerId"] = "A9OTHERSELLER"
        incomplete = json.loads(json.dumps(valid))
        del incomplete["Payload"]["OrderChangeNotification"]["Summary"]["OrderItems"]
        other_type = dict(valid, NotificationType="ANY_OFFER_CHANGED")
        elsewhere = json.loads(json.dumps(valid))
        elsewhere["Payload"]["OrderChangeNotification"]["Summary"]["MarketplaceId"] = "A0NOTSYNCED"
        for body in ("not json", json.dumps(incomplete), json.dumps(other_type)):
            self.send_raw(body)
        self.send_raw(json.dumps(foreign))
        self.send_raw(json.dumps(elsewhere))
        counts = self.consume()
        self.assertEqual((counts["malformed"], counts["foreign"]), (3, 2))
        self.assertFalse(self.amazon_order("405-4000001-0000001"), "no valid message of ours")
        self.assertEqual(self.sqs.count(self.queue_url), 0, "never left to block the queue")

    def test_scheduled_run_stops_after_one_batch_and_loses_nothing(self):
        """With a time budget of 0 s (test-only) each scheduled run handles one batch of
        messages (SQS's ten at most), deletes only those, and triggers its job again."""
        self.setup_notifications()
        refs = [f"405-6000{n:03d}-0000001" for n in range(1, 13)]
        for ref in refs:
            self.add_order(ref)
        self.assertTrue(self.sandbox.notifier.wait_idle(60), "the sandbox did not publish")
        cron = self.env.ref("sale_amazon_connector.ir_cron_consume_notifications")
        Trigger = self.env["ir.cron.trigger"]
        Run = self.env["amazon.sync.run"]
        Account = self.env["amazon.account"].with_context(amazon_test_run_budget=0)
        runs = Run
        for _attempt in range(10):
            before = Trigger.search_count([("cron_id", "=", cron.id)])
            Account._cron_consume_notifications()
            run = Run.search(
                [("account_id", "=", self.account.id), ("kind", "=", "notifications")], limit=1
            )
            self.assertNotIn(run, runs, "each scheduled run is recorded")
            runs |= run
            self.assertEqual((run.trigger, run.state), ("cron", "done"), run.error_summary)
            triggers = Trigger.search_count([("cron_id", "=", cron.id)])
            if not run.continued:
                self.assertEqual(triggers, before, "nothing left: no trigger")
                break
            self.assertEqual(triggers, before + 1, "a continued run triggers its job")
            self.assertLessEqual(run.created_count, 10, "one batch per run")
        else:
            self.fail("the notification runs did not finish")
        self.assertGreaterEqual(len(runs), 2, "twelve messages: more than one batch")
        self.assertTrue(runs.sorted("id")[0].continued)
        self.assertEqual(sum(runs.mapped("created_count")), 12)
        for ref in refs:
            self.assertEqual(len(self.amazon_order(ref)), 1, f"{ref} created once")
        self.assertEqual(self.sqs.count(self.queue_url), 0, "every message deleted")

    # --- Who may set what -----------------------------------------------------------------------
    def test_non_admin_refused_on_queue_fields_and_buttons(self):
        Account = self.env["amazon.account"].with_user(self.manager)
        for fname, value in NOTIFICATION_VALUES.items():
            label = Account._fields[fname].string
            with self.subTest(fname), self.assertRaises(AccessError) as caught:
                Account.create({"name": "Evil", fname: value})
            self.assertIn(label, str(caught.exception))
            with self.subTest(fname), self.assertRaises(AccessError):
                self.account.with_user(self.manager).write({fname: value})
            with self.subTest(fname), self.assertRaises(AccessError):
                self.account.with_user(self.manager).copy({fname: value})
        copy = self.account.with_user(self.manager).copy({"seller_id": "A1COPY"}).sudo()
        self.assertFalse(copy.aws_secret_access_key or copy.sqs_queue_url or copy.sqs_endpoint)
        for action in ("action_setup_notifications", "action_remove_notifications"):
            with self.subTest(action), self.assertRaises(AccessError):
                getattr(self.account.with_user(self.manager), action)()
        self.manager.groups_id = [Command.link(self.env.ref("base.group_system").id)]
        self.account.with_user(self.manager).write({"sqs_region": "eu-west-3"})

    def test_loopback_sqs_endpoint_needs_the_sandbox_parameter(self):
        self.account.write({"sqs_queue_url": NOTIFICATION_VALUES["sqs_queue_url"]})
        self.env["ir.config_parameter"].sudo().set_param(ALLOW_SANDBOX_PARAM, "False")
        with self.assertRaises(ValidationError):
            self.account.write({"sqs_endpoint": "http://127.0.0.1:4566"})
        with self.assertRaises(ValidationError):
            self.account.write({"sqs_endpoint": "https://sqs.evil.example.com"})
        self.account.write({"sqs_endpoint": "https://sqs.eu-west-1.amazonaws.com"})


@tagged("post_install", "-at_install")
class TestOrderPollingSetting(TransactionCase):
    def test_setting_is_the_interval_of_the_orders_scheduled_action(self):
        cron = self.env.ref("sale_amazon_connector.ir_cron_sync_orders")
        cron.write({"interval_number": 30, "interval_type": "minutes"})
        Settings = self.env["res.config.settings"]
        self.assertEqual(Settings.create({}).amazon_orders_poll_minutes, 30)
        Settings.create({"amazon_orders_poll_minutes": 120}).execute()
        self.assertEqual((cron.interval_number, cron.interval_type), (120, "minutes"))
        cron.write({"interval_number": 2, "interval_type": "hours"})
        self.assertEqual(Settings.create({}).amazon_orders_poll_minutes, 120)
