"""A node that fails after its interrupt was answered: the answer stays the interrupt's (the
inbox shows it decided, not pending), and invoke(None) runs the node again with it."""

import operator
from typing import Annotated, TypedDict

import pytest

from engine.checkpoint.sqlite import SqliteSaver
from engine.constants import START
from engine.graph import StateGraph
from engine.types import Command, interrupt


class S(TypedDict):
    log: Annotated[list, operator.add]


def test_the_index_keeps_the_answer_and_invoke_none_reuses_it(tmp_path):
    failures = [1]

    def ask(state):
        answer = interrupt("q")
        if failures:
            failures.pop()
            raise ValueError("boom")
        return {"log": [answer]}

    cfg = {"configurable": {"thread_id": "t"}}
    with SqliteSaver.from_conn_string(str(tmp_path / "t.sqlite")) as saver:
        app = StateGraph(S).add_node("ask", ask).add_edge(START, "ask").compile(checkpointer=saver)
        asked = app.invoke({"log": []}, cfg)["__interrupt__"][0].id
        with pytest.raises(ValueError):
            app.invoke(Command(resume="yes"), cfg)
        assert saver.list_pending() == []
        assert saver.get_interrupt(asked).status == "resolved"
        state = app.get_state(cfg)
        assert state.tasks[0].error == "ValueError('boom')" and state.next == ("ask",)
        assert app.invoke(None, cfg)["log"] == ["yes"]
        assert saver.list_pending() == []
