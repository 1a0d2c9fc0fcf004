"""input_schema and output_schema, as LangGraph 1.2.24 (issue 11, item 7)."""

from typing import TypedDict

import pytest

from harness import SAVER_KINDS, assert_same

pytestmark = pytest.mark.parametrize("kind", SAVER_KINDS)
CFG = {"configurable": {"thread_id": "t"}}


class Full(TypedDict, total=False):
    question: str
    scratch: str
    answer: str


class In(TypedDict):
    question: str


class Out(TypedDict):
    answer: str


def schemas(lg, saver):
    def think(s):
        return {"scratch": "seen:" + s.get("question", "") + ":" + s.get("scratch", "-")}

    def reply(s):
        return {"answer": s["scratch"].upper()}

    g = lg.StateGraph(Full, input_schema=In, output_schema=Out)
    g.add_node("think", think)
    g.add_node("reply", reply)
    g.add_edge(lg.START, "think")
    g.add_edge("think", "reply")
    return g.compile(checkpointer=saver)


def p_input_and_output_schema(lg, saver):
    app = schemas(lg, saver)
    out = [app.invoke({"question": "q", "scratch": "smuggled", "answer": "early"}, CFG), app.get_state(CFG).values]
    out += [list(app.stream({"question": "r"}, {"configurable": {"thread_id": "u"}}, stream_mode="values"))]
    out += [list(app.stream({"question": "s"}, {"configurable": {"thread_id": "v"}}, stream_mode="updates"))]
    return out


def test_schemas(kind, tmp_path):
    assert_same(p_input_and_output_schema, kind, tmp_path)
