"""A throwaway PostgreSQL cluster for the tests, started from the Debian binaries on the machine
(`/usr/lib/postgresql/<version>/bin`): one per test session, a fresh database per test.

`initdb` and `pg_ctl` refuse to run as root, so as root they run as the `postgres` user
(`runuser -u postgres --`) in a temporary directory owned by it. The server listens on a unix
socket in that directory and on a free loopback port (tests that need a URL with a host use
it). Durability is off (fsync, synchronous_commit, full_page_writes): a test cluster never
outlives the session, and a commit costs microseconds instead of a disk flush.

Missing binaries: `PostgresUnavailable`. The fixtures in tests/conftest.py turn that into a
failure in CI (`CI=true`, where .ci/run installs them) and a skip with the reason elsewhere.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

BIN_GLOB = "/usr/lib/postgresql/*/bin"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (or they cannot be run)."""


def find_bindir() -> str:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl."""
    found = [d for d in glob.glob(BIN_GLOB) if os.path.exists(os.path.join(d, "initdb"))
             and os.path.exists(os.path.join(d, "pg_ctl"))]
    if not found:
        raise PostgresUnavailable(
            f"no PostgreSQL server binaries in {BIN_GLOB}; install them with "
            "`apt-get install -y postgresql` (.ci/run does this in CI).")
    return max(found, key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One running cluster. `url(dbname)` for a database on it; `stop()` removes everything."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        # in memory when there is a tmpfs: databases are created and dropped per test
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.root = tempfile.mkdtemp(prefix="inbox-pg-", dir=shm)
        self.datadir = os.path.join(self.root, "data")
        self.sockdir = self.root
        self.port = _free_port()
        self.user = "postgres"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise PostgresUnavailable("running as root without `runuser`: cannot start PostgreSQL as "
                                          "the postgres user")
            shutil.chown(self.root, user="postgres")
            os.chmod(self.root, 0o700)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        else:
            import getpass
            self.user = getpass.getuser()
        self._started = False

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([*self._as_postgres, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(args[:2])} failed ({result.returncode}): "
                                      f"{(result.stderr or result.stdout).strip()[-2000:]}")

    def start(self) -> "Cluster":
        started = time.perf_counter()
        self._run(os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-U", self.user, "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.sockdir} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                   "-c shared_buffers=64MB -c max_wal_senders=0 -c wal_level=minimal")
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-o", options, "-w", "-t", "30",
                  "-l", os.path.join(self.root, "server.log"), "start")
        self._started = True
        self.start_seconds = time.perf_counter() - started
        return self

    def url(self, dbname: str = "postgres", *, tcp: bool = False) -> str:
        if tcp:
            return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"
        return f"postgresql://{self.user}@/{dbname}?host={self.sockdir}&port={self.port}"

    def restart(self) -> None:
        """Stop the server (fast: connections are dropped) and start it again."""
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-m", "fast", "-w", "-t", "30",
                  "-l", os.path.join(self.root, "server.log"), "restart")

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(Exception):
                self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-m", "immediate", "-w", "stop")
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)


def create_database(admin_url: str, name: str, template: str = "template0") -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


__all__ = ["Cluster", "PostgresUnavailable", "find_bindir", "create_database", "drop_database"]
