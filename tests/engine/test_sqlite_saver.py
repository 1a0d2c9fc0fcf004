"""SqliteSaver: the saver protocol with InMemorySaver's exact semantics, transactions, the file
format's safety rules, the pending-interrupt index, exactly-once decisions, events across
processes, and storage size. Every test uses a real file under tmp_path. What every store must
do (the pending index, decisions, leases, deadlines, events) is checked for SQLite in
test_store_conformance.py."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import random
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.checkpoint.memory import InMemorySaver
from engine.checkpoint.sqlite.packing import unpack
from engine.checkpoint.sqlite import APPLICATION_ID, SCHEMA_VERSION, SqliteSaver
from engine.checkpoint.sqlite.commit_probe import commit_probe
from engine.errors import AlreadyResolved, StorageError
from engine.events import InterruptRaised, RunFailed, RunFinished, RunStarted

REPO = Path(__file__).resolve().parents[2]
from saver_helpers import T0, at, cfg  # noqa: E402  (tests/engine is on sys.path)


def ckpt(checkpoint_id: str, values: dict, versions: dict, step: int = 0, **extra) -> dict:
    return {"v": 1, "id": checkpoint_id, "ts": at(step), "step": step,
            "channel_values": values, "channel_versions": versions,
            "tasks": [{"id": f"task-{checkpoint_id}", "name": "node"}], "waiting": {},
            "breakpoint": None, **extra}


async def collect(aiterator) -> list:
    return [item async for item in aiterator]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
async def sqlite_saver(tmp_path):
    saver = await SqliteSaver.aopen(tmp_path / "saver.sqlite")
    saver.delta_min_chars = 0  # exercise append deltas on small test values too
    yield saver
    await saver.aclose()


@pytest.fixture(params=["memory", "sqlite"])
async def any_saver(request, tmp_path):
    """The shared battery runs against both savers: their answers must be identical."""
    if request.param == "memory":
        yield InMemorySaver()
        return
    saver = await SqliteSaver.aopen(tmp_path / "battery.sqlite")
    saver.delta_min_chars = 0
    yield saver
    await saver.aclose()


# === the shared protocol battery ===================================================================

async def test_missing_thread_or_checkpoint_is_none(any_saver):
    assert await any_saver.aget_tuple(cfg("nobody")) is None
    await any_saver.aput(cfg(), ckpt("0001", {"a": 1}, {"a": 1}), {}, {"a": 1})
    assert await any_saver.aget_tuple(cfg(checkpoint_id="9999")) is None
    assert await any_saver.aget_tuple(cfg(ns="other")) is None
    assert await collect(any_saver.alist(cfg("nobody"))) == []


async def test_put_then_get_latest_and_by_id(any_saver):
    first = ckpt("0001", {"messages": ["hi"], "n": 1}, {"messages": 1, "n": 1}, step=0)
    c1 = await any_saver.aput(cfg(), first, {"source": "input", "step": -1}, {"messages": 1, "n": 1})
    assert c1 == cfg(checkpoint_id="0001")
    second = ckpt("0002", {"messages": ["hi", "there"], "n": 1}, {"messages": 2, "n": 1}, step=1)
    c2 = await any_saver.aput(c1, second, {"source": "loop", "step": 0}, {"messages": 2})

    latest = await any_saver.aget_tuple(cfg())
    assert latest.config == c2
    assert latest.checkpoint == second
    assert latest.metadata == {"source": "loop", "step": 0}
    assert latest.parent_config == c1
    assert latest.pending_writes == []

    older = await any_saver.aget_tuple(c1)
    assert older.checkpoint == first and older.parent_config is None


async def test_a_point_read_falls_back_to_the_connection_thread_when_the_inline_one_is_in_use(sqlite_saver):
    """aget_tuple reads on the caller's thread when it can; when that connection is busy (another
    thread holds it, or SQLite asks to wait) it reads through aiosqlite, with the same result."""
    first = ckpt("0001", {"messages": ["hi"]}, {"messages": 1})
    await sqlite_saver.aput(cfg(), first, {"source": "input", "step": -1}, {"messages": 1})
    inline = await sqlite_saver.aget_tuple(cfg())
    calls = []
    original = sqlite_saver._read

    async def counting_read(fn, *args):
        calls.append(fn.__name__)
        return await original(fn, *args)

    sqlite_saver._read = counting_read
    assert await sqlite_saver.aget_tuple(cfg()) == inline and calls == []  # served inline
    with sqlite_saver._inline_lock:  # e.g. another thread is reading through it
        fallback = await sqlite_saver.aget_tuple(cfg())
    assert fallback == inline and calls == ["_get_tuple"]
    async with sqlite_saver.transaction():  # inside a transaction: must see its own writes
        second = ckpt("0002", {"messages": ["hi", "there"]}, {"messages": 2})
        await sqlite_saver.aput(cfg(checkpoint_id="0001"), second, {"source": "loop", "step": 0}, {"messages": 2})
        assert (await sqlite_saver.aget_tuple(cfg())).checkpoint == second
    assert calls == ["_get_tuple", "_get_tuple"]


async def test_latest_means_last_written_and_list_sorts_by_id(any_saver):
    await any_saver.aput(cfg(), ckpt("b", {}, {}), {"i": 1}, {})
    await any_saver.aput(cfg(), ckpt("a", {}, {}), {"i": 2}, {})
    assert (await any_saver.aget_tuple(cfg())).checkpoint["id"] == "a"
    assert [t.checkpoint["id"] for t in await collect(any_saver.alist(cfg()))] == ["b", "a"]
    # writing an existing id again replaces it in place
    await any_saver.aput(cfg(), ckpt("b", {}, {}), {"i": 3}, {})
    assert (await any_saver.aget_tuple(cfg())).checkpoint["id"] == "a"
    assert (await any_saver.aget_tuple(cfg(checkpoint_id="b"))).metadata == {"i": 3}


async def test_list_before_limit_and_filter(any_saver):
    config = cfg()
    for i in range(1, 6):
        meta = {"step": i, "source": "loop" if i % 2 else "input"}
        if i == 3:
            meta["extra"] = None
        config = await any_saver.aput(config, ckpt(f"000{i}", {"x": i}, {"x": i}, step=i), meta, {"x": i})
    ids = lambda items: [t.checkpoint["id"] for t in items]  # noqa: E731
    assert ids(await collect(any_saver.alist(cfg()))) == ["0005", "0004", "0003", "0002", "0001"]
    assert ids(await collect(any_saver.alist(cfg(), before=cfg(checkpoint_id="0004")))) == ["0003", "0002", "0001"]
    assert ids(await collect(any_saver.alist(cfg(), limit=2))) == ["0005", "0004"]
    assert ids(await collect(any_saver.alist(cfg(), limit=0))) == []
    assert ids(await collect(any_saver.alist(cfg(), filter={"source": "loop"}))) == ["0005", "0003", "0001"]
    assert ids(await collect(any_saver.alist(cfg(), filter={"source": "loop"}, limit=2))) == ["0005", "0003"]
    assert ids(await collect(any_saver.alist(cfg(), filter={"source": "loop"},
                                             before=cfg(checkpoint_id="0005")))) == ["0003", "0001"]
    # a key that is missing matches None, as with dict.get
    assert ids(await collect(any_saver.alist(cfg(), filter={"extra": None}))) == ["0005", "0004", "0003", "0002", "0001"]
    assert ids(await collect(any_saver.alist(cfg(), filter={"step": 99}))) == []
    # the config's checkpoint_id does not restrict listing
    assert len(await collect(any_saver.alist(cfg(checkpoint_id="0002")))) == 5


async def test_list_all_threads_and_namespaces_with_tied_ids(any_saver):
    await any_saver.aput(cfg("A"), ckpt("1", {}, {}), {"w": "A1"}, {})
    await any_saver.aput(cfg("B"), ckpt("1", {}, {}), {"w": "B1"}, {})
    await any_saver.aput(cfg("A", "sub"), ckpt("1", {}, {}), {"w": "Asub1"}, {})
    await any_saver.aput(cfg("B"), ckpt("2", {}, {}), {"w": "B2"}, {})
    await any_saver.aput(cfg("A"), ckpt("3", {}, {}), {"w": "A3"}, {})
    listed = [t.metadata["w"] for t in await collect(any_saver.alist(None))]
    assert listed == ["A3", "B2", "A1", "Asub1", "B1"]
    assert [t.metadata["w"] for t in await collect(any_saver.alist(None, before=cfg("x", checkpoint_id="2")))] == \
        ["A1", "Asub1", "B1"]
    assert [t.metadata["w"] for t in await collect(any_saver.alist(cfg("A", "sub")))] == ["Asub1"]
    assert [t.metadata["w"] for t in await collect(any_saver.alist(None, limit=2))] == ["A3", "B2"]


async def test_pending_writes_upsert_by_task_and_channel(any_saver):
    c1 = await any_saver.aput(cfg(), ckpt("0001", {}, {}), {}, {})
    await any_saver.aput_writes(c1, [("a", 1), ("b", (2, "tuple"))], "task1", "path1")
    await any_saver.aput_writes(c1, [("c", {"x": 3})], "task2")
    await any_saver.aput_writes(c1, [("a", "replaced")], "task1")
    await any_saver.aput_writes(cfg(checkpoint_id="other"), [("z", 0)], "task1")
    await any_saver.aput_writes(cfg(), [("z", 0)], "task1")  # no checkpoint id: never read back
    got = await any_saver.aget_tuple(c1)
    assert got.pending_writes == [("task1", "a", "replaced"), ("task1", "b", (2, "tuple")), ("task2", "c", {"x": 3})]
    listed = await collect(any_saver.alist(cfg()))
    assert listed[0].pending_writes == got.pending_writes


async def test_delete_thread_removes_only_that_thread(any_saver):
    for thread in ("keep", "drop"):
        c = await any_saver.aput(cfg(thread), ckpt("0001", {"v": thread}, {"v": 1}), {}, {"v": 1})
        await any_saver.aput_writes(c, [("x", 1)], "t")
        await any_saver.aput(cfg(thread, "sub"), ckpt("0001", {}, {}), {}, {})
    await any_saver.adelete_thread("drop")
    assert await any_saver.aget_tuple(cfg("drop")) is None
    assert await any_saver.aget_tuple(cfg("drop", "sub")) is None
    kept = await any_saver.aget_tuple(cfg("keep"))
    assert kept.checkpoint["channel_values"] == {"v": "keep"} and kept.pending_writes == [("t", "x", 1)]
    assert {t.config["configurable"]["thread_id"] for t in await collect(any_saver.alist(None))} == {"keep"}
    # a thread can be written again after deletion
    await any_saver.aput(cfg("drop"), ckpt("0002", {"v": 2}, {"v": 1}), {}, {"v": 1})
    assert (await any_saver.aget_tuple(cfg("drop"))).checkpoint["channel_values"] == {"v": 2}


async def test_channel_values_follow_versions(any_saver):
    """Only changed channels are passed in new_versions; unversioned values stay inline; a
    channel with a version but no value is absent; JSON-tagged types come back as themselves."""
    when = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    values1 = {"messages": [{"id": 1}], "meta": (1, 2), "raw": b"\x00\xff", "when": when, "inline": "x"}
    versions1 = {"messages": 1, "meta": 1, "raw": 1, "when": 1, "gone": 1}
    c1 = await any_saver.aput(cfg(), ckpt("0001", values1, versions1), {}, dict(versions1))
    values2 = {**values1, "messages": [{"id": 1}, {"id": 2}], "inline": "y"}
    versions2 = {**versions1, "messages": 2}
    c2 = await any_saver.aput(c1, ckpt("0002", values2, versions2, step=1), {}, {"messages": 2})
    values3 = {"when": when, "messages": [{"id": 3}], "meta": (1, 2), "raw": b"\x00\xff"}  # reordered, replaced
    versions3 = {**versions2, "messages": 3}
    await any_saver.aput(c2, ckpt("0003", values3, versions3, step=2), {}, {"messages": 3})

    got = [(await any_saver.aget_tuple(cfg(checkpoint_id=i))).checkpoint for i in ("0001", "0002", "0003")]
    assert [g["channel_values"] for g in got] == [values1, values2, values3]
    assert list(got[2]["channel_values"]) == list(values3)  # key order kept
    assert got[0]["channel_values"]["meta"] == (1, 2) and isinstance(got[0]["channel_values"]["raw"], bytes)
    assert got[2]["channel_versions"] == versions3


async def test_forks_reusing_a_version_number_keep_their_own_values(any_saver):
    root = await any_saver.aput(cfg(), ckpt("0001", {"m": ["a"]}, {"m": 1}), {}, {"m": 1})
    left = await any_saver.aput(root, ckpt("0002", {"m": ["a", "left"]}, {"m": 2}), {}, {"m": 2})
    right = await any_saver.aput(root, ckpt("0003", {"m": ["a", "right"]}, {"m": 2}), {}, {"m": 2})
    await any_saver.aput(left, ckpt("0004", {"m": ["a", "left"], "k": 1}, {"m": 2, "k": 1}), {}, {"k": 1})
    await any_saver.aput(right, ckpt("0005", {"m": ["a", "right"], "k": 1}, {"m": 2, "k": 1}), {}, {"k": 1})
    assert (await any_saver.aget_tuple(cfg(checkpoint_id="0004"))).checkpoint["channel_values"]["m"] == ["a", "left"]
    assert (await any_saver.aget_tuple(cfg(checkpoint_id="0005"))).checkpoint["channel_values"]["m"] == ["a", "right"]
    assert (await any_saver.aget_tuple(left)).checkpoint["channel_values"]["m"] == ["a", "left"]


async def test_values_are_stored_even_when_new_versions_is_empty(any_saver):
    """A checkpoint put without a parent and with no new_versions still keeps its values."""
    await any_saver.aput(cfg(), ckpt("0001", {"a": [1, 2], "b": "x"}, {"a": 5, "b": 7}), {}, {})
    assert (await any_saver.aget_tuple(cfg())).checkpoint["channel_values"] == {"a": [1, 2], "b": "x"}


async def test_checkpoint_without_channel_values_key(any_saver):
    await any_saver.aput(cfg(), {"v": 1, "id": "0001", "channel_versions": {}}, {}, {})
    assert (await any_saver.aget_tuple(cfg())).checkpoint == {"v": 1, "id": "0001", "channel_versions": {}}


async def test_unstorable_values_are_refused(any_saver):
    with pytest.raises(TypeError):
        await any_saver.aput(cfg(), ckpt("0001", {"a": object()}, {"a": 1}), {}, {"a": 1})
    assert await any_saver.aget_tuple(cfg()) is None


async def test_differential_against_memory(tmp_path):
    """A seeded random workload (forks, namespaces, tied ids across threads, growing lists,
    replaced lists, deletions) gives identical answers from both savers after every step."""
    memory = InMemorySaver()
    durable = await SqliteSaver.aopen(tmp_path / "diff.sqlite")
    durable.delta_min_chars = 0
    durable.max_delta_chain = 3  # force full copies between deltas
    rng = random.Random(20260101)
    made: dict[tuple[str, str], list[tuple[str, dict, dict]]] = {}  # (thread, ns) -> [(id, values, versions)]
    counters: dict[tuple[str, str], int] = {}
    try:
        for step in range(400):
            op = rng.random()
            thread, ns = rng.choice(["t1", "t2", "t3"]), rng.choice(["", "", "sub"])
            key = (thread, ns)
            if op < 0.45:
                history = made.setdefault(key, [])
                if history and rng.random() < 0.8:
                    parent_id, values, versions = history[-1] if rng.random() < 0.75 else rng.choice(history)
                    parent = cfg(thread, ns, parent_id)
                else:
                    parent, values, versions = cfg(thread, ns), {}, {}
                values, versions = copy.deepcopy(values), dict(versions)
                changed = {}
                for channel in rng.sample(["msgs", "count", "note", "tags"], rng.randint(0, 3)):
                    if channel == "msgs":
                        old = values.get("msgs", [])
                        values["msgs"] = old + [{"n": step, "t": "x" * rng.randint(0, 40)}] \
                            if rng.random() < 0.8 else [{"reset": step}]
                    elif channel == "count":
                        values["count"] = step
                    elif channel == "note":
                        if "note" in values and rng.random() < 0.3:
                            del values["note"]  # cleared channel: keeps its version, loses its value
                        else:
                            values["note"] = ("tuple", step)
                    else:
                        values["tags"] = sorted({rng.randint(0, 9) for _ in range(3)})
                    versions[channel] = versions.get(channel, 0) + 1
                    changed[channel] = versions[channel]
                if rng.random() < 0.2:
                    values["unversioned"] = step
                counters[key] = counters.get(key, 0) + 1
                checkpoint_id = f"{counters[key]:05d}"
                checkpoint = ckpt(checkpoint_id, values, versions, step=step)
                metadata = {"step": step, "source": rng.choice(["loop", "input", "update"])}
                results = [await s.aput(parent, copy.deepcopy(checkpoint), metadata, changed)
                           for s in (memory, durable)]
                assert results[0] == results[1]
                history.append((checkpoint_id, values, versions))
            elif op < 0.6:
                history = made.get(key)
                target = cfg(thread, ns, rng.choice(history)[0]) if history else cfg(thread, ns, "00001")
                writes = [(rng.choice(["a", "b", "__interrupt__"]), {"v": step}) for _ in range(rng.randint(1, 3))]
                task = rng.choice(["task1", "task2"])
                for s in (memory, durable):
                    await s.aput_writes(target, writes, task, "p")
            elif op < 0.8:
                history = made.get(key)
                target = cfg(thread, ns, rng.choice(history)[0]) if history and rng.random() < 0.5 else cfg(thread, ns)
                got = [await s.aget_tuple(target) for s in (memory, durable)]
                assert got[0] == got[1], f"step {step}: get_tuple differs"
            elif op < 0.97:
                config = None if rng.random() < 0.3 else cfg(thread, ns)
                kwargs = {}
                if rng.random() < 0.4:
                    kwargs["limit"] = rng.randint(0, 4)
                if rng.random() < 0.3:
                    kwargs["before"] = cfg(thread, ns, f"{rng.randint(1, 12):05d}")
                if rng.random() < 0.3:
                    kwargs["filter"] = {"source": rng.choice(["loop", "input", "update"])}
                got = [await collect(s.alist(config, **kwargs)) for s in (memory, durable)]
                assert got[0] == got[1], f"step {step}: list differs ({config}, {kwargs})"
            else:
                for s in (memory, durable):
                    await s.adelete_thread(thread)
                for k in [k for k in made if k[0] == thread]:
                    del made[k]
        assert await collect(memory.alist(None)) == await collect(durable.alist(None))
    finally:
        await durable.aclose()


# === transactions ================================================================================

async def _table_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("checkpoints", "blobs", "writes", "threads", "interrupts", "events")}
    finally:
        conn.close()


async def _write_superstep(saver: SqliteSaver, thread: str = "t1", interrupt_id: str = "i1") -> None:
    config = await saver.aput(cfg(thread), ckpt("0001", {"m": ["x"] * 10}, {"m": 1}), {}, {"m": 1})
    await saver.aput_writes(config, [("__interrupt__", {"value": 1})], "task")
    await saver.aput_events([RunStarted(at=at(0), thread_id=thread, graph="g"),
                             InterruptRaised(at=at(1), thread_id=thread, graph="g", interrupt_id=interrupt_id,
                                             value={"q": 1})])


async def test_transaction_rollback_leaves_nothing(sqlite_saver, tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        async with sqlite_saver.transaction():
            await _write_superstep(sqlite_saver)
            assert (await sqlite_saver.aget_tuple(cfg())) is not None  # visible inside
            raise RuntimeError("boom")
    assert await _table_counts(tmp_path / "saver.sqlite") == {
        "checkpoints": 0, "blobs": 0, "writes": 0, "threads": 0, "interrupts": 0, "events": 0}
    assert await sqlite_saver.aget_tuple(cfg()) is None
    assert await sqlite_saver.aread_events() == []
    assert await sqlite_saver.alist_pending() == []
    # the rolled-back blob ids are reused: the value cache must not serve stale text for them
    await sqlite_saver.aput(cfg(), ckpt("0002", {"m": ["other"] * 3}, {"m": 1}), {}, {"m": 1})
    assert (await sqlite_saver.aget_tuple(cfg())).checkpoint["channel_values"] == {"m": ["other"] * 3}


async def test_transaction_commits_together_and_only_at_the_end(sqlite_saver, tmp_path):
    path = tmp_path / "saver.sqlite"
    async with sqlite_saver.transaction():
        await _write_superstep(sqlite_saver)
        assert (await _table_counts(path))["checkpoints"] == 0  # another connection sees nothing yet
    counts = await _table_counts(path)
    assert counts["checkpoints"] == 1 and counts["events"] == 2 and counts["interrupts"] == 1
    assert counts["writes"] == 1 and counts["threads"] == 1


async def test_nested_transaction_is_a_savepoint(sqlite_saver):
    async with sqlite_saver.transaction():
        await sqlite_saver.aput(cfg("outer"), ckpt("0001", {}, {}), {}, {})
        with pytest.raises(ValueError):
            async with sqlite_saver.transaction():
                await sqlite_saver.aput(cfg("inner"), ckpt("0001", {"a": [1]}, {"a": 1}), {}, {"a": 1})
                raise ValueError
    assert await sqlite_saver.aget_tuple(cfg("outer")) is not None
    assert await sqlite_saver.aget_tuple(cfg("inner")) is None


def _thread_rows(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT thread_id, status FROM threads").fetchall())
    finally:
        conn.close()


async def test_a_rolled_back_savepoint_keeps_the_thread_rows_of_what_came_before_it(sqlite_saver, tmp_path):
    """A checkpoint's threads row is written at the commit (unless a run event of the
    transaction writes it): a savepoint rolled back in between forgets only its own."""
    async with sqlite_saver.transaction():
        await sqlite_saver.aput(cfg("outer"), ckpt("0001", {}, {}), {}, {})
        with pytest.raises(ValueError):
            async with sqlite_saver.transaction():
                await sqlite_saver.aput(cfg("inner"), ckpt("0001", {}, {}), {}, {})
                raise ValueError
        await sqlite_saver.aput(cfg("after"), ckpt("0001", {}, {}), {}, {})
    assert _thread_rows(tmp_path / "saver.sqlite") == {"outer": "idle", "after": "idle"}


async def test_a_checkpoint_and_a_run_event_in_one_transaction_write_one_thread_row(sqlite_saver, tmp_path):
    async with sqlite_saver.transaction():
        config = await sqlite_saver.aput(cfg("t1"), ckpt("0001", {}, {}), {}, {})
        await sqlite_saver.aput(config, ckpt("0002", {}, {}, step=1), {}, {})
        await sqlite_saver.aqueue_events([RunStarted(at=at(0), thread_id="t1", graph="g")])
    assert _thread_rows(tmp_path / "saver.sqlite") == {"t1": "busy"}
    await sqlite_saver.aput(cfg("t2"), ckpt("0001", {}, {}), {}, {})  # outside a transaction
    assert _thread_rows(tmp_path / "saver.sqlite") == {"t1": "busy", "t2": "idle"}


async def test_a_checkpoint_put_again_under_its_id_replaces_it_and_its_blobs(sqlite_saver, tmp_path):
    await sqlite_saver.aput(cfg("t1"), ckpt("0001", {"m": ["a"]}, {"m": 1}), {"step": 0}, {"m": 1})
    await sqlite_saver.aput(cfg("t1"), ckpt("0001", {"m": ["b", "c"]}, {"m": 2}), {"step": 9}, {"m": 2})
    saved = await sqlite_saver.aget_tuple(cfg("t1"))
    assert saved.checkpoint["channel_values"] == {"m": ["b", "c"]} and saved.metadata == {"step": 9}
    counts = await _table_counts(tmp_path / "saver.sqlite")
    assert (counts["checkpoints"], counts["blobs"]) == (1, 1)  # the replaced row's blob is gone


async def test_an_interrupt_raised_twice_in_one_batch_reads_back_as_raised(sqlite_saver):
    """The row a batch inserts is not read back: the second event, whose value that row does
    not hold, keeps its own."""
    await sqlite_saver.aput_events([
        InterruptRaised(at=at(0), thread_id="t", graph="g", interrupt_id="i1", value={"q": 1}),
        InterruptRaised(at=at(1), thread_id="t", graph="g", interrupt_id="i1", value={"q": 2})])
    events = await sqlite_saver.aread_events()
    assert [e.value for e in events] == [{"q": 1}, {"q": 2}]


async def test_taking_a_lease_says_busy_before_moved_on(sqlite_saver):
    """The lease and the latest-checkpoint check are one statement when both hold; when it
    changes nothing, a live lease of someone else's is reported first, as before."""
    from engine.errors import ThreadBusy, ThreadMovedOn

    await sqlite_saver.aput(cfg("t"), ckpt("0001", {}, {}), {}, {})
    await sqlite_saver.alease_acquire("t", "other:1:x", 30)
    await sqlite_saver.aput(cfg("t", checkpoint_id="0001"), ckpt("0002", {}, {}, step=1), {}, {})
    with pytest.raises(ThreadBusy):
        await sqlite_saver.alease_acquire("t", "me:1:x", 30, expect="0001")
    await sqlite_saver.alease_release("t", "other:1:x")
    with pytest.raises(ThreadMovedOn):
        await sqlite_saver.alease_acquire("t", "me:1:x", 30, expect="0001")
    assert await sqlite_saver.alease_holder("t") is None
    await sqlite_saver.alease_acquire("t", "me:1:x", 30, expect="0002")
    await sqlite_saver.alease_acquire("t", "me:1:x", 30, expect="0002")  # ours already: extended
    assert (await sqlite_saver.alease_holder("t"))[0] == "me:1:x"


async def test_a_failed_write_inside_a_transaction_saves_none_of_it(sqlite_saver, tmp_path):
    """aput and aput_writes inside a transaction run with its next round trip; if one of them
    fails there, the caller that triggered it sees the error and COMMIT refuses the rest."""
    async with sqlite_saver.transaction():
        await sqlite_saver.aput(cfg("ok"), ckpt("0001", {"a": 1}, {"a": 1}), {}, {"a": 1})
    with pytest.raises(StorageError, match="failed earlier in this transaction"):
        async with sqlite_saver.transaction():
            # 'bad' is not reported as changed and its parent lacks it, so it is serialised late
            await sqlite_saver.aput(cfg("t1"), ckpt("0001", {"bad": object()}, {"bad": 1}), {}, {})
            with pytest.raises(TypeError):
                await sqlite_saver.aput_events([RunStarted(at=at(0), thread_id="t1")])
    counts = await _table_counts(tmp_path / "saver.sqlite")
    assert (counts["checkpoints"], counts["events"]) == (1, 0)


async def test_a_cancelled_caller_leaves_the_saver_usable(sqlite_saver):
    async def slow_transaction():
        async with sqlite_saver.transaction():
            await sqlite_saver.aput_events([RunStarted(at=at(0), thread_id="cancelled")])
            await asyncio.sleep(10)

    task = asyncio.create_task(slow_transaction())
    await asyncio.sleep(0.05)
    waiters = [asyncio.create_task(sqlite_saver.aput_events([RunStarted(at=at(1), thread_id=f"w{i}")]))
               for i in range(3)]
    await asyncio.sleep(0.01)
    waiters[1].cancel()  # cancelled while waiting for the lock
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert isinstance(results[1], asyncio.CancelledError)
    assert [e.thread_id for e in await sqlite_saver.aread_events()] == ["w0", "w2"]


async def test_transactions_never_interleave_across_tasks_and_loops(sqlite_saver):
    async def writer(name: str, loops: int = 5):
        for i in range(loops):
            async with sqlite_saver.transaction():
                await sqlite_saver.aput_events([RunStarted(at=at(i), thread_id=name)])
                await asyncio.sleep(0.002)
                await sqlite_saver.aput_events([RunFinished(at=at(i), thread_id=name)])

    def other_loop():
        asyncio.run(writer("thread-loop"))

    worker = threading.Thread(target=other_loop)
    worker.start()
    await asyncio.gather(writer("task-a"), writer("task-b"))
    await asyncio.to_thread(worker.join)
    events = await sqlite_saver.aread_events()
    assert len(events) == 30
    for first, second in zip(events[::2], events[1::2]):
        assert (first.kind, second.kind) == ("run_started", "run_finished")
        assert first.thread_id == second.thread_id


async def test_saver_opened_on_the_engine_loop_works_from_another_loop(tmp_path):
    saver = await asyncio.to_thread(SqliteSaver.open, tmp_path / "shared.sqlite")  # opened via run_sync
    try:
        await saver.aput(cfg(), ckpt("0001", {"a": 1}, {"a": 1}), {}, {"a": 1})
        from_sync = await asyncio.to_thread(saver.get_tuple, cfg())
        assert from_sync.checkpoint["channel_values"] == {"a": 1}
        await asyncio.gather(*(saver.aput_events([RunStarted(at=at(i), thread_id=f"t{i}")]) for i in range(10)),
                             asyncio.to_thread(saver.read_events))
        assert await saver.alast_event_seq() == 10
    finally:
        await asyncio.to_thread(saver.close)


# === the file =====================================================================================

async def test_file_is_created_0600_in_wal_with_our_schema(tmp_path):
    path = tmp_path / "new.sqlite"
    async with SqliteSaver.from_conn_string(str(path)) as saver:
        await _write_superstep(saver)
        for suffix in ("", "-wal", "-shm"):
            side = Path(str(path) + suffix)
            if side.exists():
                assert stat.S_IMODE(side.stat().st_mode) == 0o600, suffix
        rows = await saver._conn.execute_fetchall("PRAGMA journal_mode")
        assert rows[0][0] == "wal"
        assert (await saver._conn.execute_fetchall("PRAGMA foreign_keys"))[0][0] == 1
        assert (await saver._conn.execute_fetchall("PRAGMA busy_timeout"))[0][0] == 30000
        assert (await saver._conn.execute_fetchall("PRAGMA synchronous"))[0][0] == 1  # NORMAL
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == list(range(1, SCHEMA_VERSION + 1))
    conn.close()
    # reopening keeps the data and does not migrate again
    async with SqliteSaver.from_conn_string(path) as saver:
        assert (await saver.aget_tuple(cfg())).checkpoint["channel_values"] == {"m": ["x"] * 10}
        assert len(await saver.alist_pending()) == 1


async def test_an_empty_existing_file_is_adopted(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.touch()
    async with SqliteSaver.from_conn_string(path) as saver:
        await saver.aput(cfg(), ckpt("0001", {}, {}), {}, {})
    assert sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def _assert_refused(path: Path, *fragments: str) -> StorageError:
    before = file_digest(path)
    siblings = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(StorageError) as caught:
        SqliteSaver.open(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert file_digest(path) == before, "a refused file must not be modified"
    assert sorted(p.name for p in path.parent.iterdir()) == siblings
    return caught.value


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("these are my notes, not a database\n" * 20)
    _assert_refused(path, "not a SQLite database", "left untouched", "new file")
    short = tmp_path / "short.db"
    short.write_bytes(b"SQLite")
    _assert_refused(short, "not a SQLite database")


def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.commit()
    conn.close()
    _assert_refused(path, "did not create", "1 table", "left untouched")

    other = tmp_path / "other-app.db"
    conn = sqlite3.connect(other)
    conn.execute("PRAGMA application_id = 1234")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    _assert_refused(other, "application_id 0x4d2")


def test_a_foreign_wal_file_is_refused_untouched(tmp_path):
    path = tmp_path / "wal-app.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    _assert_refused(path, "did not create")


def test_a_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "future.sqlite"
    with SqliteSaver.from_conn_string(path) as saver:
        saver.put(cfg(), ckpt("0001", {}, {}), {}, {})
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    _assert_refused(path, "newer version", f"schema version {SCHEMA_VERSION + 1}", "upgrade")


def test_a_corrupt_file_is_refused_untouched(tmp_path):
    path = tmp_path / "corrupt.sqlite"
    with SqliteSaver.from_conn_string(path) as saver:
        saver.put(cfg(), ckpt("0001", {"a": 1}, {"a": 1}), {}, {"a": 1})
    data = bytearray(path.read_bytes())
    data[100:4096] = os.urandom(4096 - 100)  # the schema page's body
    data[68:72] = b"\x00\x00\x00\x00"  # and no application id, so SQLite itself must read it
    path.write_bytes(bytes(data))
    _assert_refused(path, "left untouched")


def test_bad_paths_are_explained(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        SqliteSaver.open(tmp_path / "missing-dir" / "x.sqlite")
    with pytest.raises(StorageError, match="is a directory"):
        SqliteSaver.open(tmp_path)


async def test_closed_saver_says_so(tmp_path):
    saver = await SqliteSaver.aopen(tmp_path / "c.sqlite")
    await saver.aclose()
    await saver.aclose()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        await saver.aget_tuple(cfg())


async def test_in_memory_database(tmp_path):
    async with SqliteSaver.from_conn_string(":memory:") as saver:
        await _write_superstep(saver)
        assert (await saver.aget_tuple(cfg())).checkpoint["channel_values"]["m"] == ["x"] * 10
        assert [r.id for r in await saver.alist_pending()] == ["i1"]


# === events and the tables they maintain ==========================================================

async def test_event_seq_is_monotonic_across_batches_and_reopen(tmp_path):
    path = tmp_path / "seq.sqlite"
    seqs = []
    for _ in range(3):
        async with SqliteSaver.from_conn_string(path) as saver:
            seqs += [e.seq for e in await saver.aput_events([RunStarted(at=at(i), thread_id="t") for i in range(3)])]
            seqs += [e.seq for e in await saver.aput_events([RunFinished(at=at(9), thread_id="t")])]
            async with saver.transaction():
                seqs += [e.seq for e in await saver.aput_events([RunFailed(at=at(9), thread_id="t")])]
    assert seqs == list(range(1, 16))
    async with SqliteSaver.from_conn_string(path) as saver:
        assert [e.seq for e in await saver.aread_events()] == seqs


async def test_delete_thread_cancels_its_pending_interrupts(sqlite_saver):
    await _write_superstep(sqlite_saver, "t1", "i1")
    await _write_superstep(sqlite_saver, "t2", "i2")
    await sqlite_saver.adelete_thread("t1")
    assert [r.id for r in await sqlite_saver.alist_pending()] == ["i2"]
    record = await sqlite_saver.aget_interrupt("i1")
    assert (record.status, record.reason) == ("cancelled", "thread deleted")
    assert [t.thread_id for t in await sqlite_saver.alist_threads()] == ["t2"]


async def test_payloads_round_trip(sqlite_saver, tmp_path):
    deep: object = "bottom"
    for level in range(150):
        deep = {"level": level, "child": [deep]}
    payload = {
        "unicode": "héllo wörld — 日本語 — 🚀👩‍👩‍👧 — עברית — \u200b\u0000 control\x1b[31mred\x1b[0m",
        "deep": deep,
        "args": {"body": "x" * (1024 * 1024), "numbers": [1, -2.5, 1e300, None, True]},
        "action_request": {"action": "send_email", "args": {"to": "ä@example.com"}},
    }
    await sqlite_saver.aput_events([InterruptRaised(at=at(0), thread_id="t1", interrupt_id="big", value=payload)])
    assert (await sqlite_saver.aget_interrupt("big")).payload == payload
    assert (await sqlite_saver.alist_pending(action="send_email"))[0].payload == payload
    assert (await sqlite_saver.alist_pending(text="日本語"))[0].id == "big"
    assert (await sqlite_saver.aread_events())[0].value == payload
    await sqlite_saver.aresolve("big", {"type": "edit", "args": payload}, by="ünï")
    assert (await sqlite_saver.adecisions())[0].response == {"type": "edit", "args": payload}

    config = await sqlite_saver.aput(cfg(), ckpt("0001", {"p": payload}, {"p": 1}), {"note": "🚀"}, {"p": 1})
    await sqlite_saver.aput_writes(config, [("__interrupt__", payload)], "task")
    async with SqliteSaver.from_conn_string(tmp_path / "saver.sqlite") as reopened:
        got = await reopened.aget_tuple(cfg())
        assert got.checkpoint["channel_values"]["p"] == payload
        assert got.pending_writes == [("task", "__interrupt__", payload)]
        assert got.metadata == {"note": "🚀"}


# === size and scale ==============================================================================

async def test_500_turns_of_a_growing_history_stay_small(tmp_path):
    """Unchanged channels are not rewritten and an append-only message list is stored as
    deltas, so 500 turns cost about 500 messages, not 500 copies of a growing history."""
    path = tmp_path / "turns.sqlite"
    system_prompt = "You are a careful assistant. " * 400  # ~12 KB, never changes
    messages: list[dict] = []
    versions = {"messages": 0, "turn": 0, "system": 1}
    config = cfg("chat")
    naive_bytes = 0
    async with SqliteSaver.from_conn_string(path) as saver:
        for turn in range(500):
            message = {"id": f"msg-{turn:04d}", "role": "user" if turn % 2 else "assistant",
                       "content": f"turn {turn}: " + "lorem ipsum dolor sit amet " * 6}
            messages = messages + [message]
            versions = {**versions, "messages": versions["messages"] + 1, "turn": versions["turn"] + 1}
            new_versions = {"messages": versions["messages"], "turn": versions["turn"]}
            if turn == 0:
                new_versions["system"] = 1
            checkpoint = ckpt(f"{turn:06d}", {"messages": messages, "turn": turn, "system": system_prompt},
                              dict(versions), step=turn)
            naive_bytes += len(json.dumps(checkpoint))
            async with saver.transaction():
                config = await saver.aput(config, checkpoint, {"step": turn, "source": "loop"}, new_versions)
                await saver.aput_writes(config, [("messages", [message])], f"task-{turn}")
                await saver.aput_events([RunFinished(at=at(turn), thread_id="chat", outcome="done")])
        latest = await saver.aget_tuple(cfg("chat"))
        assert latest.checkpoint["channel_values"]["messages"] == messages
        middle = await saver.aget_tuple(cfg("chat", checkpoint_id=f"{250:06d}"))
        assert middle.checkpoint["channel_values"]["messages"] == messages[:251]
        assert middle.checkpoint["channel_values"]["turn"] == 250
        # which blobs hold each channel: the checkpoints' value_refs name them
        blob_ids: dict[str, set[int]] = {}
        for (refs,) in await saver._conn.execute_fetchall("SELECT value_refs FROM checkpoints"):
            for channel, _version, blob_id in json.loads(unpack(refs)):
                blob_ids.setdefault(channel, set()).add(blob_id)
        assert len(blob_ids["system"]) == 1
        messages_ids = sorted(blob_ids["messages"])
        assert len(messages_ids) == 500
        full_copies = (await saver._conn.execute_fetchall(
            f"SELECT count(*) FROM blobs WHERE base_id IS NULL AND id IN ({','.join('?' * 500)})",
            messages_ids))[0][0]
    size = path.stat().st_size + sum(Path(str(path) + s).stat().st_size
                                     for s in ("-wal", "-shm") if Path(str(path) + s).exists())
    print(f"\n500 turns: {size / 1e6:.2f} MB on disk ({full_copies} full copies of the history); "
          f"storing every checkpoint whole would take {naive_bytes / 1e6:.1f} MB")
    assert size < 5_000_000
    assert size < naive_bytes / 5


async def test_listing_pending_at_20k_uses_the_index(sqlite_saver):
    events = [InterruptRaised(at=(T0 + timedelta(milliseconds=i)).isoformat(), thread_id=f"thread-{i}",
                              graph="fleet", interrupt_id=f"int-{i:05d}", node="review",
                              value={"action_request": {"action": "send_email", "args": {"n": i}}})
              for i in range(20_000)]
    started = time.perf_counter()
    async with sqlite_saver.transaction():
        stored = await sqlite_saver.aput_events(events)
    filled = time.perf_counter() - started
    assert stored[-1].seq - stored[0].seq == 19_999
    # a checkpoint per thread too, so a scan of checkpoints would be visible in the timing
    started = time.perf_counter()
    page = await sqlite_saver.alist_pending(limit=50)
    first_page = time.perf_counter() - started
    assert [r.id for r in page] == [f"int-{i:05d}" for i in range(50)]
    started = time.perf_counter()
    late_page = await sqlite_saver.alist_pending(limit=50, offset=19_950)
    last_page = time.perf_counter() - started
    assert late_page[-1].id == "int-19999"
    assert (await sqlite_saver.acount_by_status())["pending"] == 20_000
    sql, params = sqlite_saver._queries._pending_query(50, 0, None, None, None, None)
    plan = " | ".join(row[3] for row in await sqlite_saver._query("EXPLAIN QUERY PLAN " + sql, params))
    assert "USING INDEX interrupts_by_status" in plan and "TEMP B-TREE" not in plan, plan
    assert "checkpoints" not in plan
    print(f"\n20k pending: filled in {filled:.2f} s, first page {first_page * 1000:.1f} ms, "
          f"last page {last_page * 1000:.1f} ms; plan: {plan}")
    assert first_page < 0.5


# === other processes ==============================================================================

_CHILD_RAISE = textwrap.dedent("""
    import sys, time
    from engine.checkpoint.sqlite import SqliteSaver
    from engine.events import InterruptRaised
    from engine._internal.sync import run_sync
    saver = SqliteSaver.open(sys.argv[1])
    event = InterruptRaised(at="2026-01-01T00:00:00+00:00", thread_id="remote", graph="g",
                            interrupt_id="from-child", value={"hello": "from another process"})
    saver.put_events([event])
    print(time.time(), flush=True)
    saver.close()
""")


async def test_subscriber_sees_an_interrupt_raised_by_another_process(tmp_path):
    path = tmp_path / "shared.sqlite"
    async with SqliteSaver.from_conn_string(path) as saver:
        await saver.aput_events([RunStarted(at=at(0), thread_id="local")])
        since = await saver.alast_event_seq()

        async def first_remote_interrupt():
            async for event in saver.subscribe(since=since):
                if event.kind == "interrupt_raised":
                    return event, time.time()

        listener = asyncio.create_task(first_remote_interrupt())
        await asyncio.sleep(0.1)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _CHILD_RAISE, str(path), env=subprocess_env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await child.communicate()
        assert child.returncode == 0, err.decode()
        committed = float(out.decode().split()[0])
        event, seen = await asyncio.wait_for(listener, timeout=2.0)
        assert event.interrupt_id == "from-child" and event.value == {"hello": "from another process"}
        assert event.seq == since + 1
        latency = max(0.0, seen - committed)
        print(f"\ncross-process event latency: {latency * 1000:.0f} ms")
        assert latency < 2.0
        assert [r.id for r in await saver.alist_pending()] == ["from-child"]


async def test_an_idle_subscriber_queries_only_after_a_commit(tmp_path, monkeypatch):
    """Between polls the subscriber looks at the wal-index header (commit_probe.py): an idle
    inbox reads the events table once, not 20 times a second, and another process's commit
    is still noticed."""
    path = tmp_path / "idle.sqlite"
    async with SqliteSaver.from_conn_string(path) as saver:
        await saver.aput_events([RunStarted(at=at(0), thread_id="local")])
        probe = commit_probe(saver.path)
        assert probe() and not probe()
        reads, seen = [], []
        real_read = saver.aread_events

        async def counted_read(*args, **kwargs):
            reads.append(time.monotonic())
            return await real_read(*args, **kwargs)

        monkeypatch.setattr(saver, "aread_events", counted_read)

        async def follow():
            async for event in saver.subscribe(since=await saver.alast_event_seq()):
                seen.append(event)

        follower = asyncio.create_task(follow())
        await asyncio.sleep(0.6)  # 12 polls of 50 ms with no commit anywhere
        idle_reads = len(reads)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _CHILD_RAISE, str(path), env=subprocess_env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await child.communicate()
        assert child.returncode == 0, err.decode()
        assert probe(), "another process's commit changed the wal-index header"
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        follower.cancel()
    assert idle_reads == 1, reads
    assert [event.interrupt_id for event in seen] == ["from-child"]


_CHILD_RACE = textwrap.dedent("""
    import json, sys, time
    from engine.checkpoint.sqlite import SqliteSaver
    from engine.errors import AlreadyResolved
    path, name, start, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    saver = SqliteSaver.open(path)
    saver.get_interrupt("warm-up")
    results = []
    for i in range(count):
        # both processes fire at the same planned instant for each id
        delay = start + i * 0.03 - time.time()
        if delay > 0:
            time.sleep(delay)
        try:
            saver.resolve(f"race-{i}", {"type": "accept", "winner": name}, by=name)
            results.append(["won", None])
        except AlreadyResolved as lost:
            results.append(["lost", lost.by])
    print(json.dumps(results), flush=True)
    saver.close()
""")


def test_two_processes_resolving_the_same_interrupt_exactly_one_wins(tmp_path):
    path = tmp_path / "race.sqlite"
    rounds = 20
    with SqliteSaver.from_conn_string(path) as saver:
        saver.put_events([InterruptRaised(at=at(i), thread_id=f"t{i}", interrupt_id=f"race-{i}", value=i)
                          for i in range(rounds)])
    start = time.time() + 3.0  # both children are up and connected by then
    children = [subprocess.Popen([sys.executable, "-c", _CHILD_RACE, str(path), name, repr(start), str(rounds)],
                                 env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for name in ("alice", "bob")]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        outputs.append(json.loads(out))
    alice, bob = outputs
    wins = {"alice": 0, "bob": 0}
    with SqliteSaver.from_conn_string(path) as saver:
        resolved_events = [e for e in saver.read_events() if e.kind == "interrupt_resolved"]
        for i in range(rounds):
            outcome = {alice[i][0], bob[i][0]}
            assert outcome == {"won", "lost"}, (i, alice[i], bob[i])
            winner = "alice" if alice[i][0] == "won" else "bob"
            loser_saw = bob[i][1] if winner == "alice" else alice[i][1]
            assert loser_saw == winner
            wins[winner] += 1
            record = saver.get_interrupt(f"race-{i}")
            assert (record.status, record.resolved_by, record.response["winner"]) == ("resolved", winner, winner)
            assert [e.by for e in resolved_events if e.interrupt_id == f"race-{i}"] == [winner]
    print(f"\nrace wins: {wins}")


_CHILD_WRITER = textwrap.dedent("""
    import sys
    from engine.checkpoint.sqlite import SqliteSaver
    from engine.events import RunFinished, RunStarted
    from engine._internal.sync import run_sync
    path, name, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    saver = SqliteSaver.open(path)
    payload = {"messages": [{"role": "user", "content": "x" * 300}]}

    async def one_run(i):
        thread = f"{name}-{i}"
        config = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
        async with saver.transaction():
            await saver.aput(config, {"v": 1, "id": f"{i:06d}", "ts": "2026-01-01T00:00:00+00:00",
                                      "channel_values": payload, "channel_versions": {"messages": 1}},
                             {"step": 0}, {"messages": 1})
            await saver.aput_events([RunStarted(at="2026-01-01T00:00:00+00:00", thread_id=thread),
                                     RunFinished(at="2026-01-01T00:00:01+00:00", thread_id=thread)])
        print(i, flush=True)

    for i in range(runs):
        run_sync(one_run(i))
    saver.close()
""")


def _spawn_writer(path: Path, name: str, runs: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _CHILD_WRITER, str(path), name, str(runs)],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_four_processes_writing_at_once_never_see_locked(tmp_path):
    path = tmp_path / "busy.sqlite"
    SqliteSaver.open(path).close()
    runs = 200
    writers = [_spawn_writer(path, f"p{n}", runs) for n in range(4)]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert "locked" not in err
        assert len(out.split()) == runs
    with SqliteSaver.from_conn_string(path) as saver:
        threads = saver.list_threads()
        assert len(threads) == 4 * runs and {t.status for t in threads} == {"done"}
        events = saver.read_events()
        assert len(events) == 2 * 4 * runs and [e.seq for e in events] == list(range(1, 8 * runs + 1))
        assert len(list(saver.list(None))) == 4 * runs


def test_kill_9_mid_write_leaves_only_whole_transactions(tmp_path):
    path = tmp_path / "killed.sqlite"
    SqliteSaver.open(path).close()
    writer = _spawn_writer(path, "victim", 100_000)
    for _ in range(30):  # let it commit a few dozen runs, then kill it mid-stream
        writer.stdout.readline()
    writer.kill()
    writer.wait(timeout=30)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with SqliteSaver.from_conn_string(path) as saver:
        checkpoints = list(saver.list(None))
        events = saver.read_events()
        assert len(checkpoints) >= 30
        # every committed run has its checkpoint, both events and a finished thread: nothing half-written
        assert len(events) == 2 * len(checkpoints)
        assert {t.status for t in saver.list_threads()} == {"done"}
        assert all(c.checkpoint["channel_values"]["messages"][0]["content"] == "x" * 300 for c in checkpoints)
        # and the file takes new writes
        saver.put(cfg("after"), ckpt("0001", {}, {}), {}, {})


# === the sync form ==============================================================================

def test_sync_twins(tmp_path):
    path = tmp_path / "sync.sqlite"
    with SqliteSaver.from_conn_string(path) as saver:
        config = saver.put(cfg(), ckpt("0001", {"a": [1]}, {"a": 1}), {"source": "input"}, {"a": 1})
        saver.put_writes(config, [("a", 2)], "task")
        got = saver.get_tuple(cfg())
        assert got.checkpoint["channel_values"] == {"a": [1]} and got.pending_writes == [("task", "a", 2)]
        assert [t.config for t in saver.list(cfg())] == [config]
        assert [e.seq for e in saver.put_events([RunStarted(at=at(0), thread_id="t1", graph="g"),
                                                 InterruptRaised(at=at(1), thread_id="t1", graph="g",
                                                                 interrupt_id="i1", value={"q": 1},
                                                                 deadline=at(10))])] == [1, 2]
        assert saver.last_event_seq() == 2 and len(saver.read_events(since=1)) == 1
        assert [r.id for r in saver.list_pending(graph="g")] == ["i1"]
        assert saver.count_by_status()["pending"] == 1
        assert saver.get_interrupt("i1").payload == {"q": 1}
        assert saver.list_threads(status="busy")[0].thread_id == "t1"
        assert [r.id for r in saver.list_due(now=at(20))] == ["i1"]
        assert saver.resolve("i1", {"type": "accept"}, by="sync-user").resolved_by == "sync-user"
        with pytest.raises(AlreadyResolved):
            saver.resolve("i1", {"type": "accept"}, by="late")
        assert [r.id for r in saver.list_claimed_unapplied()] == ["i1"]
        assert [r.id for r in saver.decisions(thread_id="t1")] == ["i1"]
        assert saver.expire_due(now=at(20)) == []
        saver.delete_thread("t1")
        assert saver.get_tuple(cfg()) is None
    opened = SqliteSaver.open(path)
    try:
        assert opened.get_interrupt("i1").status == "cancelled"  # its thread was deleted
    finally:
        opened.close()


async def test_sync_twins_refuse_inside_a_running_loop(sqlite_saver):
    with pytest.raises(RuntimeError, match="async form"):
        sqlite_saver.list_pending()
