"""Rows of the SQLite saver's `interrupts` and `threads` tables as the store's records
(engine/checkpoint/store.py): the columns each query reads and the fast decoders of its rows."""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator

from pydantic import BaseModel

from engine.checkpoint.serde import loads, loads_many
from engine.checkpoint.sqlite.times import time_text
from engine.checkpoint.store import (InterruptNotFound, InterruptRecord, InterruptStatus, ThreadRecord,
                                     ThreadStatus)

INTERRUPT_COLUMNS = ("id, thread_id, graph, ns, node, checkpoint_id, payload, created_at, deadline, "
                     "on_timeout, status, overdue, resolved_at, resolved_by, response, applied, reason, "
                     "decided_user, decided_host, response_schema")

#: What `alist_pending` reads: no `status` (its WHERE makes it 'pending') and, instead of the seven
#: decision columns a pending row leaves NULL (`applied` 0), `decided`: NULL, or the row's rowid
#: when one of them is set after all (the saver's own writes never do that), to read them then.
#: Every column read costs ~0.15 us per row in the sqlite3 module, set or NULL.
PENDING_COLUMNS = ("id, thread_id, graph, ns, node, checkpoint_id, payload, created_at, deadline, on_timeout, "
                   "response_schema, overdue, CASE WHEN resolved_at IS NULL AND resolved_by IS NULL AND response IS NULL "
                   "AND applied IS 0 AND reason IS NULL AND decided_user IS NULL AND decided_host IS NULL "
                   "THEN NULL ELSE rowid END")
DECISION_COLUMNS = "rowid, resolved_at, resolved_by, response, applied, reason, decided_user, decided_host"

THREAD_COLUMNS = "thread_id, graph, status, created_at, updated_at, metadata"


_FIELDS = tuple(InterruptRecord.model_fields)
assert _FIELDS == tuple(name.strip() for name in INTERRUPT_COLUMNS.split(",")), "columns and fields must match"


def _constructs_plainly(cls: type[BaseModel]) -> bool:
    """Whether `cls.model_construct(**every_field)` only sets the instance's four pydantic slots
    (no aliases, extra fields, private attributes or post-init hook to honour)."""
    return (cls.__pydantic_post_init__ is None and not cls.__private_attributes__
            and not cls.__pydantic_root_model__ and cls.model_config.get("extra") != "allow"
            and all(field.alias is None and field.validation_alias is None
                    for field in cls.model_fields.values()))


_PLAIN = _constructs_plainly(InterruptRecord)
try:  # the slots model_construct sets, set directly (BaseModel declares them in __slots__)
    _set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
    _set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
    _set_private = BaseModel.__dict__["__pydantic_private__"].__set__
except (KeyError, AttributeError):  # a pydantic that lays models out otherwise: model_construct
    _PLAIN = False
_set_dict = object.__setattr__
_new_record = InterruptRecord.__new__


def _record(values: dict, fields_set: set) -> InterruptRecord:
    """`InterruptRecord.model_construct(**values)` for a dict of every field, without
    model_construct's per-field bookkeeping. Rows were validated on the way in (and the schema's
    NOT NULL and CHECK constraints hold for every row), so listing 10k of them does not validate
    them again. Every record has every field set; one `fields_set` serves a whole batch: pydantic
    never mutates it for a frozen model (model_copy copies it before adding the updated names)."""
    if not _PLAIN:  # a pydantic feature the shortcut does not honour: take the documented way
        return InterruptRecord.model_construct(set(fields_set), **values)
    record = _new_record(InterruptRecord)
    _set_dict(record, "__dict__", values)
    _set_fields_set(record, fields_set)
    _set_extra(record, None)
    _set_private(record, None)
    return record


def _records(rows: list, payloads: list) -> list[InterruptRecord]:
    """Records for rows of INTERRUPT_COLUMNS and their decoded payloads."""
    fields_set = set(_FIELDS)
    return [_record({
        "id": id_, "thread_id": thread_id, "graph": graph, "ns": ns, "node": node,
        "checkpoint_id": checkpoint_id, "payload": payload, "created_at": created_at,
        "deadline": deadline, "on_timeout": None if on_timeout is None else loads(on_timeout),
        "status": status, "overdue": bool(overdue), "resolved_at": resolved_at,
        "resolved_by": resolved_by, "response": None if response is None else loads(response),
        "applied": bool(applied), "reason": reason, "decided_user": decided_user,
        "decided_host": decided_host,
        "response_schema": None if response_schema is None else loads(response_schema)}, fields_set)
        for (id_, thread_id, graph, ns, node, checkpoint_id, _text, created_at, deadline, on_timeout, status,
             overdue, resolved_at, resolved_by, response, applied, reason, decided_user, decided_host,
             response_schema), payload
        in zip(rows, payloads)]


def interrupt_from_row(row) -> InterruptRecord:
    return _records([row], [loads(row[6])])[0]


#: batches at least this large are built with automatic garbage collection paused
GC_PAUSE_ROWS = 1000


@contextlib.contextmanager
def _gc_paused(pause: bool) -> Iterator[None]:
    """Pause the cyclic garbage collector while a large batch of records is built.

    Listing 10k interrupts allocates some 70k containers the collector tracks (records, their
    field dicts, payload lists and dicts), all reachable and none in a cycle. With collection on,
    each young collection walks part of them, and the batch pushes enough into the old generation
    that a full collection of the whole heap ran in most 10k listings: a third of their time or
    more. Paused, they are walked once, by the first young collection after the pause. Reference
    counting frees memory as usual meanwhile. The collector is re-enabled only if it was enabled
    here (a caller that disabled it keeps it disabled)."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def interrupts_from_rows(rows: list) -> list[InterruptRecord]:
    """`interrupt_from_row` for many rows, with the payloads decoded together (`loads_many`)."""
    if not rows:
        return []
    with _gc_paused(len(rows) >= GC_PAUSE_ROWS):
        return _records(rows, loads_many([row[6] for row in rows]))


#: a pending record's fields before its row's values are set: what most pending rows leave as is
_PENDING_TEMPLATE = dict.fromkeys(_FIELDS)
_PENDING_TEMPLATE.update(status="pending", overdue=False, applied=False)


def pending_from_rows(rows: list, decisions: dict) -> list[InterruptRecord]:
    """Records for rows of PENDING_COLUMNS (all pending); `decisions` maps the `decided` rowids
    to those rows' DECISION_COLUMNS (without the rowid).

    Each record's field dict is a copy of _PENDING_TEMPLATE with the row's values assigned:
    copying a dict clones its key table in one step, which builds 10k of them in a third of
    the time of a 20-key dict literal each (bench/README.md, "Issue 15, fourth pass"); the
    field order stays the template's, i.e. the model's."""
    if not rows:
        return []
    with _gc_paused(len(rows) >= GC_PAUSE_ROWS):
        payloads = loads_many([row[6] for row in rows])
        fields_set = set(_FIELDS)
        copy = _PENDING_TEMPLATE.copy
        out: list[InterruptRecord] = []
        append = out.append
        for (id_, thread_id, graph, ns, node, checkpoint_id, _text, created_at, deadline, on_timeout,
             response_schema, overdue, decided), payload in zip(rows, payloads):
            values = copy()
            values["id"] = id_
            values["thread_id"] = thread_id
            values["graph"] = graph
            values["ns"] = ns
            values["node"] = node
            values["checkpoint_id"] = checkpoint_id
            values["payload"] = payload
            values["created_at"] = created_at
            if deadline is not None:
                values["deadline"] = deadline
            if on_timeout is not None:
                values["on_timeout"] = loads(on_timeout)
            if response_schema is not None:
                values["response_schema"] = loads(response_schema)
            if overdue:
                values["overdue"] = True
            if decided is not None:
                (values["resolved_at"], values["resolved_by"], response, applied, values["reason"],
                 values["decided_user"], values["decided_host"]) = decisions[decided]
                values["response"] = None if response is None else loads(response)
                values["applied"] = bool(applied)
            if not _PLAIN:
                append(_record(values, fields_set))
                continue
            record = _new_record(InterruptRecord)  # _record, inlined: the loop runs 10k times
            _set_dict(record, "__dict__", values)
            _set_fields_set(record, fields_set)
            _set_extra(record, None)
            _set_private(record, None)
            append(record)
        return out


def thread_from_row(row) -> ThreadRecord:
    thread_id, graph, status, created_at, updated_at, metadata, pending = row
    return ThreadRecord(thread_id=thread_id, graph=graph, status=status, created_at=time_text(created_at),
                        updated_at=time_text(updated_at), metadata=loads(metadata), pending=pending)


__all__ = ["InterruptRecord", "ThreadRecord", "InterruptNotFound", "InterruptStatus", "ThreadStatus"]
