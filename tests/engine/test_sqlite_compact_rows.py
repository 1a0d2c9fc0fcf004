"""SqliteSaver's short row forms (schema version 3) are used only where they lose nothing: an
interrupt write or an interrupt_raised event names the interrupt's row only when that row holds
exactly what it would repeat, and a channel value deflated against a sibling value reads back
without the cache and without its sibling being loaded."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from engine.checkpoint.serde import loads
from engine.checkpoint.sqlite import SqliteSaver
from engine.checkpoint.sqlite.packing import related_id, unpack
from engine.checkpoint.sqlite.times import stored_time, time_text
from engine.errors import StorageError
from engine.events import InterruptRaised, RunStarted
from engine.types import Interrupt

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(seconds: float = 0) -> str:
    """A time in the form the saver's columns hold (what the runtime's clock gives)."""
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def cfg(thread: str = "t1", checkpoint_id: str | None = None) -> dict:
    configurable = {"thread_id": thread, "checkpoint_ns": ""}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def ckpt(checkpoint_id: str, values: dict, versions: dict) -> dict:
    return {"v": 1, "id": checkpoint_id, "ts": at(), "step": 0, "channel_values": values,
            "channel_versions": versions, "tasks": [{"name": "review", "id": "task"}], "waiting": {}}


@pytest.fixture
async def saver(tmp_path):
    opened = await SqliteSaver.aopen(tmp_path / "compact.sqlite")
    yield opened
    await opened.aclose()


def raw(saver: SqliteSaver, sql: str, params=()) -> list:
    db = sqlite3.connect(saver.path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


async def pause(saver: SqliteSaver, thread: str, interrupts: list[Interrupt], events: list) -> dict:
    """One superstep as the runtime writes it: checkpoint, interrupt write, then the events."""
    async with saver.transaction():
        config = await saver.aput(cfg(thread), ckpt("0001", {}, {}), {}, {})
        await saver.aput_writes(config, [("__interrupt__", interrupts)], "task")
        await saver.aqueue_events(events)
    return config


def raised(thread: str, item: Interrupt, **fields) -> InterruptRaised:
    base = dict(at=at(1), thread_id=thread, graph="g", interrupt_id=item.id, ns=item.ns, node=item.node,
                value=item.value, deadline=item.deadline, on_timeout=item.on_timeout, checkpoint_id="0001")
    return InterruptRaised(**{**base, **fields})


def stored_write(saver: SqliteSaver, thread: str) -> str:
    (value,), = raw(saver, "SELECT value FROM writes WHERE thread_id = ? AND channel = '__interrupt__'", (thread,))
    return unpack(value)


def stored_event(saver: SqliteSaver, seq: int) -> dict:
    (data,), = raw(saver, "SELECT data FROM events WHERE seq = ?", (seq,))
    return loads(unpack(data))


async def read_back(saver: SqliteSaver, thread: str) -> list[Interrupt]:
    fresh = await SqliteSaver.aopen(saver.path)  # no cache: everything comes from the file
    try:
        (write,) = (await fresh.aget_tuple(cfg(thread))).pending_writes
        return write[2]
    finally:
        await fresh.aclose()


def full(items: list[Interrupt]) -> list[dict]:
    return [item.to_json() for item in items]


async def test_an_interrupt_write_names_rows_that_hold_the_same(saver):
    items = [Interrupt(value=[{"action_request": {"action": "pay", "args": {"n": 1}}}], id="i1", ns="review:t",
                       node="review", deadline="2026-01-02T00:00:00.000000+00:00", on_timeout={"type": "ignore"}),
             Interrupt(value="second", id="i2", ns="review:t", node="review", when="after")]
    await pause(saver, "t1", items, [raised("t1", item) for item in items])
    assert stored_write(saver, "t1").startswith('{"__engine_type__":"interrupt_rows"')
    assert full(await read_back(saver, "t1")) == full(items)
    events = await saver.aread_events()
    assert [stored_event(saver, e.seq) for e in events] == [{"interrupt_id": i, "__in_interrupts__": True}
                                                            for i in ("i1", "i2")]
    assert events == [raised("t1", item).model_copy(update={"seq": n}) for n, item in enumerate(items, 1)]


async def test_an_interrupt_write_keeps_what_its_row_does_not_hold(saver):
    # the row of "old" holds another payload (the id was raised before with another value)
    await saver.aput_events([raised("t0", Interrupt(value="before", id="old"))])
    changed = Interrupt(value="after", id="old", ns="n:t", node="n")
    await pause(saver, "t1", [changed], [raised("t1", changed)])
    # a deadline the row keeps in normalized form
    late = Interrupt(value="v", id="late", deadline="2026-01-02T00:00:00Z")
    await pause(saver, "t2", [late], [raised("t2", late)])
    # an interrupt with no row (no event was stored for it)
    unknown = Interrupt(value="v", id="unknown")
    await pause(saver, "t3", [unknown], [RunStarted(at=at(), thread_id="t3")])
    # a write that is not a list of interrupts
    async with saver.transaction():
        config = await saver.aput(cfg("t4"), ckpt("0001", {}, {}), {}, {})
        await saver.aput_writes(config, [("__interrupt__", {"value": 1})], "task")
    for thread, items in (("t1", [changed]), ("t2", [late]), ("t3", [unknown])):
        assert not stored_write(saver, thread).startswith('{"__engine_type__":"interrupt_rows"'), thread
        assert full(await read_back(saver, thread)) == full(items), thread
    assert await read_back(saver, "t4") == {"value": 1}
    events = await saver.aread_events()
    assert events[1:3] == [raised("t1", changed).model_copy(update={"seq": 2}),
                           raised("t2", late).model_copy(update={"seq": 3})]
    second, third = stored_event(saver, 2), stored_event(saver, 3)
    assert second["value"] == "after" and not {"__value_in_interrupts__", "__in_interrupts__"} & set(second)
    # the payload is the row's; the deadline is not (the row holds it normalized)
    assert (third["deadline"], third["__value_in_interrupts__"], "value" in third) == \
        ("2026-01-02T00:00:00Z", True, False)


async def test_an_event_keeps_a_time_that_is_not_in_the_column_form(saver):
    await saver.aput_events([RunStarted(at="2026-01-01T00:00:00Z", thread_id="t1"),
                             RunStarted(at="2026-01-01T00:00:01+00:00", thread_id="t1"),
                             RunStarted(at=at(2), thread_id="t1")])
    events = await saver.aread_events()
    assert [e.at for e in events] == ["2026-01-01T00:00:00Z", "2026-01-01T00:00:01+00:00", at(2)]
    assert ["at" in stored_event(saver, e.seq) for e in events] == [True, True, False]
    # the column holds each time (normalized) as microseconds since 1970
    stored = [value for (value,) in raw(saver, "SELECT at FROM events ORDER BY seq")]
    assert [type(value) for value in stored] == [int, int, int]
    assert [time_text(value) for value in stored] == [at(0), at(1), at(2)]
    assert stored[1] - stored[0] == 1_000_000


async def test_a_value_repeating_a_sibling_is_stored_against_it(saver, tmp_path):
    call = {"id": "call_1", "name": "send_email",
            "args": {"to": "ops@example.com", "body": "The weekly report, with every incident and its fix. " * 5}}
    messages = [{"role": "user", "content": "Send the report"},
                {"role": "assistant", "content": "Sending it.", "tool_calls": [call]}]
    first = await saver.aput(cfg(), ckpt("0001", {"messages": messages, "request": call},
                                         {"messages": 1, "request": 1}), {}, {"messages": 1, "request": 1})
    rows = raw(saver, "SELECT id, value FROM blobs ORDER BY id")
    (messages_id, messages_value), (request_id, request_value) = rows
    assert related_id(messages_value) is None and related_id(request_value) == messages_id
    assert len(request_value) < 20
    # a later checkpoint shares the request's blob; its messages blob is a whole copy
    saver.delta_min_chars = 10**9
    later = messages + [{"role": "tool", "content": "sent"}]
    await saver.aput(first, ckpt("0002", {"messages": later, "request": call}, {"messages": 2, "request": 1}),
                     {}, {"messages": 2})
    fresh = await SqliteSaver.aopen(tmp_path / "compact.sqlite")
    try:
        latest = await fresh.aget_tuple(cfg())
        assert latest.checkpoint["channel_values"] == {"messages": later, "request": call}
        assert (await fresh.aget_tuple(cfg(checkpoint_id="0001"))).checkpoint["channel_values"] == \
            {"messages": messages, "request": call}
    finally:
        await fresh.aclose()
    # the row the request was stored against is gone: the file is damaged, and says so
    db = sqlite3.connect(saver.path)
    db.execute("DELETE FROM blobs WHERE id = ?", (messages_id,))
    db.commit()
    db.close()
    fresh = await SqliteSaver.aopen(tmp_path / "compact.sqlite")
    try:
        with pytest.raises(StorageError, match="damaged"):
            await fresh.aget_tuple(cfg(checkpoint_id="0002"))
    finally:
        await fresh.aclose()


async def test_a_checkpoint_reads_back_exactly_whatever_it_leaves_out(saver):
    """ts, task ids and channel_versions are left out only when rebuilding them from the row
    gives back the same text (key order included)."""
    from engine.checkpoint.ids import new_checkpoint_id
    from engine.runtime.loop import task_id_for

    now = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone.utc)
    made = []

    def checkpoint(ns: str, parent: str | None, **changes) -> dict:
        checkpoint_id = new_checkpoint_id(now, parent, f"t1\x00{ns}")
        base = {"v": 1, "id": checkpoint_id, "ts": (now + timedelta(microseconds=37)).isoformat(), "step": 1,
                "channel_values": {"a": [1], "b": "x"}, "channel_versions": {"a": 2, "b": 1},
                "tasks": [{"name": "n", "id": task_id_for(checkpoint_id, ns, "n", 0)},
                          {"name": "m", "arg": {"k": 1}, "id": task_id_for(checkpoint_id, ns, "m", 1)}],
                "waiting": {}}
        for key, value in changes.items():
            base[key] = value(checkpoint_id) if callable(value) else value
        return base

    variants = [
        {},
        {"ts": (now + timedelta(microseconds=-5)).isoformat()},           # before the id's time
        {"ts": now.replace(microsecond=0).isoformat()},                     # isoformat without micros
        {"ts": "2026-03-04T05:06:07.891048Z"},                             # not isoformat()
        {"ts": now.astimezone(timezone(timedelta(hours=2))).isoformat()},  # not UTC
        {"ts": 12},
        {"tasks": lambda i: [{"name": "n", "id": "other"}, {"name": "m", "id": task_id_for(i, "", "m", 1)}]},
        {"tasks": lambda i: [{"id": task_id_for(i, "", "n", 0), "name": "n"}]},  # id not the last key
        {"tasks": lambda i: [{"name": "n"}, {"name": "m", "id": task_id_for(i, "", "m", 1)}]},  # one has none
        {"tasks": []},
        {"channel_versions": {"b": 1, "a": 2}},                             # another order
        {"channel_versions": {"a": 2, "b": 1, "gone": 3}},                  # a version without a value
        {"channel_versions": {"a": 2}},                                     # b has no version: inline
        {"id_is_not_a_uuid": True},
    ]
    parent = None
    for number, changes in enumerate(variants):
        ns = "sub:1" if number % 3 == 2 else ""
        item = checkpoint(ns, parent, **changes)
        if changes.get("id_is_not_a_uuid"):
            item["id"] = f"plain-{number}"
        versions = item["channel_versions"]
        config = await saver.aput({"configurable": {"thread_id": "t1", "checkpoint_ns": ns}}, item, {"n": number},
                                  {ch: v for ch, v in versions.items() if ch in item["channel_values"]})
        made.append((config, item))
        parent = item["id"] if ns == "" else parent
    fresh = await SqliteSaver.aopen(saver.path)
    try:
        for config, item in made:
            got = (await fresh.aget_tuple(config)).checkpoint
            assert json.dumps(got) == json.dumps(item), item
    finally:
        await fresh.aclose()
    (stored,), = raw(saver, "SELECT checkpoint FROM checkpoints ORDER BY rowid LIMIT 1")
    assert loads(unpack(stored))["id"] == ["ts", "tasks", "versions"]


def test_times_are_stored_as_microseconds_only_when_they_read_back_the_same():
    for text in ("2026-01-01T00:00:00.000000+00:00", "1969-12-31T23:59:59.999999+00:00",
                 "9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00.000000+00:00"):
        assert isinstance(stored_time(text), int) and time_text(stored_time(text)) == text
    for text in ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.000000Z", "not a time at all, 32 chars+00:00",
                 "2026-01-01T00:00:00.000000+01:00", ""):
        assert stored_time(text) == text


def blobs_needed(saver: SqliteSaver) -> set[int]:
    """Every blob the checkpoints in the file need (computed here from the raw rows)."""
    rows = {blob_id: (base_id, value) for blob_id, base_id, value in raw(saver, "SELECT id, base_id, value FROM blobs")}
    needed: set[int] = set()
    todo = [ref[2] for (refs,) in raw(saver, "SELECT value_refs FROM checkpoints")
            for ref in loads(unpack(refs)) if ref[2] is not None]
    while todo:
        blob_id = todo.pop()
        if blob_id in needed:
            continue
        needed.add(blob_id)
        base_id, value = rows[blob_id]
        todo += [linked for linked in (base_id, related_id(value)) if linked is not None]
    return needed


async def test_blobs_a_rewritten_checkpoint_leaves_behind_are_deleted_and_no_others(saver):
    """Blobs carry no thread: they go when no checkpoint needs them (directly, as the base of
    a delta, or as the text a sibling was deflated against) and only then."""
    saver.delta_min_chars = 0

    def values(n: int, request: str) -> dict:
        calls = [{"id": f"call_{i}", "name": "send_email", "args": {"body": f"{request} {i} " * 20}}
                 for i in range(1, n + 1)]
        return {"messages": [{"role": "assistant", "tool_calls": [call]} for call in calls], "request": calls[-1]}

    async def put(thread: str, checkpoint_id: str, parent: str | None, n: int, request: str, changed: dict):
        config = cfg(thread, parent)
        return await saver.aput(config, ckpt(checkpoint_id, values(n, request), {"messages": n, "request": changed.get("request", 1)}),
                                {}, changed)

    await put("other", "0001", None, 1, "keep", {"messages": 1, "request": 1})
    others = blobs_needed(saver)
    await put("t1", "0001", None, 1, "first", {"messages": 1, "request": 1})
    await put("t1", "0002", "0001", 2, "first", {"messages": 2})
    before = set(r[0] for r in raw(saver, "SELECT id FROM blobs"))
    assert any(related_id(value) is not None for (value,) in raw(saver, "SELECT value FROM blobs"))
    assert raw(saver, "SELECT count(*) FROM blobs WHERE base_id IS NOT NULL") == [(1,)]
    # 0001 written again: its old blobs are still needed by 0002 (a delta base, a shared value)
    await put("t1", "0001", None, 1, "second", {"messages": 1, "request": 1})
    assert before <= {r[0] for r in raw(saver, "SELECT id FROM blobs")}
    assert {r[0] for r in raw(saver, "SELECT id FROM blobs")} == blobs_needed(saver)
    # 0002 written again on top of the new 0001: nothing needs the first blobs any more
    await put("t1", "0002", "0001", 2, "second", {"messages": 2, "request": 2})
    assert {r[0] for r in raw(saver, "SELECT id FROM blobs")} == blobs_needed(saver)
    assert {r[0] for r in raw(saver, "SELECT id FROM blobs")} & before == others
    fresh = await SqliteSaver.aopen(saver.path)
    try:
        for checkpoint_id, n in (("0001", 1), ("0002", 2)):
            got = (await fresh.aget_tuple(cfg("t1", checkpoint_id))).checkpoint["channel_values"]
            assert got == values(n, "second")
        await fresh.adelete_thread("t1")
        assert {r[0] for r in raw(saver, "SELECT id FROM blobs")} == blobs_needed(saver) != set()
        assert (await fresh.aget_tuple(cfg("other"))).checkpoint["channel_values"] == values(1, "keep")
    finally:
        await fresh.aclose()


def test_short_texts_are_stored_raw_and_short_rows_stored_deflated_before_still_read():
    # Below packing.MIN_CHARS a row is stored as its text: deflating it costs more CPU than the
    # few bytes it saves. Files written when short rows were deflated (from 16 characters on)
    # hold such rows: they read back as ever.
    import zlib

    from engine.checkpoint.sqlite import packing

    short = '{"source":"loop","step":1,"parents":{}}'
    assert len(short) < packing.MIN_CHARS and packing.pack(short) == short
    longer = '{"role":"tool","tool_call_id":"call_1","content":"Sent the weekly report to the lead."}'
    assert isinstance(packing.pack(longer), bytes) and unpack(packing.pack(longer)) == longer
    old = zlib.compressobj(6, zlib.DEFLATED, -12, 4, zlib.Z_DEFAULT_STRATEGY, packing._DICTIONARY_2)
    stored_before = bytes((2,)) + old.compress(short.encode()) + old.flush()
    assert len(stored_before) < len(short)
    assert unpack(stored_before) == short
