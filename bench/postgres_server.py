"""A PostgreSQL server for the benchmarks: the one named by --url (an admin URL: databases are
created and dropped on it), or a throwaway cluster started like the tests' (tests/pg_cluster.py:
the Debian binaries, as the `postgres` user, in /dev/shm, fsync off)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))


@contextlib.contextmanager
def server(url: str | None):
    """Yields (admin_url, url_for(dbname), description)."""
    if url:
        base = url.rsplit("/", 1)[0]
        yield url, (lambda name: f"{base}/{name}"), "the server given with --url"
        return
    from pg_cluster import Cluster

    cluster = Cluster().start()
    try:
        yield cluster.url(), cluster.url, (f"a throwaway PostgreSQL cluster ({cluster.bindir}; unix socket; "
                                           "tmpfs; fsync=off, synchronous_commit=off)")
    finally:
        cluster.stop()


def create(admin_url: str, name: str, template: str = "template0") -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def version(url: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]
