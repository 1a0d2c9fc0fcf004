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
where nothing can be awaited. The SQLite ledger (engine/checkpoint/sqlite/ledger.py) uses a
connection of its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

from engine.checkpoint.serde import dumps, loads
from engine.errors import LeaseLost

LEDGER_FIELDS = _FIELDS = ("key", "thread_id", "graph", "interrupt_id", "tool", "args", "attempt", "status", "owner",
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


__all__ = ["ToolCall", "MemoryLedger", "transition", "LEDGER_FIELDS"]
