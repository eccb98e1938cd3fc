"""Inside Odoo: the notifications actions of the campaign service (``_campaign_odoo.ACTIONS``)
used by ``scripts/campaign notifications`` and ``scripts/bench-freshness``.

They go through the models' entry points (``action_setup_notifications``,
``_consume_notifications``, ``_cron_consume_notifications``). ``kill_before_delete`` makes
the consumer's process SIGKILL itself when it is about to delete handled messages (its
orders applied and committed, the messages not deleted): a crash at the worst moment,
injected at the SQS client's boundary like the sandbox's faults at Amazon's.
"""

import os
import signal
import time

import odoo


def _env(cr):
    return odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})


def notif_setup(registry, opts):
    """Point the account at the SQS queue and set the notifications up at Amazon."""
    with registry.cursor() as cr:
        account = _env(cr)["amazon.account"].browse(opts["account_id"])
        account.write(
            {
                "seller_id": opts["seller_id"],
                "sqs_queue_url": opts["queue_url"],
                "sqs_region": opts["region"],
                "aws_access_key_id": opts["access_key_id"],
                "aws_secret_access_key": opts["secret_access_key"],
                "sqs_endpoint": opts["endpoint"],
            }
        )
        account.action_setup_notifications()
        return {"active": account.notifications_active}


def _outcome(outcome):
    if outcome is None:
        return None
    return {"counts": dict(outcome.counts), "errors": outcome.errors}


def notif_consume(registry, opts):
    """One consumer run: until ``idle_polls`` empty polls of ``wait`` s (or ``budget``)."""
    if opts.get("kill_before_delete"):
        from odoo.addons.sale_amazon_connector.amazon_sp import sqs

        def die(self, batch):
            os.kill(os.getpid(), signal.SIGKILL)

        sqs.SqsConsumer.delete = die
    with registry.cursor() as cr:
        account = _env(cr)["amazon.account"].browse(opts["account_id"])
        outcome = account._consume_notifications(
            trigger="cron",
            budget=opts.get("budget", 60),
            idle_polls=opts.get("idle_polls"),
            wait=opts.get("wait", 20),
        )
        return _outcome(outcome)


def notif_cron_loop(registry, opts):
    """The consumer as its scheduled action runs it: every ``interval`` s (default 60), one
    ``_cron_consume_notifications()`` (default budget), until the file ``stop`` exists."""
    runs = 0
    while not os.path.exists(opts["stop"]):
        started = time.monotonic()
        with registry.cursor() as cr:
            _env(cr)["amazon.account"]._cron_consume_notifications()
            cr.commit()
        runs += 1
        while time.monotonic() - started < opts.get("interval", 60):
            if os.path.exists(opts["stop"]):
                break
            time.sleep(0.2)
    return {"runs": runs}


def notif_state(registry, opts):
    """{order ref: Amazon status} of the account's sale orders, and how many per ref."""
    with registry.cursor() as cr:
        cr.execute(
            "SELECT amazon_order_ref, amazon_status, count(*) OVER (PARTITION BY "
            "amazon_order_ref) FROM sale_order WHERE amazon_account_id = %s",
            [opts["account_id"]],
        )
        rows = cr.fetchall()
    return {
        "status": {ref: status for ref, status, _n in rows},
        "duplicated": sorted({ref for ref, _s, n in rows if n > 1}),
    }


ACTIONS = {
    action.__name__: action for action in (notif_setup, notif_consume, notif_cron_loop, notif_state)
}
