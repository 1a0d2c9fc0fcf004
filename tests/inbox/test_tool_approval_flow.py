"""The inbox over per-call tool approvals (ToolApprovalRequest): each gated call is its own
request, shown and answered like a one-action multi-action request; the program receives one
bare decision."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from engine.checkpoint.sqlite import SqliteSaver
from engine.graph import START, StateGraph
from engine.prebuilt import review_tool_call
from engine.types import Send
from inbox.app import InboxApp
from inbox.review import ReviewService
from tests.inbox.test_app_flows import NOW, wait_until

CALLS = [{"id": "c1", "name": "wire", "args": {"amount": 5}}, {"id": "c2", "name": "delete_db", "args": {"db": "prod"}}]


class State(TypedDict):
    log: Annotated[list, operator.add]


def gated(call: dict) -> dict:
    decision = review_tool_call(call, description=f"**{call['name']}** wants to run",
                                allowed_decisions=["approve", "reject"])
    return {"log": [f"{call['name']}: {decision['type']}"]}


async def test_each_call_is_a_request_the_inbox_decides(tmp_path):
    saver = await SqliteSaver.aopen(str(tmp_path / "approvals.sqlite"))
    graph = (StateGraph(State).add_node("tool", gated)
             .add_conditional_edges(START, lambda s: [Send("tool", c) for c in CALLS], ["tool"])
             .compile(checkpointer=saver, name="ops"))
    config = {"configurable": {"thread_id": "t1"}}
    await graph.ainvoke({"log": []}, config)
    app = InboxApp(ReviewService(saver, {"ops": graph}, reviewer="dana"), clock=lambda: NOW, live=False)
    async with app.run_test(size=(150, 40)) as pilot:
        await wait_until(pilot, lambda: app.inbox.current is not None, what="the requests")
        pending = await saver.alist_pending()
        assert sorted(p.payload["name"] for p in pending) == ["delete_db", "wire"]
        item = app.inbox.current
        assert item.kind == "hitl" and item.action in ("wire", "delete_db")
        first = item.id
        await pilot.press("a")  # approve the selected call
        for _ in range(100):
            record = await saver.aget_interrupt(first)
            if record.status != "pending":
                break
            await pilot.pause(0.05)
        assert record.response == {"type": "approve"}  # one bare decision, not {"decisions": [...]}
    [other] = [p for p in await saver.alist_pending()]
    assert other.id != first
