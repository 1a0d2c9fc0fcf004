"""Programs for the differential suite: each takes the namespace `lg` (engine or langgraph) and
a checkpointer, and returns what it observed (see harness.py)."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from harness import caught, history


class State(TypedDict):
    x: int
    log: Annotated[list, operator.add]


def chain(lg, saver, *, interrupt_before=(), interrupt_after=()):
    """a -> b (asks) -> c."""
    def a(s):
        return {"x": s["x"] + 1, "log": ["a"]}

    def b(s):
        return {"log": ["b:" + str(lg.interrupt("q"))]}

    def c(s):
        return {"log": ["c"]}

    g = lg.StateGraph(State)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_node("c", c)
    g.add_edge(lg.START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", lg.END)
    return g.compile(checkpointer=saver, interrupt_before=list(interrupt_before),
                     interrupt_after=list(interrupt_after))
