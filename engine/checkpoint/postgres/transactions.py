"""How PostgresSaver runs its statements: pooled connections (one pool per event loop, no
process-wide lock), the transaction a task is in, and work queued for a transaction's commit.

- **Outside a transaction** a call borrows a connection from the pool for its statements and
  gives it back. An idempotent read that fails with OperationalError (the server restarted,
  an idle connection was dropped by a proxy) is retried once on a fresh connection.
- **Inside `transaction()`** every call runs on the transaction's connection. Work that needs
  no answer before the commit (a step's checkpoint, writes, lease renewal, applied marks,
  events) is *queued* (`defer`) and sent as one message at the end (parameters bound
  client-side, simple query protocol): a superstep costs one round trip and one commit. The
  queued writes are engine_step operations (step.py), so that message is ONE statement,
  `SELECT engine_step(...)`, whose plans the server session keeps (no BEGIN or COMMIT either:
  one message is one implicit transaction). Work that needs an answer is *asked*: it goes at
  once, in ONE message with BEGIN and the work queued so far (`ask`), in the same
  transaction. A run's lease and a resume's claim are queued operations that raise when they
  fail (ownership.py), so a run or a resume costs one round trip to load its thread and one
  per superstep.
  Nested blocks are savepoints.
  A failed commit surfaces as the error that failed it; nothing of the block is kept.
- **Prepared statements** are off by default (`prepare_threshold=None`), so the saver works
  behind PgBouncer in transaction mode; pass `prepare_threshold=5` for a direct connection.

A pool belongs to the event loop it was opened on (psycopg's async objects do), so the saver
keeps one per loop it is used from: the caller's loop, and the engine loop its sync twins
run on.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable

import psycopg
from psycopg_pool import AsyncConnectionPool

from engine.checkpoint.base import Commit
from engine.checkpoint.postgres.bulk import BulkReads
from engine.checkpoint.postgres.dsn import redact_text
from engine.checkpoint.postgres.step import Op, step_text
from engine.errors import StorageError

Work = Callable[[psycopg.AsyncConnection], Awaitable[Any]]


@dataclass
class Txn:
    """One open transaction: its connection, the work queued for its commit, and the event rows
    it writes (appended last, under the events lock: events.py). `begun`: BEGIN was sent."""

    conn: psycopg.AsyncConnection
    loop: asyncio.AbstractEventLoop | None = None
    queued: list[Work] = field(default_factory=list)
    event_rows: list[tuple] = field(default_factory=list)
    # Operations for the end of the commit, before the event rows, each (by its key) sent once:
    # a checkpoint's "the thread exists" insert comes after the events' upserts of the same
    # row, so it is a no-op instead of a row version the upsert then replaces.
    at_commit: list[tuple[Any, Op]] = field(default_factory=list)
    # Keys of at_commit statements the queued work makes needless (a run event's upsert of the
    # thread row): those are not sent at all.
    covered: list[Any] = field(default_factory=list)
    begun: bool = False
    savepoints: int = 0


class _CurrentTxn:
    """The transaction the running task is in: a context variable that only answers on the
    event loop the transaction's connection belongs to. A context copied to another loop's
    thread (a heartbeat, a sync twin on the engine loop) is outside the transaction there:
    psycopg's async connections must never be used from two loops."""

    def __init__(self, name: str) -> None:
        self._var: contextvars.ContextVar[Txn | None] = contextvars.ContextVar(name, default=None)

    def get(self) -> Txn | None:
        txn = self._var.get()
        if txn is None:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        return txn if txn.loop is loop else None

    def set(self, txn: Txn | None) -> contextvars.Token:
        return self._var.set(txn)

    def reset(self, token: contextvars.Token) -> None:
        self._var.reset(token)


async def _standard_session(conn: psycopg.AsyncConnection) -> None:
    """Give a session standard_conforming_strings and UTF-8 whatever the server's (or the URL's)
    defaults: statements are bound client-side (mogrify), and psycopg writes a bytea array wrong
    without standard strings (its bytes read back as the text of their hex escape: every event
    row unreadable) and a text array holding 表 or ソ malformed in SJIS or BIG5. PgBouncer
    keeps both settings per client."""
    settings = []
    if conn.pgconn.parameter_status(b"standard_conforming_strings") != b"on":
        settings.append("SET standard_conforming_strings = on")
    if conn.pgconn.parameter_status(b"client_encoding") != b"UTF8":
        settings.append("SET client_encoding = 'UTF8'")
    if settings:
        await conn.execute("; ".join(settings))


_OPS = object()  # a recorded statement that is a list of engine_step operations (step.py)


class _Recorder:
    """What queued work runs against: it records the statements (and engine_step operations)
    instead of sending them."""

    def __init__(self) -> None:
        self.statements: list[tuple[Any, Any]] = []

    def record_ops(self, ops) -> None:
        self.statements.append((_OPS, list(ops)))

    def texts(self, cursor: psycopg.AsyncClientCursor) -> list[str]:
        """The statements as SQL texts, parameters bound; each run of operations recorded one
        after another becomes ONE engine_step call."""
        texts, ops = [], []
        for sql, params in self.statements + [(None, None)]:
            if sql is _OPS:
                ops.extend(params)
                continue
            if ops:
                texts.append(step_text(ops, cursor))
                ops = []
            if sql is not None:
                texts.append(sql if params is None else cursor.mogrify(sql, params))
        return texts

    async def execute(self, sql: str, params: Any = None) -> None:
        self.statements.append((sql, params))


class _Rows:
    """What `_Asking.execute` returns: one statement's rows and rowcount, read like a cursor's."""

    def __init__(self, rows: list, rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    async def fetchone(self):
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list:
        return self._rows


class _Asking:
    """The connection a transaction's immediate work (work whose answer is needed before the
    commit) runs on. Its first statement goes in one message with BEGIN and the queued work
    (Connections.ask), so asking costs one round trip, not one for BEGIN and one for the
    statement."""

    def __init__(self, connections: "Connections", txn: Txn) -> None:
        self._db, self._txn = connections, txn

    async def execute(self, sql: str, params: Any = None) -> _Rows:
        return (await self._db.ask(self._txn, [(sql, params)]))[0]

    @contextlib.asynccontextmanager
    async def cursor(self) -> AsyncIterator[psycopg.AsyncCursor]:
        await self._db.begin(self._txn)
        async with self._txn.conn.cursor() as cur:
            yield cur


class Connections:
    """The saver's pools (one per event loop) and transactions."""

    def __init__(self, dsn: str, *, min_size: int, max_size: int, prepare_threshold: int | None,
                 timeout: float, write_events: Callable[[Txn, Any], Awaitable[None]]) -> None:
        self.dsn = dsn
        self.min_size, self.max_size = min_size, max_size
        self.prepare_threshold = prepare_threshold
        self.timeout = timeout
        self._write_events = write_events
        self._pools: dict[asyncio.AbstractEventLoop, AsyncConnectionPool] = {}
        self._pools_lock = threading.Lock()
        self._opening: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._guards: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}
        self.current = _CurrentTxn(f"postgres_txn_{id(self)}")
        self.closed = False
        # large reads (bulk.py), at most max_size at once beside the pool's
        self.bulk = BulkReads(dsn, prepare_threshold, self.error, connect_timeout=timeout, limit=max_size)

    def error(self, exc: BaseException, doing: str) -> StorageError:
        """A driver error as a StorageError whose text never holds the password."""
        detail = " ".join(str(exc).split())  # libpq's messages run over several lines
        return StorageError(redact_text(f"PostgreSQL {self.dsn}: {doing} failed: {detail}", self.dsn))

    def connect_kwargs(self) -> dict:
        return {"autocommit": True, "prepare_threshold": self.prepare_threshold}

    async def pool(self) -> AsyncConnectionPool:
        if self.closed:
            raise StorageError("this PostgresSaver is closed; open a new one with PostgresSaver.from_conn_string(url).")
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is not None:
            return pool
        lock = self._opening.setdefault(loop, asyncio.Lock())
        async with lock:
            pool = self._pools.get(loop)
            if pool is None:
                pool = AsyncConnectionPool(self.dsn, min_size=self.min_size, max_size=self.max_size,
                                           kwargs=self.connect_kwargs(), open=False, timeout=self.timeout,
                                           configure=_standard_session, name="engine-postgres")
                try:
                    await pool.open(wait=True, timeout=self.timeout)
                except Exception as exc:
                    with contextlib.suppress(Exception):
                        await pool.close()
                    raise self.error(exc, "connecting") from None
                with self._pools_lock:
                    self._pools[loop] = pool
                self._guards[loop] = loop.create_task(self._close_at_loop_end(loop, pool),
                                                      name="engine-postgres-pool-guard")
            return pool

    async def _close_at_loop_end(self, loop: asyncio.AbstractEventLoop, pool: AsyncConnectionPool) -> None:
        """Close `pool` when its loop ends (asyncio.run cancels every task left) or the saver
        closes. Why: psycopg_pool's workers swallow a cancellation that lands while they run a
        task (growing the pool, reconnecting), so a loop ending with its pool open could wait
        for them forever; closing the pool stops them."""
        try:
            await asyncio.get_running_loop().create_future()  # never set: only cancelled
        except asyncio.CancelledError:
            with self._pools_lock:
                if self._pools.get(loop) is pool:
                    del self._pools[loop]
            with contextlib.suppress(Exception):
                await pool.close(timeout=5)
            raise

    # --- outside transactions -------------------------------------------------------------------
    async def read(self, work: Work) -> Any:
        """Run an idempotent read: in the current transaction, or on a pooled connection
        (retried once on a fresh one if the connection turned out dead)."""
        txn = self.current.get()
        if txn is not None:
            await self.flush(txn)
            return await work(txn.conn)
        for attempt in (1, 2):
            pool = await self.pool()
            try:
                async with pool.connection() as conn:
                    return await work(conn)
            except psycopg.OperationalError as exc:
                if attempt == 2:
                    raise self.error(exc, "a read") from None
                await pool.check()  # drop the pool's other dead connections too
        raise AssertionError("unreachable")

    async def write(self, work: Work, *, defer: bool = False) -> Any:
        """Run `work` in the current transaction (queued for its commit with `defer`), or in a
        transaction of its own."""
        txn = self.current.get()
        if txn is not None:
            if defer:
                txn.queued.append(work)
                return None
            return await work(_Asking(self, txn))
        async with self.transaction():
            return await work(_Asking(self, self.current.get()))

    async def separately(self, work: Work) -> Any:
        """Run `work` in a transaction of its own on another pooled connection, whatever
        transaction the task is in (e.g. after that one failed)."""
        token = self.current.set(None)
        try:
            return await self.write(work)
        finally:
            self.current.reset(token)

    # --- transactions ------------------------------------------------------------------------------
    # Queued work is recorded, not executed: at the commit (or before a statement that must see
    # it) it goes to the server as ONE simple-protocol message, parameters bound client-side
    # ("BEGIN; ...; COMMIT"), so a superstep costs one round trip. Measured here, per-statement
    # pipelining cost an event-loop turn per statement, twice the time of one message.
    async def begin(self, txn: Txn) -> None:
        """Open the transaction on the server now (before a statement whose answer is needed)."""
        await self.flush(txn)  # queued work first: it was asked for before this statement
        if not txn.begun:
            await txn.conn.execute("BEGIN")
            txn.begun = True

    async def ask(self, txn: Txn, statements: list[tuple[str, Any]]) -> list[_Rows]:
        """Send BEGIN (if not sent yet), the queued work and `statements` as ONE message, and
        return each statement's rows (empty for one that returns none) and rowcount."""
        recorder = _Recorder()
        while txn.queued:
            await txn.queued.pop(0)(recorder)
        cursor = psycopg.AsyncClientCursor(txn.conn)
        parts = [] if txn.begun else ["BEGIN"]
        parts += recorder.texts(cursor)
        skip = len(parts)
        parts += [sql if params is None else cursor.mogrify(sql, params) for sql, params in statements]
        txn.begun = True  # if the message fails, the transaction is rolled back as a whole
        await cursor.execute(";\n".join(parts))
        for _ in range(skip):  # one result per statement sent: the queued ones' are not wanted
            cursor.nextset()
        results = []
        for _ in statements:
            results.append(_Rows(await cursor.fetchall() if cursor.description is not None else [],
                                 cursor.rowcount))
            cursor.nextset()
        return results

    async def flush(self, txn: Txn, *, commit: bool = False) -> None:
        """Send the queued work (and, with `commit`, the event rows and COMMIT) in one message."""
        recorder = _Recorder()
        while txn.queued:
            await txn.queued.pop(0)(recorder)
        if commit and txn.at_commit:
            sent = set(txn.covered)
            for key, operation in txn.at_commit:
                if key not in sent:
                    sent.add(key)
                    recorder.record_ops([operation])
            txn.at_commit = []
        if commit and txn.event_rows:
            await self._write_events(txn, recorder)
        if not recorder.statements and not (commit and txn.begun):
            return
        cursor = psycopg.AsyncClientCursor(txn.conn)
        parts = recorder.texts(cursor)
        if txn.begun or not commit:
            parts = ([] if txn.begun else ["BEGIN"]) + parts + (["COMMIT"] if commit else [])
        # else: the whole transaction in one message, without BEGIN and COMMIT: the statements
        # of one simple-protocol message are one (implicit) transaction, two statements fewer
        await cursor.execute(";\n".join(parts))
        txn.begun = not commit

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Commit]:
        outer = self.current.get()
        if outer is not None:
            async with self._savepoint(outer):
                yield Commit()
            return
        pool = await self.pool()
        try:
            async with pool.connection() as conn:
                txn = Txn(conn, asyncio.get_running_loop())
                token = self.current.set(txn)
                committed = False
                try:
                    yield Commit()
                    await self.flush(txn, commit=True)
                    committed = True
                finally:
                    self.current.reset(token)
                    if not committed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        with contextlib.suppress(Exception):  # a broken connection: the pool drops it
                            await conn.execute("ROLLBACK")
        except psycopg.OperationalError as exc:
            raise self.error(exc, "a transaction (it was rolled back)") from None

    @contextlib.asynccontextmanager
    async def _savepoint(self, txn: Txn) -> AsyncIterator[None]:
        await self.begin(txn)
        txn.savepoints += 1
        name = f"engine_sp{txn.savepoints}"
        await txn.conn.execute(f"SAVEPOINT {name}")
        queued, rows, tail, covered = len(txn.queued), len(txn.event_rows), len(txn.at_commit), len(txn.covered)
        try:
            yield
            await self.flush(txn)
        except BaseException:
            del txn.queued[queued:]
            del txn.event_rows[rows:]
            del txn.at_commit[tail:]
            del txn.covered[covered:]
            with contextlib.suppress(psycopg.Error):
                await txn.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            raise
        await txn.conn.execute(f"RELEASE SAVEPOINT {name}")

    async def close(self) -> None:
        self.closed = True
        self.bulk.close()
        with self._pools_lock:
            pools, self._pools = dict(self._pools), {}
        here = asyncio.get_running_loop()
        for loop, pool in pools.items():
            if loop is here:
                with contextlib.suppress(Exception):
                    await pool.close(timeout=5)
            elif not loop.is_closed() and loop.is_running():
                future = asyncio.run_coroutine_threadsafe(pool.close(timeout=5), loop)
                with contextlib.suppress(Exception):
                    await asyncio.wrap_future(future)
            elif not loop.is_closed():
                # An idle loop: a thread's private loop (engine/_internal/sync.py) between two
                # sync calls, its thread now waiting for this close. Its pool's workers only run
                # while it runs: run it (on a helper thread) until they have stopped, or they
                # would be destroyed pending when it is garbage-collected ("Event loop is closed").
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(loop.run_until_complete, pool.close(timeout=5))
        guards, self._guards = dict(self._guards), {}
        for loop, guard in guards.items():  # their pools are closed: let them end
            if loop is here:
                guard.cancel()
            elif not loop.is_closed() and loop.is_running():
                loop.call_soon_threadsafe(guard.cancel)
            elif not loop.is_closed():
                guard.cancel()  # not running: safe to touch from here, and it ends when the loop runs
                with contextlib.suppress(BaseException):
                    await asyncio.to_thread(loop.run_until_complete, asyncio.wait([guard], timeout=5))


__all__ = ["Connections", "Txn"]
