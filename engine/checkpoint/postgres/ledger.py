"""The reviewed-tool ledger (engine/checkpoint/tool_ledger.py has the model) in Postgres: a
plain (sync) psycopg connection of its own, because tools call it synchronously, on any
thread. Each call is one short transaction that also checks that the caller's run still holds
its thread's lease (the row is locked FOR UPDATE, so two callers of one key take turns). A
dropped connection is replaced and the call retried once: each call is a whole transaction."""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from engine.checkpoint.postgres.dsn import redact_text
from engine.checkpoint.tool_ledger import LEDGER_FIELDS, ToolCall, transition
from engine.errors import LeaseLost, StorageError

_COLUMNS = ", ".join(LEDGER_FIELDS)
_UPSERT = (f"INSERT INTO engine_tool_calls ({_COLUMNS}) VALUES ({', '.join(['%s'] * len(LEDGER_FIELDS))}) "
           "ON CONFLICT (key) DO UPDATE SET " + ", ".join(f"{name} = excluded.{name}" for name in LEDGER_FIELDS[1:]))


class PostgresLedger:
    def __init__(self, dsn: str, prepare_threshold: int | None) -> None:
        self.dsn = dsn
        self.prepare_threshold = prepare_threshold
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self.dsn, autocommit=True, prepare_threshold=self.prepare_threshold)
            except psycopg.Error as exc:
                raise StorageError(redact_text(f"PostgreSQL: connecting for the tool ledger failed: {exc}",
                                               self.dsn)) from None
        return self._conn

    def apply(self, key: str, action: str, lease: tuple[str, str] | None, **fields: Any) -> ToolCall:
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    return self._apply(conn, key, action, lease, fields)
                except psycopg.OperationalError as exc:
                    self._conn = None
                    if attempt == 2:
                        raise StorageError(redact_text(f"PostgreSQL: the tool ledger failed: {exc}", self.dsn)) from None
        raise AssertionError("unreachable")

    @staticmethod
    def _apply(conn: psycopg.Connection, key: str, action: str, lease, fields: dict) -> ToolCall:
        # Two round trips, whatever the outcome: BEGIN, the lease check and the row (locked)
        # in one pipeline; the new row and COMMIT in the next. A tool waits for them on its
        # own thread, which may be the event loop's, so fewer is better.
        with conn.pipeline(), conn.transaction():
            check = None
            if lease is not None and action in ("begin", "retry"):
                check = conn.execute("SELECT 1 FROM engine_leases WHERE thread_id = %s AND owner = %s FOR SHARE", lease)
            # (a key's first row needs no lock: only the lease holder checked here may begin it)
            found = conn.execute(f"SELECT {_COLUMNS} FROM engine_tool_calls WHERE key = %s FOR UPDATE", (key,)).fetchone()
            if check is not None and check.fetchone() is None:
                raise LeaseLost(lease[0], lease[1], None)
            row, state = transition(dict(zip(LEDGER_FIELDS, found)) if found else None, action, **fields)
            if row is not None:
                conn.execute(_UPSERT, [row[name] for name in LEDGER_FIELDS])
            return state

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


__all__ = ["PostgresLedger"]
