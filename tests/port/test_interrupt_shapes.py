"""interrupt(value, response_schema=...) and the Agent Inbox TypedDicts (HumanInterrupt,
ActionRequest, HumanInterruptConfig, HumanResponse): the same programs on the engine and on
LangGraph 1.2 give the same interrupts and results. Then what the engine adds: a bad answer is
refused before anything runs, and the schema is stored with the pending interrupt."""

from __future__ import annotations

import warnings
from typing import TypedDict

import pytest
from pydantic import BaseModel

from tests.port.shapes_helpers import both


class State(TypedDict):
    out: object


def asking(lg, schema, answer):
    def node(state):
        got = lg.types.interrupt("how many?", response_schema=schema)
        return {"out": got.model_dump() if isinstance(got, BaseModel) else got}

    graph = (lg.graph.StateGraph(State).add_node("node", node).add_edge(lg.graph.START, "node")
             .compile(checkpointer=lg.memory.InMemorySaver()))
    config = {"configurable": {"thread_id": "t"}}
    paused = graph.invoke({"out": None}, config)
    return paused, graph.invoke(lg.types.Command(resume=answer), config), graph.get_state(config).interrupts


class Approval(BaseModel):
    approved: bool
    note: str = ""


@pytest.mark.parametrize("schema,answer", [
    (None, 3),
    ({"type": "integer", "minimum": 1}, 3),
    (Approval, {"approved": True}),
])
def test_response_schema_matches_langgraph(schema, answer):
    engine, langgraph = both(lambda lg: asking(lg, schema, answer))
    assert engine == langgraph
    paused = engine[0]["__interrupt__"][0]
    expected = schema if isinstance(schema, dict) or schema is None else Approval.model_json_schema()
    assert paused["response_schema"] == expected and paused["id"] == "<i0>"


def test_interrupt_repr_shows_the_schema_only_when_there_is_one():
    from engine.types import Interrupt

    assert repr(Interrupt(value="q", id="x")) == "Interrupt(value='q', id='x')"
    assert repr(Interrupt(value="q", id="x", response_schema={"type": "string"})) == \
        "Interrupt(value='q', id='x', response_schema={'type': 'string'})"


def human_interrupt_program(lg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hitl = lg.hitl
    seen = {}

    def node(state):
        request = hitl.HumanInterrupt(
            action_request=hitl.ActionRequest(action="send_email", args={"to": "ada@example.com"}),
            config=hitl.HumanInterruptConfig(allow_accept=True, allow_edit=False, allow_respond=True,
                                             allow_ignore=False),
            description="Send it?")
        assert type(request) is dict
        [response] = lg.types.interrupt([request])
        return {"out": response}

    graph = (lg.graph.StateGraph(State).add_node("node", node).add_edge(lg.graph.START, "node")
             .compile(checkpointer=lg.memory.InMemorySaver()))
    config = {"configurable": {"thread_id": "t"}}
    paused = graph.invoke({"out": None}, config)
    seen["description"] = paused["__interrupt__"][0].value[0]["description"]
    done = graph.invoke(lg.types.Command(resume=[hitl.HumanResponse(type="response", args="not today")]), config)
    return paused, done, seen


def test_human_interrupt_typed_dicts_match_langgraph():
    engine, langgraph = both(human_interrupt_program)
    assert engine == langgraph
    assert engine[2] == {"description": "Send it?"}
    assert engine[1] == {"out": {"type": "response", "args": "not today"}}


def test_a_bad_answer_is_refused_before_anything_runs_and_the_schema_is_stored(tmp_path):
    from engine.checkpoint.sqlite import SqliteSaver
    from engine.graph import START, StateGraph
    from engine.review.validate import InvalidResponse
    from engine.types import Command, interrupt

    runs = []

    def node(state):
        runs.append(1)
        return {"out": interrupt("how many?", response_schema={"type": "integer", "minimum": 1})}

    path = str(tmp_path / "s.sqlite")
    config = {"configurable": {"thread_id": "t"}}
    with SqliteSaver.from_conn_string(path) as saver:
        graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile(checkpointer=saver)
        graph.invoke({"out": None}, config)
        with pytest.raises(InvalidResponse, match=r"response_schema: answer: .*minimum"):
            graph.invoke(Command(resume=0), config)
        assert len(runs) == 1  # nothing ran
    with SqliteSaver.from_conn_string(path) as saver:  # durable: a new process sees the schema
        [pending] = saver.list_pending()
        assert pending.response_schema == {"type": "integer", "minimum": 1}
        graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile(checkpointer=saver)
        assert graph.get_state(config).interrupts[0].response_schema == {"type": "integer", "minimum": 1}
        assert graph.invoke(Command(resume=2), config) == {"out": 2}


def test_a_type_schema_it_cannot_describe_is_refused_clearly():
    from engine.checkpoint.memory import InMemorySaver
    from engine.errors import GraphConfigError
    from engine.graph import START, StateGraph
    from engine.types import interrupt

    def node(state):
        return {"out": interrupt("?", response_schema=object())}

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile(checkpointer=InMemorySaver())
    with pytest.raises(GraphConfigError, match="response_schema"):
        graph.invoke({"out": None}, {"configurable": {"thread_id": "t"}})
