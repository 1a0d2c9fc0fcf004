"""Large reads on plain (sync) psycopg connections, on a worker thread.

Why not the pool's async connections: psycopg's async connection receives a large result an
event-loop turn per 16-20 KB, and listing 10,000 pending interrupts (about 4.5 MB) cost the
client 30-60 ms of CPU that way; a sync connection receives it inside libpq, in C, in about
20 ms. The rows also arrive in chunks (libpq's chunked rows mode, libpq 17 and later), so the
caller decodes one chunk while the server is still sending the next: on two cores the server's
work (~35 ms for those 10,000 rows) overlaps the client's instead of preceding it
(bench/postgres.py, bench/README.md "Issue 15, fourth pass").

A read is one call on one connection, outside any transaction (autocommit), so a dropped
connection (a server restart, a proxy that closed an idle one) is replaced and the read tried
once more. Idle connections are kept for the next read (at most `keep`); the first read opens
one, so a saver that never lists everything never holds one. The reads run on threads of their
own, at most `limit` at once (the saver's pool_size): more wait their turn, as the pool's users
wait for a connection, instead of opening a connection each (a role's or server's connection
limit, a PgBouncer pool). A process forked from one that read keeps its parent's connections
and threads in name only: its first read (or close) sets them aside and starts afresh.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from typing import Callable, Iterator, TypeVar

import psycopg

from engine.errors import StorageError

T = TypeVar("T")

#: rows per chunk: large enough that a chunk's per-call costs vanish, small enough that the first
#: chunk is decoded while the server still produces the rest
CHUNK_ROWS = 1000

def chunks(conn: psycopg.Connection, sql: str, params=None) -> Iterator[list[tuple]]:
    """The rows of `sql` in lists of at most CHUNK_ROWS, each as soon as it has arrived."""
    cursor = conn.cursor()
    if not psycopg.capabilities.has_stream_chunked():  # libpq before 17: the whole result at once
        rows = cursor.execute(sql, params).fetchall()
        for start in range(0, len(rows), CHUNK_ROWS):
            yield rows[start:start + CHUNK_ROWS]
        return
    chunk: list[tuple] = []
    for row in cursor.stream(sql, params, size=CHUNK_ROWS):
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class BulkReads:
    """Sync connections for large reads, run on a worker thread (`await bulk.read(work)`)."""

    def __init__(self, dsn: str, prepare_threshold: int | None,
                 error: Callable[[BaseException, str], StorageError], *, connect_timeout: float, limit: int,
                 keep: int = 2) -> None:
        self._dsn = dsn
        self._prepare_threshold = prepare_threshold
        # the saver's connect_timeout, as whole seconds (libpq's unit), unless the URL sets its own
        try:
            given = "connect_timeout" in psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.Error:  # a malformed URL: connecting reports it (without the password)
            given = False
        self._connect = {} if given else {"connect_timeout": max(1, round(connect_timeout))}
        self._error = error  # a driver error as a StorageError without the password (Connections.error)
        self._keep = min(keep, limit)
        self._limit = limit
        self._closed = False
        self._start()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._threads = concurrent.futures.ThreadPoolExecutor(self._limit, thread_name_prefix="engine-postgres-bulk")

    def _forked(self) -> None:
        """In a forked child: let go of the parent's idle connections and use new threads (a
        fork keeps only the thread that forked). Each connection's socket is first pointed at
        /dev/null in this process: closing it (here, or when it is collected) sends the server
        a Terminate, which on the parent's socket would end the parent's session."""
        if self._pid == os.getpid():
            return
        null = os.open(os.devnull, os.O_RDWR)
        try:
            for conn in self._idle:
                try:
                    os.dup2(null, conn.pgconn.socket)
                except (psycopg.Error, OSError):
                    continue  # already closed
                conn.close()
        finally:
            os.close(null)
        self._start()

    async def read(self, work: Callable[[psycopg.Connection], T]) -> T:
        """`work(conn)` on a worker thread with a sync connection of its own."""
        self._refuse_closed()
        self._forked()
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._read, work)

    def _refuse_closed(self) -> None:
        if self._closed:
            raise StorageError("this PostgresSaver is closed; open a new one with PostgresSaver.from_conn_string(url).")

    def _read(self, work: Callable[[psycopg.Connection], T]) -> T:
        self._refuse_closed()  # closed while this read waited for a thread
        for attempt in (1, 2):
            conn = self._take()
            try:
                result = work(conn)
            except psycopg.OperationalError as exc:
                conn.close()  # dead, or in an unknown state: never reused
                if attempt == 2:
                    raise self._error(exc, "a read") from None
                self._drop_idle()  # the server restarted: the idle ones are dead too
                continue
            except BaseException:
                self._give(conn)
                raise
            self._give(conn)
            return result
        raise AssertionError("unreachable")

    def _take(self) -> psycopg.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return psycopg.connect(self._dsn, autocommit=True, prepare_threshold=self._prepare_threshold,
                                   **self._connect)
        except psycopg.Error as exc:
            raise self._error(exc, "connecting") from None

    def _give(self, conn: psycopg.Connection) -> None:
        keep = not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._lock:
            if keep and not self._closed and len(self._idle) < self._keep:
                self._idle.append(conn)
                return
        conn.close()

    def _drop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def close(self) -> None:
        """Close the idle connections; one in use is closed when its read ends."""
        self._closed = True
        self._forked()
        self._drop_idle()
        self._threads.shutdown(wait=False)


__all__ = ["BulkReads", "CHUNK_ROWS", "chunks"]
