"""``scripts/bench-scale --cron``: a backlog through Odoo's own cron workers, with Odoo's
default limits.

One ``odoo-bin --workers 2 --no-http`` server (the prefork server: cron worker processes,
``--max-cron-threads`` 2 by default; no HTTP workers, so no gevent process) runs on a fresh
database holding the backlog's account, with no limit option given: Odoo's defaults apply,
``--limit-time-cpu`` 60 s (``RLIMIT_CPU`` of the worker, per pass over the database),
``--limit-time-real-cron`` -1, that is ``--limit-time-real`` 120 s (the parent SIGKILLs a
cron worker whose pass lasts longer). The orders job is due at once; the driver wakes the
cron workers (``NOTIFY cron_trigger``, what ``ir.cron._trigger`` does), then only watches:
the scheduled runs stop on their time budget and trigger the job again, until the backlog
is in. It reports the runs, the longest job (Odoo's own "Job done" log line), the killed
workers (the server's timeout and CPU limit lines, and runs the history marks
"Interrupted") and the orders in, each once.
"""

import re
import subprocess
import time

from _odoo_harness import say, stop_process

JOB = "Amazon: synchronize orders"
JOB_DONE_RE = re.compile(r"Job done: `" + re.escape(JOB) + r"` \(([0-9.]+)s\)")
KILLED_RE = re.compile(
    r"WorkerCron \(\d+\) timeout after|CPU time limit .* reached|virtual real time limit"
)
STALL_SECONDS = 900  # no new run nor order for this long: the benchmark gives up


def run_cron_phase(bench, db, size):
    """Sync the backlog of ``db`` (set up by ``_bench_odoo.py`` mode ``cron-setup``)
    through a prefork Odoo server's cron workers; return the figures (a dict)."""
    log_path = bench.tmp / f"{db}-cron-server.log"
    cmd = bench.odoo.bin(db, "--workers", "2", "--no-http", "--log-level", "info")
    pg = bench.pg

    def query(sql):
        return pg.psql(sql, dbname=db)

    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=bench.odoo.env, cwd=bench.tmp
        )
    started = time.monotonic()
    try:
        _wait_for(lambda: "WorkerCron" in log_path.read_text(errors="replace"), proc, 300)
        say(f"bench: prefork server up (pid {proc.pid}); waking its cron workers")
        progress, last_change = None, time.monotonic()
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"bench: the Odoo server exited (log: {log_path})")
            orders = int(
                query("SELECT count(*) FROM sale_order WHERE amazon_account_id IS NOT NULL")
            )
            runs = int(query("SELECT count(*) FROM amazon_sync_run WHERE kind = 'orders'"))
            last = query(
                "SELECT state || ' ' || coalesce(continued, false)::text FROM amazon_sync_run "
                "WHERE kind = 'orders' ORDER BY id DESC LIMIT 1"
            )
            if not runs:  # until the orders job started: wake the workers (no guessed delay)
                query(f"SELECT pg_notify('cron_trigger', '{db}')")
            if (orders, runs) != progress:
                progress, last_change = (orders, runs), time.monotonic()
                say(f"bench:   {time.monotonic() - started:.0f} s: {runs} runs, {orders} orders")
            if orders >= size and last in ("done false", "error false"):
                break
            if time.monotonic() - last_change > STALL_SECONDS:
                raise SystemExit(f"bench: no progress for {STALL_SECONDS} s (log: {log_path})")
            time.sleep(2)
        seconds = time.monotonic() - started
    finally:
        stop_process(proc, 60)
    text = log_path.read_text(errors="replace")
    stats = query(
        "SELECT count(*), count(*) FILTER (WHERE continued), "
        "count(*) FILTER (WHERE state = 'error'), "
        "count(*) FILTER (WHERE error_summary LIKE 'Interrupted%'), "
        "coalesce(max(duration), 0), coalesce(sum(created_count), 0) "
        "FROM amazon_sync_run WHERE kind = 'orders'"
    ).split("|")
    refs = query(
        "SELECT count(*), count(DISTINCT amazon_order_ref) FROM sale_order "
        "WHERE amazon_account_id IS NOT NULL"
    ).split("|")
    jobs = [float(value) for value in JOB_DONE_RE.findall(text)]
    return {
        "seconds": seconds,
        "runs": int(stats[0]),
        "continued": int(stats[1]),
        "failed_runs": int(stats[2]),
        "interrupted": int(stats[3]),
        "longest_run": float(stats[4]),
        "created": int(stats[5]),
        "jobs": len(jobs),
        "longest_job": max(jobs, default=0.0),
        "killed": len(KILLED_RE.findall(text)),
        "sale_orders": int(refs[0]),
        "distinct_refs": int(refs[1]),
        "log": str(log_path),
    }


def _wait_for(condition, proc, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise SystemExit("bench: the Odoo server exited while starting")
        if time.monotonic() > deadline:
            raise SystemExit("bench: the Odoo server did not start its cron workers")
        time.sleep(0.5)
