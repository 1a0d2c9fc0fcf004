"""The one module that touches aiosqlite's private internals.

Each saver call is a plain function `fn(db, ...)` run on aiosqlite's connection thread in one
round trip, with all its statements back to back (aiosqlite's public API would cost a round
trip per statement). That needs what aiosqlite's `Connection.execute` itself uses: `_execute`
(run a function in the connection thread and await it), `_conn` (the sqlite3 connection), and,
to queue a commit without awaiting it, `_tx` (its queue of (future, function)), `_running` and
`_connection`; `_thread` (the not-yet-started worker thread) is made a daemon so an unclosed
saver cannot keep the process alive. aiosqlite is pinned in pyproject.toml for this reason, and
tests/engine/test_aiosqlite_internals.py fails with a message naming the pin if a new version
changes any of them.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from typing import Any, Awaitable, Callable

import aiosqlite

from engine.errors import StorageError

#: What this module relies on, checked by tests/engine/test_aiosqlite_internals.py.
PRIVATE_ATTRIBUTES = ("_execute", "_conn", "_tx", "_running", "_connection", "_thread")


async def connect(path: str, timeout: float) -> aiosqlite.Connection:
    """An aiosqlite connection in autocommit mode (the saver issues BEGIN itself) whose thread
    does not keep the process alive."""
    pending = aiosqlite.connect(path, isolation_level=None, timeout=timeout)
    worker = getattr(pending, "_thread", None)
    if worker is not None:
        worker.daemon = True  # an unclosed saver must not keep the process alive at exit
    conn = await pending
    if not callable(getattr(conn, "_execute", None)):
        await conn.close()
        raise StorageError(
            f"this aiosqlite version ({getattr(aiosqlite, '__version__', '?')}) does not "
            "offer Connection._execute, which SqliteSaver uses to run each call in one "
            "round trip; install the aiosqlite version pinned in pyproject.toml.")
    return conn


def run(conn: aiosqlite.Connection, fn: Callable, *args: Any) -> Awaitable[Any]:
    """Run `fn(sqlite3_connection, *args)` on the connection thread; await the result."""
    return conn._execute(fn, conn._conn, *args)


def is_open(conn: aiosqlite.Connection | None) -> bool:
    """Whether `conn`'s thread still takes work."""
    return conn is not None and conn._running and conn._connection is not None


def queue(conn: aiosqlite.Connection, fn: Callable, *args: Any) -> asyncio.Future:
    """Queue `fn(sqlite3_connection, *args)` on the connection thread now and return its future
    without waiting: what `_execute` does before it awaits. Work queued later runs after it."""
    future = asyncio.get_running_loop().create_future()
    conn._tx.put_nowait((future, functools.partial(fn, conn._conn, *args)))
    return future


def raw(conn: aiosqlite.Connection) -> sqlite3.Connection:
    """The sqlite3 connection behind `conn` (use it only on the connection thread)."""
    return conn._conn


__all__ = ["PRIVATE_ATTRIBUTES", "connect", "run", "is_open", "queue", "raw"]
