"""`durability="sync" | "async" | "exit"`: when a run's steps are committed, and that every
mode leaves the same history once the call returns. Real SQLite files throughout."""

import asyncio
import operator
import sqlite3
import uuid
from typing import Annotated, TypedDict

import pytest

from engine.checkpoint.sqlite import SqliteSaver
from engine.constants import START
from engine.errors import GraphConfigError, StorageError
from engine.graph import StateGraph
from engine.types import Command, interrupt

MODES = ["sync", "async", "exit"]


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


def cfg(thread=None):
    return {"configurable": {"thread_id": thread or str(uuid.uuid4())}}


def committed_checkpoints(path, thread_id) -> int:
    """What another connection (another process) sees of the thread right now."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchone()[0]
    finally:
        db.close()


def approval_graph(saver, seen=None):
    def first(state):
        return {"log": ["first"]}

    def ask(state):
        answer = interrupt({"question": "go?"})
        return {"log": [f"ask:{answer}"]}

    def last(state):
        if seen is not None:
            seen.append(state["log"])
        return {"log": ["last"]}

    return (StateGraph(Log).add_node("first", first).add_node("ask", ask).add_node("last", last)
            .add_edge(START, "first").add_edge("first", "ask").add_edge("ask", "last")
            .compile(checkpointer=saver))


def history(graph, config):
    return [(s.values, s.next, s.metadata["step"]) for s in graph.get_state_history(config)]


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_leaves_the_same_history_and_resumes(saver, mode):
    reference = approval_graph(saver)
    ref_config = cfg()
    reference.invoke({"log": []}, ref_config, durability="sync")
    reference.invoke(Command(resume="yes"), ref_config, durability="sync")

    graph = approval_graph(saver)
    config = cfg()
    out = graph.invoke({"log": []}, config, durability=mode)
    assert [i.value for i in out["__interrupt__"]] == [{"question": "go?"}]
    out = graph.invoke(Command(resume="yes"), config, durability=mode)
    assert out == {"log": ["first", "ask:yes", "last"]}
    assert history(graph, config) == history(reference, ref_config)


@pytest.mark.parametrize("mode", MODES)
def test_the_pause_is_committed_before_invoke_returns(tmp_path, mode):
    path = str(tmp_path / "runs.sqlite")
    with SqliteSaver.from_conn_string(path) as saver:
        graph = approval_graph(saver)
        config = cfg("t1")
        graph.invoke({"log": []}, config, durability=mode)
        # Another connection sees the checkpoints (the input's two: step -1 and step 0, then
        # the step that paused) and the pending interrupt at once.
        assert committed_checkpoints(path, "t1") == 3
        assert [r.payload for r in saver.list_pending()] == [{"question": "go?"}]


@pytest.mark.parametrize("mode, visible_during_last_node", [("sync", 4), ("async", 4), ("exit", 0)])
def test_when_each_mode_commits(tmp_path, mode, visible_during_last_node):
    """Seen from another connection while the last node runs: "sync" has committed every
    earlier step; "async" may still be writing the step just before; "exit" nothing yet."""
    path = str(tmp_path / "runs.sqlite")
    counts = []

    class Slow(TypedDict):
        log: Annotated[list[str], operator.add]

    async def step(state):
        return {"log": ["step"]}

    async def last(state):
        await asyncio.sleep(0.2)  # long enough for a background commit to land
        counts.append(committed_checkpoints(path, "t1"))
        return {"log": ["last"]}

    async def main():
        async with SqliteSaver.from_conn_string(path) as saver:
            graph = (StateGraph(Slow).add_node("a", step).add_node("b", step).add_node("c", last)
                     .add_edge(START, "a").add_edge("a", "b").add_edge("b", "c").compile(checkpointer=saver))
            await graph.ainvoke({"log": []}, cfg("t1"), durability=mode)

    asyncio.run(main())
    # "async": the step before the last node has had 0.2 s to commit.
    assert counts == [visible_during_last_node]
    assert committed_checkpoints(path, "t1") == 5  # the input's two (steps -1 and 0), then one after each node


def test_async_mode_raises_a_failed_commit_and_saves_nothing_after_it(tmp_path):
    path = str(tmp_path / "runs.sqlite")
    blocker = sqlite3.connect(path, isolation_level=None)

    async def second(state):
        await asyncio.sleep(0.1)  # let the commits so far land
        blocker.execute("BEGIN IMMEDIATE")  # another process takes the write lock mid-run
        return {"log": ["second"]}

    async def third(state):
        await asyncio.sleep(0.6)  # meanwhile the commit of "second" gives up (busy_timeout 0.2 s)
        blocker.execute("ROLLBACK")  # the lock is free again: the commits after it must still not land
        return {"log": ["third"]}

    async def main():
        async with SqliteSaver.from_conn_string(path, busy_timeout=0.2) as saver:
            graph = (StateGraph(Log).add_node("first", lambda s: {"log": ["first"]})
                     .add_node("second", second).add_node("third", third)
                     .add_edge(START, "first").add_edge("first", "second").add_edge("second", "third")
                     .compile(checkpointer=saver))
            with pytest.raises(StorageError, match="locked"):
                await graph.ainvoke({"log": []}, cfg("t1"), durability="async")
            state = await graph.aget_state(cfg("t1"))
            return state.values

    values = asyncio.run(main())
    blocker.close()
    # The input's two and first's checkpoints landed; second's failed; third's and the end's,
    # which build on it, were refused although the lock was free by then.
    assert values == {"log": ["first"]}
    assert committed_checkpoints(path, "t1") == 3


def test_exit_mode_keeps_everything_in_memory_until_the_run_stops(tmp_path):
    path = str(tmp_path / "runs.sqlite")
    seen_during = []

    def peek(state):
        seen_during.append(committed_checkpoints(path, "t1"))
        return {"log": ["peek"]}

    with SqliteSaver.from_conn_string(path) as saver:
        graph = (StateGraph(Log).add_node("a", lambda s: {"log": ["a"]}).add_node("peek", peek)
                 .add_edge(START, "a").add_edge("a", "peek").compile(checkpointer=saver))
        graph.invoke({"log": []}, cfg("t1"), durability="exit")
        assert seen_during == [0]
        assert committed_checkpoints(path, "t1") == 4
        assert graph.get_state(cfg("t1")).values == {"log": ["a", "peek"]}
        assert [e.kind for e in saver.read_events()] == ["run_started", "run_finished"]


def test_an_unknown_durability_is_refused_before_anything_runs(saver):
    ran = []
    graph = (StateGraph(Log).add_node("a", lambda s: ran.append(1) or {"log": ["a"]})
             .add_edge(START, "a").compile(checkpointer=saver))
    with pytest.raises(GraphConfigError, match="durability='fast'.*'sync'.*'async'.*'exit'"):
        graph.invoke({"log": []}, cfg(), durability="fast")
    assert ran == []


# --- the saver's side: transaction(wait=False, after=..., carry=...) ----------------------------

def a_checkpoint(step: int) -> dict:
    return {"v": 1, "id": str(uuid.uuid4()), "ts": "2026-01-01T00:00:00+00:00", "step": step,
            "channel_values": {"x": step}, "channel_versions": {"x": step + 1}, "tasks": [], "waiting": {}}


def thread_cfg(thread_id):
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


def test_carried_writes_survive_a_cancelled_wait_and_commit_on_the_next(tmp_path):
    path = str(tmp_path / "runs.sqlite")

    async def main():
        async with SqliteSaver.from_conn_string(path) as saver:
            async with saver.transaction(wait=False, carry=True) as carried:
                await saver.aput(thread_cfg("t1"), a_checkpoint(0), {}, {"x": 1})
            holder_in, holder_out = asyncio.Event(), asyncio.Event()

            async def hold_the_saver():
                async with saver.transaction():
                    holder_in.set()
                    await holder_out.wait()

            holder = asyncio.create_task(hold_the_saver())
            await holder_in.wait()
            with pytest.raises(asyncio.TimeoutError):  # e.g. invoke() under asyncio.wait_for
                await asyncio.wait_for(carried.wait(), 0.1)
            holder_out.set()
            await holder
            assert committed_checkpoints(path, "t1") == 0
            await carried.wait()
            assert committed_checkpoints(path, "t1") == 1

    asyncio.run(main())


def test_carried_writes_sent_with_a_transaction_that_failed_are_reported_not_lost_silently(tmp_path):
    path = str(tmp_path / "runs.sqlite")

    async def main():
        async with SqliteSaver.from_conn_string(path) as saver:
            async with saver.transaction(wait=False, carry=True) as carried:
                await saver.aput(thread_cfg("t1"), a_checkpoint(0), {}, {"x": 1})
            with pytest.raises(RuntimeError):
                async with saver.transaction(wait=False, after=carried, carry=True):
                    await saver.aget_tuple(thread_cfg("t1"))  # a read: the carried writes go out with it
                    raise RuntimeError("the step failed")
            with pytest.raises(StorageError, match="carried over from earlier steps were not saved.*the step failed"):
                await carried.wait()
            assert committed_checkpoints(path, "t1") == 0

    asyncio.run(main())


def test_an_empty_background_transaction_does_not_break_the_chain(tmp_path):
    path = str(tmp_path / "runs.sqlite")

    async def main():
        async with SqliteSaver.from_conn_string(path) as saver:
            async with saver.transaction(wait=False) as first:
                await saver.aput(thread_cfg("t1"), a_checkpoint(0), {}, {"x": 1})
                await saver.aput_events([])  # nothing
                saver._current_txn().pending.append(  # make its COMMIT fail in the connection thread
                    (lambda db, txn: db.execute("INSERT INTO no_such_table VALUES (1)"), ()))
            async with saver.transaction(wait=False, after=first) as empty:
                pass
            async with saver.transaction(wait=False, after=empty) as third:
                await saver.aput(thread_cfg("t1"), a_checkpoint(1), {}, {"x": 2})
            with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
                await first.wait()
            with pytest.raises(StorageError, match="an earlier write of the same run failed"):
                await third.wait()
            assert committed_checkpoints(path, "t1") == 0

    asyncio.run(main())
