"""Transactions on the saver's connections: running each call's work on the connection thread.

Every saver call is a plain function `fn(db, txn, *args)` on the sqlite3 connection, run on
aiosqlite's connection thread in one round trip (through connection.py). `Transactions` chooses
the connection and the transaction it runs in; the saver (saver.py) opens and closes the
connections and hands them to it, and the components (runner.py) reach it through the saver.

One connection for writes (and for reads inside a transaction), guarded by a lock that works
across event loops (the engine's background loop and the caller's); each saver call is one
round trip, where its statements run back to back. Everything awaited inside
`async with saver.transaction():` commits in one `BEGIN IMMEDIATE ... COMMIT` (rolled back if
the block raises; nested blocks become savepoints); calls outside a transaction commit on their
own. Inside a transaction, writes whose results do not come from the database (`aput`,
`aput_writes`, queued events) wait in `Txn.pending` and run with the transaction's next round
trip, so a superstep costs two round trips; if one of them fails then, that call raises the
error and the transaction refuses to commit. A second connection serves reads outside
transactions, so they never wait behind a writer. `transaction(wait=False)` hands the COMMIT to
the connection thread without waiting (`_Commit`); reads from this process wait for such
commits (`inflight`), so nothing observes writes out of order.

Inline first: a thread hand-off costs ~0.25 ms on these machines, more than a superstep's SQL.
So a transaction (or a lone write) first tries `BEGIN IMMEDIATE` on a third connection right
here on the caller's thread (`inline`, which never waits: busy_timeout 0), and if it gets the
write lock, runs all of its statements and its COMMIT there, synchronously. Only when SQLite
says the file is busy (another process writes), or a background commit of this process is
still queued on the connection thread (order must hold), does the transaction go to
aiosqlite's thread, whose busy_timeout waits without blocking the event loop. A transaction
never moves once begun: `Txn.inline` says where it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence

from engine.checkpoint.base import Commit
from engine.checkpoint.sqlite import connection
from engine.checkpoint.sqlite.locks import CrossLoopLock
from engine.errors import StorageError

if TYPE_CHECKING:
    import aiosqlite

    from engine.checkpoint.sqlite.blobs import BlobCache
    from engine.checkpoint.sqlite.wal import WalCheckpointer


class Txn:
    """A transaction: shared by the calls a task awaits inside `saver.transaction()`, or private
    to one call. Mutated only in the connection thread or by its owning task between calls."""

    __slots__ = ("active", "begun", "inline", "failed", "savepoints", "pending", "new_blob_ids",
                 "events_written", "after", "error", "refs", "thread_rows", "at_commit", "interrupt_writes")

    def __init__(self) -> None:
        self.active = True
        self.begun = False
        self.inline = False  # begun on the inline connection (see the module docstring)
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
        self.after: Txn | None = None
        self.error: BaseException | None = None
        # What this transaction wrote and later statements of it need not read back: the
        # value refs of its checkpoints ((thread, ns, id) -> {channel: (version, blob id)}),
        # and the threads whose row it made sure of. Forgotten if a savepoint rolls back.
        self.refs: dict[tuple[str, str, str], dict] = {}
        self.thread_rows: set[str] = set()
        # Work left for just before the COMMIT, once per key: (fn, args), run as fn(db, txn, *args)
        # (a checkpoint's threads row, which a run event of the same transaction may write anyway).
        self.at_commit: dict[Any, tuple[Callable, tuple]] = {}
        # Interrupt writes this transaction inserted, by (thread_id, checkpoint_id): [(rowid,
        # stored value)], for the events writer to shorten without reading them back.
        self.interrupt_writes: dict[tuple[str, str], list[tuple[int, Any]]] = {}


class _Commit(Commit):
    """A transaction handed to the connection thread without waiting (see `transaction`)."""

    def __init__(self, txns: "Transactions", txn: Txn) -> None:
        self.txns = txns
        self.txn = txn
        self.future: asyncio.Future | None = None
        self.carried = False  # its writes wait in memory for the next transaction or wait()
        self.merged_into: _Commit | None = None  # a carried commit whose writes another took over
        self.before: Commit | None = None  # an empty commit stands for the one it came after
        self.error: BaseException | None = None  # its block failed after taking over carried writes
        self.failed: BaseException | None = None  # committed inline and failed: raised by wait()

    async def wait(self) -> None:
        if self.failed is not None:
            raise self.failed
        if self.merged_into is not None:
            return await self.merged_into.wait()
        if self.error is not None:
            raise StorageError(
                f"writes carried over from earlier steps were not saved to {self.txns.path}: the "
                f"transaction that took them over failed ({self.error}).") from self.error
        if self.carried:
            txns = self.txns
            await txns.lock.acquire()  # if cancelled here, the writes stay carried for a retry
            try:
                if self.carried:
                    self.carried = False
                    if self.txn.pending:
                        self.future = txns.submit(txns.conn, txns.finish, self.txn, True)
            finally:
                txns.lock.release()
        if self.future is not None:
            try:
                await asyncio.shield(self.future)  # a cancelled waiter leaves the commit running
            except (sqlite3.OperationalError, ValueError) as exc:
                translated = self.txns.translated(exc)
                if translated is exc:
                    raise
                raise translated from exc
        elif self.before is not None:
            await self.before.wait()


def icontains(haystack, needle) -> int:
    """SQL `engine_icontains(haystack, needle)`: case-insensitive containment (the saver
    registers it on each connection; queries.py uses it)."""
    if haystack is None or needle is None:
        return 0
    return int(str(needle).casefold() in str(haystack).casefold())


def is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _rollback_quietly(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")


class Transactions:
    """Runs work on one saver's connections: owns the write lock, the current transaction (a
    context variable) and the background commits in flight. The saver sets `conn` and `reader`
    when it opens and clears them when it closes (holding `lock`); `ensure_open` opens it on
    first use, `notify` wakes event subscribers after events are committed."""

    def __init__(self, path: str, busy_timeout: float, cache: "BlobCache",
                 ensure_open: Callable[[], Awaitable[None]], notify: Callable[[], None]) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.conn: aiosqlite.Connection | None = None  # writes, and reads inside a transaction
        self.reader: aiosqlite.Connection | None = None  # reads outside transactions (None in memory)
        self.inline: sqlite3.Connection | None = None  # writes on the caller's thread (None in memory)
        self.wal: WalCheckpointer | None = None  # counts commits (None in memory; see wal.py)
        self.lock = CrossLoopLock()
        self.inflight: set[asyncio.Future] = set()  # background commits not finished yet
        self._cache = cache
        self._ensure_open = ensure_open
        self._notify = notify
        self._txn_var: contextvars.ContextVar[Txn | None] = contextvars.ContextVar(
            f"SqliteSaver_txn_{id(self)}", default=None)

    def current(self) -> Txn | None:
        """The caller's active transaction, if it runs inside one."""
        txn = self._txn_var.get()
        return txn if txn is not None and txn.active else None

    def locked_error(self, exc: BaseException) -> StorageError:
        return StorageError(
            f"{self.path} stayed locked by another process for more than {self.busy_timeout:g} s "
            f"({exc}). Retry, raise busy_timeout, or stop the process that holds the lock.")

    def closed_error(self) -> StorageError:
        return StorageError(f"the SqliteSaver for {self.path} is closed; open a new one with "
                            "SqliteSaver.from_conn_string(path).")

    def translated(self, exc: BaseException) -> BaseException:
        """The error a caller should see for `exc` raised by the connection."""
        if isinstance(exc, sqlite3.OperationalError) and is_lock_error(exc):
            return self.locked_error(exc)
        if isinstance(exc, ValueError) and ("closed" in str(exc) or "no active connection" in str(exc)):
            return self.closed_error()
        return exc

    async def on(self, conn: aiosqlite.Connection | None, fn: Callable, *args: Any) -> Any:
        if conn is None:
            raise self.closed_error()
        try:
            return await connection.run(conn, fn, *args)
        except (sqlite3.OperationalError, ValueError) as exc:
            translated = self.translated(exc)
            if translated is exc:
                raise
            raise translated from exc

    def submit(self, conn: aiosqlite.Connection | None, fn: Callable, *args: Any) -> asyncio.Future:
        """Queue `fn` on the connection thread now and return its future without waiting: what
        aiosqlite's `_execute` does before it awaits. Calls queued later run after it."""
        if conn is None or not connection.is_open(conn):
            raise self.closed_error()
        future = connection.queue(conn, fn, *args)
        self.inflight.add(future)
        txn = args[0] if args and isinstance(args[0], Txn) else None

        def finished(done: asyncio.Future) -> None:
            self.inflight.discard(done)
            if not done.cancelled() and done.exception() is None and txn is not None and txn.events_written:
                self._notify()

        future.add_done_callback(finished)
        return future

    async def settle_inflight(self) -> None:
        """Wait for this loop's background commits, so a read sees what this process wrote."""
        loop = asyncio.get_running_loop()
        pending = [f for f in self.inflight.copy() if f.get_loop() is loop]  # other loops add to it
        if pending:
            await asyncio.wait(pending)

    def begin_inline(self, txn: Txn) -> bool:
        """Begin `txn` on the inline connection if the write lock is free right now and no
        background commit of this process is still queued before it; False otherwise."""
        db = self.inline
        if db is None or self.inflight:
            return False
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if is_lock_error(exc):
                return False  # another process writes: wait for it on the connection thread
            raise
        txn.begun = txn.inline = True
        return True

    async def in_txn(self, txn: Txn, fn: Callable, *args: Any) -> Any:
        """Run `fn(db, txn, *args)` on the connection `txn` runs on (choosing it if it has not
        begun yet): inline, right here, or on the connection thread."""
        if not txn.begun:
            self.begin_inline(txn)
        if txn.inline:
            try:
                return fn(self.inline, txn, *args)
            except (sqlite3.OperationalError, ValueError) as exc:
                translated = self.translated(exc)
                if translated is exc:
                    raise
                raise translated from exc
        return await self.on(self.conn, fn, txn, *args)

    def joined(self, db: sqlite3.Connection, txn: Txn, fn: Callable, args: tuple) -> Any:
        if not txn.begun:  # the transaction starts with its first statement
            db.execute("BEGIN IMMEDIATE")
            txn.begun = True
        self.flush(db, txn)
        return fn(db, txn, *args)

    @staticmethod
    def flush(db: sqlite3.Connection, txn: Txn) -> None:
        while txn.pending:
            fn, args = txn.pending.pop(0)
            try:
                fn(db, txn, *args)
            except BaseException:
                txn.failed = True  # a later COMMIT must not keep the rest without this write
                txn.pending.clear()
                raise

    def commit(self, db: sqlite3.Connection, txn: Txn) -> None:
        while txn.at_commit:
            fn, args = txn.at_commit.pop(next(iter(txn.at_commit)))
            fn(db, txn, *args)
        db.execute("COMMIT")
        if self.wal is not None:
            self.wal.committed()

    def standalone(self, db: sqlite3.Connection, txn: Txn, write: bool, fn: Callable, args: tuple) -> Any:
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = fn(db, txn, *args)
            if write:
                self.commit(db, txn)
            else:
                db.execute("COMMIT")
        except BaseException:
            self._cache.discard(txn.new_blob_ids)
            _rollback_quietly(db)
            raise
        return result

    def committed(self, db: sqlite3.Connection, txn: Txn, fn: Callable, args: tuple) -> Any:
        """`fn` in the already begun `txn`, then COMMIT (ROLLBACK if it raises)."""
        try:
            result = fn(db, txn, *args)
            self.commit(db, txn)
        except BaseException:
            self._cache.discard(txn.new_blob_ids)
            _rollback_quietly(db)
            raise
        return result

    def finish(self, db: sqlite3.Connection, txn: Txn, commit: bool) -> None:
        if commit:
            try:
                if txn.after is not None and txn.after.error is not None:
                    raise StorageError(
                        f"not saved to {self.path}: an earlier write of the same run failed "
                        f"({txn.after.error}), and this one builds on it.")
                if not txn.begun:
                    db.execute("BEGIN IMMEDIATE")
                    txn.begun = True
                self.flush(db, txn)
                if txn.failed:
                    raise StorageError(
                        f"a write to {self.path} failed earlier in this transaction, so none of it "
                        "was saved (the error was raised by the call that failed).")
                self.commit(db, txn)
                return
            except BaseException as exc:
                txn.error = exc
                self._cache.discard(txn.new_blob_ids)
                _rollback_quietly(db)
                raise
        txn.pending.clear()
        self._cache.discard(txn.new_blob_ids)
        _rollback_quietly(db)

    async def write(self, fn: Callable, *args: Any, defer: bool = False) -> Any:
        """Run `fn` in the caller's transaction, or in its own committed one. With `defer`,
        inside a transaction, `fn` runs with the transaction's next round trip instead."""
        await self._ensure_open()
        current = self.current()
        if current is not None:
            if defer:
                current.pending.append((fn, args))
                return None
            return await self.in_txn(current, self.joined, fn, args)
        await self.lock.acquire()
        txn = Txn()
        try:
            if self.begin_inline(txn):
                result = await self.in_txn(txn, self.committed, fn, args)
            else:
                # If the caller is cancelled meanwhile, the call still completes (or rolls back)
                # as one unit in the connection thread before anything queued after it.
                result = await self.on(self.conn, self.standalone, txn, True, fn, args)
        finally:
            txn.active = False
            self.lock.release()
        if txn.events_written:
            self._notify()
        return result

    async def read(self, fn: Callable, *args: Any) -> Any:
        """Run the read `fn` in one consistent snapshot: on the read connection (never waits
        for the writer) unless the caller's transaction must see its own writes."""
        await self._ensure_open()
        current = self.current()
        if current is not None:
            return await self.in_txn(current, self.joined, fn, args)
        if self.inflight:
            await self.settle_inflight()
        if self.reader is not None:
            return await self.on(self.reader, self.standalone, Txn(), False, fn, args)
        await self.lock.acquire()
        try:
            return await self.on(self.conn, self.standalone, Txn(), False, fn, args)
        finally:
            self.lock.release()

    async def query(self, sql: str, params: Sequence | dict = ()) -> list:
        return await self.read(lambda db, _txn: db.execute(sql, params).fetchall())

    @contextlib.asynccontextmanager
    async def transaction(self, *, wait: bool = True, after: Commit | None = None, carry: bool = False):
        """See `SqliteSaver.transaction`."""
        await self._ensure_open()
        current = self.current()
        if current is not None:
            async with self.savepoint(current):
                yield Commit()  # committed with the enclosing transaction
            return
        await self.lock.acquire()
        txn = Txn()
        commit = _Commit(self, txn)
        adopted: _Commit | None = None
        if isinstance(after, _Commit) and after.txns is self:
            if after.carried:  # take over its writes: they commit first, with ours
                adopted = after
                txn.pending, after.txn.pending = after.txn.pending, []
                txn.after, after.carried, after.merged_into = after.txn.after, False, commit
            else:
                txn.after = after.txn
        adopted_count = len(txn.pending)
        committed = False
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
                        await self.in_txn(txn, self.finish, False)
                raise
            if not (txn.begun or txn.pending):
                commit.before = after  # an empty commit stands for the one before it...
                if isinstance(after, _Commit) and after.txns is self:
                    commit.txn = after.txn  # ...also for the next one's `after` check
                return
            if not txn.begun:
                if carry and not wait:
                    commit.carried = True
                    return
                self.begin_inline(txn)
            if wait:
                await self.in_txn(txn, self.finish, True)
                committed = True
            elif txn.inline:
                # Committing now costs less than handing the COMMIT over. As a background
                # commit's would, its error waits for `commit.wait()`.
                try:
                    await self.in_txn(txn, self.finish, True)
                    committed = True
                except Exception as exc:
                    commit.failed = exc
            else:
                commit.future = self.submit(self.conn, self.finish, txn, True)
        finally:
            txn.active = False
            self._txn_var.reset(token)
            self.lock.release()
        if committed and txn.events_written:
            self._notify()

    @contextlib.asynccontextmanager
    async def savepoint(self, txn: Txn):
        name = f"engine_sp{txn.savepoints}"
        txn.savepoints += 1
        mark = len(txn.new_blob_ids)
        before: list[tuple] = []  # what the transaction knew when the savepoint began

        def begin(db, txn):
            db.execute(f"SAVEPOINT {name}")  # (after the writes queued before it: `joined`)
            before.append((dict(txn.refs), set(txn.thread_rows), dict(txn.at_commit),
                           {place: rows if rows is None else list(rows)
                            for place, rows in txn.interrupt_writes.items()}))

        def rollback_to(db, txn):
            txn.pending.clear()  # queued inside the savepoint: never run them
            if before:
                txn.refs, txn.thread_rows, txn.at_commit, txn.interrupt_writes = before[0]
            self._cache.discard(txn.new_blob_ids[mark:])
            del txn.new_blob_ids[mark:]
            db.execute(f"ROLLBACK TO {name}")
            db.execute(f"RELEASE {name}")

        try:
            await self.in_txn(txn, self.joined, begin, ())
            try:
                yield
            except BaseException:
                with contextlib.suppress(Exception):
                    await self.in_txn(txn, self.rollback_to, rollback_to)
                raise
            await self.in_txn(txn, self.joined, lambda db, _t: db.execute(f"RELEASE {name}"), ())
        finally:
            txn.savepoints -= 1

    @staticmethod
    def rollback_to(db: sqlite3.Connection, txn: Txn, fn: Callable) -> None:
        fn(db, txn)  # not joined: the writes queued inside the savepoint must not be flushed


__all__ = ["Txn", "Transactions", "icontains", "is_lock_error"]
