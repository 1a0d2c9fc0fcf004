"""More histories as LangGraph 1.2.24: parallel interrupts, Send fan-out, a Command(goto=...)
input, update_state(as_node=...) and a run on a finished thread."""

import operator
from typing import Annotated, TypedDict

import pytest

from harness import SAVER_KINDS, assert_same, history
from programs import State, chain

pytestmark = pytest.mark.parametrize("kind", SAVER_KINDS)
CFG = {"configurable": {"thread_id": "t"}}


def p_parallel_interrupts(lg, saver):
    def ask(name):
        return lambda s: {"log": [name + ":" + str(lg.interrupt(name + "?"))]}

    g = lg.StateGraph(State)
    g.add_node("left", ask("left"))
    g.add_node("right", ask("right"))
    g.add_edge(lg.START, "left")
    g.add_edge(lg.START, "right")
    app = g.compile(checkpointer=saver)
    first = app.invoke({"x": 0, "log": []}, CFG)
    # the order of the combined list is the order the tasks paused in: not deterministic
    first["__interrupt__"] = sorted(first["__interrupt__"], key=lambda i: i.value)
    answers = {i.id: i.value.upper() for i in first["__interrupt__"]}
    return [first, app.invoke(lg.Command(resume=answers), CFG), history(app, CFG)]


class Fan(TypedDict):
    items: list
    done: Annotated[list, operator.add]


def p_send_fan_out(lg, saver):
    g = lg.StateGraph(Fan)
    g.add_node("work", lambda s: {"done": [s["item"] * 2]})
    g.add_conditional_edges(lg.START, lambda s: [lg.Send("work", {"item": i}) for i in s["items"]])
    app = g.compile(checkpointer=saver)
    return [app.invoke({"items": [1, 2, 3], "done": []}, CFG), history(app, CFG)]


def p_update_state_as_node(lg, saver):
    app = chain(lg, saver)
    app.invoke({"x": 1, "log": []}, CFG)
    app.update_state(CFG, {"log": ["skipped b"]}, as_node="b")
    return [app.get_state(CFG), app.invoke(None, CFG), history(app, CFG)]


def p_two_runs(lg, saver):
    app = chain(lg, saver)
    app.invoke({"x": 1, "log": []}, CFG)
    app.invoke(lg.Command(resume="one"), CFG)
    app.invoke({"x": 10}, CFG)
    return [app.invoke(lg.Command(resume="two"), CFG), history(app, CFG)]


@pytest.mark.parametrize("program", [p_parallel_interrupts, p_send_fan_out, p_update_state_as_node, p_two_runs])
def test_more_history(program, kind, tmp_path):
    assert_same(program, kind, tmp_path)


def p_command_goto(lg, saver):
    app = chain(lg, saver)
    app.invoke({"x": 1, "log": []}, CFG)
    app.invoke(lg.Command(resume="one"), CFG)
    return [app.invoke(lg.Command(goto="c"), CFG), history(app, CFG)]


def p_command_goto_with_update(lg, saver):
    app = chain(lg, saver)
    app.invoke({"x": 1, "log": []}, CFG)
    return [app.invoke(lg.Command(goto="c", update={"x": 9}), CFG), history(app, CFG)]


def p_resume_with_goto(lg, saver):
    app = chain(lg, saver)
    app.invoke({"x": 1, "log": []}, CFG)
    return [app.invoke(lg.Command(resume="one", goto="a"), CFG), history(app, CFG)]


def p_resume_with_update(lg, saver):
    app = chain(lg, saver)
    app.invoke({"x": 1, "log": []}, CFG)
    return [app.invoke(lg.Command(resume="one", update={"x": 7}), CFG), history(app, CFG)]


@pytest.mark.parametrize("program", [
    p_command_goto, p_command_goto_with_update, p_resume_with_goto, p_resume_with_update])
def test_commands(program, kind, tmp_path):
    assert_same(program, kind, tmp_path)


def p_command_starts_a_thread(lg, saver):
    app = chain(lg, saver)
    return [app.invoke(lg.Command(goto="c", update={"x": 3}), CFG), history(app, CFG)]


def test_a_command_starting_a_thread(kind, tmp_path):
    assert_same(p_command_starts_a_thread, kind, tmp_path)
