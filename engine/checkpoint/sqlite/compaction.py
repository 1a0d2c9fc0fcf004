"""The short forms rows are stored in when another row holds the same thing exactly: a pending
`__interrupt__` write naming the interrupt rows it is rebuilt from, and a checkpoint without
what its row gives back (its id, time, task ids and versions). Pure text transformations: the
saver decides, with the database at hand, when a short form may be used."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone


# --- interrupts named by their rows -------------------------------------------------------------
# An `__interrupt__` pending write holds a list of Interrupt objects, whose payloads, places and
# deadlines the interrupts table holds too. It may be stored as INTERRUPT_ROWS_TAG + a JSON list
# of [id, when] + "}" instead: its text is rebuilt from the rows by `interrupts_text`, and the
# saver stores that form only when the rebuilt text is exactly the text it replaces.

INTERRUPT_ROWS_TAG = '{"__engine_type__":"interrupt_rows","v":'
_INTERRUPT_TAG = '{"__engine_type__":"interrupt","v":'

#: the interrupts columns `interrupts_text` needs, in its order
INTERRUPT_ROW_FIELDS = "id, ns, node, payload, deadline, on_timeout"


def interrupt_refs(text: str) -> list[list[str]] | None:
    """[[id, when], ...] for the JSON text of a list of tagged Interrupt objects; None for any
    other text."""
    if not text.startswith("[" + _INTERRUPT_TAG):
        return None
    try:
        items = json.loads(text)
    except ValueError:
        return None
    refs = []
    for item in items:
        if not isinstance(item, dict) or item.get("__engine_type__") != "interrupt" or len(item) != 2:
            return None
        fields = item.get("v")
        if not isinstance(fields, dict) or not isinstance(fields.get("id"), str) \
                or not isinstance(fields.get("when"), str):
            return None
        refs.append([fields["id"], fields["when"]])
    return refs


def naming_interrupts(refs: list[list[str]]) -> str:
    """The short form of an interrupt write naming `refs` ([[id, when], ...])."""
    return INTERRUPT_ROWS_TAG + json.dumps(refs, ensure_ascii=False, separators=(",", ":")) + "}"


def named_interrupts(text: str) -> list[list[str]]:
    """The [[id, when], ...] a short form names."""
    return json.loads(text)["v"]


def interrupts_text(refs: list, rows: dict[str, tuple]) -> str | None:
    """The JSON text of the Interrupt list `refs` names, built from `rows` (id -> the row's
    INTERRUPT_ROW_FIELDS) the way serde writes an Interrupt; None if a row is missing."""
    parts = []
    for interrupt_id, when in refs:
        row = rows.get(interrupt_id)
        if row is None:
            return None
        _id, ns, node, payload, deadline, on_timeout = row
        parts.append(f'{_INTERRUPT_TAG}{{"value":{payload},"id":{_text(interrupt_id)},"ns":{_text(ns)},'
                     f'"node":{_text(node)},"when":{_text(when)},"deadline":{_text(deadline)},'
                     f'"on_timeout":{"null" if on_timeout is None else on_timeout}}}}}')
    return "[" + ",".join(parts) + "]"


def _text(value: str | None) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- the stored checkpoint ------------------------------------------------------------------------
# A checkpoint row's JSON leaves out what the row gives back exactly:
# - its id (the checkpoint_id column): stored "" (schema version 3);
# - "ts", when it is the UTC isoformat() of a time near the time in the id (a UUID whose high 64
#   bits are nanoseconds, see ids.py): stored as the offset in microseconds;
# - each task's "id" (its last key), when it is the runtime's id for that task (task_id_for in
#   runtime/loop.py, copied here: this copy is part of the file format and never changes);
# - "channel_versions", when it lists the versions value_refs holds, in the same order: null.
# When any of the last three is left out, the stored id is the list of their names instead of ""
# (a list can never be an id: the id is also bound as an SQL parameter).

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def _id_micros(checkpoint_id: str) -> int | None:
    """The time in a checkpoint id (a UUID in canonical form whose high 64 bits are ns)."""
    if not _UUID.match(checkpoint_id):
        return None
    return int(checkpoint_id[:8] + checkpoint_id[9:13] + checkpoint_id[14:18], 16) // 1000


def _ts_at(micros: int) -> str:
    return (_EPOCH + timedelta(microseconds=micros)).isoformat()


def _same_json(a: dict, b: dict) -> bool:
    """Whether two dicts of scalars are written as the same JSON (1, 1.0 and True are not)."""
    return list(a) == list(b) and all(type(x) is type(y) and x == y and isinstance(x, (str, int, float))
                                      for x, y in zip(a.values(), b.values()))


def _task_id(checkpoint_id: str, ns: str, name: str, index: int) -> str:
    return hashlib.sha256(f"{checkpoint_id}\x00{ns}\x00{name}\x00{index}".encode()).hexdigest()[:32]


def _ref_versions(refs: list) -> dict:
    return {ref[0]: ref[1] for ref in refs if ref[1] is not None}


def compact_checkpoint(checkpoint: dict, ns: str, refs: list) -> dict:
    """The checkpoint to store (a copy; `checkpoint` is what aput stores otherwise: its id is
    the column's). `refs` are the [channel, version, ...] value_refs the row will hold."""
    checkpoint_id = checkpoint.get("id")
    if not isinstance(checkpoint_id, str):
        return checkpoint
    stored = dict(checkpoint)
    left_out = []
    ts = stored.get("ts")
    micros = _id_micros(checkpoint_id)
    if isinstance(ts, str) and micros is not None:
        try:
            since = datetime.fromisoformat(ts) - _EPOCH
            offset = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds - micros
        except (TypeError, ValueError, OverflowError):
            offset = None
        if offset is not None and abs(offset) < 1 << 40 and _ts_at(micros + offset) == ts:
            stored["ts"] = offset
            left_out.append("ts")
    tasks = stored.get("tasks")
    if isinstance(tasks, list) and tasks and all(isinstance(t, dict) and list(t)[-1:] == ["id"] for t in tasks):
        shortened = [
            {k: v for k, v in task.items() if k != "id"}
            if isinstance(task.get("name"), str) and task["id"] == _task_id(checkpoint_id, ns, task["name"], index)
            else task
            for index, task in enumerate(tasks)]
        if any("id" not in task for task in shortened):
            stored["tasks"] = shortened
            left_out.append("tasks")
    versions = stored.get("channel_versions")
    if isinstance(versions, dict) and _same_json(versions, _ref_versions(refs)):
        stored["channel_versions"] = None
        left_out.append("versions")
    stored["id"] = left_out or ""
    return stored


def expand_checkpoint(stored: dict, checkpoint_id: str, ns: str, refs: list) -> dict:
    """The checkpoint `compact_checkpoint` stored (in place). Rows written before schema
    version 3 hold their id and everything else: they are returned as they are."""
    left_out = stored.get("id")
    if left_out == "":
        stored["id"] = checkpoint_id
    elif isinstance(left_out, list):
        stored["id"] = checkpoint_id
        if "ts" in left_out:
            stored["ts"] = _ts_at(_id_micros(checkpoint_id) + stored["ts"])
        if "tasks" in left_out:
            for index, task in enumerate(stored["tasks"]):
                if "id" not in task:
                    task["id"] = _task_id(checkpoint_id, ns, task["name"], index)
        if "versions" in left_out:
            stored["channel_versions"] = _ref_versions(refs)
    return stored
