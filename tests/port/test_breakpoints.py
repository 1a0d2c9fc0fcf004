"""Static breakpoints with dynamic interrupts and update_state, as LangGraph 1.2.24 (issue 11,
item 3)."""

import pytest

from harness import SAVER_KINDS, assert_same, caught, history
from programs import chain

pytestmark = pytest.mark.parametrize("kind", SAVER_KINDS)
CFG = {"configurable": {"thread_id": "t"}}
IN = {"x": 1, "log": []}


def p_before_a_node_that_asks(lg, saver):
    """The breakpoint fires once; the node's own interrupt is answered without hitting it again."""
    app = chain(lg, saver, interrupt_before=["b"])
    out = [app.invoke(IN, CFG), app.get_state(CFG).next, app.invoke(None, CFG)]
    out += [app.invoke(lg.Command(resume="yes"), CFG), history(app, CFG)]
    return out


def p_after_a_node_that_asks(lg, saver):
    app = chain(lg, saver, interrupt_after=["b"])
    out = [app.invoke(IN, CFG), app.invoke(lg.Command(resume="yes"), CFG), app.get_state(CFG).next]
    out += [app.invoke(None, CFG), history(app, CFG)]
    return out


def p_update_state_at_a_breakpoint(lg, saver):
    app = chain(lg, saver, interrupt_before=["b"])
    out = [app.invoke(IN, CFG)]
    app.update_state(CFG, {"x": 7})
    out += [app.get_state(CFG), app.invoke(None, CFG), app.invoke(lg.Command(resume="y"), CFG), history(app, CFG)]
    return out


def p_update_state_as_node_at_a_breakpoint(lg, saver):
    app = chain(lg, saver, interrupt_before=["b"])
    out = [app.invoke(IN, CFG)]
    app.update_state(CFG, {"x": 7}, as_node="a")
    out += [app.get_state(CFG), app.invoke(None, CFG), app.invoke(lg.Command(resume="y"), CFG), history(app, CFG)]
    return out


def p_run_time_star(lg, saver):
    app = chain(lg, saver)
    out = [app.invoke(IN, CFG, interrupt_before="*"), app.invoke(None, CFG, interrupt_before="*")]
    out += [app.invoke(None, CFG, interrupt_before="*"), app.invoke(lg.Command(resume="y"), CFG, interrupt_after="*")]
    out += [app.invoke(None, CFG, interrupt_after="*"), history(app, CFG)]
    return out


def p_star_in_a_list_is_not_a_wildcard(lg, saver):
    app = chain(lg, saver)
    out = [caught(lambda: app.invoke(IN, CFG, interrupt_before=["*"]))]
    out += [caught(lambda: chain(lg, saver, interrupt_before=["*"]).invoke(IN, {"configurable": {"thread_id": "u"}}))]
    return out


@pytest.mark.parametrize("program", [p_before_a_node_that_asks, p_after_a_node_that_asks, p_update_state_at_a_breakpoint,
                                     p_update_state_as_node_at_a_breakpoint, p_run_time_star,
                                     p_star_in_a_list_is_not_a_wildcard])
def test_breakpoints(program, kind, tmp_path):
    assert_same(program, kind, tmp_path)
