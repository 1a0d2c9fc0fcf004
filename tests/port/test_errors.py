"""A node that fails after its interrupt was answered, as LangGraph 1.2.24 (issue 11, item 4)."""

import pytest

from harness import SAVER_KINDS, assert_same, caught, history
from programs import State

pytestmark = pytest.mark.parametrize("kind", SAVER_KINDS)
CFG = {"configurable": {"thread_id": "t"}}


def failing_after_answer(lg, saver, failures):
    """ask: interrupt, then fail while `failures` has entries left (one per call)."""
    def ask(s):
        answer = lg.interrupt("q")
        if failures:
            failures.pop()
            raise ValueError(f"boom after {answer}")
        return {"log": [f"ask:{answer}"]}

    g = lg.StateGraph(State)
    g.add_node("ask", ask)
    g.add_node("after", lambda s: {"log": ["after"]})
    g.add_edge(lg.START, "ask")
    g.add_edge("ask", "after")
    return g.compile(checkpointer=saver)


def p_rerun_with_the_stored_answer(lg, saver):
    app = failing_after_answer(lg, saver, [1])
    out = [app.invoke({"x": 0, "log": []}, CFG), caught(lambda: app.invoke(lg.Command(resume="yes"), CFG))]
    out += [app.get_state(CFG), app.invoke(None, CFG), history(app, CFG)]
    return out


def p_fails_twice(lg, saver):
    app = failing_after_answer(lg, saver, [1, 2])
    out = [app.invoke({"x": 0, "log": []}, CFG), caught(lambda: app.invoke(lg.Command(resume="yes"), CFG))]
    out += [caught(lambda: app.invoke(None, CFG)), app.get_state(CFG), app.invoke(None, CFG), app.get_state(CFG)]
    return out


@pytest.mark.parametrize("program", [p_rerun_with_the_stored_answer, p_fails_twice])
def test_error_after_resume(program, kind, tmp_path):
    assert_same(program, kind, tmp_path)


def p_new_answer_after_the_error(lg, saver):
    app = failing_after_answer(lg, saver, [1])
    app.invoke({"x": 0, "log": []}, CFG)
    caught(lambda: app.invoke(lg.Command(resume="yes"), CFG))
    return [caught(lambda: app.invoke(lg.Command(resume="other"), CFG)), app.get_state(CFG)]


def test_a_second_answer_after_the_error_is_refused(kind, tmp_path):
    """LangGraph 1.2.24 takes it and silently runs the node with the first answer again
    (p_new_answer_after_the_error: 'ask:yes'); the engine refuses it, naming the way on."""
    from harness import namespace, open_saver

    from engine.errors import InvalidResumeError

    theirs = p_new_answer_after_the_error(namespace("langgraph"), namespace("langgraph").InMemorySaver())
    assert theirs[0]["log"] == ["ask:yes", "after"]
    lg = namespace("engine")
    with open_saver(lg, kind, tmp_path) as saver:
        app = failing_after_answer(lg, saver, [1])
        app.invoke({"x": 0, "log": []}, CFG)
        with pytest.raises(ValueError, match="boom after yes"):
            app.invoke(lg.Command(resume="yes"), CFG)
        with pytest.raises(InvalidResumeError, match=r"answered already.*invoke\(None, config\)"):
            app.invoke(lg.Command(resume="other"), CFG)
        assert app.invoke(None, CFG)["log"] == ["ask:yes", "after"]
