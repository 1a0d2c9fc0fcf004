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
that works across event loops; each saver call is one round trip to aiosqlite's connection
thread. Everything awaited inside `async with saver.transaction():` commits in one
`BEGIN IMMEDIATE ... COMMIT`; calls outside a transaction commit on their own. A second
connection serves reads outside transactions (checkpoints, the inbox queries, event polling),
so they never wait behind a writer. How calls are run on the connections, and in which
transaction, is the `Transactions` component's job (transactions.py); the saver opens and
closes the connections and hands them to it. Other processes are serialised by SQLite itself
(busy_timeout, default 30 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import sqlite3
import threading
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable, Literal, Sequence

import aiosqlite

from engine._internal.sync import run_sync
from engine.checkpoint.lifecycle import OpenClose, SaverContext
from engine.checkpoint.base import (BaseCheckpointSaver, CheckpointTuple, Commit, checkpoint_id_of,
                                    checkpoint_ns_of, make_config, thread_id_of)
from engine.checkpoint.serde import dumps
from engine.checkpoint.sqlite import connection
from engine.checkpoint.sqlite.api_records import SqliteApiRecords
from engine.checkpoint.sqlite.blobs import BlobCache
from engine.checkpoint.sqlite.checkpoints import CHECKPOINT_COLUMNS, CheckpointRows
from engine.checkpoint.sqlite.commit_probe import commit_probe
from engine.checkpoint.sqlite.compaction import compact_checkpoint
from engine.checkpoint.sqlite.events import EventLog
from engine.checkpoint.sqlite.ledger import SqliteLedger
from engine.checkpoint.sqlite.locks import CrossLoopLock
from engine.checkpoint.sqlite.ownership import Ownership
from engine.checkpoint.sqlite.packing import pack
from engine.checkpoint.sqlite.queries import Queries
from engine.checkpoint.sqlite.runner import SaverRunner
from engine.checkpoint.sqlite.schema import APPLICATION_ID, SCHEMA_VERSION, ensure_schema, prepare_file
from engine.checkpoint.sqlite.transactions import Transactions, Txn, icontains, is_lock_error
from engine.checkpoint.sqlite.wal import WalCheckpointer
from engine.checkpoint.sqlite.times import normalize_ts, utc_iso
from engine.checkpoint.store import InterruptNotFound, InterruptRecord, ThreadRecord
from engine.errors import StorageError
from engine.events import Event

_MEMORY = ":memory:"
_BUSY = object()  # _read_inline could not read without waiting

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


class SqliteSaver(OpenClose, BaseCheckpointSaver):
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
        self._state: Literal["new", "open", "closed"] = "new"
        self._open_lock = CrossLoopLock()
        self._cache = BlobCache()
        self._rows = CheckpointRows(self.path, self._cache)  # checkpoints, writes, blobs (checkpoints.py)
        # Running work on the connections, in transactions (transactions.py). Its entry points are
        # the saver's too, bound once here (no extra call per round trip).
        self._txns = Transactions(self.path, self.busy_timeout, self._cache, self._ensure_open,
                                  self._notify_subscribers)
        self._lock = self._txns.lock  # the write connection's lock
        self._write = self._txns.write
        self._read = self._txns.read
        self._query = self._txns.query
        self._current_txn = self._txns.current
        self._inline: sqlite3.Connection | None = None  # see _read_inline
        self._inline_lock = threading.Lock()
        self._file_ledger = SqliteLedger(self.path, self.busy_timeout, self.synchronous)
        # The store protocol's parts, as components over this saver's connections and transactions.
        runner = SaverRunner(self)
        self._events = EventLog(runner)
        self._queries = Queries(runner)
        self._ownership = Ownership(runner)
        self._api = SqliteApiRecords(runner, self._rows)  # `inbox serve`'s records (api_store.py)

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
    def from_conn_string(cls, path: str | os.PathLike, **options: Any) -> "SaverContext":
        """`async with SqliteSaver.from_conn_string(path) as saver:` or the same with `with`.
        Opens (creating the file with mode 0600 if needed) on entry, closes on exit.
        `path` may be ":memory:" (nothing is written to disk)."""
        return SaverContext(cls, path, options)

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
                txns = self._txns
                conn, reader, txns.conn, txns.reader = txns.conn, txns.reader, None, None
                inline, self._inline = self._inline, None
                writer, txns.inline = txns.inline, None
                wal, txns.wal = txns.wal, None
                self._file_ledger.close()
                if inline is not None:
                    with self._inline_lock:
                        inline.close()
                if writer is not None:
                    await txns.settle_inflight()  # background commits queued before it
                    writer.close()
                if wal is not None:
                    await asyncio.to_thread(wal.close)
                for each in (reader, conn):
                    if each is not None:
                        with contextlib.suppress(Exception):
                            await each.close()
            finally:
                self._lock.release()
        finally:
            self._open_lock.release()
        self._notify_subscribers()

    @property
    def is_memory(self) -> bool:
        return self.path == _MEMORY

    @property
    def _conn(self) -> aiosqlite.Connection | None:
        """The write connection (None until opened and after closing)."""
        return self._txns.conn

    @property
    def _reader(self) -> aiosqlite.Connection | None:
        """The read connection for reads outside transactions (None in memory)."""
        return self._txns.reader

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
            if not self.is_memory:  # the log is folded back on a thread of its own (wal.py)
                await conn.execute("PRAGMA wal_autocheckpoint = 0")
            reader = None if self.is_memory else await self._connect(readonly=True)
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        self._txns.conn, self._txns.reader = conn, reader
        if not self.is_memory:
            self._inline = self._connect_inline()
            self._txns.inline = self._connect_inline_writer()
            self._txns.wal = WalCheckpointer(self.path)

    def _connect_inline(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0.005)
        db.execute("PRAGMA query_only = ON")
        return db

    def _connect_inline_writer(self) -> sqlite3.Connection:
        """The connection transactions try first, on the caller's thread (transactions.py): set
        up as the write connection, but never waiting for a lock (busy_timeout 0)."""
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
        try:
            db.execute("PRAGMA busy_timeout = 0")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute(f"PRAGMA synchronous = {self.synchronous}")
            db.execute("PRAGMA wal_autocheckpoint = 0")  # see wal.py
            db.create_function("engine_icontains", 2, icontains, deterministic=True)
        except BaseException:
            db.close()
            raise
        return db

    async def _connect(self, readonly: bool = False) -> aiosqlite.Connection:
        conn = await connection.connect(self.path, self.busy_timeout)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.create_function("engine_icontains", 2, icontains, deterministic=True)
            if readonly:
                await conn.execute("PRAGMA query_only = ON")
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        return conn

    # --- transactions (transactions.py) -------------------------------------------------------------
    def transaction(self, *, wait: bool = True, after: Commit | None = None, carry: bool = False):
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
        return self._txns.transaction(wait=wait, after=after, carry=carry)

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

    def _write_probe(self) -> Callable[[], bool]:
        return super()._write_probe() if self.is_memory else commit_probe(self.path)

    # --- the inbox's queries and exactly-once decisions (queries.py) ---------------------------------
    alist_pending = _delegate("_queries", Queries.alist_pending)
    acount_by_status = _delegate("_queries", Queries.acount_by_status)
    aget_interrupt = _delegate("_queries", Queries.aget_interrupt)
    afind_interrupt_ids = _delegate("_queries", Queries.afind_interrupt_ids)
    aaudit_log = _delegate("_queries", Queries.aaudit_log)
    aput_rule = _delegate("_queries", Queries.aput_rule)
    alist_rules = _delegate("_queries", Queries.alist_rules)
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
    aclaim_token = _delegate("_ownership", Ownership.aclaim_token)
    amark_applied = _delegate("_ownership", Ownership.amark_applied)
    alist_recoverable = _delegate("_ownership", Ownership.alist_recoverable)

    # --- the Agent Server API's records (api_records.py) ----------------------------------------------
    acreate_api_thread = _delegate("_api", SqliteApiRecords.acreate_api_thread)
    amerge_api_thread_metadata = _delegate("_api", SqliteApiRecords.amerge_api_thread_metadata)
    aget_api_thread = _delegate("_api", SqliteApiRecords.aget_api_thread)
    asearch_api_threads = _delegate("_api", SqliteApiRecords.asearch_api_threads)
    alatest_checkpoints = _delegate("_api", SqliteApiRecords.alatest_checkpoints)
    aput_api_run = _delegate("_api", SqliteApiRecords.aput_api_run)
    aset_api_run_status = _delegate("_api", SqliteApiRecords.aset_api_run_status)
    aget_api_run = _delegate("_api", SqliteApiRecords.aget_api_run)
    alist_api_runs = _delegate("_api", SqliteApiRecords.alist_api_runs)
    alist_unfinished_api_runs = _delegate("_api", SqliteApiRecords.alist_unfinished_api_runs)
    aheartbeat_api_runs = _delegate("_api", SqliteApiRecords.aheartbeat_api_runs)
    aclaim_api_run = _delegate("_api", SqliteApiRecords.aclaim_api_run)

    def tool_call(self, key: str, action: str, **fields: Any):
        """Advance a reviewed tool call in the ledger, in this file (ledger.py)."""
        if self.is_memory:
            return super().tool_call(key, action, **fields)
        return self._file_ledger.apply(key, action, (fields["new"]["thread_id"], fields["owner"]), **fields)

    # --- the saver protocol -------------------------------------------------------------------------
    async def aget_tuple(self, config: dict) -> CheckpointTuple | None:
        thread_id, ns = thread_id_of(config), checkpoint_ns_of(config)
        args = (thread_id, ns, checkpoint_id_of(config))
        if self._current_txn() is None and not self._txns.inflight and self._state == "open":
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
            return self._txns.standalone(db, Txn(), False, fn, args)
        except sqlite3.OperationalError as exc:
            if is_lock_error(exc):
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


AsyncSqliteSaver = SqliteSaver  # LangGraph's async saver name: one class serves both here

__all__ = ["SqliteSaver", "AsyncSqliteSaver", "InterruptRecord", "ThreadRecord", "InterruptNotFound",
           "APPLICATION_ID", "SCHEMA_VERSION"]
