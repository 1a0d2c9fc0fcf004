"""A long remote list against a real `inbox serve`: the first page is on screen before the
rest is read, later pages resume where the last ended (no search from the first thread again),
and the Pending count counts interrupts, not interrupted threads: a lower bound ("13+") until
every thread was read, then exact. Looking an id up that was never listed finds it by scanning,
and remembers where it is."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import httpx
import pytest

from servers import InboxServe, seed

from inbox.app import InboxApp
from inbox.backends.remote import RemoteBackend
from inbox.config import InboxSettings
from inbox.review import ReviewService
from inbox.screens import inbox as inbox_screen

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)
SINGLE = 12  # agent threads, one interrupt each; then one `pair` thread with two


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    server = InboxServe(tmp_path_factory.mktemp("paging") / "inbox.sqlite")
    server.graphs = [*server.graphs, "pair"]
    server.start()
    try:
        singles = [seed(server.url, "agent", {"email": f"n{i}"})[1] for i in range(SINGLE)]
        with httpx.Client(base_url=server.url, timeout=30) as http:
            thread = http.post("/threads", json={}).json()["thread_id"]
            out = http.post(f"/threads/{thread}/runs/wait", json={"assistant_id": "pair", "input": {}}).json()
        pair = [i["id"] for i in out["__interrupt__"]]
        assert len(pair) == 2
        yield server, singles, thread, pair
    finally:
        server.stop()


def searches(backend: RemoteBackend) -> list[dict]:
    """The bodies of the threads/search requests the backend sends."""
    bodies: list[dict] = []
    real = backend._search

    async def recording(body):
        bodies.append(dict(body))
        return await real(body)
    backend._search = recording
    return bodies


async def wait_until(pilot, predicate, timeout=20.0, what="condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await pilot.pause(0.02)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}")


async def test_first_page_first_then_pages_resume_and_the_count_becomes_exact(crowded, monkeypatch):
    server, singles, pair_thread, pair = crowded
    monkeypatch.setattr(inbox_screen, "FIRST_PAGE", 4)
    monkeypatch.setattr(inbox_screen, "PAGE", 4)
    backend = await RemoteBackend(server.url).connect()
    bodies = searches(backend)
    service = ReviewService(backend, reviewer="dana")
    held = asyncio.Event()
    real = service.pending
    reads: list[int] = []

    async def gated(**kwargs):
        reads.append(kwargs.get("offset", 0))
        if kwargs.get("offset", 0) > 0:
            await held.wait()
        return await real(**kwargs)
    service.pending = gated
    app = InboxApp(service, settings=InboxSettings(reviewer="dana"), source=server.url, clock=lambda: NOW, live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        table = app.inbox.table
        topbar = app.inbox.query_one("#topbar")
        await wait_until(pilot, lambda: table.row_count and app.inbox.counts, what="the first page")
        await wait_until(pilot, lambda: any(reads), what="the second page's read (held)")
        assert [row.key.value for row in table.ordered_rows] == singles[:4]
        # 13 interrupted threads; a thread not read yet may wait on more than one request.
        assert f"{SINGLE + 1}+ pending" in str(topbar.content)
        assert f"loading… 4 of {SINGLE + 1}+ loaded" in str(topbar.content)
        assert str(app.inbox.query_one("#tab-pending").label) == f"Pending {SINGLE + 1}+"

        held.set()
        await wait_until(pilot, lambda: table.complete and "loaded" not in str(topbar.content), what="every page")
        assert [row.key.value for row in table.ordered_rows] == singles + pair
        await wait_until(pilot, lambda: f"{SINGLE + 2} pending" in str(topbar.content), what="the exact count")
        assert str(app.inbox.query_one("#tab-pending").label) == f"Pending {SINGLE + 2}"
    listings = [b for b in bodies if b.get("status") == "interrupted" and b.get("limit", 0) > 1]
    # Each later page starts where the one before ended: no listing reads from the first thread twice.
    # (The first page may be asked twice: the screen reloads as its tabs mount.)
    later = [b["offset"] for b in listings if b["offset"] > 0]
    assert later == sorted(set(later)) and len(later) == len(listings) - [b["offset"] for b in listings].count(0), listings
    assert later, "the rest came in later pages"
    assert max(b["limit"] for b in listings) <= 6, "pages stay the size asked for"
    await backend.aclose()


async def test_an_id_never_listed_is_found_and_remembered(crowded):
    server, singles, pair_thread, pair = crowded
    backend = await RemoteBackend(server.url).connect()
    counts = await backend.count_by_status()
    assert counts["pending"] == SINGLE + 1 and not backend.pending_count_exact
    record = await backend.interrupt(pair[1])  # scans the interrupted threads (the API has no lookup by id)
    assert record is not None and record.thread_id == pair_thread and record.status == "pending"
    assert backend.index.thread_of(pair[1]) == pair_thread
    bodies = searches(backend)
    assert (await backend.interrupt(pair[1])).id == pair[1]
    assert not [b for b in bodies if b.get("status") == "interrupted"], "the second lookup goes straight to the thread"
    # The scan read every thread on its way: the count is now exact.
    counts = await backend.count_by_status()
    assert counts["pending"] == SINGLE + 2 and backend.pending_count_exact
    await backend.aclose()
