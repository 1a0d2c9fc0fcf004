"""The operator's flow (issue 14, item 1) under Pilot: after a decision the cursor is on the next
pending request, the decided row leaves Pending with the tab's count, the agent's follow-up
request appears where its predecessor was, marks survive tab switches and ages tick."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text

from inbox.widgets.detail import DetailPane
from inbox.widgets.item_table import ItemTable

from test_app_flows import demo_db, make_app, select_thread, status_text, wait_until  # noqa: F401 - fixture


def rows(app) -> list[str]:
    table = app.inbox.table
    return [row.key.value for row in table.ordered_rows]


def pending_label(app) -> str:
    return str(app.inbox.query_one("#tab-pending").label)


async def test_after_a_decision_the_cursor_is_on_the_next_request_and_the_row_leaves(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        before = rows(app)
        decided = app.inbox.current.id
        following = before[before.index(decided) + 1]
        count = len(before)
        await pilot.press("a")
        await wait_until(pilot, lambda: decided not in rows(app), what="the decided row to leave")
        assert app.inbox.current.id == following
        assert pending_label(app) == f"Pending {count - 1}"
        await wait_until(pilot, lambda: "finished" in status_text(app), what="the run to finish")
        assert len(rows(app)) == app.inbox.counts["pending"]  # counts and rows agree
        assert pending_label(app) == f"Pending {len(rows(app))}"


async def test_a_follow_up_request_appears_where_its_predecessor_was(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "onboarding")  # a validation loop: it asks again
        decided = app.inbox.current
        index = rows(app).index(decided.id)
        await pilot.press("r")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "RespondScreen", what="the answer dialog")
        app.screen.query_one("#answer").text = "not an email address"
        await pilot.press("ctrl+s")

        def follow_up():
            ids = rows(app)
            return (decided.id not in ids and index < len(ids)
                    and app.inbox.table.items[ids[index]].record.thread_id == decided.record.thread_id)
        await wait_until(pilot, follow_up, what="the follow-up in the same place")
        assert len(rows(app)) == app.inbox.counts["pending"]


async def test_marks_survive_a_tab_switch(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        marked = app.inbox.current.id
        await pilot.press("space")
        await pilot.press("2")
        await pilot.pause(0.3)
        await pilot.press("1")
        await wait_until(pilot, lambda: marked in rows(app), what="the pending rows")
        table = app.inbox.table
        assert marked in table.marked
        assert str(table.get_row(marked)[0]) == "●"


async def test_ages_tick_without_a_reload(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        table = app.inbox.table
        await wait_until(pilot, lambda: table.row_count > 0, what="rows")
        first = rows(app)[0]
        before = str(table.get_row(first)[5])
        from test_app_flows import NOW
        app.inbox.clock = lambda: NOW + timedelta(hours=3)
        app.inbox._tick_ages()
        await pilot.pause()
        after = table.get_row(first)[5]
        assert isinstance(after, Text) and str(after) != before and str(after).endswith("h")


# ---- esc: close; ask first when typed or decided work would be lost (item 8) -----------------------


def screen_name(app) -> str:
    return app.screen.__class__.__name__


async def test_esc_closes_an_unchanged_editor_at_once(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        await pilot.press("e")
        await wait_until(pilot, lambda: screen_name(app) == "EditArgsScreen", what="the editor")
        await pilot.press("escape")  # one esc, although the editor has the focus
        await wait_until(pilot, lambda: screen_name(app) == "InboxScreen", what="the editor to close")


async def test_esc_on_a_changed_editor_asks_and_no_goes_back_to_it(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        item = app.inbox.current
        await pilot.press("e")
        await wait_until(pilot, lambda: screen_name(app) == "EditArgsScreen", what="the editor")
        app.screen.query_one("#args-editor").text = '{"to": "x@example.com"}'
        await pilot.pause()
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen_name(app) == "ConfirmScreen", what="the question")
        await pilot.press("n")
        await wait_until(pilot, lambda: screen_name(app) == "EditArgsScreen", what="back in the editor")
        assert app.screen.query_one("#args-editor").text == '{"to": "x@example.com"}'
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen_name(app) == "ConfirmScreen", what="the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: screen_name(app) == "InboxScreen", what="the editor to close")
        assert (await saver.aget_interrupt(item.id)).status == "pending"


async def test_esc_on_a_typed_answer_asks(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "payments-agent")
        await pilot.press("r")
        await wait_until(pilot, lambda: screen_name(app) == "RespondScreen", what="the answer dialog")
        await pilot.press("h", "o", "l", "d")
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen_name(app) == "ConfirmScreen", what="the question")
        await pilot.press("escape")  # esc on the question is "no": back to the typed answer
        await wait_until(pilot, lambda: screen_name(app) == "RespondScreen", what="back to the answer")
        assert app.screen.query_one("#answer").text == "hold"


async def test_esc_in_the_stepper_asks_when_something_was_decided(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 45)) as pilot:
        await select_thread(pilot, app, "ops-triage")
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen_name(app) == "StepperScreen", what="the stepper")
        await pilot.press("escape")  # nothing decided yet: closes at once
        await wait_until(pilot, lambda: screen_name(app) == "InboxScreen", what="the stepper to close")
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen_name(app) == "StepperScreen", what="the stepper")
        await pilot.press("a")
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen_name(app) == "ConfirmScreen", what="the question")
        assert "Discard 1 decision?" in str(app.screen.query_one(".dialog-title").content)
        await pilot.press("y")
        await wait_until(pilot, lambda: screen_name(app) == "InboxScreen", what="the stepper to close")


# ---- words, marks, blame and the status line (item 14) ---------------------------------------------


async def test_the_status_line_hints_only_keys_the_request_allows_and_agrees_with_the_tab(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "cleanup-agent")  # accept is not allowed
        await pilot.pause(0.2)
        line = status_text(app)
        assert "e edit" in line and "a accept" not in line
        await select_thread(pilot, app, "cluster-planner")  # a plain question: only an answer
        await pilot.pause(0.2)
        line = status_text(app)
        count = app.inbox.counts["pending"]
        assert line.startswith(f"{count} requests waiting") and pending_label(app) == f"Pending {count}"
        assert "r answer" in line and "a accept" not in line and "e edit" not in line


def test_marks_differ_per_outcome():
    from inbox.review import outcome
    from inbox.widgets.item_table import OUTCOME_MARKS

    assert outcome([{"type": "accept", "args": None}]) == "accepted"
    assert outcome({"decisions": [{"type": "approve"}]}) == "accepted"
    assert outcome([{"type": "edit", "args": {}}]) == "edited"
    assert outcome([{"type": "response", "args": "no"}]) == "responded"
    assert outcome({"decisions": [{"type": "reject"}]}) == "ignored"
    assert outcome({"decisions": [{"type": "approve"}, {"type": "reject"}]}) == "mixed"
    assert outcome("eu-west-1") == "answered"
    marks = [OUTCOME_MARKS[w] for w in ("accepted", "edited", "responded", "ignored", "mixed")]
    assert len(set(marks)) == len(marks)


async def test_a_run_failing_at_its_start_on_a_reused_thread_id_is_not_blamed_on_the_decision(tmp_path):
    """A thread whose request was accepted and whose run finished; then a new run is started on
    the same thread id and fails in its first step: the Errors tab says so."""
    from typing import TypedDict

    from engine.checkpoint.sqlite import SqliteSaver
    from engine.graph import START, StateGraph
    from engine.types import Command, interrupt
    from inbox.review import ReviewService

    class State(TypedDict):
        answer: str
        boom: bool

    def ask(state):
        if state.get("boom"):
            raise RuntimeError("bad input for a new run")
        return {"answer": interrupt({"question": "go?"})}

    saver = await SqliteSaver.aopen(str(tmp_path / "reuse.sqlite"))
    graph = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").compile(checkpointer=saver, name="g")
    config = {"configurable": {"thread_id": "t-reused"}}
    await graph.ainvoke({"answer": "", "boom": False}, config)
    service = ReviewService(saver, {"g": graph}, reviewer="dana")
    [item] = await service.pending()
    await service.decide(item.id, "yes")
    try:
        await graph.ainvoke({"answer": "", "boom": True}, config)
    except RuntimeError:
        pass
    [failed] = await service.errors()
    assert failed.id == item.id and failed.fresh_run and "bad input" in failed.error
    from inbox.widgets.item_table import outcome_cell
    assert "its id reused" in str(outcome_cell(failed))
    await saver.aclose()


# ---- what was sent is shown (item 3) ---------------------------------------------------------------


def test_an_edit_is_described_as_an_argument_diff():
    from inbox.edits import args_diff, diff_summary, sent_args

    assert sent_args([{"type": "edit", "args": {"action": "book", "args": {"cabin": "business"}}}]) == \
        {0: {"cabin": "business"}}
    assert sent_args({"decisions": [{"type": "approve"}, {"type": "edit", "edited_action":
                                                          {"name": "b", "args": {"n": 2}}}]}) == {1: {"n": 2}}
    assert args_diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4})[0] == ("b", 2, 3)
    assert diff_summary({"cabin": "economy"}, {"cabin": "premium"}) == 'cabin: "economy" → "premium"'


async def test_an_edit_shows_as_a_diff_in_the_detail_pane_and_the_thread_view(demo_db):
    import json

    from test_app_flows import plain

    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        item = app.inbox.current
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "EditArgsScreen", what="the editor")
        app.screen.query_one("#args-editor").text = json.dumps({**item.items[0].args, "subject": "Renewal, corrected"})
        await pilot.pause()
        assert 'changes: subject:' in plain(app.screen.query_one("#edit-status"))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "finished" in status_text(app), what="the run to finish")
        await pilot.press("2")  # Resolved
        await wait_until(pilot, lambda: item.id in app.inbox.table.items, what="the decided row")
        table = app.inbox.table
        table.move_cursor(row=table.get_row_index(item.id))
        await pilot.pause(0.3)
        row = [str(c) for c in table.get_row(item.id)]
        assert row[1] == "✎" and 'edited (subject: ' in row[6] and '"Renewal, corrected"' in row[6]
        shown = plain(app.query_one(DetailPane).sections["args"], 200)
        assert '+ subject: "Renewal, corrected"' in shown and "- subject:" in shown


async def test_the_stepper_shows_an_edit_and_reopens_the_editor_on_it(demo_db):
    import json

    from test_app_flows import plain

    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 45)) as pilot:
        await select_thread(pilot, app, "ops-triage")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StepperScreen", what="the stepper")
        stepper = app.screen
        args = dict(stepper.item.items[0].args)
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "EditArgsScreen", what="the editor")
        changed = {**args, "region": "eu-west-9"}
        app.screen.query_one("#args-editor").text = json.dumps(changed)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is stepper, what="back in the stepper")
        assert "edited (region: " in plain(stepper.query_one("#step-list"), 200)
        await pilot.press("k")  # back to the edited action
        await pilot.pause(0.2)
        assert '+ region: "eu-west-9"' in plain(stepper.query_one("#step-args"), 200)
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "EditArgsScreen", what="the editor")
        assert json.loads(app.screen.query_one("#args-editor").text) == changed


# ---- nothing cut silently (item 4) -----------------------------------------------------------------


def test_multi_line_strings_read_as_lines():
    from inbox.text import readable

    text, lexer = readable({"to": "a@example.com", "body": "Hi Mei,\n\nthe quote\x1b[2J"})
    assert lexer == "yaml" and '"body": |\n  Hi Mei,\n  \n  the quote␛[2J' in text
    assert readable({"n": 1}) == ('{\n  "n": 1\n}', "json")


def test_the_external_editor_round_trip(tmp_path):
    import sys

    from inbox.external_editor import EditorError, edit_text

    script = tmp_path / "ed.py"
    script.write_text("import sys\np = sys.argv[1]\ntext = open(p).read()\nopen(p, 'w').write(text.replace('1', '2'))\n")
    assert edit_text('{"n": 1}', env={"EDITOR": f"{sys.executable} {script}"}) == '{"n": 2}'
    import pytest
    with pytest.raises(EditorError, match=r"set \$EDITOR"):
        edit_text("{}", env={})
    with pytest.raises(EditorError, match="exited with status 3"):
        edit_text("{}", env={"EDITOR": f"{sys.executable} -c 'raise SystemExit(3)'"})


async def test_the_full_view_shows_everything_and_esc_closes_it(demo_db):
    from test_app_flows import plain

    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        body = app.inbox.current.items[0].args["body"]
        await pilot.press("v")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "FullViewScreen", what="the full view")
        shown = " ".join(plain(w, 200) for w in app.screen.query("Static"))
        assert body.splitlines()[-1] in shown  # the last line of the email body, not cut
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "InboxScreen", what="the list")


async def test_the_narrow_layout_leads_with_the_description(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.inbox.table
        await wait_until(pilot, lambda: table.row_count > 0, what="rows")
        labels = [str(c.label) for c in table.ordered_columns]
        assert labels[2].startswith("Description")
        order = app.query_one(DetailPane).order
        assert order.index("description") < order.index("allowed")
        assert table.columns[table.ordered_columns[2].key].width > 40
        cell = table.get_row_at(0)[2]
        assert cell.overflow == "ellipsis" and cell.no_wrap


# ---- bulk accept says what it includes and what it leaves out (item 9) -----------------------------


async def test_bulk_accept_lists_what_it_includes_and_what_it_leaves_out(demo_db):
    from test_app_flows import plain

    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "payments-agent")
        await pilot.press("space")  # marks and moves down
        await select_thread(pilot, app, "cleanup-agent")  # accept forbidden
        await pilot.press("space")
        await select_thread(pilot, app, "ops-triage")  # several actions
        await pilot.press("space")
        await pilot.press("A")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", what="the confirm")
        shown = plain(app.screen.query_one(".confirm-detail Static"), 160)
        assert "Accept 1 marked request?" in plain(app.screen.query_one(".dialog-title"))
        assert "Accepts 1:" in shown and "wire_transfer" in shown and "payments-agent-0001" in shown
        assert "amount=1575.31" in shown
        assert "Leaves out 2" in shown and "its config forbids accept" in shown
        assert "3 actions: decide each in its stepper" in shown
        await pilot.press("n")


# ---- the undo window (item 2) ----------------------------------------------------------------------


class FakeMonotonic:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_decision_waits_out_its_undo_window_and_u_takes_it_back(demo_db):
    app, saver, graphs = await make_app(demo_db, undo_seconds=5)
    async with app.run_test(size=(150, 40)) as pilot:
        clock = FakeMonotonic()
        app.inbox.monotonic = clock
        await select_thread(pilot, app, "email-assistant")
        item = app.inbox.current
        await pilot.press("a")
        await pilot.pause(0.2)
        table = app.inbox.table
        assert item.id in table.held and "sends in 5 s" in table.held[item.id]
        assert app.inbox.current.id != item.id  # the cursor moved on
        assert "sends in 5 s; u takes it back" in status_text(app)
        assert (await saver.aget_interrupt(item.id)).status == "pending"  # nothing claimed yet
        await pilot.press("u")
        await pilot.pause(0.2)
        assert item.id not in table.held and app.inbox.current.id == item.id
        assert "undone" in status_text(app)
        clock.now += 60
        app.inbox._countdown_tick()
        await pilot.pause(0.3)
        assert (await saver.aget_interrupt(item.id)).status == "pending"  # never sent
        assert graphs["email-assistant"].outbox.calls() == []


async def test_a_held_decision_is_claimed_when_its_window_ends(demo_db):
    app, saver, graphs = await make_app(demo_db, undo_seconds=5)
    async with app.run_test(size=(150, 40)) as pilot:
        clock = FakeMonotonic()
        app.inbox.monotonic = clock
        await select_thread(pilot, app, "email-assistant")
        item = app.inbox.current
        await pilot.press("a")
        await pilot.pause(0.2)
        clock.now += 2
        app.inbox._countdown_tick()
        assert "sends in 3 s" in app.inbox.table.held[item.id]
        clock.now += 3.5
        await wait_until(pilot, lambda: "finished" in status_text(app), what="the run to finish")
        record = await saver.aget_interrupt(item.id)
        assert record.status == "resolved" and record.resolved_by == "dana"
        assert len(graphs["email-assistant"].outbox.calls("send_email")) == 1
        await pilot.press("u")  # too late: nothing is waiting
        await pilot.pause(0.2)
        assert any("Nothing to undo" in str(n.message) for n in app._notifications)


async def test_quitting_with_a_held_decision_asks(demo_db):
    app, saver, graphs = await make_app(demo_db, undo_seconds=30)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "email-assistant")
        await pilot.press("a")
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", what="the question")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "InboxScreen", what="the list")


# ---- search: highlights, "3 of 35", n/N, field filters (item 6) -------------------------------------


def test_queries_parse_words_and_field_filters():
    import pytest

    from inbox.search import QueryError, parse_query

    query = parse_query("Wire graph:Payments-agent status:overdue 10:30")
    assert query.words == ("wire", "10:30") and query.fields == {"graph": "payments-agent", "status": "overdue"}
    with pytest.raises(QueryError, match="status:done matches nothing"):
        parse_query("status:done")


async def test_search_counts_highlights_and_n_moves_between_matches(demo_db):
    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        table = app.inbox.table
        await wait_until(pilot, lambda: table.row_count > 0, what="rows")
        await pilot.press("slash", *"action:question")
        await pilot.press("enter")
        await wait_until(pilot, lambda: table.row_count == 2, what="the two questions")
        await pilot.pause(0.2)
        assert status_text(app).startswith("“action:question”: 1 of 2")
        await pilot.press("n")
        await pilot.pause(0.2)
        assert status_text(app).startswith("“action:question”: 2 of 2")
        await pilot.press("n")  # wraps
        await pilot.pause(0.2)
        assert "1 of 2" in status_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: table.row_count > 2, what="the whole list")
        await pilot.press("slash", *"wire graph:payments")
        await pilot.press("enter")
        await wait_until(pilot, lambda: table.row_count == 1, what="the wire transfer")
        description = table.get_row_at(0)[6]
        assert any("reverse" in str(span.style) for span in description.spans)  # "Wire" highlighted
        await pilot.press("escape")
        await pilot.press("slash", *"status:done")
        await pilot.pause(0.4)
        assert "status:done matches nothing" in status_text(app)


# ---- sort, group, columns (item 5) -------------------------------------------------------------------


async def test_sort_and_group_reorder_the_list_and_columns_can_be_chosen(demo_db):
    from engine.checkpoint.sqlite import SqliteSaver
    from inbox.app import InboxApp
    from inbox.config import InboxSettings
    from inbox.review import ReviewService

    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        table = app.inbox.table
        await wait_until(pilot, lambda: table.row_count > 0, what="rows")
        await pilot.press("s")  # by graph
        await pilot.pause(0.2)
        graphs_in_order = [table.items[k].record.graph for k in rows(app)]
        assert graphs_in_order == sorted(graphs_in_order) and "Sorted by graph" in status_text(app)
        await pilot.press("s", "s")  # by action
        await pilot.pause(0.2)
        actions = [table.items[k].action for k in rows(app)]
        assert actions == sorted(actions)
        await pilot.press("z")  # grouped by thread
        await pilot.pause(0.2)
        threads = [table.items[k].record.thread_id for k in rows(app)]
        assert threads == sorted(threads) and "Grouped by thread" in status_text(app)
    with_columns = InboxApp(ReviewService(await SqliteSaver.aopen(str(demo_db)), {}, reviewer="dana"),
                            settings=InboxSettings(reviewer="dana", columns=["age"]), live=False)
    async with with_columns.run_test(size=(150, 40)) as pilot:
        table = with_columns.query_one(ItemTable)
        await wait_until(pilot, lambda: table.row_count > 0, what="rows")
        assert [str(c.label) for c in table.ordered_columns][2:] == ["Age", "Description / outcome"]


def test_an_unknown_column_is_refused_with_the_choices():
    import pytest

    from inbox.config import InboxSettings

    with pytest.raises(ValueError, match="unknown column.*'owner'.*choose from action, thread, allowed, age"):
        InboxSettings(reviewer="dana", columns=["owner"])


# ---- the status bar and notifications (item 7) -----------------------------------------------------


async def test_the_status_bar_counts_and_names_graphs_waiting_for_a_worker(demo_db):
    from test_app_flows import plain

    from engine.checkpoint.sqlite import SqliteSaver
    from inbox.app import InboxApp
    from inbox.config import InboxSettings
    from inbox.review import ReviewService

    saver = await SqliteSaver.aopen(str(demo_db))
    service = ReviewService(saver, {}, reviewer="dana")  # no graphs: decisions are recorded
    [travel] = [i for i in await service.pending() if i.record.thread_id == "travel-agent-0001"]
    await service.decide(travel.id, [{"type": "accept", "args": None}])
    app = InboxApp(service, settings=InboxSettings(reviewer="dana", undo_seconds=0, notify=["bell"]), live=False)
    async with app.run_test(size=(200, 40)) as pilot:
        table = app.inbox.table
        await wait_until(pilot, lambda: table.row_count > 0, what="rows")
        await pilot.pause(0.2)
        bar = plain(app.query_one("#topbar"), 250)
        assert f"{app.inbox.counts['pending']} pending" in bar
        assert "travel-agent: 1 recorded, no worker running here" in bar
        rang = []
        app.bell = lambda: rang.append(1)
        app.inbox._attention("1 new request to review")
        assert rang == [1]


def test_desktop_notifications_carry_no_control_characters():
    from inbox.attention import desktop_sequences

    sequences = desktop_sequences("Agent Inbox", "3 new\x1b]0;pwned\x07")
    assert sequences.count("\x07") == 2 and "\x1b]0" not in sequences
