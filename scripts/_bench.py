"""Driver side shared by ``scripts/bench-sync`` and ``scripts/bench-scale``.

A :class:`BenchRun` starts PostgreSQL (``_odoo_harness``, shared with scripts/test and
scripts/campaign), installs the addon once into a
template database, then per measurement clones a fresh database from it, starts the SP-API
sandbox in its own process (so its memory and CPU are not the sync's) and runs
``_bench_odoo.py`` in a new Odoo process that prints its figures as JSON.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _odoo_harness import MODULE, REPO, Postgres, find_odoo, free_port, say  # noqa: E402

SCRIPTS = Path(__file__).resolve().parent
TEMPLATE_DB = "sac_bench_template"
SANDBOX_SPEED = 100000.0  # rate limits out of the way: we measure Odoo, not Amazon's pacing


def odoo_base_args(tmp, pg, db, odoo_addons):
    """Lay out ``tmp/addons/<MODULE>`` (a symlink to this repository) and an empty config
    file (never the user's ~/.odoorc); return the odoo-bin arguments every Odoo process of
    the run shares."""
    tmp = Path(tmp)
    addons_dir = tmp / "addons"
    if not addons_dir.is_dir():
        addons_dir.mkdir()
        (addons_dir / MODULE).symlink_to(REPO, target_is_directory=True)
    conf = tmp / "odoo.conf"
    conf.write_text("[options]\n")
    return [
        "-c",
        str(conf),
        "--addons-path",
        ",".join([*odoo_addons, str(addons_dir)]),
        "--data-dir",
        str(tmp / "data"),
        *pg.odoo_args(),
        "-d",
        db,
    ]


def odoo_env(odoo_root):
    """os.environ with Odoo's source root first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [odoo_root, env.get("PYTHONPATH")]))
    return env


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
    def __init__(self, keep=False):
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="sac-bench-"))
        self.pg = Postgres(self.tmp)
        self.found = None
        self.sandboxes = []
        self.databases = []

    # --- lifecycle ------------------------------------------------------------------------
    def start(self):
        found, reason = find_odoo()
        if not found:
            raise SystemExit(f"bench: {reason}")
        self.found = found
        reason = self.pg.start()
        if reason:
            raise SystemExit(f"bench: {reason}")
        prefix, addons, root = found
        args = odoo_base_args(self.tmp, self.pg, TEMPLATE_DB, addons)
        cmd = [
            *prefix,
            *args,
            "-i",
            MODULE,
            "--stop-after-init",
            "--without-demo=all",
            "--http-interface",
            "127.0.0.1",
            "--http-port",
            str(free_port()),
            "--max-cron-threads",
            "0",
            "--log-level",
            "warn",
        ]
        say(f"bench: installing {MODULE} into the template database {TEMPLATE_DB}...")
        started = time.monotonic()
        with open(self.tmp / "install.log", "w", encoding="utf-8") as log:
            rc = subprocess.call(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=odoo_env(root), cwd=REPO
            )
        if rc:
            raise SystemExit(f"bench: install failed (log: {self.tmp / 'install.log'})")
        say(f"bench: installed in {time.monotonic() - started:.0f} s")

    def stop(self):
        for proc in self.sandboxes:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        if self.keep:
            say(f"bench: --keep: cluster and logs in {self.tmp}")
            return
        for db in self.databases if self.pg.external else []:
            self.pg.drop_database(db)
        if self.pg.external:
            self.pg.drop_database(TEMPLATE_DB)
        self.pg.stop()
        subprocess.run(["rm", "-rf", str(self.tmp)], check=False)

    # --- pieces ---------------------------------------------------------------------------
    def fresh_database(self, name):
        self.pg.psql(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
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
        prefix, addons, root = self.found
        args = odoo_base_args(self.tmp, self.pg, db, addons) + ["--log-level", "warn"]
        opts = {
            "args": args,
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
                env=odoo_env(root),
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
