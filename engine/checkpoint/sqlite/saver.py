"""A durable saver in one SQLite file, on aiosqlite.

    async with SqliteSaver.from_conn_string("runs.sqlite") as saver:   # async code
        graph = builder.compile(checkpointer=saver)
    with SqliteSaver.from_conn_string("runs.sqlite") as saver:         # sync code
        ...
    saver = SqliteSaver.open("runs.sqlite"); ...; saver.close()        # or aopen()/aclose()

Besides LangGraph's saver protocol it keeps the tables an approval inbox needs: `threads`
(status per thread), `interrupts` (the pending-interrupt index, then the audit log) and
`events` (append-only, numbered by `seq`), all written in the same transaction as the
checkpoint. Decisions are claimed exactly once with `resolve()`. The events (and how each
updates `threads` and `interrupts`) live in events.py; the inbox's queries and the
exactly-once decisions in queries.py; run ownership in ownership.py: components the saver holds,
each given a `Runner` (runner.py) to run its work on the saver's connections, not base classes.

Durability: WAL with `synchronous=NORMAL` by default. A committed transaction survives the
process being killed at any point; after a power loss or OS crash the last few transactions
may be lost, but the file is never corrupt. Pass `synchronous="FULL"` to also survive power
loss, at the cost of one fsync per commit.

Storage of channel values: a checkpoint row holds everything but its versioned channel values,
plus `value_refs` naming, per channel, the blob that holds its value at that version. A blob
is written only for channels whose version changed (those in `aput`'s `new_versions`);
unchanged channels point at their parent checkpoint's blob. When a channel's new value is a
list extending the previous one (a message history), the blob stores only the appended items
and points at the previous blob (chains are capped at `max_delta_chain`, then a full copy is
written), so a growing history costs the size of its new messages per step. A value written
with others for the same checkpoint may be deflated against one of them (a tool call's request
against the message that made it). Blobs are keyed by id rather than by (channel, version)
because two forks of a thread can give different values the same integer version; a thread's
blobs are the ones its checkpoints reach (through value_refs, delta bases and those related
values), which is how they are deleted.

Rows leave out what another row holds exactly: a checkpoint its id, time and task ids (derived
from the id) and versions (in value_refs); a pending `__interrupt__` write and an
interrupt_raised event the fields of the interrupt's row. Each short form is used only when
what it rebuilds is identical to what it replaces.

Concurrency: one connection for writes (and for reads inside a transaction), guarded by a lock
that works across event loops (the engine's background loop and the caller's); each saver call
is one round trip to aiosqlite's connection thread, where its statements run back to back.
Everything awaited inside `async with saver.transaction():` commits in one
`BEGIN IMMEDIATE ... COMMIT` (rolled back if the block raises); calls outside a transaction
commit on their own. Inside a transaction, `aput` and `aput_writes` (whose results do not come
from the database) are queued and run with the transaction's next round trip, so a superstep
costs two round trips; if one of them fails then, that call raises the error and the
transaction refuses to commit. A second connection serves reads outside transactions (checkpoints, the
inbox queries, event polling), so they never wait behind a writer. Other processes are
serialised by SQLite itself (busy_timeout, default 30 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import os
import sqlite3
import threading
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable, Literal, Sequence

import aiosqlite

from engine._internal.sync import run_sync
from engine.checkpoint.base import (BaseCheckpointSaver, CheckpointTuple, Commit, checkpoint_id_of,
                                    checkpoint_ns_of, make_config, thread_id_of)
from engine.checkpoint.serde import dumps
from engine.checkpoint.sqlite import connection
from engine.checkpoint.sqlite.blobs import BlobCache
from engine.checkpoint.sqlite.checkpoints import CHECKPOINT_COLUMNS, CheckpointRows
from engine.checkpoint.sqlite.compaction import compact_checkpoint
from engine.checkpoint.sqlite.events import EventLog
from engine.checkpoint.sqlite.ledger import SqliteLedger
from engine.checkpoint.sqlite.locks import CrossLoopLock
from engine.checkpoint.sqlite.ownership import Ownership
from engine.checkpoint.sqlite.packing import pack
from engine.checkpoint.sqlite.queries import Queries
from engine.checkpoint.sqlite.runner import SaverRunner
from engine.checkpoint.sqlite.schema import APPLICATION_ID, SCHEMA_VERSION, ensure_schema, prepare_file
from engine.checkpoint.sqlite.times import normalize_ts, utc_iso
from engine.checkpoint.store import InterruptNotFound, InterruptRecord, ThreadRecord
from engine.errors import StorageError
from engine.events import Event

_MEMORY = ":memory:"
_BUSY = object()  # _read_inline could not read without waiting

class _Txn:
    """A transaction: shared by the calls a task awaits inside `saver.transaction()`, or private
    to one call. Mutated only in the connection thread or by its owning task between calls."""

    __slots__ = ("active", "begun", "failed", "savepoints", "pending", "new_blob_ids", "events_written",
                 "after", "error")

    def __init__(self) -> None:
        self.active = True
        self.begun = False
        self.failed = False
        self.savepoints = 0
        # Writes whose result the caller does not need (aput, aput_writes) wait here and run
        # in the next round trip of the transaction: a superstep's checkpoint, writes, events
        # and COMMIT cost two round trips, not four.
        self.pending: list[tuple[Callable, tuple]] = []
        self.new_blob_ids: list[int] = []
        self.events_written = False
        # A transaction committed in the background (transaction(wait=False)) is refused if the
        # one before it in the same run (`after`) failed; `error` is what made it fail.
        self.after: _Txn | None = None
        self.error: BaseException | None = None


class _Commit(Commit):
    """A transaction handed to the connection thread without waiting (see `transaction`)."""

    def __init__(self, saver: "SqliteSaver", txn: _Txn) -> None:
        self.saver = saver
        self.txn = txn
        self.future: asyncio.Future | None = None
        self.carried = False  # its writes wait in memory for the next transaction or wait()
        self.merged_into: _Commit | None = None  # a carried commit whose writes another took over
        self.before: Commit | None = None  # an empty commit stands for the one it came after
        self.error: BaseException | None = None  # its block failed after taking over carried writes

    async def wait(self) -> None:
        if self.merged_into is not None:
            return await self.merged_into.wait()
        if self.error is not None:
            raise StorageError(
                f"writes carried over from earlier steps were not saved to {self.saver.path}: the "
                f"transaction that took them over failed ({self.error}).") from self.error
        if self.carried:
            saver = self.saver
            await saver._lock.acquire()  # if cancelled here, the writes stay carried for a retry
            try:
                if self.carried:
                    self.carried = False
                    if self.txn.pending:
                        self.future = saver._submit(saver._conn, saver._finish, self.txn, True)
            finally:
                saver._lock.release()
        if self.future is not None:
            try:
                await asyncio.shield(self.future)  # a cancelled waiter leaves the commit running
            except (sqlite3.OperationalError, ValueError) as exc:
                translated = self.saver._translated(exc)
                if translated is exc:
                    raise
                raise translated from exc
        elif self.before is not None:
            await self.before.wait()


def _delegate(component: str, method: Callable) -> Callable:
    """A SqliteSaver method that calls `method` (same name, signature and docstring) on the
    component held in the attribute `component`."""
    name = method.__name__
    if inspect.iscoroutinefunction(method):
        @functools.wraps(method)
        async def call(self, *args: Any, **kwargs: Any) -> Any:
            return await getattr(getattr(self, component), name)(*args, **kwargs)
    else:
        @functools.wraps(method)
        def call(self, *args: Any, **kwargs: Any) -> Any:
            return getattr(getattr(self, component), name)(*args, **kwargs)
    return call


def _icontains(haystack, needle) -> int:
    if haystack is None or needle is None:
        return 0
    return int(str(needle).casefold() in str(haystack).casefold())


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _rollback_quietly(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")


class SqliteSaver(BaseCheckpointSaver):
    """Checkpoints, pending writes, threads, the pending-interrupt index and events in one
    SQLite file. See the module docstring for durability, storage and concurrency choices."""

    def __init__(self, path: str | os.PathLike, *, busy_timeout: float = 30.0,
                 synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
                 clock: Callable[[], datetime] | None = None, adopt_empty: bool = True) -> None:
        """`adopt_empty=False` opens only a database that already is an inbox database: a
        missing path, an empty file or an empty SQLite database is refused (StorageError) and
        left as it is, instead of becoming a new inbox database. For readers (`inbox list`)."""
        super().__init__()
        raw = os.fspath(path)
        self.path: str = _MEMORY if raw == _MEMORY else os.path.abspath(raw)
        if str(synchronous).upper() not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        self.synchronous = str(synchronous).upper()
        self.busy_timeout = float(busy_timeout)
        self.adopt_empty = bool(adopt_empty)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._conn: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._state: Literal["new", "open", "closed"] = "new"
        self._lock = CrossLoopLock()
        self._open_lock = CrossLoopLock()
        self._txn_var: contextvars.ContextVar[_Txn | None] = contextvars.ContextVar(
            f"SqliteSaver_txn_{id(self)}", default=None)
        self._cache = BlobCache()
        self._rows = CheckpointRows(self.path, self._cache)  # checkpoints, writes, blobs (checkpoints.py)
        self._inflight: set[asyncio.Future] = set()  # background commits not finished yet
        self._inline: sqlite3.Connection | None = None  # see _read_inline
        self._inline_lock = threading.Lock()
        self._file_ledger = SqliteLedger(self.path, self.busy_timeout, self.synchronous)
        # The store protocol's parts, as components over this saver's connections and transactions.
        runner = SaverRunner(self)
        self._events = EventLog(runner)
        self._queries = Queries(runner)
        self._ownership = Ownership(runner)

    @property
    def max_delta_chain(self) -> int:
        """Longest chain of append deltas before a list value is stored whole again."""
        return self._rows.max_delta_chain

    @max_delta_chain.setter
    def max_delta_chain(self, value: int) -> None:
        self._rows.max_delta_chain = value

    @property
    def delta_min_chars(self) -> int:
        """List values shorter than this (as JSON text) are always stored whole."""
        return self._rows.delta_min_chars

    @delta_min_chars.setter
    def delta_min_chars(self, value: int) -> None:
        self._rows.delta_min_chars = value

    def __repr__(self) -> str:
        return f"SqliteSaver({self.path!r}, state={self._state})"

    # --- opening and closing --------------------------------------------------------------------
    @classmethod
    def from_conn_string(cls, path: str | os.PathLike, **options: Any) -> "_SaverContext":
        """`async with SqliteSaver.from_conn_string(path) as saver:` or the same with `with`.
        Opens (creating the file with mode 0600 if needed) on entry, closes on exit.
        `path` may be ":memory:" (nothing is written to disk)."""
        return _SaverContext(cls, path, options)

    @classmethod
    async def aopen(cls, path: str | os.PathLike, **options: Any) -> "SqliteSaver":
        saver = cls(path, **options)
        await saver.asetup()
        return saver

    @classmethod
    def open(cls, path: str | os.PathLike, **options: Any) -> "SqliteSaver":
        saver = cls(path, **options)
        saver.setup()
        return saver

    async def asetup(self) -> None:
        """Open the file now (otherwise the first call does). Raises StorageError for a file
        that is not ours, is corrupt, or has a newer schema."""
        await self._ensure_open()

    def setup(self) -> None:
        run_sync(self.asetup(), "saver.setup()")

    async def aclose(self) -> None:
        """Close the connections (idempotent). Waits for a running transaction to finish."""
        if self._current_txn() is not None:
            raise RuntimeError("aclose() was called inside this saver's transaction; close it "
                               "after the `async with saver.transaction():` block.")
        await self._open_lock.acquire()
        try:
            if self._state != "open":
                self._state = "closed"
                return
            await self._lock.acquire()
            try:
                self._state = "closed"
                conn, reader, self._conn, self._reader = self._conn, self._reader, None, None
                inline, self._inline = self._inline, None
                self._file_ledger.close()
                if inline is not None:
                    with self._inline_lock:
                        inline.close()
                for each in (reader, conn):
                    if each is not None:
                        with contextlib.suppress(Exception):
                            await each.close()
            finally:
                self._lock.release()
        finally:
            self._open_lock.release()
        self._notify_subscribers()

    def close(self) -> None:
        run_sync(self.aclose(), "saver.close()")

    async def __aenter__(self) -> "SqliteSaver":
        await self.asetup()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    def __enter__(self) -> "SqliteSaver":
        self.setup()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def is_memory(self) -> bool:
        return self.path == _MEMORY

    async def _ensure_open(self) -> None:
        if self._state == "open":
            return
        await self._open_lock.acquire()
        try:
            if self._state == "closed":
                raise StorageError(
                    f"the SqliteSaver for {self.path} is closed; open a new one with "
                    "SqliteSaver.from_conn_string(path).")
            if self._state == "new":
                await self._open()
                self._state = "open"
        finally:
            self._open_lock.release()

    async def _open(self) -> None:
        if not self.is_memory:
            await asyncio.to_thread(prepare_file, self.path, self.adopt_empty)
        conn = await self._connect()
        try:
            await ensure_schema(conn, self.path, self.adopt_empty)
            if not self.is_memory:
                rows = await conn.execute_fetchall("PRAGMA journal_mode = WAL")
                if rows and str(rows[0][0]).lower() != "wal":
                    raise StorageError(
                        f"{self.path}: SQLite could not switch to WAL mode (got {rows[0][0]!r}); "
                        "put the file on a local disk (network filesystems do not support WAL).")
            await conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            reader = None if self.is_memory else await self._connect(readonly=True)
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        self._conn, self._reader = conn, reader
        if not self.is_memory:
            self._inline = self._connect_inline()

    def _connect_inline(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0.005)
        db.execute("PRAGMA query_only = ON")
        return db

    async def _connect(self, readonly: bool = False) -> aiosqlite.Connection:
        conn = await connection.connect(self.path, self.busy_timeout)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.create_function("engine_icontains", 2, _icontains, deterministic=True)
            if readonly:
                await conn.execute("PRAGMA query_only = ON")
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        return conn

    # --- running work on the connection thread ---------------------------------------------------
    # Every saver call is a plain function `fn(db, txn, *args)` on the sqlite3 connection, run in
    # aiosqlite's connection thread in one round trip. These wrappers choose the connection and
    # the transaction it runs in.

    def _current_txn(self) -> _Txn | None:
        txn = self._txn_var.get()
        return txn if txn is not None and txn.active else None

    def _locked_error(self, exc: BaseException) -> StorageError:
        return StorageError(
            f"{self.path} stayed locked by another process for more than {self.busy_timeout:g} s "
            f"({exc}). Retry, raise busy_timeout, or stop the process that holds the lock.")

    def _closed_error(self) -> StorageError:
        return StorageError(f"the SqliteSaver for {self.path} is closed; open a new one with "
                            "SqliteSaver.from_conn_string(path).")

    def _translated(self, exc: BaseException) -> BaseException:
        """The error a caller should see for `exc` raised by the connection."""
        if isinstance(exc, sqlite3.OperationalError) and _is_lock_error(exc):
            return self._locked_error(exc)
        if isinstance(exc, ValueError) and ("closed" in str(exc) or "no active connection" in str(exc)):
            return self._closed_error()
        return exc

    async def _on(self, conn: aiosqlite.Connection | None, fn: Callable, *args: Any) -> Any:
        if conn is None:
            raise self._closed_error()
        try:
            return await connection.run(conn, fn, *args)
        except (sqlite3.OperationalError, ValueError) as exc:
            translated = self._translated(exc)
            if translated is exc:
                raise
            raise translated from exc

    def _submit(self, conn: aiosqlite.Connection | None, fn: Callable, *args: Any) -> asyncio.Future:
        """Queue `fn` on the connection thread now and return its future without waiting: what
        aiosqlite's `_execute` does before it awaits. Calls queued later run after it."""
        if conn is None or not connection.is_open(conn):
            raise self._closed_error()
        future = connection.queue(conn, fn, *args)
        self._inflight.add(future)
        txn = args[0] if args and isinstance(args[0], _Txn) else None

        def finished(done: asyncio.Future) -> None:
            self._inflight.discard(done)
            if not done.cancelled() and done.exception() is None and txn is not None and txn.events_written:
                self._notify_subscribers()

        future.add_done_callback(finished)
        return future

    async def _settle_inflight(self) -> None:
        """Wait for this loop's background commits, so a read sees what this process wrote."""
        loop = asyncio.get_running_loop()
        pending = [f for f in self._inflight.copy() if f.get_loop() is loop]  # other loops add to it
        if pending:
            await asyncio.wait(pending)

    def _joined(self, db: sqlite3.Connection, txn: _Txn, fn: Callable, args: tuple) -> Any:
        if not txn.begun:  # the transaction starts with its first statement
            db.execute("BEGIN IMMEDIATE")
            txn.begun = True
        self._flush(db, txn)
        return fn(db, txn, *args)

    @staticmethod
    def _flush(db: sqlite3.Connection, txn: _Txn) -> None:
        while txn.pending:
            fn, args = txn.pending.pop(0)
            try:
                fn(db, txn, *args)
            except BaseException:
                txn.failed = True  # a later COMMIT must not keep the rest without this write
                txn.pending.clear()
                raise

    def _standalone(self, db: sqlite3.Connection, txn: _Txn, write: bool, fn: Callable, args: tuple) -> Any:
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = fn(db, txn, *args)
            db.execute("COMMIT")
        except BaseException:
            self._cache.discard(txn.new_blob_ids)
            _rollback_quietly(db)
            raise
        return result

    def _finish(self, db: sqlite3.Connection, txn: _Txn, commit: bool) -> None:
        if commit:
            try:
                if txn.after is not None and txn.after.error is not None:
                    raise StorageError(
                        f"not saved to {self.path}: an earlier write of the same run failed "
                        f"({txn.after.error}), and this one builds on it.")
                if not txn.begun:
                    db.execute("BEGIN IMMEDIATE")
                    txn.begun = True
                self._flush(db, txn)
                if txn.failed:
                    raise StorageError(
                        f"a write to {self.path} failed earlier in this transaction, so none of it "
                        "was saved (the error was raised by the call that failed).")
                db.execute("COMMIT")
                return
            except BaseException as exc:
                txn.error = exc
                self._cache.discard(txn.new_blob_ids)
                _rollback_quietly(db)
                raise
        txn.pending.clear()
        self._cache.discard(txn.new_blob_ids)
        _rollback_quietly(db)

    async def _write(self, fn: Callable, *args: Any, defer: bool = False) -> Any:
        """Run `fn` in the caller's transaction, or in its own committed one. With `defer`,
        inside a transaction, `fn` runs with the transaction's next round trip instead."""
        await self._ensure_open()
        current = self._current_txn()
        if current is not None:
            if defer:
                current.pending.append((fn, args))
                return None
            return await self._on(self._conn, self._joined, current, fn, args)
        await self._lock.acquire()
        txn = _Txn()
        try:
            # If the caller is cancelled meanwhile, the call still completes (or rolls back) as
            # one unit in the connection thread before anything queued after it.
            result = await self._on(self._conn, self._standalone, txn, True, fn, args)
        finally:
            txn.active = False
            self._lock.release()
        if txn.events_written:
            self._notify_subscribers()
        return result

    async def _read(self, fn: Callable, *args: Any) -> Any:
        """Run the read `fn` in one consistent snapshot: on the read connection (never waits
        for the writer) unless the caller's transaction must see its own writes."""
        await self._ensure_open()
        current = self._current_txn()
        if current is not None:
            return await self._on(self._conn, self._joined, current, fn, args)
        if self._inflight:
            await self._settle_inflight()
        if self._reader is not None:
            return await self._on(self._reader, self._standalone, _Txn(), False, fn, args)
        await self._lock.acquire()
        try:
            return await self._on(self._conn, self._standalone, _Txn(), False, fn, args)
        finally:
            self._lock.release()

    async def _query(self, sql: str, params: Sequence | dict = ()) -> list:
        return await self._read(lambda db, _txn: db.execute(sql, params).fetchall())

    @contextlib.asynccontextmanager
    async def transaction(self, *, wait: bool = True, after: Commit | None = None, carry: bool = False):
        """Everything awaited inside commits in one SQLite transaction (BEGIN IMMEDIATE), or is
        rolled back if the block raises. Nested blocks become savepoints. Other tasks' calls
        wait for the block to finish (calls from tasks it starts join it).

        `wait=False` (a run's durability "async"): the COMMIT, with the writes queued for it, is
        handed to the connection thread and the block returns at once; `await commit.wait()`
        for the outcome. Later calls on the connection run after it, and reads from this process
        wait for it, so nothing can observe the writes out of order. If the commit named in
        `after` failed, this one is refused. With `carry=True` too (durability "exit"), writes
        that were only queued stay in memory until the next transaction naming this one in
        `after` (which commits them with its own) or `wait()`."""
        await self._ensure_open()
        current = self._current_txn()
        if current is not None:
            async with self._savepoint(current):
                yield Commit()  # committed with the enclosing transaction
            return
        await self._lock.acquire()
        txn = _Txn()
        commit = _Commit(self, txn)
        adopted: _Commit | None = None
        if isinstance(after, _Commit) and after.saver is self:
            if after.carried:  # take over its writes: they commit first, with ours
                adopted = after
                txn.pending, after.txn.pending = after.txn.pending, []
                txn.after, after.carried, after.merged_into = after.txn.after, False, commit
            else:
                txn.after = after.txn
        adopted_count = len(txn.pending)
        token = self._txn_var.set(txn)
        try:
            try:
                yield commit
            except BaseException as exc:
                if adopted is not None:
                    if txn.begun:  # they were sent with this transaction, which now rolls back
                        commit.error = exc
                    else:  # give the carried writes back
                        adopted.txn.pending = txn.pending[:adopted_count]
                        adopted.carried, adopted.merged_into = True, None
                txn.pending.clear()
                if txn.begun:
                    with contextlib.suppress(Exception):
                        await self._on(self._conn, self._finish, txn, False)
                raise
            if not (txn.begun or txn.pending):
                commit.before = after  # an empty commit stands for the one before it...
                if isinstance(after, _Commit) and after.saver is self:
                    commit.txn = after.txn  # ...also for the next one's `after` check
                return
            if wait:
                await self._on(self._conn, self._finish, txn, True)
            elif carry and not txn.begun:
                commit.carried = True
            else:
                commit.future = self._submit(self._conn, self._finish, txn, True)
        finally:
            txn.active = False
            self._txn_var.reset(token)
            self._lock.release()
        if wait and txn.events_written:
            self._notify_subscribers()

    @contextlib.asynccontextmanager
    async def _savepoint(self, txn: _Txn):
        name = f"engine_sp{txn.savepoints}"
        txn.savepoints += 1
        mark = len(txn.new_blob_ids)

        def rollback_to(db, txn):
            txn.pending.clear()  # queued inside the savepoint: never run them
            self._cache.discard(txn.new_blob_ids[mark:])
            del txn.new_blob_ids[mark:]
            db.execute(f"ROLLBACK TO {name}")
            db.execute(f"RELEASE {name}")

        try:
            await self._on(self._conn, self._joined, txn, lambda db, _t: db.execute(f"SAVEPOINT {name}"), ())
            try:
                yield
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._on(self._conn, self._rollback_to, txn, rollback_to)
                raise
            await self._on(self._conn, self._joined, txn, lambda db, _t: db.execute(f"RELEASE {name}"), ())
        finally:
            txn.savepoints -= 1

    @staticmethod
    def _rollback_to(db: sqlite3.Connection, txn: _Txn, fn: Callable) -> None:
        fn(db, txn)  # not _joined: the writes queued inside the savepoint must not be flushed

    def _now(self) -> str:
        return utc_iso(self._clock())

    def _when(self, at: datetime | str | None) -> str:
        if at is None:
            return self._now()
        return utc_iso(at) if isinstance(at, datetime) else normalize_ts(at)

    # --- events (events.py) ---------------------------------------------------------------------------
    async def _astore_events(self, events: list[Event]) -> list[Event]:
        return await self._events.store(events)

    _astore_events.__doc__ = EventLog.store.__doc__

    async def aqueue_events(self, events: list[Event]) -> None:
        """Store the events like `aput_events`, without returning them. Inside a transaction
        they are written with its next round trip (usually the COMMIT), so a superstep's
        checkpoint, writes and events cost one round trip to the connection thread."""
        if not events:
            return
        if self._current_txn() is None:
            await self.aput_events(events)
            return
        await self._events.queue(events)

    async def aread_events(self, since: int | None = None, limit: int | None = None) -> list[Event]:
        return await self._events.read(since, limit)

    async def alast_event_seq(self) -> int:
        return await self._events.last_seq()

    def last_event_seq(self) -> int:
        return run_sync(self.alast_event_seq(), "saver.last_event_seq()")

    def put_events(self, events: list[Event]) -> list[Event]:
        return run_sync(self.aput_events(events), "saver.put_events()")

    def _poll_timeout(self, poll_interval: float) -> float | None:
        # Another process may write to the file: re-read `seq > last` at least every 50 ms.
        return None if self.is_memory else min(poll_interval, 0.05)

    # --- the inbox's queries and exactly-once decisions (queries.py) ---------------------------------
    alist_pending = _delegate("_queries", Queries.alist_pending)
    acount_by_status = _delegate("_queries", Queries.acount_by_status)
    aget_interrupt = _delegate("_queries", Queries.aget_interrupt)
    alist_threads = _delegate("_queries", Queries.alist_threads)
    aget_thread = _delegate("_queries", Queries.aget_thread)
    adecisions = _delegate("_queries", Queries.adecisions)
    alist_claimed_unapplied = _delegate("_queries", Queries.alist_claimed_unapplied)
    alist_due = _delegate("_queries", Queries.alist_due)
    aresolve = _delegate("_queries", Queries.aresolve)
    aexpire = _delegate("_queries", Queries.aexpire)
    aexpire_due = _delegate("_queries", Queries.aexpire_due)
    list_pending = _delegate("_queries", Queries.list_pending)
    count_by_status = _delegate("_queries", Queries.count_by_status)
    get_interrupt = _delegate("_queries", Queries.get_interrupt)
    list_threads = _delegate("_queries", Queries.list_threads)
    get_thread = _delegate("_queries", Queries.get_thread)
    decisions = _delegate("_queries", Queries.decisions)
    list_claimed_unapplied = _delegate("_queries", Queries.list_claimed_unapplied)
    list_due = _delegate("_queries", Queries.list_due)
    resolve = _delegate("_queries", Queries.resolve)
    expire = _delegate("_queries", Queries.expire)
    expire_due = _delegate("_queries", Queries.expire_due)

    # --- run ownership (ownership.py) -----------------------------------------------------------------
    alease_acquire = _delegate("_ownership", Ownership.alease_acquire)
    alease_renew = _delegate("_ownership", Ownership.alease_renew)
    alease_release = _delegate("_ownership", Ownership.alease_release)
    alease_holder = _delegate("_ownership", Ownership.alease_holder)
    aclaim_answers = _delegate("_ownership", Ownership.aclaim_answers)
    amark_applied = _delegate("_ownership", Ownership.amark_applied)
    alist_recoverable = _delegate("_ownership", Ownership.alist_recoverable)

    def tool_call(self, key: str, action: str, **fields: Any):
        """Advance a reviewed tool call in the ledger, in this file (ledger.py)."""
        if self.is_memory:
            return super().tool_call(key, action, **fields)
        return self._file_ledger.apply(key, action, (fields["new"]["thread_id"], fields["owner"]), **fields)

    # --- the saver protocol -------------------------------------------------------------------------
    async def aget_tuple(self, config: dict) -> CheckpointTuple | None:
        thread_id, ns = thread_id_of(config), checkpoint_ns_of(config)
        args = (thread_id, ns, checkpoint_id_of(config))
        if self._current_txn() is None and not self._inflight and self._state == "open":
            found = self._read_inline(self._rows._get_tuple, *args)
            if found is not _BUSY:
                return found
        return await self._read(self._rows._get_tuple, *args)

    def _read_inline(self, fn: Callable, *args: Any) -> Any:
        """Run the small read `fn` right here, on the caller's thread, through a third connection:
        a WAL reader never waits for writers, so a point read costs less than the round trip to a
        connection thread (which is most of a run's start). Returns _BUSY, having waited at most
        a few ms, if SQLite asks to wait (e.g. another process is resetting the WAL): the caller
        then reads through aiosqlite as usual."""
        if not self._inline_lock.acquire(blocking=False):
            return _BUSY  # another thread is using it right now: take the normal path
        try:
            db = self._inline
            if db is None:  # closing: the normal path says so
                return _BUSY
            return self._standalone(db, _Txn(), False, fn, args)
        except sqlite3.OperationalError as exc:
            if _is_lock_error(exc):
                return _BUSY
            raise
        finally:
            self._inline_lock.release()

    async def alist(self, config: dict | None, *, filter: dict | None = None, before: dict | None = None,
                    limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        where: list[str] = []
        params: list[Any] = []
        if config is not None:
            where += ["thread_id = ?", "checkpoint_ns = ?"]
            params += [thread_id_of(config), checkpoint_ns_of(config)]
            order = "checkpoint_id DESC"
        else:
            # Ties between threads (equal ids) keep InMemorySaver's order: threads, then
            # namespaces, in the order they were first written.
            order = ("checkpoint_id DESC, "
                     "(SELECT min(rowid) FROM checkpoints AS t WHERE t.thread_id = c.thread_id), "
                     "(SELECT min(rowid) FROM checkpoints AS t WHERE t.thread_id = c.thread_id "
                     "AND t.checkpoint_ns = c.checkpoint_ns)")
        before_id = checkpoint_id_of(before)
        if before_id is not None:
            where.append("checkpoint_id < ?")
            params.append(before_id)
        sql = f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints AS c"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {order}"
        if not filter and limit is not None and limit >= 0:
            sql += " LIMIT ?"
            params.append(limit)
        for item in await self._read(self._rows._list, sql, params, filter, limit):
            yield item

    async def aput(self, config: dict, checkpoint: dict, metadata: dict, new_versions: dict) -> dict:
        thread_id, ns = thread_id_of(config), checkpoint_ns_of(config)
        parent_id = checkpoint_id_of(config)
        values = checkpoint.get("channel_values") or {}
        versions = checkpoint.get("channel_versions") or {}
        changed = new_versions or {}
        # Serialise what will certainly be written before touching the database, so a value
        # that cannot be stored fails the call without leaving half of it behind.
        stored = dict(checkpoint)
        if "channel_values" in checkpoint:
            stored["channel_values"] = {ch: v for ch, v in values.items() if ch not in versions}
        # without what the row gives back (its id, and the versions value_refs will hold)
        stored = compact_checkpoint(stored, ns, [[ch, versions[ch] if ch in versions else None] for ch in values])
        texts = {ch: dumps(v) for ch, v in values.items() if ch in versions and ch in changed}
        # The checkpoint's own time (the runtime's clock, which tests may inject), not ours.
        ts = checkpoint.get("ts")
        now = normalize_ts(ts) if isinstance(ts, str) else self._now()
        graph = metadata.get("graph") if isinstance(metadata, dict) else None
        await self._write(self._rows._put, thread_id, ns, parent_id, checkpoint["id"], dict(values), dict(versions),
                          texts, dumps(stored), dumps(metadata), now, graph if isinstance(graph, str) else "",
                          defer=True)
        return make_config(thread_id, ns, checkpoint["id"])

    async def aput_writes(self, config: dict, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        thread_id, ns = thread_id_of(config), checkpoint_ns_of(config)
        checkpoint_id = checkpoint_id_of(config) or ""
        rows = [(thread_id, ns, checkpoint_id, task_id, channel, task_path, pack(dumps(value)))
                for channel, value in writes]
        if rows:
            await self._write(self._rows._put_writes, rows, defer=True)

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints, channel values, pending writes and its threads row.
        Its interrupt rows stay (the audit log); pending or claimed-but-unapplied ones become
        cancelled (reason "thread deleted"). No event is written, as with InMemorySaver."""
        await self._write(self._rows._delete_thread, str(thread_id), self._now())


class _SaverContext:
    """What `SqliteSaver.from_conn_string` returns: usable with `async with` and with `with`."""

    def __init__(self, cls: type[SqliteSaver], path: str | os.PathLike, options: dict) -> None:
        self._saver = cls(path, **options)

    async def __aenter__(self) -> SqliteSaver:
        await self._saver.asetup()
        return self._saver

    async def __aexit__(self, *exc_info) -> None:
        await self._saver.aclose()

    def __enter__(self) -> SqliteSaver:
        self._saver.setup()
        return self._saver

    def __exit__(self, *exc_info) -> None:
        self._saver.close()


AsyncSqliteSaver = SqliteSaver  # LangGraph's async saver name: one class serves both here

__all__ = ["SqliteSaver", "AsyncSqliteSaver", "InterruptRecord", "ThreadRecord", "InterruptNotFound",
           "APPLICATION_ID", "SCHEMA_VERSION"]
