"""`serde.dumps` takes a fast path (plain values shared, not copied; orjson encodes) and must
store exactly what the plain path (`_walk` + json.dumps) stores, value for value, and refuse
the same values (NaN and infinities as TypeError, like every other value that cannot be stored,
where json.dumps raised ValueError)."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import datetime, timezone

import pytest

from engine.checkpoint import serde
from engine.types import Command, Interrupt, Send


def plain_path(value):
    return json.dumps(serde._walked(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class Colour(enum.IntEnum):
    RED = 1


class Name(str):
    pass


@dataclasses.dataclass
class Point:
    x: int
    y: tuple


VALUES = [
    None, True, 0, -1, 2**63 - 1, 2**64 + 5, 2**70, 0.1, 1e16, -2.5e-300, "", "émoji 🎉 \u2028 \x00 \"q\" \\",
    [], {}, [1, [2, [3, [4]]]], {"a": {"b": {"c": [None, True, 1.5]}}},
    (1, 2), {"t": (1, (2, 3))}, {1, 2} and {"s": {1}}, b"\x00\xff", {"when": datetime(2026, 11, 30, tzinfo=timezone.utc)},
    Colour.RED, Name("subclass"), {"p": Point(1, (2,))},
    [Interrupt(value={"q": "go?"}, id="abc")], Command(resume={"x": 1}), Send("node", {"arg": [1]}),
    {"messages": [{"role": "assistant", "content": "hi", "tool_calls": [{"id": "c1", "args": {"n": 1}}]}] * 3},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_fast_path_stores_what_the_plain_path_stores(value):
    fast = serde.dumps(value)
    assert json.loads(fast) == json.loads(plain_path(value))
    assert serde.loads(fast) == serde.loads(plain_path(value))


def test_plain_values_are_not_copied_but_tagged_ones_are():
    inner = {"a": [1, 2]}
    assert serde._shared(inner) is inner
    tagged = {"a": [1, (2, 3)]}
    shared = serde._shared(tagged)
    assert shared is not tagged and tagged == {"a": [1, (2, 3)]}  # the caller's value is untouched
    assert shared["a"][1] == {serde._TAG: "tuple", "v": [2, 3]}


@pytest.mark.parametrize("bad, error, text", [
    (float("nan"), TypeError, "nan cannot be stored as JSON"),
    ({"x": [float("inf")]}, TypeError, "inf cannot be stored as JSON"),
    ({1: "x"}, TypeError, "dict keys must be strings"),
    ("\udc80", TypeError, "lone surrogate"),
    (object(), TypeError, "not JSON serializable"),
])
def test_the_fast_path_refuses_what_the_plain_path_refuses(bad, error, text):
    with pytest.raises(error, match=text):
        serde.dumps(bad)


def test_too_deep_is_refused_on_the_fast_path():
    value: list = []
    for _ in range(serde.MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(serde.TooDeep):
        serde.dumps(value)
    looped: list = []
    looped.append(looped)
    with pytest.raises(serde.TooDeep):
        serde.dumps(looped)


def test_a_node_returning_nan_fails_naming_the_node():
    from typing import TypedDict

    from engine.errors import InvalidUpdateError
    from engine.graph import END, START, StateGraph

    class S(TypedDict):
        x: float

    graph = (StateGraph(S).add_node("compute", lambda s: {"x": float("nan")})
             .add_edge(START, "compute").add_edge("compute", END).compile())
    with pytest.raises(InvalidUpdateError, match="node 'compute'.*cannot be stored as JSON"):
        graph.invoke({"x": 0.0})
