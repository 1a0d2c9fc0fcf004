"""A step's writes as one statement: `SELECT engine_step(...)` (schema.py, version 5).

The queued writes of a transaction (transactions.py) are recorded as *operations* and sent as
ONE call: the server parses and plans a short statement instead of every statement of the
step, and the function's own statements keep their plans for the session (PL/pgSQL caches
them), which prepared statements would give but PgBouncer in transaction mode forbids.

An operation is a kind and its values; the call passes the operations as rows of parallel
arrays: `ops` (the kinds), eleven text columns, two bytea columns and two bigint columns, each
operation filling the columns its kind reads (schema.py's STEP_FUNCTION names them per kind)
and NULL in the others. They are applied in the order given.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

TEXTS, BLOBS, INTS = 11, 2, 2

STEP_SQL = ("SELECT engine_step(%s::text[]" + ", %s::text[]" * TEXTS + ", %s::bytea[]" * BLOBS
            + ", %s::bigint[]" * INTS + ")")

Op = tuple[str, tuple, tuple, tuple]  # (kind, texts, blobs, ints)


def op(kind: str, *texts: Any, blobs: Sequence[bytes | None] = (), ints: Sequence[int | None] = ()) -> Op:
    assert len(texts) <= TEXTS and len(blobs) <= BLOBS and len(ints) <= INTS, kind
    return (kind, texts, tuple(blobs), tuple(ints))


def step_statement(ops: Sequence[Op]) -> tuple[str, list]:
    """The one statement that applies `ops` in order, and its parameters."""
    columns: list[list] = [[kind for kind, _, _, _ in ops]]
    for width, part in ((TEXTS, 1), (BLOBS, 2), (INTS, 3)):
        for column in range(width):
            columns.append([row[part][column] if column < len(row[part]) else None for row in ops])
    return STEP_SQL, columns


def step_text(ops: Sequence[Op], cursor) -> str:
    """`cursor.mogrify(*step_statement(ops))`, written here for the values a step holds (str,
    bytes and int, or None), which is most of the cost psycopg's general adapters add to a
    step: measured here, 0.3-0.5 ms of CPU per step, three steps per run. Anything else (a value of
    another type, a NUL character) goes to psycopg's mogrify, which adapts it or raises its usual
    error. A session without standard_conforming_strings gets E'...' literals (backslashes
    doubled): psycopg's mogrify writes bytea arrays wrong there (their bytes read back as the
    text of their hex escape), and the saver's connections turn the setting on anyway
    (transactions.py, _standard_session)."""
    try:
        literals = [_text_array([kind for kind, _, _, _ in ops])]
        for part, width, literal in ((1, TEXTS, _text_array), (2, BLOBS, _bytea_array), (3, INTS, _bigint_array)):
            # the operations' values padded to the width with NULLs, then read by column
            for column in zip(*[row[part] + _NULLS[width - len(row[part])] for row in ops]):
                literals.append(_all_null(len(ops)) if column.count(None) == len(column) else literal(column))
    except _Unusual:
        return cursor.mogrify(*step_statement(ops))
    if cursor.connection.pgconn.parameter_status(b"standard_conforming_strings") != b"on":
        literals = ["E" + literal.replace("\\", "\\\\") for literal in literals]
    return STEP_SQL % tuple(literals)


_NULLS = [(None,) * n for n in range(max(TEXTS, BLOBS, INTS) + 1)]


@functools.lru_cache(maxsize=64)
def _all_null(count: int) -> str:
    """An array literal of `count` NULLs (most columns of most steps: each kind fills a few)."""
    return "'{" + ",".join(["NULL"] * count) + "}'"


class _Unusual(Exception):
    """A value step_text leaves to psycopg."""


def _text(value) -> str:
    if type(value) is not str or "\x00" in value:
        raise _Unusual
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'  # in double quotes: \ and " escaped


def _bytea(value) -> str:
    if type(value) is not bytes:
        raise _Unusual
    return '"\\\\x' + value.hex() + '"'  # \\x in the array's text is bytea's \x


def _bigint(value) -> str:
    if type(value) is not int:
        raise _Unusual
    return str(value)


def _array(values: Sequence, item: Callable[[Any], str]) -> str:
    """An array literal of `values` (each written by `item`, None as NULL), as a standard SQL
    string literal (quotes doubled)."""
    return "'{" + ",".join(["NULL" if value is None else item(value) for value in values]).replace("'", "''") + "}'"


def _text_array(values: Sequence) -> str:
    return _array(values, _text)


def _bytea_array(values: Sequence) -> str:
    return _array(values, _bytea)


def _bigint_array(values: Sequence) -> str:
    return _array(values, _bigint)


async def send_ops(conn, ops: Sequence[Op]) -> None:
    """Queue `ops` on a transaction's recorder (they join the commit's engine_step call), or run
    them now on a connection."""
    if not ops:
        return
    record = getattr(conn, "record_ops", None)
    if record is not None:
        record(ops)
    else:
        await conn.execute(*step_statement(ops))


__all__ = ["Op", "op", "send_ops", "step_statement", "step_text", "STEP_SQL"]
