"""Values the engine cannot store are refused where they enter, with the documented error naming
what was wrong and how to fix it, never a bare RecursionError or TypeError from the serializer:

- state (a run's input, a node's write): InvalidUpdateError;
- an interrupt payload or on_timeout: InterruptPayloadError (also for a set, bytes or a
  datetime, which are not plain JSON for the people and programs reading payloads);
- a resume value: InvalidResumeError when the Command is built;
- a response given to resolve(): ValueError.

Nesting deeper than serde.MAX_DEPTH levels, or a value containing itself, is what "too deep" means.
Sets and bytes in state are still stored and come back as they were (serde tags them)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, TypedDict

import pytest
from pydantic import BaseModel

from engine.checkpoint.serde import MAX_DEPTH, TooDeep, dumps, loads, require_plain_json, to_jsonable
from engine.checkpoint.sqlite import SqliteSaver
from engine.errors import InterruptPayloadError, InvalidResumeError, InvalidUpdateError
from engine.events import InterruptRaised
from engine.graph import START, StateGraph
from engine.types import Command, interrupt


class State(TypedDict):
    x: Any


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def cyclic() -> list:
    value: list = []
    value.append(value)
    return value


def graph_of(node, saver):
    return StateGraph(State).add_node("n", node).add_edge(START, "n").compile(checkpointer=saver)


def cfg(thread_id: str = "t") -> dict:
    return {"configurable": {"thread_id": thread_id}}


# ---- serde --------------------------------------------------------------------------------------


def test_max_depth_is_the_deepest_value_stored():
    assert loads(dumps(nested(MAX_DEPTH))) == nested(MAX_DEPTH)
    assert loads(dumps({"a": nested(MAX_DEPTH - 1)})) == {"a": nested(MAX_DEPTH - 1)}
    for value in (nested(MAX_DEPTH + 1), {"a": nested(MAX_DEPTH)}, (nested(MAX_DEPTH),), cyclic(),
                  nested(100_000)):
        with pytest.raises(TooDeep, match=f"nested more than {MAX_DEPTH} levels deep"):
            dumps(value)
        with pytest.raises(TypeError, match="flatten it"):  # callers catch TypeError
            to_jsonable(value)


def test_plain_json_names_what_is_not_and_where():
    require_plain_json({"a": [1, (2, 3)], "b": None})
    cases = [({"files": [1, {2}]}, r"the payload\['files'\]\[1\] is a set \(use a list\)"),
             ({"raw": b"\x00"}, r"the payload\['raw'\] is bytes \(decode them"),
             ([datetime(2026, 1, 1, tzinfo=timezone.utc)], r"the payload\[0\] is a datetime \(use its .isoformat"),
             (frozenset(), r"the payload is a set")]
    for value, message in cases:
        with pytest.raises(TypeError, match=message):
            require_plain_json(value, "the payload")


# ---- a running graph ----------------------------------------------------------------------------


def test_deep_state_is_an_invalid_update_naming_the_limit(saver):
    with pytest.raises(InvalidUpdateError, match=f"the state of thread 't' .*nested more than {MAX_DEPTH}"):
        graph_of(lambda s: {"x": 1}, saver).invoke({"x": nested(100_000)}, cfg())
    with pytest.raises(InvalidUpdateError, match=f"node 'n' wrote a value .*nested more than {MAX_DEPTH}"):
        graph_of(lambda s: {"x": nested(100_000)}, saver).invoke({"x": 1}, cfg("t2"))
    with pytest.raises(InvalidUpdateError, match="node 'n' wrote .*contains itself"):
        graph_of(lambda s: {"x": cyclic()}, saver).invoke({"x": 1}, cfg("t3"))


@pytest.mark.parametrize("payload, fragment", [
    (nested(100_000), f"nested more than {MAX_DEPTH} levels deep"),
    ({"tags": {"a", "b"}}, "the payload['tags'] is a set (use a list)"),
    ({"attachment": b"%PDF"}, "the payload['attachment'] is bytes"),
], ids=["deep", "set", "bytes"])
def test_a_payload_that_is_not_plain_json_is_refused_in_interrupt(saver, payload, fragment):
    graph = graph_of(lambda s: {"x": interrupt(payload)}, saver)
    with pytest.raises(InterruptPayloadError) as caught:
        graph.invoke({"x": 1}, cfg())
    assert fragment in str(caught.value) and "interrupt() in node 'n'" in str(caught.value)


def test_a_deep_on_timeout_is_refused_in_interrupt(saver):
    from datetime import timedelta

    graph = graph_of(lambda s: {"x": interrupt("ok?", timeout=timedelta(hours=1), on_timeout=nested(1000))}, saver)
    with pytest.raises(InterruptPayloadError, match="on_timeout"):
        graph.invoke({"x": 1}, cfg())


def test_a_pydantic_payload_is_stored_as_its_dict(saver):
    class Question(BaseModel):
        text: str
        options: list[str]

    graph = graph_of(lambda s: {"x": interrupt(Question(text="go?", options=["y", "n"]))}, saver)
    out = graph.invoke({"x": 1}, cfg())
    assert out["__interrupt__"][0].value == Question(text="go?", options=["y", "n"])
    assert graph.invoke(Command(resume="y"), cfg()) == {"x": "y"}


def test_a_deep_resume_value_is_refused_when_the_command_is_built():
    with pytest.raises(InvalidResumeError, match=f"Command\\(resume=...\\) .*nested more than {MAX_DEPTH}"):
        Command(resume=nested(100_000))
    with pytest.raises(InvalidResumeError, match="contains itself"):
        Command(resume={"a": cyclic()})
    assert Command(resume=nested(MAX_DEPTH)).resume == nested(MAX_DEPTH)


def test_sets_and_bytes_in_state_still_round_trip(saver):
    graph = graph_of(lambda s: {"x": {"seen": {1, 2}, "raw": b"\x00\xff", "pair": (1, 2)}}, saver)
    assert graph.invoke({"x": None}, cfg()) == {"x": {"seen": {1, 2}, "raw": b"\x00\xff", "pair": (1, 2)}}
    assert graph.get_state(cfg()).values["x"]["seen"] == {1, 2}


# ---- resolve() ----------------------------------------------------------------------------------


async def test_resolve_refuses_a_deep_response_and_stores_nothing(tmp_path):
    async with SqliteSaver.from_conn_string(tmp_path / "x.sqlite") as saver:
        await saver.aput_events([InterruptRaised(at="2026-01-01T00:00:00+00:00", thread_id="t",
                                                 interrupt_id="q", value="a plain question")])
        with pytest.raises(ValueError, match=f"response to interrupt q cannot be stored .*more than {MAX_DEPTH}"):
            await saver.aresolve("q", nested(100_000), by="alice")
        assert (await saver.aget_interrupt("q")).status == "pending"
