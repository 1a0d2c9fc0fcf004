"""Rows of `engine_interrupts` and `engine_threads` as the store's records."""

from __future__ import annotations

from engine.checkpoint.serde import loads
from engine.checkpoint.store import InterruptRecord, ThreadRecord

INTERRUPT_COLUMNS = ("id, thread_id, graph, ns, node, checkpoint_id, payload, created_at, deadline, "
                     "on_timeout, status, overdue, resolved_at, resolved_by, response, applied, reason, "
                     "decided_user, decided_host")
THREAD_COLUMNS = "thread_id, graph, status, created_at, updated_at, metadata"
_FIELDS = tuple(name.strip() for name in INTERRUPT_COLUMNS.split(","))
assert _FIELDS == tuple(InterruptRecord.model_fields), "columns and fields must match"


def interrupt_from_row(row) -> InterruptRecord:
    values = dict(zip(_FIELDS, row))
    for name in ("payload", "on_timeout", "response"):
        if values[name] is not None:
            values[name] = loads(values[name])
    return InterruptRecord.model_construct(**values)


def thread_from_row(row) -> ThreadRecord:
    thread_id, graph, status, created_at, updated_at, metadata, pending = row
    return ThreadRecord.model_construct(thread_id=thread_id, graph=graph, status=status, created_at=created_at,
                                        updated_at=updated_at, metadata=loads(metadata), pending=pending)


__all__ = ["INTERRUPT_COLUMNS", "THREAD_COLUMNS", "interrupt_from_row", "thread_from_row"]
