"""What the reliability campaigns (``scripts/campaign``) stand on, standard library only.

* :class:`OdooService`: one Odoo process on the campaign database (``_odoo_shell.py serve``)
  that loads the registry once and runs the campaigns' Odoo actions (``_campaign_odoo``),
  in itself or in forked children that a campaign may SIGKILL (:class:`Child`);
* :class:`Infra`: the campaign run: database, service, Odoo servers reached over XML-RPC,
  SP-API sandbox processes (``scripts/sandbox``) and their control endpoints, the checks
  (Odoo against the sandbox at the window end, shipments confirmed once), the grep of every
  log for secrets, buyer data and errors, and the clean-up.
"""

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import xmlrpc.client
from datetime import datetime, timedelta
from pathlib import Path

from _odoo_harness import SCRIPTS, free_port, say, stop_process

from sp_sandbox import Scenario, checks

LOG_PROBLEM_RE = re.compile(
    r"could not serialize|deadlock detected|Traceback|^\S+ \S+ \d+ (ERROR|CRITICAL) ",
    re.MULTILINE,
)
CRON_DONE_RE = re.compile(r"Job done: `([^`]+)`")
# Odoo's threaded server (``--workers 0``) closes every connection when it stops, under its
# daemon cron threads waiting on theirs: Python prints their end, which is not an error of
# the run. Only ignored after the server said it stops.
THREADED_SHUTDOWN_NOISE = re.compile(
    r"^Exception in thread odoo\.service\.cron\.cron\d+:\nTraceback \(most recent call last\):\n"
    r"(?:  .*\n)+?psycopg2\.InterfaceError: connection already closed\n",
    re.MULTILINE,
)
SHUTDOWN = "odoo.service.server: Initiating shutdown"
# A log record: its first line (timestamp, pid, level) and the lines up to the next record.
LOG_RECORD_RE = re.compile(
    r"^\d{4}-\d\d-\d\d \S+ \d+ (\w+) .*\n(?:(?!\d{4}-\d\d-\d\d ).*\n)*", re.MULTILINE
)


def without_shutdown_noise(text):
    """``text`` (a server log) without what Odoo's threaded server prints while it stops:
    after it said so, its cron threads end on closed connections, and a job that had just
    started fails on the cursor closed under it (its error and Odoo's "Exception in cron"
    warning; rolled back: nothing of it is kept)."""
    if SHUTDOWN not in text:
        return text
    head, tail = text.split(SHUTDOWN, 1)
    tail = THREADED_SHUTDOWN_NOISE.sub("", tail)
    tail = LOG_RECORD_RE.sub(
        lambda m: (
            ""
            if m.group(1) in ("ERROR", "WARNING") and "already closed" in m.group(0)
            else m.group(0)
        ),
        tail,
    )
    return head + SHUTDOWN + tail


def wait_until(condition, timeout, what, interval=0.05):
    """Poll ``condition()`` until it returns something true; return it. Raise TimeoutError
    naming ``what`` after ``timeout`` seconds: every wait on another process is bounded."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f} s")
        time.sleep(interval)


class ServiceError(RuntimeError):
    pass


class OdooService:
    """The campaign's Odoo process (see ``_odoo_shell.serve``), driven over its stdin/stdout."""

    def __init__(self, odoo, db, logs, timeout=900):
        self.logs = logs
        self.timeout = timeout
        self.log = open(logs / "odoo-service.log", "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            odoo.shell("serve", {"db": db}),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=odoo.env,
            cwd=logs,
        )
        self.counter = 0
        self.answers = {}
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        ready = self._wait(lambda: self.answers.pop("ready", None), self.timeout, "Odoo service")
        say(f"odoo: service ready (pid {ready})")

    def _read(self):
        for line in self.proc.stdout:
            message = json.loads(line)
            with self.cond:
                if "ready" in message:
                    self.answers["ready"] = message["ready"]
                else:
                    key = message["id"], "exit" if "exit" in message else "answer"
                    self.answers[key] = message
                self.cond.notify_all()
        with self.cond:
            self.answers["eof"] = True
            self.cond.notify_all()

    def _wait(self, take, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = take()
                if value is not None:
                    return value
                if self.answers.get("eof"):
                    raise ServiceError(f"{what}: the Odoo service died (log: {self.log.name})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServiceError(f"{what}: no answer after {timeout:.0f} s")
                self.cond.wait(left)

    def _send(self, action, log_name, opts, fork):
        self.counter += 1
        log = self.logs / f"{log_name}.log"
        request = {"id": self.counter, "action": action, "opts": opts, "log": str(log)}
        self.proc.stdin.write(json.dumps({**request, "fork": fork}) + "\n")
        self.proc.stdin.flush()
        return self.counter, log

    def call(self, action, log_name, **opts):
        """Run ``action`` in the service; return its result."""
        request_id, log = self._send(action, log_name, opts, fork=False)
        answer = self._wait(
            lambda: self.answers.pop((request_id, "answer"), None), self.timeout, action
        )
        if "error" in answer:
            raise ServiceError(f"{action} failed: {answer['error']} (log: {log})")
        return answer["result"]

    def spawn(self, action, log_name, **opts):
        """Run ``action`` in a child process forked from the service; return a :class:`Child`."""
        request_id, log = self._send(action, log_name, opts, fork=True)
        answer = self._wait(
            lambda: self.answers.pop((request_id, "answer"), None), self.timeout, action
        )
        return Child(self, request_id, answer["pid"], log, action)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Child:
    """An action running in a process forked from the service."""

    def __init__(self, service, request_id, pid, log, action):
        self.service = service
        self.request_id = request_id
        self.pid = pid
        self.log = log
        self.action = action
        self.outcome = None

    def _take(self):
        if self.outcome is None:
            self.outcome = self.service.answers.pop((self.request_id, "exit"), None)
        return self.outcome

    @property
    def done(self):
        with self.service.cond:
            return self._take() is not None

    def wait(self, timeout=None):
        """The action's result once the child ended; raise unless it ended well."""
        outcome = self.service._wait(self._take, timeout or self.service.timeout, self.action)
        if outcome["exit"] != 0 or outcome["result"] is None:
            raise ServiceError(
                f"{self.action} ended with code {outcome['exit']} (log: {self.log.name})"
            )
        return outcome["result"]

    def kill(self):
        """SIGKILL the child (if it still runs); return its exit code (-9 when killed)."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.service._wait(self._take, 60, f"{self.action} after SIGKILL")["exit"]

    def read_log(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Infra:
    """One campaign run on one database: processes, sandboxes, checks, clean-up."""

    def __init__(self, args, tmp, odoo, db, size):
        self.args = args
        self.size = size
        self.rng = random.Random(args.seed)
        self.tmp = Path(tmp)
        self.logs = self.tmp / "logs"
        self.logs.mkdir(exist_ok=True)
        self.odoo = odoo
        self.db = db
        self.counter = 0
        self.problems = []
        self.totals = {"lost": 0, "duplicated": 0, "mismatched": 0}
        # secrets of this run's accounts: they must never reach a log line
        token = f"{self.rng.getrandbits(64):016x}"
        self.secrets = {
            "client_id": f"amzn1.application-oa2-client.campaign{token}",
            "client_secret": f"campaign-client-secret-{token}",
            "refresh_token": f"Atzr|campaign-refresh-token-{token}",
        }
        self.scenarios = []  # (orders, seed) served, for the buyer-data grep
        self.processes = []
        self.service = None

    def pick(self, full, quick, smoke):
        """The figure of this run's size (``--quick``, ``--smoke`` or the full campaign)."""
        return {"full": full, "quick": quick, "smoke": smoke}[self.size]

    def problem(self, message):
        self.problems.append(message)
        say(f"PROBLEM: {message}")

    # --- Odoo ---------------------------------------------------------------------------------
    def start_service(self):
        self.service = OdooService(self.odoo, self.db, self.logs)

    def runner(self, action, log_name, **opts):
        """Run one Odoo action (``_campaign_odoo``) in the service; return its result."""
        return self.service.call(action, log_name, **opts)

    def spawn(self, action, log_name, **opts):
        """Run one Odoo action in its own process (forked from the service)."""
        return self.service.spawn(action, log_name, **opts)

    def server(self, log_name, cron_threads=0, workers=0):
        """An ``odoo-bin`` server on the campaign database; its URL once it answers."""
        port = free_port()
        log = open(self.logs / f"{log_name}.log", "a")  # noqa: SIM115 - closed in stop()
        cmd = self.odoo.bin(
            self.db,
            "--log-level",
            "info",
            "--http-interface",
            "127.0.0.1",
            "--http-port",
            str(port),
            "--max-cron-threads",
            str(cron_threads),
            "--workers",
            str(workers),
            "--gevent-port",  # several servers on one machine: one websocket port each
            str(free_port()),
        )
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=self.odoo.env, cwd=self.tmp
        )
        proc.log = log
        self.processes.append(proc)
        url = f"http://127.0.0.1:{port}"

        def answers():
            if proc.poll() is not None:
                raise RuntimeError(f"the Odoo server {log_name} exited (log: {log.name})")
            try:
                with urllib.request.urlopen(f"{url}/web/health", timeout=5) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(answers, 300, f"Odoo server {log_name}", interval=0.2)
        return url

    def rpc(self, url, login, password):
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common", allow_none=True)
        uid = common.authenticate(self.db, login, password, {})
        models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

        def call(model, method, *args, **kwargs):
            return models.execute_kw(self.db, uid, password, model, method, list(args), kwargs)

        return call

    def stop_servers(self, prefix):
        """Stop the ``prefix*`` servers gracefully; jobs their cron workers finished, by name."""
        done = {}
        for proc in self.processes:
            log = getattr(proc, "log", None)
            if not log or not Path(log.name).name.startswith(prefix):
                continue
            stop_process(proc, 60)
            log.close()
            for name in CRON_DONE_RE.findall(Path(log.name).read_text(errors="replace")):
                done[name] = done.get(name, 0) + 1
        return done

    def cron_jobs_done(self, prefix):
        """Jobs the ``prefix*`` servers' cron workers finished so far, by name."""
        done = {}
        for path in self.logs.glob(f"{prefix}*.log"):
            for name in CRON_DONE_RE.findall(path.read_text(errors="replace")):
                done[name] = done.get(name, 0) + 1
        return done

    def prefork_works(self):
        """Whether ``--workers N`` can start here: Odoo then spawns its gevent process,
        whose ``monkey.patch_all()`` loads gevent's plugins through ``pkg_resources``, which
        fails on some installs (recent zope.interface/zope.event metadata with setuptools <
        81). If not, the servers run threaded (``--workers 0``): the same cron runner
        (``ir.cron._process_jobs``) in cron threads instead of cron processes."""
        probe = subprocess.run(
            [sys.executable, "-c", "import pkg_resources; pkg_resources.require('gevent')"],
            capture_output=True,
            text=True,
            env=self.odoo.env,
        )
        if probe.returncode == 0:
            return True
        reason = (probe.stderr.strip().splitlines() or ["?"])[-1]
        say(
            f"concurrency: --workers cannot start Odoo's gevent process here ({reason}; "
            'pip install "zope.interface<7" "zope.event<5" fixes it): servers run threaded'
        )
        return False

    # --- the sandbox --------------------------------------------------------------------------
    def sandbox(self, name, orders, seed, speed=20.0):
        """A ``scripts/sandbox`` process of ``orders`` generated orders; its URL."""
        self.scenarios.append((orders, seed))
        log = open(self.logs / f"sandbox-{name}.log", "w")  # noqa: SIM115 - closed in stop()
        cmd = [sys.executable, str(SCRIPTS / "sandbox"), "--port", "0", "--orders", str(orders)]
        cmd += ["--seed", str(seed), "--speed", str(speed)]
        for convention in getattr(self.args, "convention", None) or ():
            cmd += ["--convention", convention]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        proc.log = log
        self.processes.append(proc)
        line = proc.stdout.readline()  # "SP-API sandbox: <url> LWA: <lwa url>" once it listens
        if not line.startswith("SP-API sandbox:"):
            raise RuntimeError(f"the sandbox {name} did not start (log: {log.name})")
        return line.split()[2]

    @staticmethod
    def ctl(url, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{url}/_sandbox/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def sandbox_now(self, url):
        return datetime.fromisoformat(self.ctl(url, "GET", "state")["now"].replace("Z", ""))

    def account(self, name, url, company=None):
        now = self.sandbox_now(url)
        return self.runner(
            "setup",
            f"{name}-setup",
            name=f"Campaign {name}",
            # one seller per account: a seller's marketplace belongs to one account only
            seller_id=f"A2CAMPAIGN{name.upper().replace('-', '')}",
            url=url,
            lwa=f"{url}/auth/o2/token",
            secrets=self.secrets,
            since=(now - timedelta(days=8)).isoformat(),
            company=company,
        )

    # --- checks -------------------------------------------------------------------------------
    def check(self, name, url, account_id, extra_refs=(), at=None):
        """Compare Odoo with the sandbox at the account's window end (or ``at``)."""
        dump = self.runner("dump", f"{name}-dump", account_id=account_id)
        end = at or dump["last_orders_sync"] + "Z"
        amazon = self.ctl(url, "GET", f"orders?at={end}")["orders"]
        amazon_now = self.ctl(url, "GET", "orders")["orders"]
        ours = [o for o in dump["orders"] if o["ref"] not in extra_refs]
        result = checks.compare(amazon, ours, amazon_now=amazon_now)
        for detail in result["details"]:
            say(f"  {name}: {detail}")
        say(
            f"{name}: Amazon {result['amazon_orders']} orders at the window end, Odoo "
            f"{result['odoo_orders']} sale orders; {checks.summary_line(result)}"
        )
        for key in self.totals:
            self.totals[key] += result[key]
        return dump, result

    def check_shipments(self, name, url, dump):
        """Every FBM delivery validated in Odoo confirmed to Amazon exactly once."""
        shipments = self.ctl(url, "GET", "shipments")["shipments"]
        per_package = {}
        for shipment in shipments:
            key = (shipment["orderId"], str(shipment["packageDetail"]["packageReferenceId"]))
            per_package[key] = per_package.get(key, 0) + 1
        per_order = {}
        for order_id, _package in per_package:
            per_order[order_id] = per_order.get(order_id, 0) + 1
        statuses = {
            row["orderId"]: row["status"] for row in self.ctl(url, "GET", "orders")["orders"]
        }
        lost = duplicated = 0
        for picking in dump["pickings"]:
            count = per_package.get((picking["ref"], str(picking["id"])), 0)
            if count > 1 or per_order.get(picking["ref"], 0) > 1:
                duplicated += 1
                say(f"  {name}: shipment of {picking['ref']} confirmed {count} times")
            elif count == 0 and statuses.get(picking["ref"]) != "CANCELLED":
                lost += 1
                say(
                    f"  {name}: delivery {picking['id']} of {picking['ref']} never confirmed "
                    f"(Odoo: {picking['sync']})"
                )
        say(
            f"{name}: {len(dump['pickings'])} FBM deliveries validated, {len(shipments)} "
            f"shipments on Amazon; lost={lost} duplicated={duplicated}"
        )
        self.totals["lost"] += lost
        self.totals["duplicated"] += duplicated

    def grep_logs(self):
        """No secret, access token or buyer data in any log of the run, no error either
        (a Traceback is expected only in the log of a sync the crash campaign killed)."""
        needles = {f"secret {k}": v for k, v in self.secrets.items()}
        needles.update({"access token": "Atza|", "restricted data token": "Atz.sprdt|"})
        pii = set()
        for orders, seed in self.scenarios:
            for order in Scenario.generate(orders=orders, seed=seed).orders:
                for who in (order.get("buyer") or {}, order.get("recipient") or {}):
                    for key in ("name", "addressLine1", "phone", "email"):
                        value = who.get(key)
                        if value and len(value) >= 8:
                            pii.add(value)
        leaks = 0
        files = sorted(self.logs.glob("*.log"))
        for path in files:
            text = without_shutdown_noise(path.read_text(errors="replace"))
            for label, needle in needles.items():
                if needle in text:
                    leaks += 1
                    self.problem(f"logs: {label} in {path.name}")
            found = [value for value in pii if value in text]
            if found:
                leaks += 1
                self.problem(f"logs: {len(found)} buyer name/address value(s) in {path.name}")
            for match in LOG_PROBLEM_RE.finditer(text):
                line = text[match.start() : text.find("\n", match.start())]
                if "crash-sync" in path.name and "Traceback" in line:
                    continue
                self.problem(f"logs: {path.name}: {line[:160]}")
                break
        say(
            f"logs: {len(files)} files grepped for {len(needles)} secrets/tokens and "
            f"{len(pii)} buyer values: {leaks} leak(s)"
        )

    # --- clean-up -----------------------------------------------------------------------------
    def stop(self):
        if self.service:
            self.service.stop()
        for proc in self.processes:
            stop_process(proc, 15)
            log = getattr(proc, "log", None)
            if log and not log.closed:
                log.close()
        for log in self.logs.glob("*.log.*.json"):
            log.unlink()
