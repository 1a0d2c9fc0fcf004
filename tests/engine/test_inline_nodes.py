"""Sync nodes run inline where the engine owns the loop (engine/_internal/sync.py, run_owned):
`invoke()`/`stream()` run a step's only sync task on the calling thread, with no executor hop;
parallel tasks, and every sync node under `ainvoke()` (a loop shared with a UI or a server),
run in executor threads. A lease stays renewed while an inline node blocks its loop
(engine/runtime/heartbeat.py). A caller whose loop is the engine's alone says so with
`engine_owns_loop()`, and `ainvoke()`/`astream()` then run sync nodes inline on it too. Real
SQLite files."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Annotated, TypedDict

import operator
import pytest

from engine.checkpoint.sqlite import SqliteSaver
from engine.errors import ThreadBusy
from engine.graph import END, START, StateGraph
from engine.runtime import engine_owns_loop
from engine.types import Command, interrupt


class Trail(TypedDict):
    threads: Annotated[list, operator.add]


def cfg(thread: str) -> dict:
    return {"configurable": {"thread_id": thread}}


def where(name: str):
    def node(state):
        return {"threads": [(name, threading.get_ident())]}
    return node


def fan_out_graph(saver=None):
    """one -> (left, right) -> END: a step with one task, then a step with two."""
    return (StateGraph(Trail).add_node("one", where("one")).add_node("left", where("left"))
            .add_node("right", where("right")).add_edge(START, "one").add_edge("one", "left")
            .add_edge("one", "right").add_edge("left", END).add_edge("right", END)
            .compile(checkpointer=saver))


def test_invoke_runs_a_lone_sync_node_on_the_calling_thread_and_parallel_ones_in_threads(tmp_path):
    with SqliteSaver.from_conn_string(tmp_path / "inline.sqlite") as saver:
        trail = dict(fan_out_graph(saver).invoke({"threads": []}, cfg("t"))["threads"])
    me = threading.get_ident()
    assert trail["one"] == me
    assert trail["left"] != me and trail["right"] != me


def test_stream_runs_a_lone_sync_node_on_the_calling_thread():
    chunks = list(fan_out_graph().stream({"threads": []}, stream_mode="updates"))
    assert dict(chunks[0]["one"]["threads"])["one"] == threading.get_ident()


async def test_ainvoke_never_runs_a_sync_node_on_the_callers_loop():
    trail = dict((await fan_out_graph().ainvoke({"threads": []}))["threads"])
    assert trail["one"] != threading.get_ident()


def test_an_inline_node_may_invoke_a_subgraph_and_read_state(tmp_path):
    with SqliteSaver.from_conn_string(tmp_path / "nested.sqlite") as saver:
        inner = fan_out_graph()

        def outer_node(state):
            result = inner.invoke({"threads": []})  # blocking call from inside an inline node
            assert outer.get_state(cfg("t")).values is not None
            return {"threads": [("outer", threading.get_ident()), *result["threads"]]}

        outer = (StateGraph(Trail).add_node("outer", outer_node).add_edge(START, "outer")
                 .add_edge("outer", END).compile(checkpointer=saver))
        trail = dict(outer.invoke({"threads": []}, cfg("t"))["threads"])
    assert trail["outer"] == threading.get_ident()
    assert set(trail) == {"outer", "one", "left", "right"}


def test_an_interrupt_in_an_inline_node_pauses_and_resumes(tmp_path):
    def ask(state):
        return {"threads": [("ask", interrupt("go?"))]}

    with SqliteSaver.from_conn_string(tmp_path / "ask.sqlite") as saver:
        graph = (StateGraph(Trail).add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
                 .compile(checkpointer=saver))
        paused = graph.invoke({"threads": []}, cfg("t"))
        assert [i.value for i in paused["__interrupt__"]] == ["go?"]
        assert graph.invoke(Command(resume="yes"), cfg("t"))["threads"] == [("ask", "yes")]


def test_the_lease_is_renewed_while_an_inline_node_blocks_its_loop(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_LEASE_TTL", "0.3")
    started = threading.Event()
    seen: dict = {}

    def slow(state):
        started.set()
        time.sleep(1.2)  # four lease lifetimes, with the run's loop blocked throughout
        return {"threads": [("slow", threading.get_ident())]}

    path = tmp_path / "slow.sqlite"
    with SqliteSaver.from_conn_string(path) as saver:
        graph = (StateGraph(Trail).add_node("slow", slow).add_edge(START, "slow").add_edge("slow", END)
                 .compile(checkpointer=saver))

        def other_process():
            started.wait()
            time.sleep(0.9)

            async def attempt():
                async with SqliteSaver.from_conn_string(path) as other:
                    seen["holder"] = await other.alease_holder("t")
                    try:
                        await other.alease_acquire("t", "elsewhere:1:x", 5.0)
                    except ThreadBusy:
                        seen["busy"] = True

            asyncio.run(attempt())

        racer = threading.Thread(target=other_process)
        racer.start()
        result = graph.invoke({"threads": []}, cfg("t"))
        racer.join()
    assert dict(result["threads"])["slow"] == threading.get_ident()
    assert seen.get("busy") is True, f"the lease lapsed while the node ran: {seen}"
    assert seen["holder"][1] > 0


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_every_durability_mode_works_with_inline_nodes(tmp_path, durability):
    with SqliteSaver.from_conn_string(tmp_path / "modes.sqlite") as saver:
        graph = fan_out_graph(saver)
        out = graph.invoke({"threads": []}, cfg("t"), durability=durability)
        assert {name for name, _ in out["threads"]} == {"one", "left", "right"}
        assert graph.get_state(cfg("t")).values == out


# ---- engine_owns_loop(): ainvoke/astream on a loop the caller gives the engine ----------------


async def test_ainvoke_in_a_loop_the_engine_owns_runs_a_lone_sync_node_inline(tmp_path):
    async with SqliteSaver.from_conn_string(tmp_path / "owned.sqlite") as saver:
        graph = fan_out_graph(saver)
        with engine_owns_loop():
            trail = dict((await graph.ainvoke({"threads": []}, cfg("t")))["threads"])
        assert trail["one"] == threading.get_ident()
        assert trail["left"] != threading.get_ident() and trail["right"] != threading.get_ident()
        # after the block, the loop is shared again: back to executor threads
        again = dict((await graph.ainvoke({"threads": []}, cfg("u")))["threads"])
        assert again["one"] != threading.get_ident()


async def test_astream_in_a_loop_the_engine_owns_runs_a_lone_sync_node_inline():
    with engine_owns_loop():
        chunks = [c async for c in fan_out_graph().astream({"threads": []}, stream_mode="updates")]
    assert dict(chunks[0]["one"]["threads"])["one"] == threading.get_ident()


async def test_runs_started_inside_the_block_keep_it_in_their_tasks():
    graph = fan_out_graph()
    with engine_owns_loop():
        results = await asyncio.gather(*(asyncio.ensure_future(graph.ainvoke({"threads": []})) for _ in range(3)))
    assert all(dict(r["threads"])["one"] == threading.get_ident() for r in results)


async def test_the_mark_does_not_follow_a_copied_context_to_another_loop():
    graph = fan_out_graph()

    def on_another_loop():
        # asyncio.to_thread copies this context (mark included) into a thread running its own
        # loop, which nobody gave the engine: its sync nodes must go to executor threads
        return threading.get_ident(), asyncio.run(graph.ainvoke({"threads": []}))

    with engine_owns_loop():
        caller, result = await asyncio.to_thread(on_another_loop)
    assert dict(result["threads"])["one"] != caller


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
async def test_an_inline_node_under_ainvoke_may_invoke_a_subgraph_read_state_and_pause(request, tmp_path, store):
    # the store opened on the caller's loop, as `inbox worker` opens it (engine.checkpoint.stores)
    from engine.checkpoint.stores import store_for

    where = str(tmp_path / "nested-owned.sqlite") if store == "sqlite" else request.getfixturevalue("pg_url")
    async with store_for(where) as saver:
        inner = fan_out_graph()

        def outer_node(state):
            result = inner.invoke({"threads": []})  # blocking calls from inside an inline node
            assert outer.get_state(cfg("t")).values is not None
            answer = interrupt("go?")
            return {"threads": [("outer", threading.get_ident()), ("answer", answer), *result["threads"]]}

        outer = (StateGraph(Trail).add_node("outer", outer_node).add_edge(START, "outer")
                 .add_edge("outer", END).compile(checkpointer=saver))
        with engine_owns_loop():
            paused = await outer.ainvoke({"threads": []}, cfg("t"))
            assert [i.value for i in paused["__interrupt__"]] == ["go?"]
            trail = dict((await outer.ainvoke(Command(resume="yes"), cfg("t")))["threads"])
    assert trail["outer"] == threading.get_ident()
    assert trail["answer"] == "yes"
    assert set(trail) == {"outer", "answer", "one", "left", "right"}


def test_engine_owns_loop_without_a_running_loop_says_where_it_belongs():
    with pytest.raises(RuntimeError, match=r"no event loop is running here.*await graph\.ainvoke"):
        with engine_owns_loop():
            pass  # pragma: no cover


class Count(TypedDict):
    x: int


def _wraps_an_async_client(state: Count) -> Count:
    """A sync tool around an async client, as many are: asyncio.run() inside. It works on an
    executor thread and under LangGraph's invoke(); inline, the node must see no running loop."""
    async def fetch() -> int:
        await asyncio.sleep(0)
        return state["x"] + 1

    return {"x": asyncio.run(fetch())}


def _one_node(node) -> StateGraph:
    graph = StateGraph(Count)
    graph.add_node("n", node)
    graph.add_edge(START, "n")
    graph.add_edge("n", END)
    return graph


def test_an_inline_node_may_run_its_own_event_loop():
    assert _one_node(_wraps_an_async_client).compile().invoke({"x": 1}) == {"x": 2}


async def test_an_inline_node_in_a_loop_the_engine_owns_may_run_its_own_event_loop():
    app = _one_node(_wraps_an_async_client).compile()
    with engine_owns_loop():
        assert await app.ainvoke({"x": 1}) == {"x": 2}
        assert [chunk async for chunk in app.astream({"x": 5})] == [{"n": {"x": 6}}]
    # and the caller's loop is its running loop again afterwards
    assert asyncio.get_running_loop() is not None
    await asyncio.sleep(0)


async def test_an_inline_node_that_fails_leaves_the_callers_loop_running():
    def fails(state: Count) -> Count:
        raise ValueError("boom")

    app = _one_node(fails).compile()
    loop = asyncio.get_running_loop()
    with engine_owns_loop():
        with pytest.raises(ValueError, match="boom"):
            await app.ainvoke({"x": 1})
    assert asyncio.get_running_loop() is loop
    await asyncio.sleep(0)
