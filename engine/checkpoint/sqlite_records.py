"""The rows the SQLite saver's query API returns (the inbox's view of interrupts and threads)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from engine.checkpoint.serde import _TAG, loads
from engine.errors import StorageError
from engine.checkpoint.sqlite_support import time_text

InterruptStatus = Literal["pending", "resolved", "cancelled", "expired"]
ThreadStatus = Literal["idle", "busy", "interrupted", "error", "done"]


class InterruptRecord(BaseModel):
    """One interrupt: pending work while `status == "pending"`, an audit-log entry after.

    Times are ISO-8601 UTC strings in fixed-width form (`2026-01-02T03:04:05.000000+00:00`).

    - `id`: the interrupt id (answers it in `Command(resume={id: ...})`).
    - `thread_id`, `graph`: where it was raised (graph name may be "").
    - `ns`: the task namespace inside the run; `node`: the node that called interrupt().
    - `checkpoint_id`: the checkpoint the paused task belongs to ("" if not given).
    - `payload`: the value passed to `interrupt(value)` (JSON round-tripped).
    - `created_at`: when it was raised; `deadline`: when it expires, or None.
    - `on_timeout`: the answer given automatically at the deadline; None: flag it overdue.
    - `status`: pending | resolved | cancelled | expired.
    - `overdue`: the deadline passed under the "flag" policy (the row stays pending).
    - `resolved_at`, `resolved_by`, `response`: the decision: when, who ("api" for a direct
      `Command(resume=...)`, "deadline" for an expiry, "system" for a cancellation) and what.
    - `applied`: the runtime has resumed the graph with the decision. A resolved or expired row
      with `applied=False` is a claimed decision still to be applied (e.g. after a crash).
    - `reason`: why it was cancelled or expired, if known.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    thread_id: str
    graph: str = ""
    ns: str = ""
    node: str = ""
    checkpoint_id: str = ""
    payload: Any = None
    created_at: str
    deadline: str | None = None
    on_timeout: Any = None
    status: InterruptStatus
    overdue: bool = False
    resolved_at: str | None = None
    resolved_by: str | None = None
    response: Any = None
    applied: bool = False
    reason: str | None = None


class ThreadRecord(BaseModel):
    """One thread as the inbox lists it.

    - `thread_id`, `graph` (the graph name of its latest run, may be "").
    - `status`: idle (checkpointed, no run seen) | busy (a run started) | interrupted | error | done.
    - `created_at`, `updated_at`: ISO-8601 UTC.
    - `metadata`: the run metadata given when the run started ({} if none).
    - `pending`: how many of its interrupts are pending now.
    """

    model_config = ConfigDict(frozen=True)

    thread_id: str
    graph: str = ""
    status: ThreadStatus
    created_at: str
    updated_at: str
    metadata: dict = {}
    pending: int = 0


INTERRUPT_COLUMNS = ("id, thread_id, graph, ns, node, checkpoint_id, payload, created_at, deadline, "
                     "on_timeout, status, overdue, resolved_at, resolved_by, response, applied, reason")

THREAD_COLUMNS = "thread_id, graph, status, created_at, updated_at, metadata"


def _record(values: dict) -> InterruptRecord:
    # Rows were validated on the way in; listing 10k of them should not validate them again.
    return InterruptRecord.model_construct(**values)


def _fields(row, payload) -> dict:
    (id_, thread_id, graph, ns, node, checkpoint_id, _payload, created_at, deadline, on_timeout, status,
     overdue, resolved_at, resolved_by, response, applied, reason) = row
    return {"id": id_, "thread_id": thread_id, "graph": graph, "ns": ns, "node": node,
            "checkpoint_id": checkpoint_id, "payload": payload, "created_at": created_at,
            "deadline": deadline,
            "on_timeout": loads(on_timeout) if on_timeout is not None else None, "status": status,
            "overdue": bool(overdue), "resolved_at": resolved_at, "resolved_by": resolved_by,
            "response": loads(response) if response is not None else None, "applied": bool(applied),
            "reason": reason}


def interrupt_from_row(row) -> InterruptRecord:
    return _record(_fields(row, loads(row[6])))


def interrupts_from_rows(rows: list) -> list[InterruptRecord]:
    """`interrupt_from_row` for many rows: payloads without tagged values are decoded with one
    `json.loads` over all of them (the per-call overhead dominates for small payloads)."""
    if not rows:
        return []
    texts = [row[6] for row in rows]
    if any(_TAG in text for text in texts):
        payloads = [loads(text) for text in texts]
    else:
        payloads = json.loads("[" + ",".join(texts) + "]")
    return [_record(_fields(row, payload)) for row, payload in zip(rows, payloads)]


def thread_from_row(row) -> ThreadRecord:
    thread_id, graph, status, created_at, updated_at, metadata, pending = row
    return ThreadRecord(thread_id=thread_id, graph=graph, status=status, created_at=time_text(created_at),
                        updated_at=time_text(updated_at), metadata=loads(metadata), pending=pending)


class InterruptNotFound(StorageError, KeyError):
    """No interrupt with this id is stored."""

    def __init__(self, interrupt_id: str, path: str):
        self.interrupt_id = interrupt_id
        super().__init__(
            f"no interrupt with id {interrupt_id!r} in {path}. List the pending ones with "
            "saver.list_pending() and use one of their ids."
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


__all__ = ["InterruptRecord", "ThreadRecord", "InterruptNotFound", "InterruptStatus", "ThreadStatus"]
