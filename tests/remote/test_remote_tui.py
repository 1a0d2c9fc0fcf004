"""The inbox app over a remote backend under Pilot: the same screens and keys as over a file.
Accept from the keyboard against `inbox serve` and LangGraph's server; new requests arriving
live (inbox serve's event stream; LangGraph's server polled); a server that stops answering
shows "server unreachable, retrying" and the inbox recovers by itself when it is back."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import httpx
from servers import InboxServe, free_port, seed, thread_of

from inbox.app import InboxApp
from inbox.backends.remote import RemoteBackend
from inbox.config import InboxSettings
from inbox.review import ReviewService

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)


async def open_app(url: str, *, connect: bool = True, poll: float = 0.3) -> InboxApp:
    backend = RemoteBackend(url, poll_interval=poll)
    if connect:
        await backend.connect()
    service = ReviewService(backend, reviewer="dana")
    settings = InboxSettings(reviewer="dana", toast_seconds=30)
    return InboxApp(service, settings=settings, source=f"{url} · {backend.server_kind}", clock=lambda: NOW, live=True)


async def wait_until(pilot, predicate, timeout=20.0, what="condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await pilot.pause(0.05)
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {what}")


def topbar(app) -> str:
    return str(app.inbox.query_one("#topbar").content)


def status(app) -> str:
    return str(app.inbox.query_one("#statusline").content)


async def select(pilot, app, interrupt_id: str) -> None:
    table = app.inbox.table
    await wait_until(pilot, lambda: interrupt_id in table.items, what=f"row {interrupt_id}")
    for _ in range(table.row_count + 1):
        if app.inbox.current and app.inbox.current.id == interrupt_id:
            return
        await pilot.press("j")
    raise AssertionError(f"cannot select {interrupt_id}")


async def test_accept_from_the_keyboard_and_new_requests_arrive_live(any_server):
    url = any_server.url
    thread_id, interrupt_id = seed(url, "agent", {"email": "pilot"})
    app = await open_app(url)
    async with app.run_test(size=(150, 40)) as pilot:
        assert any_server.kind in topbar(app) and url in topbar(app)
        await select(pilot, app, interrupt_id)
        await pilot.press("a")
        await wait_until(pilot, lambda: "decision" in thread_of(url, thread_id)["values"], what="the accept applied")
        assert thread_of(url, thread_id)["values"]["decision"] == [{"type": "accept", "args": None}]
        await wait_until(pilot, lambda: "agent now asks: confirm_send" in status(app), what="the report")
        # A request raised by another client appears without a refresh.
        _other, later = await asyncio.to_thread(seed, url, "question", {})
        await wait_until(pilot, lambda: later in app.inbox.table.items, what="the live request")


async def test_unreachable_then_back_recovers_by_itself(tmp_path):
    server = InboxServe(tmp_path / "late.sqlite")
    app = await open_app(server.url, connect=False)
    async with app.run_test(size=(150, 40)) as pilot:
        await wait_until(pilot, lambda: "server unreachable, retrying" in topbar(app), what="the unreachable state")
        assert "connection refused" in status(app)
        await asyncio.to_thread(server.start)
        try:
            _thread, interrupt_id = await asyncio.to_thread(seed, server.url, "agent", {"email": "back"})
            await wait_until(pilot, lambda: interrupt_id in app.inbox.table.items, timeout=30,
                             what="the list after recovery")
            assert "unreachable" not in topbar(app)
            assert not app.failures  # nothing was reported as a crash
        finally:
            await asyncio.to_thread(server.stop)


def test_unreachable_server_snapshot(snap_compare, monkeypatch):
    """The top bar and status line while the server does not answer (a closed port)."""
    monkeypatch.setenv("INBOX_CONFIG", "/nonexistent/config.toml")
    url = "http://127.0.0.1:9"
    backend = RemoteBackend(url, poll_interval=0.3)
    app = InboxApp(ReviewService(backend, reviewer="dana"), settings=InboxSettings(reviewer="dana", toast_seconds=600),
                   source=f"{url} · inbox serve", clock=lambda: NOW, live=True)

    async def run_before(pilot):
        for _ in range(200):
            await pilot.pause(0.05)
            if app.inbox.unreachable is not None and "Loading" not in status(app):
                break
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(120, 24), run_before=run_before)


_ = free_port


async def test_a_decision_to_a_server_gone_is_reported_not_sent(tmp_path):
    server = InboxServe(tmp_path / "gone.sqlite")
    await asyncio.to_thread(server.start)
    try:
        thread_id, interrupt_id = await asyncio.to_thread(seed, server.url, "agent", {"email": "gone"})
        app = await open_app(server.url)
        async with app.run_test(size=(150, 40), notifications=True) as pilot:
            await select(pilot, app, interrupt_id)
            await asyncio.to_thread(server.kill9)
            await pilot.press("a")
            # A toast says so (the status line may then show the lost connection instead).
            await wait_until(pilot, lambda: any(n.title.startswith("Not sent") for n in app._notifications),
                             what="the not-sent report")
            toast = next(n for n in app._notifications if n.title.startswith("Not sent"))
            assert "server unreachable" in toast.message and "Nothing was applied" in toast.message
            await asyncio.to_thread(server.start)  # the same file: nothing was applied
            assert "decision" not in thread_of(server.url, thread_id)["values"]
            await wait_until(pilot, lambda: "unreachable" not in topbar(app), timeout=30, what="recovery")
    finally:
        await asyncio.to_thread(server.stop)


class FailingSearches(httpx.AsyncBaseTransport):
    """The real transport, except that the first `count` thread searches answer 503 (a server
    whose search fails for a moment while its event stream is fine)."""

    def __init__(self, count: int):
        self.real = httpx.AsyncHTTPTransport()
        self.left = count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/threads/search" and self.left > 0:
            self.left -= 1
            return httpx.Response(503, text="Service Unavailable", request=request)
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


async def test_a_list_that_failed_to_load_is_read_again_while_the_event_stream_is_fine(inbox_serve, monkeypatch):
    """The first page's read fails (every retry of it answers 503) while the event stream never
    drops, so no "back online" comes from it: the list is read again by itself and the
    "unreachable" state ends (it used to stay, over an empty list, until the reviewer pressed R)."""
    from inbox.screens import inbox as inbox_screen

    monkeypatch.setattr(inbox_screen, "RETRY_SECONDS", 0.5)
    _thread, interrupt_id = await asyncio.to_thread(seed, inbox_serve.url, "agent", {"email": "retried"})
    app = await open_app(inbox_serve.url)
    client = app.service.backend.client()
    failing = FailingSearches(count=3)  # the client's own 3 attempts all fail
    client.http = httpx.AsyncClient(base_url=client.url, transport=failing, timeout=10)
    async with app.run_test(size=(150, 40)) as pilot:
        await wait_until(pilot, lambda: "unreachable" in topbar(app), what="the failed first read")
        assert "503" in status(app)
        table = app.inbox.table
        await wait_until(pilot, lambda: interrupt_id in table.items, what="the list read again")
        await wait_until(pilot, lambda: "unreachable" not in topbar(app), what="the state to end")
        assert "reachable again" in status(app)
        assert failing.left == 0
