# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The time budget of a scheduled synchronization run.

Odoo kills a cron worker whose pass over a database (every job due in it, one after the
other) outlasts ``--limit-time-real-cron`` (default -1: ``--limit-time-real``, 120 s of
wall time) or ``--limit-time-cpu`` (60 s of CPU, through ``RLIMIT_CPU``, reset before
each pass). A killed run loses nothing (progress is committed batch by batch) but wastes
its last batch and leaves a "Running" run behind; a backlog larger than one pass can do
would be killed again and again. So a scheduled run stops on its own, between batches,
once the first of these is spent:

* its own budget, the system parameter ``sale_amazon_connector.run_budget_seconds``
  (default 45 s of wall time);
* the wall time left before Odoo's real-time limit: a quarter of the limit (at least 15 s)
  is kept for the batch under way and for the jobs after this one. A cron thread
  (``--workers 0``) counts it from the start of its pass over the database. A cron worker
  process (``--workers N``) is watched by the server from its last heartbeat, sent just
  *before* it sleeps until a job is due (up to ``SLEEP_INTERVAL`` + ``pid % 10`` seconds,
  less when woken by a trigger): its pass may have far less than the limit left. That
  heartbeat is not visible to the job; it lies after the end of this process's previous
  job and at most one sleep before the pass, so the later of the two is the deadline's
  origin (safe: never later than the true heartbeat);
* the CPU time left before ``RLIMIT_CPU`` (set by the cron worker of ``--workers``): a
  quarter of ``--limit-time-cpu`` (at least 10 s) is kept likewise.

Then the run framework commits and triggers the job again (``ir.cron._trigger``): the next
pass goes on where this run stopped.
"""

import logging
import os
import resource
import threading
import time

from odoo import models
from odoo.service import server as odoo_server
from odoo.tools import config

_logger = logging.getLogger(__name__)

BUDGET_PARAM = "sale_amazon_connector.run_budget_seconds"
DEFAULT_BUDGET = 45.0
# Kept for the batch under way (and the jobs after this one): share of each limit, minimum.
LIMIT_MARGIN_SHARE = 0.25
WALL_MARGIN_MIN = 15.0
CPU_MARGIN_MIN = 10.0
# A trigger made within this time of the job's start could be dated before the job started
# (``call_at`` has whole seconds) and then be deleted with the job's own triggers.
TRIGGER_MIN_AGE = 1.1

_cron_job = threading.local()
# time.monotonic() at the end of the last job this process ran (cron worker processes).
_last_job_end = None


def current_cron_job():
    """{"cron_id", "pass_started", "job_started" (time.monotonic), "job_wall" (time.time)}
    of the scheduled job this thread runs now, or None outside a cron job."""
    return getattr(_cron_job, "job", None)


def in_cron_worker_process():
    """Whether this process is a cron worker of the prefork server (``--workers N``)."""
    return isinstance(getattr(odoo_server, "server", None), odoo_server.PreforkServer)


def watchdog_origin(pass_started):
    """When the real-time limit of the cron pass that started at ``pass_started``
    (time.monotonic) began to count: the pass start in a cron thread; in a cron worker
    process, the latest of its previous job's end and one full sleep before the pass."""
    if not in_cron_worker_process():
        return pass_started
    longest_sleep = odoo_server.SLEEP_INTERVAL + os.getpid() % 10 + 1
    origin = pass_started - longest_sleep
    if _last_job_end is not None:
        origin = max(origin, min(_last_job_end, pass_started))
    return origin


def process_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _margin(limit, minimum):
    return max(minimum, LIMIT_MARGIN_SHARE * limit)


class RunBudget:
    """When a run must stop: ``spent()`` (see the module docstring). ``seconds`` is the
    run's own budget; ``pass_started`` (time.monotonic) when the real-time limit of the cron
    pass began to count (``watchdog_origin``)."""

    def __init__(self, seconds, pass_started=None):
        self.started = time.monotonic()
        self.seconds = seconds
        self.reason = None
        self.wall_deadline = None
        real = config.get("limit_time_real_cron") or 0
        if real < 0:  # -1: the same limit as HTTP requests
            real = config.get("limit_time_real") or 0
        if real > 0:
            start = pass_started if pass_started is not None else self.started
            self.wall_deadline = start + real - _margin(real, WALL_MARGIN_MIN)
        self.cpu_deadline = None
        soft, _hard = resource.getrlimit(resource.RLIMIT_CPU)
        cpu_limit = config.get("limit_time_cpu") or 0
        if soft != resource.RLIM_INFINITY and cpu_limit > 0:
            self.cpu_deadline = soft - _margin(cpu_limit, CPU_MARGIN_MIN)

    def elapsed(self):
        return time.monotonic() - self.started

    def remaining(self):
        """Wall seconds left before the run must stop (the CPU limit aside)."""
        now = time.monotonic()
        left = self.seconds - (now - self.started)
        if self.wall_deadline is not None:
            left = min(left, self.wall_deadline - now)
        return max(left, 0.0)

    def too_late(self):
        """Whether Odoo's limits leave the run no time at all (its own budget aside): the
        pass is near its real-time or CPU limit already. Such a run does nothing and
        leaves its work to the next pass, which starts with a fresh limit."""
        return self.spent() and self.reason != "budget"

    def spent(self):
        """Whether the run must stop now (the reason stays in ``reason``)."""
        if self.reason:
            return True
        now = time.monotonic()
        if now - self.started >= self.seconds:
            self.reason = "budget"
        elif self.wall_deadline is not None and now >= self.wall_deadline:
            self.reason = "wall limit"
        elif self.cpu_deadline is not None and process_cpu_seconds() >= self.cpu_deadline:
            self.reason = "cpu limit"
        return bool(self.reason)


class IrCron(models.Model):
    _inherit = "ir.cron"

    @classmethod
    def _process_job(cls, db, cron_cr, job):
        """Note the job this thread runs and when the worker's pass over the database
        began (the first job processed with ``cron_cr``, the cursor of that pass), for the
        time budget of the Amazon runs (see ``RunBudget``)."""
        global _last_job_end  # pylint: disable=global-statement
        now = time.monotonic()
        pass_started = getattr(cron_cr, "_amazon_pass_started", None)
        if pass_started is None:
            pass_started = watchdog_origin(now)
            try:
                cron_cr._amazon_pass_started = pass_started
            except AttributeError:  # a cursor that takes no attribute: the job's start
                pass
        _cron_job.job = {
            "cron_id": job["id"],
            "pass_started": pass_started,
            "job_started": now,
            "job_wall": time.time(),
        }
        try:
            return super()._process_job(db, cron_cr, job)
        finally:
            _cron_job.job = None
            _last_job_end = time.monotonic()
