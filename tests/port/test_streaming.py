"""stream() on the engine and on LangGraph 1.2: the same programs yield the same items (ids
canonicalised: interrupt, task and namespace ids numbered by first appearance), for
subgraphs=True, interrupts, Command(resume, update) and the modes custom, tasks, messages.
The modes checkpoints and debug are compared on their shape: their step numbers follow the
engine's checkpoint history, which counts its input checkpoint as LangGraph does only with
issue #11 item 1."""

from __future__ import annotations

from typing import TypedDict

import pytest

from tests.port.shapes_helpers import modules, stream_both


class S(TypedDict):
    x: str


def subgraph_program(lg, modes, subgraphs=True):
    g, t = lg.graph, lg.types

    def inner(state):
        return {"x": state["x"] + "i"}

    def ask(state):
        return {"x": state["x"] + t.interrupt("q?")}

    sub = g.StateGraph(S).add_node("inner", inner).add_node("ask", ask).add_edge(g.START, "inner") \
        .add_edge("inner", "ask").compile()
    graph = (g.StateGraph(S).add_node("a", lambda s: {"x": s["x"] + "a"}).add_node("sub", sub)
             .add_edge(g.START, "a").add_edge("a", "sub").compile(checkpointer=lg.memory.InMemorySaver()))
    config = {"configurable": {"thread_id": "1"}}
    items = list(graph.stream({"x": ""}, config, stream_mode=modes, subgraphs=subgraphs))
    items += list(graph.stream(t.Command(resume="R", update={"x": "U"}), config, stream_mode=modes,
                               subgraphs=subgraphs))
    return items


@pytest.mark.parametrize("modes", [["updates", "values"], "updates", "values"])
def test_subgraphs_true_streams_namespaced_chunks_from_inside_subgraphs(modes):
    engine, langgraph = stream_both(lambda lg: subgraph_program(lg, modes), subgraphs=True)
    assert engine == langgraph
    assert any(item[0] == ["sub:<t0>"] for item in engine) or any(item[0] for item in engine)


@pytest.mark.parametrize("modes", [["updates", "values"], "values"])
def test_without_subgraphs_the_interrupt_values_chunk_carries_the_state(modes):
    engine, langgraph = stream_both(lambda lg: subgraph_program(lg, modes, subgraphs=False))
    assert engine == langgraph
    values = [item[-1] for item in engine if item[0] == "values"] if isinstance(modes, list) else engine
    assert {"x": "a", "__interrupt__": [{"value": "q?", "id": "<i0>", "response_schema": None}]} in values
    assert {"x": "U"} in values  # Command(update=...) shows in the first values chunk of the resume


def parallel_program(lg, modes):
    g, t = lg.graph, lg.types
    get_stream_writer = lg.config.get_stream_writer

    def a(state):
        get_stream_writer()({"progress": 1})
        return {"x": state["x"] + "a"}

    def b(state, writer):
        writer("from b")
        return {"x": state["x"] + t.interrupt("q?")}

    def c(state):
        return {"x": state["x"] + t.interrupt("q2?")}

    graph = (g.StateGraph(S).add_node("a", a).add_node("b", b).add_node("c", c).add_edge(g.START, "a")
             .add_edge("a", "b").add_edge("a", "c").compile(checkpointer=lg.memory.InMemorySaver()))
    return list(graph.stream({"x": ""}, {"configurable": {"thread_id": "1"}}, stream_mode=modes))


def _interrupts_in_task_order(items):
    # LangGraph emits parallel tasks' interrupts as the tasks finish: nearly always in task
    # order, but not always; compare them in task order (by their values here).
    import re

    head = [i for i in items if "__interrupt__" not in str(i)]
    tail = [re.sub(r"<i\d+>", "<i>", str(i)) for i in items if "__interrupt__" in str(i)]
    return head, sorted(tail)


@pytest.mark.parametrize("modes", [["updates", "values", "custom"], "custom", ["custom", "updates"]])
def test_one_interrupt_chunk_per_task_and_custom_chunks(modes):
    engine, langgraph = stream_both(lambda lg: parallel_program(lg, modes))
    assert _interrupts_in_task_order(engine) == _interrupts_in_task_order(langgraph)
    if isinstance(modes, list) and "updates" in modes:
        assert sum(1 for item in engine if item[0] == "updates" and "__interrupt__" in item[1]) == 2


def test_tasks_mode():
    engine, langgraph = stream_both(lambda lg: parallel_program(lg, "tasks"))
    assert engine == langgraph
    assert engine[0] == {"id": "<t0>", "name": "a", "input": {"x": ""}, "triggers": ["branch:to:a"]}


def _shape(payload):
    return sorted(payload) if isinstance(payload, dict) else type(payload).__name__


def test_checkpoints_and_debug_modes_have_langgraphs_shapes():
    for mode in ("checkpoints", "debug"):
        engine, langgraph = stream_both(lambda lg: parallel_program(lg, mode))
        assert {str(_shape(i)) for i in engine} <= {str(_shape(i)) for i in langgraph}, mode
    engine, langgraph = stream_both(lambda lg: parallel_program(lg, "checkpoints"))
    # the last checkpoint: the state after `a`, with b and c to run
    assert engine[-1]["values"] == langgraph[-1]["values"] == {"x": "a"}
    assert engine[-1]["next"] == langgraph[-1]["next"] == ["b", "c"]
    assert engine[-1]["metadata"]["source"] == langgraph[-1]["metadata"]["source"] == "loop"
    engine, langgraph = stream_both(lambda lg: parallel_program(lg, "debug"))
    kinds = lambda items: [i["type"] for i in items if i["type"] != "checkpoint"]
    assert kinds(engine) == kinds(langgraph)


def langchain_messages_program(lg):
    from langchain_core.messages import AIMessage

    def node(state):
        return {"messages": [AIMessage("hello", id="m1")]}

    graph = lg.graph.StateGraph(lg.message.MessagesState).add_node("node", node) \
        .add_edge(lg.graph.START, "node").compile()
    return [(message, {k: v for k, v in meta.items() if k not in ("langgraph_checkpoint_ns", "langgraph_step")})
            for message, meta in graph.stream({"messages": [("user", "hi")]}, stream_mode="messages")]


def test_messages_mode_streams_a_langchain_message_a_node_wrote():
    engine, langgraph = stream_both(langchain_messages_program)
    assert engine == langgraph
    assert engine[0][1]["langgraph_node"] == "node"


def test_messages_mode_streams_the_chunks_a_pluggable_model_emits():
    from engine.config import get_message_writer
    from engine.graph import START, MessagesState, StateGraph

    def model(messages):
        emit = get_message_writer()
        text = ""
        for token in ["Hel", "lo"]:
            text += token
            emit({"role": "assistant", "content": token, "id": "reply-1"})
        return {"role": "assistant", "content": text, "id": "reply-1"}

    graph = StateGraph(MessagesState).add_node("agent", lambda s: {"messages": [model(s["messages"])]}) \
        .add_edge(START, "agent").compile()
    items = list(graph.stream({"messages": [("user", "hi")]}, stream_mode=["messages", "updates"]))
    chunks = [(c["content"], meta["langgraph_node"]) for mode, (c, meta) in
              [(m, x) for m, x in items if m == "messages"]]
    assert chunks == [("Hel", "agent"), ("lo", "agent")]
    assert [m for m, _ in items] == ["messages", "messages", "updates"]


def test_writer_and_message_writer_are_no_ops_when_not_streamed():
    from engine.config import get_stream_writer
    from engine.graph import START, StateGraph

    def node(state, writer):
        writer("ignored")
        get_stream_writer()("ignored too")
        return {"x": "done"}

    graph = StateGraph(S).add_node("node", node).add_edge(START, "node").compile()
    assert graph.invoke({"x": ""}) == {"x": "done"}
    assert list(graph.stream({"x": ""}, stream_mode="updates")) == [{"node": {"x": "done"}}]


def test_breaking_out_of_a_stream_stops_the_run_and_a_failing_node_raises():
    g = modules("engine")

    def boom(state):
        raise RuntimeError("boom")

    graph = g.graph.StateGraph(S).add_node("a", lambda s: {"x": "a"}).add_node("boom", boom) \
        .add_edge(g.graph.START, "a").add_edge("a", "boom").compile(checkpointer=g.memory.InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    with pytest.raises(RuntimeError, match="boom"):
        list(graph.stream({"x": ""}, config))
    for item in graph.stream({"x": ""}, {"configurable": {"thread_id": "u"}}, stream_mode="values"):
        break
    assert graph.get_state({"configurable": {"thread_id": "u"}}).values["x"] == ""


def test_the_prebuilt_agent_streams_its_models_words():
    from engine.prebuilt import ScriptedModel, create_tool_agent

    agent = create_tool_agent(ScriptedModel(["All good here."]), [])
    items = list(agent.stream({"messages": [{"role": "user", "content": "status?"}]}, stream_mode="messages"))
    assert [chunk["content"] for chunk, meta in items] == ["All ", "good ", "here."]
    assert {meta["langgraph_node"] for _chunk, meta in items} == {"agent"}
    final = agent.invoke({"messages": [{"role": "user", "content": "status?"}]})["messages"][-1]
    assert final["content"] == "All good here." and final["id"]


def breakpoint_program(lg):
    g = lg.graph
    graph = (g.StateGraph(S).add_node("a", lambda s: {"x": "a"}).add_node("b", lambda s: {"x": "b"})
             .add_edge(g.START, "a").add_edge("a", "b")
             .compile(checkpointer=lg.memory.InMemorySaver(), interrupt_before=["b"]))
    config = {"configurable": {"thread_id": "1"}}
    items = list(graph.stream({"x": ""}, config, stream_mode=["updates", "values"]))
    return items + list(graph.stream(None, config, stream_mode=["updates", "values"]))


def test_a_static_breakpoint_streams_an_empty_interrupt_in_updates_only():
    engine, langgraph = stream_both(breakpoint_program)
    assert engine == langgraph
    assert ["updates", {"__interrupt__": []}] in engine
