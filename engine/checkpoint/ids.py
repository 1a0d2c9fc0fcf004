"""Checkpoint ids: UUID-shaped, sortable as strings in the order a thread made them, and
derived from the run's clock and position, so a run with an injected clock is reproducible."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime


def new_checkpoint_id(now: datetime, parent_id: str | None, salt: str) -> str:
    """The high 64 bits are the time in ns (kept above the parent's, so a thread's checkpoints
    sort in order even with a coarse or frozen clock); the low 64 bits come from the thread,
    namespace and parent, so ids differ across threads made at the same instant."""
    time_ns = int(now.timestamp() * 1_000_000) * 1_000
    if parent_id:
        time_ns = max(time_ns, (uuid.UUID(parent_id).int >> 64) + 1)
    low = int.from_bytes(hashlib.sha256(f"{salt}\x00{parent_id}".encode()).digest()[:8], "big")
    return str(uuid.UUID(int=((time_ns & (2**64 - 1)) << 64) | low))
