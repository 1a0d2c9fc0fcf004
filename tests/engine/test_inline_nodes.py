"""Sync nodes run inline where the engine owns the loop (engine/_internal/sync.py, run_owned):
`invoke()`/`stream()` run a step's only sync task on the calling thread, with no executor hop;
parallel tasks, and every sync node under `ainvoke()` (a loop shared with a UI or a server),
run in executor threads. A lease stays renewed while an inline node blocks its loop
(engine/runtime/heartbeat.py). Real SQLite files."""

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
