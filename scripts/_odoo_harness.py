"""Shared plumbing of the scripts that run Odoo (standard library only).

* :func:`find_odoo`: Odoo 17 from ``ODOO_SRC`` or an importable ``odoo``;
* :class:`Postgres`: a throwaway PostgreSQL cluster run as the ``postgres`` system user, or
  the server named by PGHOST/PGPORT/PGUSER/PGPASSWORD; databases created from templates;
* :class:`Odoo`: the layout every Odoo process of a run shares (an addons path holding this
  repository as ``sale_amazon_connector``, an empty config file, one data directory, the
  environment), the command lines built from it, installs, and clones of an installed
  database (with its filestore);
* :func:`run_logged`: one Odoo process logged to a file, its ERROR records echoed.

Scripts that accept ``--template DB --data-dir DIR`` (:func:`add_template_arguments`) reuse a
database where the addon is already installed (scripts/test hands its install to the
campaigns and benchmarks that way) instead of installing it again.
"""

import getpass
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
MODULE = "sale_amazon_connector"
ODOO_DB_USER = "odoo"  # Odoo refuses to run as "postgres"
# The inside-Odoo half of test, demo and campaign: run as ``python ODOO_SHELL COMMAND JSON``.
ODOO_SHELL = SCRIPTS / "_odoo_shell.py"
# The system parameter without which the addon refuses loopback and http endpoints (off by
# default): every script that points an account at the sandbox sets it first.
SANDBOX_PARAM = f"{MODULE}.allow_sandbox_endpoints"


def allow_sandbox_endpoints(env):
    """Let accounts of ``env``'s database point at a loopback sandbox (inside Odoo)."""
    env["ir.config_parameter"].sudo().set_param(SANDBOX_PARAM, "1")


def say(*args):
    print(*args, flush=True)


def stop_process(proc, timeout=15):
    """Terminate ``proc`` (a Popen) if it still runs, and kill it if it outlives
    ``timeout`` seconds; returns its exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_odoo():
    """Return (command prefix to run odoo-bin, list of Odoo's own addons paths, pythonpath)
    or (None, reason)."""
    src = os.environ.get("ODOO_SRC")
    if src:
        odoo_bin = Path(src) / "odoo-bin"
        if not odoo_bin.is_file():
            return None, f"ODOO_SRC={src} has no odoo-bin"
        root = Path(src)
    else:
        probe = subprocess.run(
            [sys.executable, "-c", "import odoo, os; print(os.path.dirname(odoo.__file__))"],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0:
            return None, "Odoo 17 not found (set ODOO_SRC or make `import odoo` work)"
        root = Path(probe.stdout.strip().splitlines()[-1]).parent
        odoo_bin = root / "odoo-bin"
    version = subprocess.run(
        [sys.executable, "-c", "import odoo.release as r; print(r.version_info[0])"],
        capture_output=True,
        text=True,
        env=dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        ),
    )
    if version.returncode != 0 or version.stdout.strip() != "17":
        return None, f"Odoo at {root} is not Odoo 17 ({version.stdout.strip() or 'unknown'})"
    if odoo_bin.is_file():
        prefix = [sys.executable, str(odoo_bin)]
    else:
        prefix = [sys.executable, "-c", "import odoo.cli; odoo.cli.main()"]
    addons = [str(p) for p in (root / "odoo" / "addons", root / "addons") if p.is_dir()]
    return (prefix, addons, str(root)), None


def find_pg_bindir():
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p)] or [0],
        reverse=True,
    )
    for bindir in candidates:
        if os.access(os.path.join(bindir, "initdb"), os.X_OK):
            return bindir
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


class Postgres:
    """A PostgreSQL server for the run: an existing one (PG* variables) or a throwaway one."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.external = any(os.environ.get(v) for v in ("PGHOST", "PGPORT"))
        self.host = os.environ.get("PGHOST", "127.0.0.1")
        self.port = os.environ.get("PGPORT", "5432")
        self.user = os.environ.get("PGUSER") or getpass.getuser()
        self.password = os.environ.get("PGPASSWORD", "")
        self.bindir = None
        self.datadir = None
        self.started = False

    def _as_owner(self, cmd):
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def start(self):
        """Start the throwaway cluster; return None or the reason it cannot."""
        if self.external:
            say(f"postgres: using the server at {self.host}:{self.port} as {self.user}")
            return None
        self.bindir = find_pg_bindir()
        if not self.bindir:
            return "PostgreSQL server binaries (initdb, pg_ctl) not found"
        self.datadir = self.tmp / "pgdata"
        sockdir = self.tmp / "pgsock"
        sockdir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres")
            shutil.chown(sockdir, "postgres")
        self.port = str(free_port())
        quiet = {"stdout": subprocess.DEVNULL, "cwd": self.tmp}
        initdb = [f"{self.bindir}/initdb", "-D", str(self.datadir), "-U", "postgres"]
        initdb += ["--auth=trust", "-E", "UTF8", "--no-locale"]
        subprocess.run(self._as_owner(initdb), check=True, **quiet)
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sockdir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        pg_ctl = [f"{self.bindir}/pg_ctl", "-D", str(self.datadir)]
        pg_ctl += ["-l", str(self.tmp / "postgresql.log"), "-o", options, "-w", "start"]
        subprocess.run(self._as_owner(pg_ctl), check=True, **quiet)
        self.started = True
        self.psql(f'CREATE ROLE "{ODOO_DB_USER}" SUPERUSER LOGIN', user="postgres")
        self.user = ODOO_DB_USER
        say(f"postgres: throwaway cluster on 127.0.0.1:{self.port} in {self.datadir}")
        return None

    def environ(self):
        """PG* variables naming this server, for child processes (which then use it)."""
        env = {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def psql(self, sql, user=None, dbname="postgres"):
        """Run ``sql``; return its output (unaligned, tuples only)."""
        bindir = self.bindir or find_pg_bindir()
        psql = f"{bindir}/psql" if bindir and os.access(f"{bindir}/psql", os.X_OK) else "psql"
        env = dict(os.environ, PGPASSWORD=self.password) if self.password else None
        cmd = [psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.host]
        cmd += ["-p", str(self.port), "-U", user or self.user, "-d", dbname, "-c", sql]
        done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=env)
        return done.stdout.strip()

    def create_database(self, name, template):
        """A copy of ``template`` (which nobody may be connected to meanwhile). FILE_COPY:
        much faster than PostgreSQL 15's default WAL_LOG for a whole Odoo database."""
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')

    def drop_database(self, name):
        """Drop a test database of an existing server (a throwaway cluster is just removed)."""
        try:
            self.psql(f'DROP DATABASE IF EXISTS "{name}"')
        except (OSError, subprocess.CalledProcessError) as error:
            say(f"postgres: could not drop database {name}: {error}")

    def odoo_args(self):
        args = ["--db_host", self.host, "--db_port", str(self.port), "--db_user", self.user]
        if self.password:
            args += ["--db_password", self.password]
        return args

    def stop(self):
        if self.started:
            pg_ctl = [f"{self.bindir}/pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop"]
            subprocess.run(
                self._as_owner(pg_ctl),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.tmp,
            )
            self.started = False


class Odoo:
    """Odoo 17 laid out to run this addon against one PostgreSQL server.

    ``workdir`` receives ``addons/sale_amazon_connector`` (a symlink to this repository) and
    an empty ``odoo.conf`` (never the user's ~/.odoorc); ``data_dir`` (default
    ``workdir/data``) is Odoo's data directory, shared by every process of the run: a
    database cloned with :meth:`clone` gets a copy of its template's filestore there.
    """

    def __init__(self, found, pg, workdir, data_dir=None):
        self.prefix, self.odoo_addons, self.root = found
        self.pg = pg
        workdir = Path(workdir)
        addons = workdir / "addons"
        if not (addons / MODULE).exists():
            addons.mkdir(parents=True, exist_ok=True)
            (addons / MODULE).symlink_to(REPO, target_is_directory=True)
        self.conf = workdir / "odoo.conf"
        if not self.conf.exists():
            self.conf.write_text("[options]\n")
        self.addons_path = ",".join([*self.odoo_addons, str(addons)])
        self.data_dir = Path(data_dir) if data_dir else workdir / "data"
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [self.root, self.env.get("PYTHONPATH")])
        )

    def args(self, db):
        """The odoo-bin arguments every process of the run shares (config, addons path,
        data directory, database server, ``-d db``)."""
        return [
            "-c",
            str(self.conf),
            "--addons-path",
            self.addons_path,
            "--data-dir",
            str(self.data_dir),
            *self.pg.odoo_args(),
            "-d",
            db,
        ]

    def bin(self, db, *extra):
        """An odoo-bin command line on ``db``."""
        return [*self.prefix, *self.args(db), *extra]

    def shell(self, command, opts):
        """A ``scripts/_odoo_shell.py`` command line: ``command`` runs inside Odoo on
        ``opts["db"]`` (``opts`` gets the shared odoo-bin arguments)."""
        import json

        payload = {"args": self.args(opts["db"]), **opts}
        return [sys.executable, str(ODOO_SHELL), command, json.dumps(payload)]

    def install(self, db, modules, logfile, *extra, verbose=False):
        """Create ``db`` with ``modules`` installed (no demo data, no test); return
        (exit code, ERROR/CRITICAL lines)."""
        cmd = self.bin(
            db,
            "-i",
            ",".join(modules),
            "--stop-after-init",
            "--without-demo=all",
            "--max-cron-threads",
            "0",
            "--http-interface",
            "127.0.0.1",
            "--http-port",
            str(free_port()),
            "--log-level",
            "warn",
            *extra,
        )
        return run_logged(cmd, logfile, env=self.env, verbose=verbose)

    def clone(self, template, name):
        """``name``: a copy of the installed database ``template`` and of its filestore
        (assets and attachments Odoo would otherwise find missing)."""
        self.pg.create_database(name, template)
        source = self.data_dir / "filestore" / template
        if source.is_dir():
            shutil.copytree(source, self.data_dir / "filestore" / name, dirs_exist_ok=True)


def add_template_arguments(parser):
    """``--template DB --data-dir DIR``: reuse an installed database (on the server named by
    PGHOST/PGPORT) instead of installing the addon again."""
    group = parser.add_argument_group("reuse an installed database (as scripts/test does)")
    group.add_argument(
        "--template",
        metavar="DB",
        help="clone this database (addon installed; on the server of PGHOST/PGPORT) "
        "instead of installing the addon",
    )
    group.add_argument("--data-dir", help="the Odoo data directory holding its filestore")


# --- one odoo-bin (or Odoo script) run, logged to a file -----------------------------------------
ODOO_LOG_RE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>[A-Z]+) (?P<db>\S+) "
    r"(?P<logger>[\w.\-]+): (?P<msg>.*)$"
)


def run_logged(cmd, logfile, env=None, verbose=False):
    """Run ``cmd`` (from the repository root), write all its output to ``logfile`` and echo
    its ERROR/CRITICAL records (everything with ``verbose``).

    :return: (exit code, list of the ERROR/CRITICAL lines)
    """
    errors = []
    with open(logfile, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
            cwd=REPO,
        )
        try:
            for line in proc.stdout:
                log.write(line)
                line = line.rstrip("\n")
                match = ODOO_LOG_RE.match(line)
                if match and match["level"] in ("ERROR", "CRITICAL"):
                    errors.append(f"{match['logger']}: {match['msg']}")
                    say(line)
                elif verbose:
                    say(line)
            return proc.wait(), errors
        finally:
            stop_process(proc)
