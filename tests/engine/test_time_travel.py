"""Time travel and the pending-interrupt index: a replay or an update of an older checkpoint
forks away from the thread's pending interrupts, so the inbox stops listing them (cancelled,
kept as audit) and lists what the replayed run asks instead. LangGraph's own behaviour (fork
checkpoints, nodes re-run, interrupts asked again) is checked in tests/port/test_history.py."""

import operator
from typing import Annotated, TypedDict

import pytest

from engine.checkpoint.sqlite import SqliteSaver
from engine.constants import START
from engine.errors import InvalidResumeError
from engine.graph import StateGraph
from engine.types import Command, interrupt


class S(TypedDict):
    x: int
    log: Annotated[list, operator.add]


def graph(saver):
    return (StateGraph(S)
            .add_node("a", lambda s: {"x": s["x"] + 1, "log": ["a"]})
            .add_node("b", lambda s: {"log": ["b:" + str(interrupt("q"))]})
            .add_edge(START, "a").add_edge("a", "b").compile(checkpointer=saver))


CFG = {"configurable": {"thread_id": "t"}}


def at(app, next_):
    return [s for s in app.get_state_history(CFG) if s.next == next_][0].config


def pending_ids(saver):
    return [r.id for r in saver.list_pending()]


@pytest.fixture
def saver(tmp_path):
    with SqliteSaver.from_conn_string(str(tmp_path / "t.sqlite")) as opened:
        yield opened


def test_a_replay_cancels_the_pending_interrupt_it_replaces(saver):
    app = graph(saver)
    first = app.invoke({"x": 1, "log": []}, CFG)["__interrupt__"][0].id
    assert pending_ids(saver) == [first]
    again = app.invoke(None, at(app, ("a",)))["__interrupt__"][0].id
    assert again != first
    assert pending_ids(saver) == [again]
    assert saver.get_interrupt(first).status == "cancelled"
    with pytest.raises(InvalidResumeError):
        app.invoke(Command(resume={first: "late"}), CFG)
    assert app.invoke(Command(resume="ok"), CFG)["log"] == ["a", "b:ok"]
    assert pending_ids(saver) == []


def test_a_replay_after_an_answer_asks_again_and_keeps_the_old_decision(saver):
    app = graph(saver)
    first = app.invoke({"x": 1, "log": []}, CFG)["__interrupt__"][0].id
    app.invoke(Command(resume="yes"), CFG)
    again = app.invoke(None, at(app, ("b",)))["__interrupt__"][0].id
    assert pending_ids(saver) == [again]
    assert saver.get_interrupt(first).status == "resolved"  # the audit log keeps it
    assert app.invoke(Command(resume="no"), CFG)["log"] == ["a", "b:no"]


def test_update_state_on_an_older_checkpoint_cancels_the_pending_interrupt(saver):
    app = graph(saver)
    first = app.invoke({"x": 1, "log": []}, CFG)["__interrupt__"][0].id
    forked = app.update_state(at(app, ("b",)), {"x": 10})
    assert pending_ids(saver) == []
    assert saver.get_interrupt(first).status == "cancelled"
    again = app.invoke(None, forked)["__interrupt__"][0].id
    assert pending_ids(saver) == [again] and again != first
