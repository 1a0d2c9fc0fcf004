"""The ledger of reviewed tool calls: what makes a tool call "in doubt" instead of silently
run twice or lost.

A reviewed tool records that its call *started* (durably, with the decision's key) before it
calls the function, and that it is *done* (with the result) after. When the node runs again
(after a crash, or because a later step failed), the ledger answers what to do:

    begin   no row            -> "run": attempt 1 recorded as started; call the tool
            done / settled    -> the stored result; do not call it again
            failed            -> "run": the failure was seen, so a new attempt is safe
            started           -> in doubt: the process running it died mid-call
    retry   (a reviewer's answer to "in doubt", for that attempt) -> "run" the next attempt
    settle  ("mark done", for that attempt)                       -> "settled"
    finish / fail                                                  -> after the call returns / raises

A retry or settle names the attempt it answers, so replaying the same answer (a node re-runs
from its start and gets its earlier answers again) never starts a second attempt.

Calls are synchronous: a sync tool may run on the event loop's thread (inside an async node),
where nothing can be awaited. The SQLite ledger uses a short-lived connection of its own.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Callable

from engine.checkpoint.serde import dumps, loads
from engine.errors import LeaseLost

_FIELDS = ("key", "thread_id", "graph", "interrupt_id", "tool", "args", "attempt", "status", "owner",
           "started_at", "finished_at", "result", "settled_by", "settled_at")


@dataclass(frozen=True)
class ToolCall:
    """Where a reviewed call stands. `status`: "run" (go ahead with `attempt`), "started" (in
    doubt: that attempt began and never finished), "done", "failed" or "settled"."""

    status: str
    attempt: int
    result: Any = None
    started_at: str | None = None
    owner: str | None = None


def _state(row: dict, status: str | None = None) -> ToolCall:
    result = loads(row["result"]) if row.get("result") is not None else None
    return ToolCall(status or row["status"], row["attempt"], result, row["started_at"], row["owner"])


def transition(row: dict | None, action: str, *, new: dict, attempt: int, owner: str, now: str,
               result: Any, by: str | None) -> tuple[dict | None, ToolCall]:
    """(the row to store, or None to leave it; what the caller is told)."""
    if row is None:
        if action != "begin":
            raise LookupError(f"no reviewed tool call with key {new['key']!r}")
        row = {**new, "attempt": 1, "status": "started", "owner": owner, "started_at": now,
               "finished_at": None, "result": None, "settled_by": None, "settled_at": None}
        return row, _state(row, "run")
    current = row["status"] == "started" and row["attempt"] == attempt
    if action == "begin" and row["status"] == "failed" or action == "retry" and current:
        row = {**row, "attempt": row["attempt"] + 1, "status": "started", "owner": owner, "started_at": now,
               "finished_at": None, "result": None}
        return row, _state(row, "run")
    if action in ("finish", "fail") and current and row["owner"] == owner:
        return {**row, "status": "done" if action == "finish" else "failed", "finished_at": now,
                "result": dumps(result)}, ToolCall(action == "finish" and "done" or "failed", attempt, result)
    if action == "settle" and current:
        row = {**row, "status": "settled", "settled_by": by, "settled_at": now, "result": dumps(result)}
        return row, _state(row)
    return None, _state(row)


class MemoryLedger:
    """The ledger of a saver that keeps nothing across processes."""

    def __init__(self) -> None:
        self._rows: dict[str, dict] = {}
        self._lock = threading.Lock()

    def apply(self, key: str, action: str, lease: Callable[[], bool] | None, **fields: Any) -> ToolCall:
        with self._lock:
            if lease is not None and action in ("begin", "retry") and not lease():
                raise LeaseLost(fields["new"]["thread_id"], fields["owner"], None)
            row, state = transition(self._rows.get(key), action, **fields)
            if row is not None:
                self._rows[key] = row
            return state


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
                found = db.execute(f"SELECT {', '.join(_FIELDS)} FROM tool_calls WHERE key = ?", (key,)).fetchone()
                row, state = transition(dict(zip(_FIELDS, found)) if found else None, action, **fields)
                if row is not None:
                    db.execute(f"INSERT OR REPLACE INTO tool_calls ({', '.join(_FIELDS)}) "
                               f"VALUES ({', '.join('?' * len(_FIELDS))})", [row[name] for name in _FIELDS])
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


__all__ = ["ToolCall", "MemoryLedger", "SqliteLedger", "transition"]
