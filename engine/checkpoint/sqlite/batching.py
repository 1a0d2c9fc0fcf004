"""Splitting id lists into pieces SQLite takes as one `IN (...)` list."""

from __future__ import annotations

# --- id lists -----------------------------------------------------------------------------------
_CHUNK = 500  # ids per IN (...) list


def chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


__all__ = ["chunks"]
