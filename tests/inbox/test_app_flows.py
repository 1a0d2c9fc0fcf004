"""The inbox under Pilot: press keys like a reviewer, then check the database and the agents.

Each test seeds a real SQLite file with the demo fleet and opens the real app over it, with
the demo graphs in-process so decisions continue the runs.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest

from engine.checkpoint.sqlite import SqliteSaver
from inbox.app import InboxApp
from inbox.config import InboxSettings
from inbox.demo import GRAPHS, seed
from inbox.review import ReviewService
from inbox.widgets.detail import DetailPane

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)
START = datetime(2025, 3, 10, 8, 30, tzinfo=timezone.utc)


@pytest.fixture
def demo_db(tmp_path):
    path = tmp_path / "inbox.sqlite"
    seed(str(path), threads=9, start=START)  # one thread of each scenario
    return path


async def make_app(path, *, reviewer="dana", live=False, keys=None, undo_seconds=0.0):
    """The app over `path`; decisions are sent at once unless `undo_seconds` (the undo window) is given."""
    saver = await SqliteSaver.aopen(str(path))
    graphs = {name: build(saver) for name, build in GRAPHS.items()}
    service = ReviewService(saver, graphs, reviewer=reviewer)
    settings = InboxSettings(reviewer=reviewer, keys=keys or {}, toast_seconds=30, undo_seconds=undo_seconds)
    return InboxApp(service, settings=settings, source="test", clock=lambda: NOW, live=live), saver, graphs


async def wait_until(pilot, predicate, timeout=15.0, what="condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await pilot.pause(0.05)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}")


async def select_thread(pilot, app, thread_prefix: str) -> None:
    table = app.inbox.table
    await wait_until(pilot, lambda: table.row_count > 0, what="rows")
    for _ in range(table.row_count):
        if app.inbox.current and app.inbox.current.record.thread_id.startswith(thread_prefix):
            return
        await pilot.press("j")
    raise AssertionError(f"no row for {thread_prefix}")


def plain(widget, width: int = 120) -> str:
    """What a Static (or a renderable, such as a detail pane's section) shows, as plain text
    (its Rich content printed without styles)."""
    from rich.console import Console

    console = Console(width=width, record=True, file=open("/dev/null", "w"))
    console.print(getattr(widget, "content", widget))
    return console.export_text()


def status_text(app) -> str:
    return plain(app.query_one("#statusline"), 200)


async def test_accept_runs_the_tool_once_with_the_original_args(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        item = app.inbox.current
        await pilot.press("a")
        await wait_until(pilot, lambda: "finished" in status_text(app), what="the run to finish")
        record = await saver.aget_interrupt(item.id)
        assert record.status == "resolved" and record.resolved_by == "dana" and record.applied
        calls = graphs["email-assistant"].outbox.calls("send_email")
        assert calls == [item.items[0].args]  # ran exactly once, with the args as requested
        assert item.id not in app.inbox.table.items  # decided: it left the Pending list


async def test_edit_runs_the_tool_with_the_edited_args(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        original = dict(app.inbox.current.items[0].args)
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "EditArgsScreen", what="the editor")
        editor = app.screen.query_one("#args-editor")
        edited = {**original, "body": "Hi Mei,\n\nhere is the renewal at €18 per seat.\n\nBest,\nJonas"}
        import json
        editor.text = json.dumps(edited, indent=2)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "finished" in status_text(app), what="the run to finish")
        assert graphs["email-assistant"].outbox.calls("send_email") == [edited]


async def test_invalid_edit_cannot_be_submitted_and_nothing_is_sent(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        item = app.inbox.current
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "EditArgsScreen", what="the editor")
        app.screen.query_one("#args-editor").text = '{"to": 42}'
        await pilot.pause()
        assert app.screen.query_one("#submit").disabled
        assert "args.to" in plain(app.screen.query_one("#edit-status"))
        await pilot.press("ctrl+s")  # refused while invalid
        await pilot.press("escape")  # typed text would be lost: it asks
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", what="the question")
        await pilot.press("y")
        await pilot.pause(0.2)
        assert (await saver.aget_interrupt(item.id)).status == "pending"
        assert graphs["email-assistant"].outbox.calls("send_email") == []


async def test_respond_sends_the_words_to_the_agent_and_the_tool_does_not_run(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "payments-agent")
        thread_id = app.inbox.current.record.thread_id
        await pilot.press("r")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "RespondScreen", what="respond dialog")
        app.screen.query_one("#answer").text = "IBAN does not match supplier master data; hold it."
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "finished" in status_text(app), what="the run to finish")
        assert graphs["payments-agent"].outbox.calls() == []
        state = await graphs["payments-agent"].aget_state({"configurable": {"thread_id": thread_id}})
        tool_messages = [m for m in state.values["messages"] if m.get("role") == "tool"]
        assert tool_messages[-1]["content"] == "IBAN does not match supplier master data; hold it."


async def test_a_disallowed_key_is_shown_disabled_explained_and_sends_nothing(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "cleanup-agent")  # delete_files: accept not allowed
        item = app.inbox.current
        assert app.inbox.check_action("accept", ()) is None and app.inbox.check_action("edit", ()) is True
        await pilot.press("a")
        await pilot.pause(0.2)
        assert any("not allowed" in str(n.message) for n in app._notifications)
        assert (await saver.aget_interrupt(item.id)).status == "pending"


async def test_plain_question_takes_a_json_answer(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "cluster-planner")
        item = app.inbox.current
        await pilot.press("r")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "RespondScreen", what="respond dialog")
        app.screen.query_one("#answer").text = '{"region": "eu-west-1"}'
        await pilot.press("ctrl+j")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "finished" in status_text(app) or "asks" in status_text(app),
                         what="the run to continue")
        assert (await saver.aget_interrupt(item.id)).response == {"region": "eu-west-1"}


async def test_multi_action_stepper_decides_each_then_sends_together(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 45)) as pilot:
        await select_thread(pilot, app, "ops-triage")
        item = app.inbox.current
        assert len(item.items) == 3
        await pilot.press("a")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StepperScreen", what="the stepper")
        await pilot.press("a")          # approve action 1
        await pilot.press("i")          # reject action 2 (skip the tool): asks for a reason
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "RespondScreen", what="the reason")
        await pilot.press(*"too risky")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StepperScreen", what="the stepper")
        await pilot.press("a")          # approve action 3
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "✓" in status_text(app), what="the decision")
        record = await saver.aget_interrupt(item.id)
        assert [d["type"] for d in record.response["decisions"]] == ["approve", "reject", "approve"]
        assert record.response["decisions"][1]["message"] == "too risky"  # the agent gets the reason


async def test_bulk_accept_marked_after_confirm(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        table = app.inbox.table
        await wait_until(pilot, lambda: table.row_count > 0, what="rows")
        await select_thread(pilot, app, "email-assistant")
        first = app.inbox.current.id
        await pilot.press("space")      # marks and moves down (payments)
        second = app.inbox.current.id
        await pilot.press("space")
        assert set(table.marked) == {first, second}
        await pilot.press("A")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", what="the confirm")
        assert "Accept 2 marked requests?" in plain(app.screen.query_one(".dialog-title"))
        await pilot.press("y")
        await wait_until(pilot, lambda: len(graphs["email-assistant"].outbox.calls()) == 1
                         and len(graphs["payments-agent"].outbox.calls()) == 1, what="both tools to run")
        for interrupt_id in (first, second):
            assert (await saver.aget_interrupt(interrupt_id)).status == "resolved"


async def test_someone_else_decided_first_nothing_is_sent(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "sql-agent")
        item = app.inbox.current
        # Another reviewer wins the race in another process.
        other = await SqliteSaver.aopen(str(demo_db))
        await other.aresolve(item.id, [{"type": "response", "args": "not now"}], by="sam")
        await other.aclose()
        await pilot.press("a")
        await wait_until(pilot, lambda: "Not sent" in status_text(app), what="the refusal")
        assert "resolved by sam" in status_text(app)
        assert any("already resolved by sam" in str(n.message) for n in app._notifications)
        assert graphs["sql-agent"].outbox.calls() == []
        # Decided by someone else: it leaves the Pending list (the toast and status say who).
        await wait_until(pilot, lambda: item.id not in app.inbox.table.items,
                         what="the row to leave the Pending list")


def raise_more_script(tmp_path, demo_db):
    """A script that, run in another process, raises three more requests in `demo_db` (12 threads in all)."""
    script = tmp_path / "raise_more.py"
    script.write_text(textwrap.dedent(f"""
        from datetime import datetime, timezone
        from inbox.demo import seed
        seed({str(demo_db)!r}, threads=12, start=datetime(2025, 3, 10, 8, 30, tzinfo=timezone.utc))
    """))
    return script


async def test_new_interrupts_from_another_process_appear_without_a_keypress(demo_db, tmp_path):
    app, saver, graphs = await make_app(demo_db, live=True)
    script = raise_more_script(tmp_path, demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        table = app.inbox.table
        await wait_until(pilot, lambda: table.row_count == 9, what="the first rows")
        await asyncio.to_thread(subprocess.run, [sys.executable, str(script)], check=True)
        await wait_until(pilot, lambda: table.row_count == 12, timeout=10, what="rows from the other process")
        assert app.inbox.counts["pending"] == 12
        assert any("new request" in str(n.message) for n in app._notifications)


async def app_over_one_request(tmp_path, request: dict) -> InboxApp:
    """The inbox over a database holding one paused run that asked `interrupt([request])`."""
    from typing import TypedDict

    from engine.graph import START, StateGraph
    from engine.types import interrupt

    class State(TypedDict):
        answer: str

    saver = await SqliteSaver.aopen(str(tmp_path / "one.sqlite"))
    graph = (StateGraph(State).add_node("ask", lambda state: {"answer": interrupt([request])})
             .add_edge(START, "ask").compile(checkpointer=saver, name="h"))
    await graph.ainvoke({"answer": ""}, {"configurable": {"thread_id": "t1"}})
    return InboxApp(ReviewService(saver, {}, reviewer="dana"), clock=lambda: NOW, live=False)


async def test_payload_text_is_shown_literally(tmp_path):
    hostile = "[bold red]PWNED[/] \x1b[2J\x1b[31mred\x07 done"
    app = await app_over_one_request(tmp_path, {"action_request": {"action": "[blink]x", "args": {"note": hostile}},
                                                "config": {"allow_accept": True}, "description": hostile})
    async with app.run_test(size=(150, 40)) as pilot:
        await wait_until(pilot, lambda: app.inbox.current is not None, what="the row")
        await pilot.pause(0.3)
        detail = app.query_one(DetailPane)
        assert "[blink]x" in plain(detail.sections["header"])
        args_text = plain(detail.sections["args"], 200)
        assert "[bold red]PWNED[/]" in args_text
        assert "\x1b" not in args_text
        description = detail.sections["description"]
        assert "\x1b" not in description.markup and "␛[2J" in description.markup
        table_cells = [str(c) for c in app.inbox.table.get_row_at(0)]
        assert any("[blink]x" in c for c in table_cells) and not any("\x1b" in c for c in table_cells)


async def test_huge_args_are_truncated_with_a_key_to_expand(tmp_path):
    app = await app_over_one_request(tmp_path, {"action_request": {"action": "upload", "args": {"blob": "x" * 1_000_000}},
                                                "config": {"allow_accept": True}})
    async with app.run_test(size=(150, 40)) as pilot:
        await wait_until(pilot, lambda: app.inbox.current is not None, what="the row")
        await pilot.pause(0.2)
        text = plain(app.query_one(DetailPane).sections["args"], 100)
        assert "press x to expand" in text and len(text) < 20_000
        await pilot.press("x")
        await pilot.pause(0.2)
        assert app.inbox.expanded


async def test_keys_can_be_remapped_by_binding_id(demo_db):
    app, saver, graphs = await make_app(demo_db, keys={"accept": "y"})
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        item = app.inbox.current
        await pilot.press("a")  # no longer bound
        await pilot.pause(0.3)
        assert (await saver.aget_interrupt(item.id)).status == "pending"
        await pilot.press("y")
        await wait_until(pilot, lambda: "finished" in status_text(app), what="the run to finish")
        assert (await saver.aget_interrupt(item.id)).status == "resolved"


async def test_an_age_tick_repaints_only_the_rows_whose_age_changed(demo_db):
    """ItemTable.set_cells: a changed cell voids its row's rendering only (DataTable's
    update_cell voided every row's), and the row shows the new value."""
    app, _saver, _graphs = await make_app(demo_db)
    async with app.run_test(size=(160, 45)) as pilot:
        table = app.inbox.table
        await wait_until(pilot, lambda: table.row_count > 4, what="the rows")
        await pilot.pause(0.2)
        shown_age = table._ages[table.item_at(2).id]
        table._ages[table.item_at(2).id] = "stale"  # as if its age had changed since the last tick
        before = [table.render_line(y) for y in range(1, 6)]  # the header is line 0
        table.tick(table._now)
        after = [table.render_line(y) for y in range(1, 6)]
        assert [a is b for a, b in zip(before, after)] == [True, True, False, True, True]
        assert after[2].text == before[2].text and shown_age in after[2].text
        table.move_cursor(row=3)
        await pilot.press("space")  # marks row 3 (and moves down)
        await pilot.pause(0.1)
        assert "●" in table.render_line(4).text and "●" not in table.render_line(3).text
