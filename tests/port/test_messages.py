"""MessagesState, add_messages and RemoveMessage: the same programs on the engine and on
LangGraph 1.2 give the same messages (LangGraph's are LangChain objects, the engine's dicts:
compared in one OpenAI-style form, ids by presence and identity)."""

from __future__ import annotations

import pytest

from tests.port.shapes_helpers import both, canonical, modules


def chat(lg, updates):
    """A graph over MessagesState whose node writes `updates` one per step."""
    steps = list(updates)

    def node(state):
        return {"messages": steps.pop(0)}

    builder = lg.graph.StateGraph(lg.message.MessagesState)
    builder.add_node("node", node)
    builder.add_edge(lg.graph.START, "node")
    builder.add_conditional_edges("node", lambda s: "node" if steps else lg.graph.END)
    return builder.compile()


def merge_program(lg):
    graph = chat(lg, [
        [{"role": "assistant", "content": "hi", "id": "a1"}],
        [{"role": "assistant", "content": "hi (edited)", "id": "a1"}, ("user", "thanks")],
        {"role": "assistant", "content": "welcome"},
    ])
    return graph.invoke({"messages": [{"role": "user", "content": "hello"}]})


def test_append_merge_by_id_and_ids_assigned():
    engine, langgraph = both(merge_program)
    assert engine == langgraph
    assert [m["content"] for m in engine["messages"]] == ["hello", "hi (edited)", "thanks", "welcome"]
    assert len({m["id"] for m in engine["messages"]}) == 4


def remove_program(lg):
    RemoveMessage = lg.message.RemoveMessage
    graph = chat(lg, [[RemoveMessage(id="u1")], [{"role": "assistant", "content": "left", "id": "a9"}]])
    return graph.invoke({"messages": [{"role": "user", "content": "one", "id": "u1"},
                                      {"role": "user", "content": "two", "id": "u2"}]})


def test_remove_by_id():
    engine, langgraph = both(remove_program)
    assert engine == langgraph
    assert [m["content"] for m in engine["messages"]] == ["two", "left"]


def remove_all_program(lg):
    graph = chat(lg, [[lg.message.RemoveMessage(id=lg.message.REMOVE_ALL_MESSAGES),
                       {"role": "assistant", "content": "fresh", "id": "f"}]])
    return graph.invoke({"messages": [("user", "a"), ("user", "b")]})


def test_remove_all():
    engine, langgraph = both(remove_all_program)
    assert engine == langgraph == {"messages": [{"role": "assistant", "content": "fresh", "id": "<m0>"}]}


def remove_missing_program(lg):
    try:
        lg.message.add_messages([{"role": "user", "content": "a", "id": "1"}], [lg.message.RemoveMessage(id="2")])
    except ValueError as exc:
        return str(exc)


def test_removing_an_unknown_id_is_an_error():
    engine, langgraph = both(remove_missing_program)
    assert engine == langgraph == "Attempting to delete a message with an ID that doesn't exist ('2')"


def tool_call_program(lg):
    call = {"id": "c1", "name": "lookup", "args": {"q": "x"}}
    return lg.message.add_messages(
        [{"role": "user", "content": "find x", "id": "u"}],
        [{"role": "assistant", "content": "", "tool_calls": [call], "id": "a"},
         {"role": "tool", "content": "found", "tool_call_id": "c1", "id": "t"}])


def test_tool_calls_survive():
    engine, langgraph = both(tool_call_program)
    assert engine == langgraph


def test_reducer_with_options_and_argument_errors():
    for prefix in ("engine", "langgraph"):
        add = modules(prefix).message.add_messages
        assert callable(add())
        with pytest.raises(ValueError, match="Only received: 'left'"):
            add([{"role": "user", "content": "a"}], None)


def test_langchain_messages_work_and_are_stored_as_messages(saver):
    from langchain_core.messages import AIMessage, HumanMessage

    from engine.graph import END, START, MessagesState, StateGraph

    def node(state):
        assert isinstance(state["messages"][0], HumanMessage)
        return {"messages": [AIMessage("pong")]}

    graph = (StateGraph(MessagesState).add_node("node", node).add_edge(START, "node").add_edge("node", END)
             .compile(checkpointer=saver))
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"messages": [HumanMessage("ping")]}, config)
    stored = graph.get_state(config).values["messages"]
    assert [type(m).__name__ for m in stored] == ["HumanMessage", "AIMessage"]
    assert all(m.id for m in stored)
    assert canonical(stored)[1] == {"role": "assistant", "content": "pong", "id": "<m1>"}


def test_a_message_without_a_role_is_refused_clearly():
    from engine.graph import add_messages

    with pytest.raises(ValueError, match="needs a 'role'"):
        add_messages([], [{"content": "who am I?"}])
