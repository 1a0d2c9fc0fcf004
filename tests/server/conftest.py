"""One `inbox serve` per test module and store (see serving.py): starting one costs ~1 s. The
tests that take `server`, `client` or `http` run against a SQLite file and against a database
of the session's throwaway PostgreSQL cluster (tests/pg_cluster.py, fixtures in tests/conftest.py)."""

from __future__ import annotations

import contextlib
import itertools
import os

import pytest

from serving import Server

_databases = itertools.count(1)


@contextlib.contextmanager
def postgres_database(cluster):
    """A fresh database with the engine's schema, for servers that outlive one test: its URL."""
    from pg_cluster import create_database, drop_database

    name = f"serve{os.getpid()}_{next(_databases)}"
    create_database(cluster.url(), name, "engine_template")
    try:
        yield cluster.url(name)
    finally:
        drop_database(cluster.url(), name)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store_target(request, tmp_path_factory):
    """(--db value, a folder for logs): a SQLite file, or a Postgres database."""
    folder = tmp_path_factory.mktemp("serve")
    if request.param == "sqlite":
        yield folder / "inbox.sqlite", folder
        return
    with postgres_database(request.getfixturevalue("pg_cluster")) as url:
        yield url, folder


@pytest.fixture(scope="module")
def server(store_target):
    db, folder = store_target
    srv = Server(db, log=folder / "serve.log").start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    from langgraph_sdk import get_client

    return get_client(url=server.url, api_key=None)
