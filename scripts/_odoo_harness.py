"""Shared plumbing of ``scripts/test`` and ``scripts/campaign`` (standard library only).

Finds Odoo 17 (``ODOO_SRC`` or an importable ``odoo``) and PostgreSQL server binaries, runs a
throwaway PostgreSQL cluster as the ``postgres`` system user (or uses the server named by
PGHOST/PGPORT/PGUSER/PGPASSWORD), and lays out an addons path holding this repository as
``sale_amazon_connector``.
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
MODULE = "sale_amazon_connector"
ODOO_DB_USER = "odoo"  # Odoo refuses to run as "postgres"


def say(*args):
    print(*args, flush=True)


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
        subprocess.run(
            self._as_owner(
                [
                    f"{self.bindir}/initdb",
                    "-D",
                    str(self.datadir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]
            ),
            check=True,
            **quiet,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sockdir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            self._as_owner(
                [
                    f"{self.bindir}/pg_ctl",
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.tmp / "postgresql.log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            **quiet,
        )
        self.started = True
        self.psql(f'CREATE ROLE "{ODOO_DB_USER}" SUPERUSER LOGIN', user="postgres")
        self.user = ODOO_DB_USER
        say(f"postgres: throwaway cluster on 127.0.0.1:{self.port} in {self.datadir}")
        return None

    def psql(self, sql, user=None, dbname="postgres"):
        psql = f"{self.bindir}/psql" if self.bindir else (shutil.which("psql") or "psql")
        env = dict(os.environ, PGPASSWORD=self.password) if self.password else None
        subprocess.run(
            [
                psql,
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                self.port,
                "-U",
                user or self.user,
                "-d",
                dbname,
                "-c",
                sql,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
        )

    def drop_database(self, name):
        """Drop a test database of an existing server (a throwaway cluster is just removed)."""
        try:
            self.psql(f'DROP DATABASE IF EXISTS "{name}"')
        except (OSError, subprocess.CalledProcessError) as error:
            say(f"postgres: could not drop database {name}: {error}")

    def odoo_args(self):
        args = ["--db_host", self.host, "--db_port", self.port, "--db_user", self.user]
        if self.password:
            args += ["--db_password", self.password]
        return args

    def stop(self):
        if self.started:
            subprocess.run(
                self._as_owner(
                    [f"{self.bindir}/pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop"]
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.tmp,
            )
            self.started = False


# --- one odoo-bin (or Odoo script) run, logged to a file (scripts/demo, scripts/i18n-update) ---
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
            if proc.poll() is None:
                proc.terminate()
                proc.wait(15)
