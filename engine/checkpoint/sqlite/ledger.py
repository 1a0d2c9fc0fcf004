"""The reviewed-tool ledger (engine/checkpoint/tool_ledger.py has the model) in the saver's file:
a plain sqlite3 connection, because tools call it synchronously, on any thread."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from engine.checkpoint.tool_ledger import LEDGER_FIELDS, ToolCall, transition
from engine.errors import LeaseLost


class SqliteLedger:
    """The ledger in the saver's file: each call is one short BEGIN IMMEDIATE transaction,
    which also checks that the caller's run still holds its thread. One connection of its own
    (callers may be on any thread, the event loop's included), as durable as the saver's
    (`synchronous`: a committed "started" survives the process being killed)."""

    def __init__(self, path: str, busy_timeout: float, synchronous: str) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout,
                                 check_same_thread=False)
            db.execute(f"PRAGMA synchronous = {self.synchronous}")
            self._db = db
        return self._db

    def apply(self, key: str, action: str, lease: tuple[str, str] | None, **fields: Any) -> ToolCall:
        with self._lock:
            db = self._connection()
            try:
                db.execute("BEGIN IMMEDIATE")
                if lease is not None and action in ("begin", "retry"):
                    if db.execute("SELECT 1 FROM leases WHERE thread_id = ? AND owner = ?", lease).fetchone() is None:
                        raise LeaseLost(lease[0], lease[1], None)
                found = db.execute(f"SELECT {', '.join(LEDGER_FIELDS)} FROM tool_calls WHERE key = ?", (key,)).fetchone()
                row, state = transition(dict(zip(LEDGER_FIELDS, found)) if found else None, action, **fields)
                if row is not None:
                    db.execute(f"INSERT OR REPLACE INTO tool_calls ({', '.join(LEDGER_FIELDS)}) "
                               f"VALUES ({', '.join('?' * len(LEDGER_FIELDS))})", [row[name] for name in LEDGER_FIELDS])
                db.execute("COMMIT")
                return state
            finally:
                if db.in_transaction:
                    db.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


__all__ = ["SqliteLedger"]
