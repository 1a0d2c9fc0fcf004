"""A long list under Pilot, on a real SQLite file: the first screenful is on screen before the
rest is read, the rest arrives in the background (every row, in order), the status bar says
how much is loaded meanwhile, and past PRELOAD rows the list pages in as the cursor nears its
end. The gate on the service's second read is the only thing the test adds: it holds the
background pages back so "before" can be looked at."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from engine.checkpoint.sqlite import SqliteSaver
from engine.events import InterruptRaised, RunFinished, RunStarted
from inbox.app import InboxApp
from inbox.config import InboxSettings
from inbox.review import ReviewService
from inbox.screens import inbox as inbox_screen

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)
ITEMS = inbox_screen.FIRST_PAGE + inbox_screen.PAGE + 30  # a first page, a full page, a short one


def request(i: int) -> list[dict]:
    return [{"action_request": {"action": "send_email", "args": {"to": f"user{i}@example.com"}},
             "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
             "description": f"Email number {i}."}]


def interrupt_id(i: int) -> str:
    return f"{i:032x}"


@pytest.fixture
def long_db(tmp_path):
    """ITEMS paused threads, oldest first by number."""
    path = tmp_path / "inbox.sqlite"
    events = []
    for i in range(ITEMS):
        base = {"at": (NOW - timedelta(hours=2) + timedelta(seconds=i)).isoformat(), "thread_id": f"thread-{i:04d}",
                "graph": "mail"}
        events += [RunStarted(**base, source="input"),
                   InterruptRaised(**base, interrupt_id=interrupt_id(i), ns="", node="review", value=request(i)),
                   RunFinished(**base, outcome="interrupted")]
    with SqliteSaver.from_conn_string(str(path)) as saver:
        saver.put_events(events)
    return path


class Gate:
    """Holds every pending() read past the first page (offset > 0) until opened."""

    def __init__(self, service: ReviewService):
        self.open = asyncio.Event()
        self.reads: list[tuple[int, int]] = []  # (offset, limit) of each read
        real = service.pending

        async def pending(**kwargs):
            self.reads.append((kwargs.get("offset", 0), kwargs.get("limit")))
            if kwargs.get("offset", 0) > 0:
                await self.open.wait()
            return await real(**kwargs)
        service.pending = pending


async def wait_until(pilot, predicate, timeout=15.0, what="condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await pilot.pause(0.02)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}")


def topbar(app) -> str:
    return str(app.inbox.query_one("#topbar").content)


def pending_tab(app) -> str:
    return str(app.inbox.query_one("#tab-pending").label)


async def open_app(path):
    saver = await SqliteSaver.aopen(str(path))
    service = ReviewService(saver, {}, reviewer="dana")
    app = InboxApp(service, settings=InboxSettings(reviewer="dana"), source="test", clock=lambda: NOW, live=False)
    return app, service, saver


async def test_the_first_screen_shows_before_the_rest_is_read_then_every_row_arrives(long_db):
    app, service, saver = await open_app(long_db)
    gate = Gate(service)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            table = app.inbox.table
            await wait_until(pilot, lambda: table.row_count > 0 and app.inbox.counts, what="the first page")
            # The background read of the next page is asked for (and held by the gate).
            await wait_until(pilot, lambda: (inbox_screen.FIRST_PAGE, inbox_screen.PAGE + 1) in gate.reads,
                             what="the second page's read")
            # The first screenful is on screen, oldest first, while the rest is held back.
            assert table.row_count == inbox_screen.FIRST_PAGE
            assert [row.key.value for row in table.ordered_rows] == [interrupt_id(i) for i in range(inbox_screen.FIRST_PAGE)]
            assert set(gate.reads) == {(0, inbox_screen.FIRST_PAGE + 1), (inbox_screen.FIRST_PAGE, inbox_screen.PAGE + 1)}
            assert not table.complete
            # Honest while loading: the count is the store's, and how much is loaded is said.
            assert pending_tab(app) == f"Pending {ITEMS}"
            assert f"{ITEMS} pending" in topbar(app)
            assert f"loading… {inbox_screen.FIRST_PAGE} of {ITEMS} loaded" in topbar(app)
            # Keys work meanwhile.
            await pilot.press("j")
            assert app.inbox.current.id == interrupt_id(1)

            gate.open.set()
            await wait_until(pilot, lambda: table.complete, what="every page")
            assert [row.key.value for row in table.ordered_rows] == [interrupt_id(i) for i in range(ITEMS)]
            assert sorted({offset for offset, _limit in gate.reads}) == [0, inbox_screen.FIRST_PAGE,
                                                                         inbox_screen.FIRST_PAGE + inbox_screen.PAGE]
            await wait_until(pilot, lambda: "loaded" not in topbar(app), what="the loading note to go")
            assert f"{ITEMS} pending" in topbar(app)
            assert app.inbox.current.id == interrupt_id(1), "the cursor stayed on its request"
    finally:
        await saver.aclose()


async def test_past_the_preload_the_list_pages_in_as_the_cursor_nears_its_end(long_db, monkeypatch):
    monkeypatch.setattr(inbox_screen, "PRELOAD", 100)  # first page (50) + one page (200): then it stops
    app, service, saver = await open_app(long_db)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            table = app.inbox.table
            loaded = inbox_screen.FIRST_PAGE + inbox_screen.PAGE
            await wait_until(pilot, lambda: table.row_count == loaded and app.inbox._loading_rest is None,
                             what="the background pages")
            await pilot.pause(0.1)
            assert table.row_count == loaded and not table.complete
            assert f"{loaded} of {ITEMS} loaded, more as you scroll" in topbar(app)
            await pilot.press("G")  # the last loaded row: near the end, so the next page is read
            await wait_until(pilot, lambda: table.complete, what="the last page")
            assert table.row_count == ITEMS
            assert "loaded" not in topbar(app)
    finally:
        await saver.aclose()


@pytest.fixture
def short_db(tmp_path):
    path = tmp_path / "short.sqlite"
    base = {"at": NOW.isoformat(), "thread_id": "only", "graph": "mail"}
    with SqliteSaver.from_conn_string(str(path)) as saver:
        saver.put_events([RunStarted(**base, source="input"),
                          InterruptRaised(**base, interrupt_id=interrupt_id(1), ns="", node="review", value=request(1)),
                          RunFinished(**base, outcome="interrupted")])
    return path


async def test_a_short_list_is_complete_after_one_read(short_db):
    app, service, saver = await open_app(short_db)
    gate = Gate(service)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            table = app.inbox.table
            await wait_until(pilot, lambda: table.row_count == 1 and app.inbox.counts, what="the row")
            await pilot.pause(0.1)
            assert table.complete and all(offset == 0 for offset, _limit in gate.reads)
            assert "loaded" not in topbar(app) and "1 pending" in topbar(app)
    finally:
        await saver.aclose()


async def test_a_search_shows_its_matches_at_once_not_a_first_page(long_db):
    app, service, saver = await open_app(long_db)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            table = app.inbox.table
            await wait_until(pilot, lambda: table.row_count > 0 and app.inbox.counts, what="the first page")
            await pilot.press("slash", *"email")
            await wait_until(pilot, lambda: table.row_count == inbox_screen.PAGE and app.inbox._loading_rest is None,
                             what="the search's first PAGE matches")
            assert "loaded" not in topbar(app)
    finally:
        await saver.aclose()


async def test_the_first_page_is_read_once_and_before_the_screen_is_composed(long_db):
    """The app starts the first page's read as it loads (overlapping Textual's start: CSS,
    compose, the first frames); the screen's first reload takes that read instead of asking
    again."""
    app, service, saver = await open_app(long_db)
    gate = Gate(service)
    composed_after_reads: list[int] = []
    compose = app.inbox.compose

    def counting_compose():
        composed_after_reads.append(len(gate.reads))
        return compose()
    app.inbox.compose = counting_compose
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            table = app.inbox.table
            await wait_until(pilot, lambda: table.row_count > 0 and app.inbox.counts, what="the first page")
            assert composed_after_reads == [1]  # the read was asked for before the screen was built
            assert gate.reads.count((0, inbox_screen.FIRST_PAGE + 1)) == 1
            gate.open.set()
    finally:
        await saver.aclose()


async def test_a_first_reload_for_another_tab_does_not_show_the_prefetched_rows(long_db):
    """A reviewer who switches tab before the first page arrives sees that tab's rows."""
    app, service, saver = await open_app(long_db)
    gate = Gate(service)
    gate.open.set()
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.press("2")  # Resolved, at once
            await wait_until(pilot, lambda: app.inbox.tab == "resolved" and app.inbox._loaded_once, what="the tab")
            await pilot.pause(0.1)
            assert app.inbox.table.row_count == 0  # nothing decided yet
    finally:
        await saver.aclose()


async def test_the_garbage_collector_settings_are_restored_when_the_app_ends(long_db):
    import gc

    from inbox import gc_pauses

    before = gc.get_threshold()
    app, service, saver = await open_app(long_db)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_until(pilot, lambda: app.inbox._loaded_once, what="the first page")
            assert gc.get_threshold()[0] == gc_pauses.YOUNG_THRESHOLD
            assert gc.get_freeze_count() > 0
    finally:
        await saver.aclose()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
