"""Scenarios for the inbox's snapshot tests and for `screenshots/make_screenshots.py`.

Everything that reaches the screen is fixed: the database is built with fixed clocks (the
demo's own DemoClock, and FIXED clocks for the two extra threads), the app's clock stands
still at FIXED_NOW, the source shown in the top bar is "demo.sqlite" (never a tmp path),
live updates and the expiry timer are off, toasts last ten minutes and no cursor blinks.

A scenario is: which database (empty, or the demo inbox), the terminal size, and the steps a
reviewer takes before the picture is taken; `await scenario.run(pilot, saver)` settles the
first load, takes the steps and settles again. Under `app.run_test()` pass notifications=True
(snap_compare's `app.run()` shows toasts already), or no toast appears in the picture.

The demo inbox holds, oldest first:
    rows 0-11  the first 12 demo threads (travel, email, payments, sql, deploy, cleanup,
               ops-triage, cluster-planner, onboarding-form, travel, email, payments)
    row 12     refund-desk-0001: an `issue_refund` review whose deadline has passed (overdue)
and, not pending, report-exporter-0001: accepted by dana, after which its tool failed (Errors).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from engine.checkpoint.sqlite import SqliteSaver
from engine.prebuilt import create_tool_agent
from engine.prebuilt.interrupt import accept
from engine.runtime.decisions import decide
from engine._internal.sync import run_sync
from inbox.demo import GRAPHS, seed_into
from inbox.demo.kit import eur, one_call_model, reviewed, user_message

FIXED_NOW = datetime(2025, 3, 10, 9, 12, tzinfo=timezone.utc)
SOURCE = "demo.sqlite"
REVIEWER = "dana"
DEMO_THREADS = 12
TOAST_SECONDS = 600.0
DEFAULT_SIZE = (120, 36)
# The help screen names the config file: set INBOX_CONFIG to this (monkeypatch.setenv in tests)
# so no home directory gets into a picture.
CONFIG_PATH = "~/.config/agent-inbox/config.toml"

REFUND_GRAPH = "refund-desk"
EXPORT_GRAPH = "report-exporter"
REFUND_THREAD = f"{REFUND_GRAPH}-0001"
EXPORT_THREAD = f"{EXPORT_GRAPH}-0001"
REFUND_RAISED_AT = datetime(2025, 3, 10, 8, 38, tzinfo=timezone.utc)
REFUND_TIMEOUT = timedelta(minutes=20)  # deadline 08:58, overdue at FIXED_NOW (09:12)
EXPORT_RAISED_AT = datetime(2025, 3, 10, 8, 39, tzinfo=timezone.utc)
EXPORT_DECIDED_AT = datetime(2025, 3, 10, 8, 47, tzinfo=timezone.utc)
SOMEONE_ELSE = "sam"
SOMEONE_ELSE_AT = datetime(2025, 3, 10, 9, 11, 30, tzinfo=timezone.utc)


class Clock:
    """A clock that stands still where it is put."""

    def __init__(self, now: datetime = FIXED_NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fixed_clock() -> datetime:
    return FIXED_NOW


# ---- two extra agents: an overdue review, and a run that fails after its decision ------------------


def build_refund_graph(checkpointer, **_: Any):
    """refund-desk: refunds wait for a review that should not take more than 20 minutes."""

    def issue_refund(order_id: str, amount: float, customer: str, reason: str) -> str:
        """Refund an order to the customer's original payment method."""
        return f"Refunded {eur(amount)} on {order_id} to {customer}."

    def describe(a: dict) -> str:
        return (f"**Refund** of {eur(float(a['amount']))} on order `{a['order_id']}` to {a['customer']}.\n\n"
                f"Reason given: {a['reason']}\n\n"
                "The customer was promised an answer within 20 minutes.")

    tool = reviewed(issue_refund, describe=describe, accept=True, edit=True, respond=True, ignore=False)
    model = one_call_model("issue_refund", intro="The order qualifies for a refund; preparing it.",
                           ran_prefix="Refunded ")
    return create_tool_agent(model, [tool], checkpointer=checkpointer, name=REFUND_GRAPH,
                             interrupt_timeout=REFUND_TIMEOUT)


def build_export_graph(checkpointer, **_: Any):
    """report-exporter: its tool fails when it runs (the warehouse refuses), so an accepted
    export ends in the Errors tab."""

    def export_report(dataset: str, destination: str, period: str) -> str:
        """Export a finance dataset to a shared bucket."""
        raise PermissionError(f"warehouse refused the export: role 'reporting' may not read {dataset}")

    def describe(a: dict) -> str:
        return (f"**Export** `{a['dataset']}` for {a['period']} to `{a['destination']}`.\n\n"
                "The bucket is shared with the external auditors.")

    tool = reviewed(export_report, describe=describe, accept=True, edit=False, respond=True, ignore=True)
    model = one_call_model("export_report", intro="Exporting the ledger for the auditors.", ran_prefix="Exported ")
    return create_tool_agent(model, [tool], checkpointer=checkpointer, name=EXPORT_GRAPH)


EXTRA_GRAPHS: dict[str, Callable[..., Any]] = {REFUND_GRAPH: build_refund_graph, EXPORT_GRAPH: build_export_graph}
ALL_GRAPHS: dict[str, Callable[..., Any]] = {**GRAPHS, **EXTRA_GRAPHS}


def build_graphs(saver: Any, clock: Callable[[], datetime] = fixed_clock) -> dict[str, Any]:
    """Every graph of the inbox on `saver`, each on `clock` (runs resumed by the app keep fixed times)."""
    graphs = {}
    for name, build in ALL_GRAPHS.items():
        graph = build(saver)
        graph.clock = clock
        graphs[name] = graph
    return graphs


def _thread_config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


# ---- databases --------------------------------------------------------------------------------------


def build_empty_db(path: str | os.PathLike) -> Path:
    """A database with the schema and nothing in it."""
    with SqliteSaver.from_conn_string(str(path), clock=fixed_clock):
        pass
    return Path(path)


def build_inbox_db(path: str | os.PathLike, threads: int = DEMO_THREADS) -> Path:
    """The demo inbox (see the module docstring). The same bytes of content on every run."""
    clock = Clock(REFUND_RAISED_AT)
    with SqliteSaver.from_conn_string(str(path), clock=clock) as saver:
        seed_into(saver, threads)  # the demo's DemoClock: 08:30:00 + 37 s per thread
        graphs = build_graphs(saver, clock)

        clock.now = REFUND_RAISED_AT
        graphs[REFUND_GRAPH].invoke({"messages": [user_message(
            "Order NW-48213 arrived damaged (photos attached). Please refund it.",
            issue_refund={"order_id": "NW-48213", "amount": 249.90, "customer": "Jonas Weber",
                          "reason": "arrived damaged, photos attached to ticket #5521"})]},
            _thread_config(REFUND_THREAD))

        clock.now = EXPORT_RAISED_AT
        out = graphs[EXPORT_GRAPH].invoke({"messages": [user_message(
            "Send the February ledger to the auditors' bucket.",
            export_report={"dataset": "finance.ledger", "destination": "s3://audit-share/2025-02/",
                           "period": "2025-02"})]},
            _thread_config(EXPORT_THREAD))
        [raised] = out["__interrupt__"]
        clock.now = EXPORT_DECIDED_AT
        applied = run_sync(decide(saver, graphs, raised.id, [accept()], by=REVIEWER))
        assert applied.status == "error", f"the export run should fail after its decision, got {applied}"

        clock.now = FIXED_NOW
        flagged = saver.expire_due(FIXED_NOW)
        assert [r.thread_id for r in flagged] == [REFUND_THREAD], flagged
    return Path(path)


DATABASES: dict[str, Callable[[str | os.PathLike], Path]] = {"empty": build_empty_db, "inbox": build_inbox_db}


def open_saver(path: str | os.PathLike) -> SqliteSaver:
    return SqliteSaver.open(str(path), clock=fixed_clock)


def make_app(saver: Any, undo_seconds: float = 0.0):
    """The inbox over `saver` as a reviewer sees it, with everything time-dependent fixed.
    Decisions are sent at once unless a scenario shows the undo window (`undo_seconds`)."""
    from inbox.app import InboxApp
    from inbox.config import InboxSettings
    from inbox.review import ReviewService

    service = ReviewService(saver, build_graphs(saver), reviewer=REVIEWER, clock=fixed_clock)
    settings = InboxSettings(reviewer=REVIEWER, toast_seconds=TOAST_SECONDS, undo_seconds=undo_seconds)
    app = InboxApp(service, settings=settings, source=SOURCE, clock=fixed_clock, live=False)
    # Toasts raised without an explicit timeout (e.g. "not allowed") must not vanish mid-test.
    app.NOTIFICATION_TIMEOUT = TOAST_SECONDS
    return app


# ---- steps -----------------------------------------------------------------------------------------


def freeze_cursors(app) -> None:
    """No blinking cursor in any text box on any open screen (a blink would flip pixels)."""
    from textual.widgets import Input, TextArea

    for screen in app.screen_stack:
        for widget in screen.query(TextArea):
            widget.cursor_blink = False
        for widget in screen.query(Input):
            widget.cursor_blink = False


def repaint_stale_widgets(app) -> None:
    """Work around two Textual races that made pictures differ from run to run (seen under load):

    - Tabs moves its underline "after refresh" when a tab is relabelled ("Pending" → "Pending 13"),
      sometimes before the wider label is laid out, and the underline then stays short;
    - DataTable measures new rows when idle without invalidating its render caches, so a header
      painted between `add_row` and that idle keeps the old (narrow) column widths until the
      cursor moves; it showed under modals opened on the first row.
    Both are visible in real use too (see the report to the lead); here they are put right so
    the pictures only change when the UI does."""
    from textual.widgets import DataTable, Tabs

    for screen in app.screen_stack:
        for tabs in screen.query(Tabs):
            tabs._highlight_active(animate=False)  # private, but the only way to re-measure
        for table in screen.query(DataTable):
            table._clear_caches()  # private: no public call drops a stale header
            table.refresh()


async def wait_for_workers(app) -> None:
    """Every worker finished. A reload cancelled by a newer one (exclusive workers) is fine;
    a worker that failed is not."""
    from textual.worker import WorkerCancelled

    for _ in range(50):
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue
    raise AssertionError("the app's workers kept being cancelled; it never settled")


async def settle(pilot) -> None:
    """Wait until the app has loaded, decided and repainted everything it started."""
    app = pilot.app
    for _ in range(3):
        await pilot.pause()
        await wait_for_workers(app)
    await pilot.pause(0.1)  # the coalesced refresh after a decision waits 50 ms
    await wait_for_workers(app)
    # The app's error boundary keeps it running after a failure; a picture of one is a bug.
    assert not app.failures, f"the app reported failures: {app.failures}"
    freeze_cursors(app)
    repaint_stale_widgets(app)
    await pilot.pause()


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def select_thread(pilot, thread_id: str) -> None:
    """Put the list's cursor on the (first) request of `thread_id`."""
    from inbox.widgets.item_table import ItemTable

    await settle(pilot)
    table = pilot.app.inbox.table
    for item in table.items.values():
        if item.record.thread_id == thread_id:
            table.move_cursor(row=table.get_row_index(item.id))
            break
    else:
        raise AssertionError(f"no row for thread {thread_id}; rows: "
                             f"{[i.record.thread_id for i in table.items.values()]}")
    await settle(pilot)


async def replace_in_editor(pilot, old: str, new: str) -> None:
    """Select the first `old` in the focused TextArea and type `new` over it, key by key."""
    from textual.widgets import TextArea
    from textual.widgets.text_area import Selection

    editor = pilot.app.screen.query_one(TextArea)
    before = editor.text[: editor.text.index(old)]
    row = before.count("\n")
    column = len(before) - (before.rfind("\n") + 1)
    editor.selection = Selection((row, column), (row, column + len(old)))
    await pilot.press(*new)  # one key per character
    await settle(pilot)


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)
    await settle(pilot)


async def paste_text(pilot, text: str) -> None:
    """Put `text` into the focused TextArea in one edit (typing it would take ~80 ms a key;
    the typing path itself is covered by the Pilot flow tests)."""
    from textual.widgets import TextArea

    pilot.app.screen.query_one(TextArea).insert(text)
    await settle(pilot)



# ---- the scenarios ----------------------------------------------------------------------------------

Steps = Callable[[Any, Any], Awaitable[None]]


async def _nothing(pilot, saver) -> None:
    await settle(pilot)


def _select(thread_id: str, *keys: str) -> Steps:
    async def steps(pilot, saver) -> None:
        await select_thread(pilot, thread_id)
        if keys:
            await press(pilot, *keys)
    return steps


async def _edit_valid(pilot, saver) -> None:
    await select_thread(pilot, "travel-agent-0001")
    await press(pilot, "e")
    await replace_in_editor(pilot, '"economy"', '"premium_economy"')


async def _edit_invalid_json(pilot, saver) -> None:
    await select_thread(pilot, "travel-agent-0001")
    await press(pilot, "e")
    await replace_in_editor(pilot, '"BER",', '"BER"')  # a missing comma


async def _edit_invalid_schema(pilot, saver) -> None:
    await select_thread(pilot, "travel-agent-0001")
    await press(pilot, "e")
    await replace_in_editor(pilot, "308.42", '"about 300"')  # a string where the tool wants a number


async def _respond(pilot, saver) -> None:
    await select_thread(pilot, "payments-agent-0001")
    await press(pilot, "r")
    await paste_text(pilot, "Hold this: the IBAN differs from the supplier master data. Call them first.")


async def _answer_question_json(pilot, saver) -> None:
    await select_thread(pilot, "cluster-planner-0001")
    await press(pilot, "r")
    await paste_text(pilot, '{"region": "eu-central-1"}')
    await press(pilot, "ctrl+j")


async def _stepper(pilot, saver) -> None:
    await select_thread(pilot, "ops-triage-0001")
    await press(pilot, "a")  # several actions in one request: opens the stepper
    await press(pilot, "a")  # approve the first one; the stepper moves on to the second


async def _bulk_confirm(pilot, saver) -> None:
    await select_thread(pilot, "travel-agent-0001")
    await press(pilot, "space", "space", "space", "A")


async def _resolved_elsewhere(pilot, saver) -> None:
    """Sam accepts the booking from another terminal after we loaded the list; our `a` loses."""
    from inbox.widgets.item_table import ItemTable

    await select_thread(pilot, "travel-agent-0001")
    item = pilot.app.inbox.table.current
    await saver.aresolve(item.id, [accept()], by=SOMEONE_ELSE, at=SOMEONE_ELSE_AT)
    await press(pilot, "a")


async def _thread_view(pilot, saver) -> None:
    await press(pilot, "3")  # Errors: the failed export has a decision, an error and a history
    await press(pilot, "t")


async def _filter(pilot, saver) -> None:
    await press(pilot, "slash")
    await type_text(pilot, "eur")


async def _discard_edit(pilot, saver) -> None:
    await _edit_valid(pilot, saver)
    await press(pilot, "escape")  # a changed edit: esc asks before throwing it away


async def _edited_diff(pilot, saver) -> None:
    """An edit sent, then looked up in Resolved: the outcome and the detail pane show the diff."""
    await _edit_valid(pilot, saver)
    await press(pilot, "ctrl+s")
    await press(pilot, "2")
    await select_thread(pilot, "travel-agent-0001")


async def _search_fields(pilot, saver) -> None:
    await press(pilot, "slash")
    await type_text(pilot, "action:question")
    await press(pilot, "enter")


async def _stepper_reject_reason(pilot, saver) -> None:
    await select_thread(pilot, "ops-triage-0001")
    await press(pilot, "enter", "a", "i")  # accept the first action; reject the second: its reason
    await paste_text(pilot, "Not during the Friday freeze; scale instead.")


async def _rules_screen(pilot, saver) -> None:
    """Two rules (fixed ids: the store would give random ones), then P."""
    await saver.aput_rule({"id": "3f9c2a1b7d01", "tool": "delete_files", "arg": "paths", "op": "equals",
                           "value": ["/tmp/cache"], "created_by": REVIEWER})
    await saver.aput_rule({"id": "8e41d0c55a02", "tool": "wire_transfer", "arg": "amount", "op": "below",
                           "value": 100, "thread_id": "payments-agent-0001",
                           "expires_at": "2025-03-10T17:00:00+00:00", "created_by": REVIEWER})
    await press(pilot, "P")


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str                      # what the picture shows, for humans
    database: str = "inbox"        # a key of DATABASES
    size: tuple[int, int] = DEFAULT_SIZE
    steps: Steps = field(default=_nothing)
    undo_seconds: float = 0.0  # the app's undo window (0: decisions are sent at once)

    async def run(self, pilot, saver) -> None:
        """The first load settles before any key (DataTable columns never shrink, so which rows
        were measured before a tab switch decides their widths), then the steps, then settle."""
        await settle(pilot)
        await self.steps(pilot, saver)
        await settle(pilot)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("empty_inbox", "No requests: the empty state explains what will appear", database="empty"),
    Scenario("demo_list", "The demo inbox, first request selected"),
    Scenario("demo_list_80x24", "The demo inbox in a small terminal", size=(80, 24)),
    Scenario("demo_list_160x48", "The demo inbox in a large terminal", size=(160, 48)),
    Scenario("detail_tool_request", "A HumanInterrupt tool call (send_email): description, args, keys",
             steps=_select("email-assistant-0001")),
    Scenario("detail_multi_action", "A multi-action (HITL) request: three actions, their configs",
             steps=_select("ops-triage-0001")),
    Scenario("detail_question", "A plain question: only an answer is possible",
             steps=_select("cluster-planner-0001")),
    Scenario("detail_overdue", "A request whose deadline passed: marked overdue in list and detail",
             steps=_select(REFUND_THREAD)),
    Scenario("edit_valid", "Editing the args: a valid change, submit enabled", steps=_edit_valid),
    Scenario("edit_invalid_json", "Editing the args: broken JSON, submit disabled", steps=_edit_invalid_json),
    Scenario("edit_invalid_schema", "Editing the args: valid JSON the tool's schema refuses",
             steps=_edit_invalid_schema),
    Scenario("respond", "Responding to a wire transfer with text", steps=_respond),
    Scenario("answer_question_json", "Answering a plain question with JSON", steps=_answer_question_json),
    Scenario("ignore_disallowed", "`i` on a request whose config forbids ignore: the toast says why",
             steps=_select("payments-agent-0001", "i")),
    Scenario("stepper", "The multi-action stepper, first action approved", steps=_stepper),
    Scenario("bulk_confirm", "Three requests marked, A asks for a confirmation", steps=_bulk_confirm),
    Scenario("resolved_by_someone_else", "Sam decided first: our accept is refused, nothing sent",
             steps=_resolved_elsewhere),
    Scenario("errors_tab", "A run that failed after its decision, in the Errors tab",
             steps=lambda pilot, saver: press(pilot, "3")),
    Scenario("resolved_tab", "The audit log: who decided what, when",
             steps=lambda pilot, saver: press(pilot, "2")),
    Scenario("thread_view", "The thread view of the failed export: error, messages, state, decisions, history",
             steps=_thread_view),
    Scenario("help", "? lists every key with its binding id", steps=lambda pilot, saver: press(pilot, "question_mark")),
    # ":" rather than ctrl+p: the app binds ":" to command_palette, so Textual does not add its
    # own ctrl+p binding (see test_ctrl_p_opens_the_palette).
    Scenario("palette", "The command palette (`:`)", steps=lambda pilot, saver: press(pilot, "colon")),
    Scenario("filter", "/ searches action, args, description, thread: matches highlighted and counted",
             steps=_filter),
    Scenario("search_fields", "/ with a field filter (action:question): 1 of 2, n/N move", steps=_search_fields),
    Scenario("undo_countdown", "A decision in its undo window: the row and the status line count down, u undoes",
             steps=_select("travel-agent-0001", "a"), undo_seconds=3600),
    Scenario("full_view", "v: the request in full (description, every argument, every message)",
             steps=_select("email-assistant-0001", "v")),
    Scenario("discard_edit", "esc on a changed edit asks before throwing it away", steps=_discard_edit),
    Scenario("edited_diff", "An edited decision in Resolved: the outcome and the detail pane show the diff",
             steps=_edited_diff),
    Scenario("stepper_reject_reason", "Rejecting one action of a multi-action request: the agent gets the reason",
             steps=_stepper_reject_reason),
    Scenario("grouped_by_graph", "z groups the list by graph (s sorts)", steps=lambda pilot, saver: press(pilot, "z", "z")),
    Scenario("propose_rule", "p: always accept this, with an argument pattern suggested from the request",
             steps=_select("travel-agent-0001", "p")),
    Scenario("rules_screen", "P: the rules, d revokes one", steps=_rules_screen),
    Scenario("detail_narrow_80x24", "80×24: the description first, in the list and in the detail pane",
             size=(80, 24), steps=_select("payments-agent-0001")),
)}
