"""Agent text can neither crash nor style the inbox, failures never end it, and key hints
name the keys that work.

The hostile database holds three paused runs of one graph whose name, thread ids, actions,
descriptions, arguments, reviewer names and error texts carry Rich markup, terminal escape
sequences, C1 controls and bidi overrides. The app is driven over it with every key; what the
terminal would show (`export_screenshot`) must hold those texts literally, with the controls
made visible (inbox.text), and never a raw ESC, C1 control or bidi override.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from datetime import datetime, timezone
from typing import TypedDict

import pytest

from engine.checkpoint.sqlite import SqliteSaver
from engine.errors import StorageError
from engine.graph import START, StateGraph
from engine.types import interrupt
from inbox.app import InboxApp
from inbox.cli import main
from inbox.config import InboxSettings, SettingsError
from inbox.review import ReviewService
from inbox.text import defang, json_text, literal, one_line

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)
MARKUP = "[reverse on red]X[/]"
LINK = "[link=https://x]y"
GRAPH = "h[bold]g"
EVIL = "t1-\x1b[2J\u202eevil"            # clears the screen, then reverses what follows
DECIDED = "t2-[b]decided"
FAILS = "t3-fails"
SOMEONE = "[link=https://x]sam\x1b]8;;\x07"  # another reviewer's name: markup and an OSC 8
ERROR = f"{MARKUP} \x1b[31mboom\u2066"
RAW = ("\x1b", "\u202e", "\u2066", "\x9b")  # none of these may reach the terminal


class State(TypedDict):
    answer: object


def request(action: str, args: dict, description: str, **config: bool) -> list:
    allowed = {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True, **config}
    return [{"action_request": {"action": action, "args": args}, "config": allowed, "description": description}]


def build_graph(checkpointer):
    """Asks for a review; the run of FAILS raises an error full of markup after its answer."""

    def ask(state: State, config) -> dict:
        thread = config["configurable"]["thread_id"]
        if thread == EVIL:
            payload = request(LINK, {"note": MARKUP, "rtl": "\u202eabc", "csi": "\x9b31m"},
                              f"{MARKUP} **bold** \x1b[2J", allow_ignore=False)
        else:
            payload = request(f"act-{thread[:2]}", {"n": 1}, f"plain {thread}")
        answer = interrupt(payload)
        if thread == FAILS:
            raise RuntimeError(ERROR)
        return {"answer": answer}

    return StateGraph(State).add_node("ask", ask).add_edge(START, "ask").compile(checkpointer=checkpointer, name=GRAPH)


async def hostile_app(tmp_path, **settings) -> tuple[InboxApp, SqliteSaver]:
    saver = await SqliteSaver.aopen(str(tmp_path / "hostile.sqlite"))
    graph = build_graph(saver)
    for thread in (EVIL, DECIDED, FAILS):
        await graph.ainvoke({"answer": None}, {"configurable": {"thread_id": thread}})
    [decided] = [r for r in await saver.alist_pending() if r.thread_id == DECIDED]
    await saver.aresolve(decided.id, [{"type": "accept", "args": None}], by=SOMEONE)
    service = ReviewService(saver, {GRAPH: graph}, reviewer="dana")
    app = InboxApp(service, settings=InboxSettings(reviewer="dana", toast_seconds=600, **{"undo_seconds": 0, **settings}),
                   source="t", clock=lambda: NOW, live=False)
    return app, saver


def screen_text(app) -> str:
    """What the terminal shows (every screen and toast), as text, one line per row."""
    svg = app.export_screenshot()
    rows: dict[float, list] = defaultdict(list)
    for match in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        rows[float(match.group(2))].append((float(match.group(1)), html.unescape(match.group(3))))
    lines = ("".join(text for _x, text in sorted(row)).replace("\xa0", " ") for _y, row in sorted(rows.items()))
    return "\n".join(lines)


def assert_clean(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} reached the terminal"


async def settle(pilot, app) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause(0.1)


async def select(pilot, app, thread_id: str) -> None:
    table = app.inbox.table
    for item in table.items.values():
        if item.record.thread_id == thread_id:
            table.move_cursor(row=table.get_row_index(item.id))
            await pilot.pause(0.15)  # the detail pane follows the cursor after a short delay
            await pilot.pause()  # and the footer recomposes for its keys (seen late on a loaded machine)
            return
    raise AssertionError(f"no row for {thread_id!r}")


async def close_dialogs(pilot, app) -> None:
    """esc until the list is back (one esc closes a dialog with nothing typed in it)."""
    for _ in range(3):
        if len(app.screen_stack) == 1:
            return
        await pilot.press("escape")
        await settle(pilot, app)
    raise AssertionError(f"{app.screen} did not close")


def toasts(app) -> list[str]:
    return [f"{n.title}\n{n.message}" for n in app._notifications]


# ---- the text helpers ------------------------------------------------------------------------------


def test_controls_and_bidi_overrides_are_made_visible():
    assert defang("a\x1b[2Jb") == "a␛[2Jb"
    assert defang("\x07\x9b\x85") == "\\x07\\x9b\\x85"
    assert defang("x\u202ey\u2066z\u2069") == "x\\u202ey\\u2066z\\u2069"
    assert defang("tab\tand\nnewline stay") == "tab\tand\nnewline stay"
    assert one_line("a\nb\x1b") == "a b␛"
    assert literal(LINK).plain == LINK and not literal(LINK).spans


def test_json_for_the_editor_is_visible_and_parses_back_exactly():
    value = {"rtl": "\u202eabc", "csi": "\x9b31m", "esc": "\x1b[2J", "text": "café"}
    text = json_text(value)
    assert_clean(text)
    assert "café" in text and "\\u202e" in text
    assert json.loads(text) == value


def test_messages_in_the_detail_pane_and_thread_view_are_literal():
    from inbox.widgets.detail import messages_text

    text = messages_text([{"role": "\x1b[2Juser", "content": MARKUP, "tool_calls": [{"name": LINK}]}])
    assert_clean(text.plain)
    assert "␛[2Juser" in text.plain and MARKUP in text.plain and LINK in text.plain


# ---- the app over hostile text ---------------------------------------------------------------------


async def test_hostile_text_is_shown_literally_and_every_key_is_safe(tmp_path):
    app, saver = await hostile_app(tmp_path)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot, app)
        await select(pilot, app, EVIL)
        shown = screen_text(app)
        assert_clean(shown)
        assert "t1-␛[2J\\u202eevil" in shown           # the thread id, in the list and the header
        assert LINK in shown and MARKUP in shown        # action, description and args, as typed
        assert "\\u009b31m" in shown                    # the args' C1 control, as a JSON escape

        await pilot.press("i")  # ignore is forbidden for this request: the toast names its action
        await pilot.pause(0.2)
        assert any(LINK in t for t in toasts(app))
        for key, screen in (("e", "EditArgsScreen"), ("r", "RespondScreen"), ("t", "ThreadScreen"),
                            ("question_mark", "HelpScreen")):
            await pilot.press(key)
            await settle(pilot, app)
            assert app.screen.__class__.__name__ == screen
            text = screen_text(app)
            assert_clean(text)
            if key in "ert":
                assert LINK in text or "t1-␛[2J\\u202eevil" in text, screen
            await close_dialogs(pilot, app)
        for key in ("x", "space", "A", "n", "slash", "escape", "2", "3", "4", "1", "R", "j", "k", "g", "G"):
            await pilot.press(key)
            await settle(pilot, app)
            assert_clean(screen_text(app))

        await pilot.press("2")  # Resolved: one decided by "someone" whose name is markup
        await settle(pilot, app)
        await select(pilot, app, DECIDED)
        for key in ("a", "e", "r", "i"):  # disabled: the toast says who decided, literally
            await pilot.press(key)
            await pilot.pause(0.1)
        assert any("[link=https://x]sam␛]8;;\\x07" in t for t in toasts(app))
        assert "[link=https://x]sam" in screen_text(app)

        await pilot.press("1")
        await settle(pilot, app)
        await select(pilot, app, FAILS)
        await pilot.press("a")  # the run fails after the decision with an error full of markup
        await settle(pilot, app)
        await pilot.pause(0.3)
        shown = screen_text(app)
        assert_clean(shown)
        assert MARKUP in shown and "␛[31mboom\\u2066" in shown
        assert app.is_running and app.failures == []
    await saver.aclose()


async def test_notify_never_parses_markup_whoever_calls_it(tmp_path):
    app, saver = await hostile_app(tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot, app)
        app.notify(f"{MARKUP} {LINK} \x1b[2J", title=f"{LINK}\u202e")
        await pilot.pause(0.1)
        [note] = app._notifications
        assert not note.markup and note.message == f"{MARKUP} {LINK} ␛[2J" and note.title == f"{LINK}\\u202e"
        shown = screen_text(app)  # the toast wraps its lines: look for the parts
        assert MARKUP in shown and LINK in shown and "␛[2J" in shown and "\\u202e" in shown
        assert_clean(shown)
    await saver.aclose()


# ---- the error boundary ----------------------------------------------------------------------------


async def test_a_failing_reload_is_reported_and_the_app_keeps_working(tmp_path, monkeypatch):
    app, saver = await hostile_app(tmp_path)

    async def broken(*args, **kwargs):
        raise StorageError("database disk image is malformed [bold]x[/]")

    monkeypatch.setattr(app.service, "pending", broken)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot, app)
        assert app.is_running
        status = str(app.query_one("#statusline").content)
        assert "Loading the list failed: StorageError: database disk image is malformed [bold]x[/]" in status
        assert any("Loading the list failed" in t and "malformed" in t for t in toasts(app))
        assert {task for task, _error in app.failures} == {"Loading the list"}

        monkeypatch.undo()  # the fault is gone: a refresh works
        await pilot.press("R")
        await settle(pilot, app)
        assert app.inbox.table.row_count == 2
        assert app.is_running


async def test_an_action_that_raises_is_reported_not_fatal(tmp_path, monkeypatch):
    app, saver = await hostile_app(tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot, app)

        def broken() -> None:
            raise RuntimeError("[link=https://x]bad\x1b[2J")

        monkeypatch.setattr(app.inbox, "action_expand", broken)  # the list's keys are the screen's
        await pilot.press("x")
        await settle(pilot, app)
        assert app.is_running
        shown = screen_text(app)
        assert_clean(shown)
        assert "'expand' failed: RuntimeError: [link=https://x]bad␛[2J" in shown
        await pilot.press("j")  # still answering keys
        await settle(pilot, app)
        assert app.is_running
    await saver.aclose()


# ---- keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("remap, names", [
    ({"accept": "j"}, ["'j'", "accept", "cursor_down"]),
    ({"accept": "y", "ignore": "y"}, ["'y'", "accept", "ignore"]),
    ({"acept": "y"}, ["'acept'", "no binding"]),
    ({"accept": "enter"}, ["accept", "enter"]),
    ({"step.approve": "n"}, ["'n'", "step.approve", "step.next"]),
])
def test_a_remap_that_collides_or_names_no_binding_is_refused(remap, names):
    with pytest.raises(SettingsError) as refused:
        InboxApp.key_map(remap)
    message = str(refused.value)
    assert "\n" not in message and "[keys]" in message
    for name in names:
        assert name in message


def test_a_remap_that_swaps_keys_is_fine():
    keys = InboxApp.key_map({"accept": "i", "ignore": "a", "help": "?,h"})
    assert keys.label("accept") == "i" and keys.label("ignore") == "a" and keys.labels("help") == "?, h"


def test_the_inbox_command_refuses_a_colliding_remap_with_exit_2(tmp_path, monkeypatch, capsys):
    db = tmp_path / "empty.sqlite"
    SqliteSaver.open(str(db)).close()
    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("INBOX_KEY_ACCEPT", "j")
    assert main(["open", "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("inbox: keys:") and "accept" in err and "cursor_down" in err


async def test_hints_show_the_remapped_keys(tmp_path):
    app, saver = await hostile_app(tmp_path, keys={"accept": "y", "respond": "w", "help": "h"})
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, app)
        await select(pilot, app, FAILS)
        shown = screen_text(app)
        assert "y accept · e edit · w respond · i ignore · h all keys" in shown   # the status line
        assert " y  accept " in shown and " w  respond " in shown                  # the detail pane
        assert " a  accept" not in shown
        row = [str(cell) for cell in app.inbox.table.get_row(app.inbox.current.id)]
        assert "y e w i" in row[4]                                                   # the Keys column
        for _ in range(50):  # the footer repaints on its own timer: give it a moment on a loaded machine
            if "y Accept" in screen_text(app).replace("\xa0", " "):
                break
            await pilot.pause(0.1)
        assert "y Accept" in screen_text(app).replace("\xa0", " ")                   # the footer
        await pilot.press("h")
        await settle(pilot, app)
        assert app.screen.__class__.__name__ == "HelpScreen"
        assert re.search(r"y\s+│\s*Accept", screen_text(app))
        await pilot.press("escape")
        await settle(pilot, app)
        item = app.inbox.current
        await pilot.press("y")
        await settle(pilot, app)
        assert (await saver.aget_interrupt(item.id)).status == "resolved"
    await saver.aclose()


# ---- the inbox command's plain output ---------------------------------------------------------------


@pytest.fixture
def hostile_db(tmp_path, monkeypatch):
    from engine._internal.sync import run_sync

    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "none.toml"))
    app, saver = run_sync(hostile_app(tmp_path))
    run_sync(saver.aclose())
    return tmp_path / "hostile.sqlite"


def test_list_shows_escapes_visibly_and_json_stays_exact(hostile_db, capsys):
    assert main(["list", "--db", str(hostile_db)]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert "t1-␛[2J\\u202eevil" in out and "[link=https://x]y" in out
    assert main(["list", "--db", str(hostile_db), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert EVIL in [item["thread_id"] for item in listed]
    assert LINK in [item["action"] for item in listed]


def test_already_decided_names_the_other_reviewer_visibly(hostile_db, capsys):
    from engine._internal.sync import run_sync

    async def decided_id() -> str:
        saver = await SqliteSaver.aopen(str(hostile_db))
        try:
            return [i.id for i in await ReviewService(saver, {}, reviewer="x").resolved() if i.record.thread_id == DECIDED][0]
        finally:
            await saver.aclose()

    code = main(["accept", "--db", str(hostile_db), run_sync(decided_id())])
    err = capsys.readouterr().err
    assert code == 3
    assert_clean(err)
    assert "[link=https://x]sam␛]8;;\\x07" in err
