"""Appending to the SQLite file's hash-chained audit log (the chain itself: engine/checkpoint/audit.py)."""

from __future__ import annotations

from typing import Any

from engine.checkpoint.audit import GENESIS, audit_row, chain_hash


def append_audit(db, record: Any) -> None:
    """Append one decision (a decided InterruptRecord) to the audit log, in the caller's
    transaction: it holds the write lock, so the chain's order is the commit order."""
    last = db.execute("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    row = audit_row(record)
    db.execute("INSERT INTO audit_log (interrupt_id, at, row, hash) VALUES (?, ?, ?, ?)",
               (record.id, record.resolved_at or "", row, chain_hash(last[0] if last else GENESIS, row)))
