"""Checkpoint history and time travel, as LangGraph 1.2.24 (issue 11, items 1 and 2)."""

import pytest

from harness import SAVER_KINDS, assert_same, caught, history
from programs import chain

pytestmark = pytest.mark.parametrize("kind", SAVER_KINDS)
CFG = {"configurable": {"thread_id": "t"}}


def p_history(lg, saver):
    app = chain(lg, saver)
    out = [app.invoke({"x": 1, "log": []}, CFG), history(app, CFG)]
    out += [app.invoke(lg.Command(resume="yes"), CFG), history(app, CFG), app.get_state(CFG)]
    out += [app.invoke({"x": 5}, CFG), history(app, CFG)]
    return out


def test_history(kind, tmp_path):
    assert_same(p_history, kind, tmp_path)


def _at(lg, app, next_):
    """The config of the newest checkpoint whose next tasks are `next_`."""
    return [s for s in app.get_state_history(CFG) if s.next == next_][0].config


def p_replay_asks_again(lg, saver):
    """invoke(None, an older checkpoint): a fork checkpoint, the nodes after it re-run, and the
    interrupt whose answer lies in the replaced future is asked again."""
    app = chain(lg, saver)
    app.invoke({"x": 1, "log": []}, CFG)
    app.invoke(lg.Command(resume="yes"), CFG)
    out = [app.invoke(None, _at(lg, app, ("b",))), app.get_state(CFG)]
    out += [app.invoke(lg.Command(resume="no"), CFG), history(app, CFG)]
    return out


def p_replay_without_interrupts(lg, saver):
    app = chain(lg, saver)
    app.invoke({"x": 1, "log": []}, CFG)
    app.invoke(lg.Command(resume="yes"), CFG)
    out = [app.invoke(None, _at(lg, app, ("c",))), history(app, CFG)]
    out += [app.invoke(None, _at(lg, app, ("a",))), app.get_state(CFG)]
    return out


def p_replay_input_checkpoint(lg, saver):
    app = chain(lg, saver)
    app.invoke({"x": 1, "log": []}, CFG)
    out = [app.invoke(None, _at(lg, app, ("__start__",))), history(app, CFG)]
    return out


def p_update_state_forks(lg, saver):
    app = chain(lg, saver)
    app.invoke({"x": 1, "log": []}, CFG)
    app.invoke(lg.Command(resume="yes"), CFG)
    forked = app.update_state(_at(lg, app, ("b",)), {"x": 10})
    out = [app.get_state(forked), app.invoke(None, forked), app.invoke(lg.Command(resume="again"), CFG),
           history(app, CFG)]
    return out


@pytest.mark.parametrize("program", [p_replay_asks_again, p_replay_without_interrupts, p_replay_input_checkpoint,
                                     p_update_state_forks])
def test_time_travel(program, kind, tmp_path):
    assert_same(program, kind, tmp_path)
