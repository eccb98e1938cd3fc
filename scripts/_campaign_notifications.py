"""The notifications campaign of ``scripts/campaign`` (and what ``scripts/bench-freshness``
shares with it): Amazon's ORDER_CHANGE notifications on, through a real SQS-compatible server
(moto's server mode, ``sp_sandbox.sqs_server``), with the sandbox duplicating, reordering and
dropping messages and the consumer SIGKILLed between apply and delete. Standard library
only on this side (the Odoo half is ``_notifications_odoo.py``).
"""

from _campaign_infra import Infra, ServiceError, wait_until
from _odoo_harness import say

from sp_sandbox.sqs_server import SqsServer

SANDBOX_SELLER = "A2SANDBOX0SELLER"  # the seller of the sandbox's generated scenarios
VISIBILITY_SECONDS = 2  # a message handled by a killed consumer comes back this soon


class NotificationsCampaign(Infra):
    """Mixed into the campaigns (``scripts/campaign``) and the freshness benchmark."""

    # --- set-up -----------------------------------------------------------------------------
    def sqs_server(self):
        """moto's SQS server for this run (stopped by :meth:`stop`)."""
        if getattr(self, "_sqs", None) is None:
            self._sqs = SqsServer().start()
        return self._sqs

    def notifications_account(self, name, url, visibility=VISIBILITY_SECONDS):
        """An account on the sandbox ``url`` with notifications set up on a new queue:
        (account id, queue URL)."""
        sqs = self.sqs_server()
        queue_url, _arn = sqs.create_queue(f"{name}-orders", visibility_timeout=visibility)
        self.ctl(
            url,
            "POST",
            "notifications/sqs",
            {"endpoint_url": sqs.url, "region": sqs.region, **sqs.credentials},
        )
        account = self.account(name, url)["account_id"]
        self.runner(
            "notif_setup",
            f"{name}-notif-setup",
            account_id=account,
            seller_id=SANDBOX_SELLER,
            queue_url=queue_url,
            region=sqs.region,
            endpoint=sqs.url,
            **sqs.credentials,
        )
        return account, queue_url

    # --- changes on Amazon ------------------------------------------------------------------
    def order_changes(self, url, count, rng, known, held=None):
        """``count`` changes on the sandbox now: new FBM/FBA orders, cancellations of
        unshipped FBM orders (of ``held`` only, when given), FBA shipments; returns
        [(ref, expected status)]."""
        rows = self.ctl(url, "GET", "orders")["orders"]
        marketplaces = sorted({row["marketplaceId"] for row in rows})
        unshipped = [
            r["orderId"]
            for r in rows
            if r["status"] == "UNSHIPPED" and (held is None or r["orderId"] in held)
        ]
        pending = [
            r["orderId"] for r in rows if r["status"] == "PENDING" and r["fulfilledBy"] == "AMAZON"
        ]
        done = []
        for _index in range(count):
            roll = rng.random()
            if roll < 0.2 and unshipped:
                ref = unshipped.pop(rng.randrange(len(unshipped)))
                self.ctl(url, "POST", f"orders/{ref}/cancel", {})
                done.append((ref, "CANCELLED"))
            elif roll < 0.3 and pending:
                ref = pending.pop(rng.randrange(len(pending)))
                self.ctl(url, "POST", f"orders/{ref}/ship-fba", {})
                done.append((ref, "SHIPPED"))
            else:
                merchant = rng.random() < 0.7
                known[0] += 1
                body = {
                    "marketplace": rng.choice(marketplaces),
                    "fulfilledBy": "MERCHANT" if merchant else "AMAZON",
                    "status": "UNSHIPPED" if merchant else "SHIPPED",
                    "items": [
                        {
                            "sku": f"NOTIF-SKU-{rng.randrange(20)}",
                            "quantity": rng.randint(1, 3),
                            "unitPrice": f"{rng.randint(5, 80)}.{rng.randrange(100):02d}",
                        }
                    ],
                    "buyer": {"name": "Buyer", "email": f"b{known[0]}@marketplace.amazon.es"},
                    "recipient": {
                        "name": "Recipient",
                        "addressLine1": "Street 1",
                        "city": "Madrid",
                        "postalCode": "28013",
                        "countryCode": "ES",
                    },
                }
                ref = self.ctl(url, "POST", "orders", body)["orderId"]
                if merchant:
                    unshipped.append(ref)
                done.append((ref, body["status"]))
        return done

    def consume(self, name, account, **opts):
        """One consumer run to an empty queue (a run the lock still holds after a kill
        is retried once the lock is free)."""

        def attempt():
            outcome = self.runner("notif_consume", name, account_id=account, **opts)
            return None if outcome["counts"].get("busy") else outcome

        return wait_until(attempt, 120, f"{name}: the consumer's lock", interval=0.5)

    # --- the campaign -----------------------------------------------------------------------
    def notifications(self):
        """Notifications on: every round makes order changes on Amazon with the sandbox
        duplicating (20 %), dropping (10 %) and reordering (in threes) the messages; the
        first rounds' consumers are SIGKILLed after applying and committing, before
        deleting; then a consumer run empties the queue. At the end the safety-net poll
        runs once; Odoo must hold every order once, in Amazon's state."""
        orders = self.pick(300, 100, 30)
        rounds = self.pick(8, 4, 3)
        per_round = self.pick(25, 15, 6)
        kills = self.pick(4, 2, 1)
        url = self.sandbox("notifications", orders, seed=self.args.seed + 7, speed=100.0)
        account, _queue = self.notifications_account("notifications", url)
        self.runner("sync", "notifications-backlog", account_id=account)
        self.ctl(
            url,
            "POST",
            "notifications/faults",
            {"duplicate": 0.2, "drop": 0.1, "reorder": 3, "seed": self.args.seed},
        )
        known, killed, notified = [0], 0, 0
        for number in range(1, rounds + 1):
            self.order_changes(url, per_round, self.rng, known)
            self.ctl(url, "POST", "notifications/wait", {"timeout": 60})
            if number <= kills:
                child = self.spawn(
                    "notif_consume",
                    f"notifications-killed-{number}",
                    account_id=account,
                    budget=60,
                    idle_polls=1,
                    wait=1,
                    kill_before_delete=True,
                )
                try:
                    child.wait(120)
                    say(f"notifications: round {number}: nothing to delete, not killed")
                except ServiceError:
                    killed += 1
            # the killed consumer's messages come back after the visibility timeout
            outcome = self.consume(
                f"notifications-consume-{number}", account, idle_polls=3, wait=VISIBILITY_SECONDS
            )
            counts = outcome["counts"]
            notified += counts.get("notified", 0)
            say(
                f"notifications: round {number}/{rounds}: {per_round} changes; consumer "
                f"notified={counts.get('notified', 0)} created={counts.get('created', 0)} "
                f"updated={counts.get('updated', 0)} cancelled={counts.get('cancelled', 0)} "
                f"duplicate={counts.get('duplicate', 0)} malformed={counts.get('malformed', 0)}"
            )
            if outcome["errors"]:
                self.problem(f"notifications: consumer errors {outcome['errors']}")
        self.ctl(url, "DELETE", "notifications/faults")  # sends the held ones
        self.consume("notifications-consume-last", account, idle_polls=3, wait=1)
        published = self.ctl(url, "GET", "notifications")
        say(
            f"notifications: {published['changes']} changes, {published['sent']} messages "
            f"sent ({published['duplicated']} duplicates), {published['dropped']} dropped; "
            f"{killed} consumer(s) SIGKILLed between apply and delete; {notified} handled"
        )
        if kills and not killed:
            self.problem("notifications: no consumer was killed between apply and delete")
        # the safety net: the order sync's next window catches the dropped changes
        self.ctl(url, "POST", "advance", {"seconds": 600})
        self.runner("sync", "notifications-safety-net", account_id=account, trigger="cron")
        state = self.runner("notif_state", "notifications-state", account_id=account)
        if state["duplicated"]:
            self.problem(f"notifications: duplicated sale orders {state['duplicated'][:5]}")
        self.check("notifications", url, account)

    def stop(self):
        sqs, self._sqs = getattr(self, "_sqs", None), None
        if sqs is not None:
            sqs.stop()
        super().stop()


def percentile(values, fraction):
    """The ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]
