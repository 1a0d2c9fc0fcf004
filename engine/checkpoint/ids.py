"""Checkpoint ids: UUID-shaped, and sortable as strings in the order they were made."""

from __future__ import annotations

import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last_ns = 0


def new_checkpoint_id() -> str:
    global _last_ns
    with _lock:
        now = max(time.time_ns(), _last_ns + 1)
        _last_ns = now
    return str(uuid.UUID(int=(now << 64) | secrets.randbits(64)))
