"""engine/checkpoint/sqlite/connection.py uses aiosqlite's private internals (so a saver call is one
round trip to the connection thread). These tests fail loudly, naming the pin in pyproject.toml,
if the installed aiosqlite no longer has them or they stop behaving as that module expects."""

import asyncio
import sqlite3
import threading

import aiosqlite
import pytest

from engine.checkpoint.sqlite import connection

PIN = ("aiosqlite is pinned in pyproject.toml (\"aiosqlite>=0.22,<0.23\") because "
       "engine/checkpoint/sqlite/connection.py uses its private internals; aiosqlite "
       f"{getattr(aiosqlite, '__version__', '?')} is installed")


def _require(condition: bool, what: str) -> None:
    if not condition:
        pytest.fail(f"{what}. {PIN}: update connection.py (and its PRIVATE_ATTRIBUTES) for this "
                    "version, or install the pinned one.", pytrace=False)


def test_the_pinned_version_is_installed():
    major_minor = tuple(int(part) for part in aiosqlite.__version__.split(".")[:2])
    _require(major_minor == (0, 22), f"aiosqlite {aiosqlite.__version__} is not the pinned 0.22.x")


async def test_the_private_attributes_exist_and_behave(tmp_path):
    pending = aiosqlite.connect(str(tmp_path / "probe.sqlite"), isolation_level=None)
    _require(isinstance(getattr(pending, "_thread", None), threading.Thread),
             "aiosqlite.Connection._thread (the worker thread, made a daemon before it starts) is gone")
    conn = await pending
    try:
        for name in connection.PRIVATE_ATTRIBUTES:
            _require(hasattr(conn, name), f"aiosqlite.Connection.{name} is gone")
        _require(callable(conn._execute), "aiosqlite.Connection._execute is not callable")
        _require(isinstance(conn._conn, sqlite3.Connection),
                 "aiosqlite.Connection._conn is not the sqlite3 connection")
        _require(conn._running is True and conn._connection is conn._conn,
                 "aiosqlite.Connection._running/_connection do not say the connection is open")
        _require(callable(getattr(conn._tx, "put_nowait", None)),
                 "aiosqlite.Connection._tx is not a queue with put_nowait")
        # one round trip runs a function on the connection thread with the sqlite3 connection
        main = threading.get_ident()
        seen = await connection.run(conn, lambda db, x: (db.execute("SELECT ?", (x,)).fetchone()[0],
                                                          threading.get_ident()), 7)
        _require(seen[0] == 7 and seen[1] != main,
                 "Connection._execute(fn, conn._conn, ...) did not run fn on the connection thread")
        # a function queued without waiting runs before work queued after it
        order = []
        future = connection.queue(conn, lambda db: order.append("queued"))
        await connection.run(conn, lambda db: order.append("after"))
        await asyncio.wait_for(future, 5)
        _require(order == ["queued", "after"], "work queued on Connection._tx did not run in order")
        _require(connection.is_open(conn), "connection.is_open() is False for an open connection")
    finally:
        await conn.close()
    _require(not connection.is_open(conn), "connection.is_open() is True for a closed connection")


async def test_connect_makes_the_worker_a_daemon(tmp_path):
    conn = await connection.connect(str(tmp_path / "daemon.sqlite"), 1.0)
    try:
        _require(conn._thread.daemon, "connection.connect() did not make aiosqlite's thread a daemon")
    finally:
        await conn.close()
