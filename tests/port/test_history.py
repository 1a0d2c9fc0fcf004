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
