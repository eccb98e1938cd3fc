"""Driver side shared by ``scripts/bench-sync`` and ``scripts/bench-scale``.

A :class:`BenchRun` starts PostgreSQL (``_odoo_harness``, shared with scripts/test and
scripts/campaign), installs the addon once into a template database (or reuses one given
with ``--template``), then per measurement clones a fresh database from it, starts the
SP-API sandbox in its own process (so its memory and CPU are not the sync's) and runs
``_bench_odoo.py`` in a new Odoo process that prints its figures as JSON.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _odoo_harness import (  # noqa: E402
    MODULE,
    REPO,
    SCRIPTS,
    Odoo,
    Postgres,
    find_odoo,
    say,
    stop_process,
)

SANDBOX_SPEED = 100000.0  # rate limits out of the way: we measure Odoo, not Amazon's pacing


def ready_scenario(orders, seed, days=7):
    """A generated scenario of exactly ``orders`` orders that a sync creates: every event
    lies at least 10 minutes before the sandbox's start and the last status is one the sync
    takes (FBA Shipped, FBM Unshipped). Returns (scenario dict, Last Order Sync to start
    from, naive UTC)."""
    from sp_sandbox import Scenario

    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    limit = start - timedelta(minutes=10)
    wanted = {"AMAZON": "SHIPPED", "MERCHANT": "UNSHIPPED"}
    kept = []
    total = orders
    while len(kept) < orders:
        total = int(total * 1.5) + 20
        payload = Scenario.generate(orders=total, seed=seed, start=start, days=days).to_dict()
        kept = []
        for order in payload["orders"]:
            events = order["events"]
            last = max(datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in events)
            if last <= limit and events[-1]["status"] == wanted[order["fulfilledBy"]]:
                kept.append(order)
    payload["orders"] = kept[:orders]
    skus = {item["sku"] for order in payload["orders"] for item in order["items"]}
    payload["listings"] = [entry for entry in payload["listings"] if entry["sku"] in skus]
    since = (start - timedelta(days=days + 1)).replace(tzinfo=None)
    return payload, since


class BenchRun:
    """PostgreSQL, one install of the addon (or ``template``: a database where it is
    installed, on the server of PGHOST/PGPORT, its filestore in ``data_dir``), and a fresh
    clone of it per measurement."""

    def __init__(self, keep=False, template=None, data_dir=None):
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="sac-bench-"))
        self.pg = Postgres(self.tmp)
        self.template = template
        self.data_dir = data_dir if template else None
        self.odoo = None
        self.sandboxes = []
        self.databases = []
        self.suffix = f"{os.getpid()}"

    # --- lifecycle ------------------------------------------------------------------------
    def start(self):
        found, reason = find_odoo()
        if not found:
            raise SystemExit(f"bench: {reason}")
        reason = self.pg.start()
        if reason:
            raise SystemExit(f"bench: {reason}")
        self.odoo = Odoo(found, self.pg, self.tmp, data_dir=self.data_dir)
        if self.template:
            say(f"bench: cloning the installed database {self.template}")
            return
        self.template = f"sac_bench_template_{self.suffix}"
        self.databases.append(self.template)
        say(f"bench: installing {MODULE} into the template database {self.template}...")
        started = time.monotonic()
        rc, errors = self.odoo.install(self.template, [MODULE], self.tmp / "install.log")
        if rc or errors:
            raise SystemExit(f"bench: install failed (log: {self.tmp / 'install.log'})")
        say(f"bench: installed in {time.monotonic() - started:.0f} s")

    def stop(self):
        for proc in self.sandboxes:
            stop_process(proc, 10)
        if self.keep:
            say(f"bench: --keep: cluster and logs in {self.tmp}")
            return
        if self.pg.external:
            for db in reversed(self.databases):
                self.pg.drop_database(db)
                if self.odoo:
                    shutil.rmtree(self.odoo.data_dir / "filestore" / db, ignore_errors=True)
        self.pg.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- pieces ---------------------------------------------------------------------------
    def fresh_database(self, name):
        name = f"{name}_{self.suffix}"
        self.odoo.clone(self.template, name)
        self.databases.append(name)
        return name

    def sandbox(self, scenario_path):
        """Start scripts/sandbox on the scenario; return (url, lwa_url)."""
        proc = subprocess.Popen(
            [
                sys.executable,
                str(SCRIPTS / "sandbox"),
                "--scenario",
                str(scenario_path),
                "--speed",
                str(SANDBOX_SPEED),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.sandboxes.append(proc)
        line = proc.stdout.readline().split()
        if len(line) < 5:
            raise SystemExit("bench: the sandbox did not start")
        return line[2], line[4]

    def write_scenario(self, name, payload):
        path = self.tmp / f"{name}.json"
        path.write_text(json.dumps(payload, ensure_ascii=False))
        return path

    def measure(self, mode, db, scenario_path, since, sandbox=(None, None)):
        """Run one phase in a new Odoo process on ``db``; return its result dict."""
        opts = {
            "args": self.odoo.args(db) + ["--log-level", "warn"],
            "db": db,
            "mode": mode,
            "scenario": str(scenario_path),
            "since": since.isoformat(sep=" "),
            "sandbox_url": sandbox[0],
            "lwa_url": sandbox[1],
        }
        log = self.tmp / f"{db}-{mode}.log"
        with open(log, "w", encoding="utf-8") as handle:
            proc = subprocess.run(
                [sys.executable, str(SCRIPTS / "_bench_odoo.py"), json.dumps(opts)],
                stdout=subprocess.PIPE,
                stderr=handle,
                text=True,
                env=self.odoo.env,
                cwd=REPO,
            )
        for line in proc.stdout.splitlines():
            if line.startswith("BENCH-RESULT "):
                return json.loads(line.split(" ", 1)[1])
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        raise SystemExit(
            f"bench: {mode} on {db} failed (rc {proc.returncode}):\n" + "\n".join(tail)
        )


def per_order(result):
    """ms/order, queries/order, Odoo-side ms/order (without the time inside SP-API calls)."""
    n = max(result["counts"].get("created", 0), 1)
    return (
        1000 * result["seconds"] / n,
        result["queries"] / n,
        1000 * (result["seconds"] - result["amazon_seconds"]) / n,
    )


def mib(kb):
    return kb / 1024


def machine():
    cpus = os.cpu_count()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            model = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                "?",
            )
    except OSError:
        model = "?"
    return f"{cpus} CPU(s), {model}"
