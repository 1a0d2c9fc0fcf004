"""The StateGraph builder: schemas, reducers, nodes, edges, branches and compile-time checks."""

import operator
from dataclasses import dataclass, field
from typing import Annotated, Literal, TypedDict

import pytest
from pydantic import BaseModel

from engine.constants import END, START
from engine.errors import GraphBuildError, InvalidUpdateError
from engine.graph import StateGraph
from engine.types import Command


class Counter(TypedDict):
    total: Annotated[int, operator.add]
    log: Annotated[list[str], operator.add]
    last: str


def test_reducers_fold_and_plain_keys_take_the_last_write():
    def a(state):
        return {"total": 2, "log": ["a"], "last": "a"}

    def b(state):
        return {"total": 3, "log": ["b"], "last": "b"}

    graph = StateGraph(Counter).add_sequence([a, b]).add_edge(START, "a").compile()
    assert graph.invoke({"total": 1, "log": []}) == {"total": 6, "log": ["a", "b"], "last": "b"}


def test_two_writes_to_a_key_without_reducer_in_one_step_is_an_error():
    graph = (StateGraph(Counter)
             .add_node("a", lambda s: {"last": "a"}).add_node("b", lambda s: {"last": "b"})
             .add_edge(START, "a").add_edge(START, "b").compile())
    with pytest.raises(InvalidUpdateError, match=r"'last' received 2 values in one step.*Annotated"):
        graph.invoke({"total": 0})


def test_parallel_writes_to_a_reducer_key_merge():
    graph = (StateGraph(Counter)
             .add_node("a", lambda s: {"log": ["a"]}).add_node("b", lambda s: {"log": ["b"]})
             .add_edge(START, "a").add_edge(START, "b").compile())
    assert sorted(graph.invoke({"log": []})["log"]) == ["a", "b"]


def test_an_update_naming_an_unknown_key_is_an_error_naming_the_node_and_keys():
    graph = StateGraph(Counter).add_node("oops", lambda s: {"totl": 1}).add_edge(START, "oops").compile()
    with pytest.raises(InvalidUpdateError, match=r"node 'oops'.*'totl'.*keys: total, log, last"):
        graph.invoke({"total": 0})


def test_unknown_input_key_is_an_error():
    graph = StateGraph(Counter).add_node("a", lambda s: None).add_edge(START, "a").compile()
    with pytest.raises(InvalidUpdateError, match="graph input.*'nope'"):
        graph.invoke({"nope": 1})


def test_a_node_returning_a_non_dict_is_an_error():
    graph = StateGraph(Counter).add_node("a", lambda s: 42).add_edge(START, "a").compile()
    with pytest.raises(InvalidUpdateError, match="node 'a' returned int"):
        graph.invoke({"total": 0})


class PydState(BaseModel):
    name: str = "anon"
    visits: Annotated[list[int], operator.add] = []


@dataclass
class DataState:
    name: str = "anon"
    visits: Annotated[list[int], operator.add] = field(default_factory=list)


@pytest.mark.parametrize("schema", [PydState, DataState], ids=["pydantic", "dataclass"])
def test_pydantic_and_dataclass_schemas_get_instances_and_defaults(schema):
    seen = []

    def greet(state):
        seen.append(type(state))
        return {"name": state.name.upper(), "visits": [1]}

    graph = StateGraph(schema).add_node(greet).add_edge(START, "greet").compile()
    assert graph.invoke({"visits": [0]}) == {"name": "ANON", "visits": [0, 1]}
    assert seen == [schema]


def test_sync_and_async_nodes_and_the_fluent_style():
    async def double(state):
        return {"total": state["total"]}

    graph = (StateGraph(Counter).add_node("double", double).add_node("name", lambda s: {"last": "done"})
             .add_edge(START, "double").add_edge("double", "name").set_finish_point("name").compile())
    # A key with a reducer starts from its type's empty value, as in LangGraph
    assert graph.invoke({"total": 4}) == {"total": 8, "last": "done", "log": []}


def test_a_compiled_graph_as_a_node_shares_keys_with_the_parent():
    inner = StateGraph(Counter).add_node("inc", lambda s: {"total": 10, "log": ["inner"]}).set_entry_point("inc").compile()
    outer = StateGraph(Counter).add_node("sub", inner).add_edge(START, "sub").compile()
    out = outer.invoke({"total": 1, "log": []})
    # The subgraph returns its whole state; the parent's reducers apply to it.
    assert out["log"] == ["inner"] and out["total"] == 1 + 11


def test_join_edge_waits_for_all_sources():
    order = []

    def make(name, delay_steps=0):
        def node(state):
            order.append(name)
            return {"log": [name]}
        return node

    graph = (StateGraph(Counter)
             .add_node("a", make("a")).add_node("b1", make("b1")).add_node("b2", make("b2"))
             .add_node("c", make("c"))
             .add_edge(START, "a").add_edge(START, "b1").add_edge("b1", "b2")
             .add_edge(["a", "b2"], "c").compile())
    out = graph.invoke({"log": []})
    assert order.index("c") > order.index("b2") and order.count("c") == 1
    assert out["log"][-1] == "c"


def test_conditional_edges_with_names_lists_end_and_path_map():
    def route(state):
        return ["x", "y"] if state["total"] > 0 else END

    graph = (StateGraph(Counter)
             .add_node("start", lambda s: None).add_node("x", lambda s: {"log": ["x"]})
             .add_node("y", lambda s: {"log": ["y"]})
             .add_edge(START, "start").add_conditional_edges("start", route, ["x", "y", END]).compile())
    assert graph.invoke({"total": 1, "log": []})["log"] == ["x", "y"]
    assert graph.invoke({"total": 0, "log": []})["log"] == []

    mapped = (StateGraph(Counter).add_node("start", lambda s: None).add_node("x", lambda s: {"last": "x"})
              .add_edge(START, "start")
              .add_conditional_edges("start", lambda s: "go" if s["total"] else "stop", {"go": "x", "stop": END})
              .compile())
    assert mapped.invoke({"total": 1}) == {"total": 1, "last": "x", "log": []}
    assert mapped.invoke({"total": 0}) == {"total": 0, "log": []}


def test_a_branch_returning_an_unknown_name_is_a_clear_error():
    graph = (StateGraph(Counter).add_node("a", lambda s: None).add_edge(START, "a")
             .add_conditional_edges("a", lambda s: "nowhere", {"x": END}).compile())
    with pytest.raises(InvalidUpdateError, match="returned 'nowhere', which is not in its path_map"):
        graph.invoke({"total": 0})


def test_command_goto_with_literal_annotation_needs_no_edges():
    def decide(state) -> Command[Literal["yes", "no"]]:
        return Command(goto="yes" if state["total"] else "no", update={"last": "decided"})

    graph = (StateGraph(Counter).add_node("decide", decide)
             .add_node("yes", lambda s: {"log": ["yes"]}).add_node("no", lambda s: {"log": ["no"]})
             .add_edge(START, "decide").compile())
    assert graph.invoke({"total": 1, "log": []}) == {"total": 1, "log": ["yes"], "last": "decided"}
    assert graph.invoke({"total": 0, "log": []})["log"] == ["no"]


def test_command_goto_to_an_unknown_node_is_a_clear_error():
    graph = (StateGraph(Counter).add_node("a", lambda s: Command(goto="ghost")).add_edge(START, "a").compile())
    with pytest.raises(InvalidUpdateError, match="routed to 'ghost'"):
        graph.invoke({"total": 0})


def test_compile_refuses_an_edge_to_an_unknown_node_and_suggests_a_name():
    builder = StateGraph(Counter).add_node("review", lambda s: None).add_edge(START, "review").add_edge("review", "reveiw")
    with pytest.raises(GraphBuildError, match="'reveiw'.*Did you mean 'review'"):
        builder.compile()


def test_compile_refuses_an_unreachable_node():
    builder = (StateGraph(Counter).add_node("a", lambda s: None).add_node("island", lambda s: None)
               .add_edge(START, "a").add_edge("a", END))
    with pytest.raises(GraphBuildError, match="'island' can never run"):
        builder.compile()


def test_compile_refuses_a_graph_with_no_entry():
    with pytest.raises(GraphBuildError, match="no entry point.*add_edge\\(START"):
        StateGraph(Counter).add_node("a", lambda s: None).compile()


def test_compile_refuses_unknown_breakpoints():
    builder = StateGraph(Counter).add_node("a", lambda s: None).add_edge(START, "a")
    with pytest.raises(GraphBuildError, match="interrupt_before names node 'b'"):
        builder.compile(interrupt_before=["b"])


@pytest.mark.parametrize("bad,match", [
    (lambda b: b.add_node("a", lambda s: None), "already exists"),
    (lambda b: b.add_node(START, lambda s: None), "reserved"),
    (lambda b: b.add_node(lambda s: None), "cannot tell the name"),
    (lambda b: b.add_node("x:y", lambda s: None), "may not contain"),
    (lambda b: b.add_node("n", 42), "must be a function or a compiled graph"),
    (lambda b: b.add_edge(END, "a"), "END cannot be the start"),
])
def test_builder_refuses_bad_definitions(bad, match):
    builder = StateGraph(Counter).add_node("a", lambda s: None)
    with pytest.raises(GraphBuildError, match=match):
        bad(builder)


def test_state_schema_must_be_a_class():
    with pytest.raises(GraphBuildError, match="TypedDict, a pydantic BaseModel or a dataclass"):
        StateGraph({"a": int})
