import pytest


@pytest.fixture(params=["memory", "sqlite"])
def saver(request, tmp_path):
    """Every engine test that takes `saver` runs against each checkpointer."""
    if request.param == "memory":
        from engine.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
        return
    sqlite = pytest.importorskip("engine.checkpoint.sqlite")
    with sqlite.SqliteSaver.from_conn_string(str(tmp_path / "engine.sqlite")) as opened:
        yield opened


# --- a real PostgreSQL server (tests/pg_cluster.py) ---------------------------------------------
import itertools
import os

_pg_databases = itertools.count(1)


def _postgres_missing(reason: str):
    """No server binaries: a failure in CI (where .ci/run installs them), a skip elsewhere."""
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster for the session (started on first use, removed at the end)."""
    from pg_cluster import Cluster, PostgresUnavailable

    try:
        pytest.importorskip("psycopg")
        cluster = Cluster().start()
    except PostgresUnavailable as exc:
        _postgres_missing(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster):
    """A fresh, empty database on the session's cluster: its URL (unix socket)."""
    from pg_cluster import create_database

    name = f"t{os.getpid()}_{next(_pg_databases)}"
    create_database(pg_cluster.url(), name)
    return pg_cluster.url(name)
