import pytest


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def saver(request, tmp_path):
    """Every engine test that takes `saver` runs against each checkpointer (Postgres on a fresh
    database of the session's throwaway server)."""
    if request.param == "memory":
        from engine.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
        return
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        from engine.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(url) as opened:
            yield opened
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
        # A database with the engine's schema, copied for each test (faster than migrating each)
        import asyncio

        from engine.checkpoint.postgres import PostgresSaver
        from pg_cluster import create_database

        create_database(cluster.url(), "engine_template")

        async def migrate():
            await (await PostgresSaver.aopen(cluster.url("engine_template"))).aclose()

        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # the first user may be an async test
            pool.submit(lambda: asyncio.run(migrate())).result()
        yield cluster
    finally:
        cluster.stop()


def _pg_database(pg_cluster, template: str):
    from pg_cluster import create_database, drop_database

    name = f"t{os.getpid()}_{next(_pg_databases)}"
    create_database(pg_cluster.url(), name, template)
    yield pg_cluster.url(name)
    drop_database(pg_cluster.url(), name)


@pytest.fixture
def pg_url(pg_cluster):
    """A fresh database with the engine's schema on the session's cluster: its URL (unix socket)."""
    yield from _pg_database(pg_cluster, "engine_template")


@pytest.fixture
def pg_empty_url(pg_cluster):
    """A fresh, empty database (no schema yet): for tests of opening and migrating."""
    yield from _pg_database(pg_cluster, "template0")


@pytest.fixture
def hosts(tmp_path, pg_url):
    """Many hosts, simulated (tests/many_hosts.py): `inbox` processes on a fresh Postgres
    database, all killed at the end of the test."""
    from many_hosts import Hosts

    started = Hosts(tmp_path, pg_url)
    try:
        yield started
    finally:
        started.kill_all()
