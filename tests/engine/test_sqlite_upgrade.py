"""A file written by schema version 2 opens with this engine: it is upgraded in place to the
current version and everything in it reads back as before; its paused run then resumes.

Nothing binary is checked in: the version-2 file is built here with version 2's statements, and
its rows are what version 2 wrote for the same runs (the row formats it used are written out
below: the JSON text of each value, deflated against format 1's dictionary when that is smaller;
checkpoints with their id; interrupt writes holding the whole Interrupt; event rows holding
`at` and, for interrupt_raised, everything but the payload)."""

from __future__ import annotations

import operator
import sqlite3
import zlib
from typing import Annotated, TypedDict

from engine.checkpoint.serde import dumps, loads
from engine.checkpoint.sqlite import SCHEMA_VERSION, SqliteSaver
from engine.checkpoint.sqlite.packing import _DICTIONARY_1, related_id, unpack
from engine.checkpoint.sqlite.schema import APPLICATION_ID, MIGRATIONS
from engine.checkpoint.sqlite.compaction import expand_checkpoint
from engine.checkpoint.sqlite.times import stored_time, time_text
from engine.events import InterruptRaised, RunStarted
from engine.graph import END, START, StateGraph
from engine.types import Command, interrupt

# the interrupts table as versions 1 to 3 had it (version 4 added decided_user, decided_host)
INTERRUPT_V2_COLUMNS = ("id", "thread_id", "graph", "ns", "node", "checkpoint_id", "payload", "created_at",
                        "deadline", "on_timeout", "status", "overdue", "resolved_at", "resolved_by", "response",
                        "applied", "reason")
SYSTEM = {"role": "system", "content": "You draft email for the operations team; a human reviews each send. " * 8}


class Chat(TypedDict):
    messages: Annotated[list, operator.add]
    request: dict


def chat_graph(saver):
    def agent(state):
        call = {"id": f"call_{len(state['messages'])}", "name": "send_email",
                "args": {"to": "ops@example.com", "subject": f"Report {len(state['messages'])}"}}
        return {"messages": [{"role": "assistant", "content": "Sending the report.", "tool_calls": [call]}],
                "request": call}

    def review(state):
        answer = interrupt([{"action_request": {"action": "send_email", "args": state["request"]["args"]},
                             "config": {"allow_accept": True, "allow_respond": True, "allow_edit": True,
                                        "allow_ignore": True},
                             "description": "Send the report?"}])[0]
        return {"messages": [{"role": "tool", "tool_call_id": state["request"]["id"], "content": answer["type"]}]}

    return (StateGraph(Chat).add_node("agent", agent).add_node("review", review)
            .add_edge(START, "agent").add_edge("agent", "review").add_edge("review", END)
            .compile(checkpointer=saver, name="mail"))


def config(thread: str) -> dict:
    return {"configurable": {"thread_id": thread}}


# --- version 2's row formats --------------------------------------------------------------------

def pack_v2(text: str) -> str | bytes:
    if len(text) < 64:
        return text
    compressor = zlib.compressobj(6, zlib.DEFLATED, -12, 4, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_1)
    packed = compressor.compress(text.encode()) + compressor.flush()
    return text if len(packed) + 1 >= len(text.encode()) else b"\x01" + packed


def v2_event_row(event, payloads: dict[str, str]) -> tuple:
    if isinstance(event, InterruptRaised) and payloads.get(event.interrupt_id) == dumps(event.value):
        data = event.model_dump(exclude={"seq", "thread_id", "graph", "kind", "value"})
        data["__value_in_interrupts__"] = True
    else:
        data = event.model_dump(exclude={"seq", "thread_id", "graph", "kind"})
    return (event.at, event.thread_id, event.graph, event.kind, pack_v2(dumps(data)))


def write_v2_file(path, source: sqlite3.Connection, before: dict) -> None:
    """A version-2 file holding what version 2 wrote for the runs stored in `source` (which
    read back as `before`)."""
    db = sqlite3.connect(path)
    for version, statements in MIGRATIONS:
        if version <= 2:
            for statement in statements:
                db.execute(statement)
            db.execute("INSERT INTO schema_migrations VALUES (?, '2026-01-01T00:00:00+00:00')", (version,))
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 2")
    blob_places = {}
    for row in source.execute("SELECT rowid, * FROM checkpoints ORDER BY rowid"):
        rowid, thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, refs = row
        stored = expand_checkpoint(loads(unpack(checkpoint)), checkpoint_id, ns, loads(unpack(refs)))
        for channel, version, blob_id in loads(unpack(refs)):
            blob_places[blob_id] = (thread_id, ns, channel, dumps(version))
        db.execute("INSERT INTO checkpoints (rowid, thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, "
                   "checkpoint, metadata, value_refs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (rowid, thread_id, ns, checkpoint_id, parent_id, pack_v2(dumps(stored)), unpack(metadata),
                    unpack(refs)))
    blobs = source.execute("SELECT * FROM blobs ORDER BY id").fetchall()
    values = {blob_id: value for blob_id, _base_id, _depth, value in blobs}
    for blob_id, base_id, depth, value in blobs:
        thread_id, ns, channel, version = blob_places[blob_id]
        related = related_id(value)
        text = unpack(value, None if related is None else unpack(values[related]))
        db.execute("INSERT INTO blobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (blob_id, thread_id, ns, channel, version, base_id, depth, pack_v2(text)))
    # a blob no checkpoint names any more (left by a checkpoint written again with another value)
    db.execute("INSERT INTO blobs VALUES (900, 'paused', '', 'messages', '7', NULL, 0, '[\"orphan\"]')")
    # ids up to 1000 were used by blobs since deleted: they must never be given out again
    db.execute("UPDATE sqlite_sequence SET seq = 1000 WHERE name = 'blobs'")
    pending = {(cfg["configurable"]["thread_id"], cfg["configurable"]["checkpoint_ns"],
                cfg["configurable"]["checkpoint_id"]): writes
               for cfg, _checkpoint, _metadata, _parent, writes in before["checkpoints"]}
    for rowid, thread_id, ns, checkpoint_id, task_id, channel, task_path, _value in source.execute(
            "SELECT rowid, * FROM writes ORDER BY rowid"):
        (value,) = [value for task, written, value in pending[(thread_id, ns, checkpoint_id)]
                    if (task, written) == (task_id, channel)]
        db.execute("INSERT INTO writes (rowid, thread_id, checkpoint_ns, checkpoint_id, task_id, channel, "
                   "task_path, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (rowid, thread_id, ns, checkpoint_id, task_id, channel, task_path, pack_v2(dumps(value))))
    payloads = dict(source.execute("SELECT id, payload FROM interrupts"))
    db.executemany("INSERT INTO interrupts VALUES (" + ",".join("?" * 17) + ")",
                   source.execute("SELECT " + ", ".join(INTERRUPT_V2_COLUMNS) + " FROM interrupts").fetchall())
    # version 2 kept a thread's times as text
    db.executemany("INSERT INTO threads VALUES (?, ?, ?, ?, ?, ?)",
                   [(thread_id, graph, status, time_text(created), time_text(updated), metadata)
                    for thread_id, graph, status, created, updated, metadata in source.execute(
                        "SELECT * FROM threads ORDER BY rowid")])
    # and a time that is not in the form the saver writes stays as it is
    db.execute("INSERT INTO threads VALUES ('odd', '', 'idle', '2026-01-01 00:00', '2026-02-30T00:00:00.000000+00:00', '{}')")
    db.executemany("INSERT INTO events (seq, at, thread_id, graph, kind, data) VALUES (?, ?, ?, ?, ?, ?)",
                   [(event.seq, *v2_event_row(event, payloads)) for event in before["events"]])
    db.commit()
    db.close()


async def everything(saver: SqliteSaver) -> dict:
    return {
        "checkpoints": [(t.config, t.checkpoint, t.metadata, t.parent_config, t.pending_writes)
                        async for t in saver.alist(None)],
        "events": await saver.aread_events(),
        "pending": await saver.alist_pending(),
        "threads": await saver.alist_threads(),
        "decisions": await saver.adecisions(),
    }


async def test_a_version_2_file_is_upgraded_in_place_and_reads_and_resumes_as_before(tmp_path):
    source_path, path = tmp_path / "written-now.sqlite", tmp_path / "version-2.sqlite"
    async with SqliteSaver.from_conn_string(source_path) as saver:
        saver.delta_min_chars = 0  # every later message list is stored as a delta
        graph = chat_graph(saver)
        for thread in ("paused", "done", "twice"):
            await graph.ainvoke({"messages": [SYSTEM, {"role": "user", "content": f"Send {thread}"}]},
                                config(thread))
        await graph.ainvoke(Command(resume=[{"type": "accept", "args": None}]), config("done"))
        await graph.ainvoke(Command(resume=[{"type": "accept", "args": None}]), config("twice"))
        await graph.ainvoke({"messages": [{"role": "user", "content": "And again"}]}, config("twice"))
        # an interrupt raised outside a run, and one whose id was raised again with another value
        await saver.aput_events([
            RunStarted(at="2026-01-01T00:00:00+00:00", thread_id="legacy", graph="mail"),
            InterruptRaised(at="2026-01-01T00:00:01Z", thread_id="legacy", graph="mail", interrupt_id="x1",
                            value={"question": "first"}, deadline="2026-01-02T00:00:00Z")])
        await saver.aput_events([InterruptRaised(at="2026-01-01T00:00:02+00:00", thread_id="legacy",
                                                 graph="mail", interrupt_id="x1", value={"question": "second"})])
        before = await everything(saver)
    source = sqlite3.connect(source_path)
    try:
        write_v2_file(path, source, before)
        blob_ids = [r[0] for r in source.execute("SELECT id FROM blobs")] + [900]
    finally:
        source.close()
    assert [e.kind for e in before["events"]].count("interrupt_raised") == 6
    assert len(before["pending"]) == 3 and len(before["decisions"]) == 2

    async with SqliteSaver.from_conn_string(path) as saver:
        after = await everything(saver)
        odd = [t for t in after["threads"] if t.thread_id == "odd"]
        assert [(t.created_at, t.updated_at) for t in odd] == [("2026-01-01 00:00", "2026-02-30T00:00:00.000000+00:00")]
        after["threads"] = [t for t in after["threads"] if t.thread_id != "odd"]
        assert after == before
        db = saver._conn
        assert (await db.execute_fetchall("PRAGMA user_version"))[0][0] == SCHEMA_VERSION == 7
        assert [r[0] for r in await db.execute_fetchall("SELECT version FROM schema_migrations")] == [1, 2, 3, 4, 5, 6, 7]
        assert (await db.execute_fetchall("PRAGMA integrity_check"))[0][0] == "ok"
        assert await db.execute_fetchall("PRAGMA foreign_key_check") == []
        indexes = {r[0] for r in await db.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"checkpoints_by_id", "events_by_thread", "blobs_by_base", "blobs_by_thread",
                "sqlite_autoindex_writes_1"} & indexes == set()
        assert "writes_by_checkpoint" in indexes
        assert [r[1] for r in await db.execute_fetchall("PRAGMA table_info(blobs)")] == [
            "id", "base_id", "depth", "value"]
        assert [r[2] for r in await db.execute_fetchall("PRAGMA table_info(events)") if r[1] == "at"] == [""]
        # thread times are converted to microseconds, in the order they had as text
        times = await db.execute_fetchall("SELECT thread_id, created_at, updated_at FROM threads ORDER BY rowid")
        assert all(isinstance(t, int) for _id, *pair in times if _id != "odd" for t in pair)
        assert [pair for _id, *pair in times if _id == "odd"] == [["2026-01-01 00:00", "2026-02-30T00:00:00.000000+00:00"]]
        migrated_blobs = {r[0] for r in await db.execute_fetchall("SELECT id FROM blobs")}
        assert 900 not in migrated_blobs and len(migrated_blobs) == len(blob_ids) - 1

        # the paused run resumes; what it writes now reads back with the old rows
        graph = chat_graph(saver)
        result = await graph.ainvoke(Command(resume=[{"type": "response", "args": "not today"}]), config("paused"))
        assert [m["role"] for m in result["messages"]] == ["system", "user", "assistant", "tool"]
        assert result["messages"][-1]["content"] == "response"
        history = [s async for s in graph.aget_state_history(config("paused"))]
        paused_before = [c[2]["step"] for c in before["checkpoints"] if c[0]["configurable"]["thread_id"] == "paused"]
        assert [s.metadata["step"] for s in history][1:] == paused_before and not history[0].next
        assert {r.thread_id for r in await saver.alist_pending()} == {"twice", "legacy"}
        new_ids = [r[0] for r in await db.execute_fetchall("SELECT id FROM blobs WHERE id > 1000")]
        assert new_ids and min(new_ids) == 1001  # blob ids used before the upgrade are not reused
        again = await graph.ainvoke({"messages": [{"role": "user", "content": "One more"}]}, config("paused"))
        assert len(again["__interrupt__"]) == 1
        # written now: the interrupt write and event name the interrupt's row instead of repeating it
        (value,), = await db.execute_fetchall(
            "SELECT value FROM writes WHERE thread_id = 'paused' AND channel = '__interrupt__' ORDER BY rowid DESC LIMIT 1")
        assert unpack(value).startswith('{"__engine_type__":"interrupt_rows"')
        (data,), = await db.execute_fetchall(
            "SELECT data FROM events WHERE thread_id = 'paused' AND kind = 'interrupt_raised' ORDER BY seq DESC LIMIT 1")
        assert set(loads(unpack(data))) == {"interrupt_id", "__in_interrupts__"}
        latest = await saver.aget_tuple(config("paused"))
        assert [w[2] for w in latest.pending_writes] == [again["__interrupt__"]]
        kept = await reachable_blobs(saver, "twice", "paused", "legacy")
        await saver.adelete_thread("done")
        assert (await saver.aget_tuple(config("done"))) is None
        assert {r[0] for r in await db.execute_fetchall("SELECT id FROM blobs")} == kept
        assert (await saver.aget_tuple(config("twice"))).checkpoint == before_latest(before, "twice")


async def reachable_blobs(saver: SqliteSaver, *threads: str) -> set[int]:
    """The blobs the threads' checkpoints need, found by reading their values back one by one."""
    async def of(thread):
        return await saver._read(lambda db, _txn: saver._rows._reachable_blobs(db, saver._rows._thread_blob_refs(db, thread)))
    return set().union(*[await of(thread) for thread in threads])


def before_latest(before: dict, thread: str) -> dict:
    return next(c for cfg, c, *_ in before["checkpoints"] if cfg["configurable"]["thread_id"] == thread)


def file_at_version(path, last: int) -> sqlite3.Connection:
    """A new file with the schema as versions 1 to `last` left it (the connection, to add rows)."""
    db = sqlite3.connect(path)
    db.create_function("engine_stored_time", 1, stored_time)  # version 3 converts times with it
    for version, statements in MIGRATIONS:
        if version <= last:
            for statement in statements:
                db.execute(statement)
            db.execute("INSERT INTO schema_migrations VALUES (?, '2026-01-01T00:00:00+00:00')", (version,))
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {last}")
    return db


async def test_a_file_inbox_serve_kept_its_records_in_opens_with_them_at_version_6(tmp_path):
    """Before version 6, `inbox serve` created api_threads and api_runs itself (without owners):
    the migration keeps their rows and gives each run an owner column (None: taken over at once)."""
    path = tmp_path / "served.sqlite"
    db = file_at_version(path, 5)
    # the tables as engine/server/records.py created them, and a row in each
    db.execute("CREATE TABLE api_threads (thread_id TEXT PRIMARY KEY, created_at NOT NULL, updated_at NOT NULL, "
               "metadata TEXT NOT NULL DEFAULT '{}')")
    db.execute("CREATE TABLE api_runs (run_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, assistant_id TEXT NOT NULL, "
               "graph_id TEXT NOT NULL, status TEXT NOT NULL, created_at NOT NULL, updated_at NOT NULL, "
               "metadata TEXT NOT NULL DEFAULT '{}', kwargs TEXT NOT NULL DEFAULT '{}', "
               "multitask_strategy TEXT NOT NULL, result TEXT)")
    db.execute("CREATE INDEX api_runs_by_thread ON api_runs (thread_id, created_at)")
    db.execute("INSERT INTO api_threads VALUES ('t1', 1767225600000000, 1767225600000000, '{\"user\": \"dana\"}')")
    db.execute("INSERT INTO api_runs VALUES ('r1', 't1', 'a', 'agent', 'pending', 1767225600000000, "
               "1767225600000000, '{}', '{\"input\": 1}', 'enqueue', NULL)")
    db.commit()
    db.close()
    async with SqliteSaver.from_conn_string(path) as saver:
        assert (await saver._conn.execute_fetchall("PRAGMA user_version"))[0][0] == SCHEMA_VERSION == 7
        assert (await saver.aget_api_thread("t1"))["metadata"] == {"user": "dana"}
        run = await saver.aget_api_run("t1", "r1")
        assert (run["status"], run["kwargs"], run["owner"], run["heartbeat_at"]) == ("pending", {"input": 1}, None, None)
        assert await saver.aclaim_api_run("r1", "me", previous=None) is True


async def test_a_version_6_file_gains_claim_tokens_and_its_claimed_decisions_still_apply(tmp_path):
    """Version 7 records the token of the run whose claim decided an interrupt. A decision
    claimed before the upgrade has none, and a run given the same answer (a recovery applying
    it) still takes it as that decision; a claim made now records its token."""
    path = tmp_path / "version-6.sqlite"
    db = file_at_version(path, 6)
    db.execute("INSERT INTO interrupts (id, thread_id, graph, payload, created_at, status, resolved_at, resolved_by, "
               "response, applied) VALUES ('claimed', 't', 'g', '\"ok?\"', '2026-01-01T00:00:00.000000+00:00', "
               "'resolved', '2026-01-01T00:00:01.000000+00:00', 'api', '\"yes\"', 0)")
    db.execute("INSERT INTO interrupts (id, thread_id, graph, payload, created_at) "
               "VALUES ('pending', 't', 'g', '\"ok?\"', '2026-01-01T00:00:00.000000+00:00')")
    db.commit()
    db.close()
    async with SqliteSaver.from_conn_string(path) as saver:
        assert (await saver._conn.execute_fetchall("PRAGMA user_version"))[0][0] == SCHEMA_VERSION == 7
        assert await saver.aclaim_token("claimed") is None
        async with saver.transaction():  # the recovery's claim, then a new decision
            await saver.aclaim_answers("t", "g", {"claimed": "yes", "pending": "no"}, by=None, token="run-2")
        claimed = await saver.aget_interrupt("claimed")
        assert (claimed.resolved_by, claimed.resolved_at, claimed.response) == (
            "api", "2026-01-01T00:00:01.000000+00:00", "yes")
        assert await saver.aclaim_token("claimed") is None and await saver.aclaim_token("pending") == "run-2"
        assert (await saver.aget_interrupt("pending")).resolved_by == "api"
