"""Appending to PostgresSaver's hash-chained audit log (the chain itself:
engine/checkpoint/audit.py), and reading it.

The chain is one total order over decisions made by any number of writers, so appending takes
the row lock of `engine_audit_head` (the last seq and hash) and holds it to the commit: the
next writer reads the head this one wrote. The seq comes from the head too, so a rolled-back
decision leaves no gap (a gap is what a deleted row looks like). Callers append before their
event rows, which come last in a transaction (events.py: a writer holding the events lock
never waits for another writer)."""

from __future__ import annotations

from typing import Any

from engine.checkpoint.audit import audit_row, chain_hash


async def append_audit(conn, record: Any) -> None:
    """Append one decision (a decided InterruptRecord) to the audit log, in the caller's
    transaction (`conn` inside BEGIN)."""
    cur = await conn.execute("SELECT seq, hash FROM engine_audit_head FOR UPDATE")
    last_seq, last_hash = await cur.fetchone()
    row = audit_row(record)
    digest = chain_hash(last_hash, row)
    await conn.execute("UPDATE engine_audit_head SET seq = %s, hash = %s", (last_seq + 1, digest))
    await conn.execute("INSERT INTO engine_audit_log (seq, interrupt_id, at, row, hash) VALUES (%s, %s, %s, %s, %s)",
                       (last_seq + 1, record.id, record.resolved_at or "", row, digest))


def with_audit_head(returning_sql: str, columns: str) -> str:
    """`returning_sql` (an UPDATE ... RETURNING `columns` that decides interrupts) as one
    statement that also locks and returns the audit head when it decided any: each row is
    the decided row's columns, then the head's seq and hash. One round trip instead of the
    decision's, the head's and (queued, `audit_statements`) the appends'."""
    return (f"WITH decided AS ({returning_sql}), head AS (SELECT seq, hash FROM engine_audit_head "
            f"WHERE EXISTS (SELECT 1 FROM decided) FOR UPDATE) SELECT {columns}, head.seq, head.hash "
            "FROM decided CROSS JOIN head")


def audit_statements(records: list[Any], head: tuple[int, str]) -> list[tuple[str, Any]]:
    """The statements that append `records` (decided InterruptRecords, in order) to the audit
    log after `head` (its locked seq and hash), to be queued for the commit."""
    last_seq, last_hash = head
    statements = []
    for record in records:
        row = audit_row(record)
        last_hash = chain_hash(last_hash, row)
        last_seq += 1
        statements.append(("INSERT INTO engine_audit_log (seq, interrupt_id, at, row, hash) VALUES (%s, %s, %s, %s, %s)",
                           (last_seq, record.id, record.resolved_at or "", row, last_hash)))
    statements.append(("UPDATE engine_audit_head SET seq = %s, hash = %s", (last_seq, last_hash)))
    return statements


async def read_audit(conn, since: str | None) -> list[dict]:
    """The audit log in order, from `since` (a normalized decision time) on when given."""
    sql, params = "SELECT seq, at, interrupt_id, row, hash FROM engine_audit_log", []
    if since is not None:
        sql += " WHERE at >= %s"
        params.append(since)
    rows = await (await conn.execute(sql + " ORDER BY seq", params)).fetchall()
    return [{"seq": r[0], "at": r[1], "interrupt_id": r[2], "row": r[3], "hash": r[4]} for r in rows]


__all__ = ["append_audit", "audit_statements", "read_audit", "with_audit_head"]
