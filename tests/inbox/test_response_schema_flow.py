"""The inbox and an interrupt's `response_schema`: the answer dialog checks the answer against
it as you type (sending is disabled until it fits), and the service refuses a bad answer."""

from __future__ import annotations

from typing import TypedDict

import pytest

from engine.checkpoint.sqlite import SqliteSaver
from engine.graph import START, StateGraph
from engine.types import interrupt
from inbox.app import InboxApp
from inbox.review import InvalidResponse, ReviewService
from tests.inbox.test_app_flows import NOW, plain, wait_until

SCHEMA = {"type": "integer", "minimum": 1, "maximum": 5}


class State(TypedDict):
    replicas: int


async def open_inbox(tmp_path):
    saver = await SqliteSaver.aopen(str(tmp_path / "schema.sqlite"))
    graph = (StateGraph(State)
             .add_node("ask", lambda state: {"replicas": interrupt("How many replicas?", response_schema=SCHEMA)})
             .add_edge(START, "ask").compile(checkpointer=saver, name="scale"))
    await graph.ainvoke({"replicas": 0}, {"configurable": {"thread_id": "t1"}})
    service = ReviewService(saver, {"scale": graph}, reviewer="dana")
    return InboxApp(service, clock=lambda: NOW, live=False), service, saver


async def test_the_answer_dialog_checks_the_schema_as_you_type(tmp_path):
    app, service, saver = await open_inbox(tmp_path)
    async with app.run_test(size=(150, 40)) as pilot:
        await wait_until(pilot, lambda: app.inbox.current is not None, what="the request")
        item = app.inbox.current
        assert item.record.response_schema == SCHEMA
        from inbox.widgets.detail import allowed_lines

        shown = allowed_lines(item, app.screen.keys).plain
        assert 'The answer must match this JSON Schema' in shown and '"maximum": 5' in shown
        await pilot.press("r")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "RespondScreen", what="respond dialog")
        screen = app.screen
        assert screen.query_one("#as-json").value  # an integer is asked for: JSON from the start
        screen.query_one("#answer").text = "9"
        await pilot.pause()
        assert screen.query_one("#submit").disabled
        assert "maximum" in plain(screen.query_one("#respond-status"))
        await pilot.press("ctrl+s")  # refused in the dialog: nothing is sent
        await pilot.pause()
        assert (await saver.aget_interrupt(item.id)).status == "pending"
        screen.query_one("#answer").text = "3"
        await pilot.pause()
        assert not screen.query_one("#submit").disabled
        assert "fits the requested schema" in plain(screen.query_one("#respond-status"))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ != "RespondScreen", what="the dialog to close")
        for _ in range(100):
            record = await saver.aget_interrupt(item.id)
            if record.applied:
                break
            await pilot.pause(0.05)
        assert record.response == 3 and record.applied


async def test_the_service_refuses_an_answer_that_breaks_the_schema(tmp_path):
    app, service, saver = await open_inbox(tmp_path)
    [pending] = await saver.alist_pending()
    with pytest.raises(InvalidResponse, match="response_schema"):
        await service.check(pending.id, "three")
    assert await service.check(pending.id, 2) == 2
    await saver.aclose()
