"""LangChain v1's per-call review: a ToolApprovalRequest per gated call, each answered with one
decision keyed by interrupt id; answers the request does not allow are refused before anything
runs."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

import pytest

from engine.graph import START, StateGraph
from engine.prebuilt import review_tool_call, tool_approval_request
from engine.review.validate import InvalidResponse, review_items
from engine.types import Command, Send

CALLS = [{"id": "c1", "name": "wire", "args": {"amount": 5}}, {"id": "c2", "name": "wire", "args": {"amount": 900}}]


class State(TypedDict):
    log: Annotated[list, operator.add]


def gated(call: dict) -> dict:
    decision = review_tool_call(call, description=f"Wire €{call['args']['amount']}?")
    if decision["type"] == "approve":
        return {"log": [f"wired {call['args']['amount']}"]}
    if decision["type"] == "edit":
        return {"log": [f"wired {decision['edited_action']['args']['amount']} (edited)"]}
    return {"log": [f"skipped {call['id']}: {decision.get('message')}"]}


def graph(saver):
    return (StateGraph(State).add_node("tool", gated)
            .add_conditional_edges(START, lambda s: [Send("tool", c) for c in CALLS], ["tool"])
            .compile(checkpointer=saver))


def test_one_request_per_call_answered_by_interrupt_id(saver):
    app = graph(saver)
    config = {"configurable": {"thread_id": "t"}}
    paused = app.invoke({"log": []}, config)["__interrupt__"]
    assert len(paused) == 2 and len({i.id for i in paused}) == 2
    by_call = {i.value["tool_call_id"]: i for i in paused}
    assert by_call["c2"].value == {"type": "tool_approval", "tool_call_id": "c2", "name": "wire",
                                   "args": {"amount": 900}, "description": "Wire €900?",
                                   "allowed_decisions": ["approve", "edit", "reject"]}
    with pytest.raises(InvalidResponse, match="'respond' is not allowed"):
        app.invoke(Command(resume={by_call["c1"].id: {"type": "respond", "message": "hm"}}), config)
    done = app.invoke(Command(resume={
        by_call["c1"].id: {"type": "approve"},
        by_call["c2"].id: {"type": "reject", "message": "too much"}}), config)
    assert sorted(done["log"]) == ["skipped c2: too much", "wired 5"]


def test_an_edit_and_the_review_items(saver):
    request = tool_approval_request(CALLS[0], args_schema={"type": "object", "properties": {
        "amount": {"type": "number", "maximum": 10}}})
    [item] = review_items(request)
    assert (item.kind, item.action, item.args, item.allowed) == ("hitl", "wire", {"amount": 5},
                                                                  {"approve", "edit", "reject"})
    from engine.review.validate import validate_response

    with pytest.raises(InvalidResponse, match="maximum"):
        validate_response(request, {"type": "edit", "edited_action": {"name": "wire", "args": {"amount": 50}}})
    # the batched form of one decision is unwrapped: the program reads one decision
    assert validate_response(request, {"decisions": [{"type": "approve"}]}) == {"type": "approve"}


def test_a_malformed_request_is_shown_raw_with_the_reason():
    [item] = review_items({"type": "tool_approval", "name": "wire"})
    assert item.kind == "question" and "ToolApprovalRequest" in item.problem
