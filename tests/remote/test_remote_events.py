"""Following an Agent Server: `inbox serve`'s `/inbox/events?since=now` starts after its newest
event (without reading the log out) and says its seq; RemoteBackend.subscribe yields only new
events, from either server (LangGraph's is polled)."""

from __future__ import annotations

import asyncio

import httpx

from servers import seed

from engine.events import InterruptRaised
from inbox.backends.remote import RemoteBackend


def test_since_now_starts_after_the_newest_event(inbox_serve):
    seed(inbox_serve.url, "question", {})  # something in the log already
    with httpx.Client(base_url=inbox_serve.url, timeout=10) as http:
        with http.stream("GET", "/inbox/events", params={"since": "now"}) as response:
            assert response.status_code == 200
            since = int(response.headers["x-inbox-since"])
            assert since > 0
            _thread, _id = seed(inbox_serve.url, "question", {})
            for line in response.iter_lines():
                if line.startswith("id:"):
                    assert int(line[3:]) == since + 1  # the new run's first event, nothing older
                    break
        bad = http.get("/inbox/events", params={"since": "later"})
        assert bad.status_code == 422 and '"now"' in bad.json()["detail"]


async def follow_one_raise(url: str) -> InterruptRaised:
    backend = await RemoteBackend(url, poll_interval=0.2).connect()
    since = await backend.last_event_seq()
    events = backend.subscribe(since)
    seeded = asyncio.create_task(asyncio.sleep(0.5))
    await seeded
    _thread, interrupt_id = await asyncio.to_thread(seed, url, "agent", {"email": "followed"})
    async def first_raise():
        async for event in events:
            if isinstance(event, InterruptRaised):
                return event
    event = await asyncio.wait_for(first_raise(), 20)
    assert event.interrupt_id == interrupt_id  # nothing raised before we followed
    await events.aclose()
    await backend.aclose()
    return event


async def test_subscribe_yields_only_new_requests(any_server):
    seed(any_server.url, "agent", {"email": "before"})
    event = await follow_one_raise(any_server.url)
    assert event.graph == "agent" and event.value[0]["action_request"]["action"] == "send_email"


async def test_the_thread_view_reads_state_history_and_answered_requests(any_server):
    from inbox.review import ReviewService

    url = any_server.url
    thread_id, first = await asyncio.to_thread(seed, url, "agent", {"email": "viewed"})
    service = ReviewService(await RemoteBackend(url).connect(), reviewer="ann")
    item = await service.item(first)
    applied = await service.decide(first, [{"type": "accept", "args": None}])
    assert applied.status == "interrupted" and item.action == "send_email"
    fresh = ReviewService(await RemoteBackend(url).connect(), reviewer="bob")  # knows nothing of ann's decision
    view = await fresh.thread(thread_id)
    assert view.values["decision"] == [{"type": "accept", "args": None}]
    assert view.record.status == "interrupted" and view.record.graph == "agent"
    assert [d.id for d in view.decisions] == [first] and view.decisions[0].status == "resolved"
    assert view.history and view.history[0]["next"] == ["second_review"]
    assert (await fresh.counts())["pending"] >= 1


async def test_following_starts_even_when_the_server_stops_answering_at_that_moment(tmp_path):
    """The inbox starts following with one request (where the log ends now); a server that
    stops answering just then is shown as unreachable and followed once it is back, instead
    of ending the follow for good (which left the screen saying "unreachable" forever)."""
    from servers import InboxServe

    from inbox.review import ReviewService

    server = InboxServe(tmp_path / "restart.sqlite")
    await asyncio.to_thread(server.start)
    backend = await RemoteBackend(server.url, poll_interval=0.2).connect()
    await asyncio.to_thread(server.stop)
    updates = ReviewService(backend, reviewer="dana").events()
    try:
        first = await asyncio.wait_for(anext(updates), 20)
        assert first.kind == "connection" and not first.online and "refused" in first.reason
        await asyncio.to_thread(server.start)  # the same port
        back = await asyncio.wait_for(anext(updates), 30)
        assert back.kind == "connection" and back.online
        _thread, interrupt_id = await asyncio.to_thread(seed, server.url, "agent", {"email": "after"})
        while (update := await asyncio.wait_for(anext(updates), 20)).kind != "raised":
            pass
        assert update.interrupt_id == interrupt_id
    finally:
        await updates.aclose()
        await backend.aclose()
        await asyncio.to_thread(server.stop)
