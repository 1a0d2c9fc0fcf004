"""The audit log's hash chain: what one audit row says, and how rows are chained.

Every decision a store records (a reviewer's claim, an expiry that answered by itself) is also
appended to the audit log in the same transaction: one row of canonical JSON (who, when, what,
the answer, when the request was raised) and `hash = sha256(previous hash + "\\n" + row)`.
Changing a row's text breaks its own hash; deleting a row breaks the next one's (and leaves
a gap in the sequence numbers); deleting the newest rows leaves decisions without a row.
`verify_chain` reports each. Pure functions, shared by every store (SQLite, Postgres).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable

from engine.checkpoint.serde import json_fallback

GENESIS = ""  # the "previous hash" of the first row


def audit_row(record: Any) -> str:
    """The canonical JSON of one decision (an InterruptRecord after it was decided)."""
    return json.dumps({"interrupt_id": record.id, "thread_id": record.thread_id, "graph": record.graph,
                       "raised_at": record.created_at, "decided_at": record.resolved_at, "by": record.resolved_by,
                       "user": record.decided_user, "host": record.decided_host, "status": record.status,
                       "response": record.response}, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=json_fallback)


def chain_hash(previous: str, row: str) -> str:
    return hashlib.sha256(f"{previous}\n{row}".encode()).hexdigest()


def verify_chain(rows: Iterable[dict]) -> list[str]:
    """Problems with the chain of `rows` ({"seq", "row", "hash"}, in seq order), each naming
    the row: an edited row (its hash does not match its text), a deleted row (a gap in seq, or
    a hash that does not follow from the row before). Empty when the chain holds."""
    problems = []
    previous, last_seq = GENESIS, None
    for entry in rows:
        seq = entry["seq"]
        if last_seq is not None and seq != last_seq + 1:
            problems.append(f"rows {last_seq + 1}..{seq - 1} are missing (deleted)" if seq > last_seq + 2
                            else f"row {last_seq + 1} is missing (deleted)")
        if chain_hash(previous, entry["row"]) != entry["hash"]:
            # Its own text against its hash: was the row edited, or was the one before removed?
            problems.append(f"row {seq} does not match its hash (edited, or the row before it was changed)")
        previous, last_seq = entry["hash"], seq
    return problems


__all__ = ["GENESIS", "audit_row", "chain_hash", "verify_chain"]
