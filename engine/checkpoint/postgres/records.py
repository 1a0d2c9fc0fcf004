"""Rows of `engine_interrupts` and `engine_threads` as the store's records. The interrupt rows
have SQLite's columns, in its order, with the same text times, so SQLite's fast decoders
(records built without per-field validation, payloads decoded together) serve both."""

from __future__ import annotations

from engine.checkpoint.serde import loads
from engine.checkpoint.sqlite.records import interrupt_from_row, interrupts_from_rows, pending_from_rows
from engine.checkpoint.store import InterruptRecord, ThreadRecord

INTERRUPT_COLUMNS = ("id, thread_id, graph, ns, node, checkpoint_id, payload, created_at, deadline, "
                     "on_timeout, status, overdue, resolved_at, resolved_by, response, applied, reason, "
                     "decided_user, decided_host, response_schema")
THREAD_COLUMNS = "thread_id, graph, status, created_at, updated_at, metadata"
#: What `alist_pending` reads (SQLite's PENDING_COLUMNS, so its pending_from_rows decodes them):
#: no `status`, and instead of the seven decision columns a pending row leaves NULL, `decided`:
#: NULL, or the row's row_no when one is set after all, to read them then (DECISION_COLUMNS).
#: Every column costs per row in psycopg, set or NULL: 13 columns list 10k rows in about half
#: the time of the 20 of INTERRUPT_COLUMNS (bench/postgres.py). The CASE needs its alias: unnamed,
#: Postgres names it after its ELSE branch, `row_no`, and `ORDER BY created_at, row_no` then sorted
#: by it (NULL for pending rows) instead of the column: ties in created_at came back in no set
#: order, and a sort the pending index would have made needless spilled to disk (10,000 copies of
#: one thread in bench/postgres.py: 6.4 MB, an external merge).
PENDING_COLUMNS = ("id, thread_id, graph, ns, node, checkpoint_id, payload, created_at, deadline, on_timeout, "
                   "response_schema, overdue, CASE WHEN resolved_at IS NULL AND resolved_by IS NULL AND response IS NULL "
                   "AND NOT applied AND reason IS NULL AND decided_user IS NULL AND decided_host IS NULL "
                   "THEN NULL ELSE row_no END AS decided")
DECISION_COLUMNS = "row_no, resolved_at, resolved_by, response, applied, reason, decided_user, decided_host"
assert tuple(name.strip() for name in INTERRUPT_COLUMNS.split(",")) == tuple(InterruptRecord.model_fields), \
    "columns and fields must match"


def thread_from_row(row) -> ThreadRecord:
    thread_id, graph, status, created_at, updated_at, metadata, pending = row
    return ThreadRecord.model_construct(thread_id=thread_id, graph=graph, status=status, created_at=created_at,
                                        updated_at=updated_at, metadata=loads(metadata), pending=pending)


__all__ = ["INTERRUPT_COLUMNS", "PENDING_COLUMNS", "DECISION_COLUMNS", "THREAD_COLUMNS", "interrupt_from_row",
           "interrupts_from_rows", "pending_from_rows", "thread_from_row"]
