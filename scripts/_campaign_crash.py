"""The crash campaign of ``scripts/campaign``: the syncing Odoo process SIGKILLed at
moments chosen from its observed progress (:meth:`CrashCampaign.crash`), and what it watches
to place its kills (:class:`KillPoint`). Standard library only.
"""

import math
import time

from _campaign_infra import Infra
from _odoo_harness import say

PAGE = 100  # orders per searchOrders page (the client's default)
PAGE_DONE = "Amazon account {account}: page {page} done,"  # the sync's log line per page
# Where the crash campaign kills the sync, relative to what it observes of it:
KILL_KINDS = {
    "early": "before this run committed any page (its process up, its lock taken, or "
    "Amazon's first page served)",
    "mid-page": "while a page is applied: k of its sale orders created, none committed",
    "after-page": "right after page n was committed",
}


class CrashCampaign(Infra):
    """The crash campaign, on the campaign run's :class:`Infra`."""

    # --- crash --------------------------------------------------------------------------------
    def crash(self):
        """The syncing Odoo process SIGKILLed at moments chosen from its observed progress.

        Each sync runs in its own process; the campaign watches it (its log lines "page N
        done", its sync run record, the sale orders committed and the sale order id
        sequence as other transactions see them, the pages the sandbox served) and kills it
        at a point drawn relative to that progress (see ``KILL_KINDS``): the first three
        kills are one of each kind, the first before anything of the account was committed;
        the others of random kinds. A sync that ends before its kill point is let finish
        (Amazon's clock then moves 3 hours on). Then the sync runs until done and Odoo must
        hold every order once, with no run left *Running* and no lock left held.
        """
        orders = self.pick(1000, 300, 200)
        kills = self.pick(30, 20, 5)
        url = self.sandbox("crash", orders, seed=self.args.seed + 1)
        account = self.account("crash", url)["account_id"]
        start = time.monotonic()
        plan = [*KILL_KINDS] + [self.rng.choice(list(KILL_KINDS)) for _ in range(kills - 3)]
        killed, busy, finished = [], 0, 0
        while len(killed) < kills:
            if finished > 2 * kills:
                self.problem(f"crash: only {len(killed)} of {kills} kills placed")
                break
            kind = plan[len(killed)]
            before = self.runner("progress", "crash-progress", account_id=account)
            point = self.kill_point(kind, url, account, before)
            child = self.spawn("sync", f"crash-sync-{len(killed) + 1}", account_id=account)
            if self.watch(child, point, url, account, before):
                child.kill()
                after = self.runner("progress", "crash-progress", account_id=account)
                # sale orders the killed transaction had created: ids it took, not committed
                in_flight = (after["sequence"] - before["sequence"]) - (
                    after["committed"] - before["committed"]
                )
                killed.append(
                    {"kind": kind, "at": point.label, "committed": after["committed"],
                     "in_flight": in_flight}
                )  # fmt: skip
            else:
                outcome = child.wait()
                busy += outcome["counts"].get("busy", 0)
                finished += 1
                self.ctl(url, "POST", "advance", {"seconds": 3 * 3600})
        say(
            f"crash: {len(killed)} SIGKILLs; sale orders after each kill: "
            f"{[kill['committed'] for kill in killed]}"
        )
        for kill in killed:
            say(
                f"  crash: {kill['kind']:<10} at {kill['at']:<28} committed={kill['committed']:<5}"
                f" in flight={kill['in_flight']}"
            )
        runs = 0
        while True:  # restarted until done
            outcome = self.runner("sync", "crash-sync", account_id=account)
            runs += 1
            busy += outcome["counts"].get("busy", 0)
            if not outcome["errors"] and not outcome["counts"].get("busy") or runs >= 5:
                break
        if busy:
            self.problem(f"crash: {busy} sync(s) found the advisory lock still held after a kill")
        if killed and not any(kill["committed"] == 0 for kill in killed):
            self.problem("crash: no kill before the first page was committed")
        if killed and not any(kill["committed"] for kill in killed):
            self.problem("crash: no page was ever committed before a kill")
        if killed and not any(kill["in_flight"] > 0 for kill in killed):
            self.problem("crash: no kill in the middle of applying a page")
        say(
            f"crash: {finished} sync(s) ended before their kill point; finished after {runs} "
            f"more run(s), {time.monotonic() - start:.0f} s"
        )
        dump, _result = self.check("crash", url, account)
        stale = sum(1 for run in dump["runs"] if run["state"] == "running")
        say(f"crash: {stale} sync run record(s) left 'running' by killed processes")
        if stale:
            self.problem(f"crash: {stale} sync run record(s) left 'running'")

    def kill_point(self, kind, url, account, before):
        """Where to kill the next sync (a :class:`KillPoint` of ``kind``), drawn from what
        this sync will read: Amazon's orders updated since Last Order Sync."""
        since = before["last_orders_sync"]
        rows = self.ctl(url, "GET", "orders")["orders"]
        window = [row for row in rows if row["lastUpdatedTime"][:19] >= since[:19]]
        pages = max(1, math.ceil(len(window) / PAGE))
        new = max(1, len(window) - before["committed"])
        if kind == "early":
            return KillPoint(kind, self.rng.choice(["process up", "lock taken", "page 1 served"]))
        if kind == "mid-page":
            k = self.rng.randint(1, max(1, min(PAGE - 1, new) // 2))
            return KillPoint(kind, f"{k} orders in flight", in_flight=k)
        page = self.rng.randint(1, pages)
        return KillPoint(kind, f"page {page} committed", page=page)

    def watch(self, child, point, url, account, before, timeout=900):
        """Follow the sync in ``child`` until ``point`` is reached (True) or the sync ended
        (False). Polls what the sync does, never waits a guessed delay."""
        page_done = PAGE_DONE.format(account=account, page=point.page)
        served_before = self.searches(url) if point.label == "page 1 served" else None
        deadline = time.monotonic() + timeout
        while not child.done:
            if time.monotonic() > deadline:
                child.kill()
                raise TimeoutError(f"crash: the sync did not end nor reach {point.label}")
            if point.label == "process up":
                if "RUNNER READY" in child.read_log():
                    return True
            elif point.label == "page 1 served":
                if self.searches(url) > served_before:
                    return True
            elif point.page:
                if page_done in child.read_log():
                    return True
            else:
                now = self.runner("progress", "crash-progress", account_id=account)
                if point.label == "lock taken" and now["last_run"] != before["last_run"]:
                    return True
                created = now["sequence"] - before["sequence"]
                in_flight = created - (now["committed"] - before["committed"])
                if point.in_flight and in_flight >= point.in_flight:
                    return True
            # the sandbox's state is a summary of every order: asked less often
            time.sleep(0.1 if served_before is not None else 0.02)
        return False

    def searches(self, url):
        """searchOrders calls the sandbox served so far."""
        return self.ctl(url, "GET", "state")["stats"]["calls"].get("searchOrders", 0)


class KillPoint:
    """Where the crash campaign kills a sync: a ``label`` (what it waits for), a committed
    ``page`` to kill right after, or a number of sale orders ``in_flight``."""

    def __init__(self, kind, label, page=None, in_flight=None):
        self.kind = kind
        self.label = label
        self.page = page
        self.in_flight = in_flight
