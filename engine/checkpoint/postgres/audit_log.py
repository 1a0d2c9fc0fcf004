"""Appending to PostgresSaver's hash-chained audit log (the chain itself:
engine/checkpoint/audit.py), and reading it.

The chain is one total order over decisions made by any number of writers, so appending takes
the row lock of `engine_audit_head` (the last seq and hash) and holds it to the commit: the
next writer reads the head this one wrote. The seq comes from the head too, so a rolled-back
decision leaves no gap (a gap is what a deleted row looks like). A run's own claim builds the same row
in SQL (`engine_claim`, schema.py). Callers append before their
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


async def read_audit(conn, since: str | None) -> list[dict]:
    """The audit log in order, from `since` (a normalized decision time) on when given."""
    sql, params = "SELECT seq, at, interrupt_id, row, hash FROM engine_audit_log", []
    if since is not None:
        sql += " WHERE at >= %s"
        params.append(since)
    rows = await (await conn.execute(sql + " ORDER BY seq", params)).fetchall()
    return [{"seq": r[0], "at": r[1], "interrupt_id": r[2], "row": r[3], "hash": r[4]} for r in rows]


__all__ = ["append_audit", "read_audit"]
