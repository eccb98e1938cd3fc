"""What ``scripts/test`` runs its lanes on, standard library only.

* :class:`Run`: the run's shared state (temp dir, totals, phase times, the processes it
  started) and :meth:`Run.phase`, which prints a phase's output as one block and counts it;
* :class:`Counts`: passed/failed/skipped, summed into the closing line;
* :class:`OdooRun`: one odoo-bin process, its log teed to a file and read for test results,
  skips, errors and warnings (``LOG_RE``, ``RESULT_RE``);
* :func:`check_rejections`: the closing test that no lane's client sent a request the
  sandbox refused as forbidden by Amazon's models (``$SP_SANDBOX_REJECTION_LOG``).
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _odoo_harness import MODULE, REPO, say

# Where every sandbox of the run (pytest's, the Odoo tests', the campaigns' and benchmarks'
# processes) appends the requests it refused as forbidden by Amazon's models (sp_sandbox/app.py)
REJECTION_LOG = "SP_SANDBOX_REJECTION_LOG"
LOG_RE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>[A-Z]+) (?P<db>\S+) "
    r"(?P<logger>[\w.\-]+): (?P<msg>.*)$"
)
RESULT_RE = re.compile(
    r"(?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) of (?P<run>\d+) tests "
    r"when loading database"
)


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __iadd__(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        return self

    def __str__(self):
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


class Interrupted(BaseException):
    """SIGTERM/SIGHUP: like Ctrl-C, never taken for a failed phase."""


class Run:
    """The run's shared state: temp dir, totals, phase times, the processes it started."""

    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="sac-test-"))
        self.started = time.monotonic()
        self.total = Counts()
        self.phases = []  # (name, start offset, seconds)
        self.lock = threading.Lock()
        self.procs = []
        self.interrupted = False
        self.pg = None  # the PostgreSQL server of the Odoo lane
        self.databases = []  # created on it
        self.kept_db = None  # what --keep points at
        # inherited by every process the run starts (set before any of them)
        self.rejections = self.tmp / "sandbox-rejections.jsonl"
        os.environ[REJECTION_LOG] = str(self.rejections)

    def phase(self, name, fn, *args, **kwargs):
        """Run one phase: its output lines are printed as one block when it ends, followed
        by its time; its Counts go to the total."""
        lines = []
        begin = time.monotonic()
        counts = None
        try:
            counts = fn(lines.append, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a broken phase is a failed test, not a crash
            if self.interrupted:
                raise
            lines.append(f"{name}: FAILED: {type(exc).__name__}: {exc}")
            counts = Counts(failed=1)
        seconds = time.monotonic() - begin
        with self.lock:
            for line in lines:
                say(line)
            say(f"{name}: {counts} ({seconds:.1f} s)")
            self.total += counts
            self.phases.append((name, begin - self.started, seconds))
        return counts

    def popen(self, cmd, **kwargs):
        """A child process in its own session: an interrupted run stops it and everything
        it started."""
        proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
        with self.lock:
            self.procs.append(proc)
        return proc

    def call(self, cmd, logfile, env=None, timeout=1800):
        """Run ``cmd`` with all its output to ``logfile``; return its exit code."""
        with open(logfile, "w", encoding="utf-8") as out:
            proc = self.popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
            try:
                return proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return f"killed after {timeout} s"

    def guard(self, fn, *args):
        """Run a lane: an unexpected error is one failed test, not a lost lane."""
        try:
            fn(self, *args)
        except Exception as exc:  # noqa: BLE001 - reported and counted
            if not self.interrupted:
                with self.lock:
                    say(f"{fn.__name__}: FAILED: {type(exc).__name__}: {exc}")
                    self.total.failed += 1

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


class OdooRun:
    """Runs one odoo-bin process, tees its log to a file and reads the interesting records."""

    def __init__(self, run, cmd, logfile, out, env=None):
        self.run = run
        self.cmd = cmd
        self.logfile = logfile
        self.out = say if run.args.verbose else out
        self.env = env
        self.errors = []  # ERROR/CRITICAL records outside test results
        self.test_failures = []  # FAIL:/ERROR: records of tests
        self.result = None  # (failed, errors, run) from odoo.tests.result
        self.skipped = 0
        self.warnings = 0  # WARNING records about this module (shown, not failing)

    def wait(self):
        current = None  # the record that continuation lines belong to
        verbose = self.run.args.verbose
        with open(self.logfile, "w", encoding="utf-8") as log:
            proc = self.run.popen(
                self.cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                env=self.env,
                cwd=REPO,
            )
            for line in proc.stdout:
                log.write(line)
                line = line.rstrip("\n")
                match = LOG_RE.match(line)
                if not match:
                    if current is not None:
                        current.append(line)
                    if verbose or current is not None:
                        self.out(line)
                    continue
                current = self._record(match)
                if verbose or current is not None:
                    self.out(line)
            return proc.wait()

    def _record(self, match):
        """Classify one log record; return a list to collect its continuation lines into when
        the record is worth showing, else None."""
        level, logger, msg = match["level"], match["logger"], match["msg"]
        if logger == "odoo.tests.result" and RESULT_RE.search(msg):
            found = RESULT_RE.search(msg)
            self.result = (int(found["failed"]), int(found["errors"]), int(found["run"]))
            return [msg]
        if logger == "odoo.tests.stats":
            return [msg]
        if level == "INFO" and msg.startswith("skipped ") and " : " in msg:
            self.skipped += 1
            return [msg]
        if level in ("ERROR", "CRITICAL"):
            record = [f"{logger}: {msg}"]
            if msg.startswith(("FAIL:", "ERROR:")):
                self.test_failures.append(record)
            else:
                self.errors.append(record)
            return record
        if level == "WARNING" and (logger.startswith(f"odoo.addons.{MODULE}") or MODULE in msg):
            self.warnings += 1
            return [msg]
        return None


def skipped(out, line):
    out(line)
    return Counts(skipped=1)


def check_rejections(out, path):
    """One test: no sandbox of the run refused a request as forbidden by Amazon's models
    (tests that send such requests on purpose keep them in logs of their own). Lists the
    refusals otherwise."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if not lines:
        out("sandbox rejections: none (no request the models forbid was sent)")
        return Counts(passed=1)
    out(
        f"sandbox rejections: FAILED: {len(lines)} request(s) refused as forbidden by "
        "Amazon's models:"
    )
    for line in lines[:30]:
        try:
            entry = json.loads(line)
        except ValueError:
            out(f"  {line[:300]}")
            continue
        who = f" (test {entry['test']})" if entry.get("test") else ""
        out(f"  {entry.get('operation')}: {entry.get('message')}{who}")
        out(f"    {str(entry.get('request'))[:240]}")
    if len(lines) > 30:
        out(f"  ... and {len(lines) - 30} more (log: {path})")
    return Counts(failed=1)
