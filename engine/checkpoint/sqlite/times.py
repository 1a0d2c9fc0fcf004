"""Time formats: the fixed-width ISO-8601 UTC text the records carry, and the compact form a
row stores (microseconds since the epoch as an integer, or the text itself when it is not one
of ours)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --- time -------------------------------------------------------------------------------------

def utc_iso(moment: datetime) -> str:
    """Fixed-width ISO-8601 UTC (microseconds always present) so stored times sort as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


@functools.lru_cache(maxsize=256)  # a step stores the same few times in several rows
def stored_time(text: str) -> int | str:
    """What a column of times without text affinity (events.at) holds for a `utc_iso` text:
    microseconds since 1970 (8 bytes instead of 32); other text as it is."""
    if len(text) == 32 and text[10] == "T" and text.endswith("+00:00"):
        try:
            since = datetime.fromisoformat(text) - _EPOCH
        except ValueError:
            return text
        micros = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
        if time_text(micros) == text:
            return micros
    return text


def time_text(value: int | str) -> str:
    """The text `stored_time` was given."""
    if isinstance(value, int):
        return (_EPOCH + timedelta(microseconds=value)).isoformat(timespec="microseconds")
    return value


def normalize_ts(value: str | None) -> str | None:
    """Normalise an ISO-8601 time to `utc_iso` form; text that is not a time is kept as is."""
    if value is None:
        return None
    if len(value) == 32 and value[10] == "T" and value[19] == "." and value.endswith("+00:00"):
        return value  # already in that form (what the runtime's UTC isoformat() usually gives)
    try:
        return utc_iso(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return value


__all__ = ["utc_iso", "stored_time", "time_text", "normalize_ts"]
