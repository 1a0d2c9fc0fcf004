"""Compression of the JSON texts the SQLite saver stores (channel value blobs, pending writes,
event data, checkpoints, their metadata and value references).

A stored value is either the JSON text itself (a SQLite TEXT value: short values, values that
do not shrink, and every row written before compression existed) or a SQLite BLOB value: one
format byte, then the raw deflate stream of the UTF-8 text against that format's preset
dictionary of the strings the engine's own formats repeat in every row (checkpoint fields,
interrupt and event fields, HumanInterrupt requests, chat messages), so even a row of a few
dozen bytes compresses well. A format's dictionary must never change once files use it: add
a new format byte for a new dictionary. Format 1 (schema version 2) is still read; format 2
(schema version 3) is written.

Format 3 is format 2 whose dictionary continues with a related stored text (`pack_with`): a
channel value deflated against another value written with it (a tool call's request against
the message that made the call). The id of the row holding that text follows the format byte
(as an unsigned LEB128 number); the reader passes that row's text to `unpack`. A related text
is never of format 3 itself.

Columns the database itself searches (interrupts.payload, used by the action and text
filters) are never compressed.
"""

from __future__ import annotations

import zlib

#: texts shorter than this are stored as they are. Deflating a row costs 7-20 µs (a primed
#: compressor's copy, compress, flush) whatever its size, and a run + resume stores about 13
#: texts under 64 characters (event data, metadata, value references, short channel values):
#: storing those raw costs 20-40 bytes each and saves about 4% of a run's CPU (bench/README.md,
#: session 7). Rows stored deflated before (from 16 characters on) are read as ever.
MIN_CHARS = 64

_FORMAT_1 = 1
_DICTIONARY_1 = (
    '{"v":1,"id":"","ts":"+00:00","step":-1,"channel_values":{},"channel_versions":{'
    '"tasks":[{"name":"","id":"","arg":'
    '"waiting":{}}'
    '{"__engine_type__":"interrupt","v":{"value":'
    '"id":"","ns":"","node":"","when":"during","resumable":true,"deadline":null,"on_timeout":null}}]'
    '{"__engine_type__":"tuple","v":['
    '{"__engine_type__":"datetime","v":"'
    '"update":{},"goto":[],"sends":[],"writes":[["'
    '"at":"","thread_id":"","graph":"","kind":"run_started","source":"input","metadata":null}'
    '"kind":"run_finished","outcome":"interrupted"}'
    '"kind":"interrupt_resolved","response":{"type":"accept","args":null},"by":null}'
    '"kind":"interrupt_raised","interrupt_id":"","checkpoint_id":"'
    '[{"action_request":{"action":"","args":{"to":"","subject":"","body":"'
    '"config":{"allow_ignore":true,"allow_respond":true,"allow_edit":true,"allow_accept":true},'
    '"description":"'
    '"action_requests":[{"name":"","args":{'
    '"review_configs":[{"action_name":"","allowed_decisions":["approve","edit","reject"]}]'
    '[{"role":"system","content":"You are '
    '{"role":"user","content":"Please '
    '{"role":"assistant","content":"I\'ll ","tool_calls":[{"id":"call_","name":"","args":{'
    '{"role":"tool","tool_call_id":"call_","content":"'
    '{"type":"human","content":"'
    '{"type":"ai","content":"'
    ' the and to of a in is for that with on as be this by'
).encode()

# Format 2 adds what schema version 3 stores: checkpoint metadata, value references, event data
# without its time, and the short forms that name interrupt rows.
_FORMAT_2 = 2
_DICTIONARY_2 = _DICTIONARY_1 + (
    '{"v":1,"id":["ts","tasks","versions"],"ts":0,"step":0,"channel_values":{},'
    '"channel_versions":null,"tasks":[{"name":""}],"waiting":{}}'
    '{"source":"update","step":'
    '{"source":"input","step":-1,"parents":{},"graph":"'
    '{"source":"loop","step":0,"parents":{},"graph":"'
    '{"reason":"","error_type":"","error":"'
    '{"policy":"flag","response":null}'
    '{"node":"","error_type":"","error":"'
    '{"source":"resume","metadata":null}'
    '{"source":"input","metadata":null}'
    '{"outcome":"done"}'
    '{"outcome":"interrupted"}'
    '{"__engine_type__":"interrupt_rows","v":[["","during"]]}'
    '{"interrupt_id":"","__in_interrupts__":true}'
    '[["messages",1,1],["'
).encode()

_FORMAT_3 = 3
#: related texts longer than this are not used (a deflate window holds 32 KiB)
MAX_RELATED_CHARS = 16_000

_SMALL = 1 << 14  # texts up to this size deflate with a 4 KiB window (much cheaper to set up)

_DICTIONARIES = {_FORMAT_1: _DICTIONARY_1, _FORMAT_2: _DICTIONARY_2}

# Primed once: loading a preset dictionary costs more than compressing a small row, and a copy
# of a primed (de)compressor costs half as much as priming a new one. The output is the same.
_SMALL_COMPRESSOR = zlib.compressobj(6, zlib.DEFLATED, -12, 4, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_2)
_LARGE_COMPRESSOR = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_2)
_DECOMPRESSORS = {fmt: zlib.decompressobj(-15, dictionary) for fmt, dictionary in _DICTIONARIES.items()}


def pack(text: str) -> str | bytes:
    """The value to store for `text`: compressed bytes when that is smaller, else `text`."""
    if len(text) < MIN_CHARS:
        return text
    data = text.encode()
    compressor = (_SMALL_COMPRESSOR if len(data) <= _SMALL else _LARGE_COMPRESSOR).copy()
    packed = compressor.compress(data) + compressor.flush()
    if len(packed) + 1 >= len(data):
        return text
    return bytes((_FORMAT_2,)) + packed


def pack_with(text: str, related: str, related_id: int, packed_alone: bytes | str) -> bytes | None:
    """`text` stored against `related` (the stored text of row `related_id`, not itself of
    format 3), or None when that is not smaller than `packed_alone` (its `pack(text)`)."""
    if len(text) < MIN_CHARS or len(related) > MAX_RELATED_CHARS or related_id < 0:
        return None
    data = text.encode()
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY,
                                  _DICTIONARY_2 + related.encode())
    head = bytearray((_FORMAT_3,))
    number = related_id
    while True:
        byte, number = number & 0x7F, number >> 7
        head.append(byte | (0x80 if number else 0))
        if not number:
            break
    packed = bytes(head) + compressor.compress(data) + compressor.flush()
    return packed if len(packed) < len(packed_alone) else None


def related_id(value: str | bytes) -> int | None:
    """The id of the row whose text a stored value of format 3 needs; None for other values."""
    if isinstance(value, str) or not value or value[0] != _FORMAT_3:
        return None
    return _related(value)[0]


def _related(value: bytes) -> tuple[int, int]:
    number, shift, index = 0, 0, 1
    while True:
        byte = value[index]
        number |= (byte & 0x7F) << shift
        index += 1
        if not byte & 0x80:
            return number, index
        shift += 7


def unpack(value: str | bytes, related: str | None = None) -> str:
    """The JSON text of a stored value (either form, any format). A value of format 3 needs the
    stored text of the row `related_id(value)` names."""
    if isinstance(value, str):
        return value
    if value and value[0] == _FORMAT_3:
        if related is None:
            raise ValueError("a stored value of format 3 needs its related text")
        _id, start = _related(value)
        decompressor = zlib.decompressobj(-15, _DICTIONARY_2 + related.encode())
        return (decompressor.decompress(memoryview(value)[start:]) + decompressor.flush()).decode()
    primed = _DECOMPRESSORS.get(value[0]) if value else None
    if primed is None:
        raise ValueError(f"unknown stored value format {value[:1]!r}")
    decompressor = primed.copy()
    return (decompressor.decompress(memoryview(value)[1:]) + decompressor.flush()).decode()


__all__ = ["pack", "pack_with", "related_id", "unpack", "MIN_CHARS", "MAX_RELATED_CHARS"]
