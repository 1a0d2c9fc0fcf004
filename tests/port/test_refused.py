"""Nothing accepted and ignored (issue 11, item 13): every keyword LangGraph 1.2.24 accepts that
the engine does not implement raises NotImplementedError naming it; an unknown one TypeError.
Each keyword below is first checked to be one LangGraph's signature really takes."""

import inspect
import operator
from typing import Annotated, TypedDict

import pytest

from engine.checkpoint.memory import InMemorySaver
from engine.graph import START, StateGraph


class S(TypedDict):
    log: Annotated[list, operator.add]


def builder():
    return StateGraph(S).add_node("a", lambda s: {"log": ["a"]}).add_edge(START, "a")


def app():
    return builder().compile(checkpointer=InMemorySaver())


CFG = {"configurable": {"thread_id": "t"}}

CASES = [
    ("StateGraph", "__init__", "context_schema", lambda: StateGraph(S, context_schema=dict)),
    ("StateGraph", "__init__", "context_schema", lambda: StateGraph(S, dict)),  # LangGraph's second positional: context_schema
    ("StateGraph", "add_node", "defer", lambda: StateGraph(S).add_node("a", lambda s: {}, defer=True)),
    ("StateGraph", "add_node", "input_schema", lambda: StateGraph(S).add_node("a", lambda s: {}, input_schema=S)),
    ("StateGraph", "add_node", "cache_policy", lambda: StateGraph(S).add_node("a", lambda s: {}, cache_policy=object())),
    ("StateGraph", "add_node", "error_handler", lambda: StateGraph(S).add_node("a", lambda s: {}, error_handler=print)),
    ("StateGraph", "add_node", "timeout", lambda: StateGraph(S).add_node("a", lambda s: {}, timeout=3)),
    ("StateGraph", "add_node", "trace_policy", lambda: StateGraph(S).add_node("a", lambda s: {}, trace_policy=object())),
    ("StateGraph", "compile", "cache", lambda: builder().compile(cache=object())),
    ("StateGraph", "compile", "store", lambda: builder().compile(store=object())),
    ("StateGraph", "compile", "debug", lambda: builder().compile(debug=True)),
    ("StateGraph", "compile", "transformers", lambda: builder().compile(transformers=[object()])),
    ("Pregel", "invoke", "context", lambda: app().invoke({"log": []}, CFG, context={"user": 1})),
    ("Pregel", "invoke", "stream_mode", lambda: app().invoke({"log": []}, CFG, stream_mode="updates")),
    ("Pregel", "invoke", "print_mode", lambda: app().invoke({"log": []}, CFG, print_mode="values")),
    ("Pregel", "invoke", "output_keys", lambda: app().invoke({"log": []}, CFG, output_keys=["log"])),
    ("Pregel", "invoke", "version", lambda: app().invoke({"log": []}, CFG, version="v2")),
    ("Pregel", "stream", "context", lambda: list(app().stream({"log": []}, CFG, context={"user": 1}))),
    ("Pregel", "stream", "print_mode", lambda: list(app().stream({"log": []}, CFG, print_mode="values"))),
    ("Pregel", "stream", "output_keys", lambda: list(app().stream({"log": []}, CFG, output_keys=["log"]))),
    ("Pregel", "stream", "debug", lambda: list(app().stream({"log": []}, CFG, debug=True))),
    ("Pregel", "update_state", "task_id", lambda: app().update_state(CFG, {"log": ["x"]}, task_id="abc")),
]


@pytest.mark.parametrize("owner, method, keyword, call", CASES)
def test_a_keyword_langgraph_takes_and_the_engine_does_not_implement_is_refused(owner, method, keyword, call):
    from langgraph.graph import StateGraph as LangGraphStateGraph
    from langgraph.pregel import Pregel

    langgraph_method = getattr({"StateGraph": LangGraphStateGraph, "Pregel": Pregel}[owner], method)
    assert keyword in inspect.signature(langgraph_method).parameters, f"LangGraph's {method} takes no {keyword}="
    with pytest.raises(NotImplementedError, match=rf"{keyword}= is accepted by LangGraph but not implemented"):
        call()


def test_defaults_are_not_uses_and_unknown_keywords_are_type_errors():
    builder().compile(debug=False, checkpointer=InMemorySaver()).invoke({"log": []}, CFG, stream_mode="values")
    StateGraph(S, context_schema=None).add_node("a", lambda s: {}, defer=False)
    with pytest.raises(TypeError, match="colour"):
        app().invoke({"log": []}, CFG, colour="red")
    with pytest.raises(TypeError, match="colour"):
        builder().add_conditional_edges("a", lambda s: "a", colour="red")


def test_the_readme_port_table_lists_every_refused_keyword():
    """README.md's call table names, per call, each keyword engine/_internal/keywords.py refuses."""
    import re
    from pathlib import Path

    from engine._internal.keywords import NOT_IMPLEMENTED

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    calls = {"StateGraph()": "`StateGraph(", "add_node()": "`add_node(", "compile()": "`compile(",
             "invoke()": "`invoke`", "stream()": "`stream`", "update_state()": "`update_state("}
    for call, keywords in NOT_IMPLEMENTED.items():
        [row] = [line for line in readme.splitlines() if line.startswith("| " + calls[call])]
        refused = row.rstrip(" |").rsplit("|", 1)[-1]
        named = set(re.findall(r"`(\w+)", refused))
        missing = keywords - named - {"config_schema"}  # config_schema: LangGraph's deprecated alias
        assert not missing, f"README.md's row for {call} does not list {sorted(missing)} as refused"
