"""get_state with subgraphs and with a paused sibling, as LangGraph 1.2.24 (issue 11, item 6)."""

import pytest

from harness import SAVER_KINDS, assert_same, history
from programs import State

pytestmark = pytest.mark.parametrize("kind", SAVER_KINDS)
CFG = {"configurable": {"thread_id": "t"}}


def with_subgraph(lg, saver):
    def inner(s):
        return {"log": ["inner:" + str(lg.interrupt("inner?"))]}

    sub = lg.StateGraph(State)
    sub.add_node("prep", lambda s: {"log": ["prep"]})
    sub.add_node("inner", inner)
    sub.add_edge(lg.START, "prep")
    sub.add_edge("prep", "inner")
    g = lg.StateGraph(State)
    g.add_node("first", lambda s: {"log": ["first"]})
    g.add_node("sub", sub.compile())
    g.add_edge(lg.START, "first")
    g.add_edge("first", "sub")
    return g.compile(checkpointer=saver)


def p_subgraph_state(lg, saver):
    app = with_subgraph(lg, saver)
    out = [app.invoke({"x": 0, "log": []}, CFG), app.get_state(CFG), app.get_state(CFG, subgraphs=True)]
    out += [app.get_state(app.get_state(CFG).tasks[0].state)]  # the config names the subgraph's namespace
    out += [app.invoke(lg.Command(resume="ok"), CFG), app.get_state(CFG, subgraphs=True)]
    return out


def p_sibling_writes_while_paused(lg, saver):
    def ask(s):
        return {"log": ["ask:" + str(lg.interrupt("ask?"))]}

    g = lg.StateGraph(State)
    g.add_node("fast", lambda s: {"x": 5, "log": ["fast"]})
    g.add_node("ask", ask)
    g.add_node("join", lambda s: {"log": ["join"]})
    g.add_edge(lg.START, "fast")
    g.add_edge(lg.START, "ask")
    g.add_edge(["fast", "ask"], "join")
    app = g.compile(checkpointer=saver)
    out = [app.invoke({"x": 0, "log": []}, CFG), app.get_state(CFG)]
    out += [app.invoke(lg.Command(resume="ok"), CFG), history(app, CFG)]
    return out


@pytest.mark.parametrize("program", [p_subgraph_state, p_sibling_writes_while_paused])
def test_get_state(program, kind, tmp_path):
    assert_same(program, kind, tmp_path)


def p_subgraph_replay(lg, saver):
    """Time travel to the parent checkpoint before a subgraph that asked: it runs and asks again."""
    app = with_subgraph(lg, saver)
    app.invoke({"x": 0, "log": []}, CFG)
    app.invoke(lg.Command(resume="ok"), CFG)
    before_sub = [s for s in app.get_state_history(CFG) if s.next == ("sub",)][0].config
    out = [app.invoke(None, before_sub), app.get_state(CFG, subgraphs=True)]
    out += [app.invoke(lg.Command(resume="again"), CFG), history(app, CFG)]
    return out


def test_subgraph_replay(kind, tmp_path):
    assert_same(p_subgraph_replay, kind, tmp_path)
