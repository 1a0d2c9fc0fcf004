"""Runs, streams, breakpoints, subgraphs, state inspection and failures, against each saver."""

import asyncio
import operator
import threading
import uuid
from typing import Annotated, TypedDict

import pytest

from engine.constants import START
from engine.errors import GraphConfigError, GraphRecursionError, InvalidUpdateError
from engine.graph import StateGraph
from engine.types import Command, StateSnapshot, interrupt


class Log(TypedDict):
    log: Annotated[list[str], operator.add]
    note: str


def cfg(thread=None):
    return {"configurable": {"thread_id": thread or str(uuid.uuid4())}}


def chain(saver, names=("one", "two", "three"), **compile_kwargs):
    builder = StateGraph(Log)
    for name in names:
        builder.add_node(name, (lambda n: lambda s: {"log": [n]})(name))
    builder.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        builder.add_edge(a, b)
    return builder.compile(checkpointer=saver, **compile_kwargs)


# --- streaming ---------------------------------------------------------------------------------

def test_values_mode_skips_steps_that_wrote_nothing(saver):
    graph = (StateGraph(Log).add_node("quiet", lambda s: None).add_node("loud", lambda s: {"note": "hi"})
             .add_edge(START, "quiet").add_edge("quiet", "loud").compile(checkpointer=saver))
    assert list(graph.stream({"log": []}, cfg(), stream_mode="values")) == [{"log": []}, {"log": [], "note": "hi"}]


def test_stream_modes_values_updates_and_lists(saver):
    graph = chain(saver, ("one", "two"))
    assert list(graph.stream({"log": []}, cfg())) == [{"one": {"log": ["one"]}}, {"two": {"log": ["two"]}}]
    assert list(graph.stream({"log": []}, cfg(), stream_mode="values")) == [
        {"log": []}, {"log": ["one"]}, {"log": ["one", "two"]}]
    both = list(graph.stream({"log": []}, cfg(), stream_mode=["values", "updates"]))
    assert both[:2] == [("values", {"log": []}), ("updates", {"one": {"log": ["one"]}})]
    assert both[-1] == ("values", {"log": ["one", "two"]})


def test_an_unknown_stream_mode_is_refused(saver):
    with pytest.raises(GraphConfigError, match="stream_mode 'bogus' is not supported"):
        list(chain(saver).stream({"log": []}, cfg(), stream_mode="bogus"))


def test_sync_invoke_works_from_a_thread_while_another_loop_runs(saver):
    graph = chain(saver)
    results = []

    async def app_main():
        # Like a Textual app: the UI loop runs, a worker thread calls the sync API.
        worker = threading.Thread(target=lambda: results.append(graph.invoke({"log": []}, cfg())))
        worker.start()
        while worker.is_alive():
            await asyncio.sleep(0.01)

    asyncio.run(app_main())
    assert results == [{"log": ["one", "two", "three"]}]


async def test_sync_invoke_inside_a_running_loop_says_to_use_ainvoke(saver):
    with pytest.raises(RuntimeError, match="ainvoke"):
        chain(saver).invoke({"log": []}, cfg())


def test_recursion_limit_stops_a_loop_with_a_clear_error(saver):
    graph = (StateGraph(Log).add_node("spin", lambda s: {"log": ["x"]}).add_edge(START, "spin")
             .add_edge("spin", "spin").compile(checkpointer=saver))
    with pytest.raises(GraphRecursionError, match="took 5 supersteps.*recursion_limit"):
        graph.invoke({"log": []}, {**cfg(), "recursion_limit": 5})


def test_runs_without_a_checkpointer_need_no_thread():
    assert chain(None).invoke({"log": []}) == {"log": ["one", "two", "three"]}


# --- static breakpoints ------------------------------------------------------------------------

def test_interrupt_before_at_compile_time_and_continue_with_none(saver):
    graph = chain(saver, interrupt_before=["three"])
    config = cfg()
    chunks = list(graph.stream({"log": []}, config, stream_mode="values"))
    # As in LangGraph, a static breakpoint shows as an empty interrupt in "updates" mode only.
    assert chunks == [{"log": []}, {"log": ["one"]}, {"log": ["one", "two"]}]
    assert graph.get_state(config).next == ("three",)
    assert list(graph.stream({"log": []}, cfg(), interrupt_before=["two"]))[-1] == {"__interrupt__": ()}
    # The same breakpoint does not fire again at once.
    assert graph.invoke(None, config) == {"log": ["one", "two", "three"]}
    assert graph.get_state(config).next == ()


def test_interrupt_after_and_per_call_breakpoints(saver):
    graph = chain(saver)
    config = cfg()
    out = graph.invoke({"log": []}, config, interrupt_after=["one"])
    assert out == {"log": ["one"]} and graph.get_state(config).next == ("two",)
    out = graph.invoke(None, config, interrupt_before=["three"])
    assert out == {"log": ["one", "two"]} and graph.get_state(config).next == ("three",)
    assert graph.invoke(None, config)["log"] == ["one", "two", "three"]


def test_invoke_none_on_a_finished_thread_returns_its_state(saver):
    graph, config = chain(saver), cfg()
    graph.invoke({"log": []}, config)
    assert graph.invoke(None, config) == {"log": ["one", "two", "three"]}


def test_resume_at_a_static_breakpoint_is_refused_with_the_fix(saver):
    from engine.errors import NothingToResumeError
    graph, config = chain(saver, interrupt_before=["two"]), cfg()
    graph.invoke({"log": []}, config)
    with pytest.raises(NothingToResumeError, match="breakpoint.*invoke\\(None\\)"):
        graph.invoke(Command(resume="x"), config)


# --- subgraphs -------------------------------------------------------------------------------

class Count(TypedDict):
    state_counter: int


def counted_subgraph_graph(saver, counts, as_node):
    def node_in_subgraph(state):
        counts["sub_first"] += 1

    def human_node(state):
        counts["sub_human"] += 1
        counts["answer"] = interrupt("what is your name?")

    sub = (StateGraph(Count).add_node("some_node", node_in_subgraph).add_node("human_node", human_node)
           .add_edge(START, "some_node").add_edge("some_node", "human_node").compile())
    if as_node:
        return StateGraph(Count).add_node("parent_node", sub).add_edge(START, "parent_node").compile(checkpointer=saver)

    def parent_node(state):
        counts["parent"] += 1
        return sub.invoke(state)

    return StateGraph(Count).add_node("parent_node", parent_node).add_edge(START, "parent_node") \
        .compile(checkpointer=saver)


@pytest.mark.parametrize("as_node", [False, True], ids=["called-in-node", "as-node"])
def test_subgraph_interrupt_resumes_without_rerunning_finished_subgraph_nodes(saver, as_node):
    counts = {"sub_first": 0, "sub_human": 0, "parent": 0}
    graph, config = counted_subgraph_graph(saver, counts, as_node), cfg()
    chunks = list(graph.stream({"state_counter": 1}, config))
    assert [list(c) for c in chunks] == [["__interrupt__"]]
    assert chunks[0]["__interrupt__"][0].value == "what is your name?"
    assert graph.get_state(config).next == ("parent_node",)
    chunks = list(graph.stream(Command(resume="35"), config))
    assert chunks == [{"parent_node": {"state_counter": 1}}]
    assert counts["answer"] == "35" and counts["sub_first"] == 1 and counts["sub_human"] == 2
    assert counts["parent"] == (0 if as_node else 2)


def test_nested_interrupt_ids_answer_through_a_resume_map(saver):
    def ask(state):
        return {"state_counter": int(interrupt("how many?"))}

    sub = StateGraph(Count).add_node("ask", ask).add_edge(START, "ask").compile()
    graph = StateGraph(Count).add_node("outer", sub).add_edge(START, "outer").compile(checkpointer=saver)
    config = cfg()
    [pending] = graph.invoke({"state_counter": 0}, config)["__interrupt__"]
    assert graph.invoke(Command(resume={pending.id: "7"}), config) == {"state_counter": 7}


def test_command_parent_routes_in_the_parent_graph(saver):
    class State(TypedDict):
        log: Annotated[list[str], operator.add]

    def escalate(state):
        return Command(graph=Command.PARENT, goto="handler", update={"log": ["escalated"]})

    sub = StateGraph(State).add_node("escalate", escalate).add_edge(START, "escalate").compile()
    graph = (StateGraph(State).add_node("sub", sub).add_node("handler", lambda s: {"log": ["handled"]})
             .add_edge(START, "sub").compile(checkpointer=saver))
    assert graph.invoke({"log": []}, cfg()) == {"log": ["escalated", "handled"]}


def test_command_parent_at_the_top_is_a_clear_error(saver):
    graph = (StateGraph(Log).add_node("a", lambda s: Command(graph=Command.PARENT, goto="a"))
             .add_edge(START, "a").compile(checkpointer=saver))
    with pytest.raises(InvalidUpdateError, match="not running inside a parent graph"):
        graph.invoke({"log": []}, cfg())


# --- state -------------------------------------------------------------------------------------

def test_get_state_shows_values_next_tasks_and_interrupts(saver):
    def ask(state):
        return {"note": interrupt({"q": "ok?"})}

    graph = (StateGraph(Log).add_node("prep", lambda s: {"log": ["prep"]}).add_node("ask", ask)
             .add_edge(START, "prep").add_edge("prep", "ask").compile(checkpointer=saver))
    config = cfg()
    empty = graph.get_state(config)
    assert isinstance(empty, StateSnapshot) and empty.values == {} and empty.next == ()
    graph.invoke({"log": []}, {**config, "metadata": {"owner": "ops"}})
    snap = graph.get_state(config)
    assert snap.values == {"log": ["prep"]} and snap.next == ("ask",)
    assert snap.tasks[0].name == "ask" and snap.tasks[0].interrupts[0].value == {"q": "ok?"}
    assert snap.interrupts == snap.tasks[0].interrupts
    assert snap.config["configurable"]["thread_id"] == config["configurable"]["thread_id"]
    assert snap.metadata["source"] == "loop" and snap.metadata["owner"] == "ops"
    assert snap.created_at and snap.parent_config["configurable"]["checkpoint_id"]


def test_get_state_history_newest_first_with_limit_before_and_filter(saver):
    graph, config = chain(saver), cfg()
    graph.invoke({"log": []}, config)
    history = list(graph.get_state_history(config))
    # As LangGraph: the input checkpoint at step -1 (next __start__), then step 0 with the input.
    assert [h.metadata["step"] for h in history] == [3, 2, 1, 0, -1]
    assert history[-1].next == ("__start__",) and history[-2].metadata["source"] == "loop"
    assert [h.values["log"] for h in history][0] == ["one", "two", "three"]
    assert len(list(graph.get_state_history(config, limit=2))) == 2
    older = list(graph.get_state_history(config, before=history[2].config))
    assert [h.metadata["step"] for h in older] == [0, -1]
    assert [h.metadata["step"] for h in graph.get_state_history(config, filter={"source": "input"})] == [-1]
    # An old checkpoint can be read back by id.
    assert graph.get_state(history[2].config).values == {"log": ["one"]}


def test_update_state_while_paused_then_resume(saver):
    def ask(state):
        return {"log": [f"{state['note']}:{interrupt('go?')}"]}

    graph = StateGraph(Log).add_node("ask", ask).add_edge(START, "ask").compile(checkpointer=saver)
    config = cfg()
    graph.invoke({"log": [], "note": "draft"}, config)
    graph.update_state(config, {"note": "edited"})
    assert graph.get_state(config).values["note"] == "edited"
    # The node runs again from its start and asks again, now seeing the edit.
    pending = graph.invoke(None, config)["__interrupt__"]
    assert pending[0].value == "go?"
    assert graph.invoke(Command(resume="yes"), config)["log"] == ["edited:yes"]


def test_update_state_as_node_routes_from_that_node(saver):
    graph = chain(saver, interrupt_before=["two"])
    config = cfg()
    graph.invoke({"log": []}, config)
    graph.update_state(config, {"log": ["manual two"]}, as_node="two")
    assert graph.get_state(config).next == ("three",)
    assert graph.invoke(None, config)["log"] == ["one", "manual two", "three"]


# --- failures --------------------------------------------------------------------------------

def test_a_failing_node_raises_marks_the_task_and_the_last_checkpoint_stays_resumable(saver):
    attempts = {"n": 0}

    def flaky(state):
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise ConnectionError("payments API unreachable")
        return {"log": ["paid"]}

    def steady(state):
        attempts["steady"] = attempts.get("steady", 0) + 1
        return {"log": ["steady"]}

    graph = (StateGraph(Log).add_node("flaky", flaky).add_node("steady", steady)
             .add_edge(START, "flaky").add_edge(START, "steady").compile(checkpointer=saver))
    config = cfg()
    with pytest.raises(ConnectionError, match="payments API unreachable"):
        graph.invoke({"log": []}, config)
    snap = graph.get_state(config)
    [failed] = [t for t in snap.tasks if t.name == "flaky"]
    assert failed.error == "ConnectionError('payments API unreachable')"  # as LangGraph: the repr, as text
    assert snap.next == ("flaky",)
    out = graph.invoke(None, config)
    assert sorted(out["log"]) == ["paid", "steady"] and attempts["steady"] == 1


def test_text_that_cannot_be_stored_is_a_clear_error_and_nothing_half_written(saver):
    garbled = b"caf\xe9".decode("utf-8", "surrogateescape")  # a lone surrogate, not text
    graph = StateGraph(Log).add_node("a", lambda s: {"note": garbled}).add_edge(START, "a") \
        .compile(checkpointer=saver)
    config = cfg()
    with pytest.raises(InvalidUpdateError, match="lone surrogate.*errors='replace'"):
        graph.invoke({"log": []}, config)
    assert graph.get_state(config).next == ("a",)  # the input's checkpoint stands; "a" can run again


def test_a_non_json_state_value_is_a_clear_error(saver):
    graph = StateGraph(Log).add_node("a", lambda s: {"note": object()}).add_edge(START, "a") \
        .compile(checkpointer=saver)
    with pytest.raises(InvalidUpdateError, match="node 'a'.*cannot be stored as JSON"):
        graph.invoke({"log": []}, cfg())
