"""How PostgresSaver stores the JSON texts nobody searches in SQL (checkpoints, their metadata,
pending writes, event data): `bytea`, deflated against the engine's preset dictionary of the
strings its formats repeat (SQLite's packing, engine/checkpoint/sqlite/packing.py: the same
formats, so the same bytes), or the UTF-8 text itself when that is not smaller. JSON text
never starts with a byte below 0x20, so the first byte tells the two apart: rows written as
text before schema version 3 read back unchanged. Columns SQL filters on (interrupts.payload)
stay plain text.

Postgres would compress only rows over ~2 KB itself (TOAST), and without a dictionary: most
of a step's rows are a few hundred bytes of the same field names."""

from __future__ import annotations

from engine.checkpoint.sqlite.packing import pack, unpack

_PACKED_FORMATS = (1, 2)  # pack() never writes format 3 (a value deflated against another row)


def to_stored(text: str) -> bytes:
    """The bytea value to store for a JSON text."""
    packed = pack(text)
    return packed if isinstance(packed, bytes) else packed.encode()


def from_stored(value: bytes | memoryview | str) -> str:
    """The JSON text of a stored value (packed, or plain text of any schema version)."""
    if isinstance(value, str):
        return value
    value = bytes(value)
    if value and value[0] in _PACKED_FORMATS:
        return unpack(value)
    return value.decode()


__all__ = ["to_stored", "from_stored"]
