"""The server's clock, as the records' text (ISO-8601 UTC, fixed width)."""

from __future__ import annotations

from datetime import datetime, timezone

from engine.checkpoint.sqlite.times import utc_iso


def now_iso() -> str:
    return utc_iso(datetime.now(timezone.utc))


__all__ = ["now_iso"]
