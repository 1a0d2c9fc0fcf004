"""Live updates from an Agent Server, as the engine's typed events (what ReviewService.events
reads from any backend), plus `Connection` events: the server stopped or started answering.

- `inbox serve`: its `GET /inbox/events?since=SEQ` server-sent events, first with `since=now`
  (the server starts after its newest event and says its seq), then reconnecting with `since=`
  the last seq seen, so a dropped stream misses nothing.
- LangGraph's server has no event stream: it is polled every `poll_interval` seconds with
  `threads/search` sorted by `updated_at` (newest first), reading only the threads updated
  since the last poll; a thread's interrupts that appeared are "raised", those that went are
  "changed" (someone decided them).
Faults never end the stream: a `Connection(online=False, reason)` is yielded, and it retries
with a growing pause (up to 5 s) until the server answers again (`Connection(online=True)`).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, AsyncIterator

import httpx

from engine.events import InterruptRaised, InterruptResolved, RunFinished
from inbox.backends.http import ApiError, ServerUnreachable, describe_fault

if TYPE_CHECKING:
    from inbox.backends.remote import RemoteBackend

MAX_PAUSE = 5.0


@dataclass(frozen=True)
class Connection:
    """The server stopped (online=False, with the reason) or started answering again."""

    online: bool
    reason: str = ""
    url: str = ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


async def follow(backend: "RemoteBackend", since: int | None, called_at: str) -> AsyncIterator[Any]:
    """`called_at`: when subscribe() was called (a generator starts later, at its first step):
    what changed after it is news."""
    source = _events(backend, since, called_at) if backend.ours else _poll(backend, called_at)
    async for event in source:
        _learn(backend, event)
        yield event


def _learn(backend: "RemoteBackend", event: Any) -> None:
    """Keep the backend's PendingIndex current: where new requests are, which went."""
    interrupt_id = getattr(event, "interrupt_id", None)
    if interrupt_id is None:
        return
    if isinstance(event, InterruptRaised):
        backend.index.raised(interrupt_id, event.thread_id)
    else:  # resolved, expired, cancelled
        backend.index.gone(interrupt_id)


_AT = re.compile(r'"at":"([^"]*)"')


def _at(data: str) -> str:
    """An event's time, read without parsing its JSON (the backlog can be long)."""
    found = _AT.search(data)
    return found.group(1) if found else ""


def _event_types():
    from engine import events as module

    types = {}
    for name in dir(module):
        cls = getattr(module, name)
        kind = getattr(cls, "model_fields", {}).get("kind")
        if kind is not None and kind.default:
            types[kind.default] = cls
    return types


async def _offline(backend: "RemoteBackend", reason: str, pause: float) -> AsyncIterator[Any]:
    if backend.online:
        backend.online = False
        yield Connection(False, reason, backend.url)
    await asyncio.sleep(pause)


def _online(backend: "RemoteBackend") -> Connection | None:
    if backend.online:
        return None
    backend.online = True
    return Connection(True, "", backend.url)


async def _events(backend: "RemoteBackend", since: int | None, called_at: str) -> AsyncIterator[Any]:
    types = _event_types()
    # `since=now`: the server starts after its newest event and says which (X-Inbox-Since).
    # An older server without it: the log is read from the start and events older than now
    # are skimmed by their time (compared with our clock), without parsing them.
    start_now = since is None or since < 0
    skip_before: str | None = None
    seq = 0 if start_now else since
    pause = 0.2
    while True:
        try:
            param = "now" if start_now else str(seq)
            async with backend.client().stream("/inbox/events", params={"since": param}) as response:
                if response.status_code == 422 and start_now:  # an inbox serve without since=now
                    start_now, skip_before = False, called_at
                    continue  # again, from the start of the log
                if response.status_code != 200:
                    raise ServerUnreachable(backend.url, f"/inbox/events answered {response.status_code}")
                if start_now:
                    header = response.headers.get("x-inbox-since", "")
                    seq, start_now = (int(header), False) if header.isdigit() else (0, False)
                    skip_before = None if header.isdigit() else called_at
                back = _online(backend)
                if back is not None:
                    yield back
                pause = 0.2
                kind, data, event_id = "", "", None
                async for line in response.aiter_lines():
                    if line.startswith("id:"):
                        event_id = line[3:].strip()
                    elif line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
                    elif line == "" and data:
                        if event_id and event_id.isdigit():
                            seq = int(event_id)
                        cls = types.get(kind)
                        old = skip_before and _at(data) < skip_before
                        payload, kind, data, event_id = data, "", "", None
                        if cls is None or old:
                            continue  # the backlog is only skimmed: no JSON parsed for it
                        yield cls.model_validate(json.loads(payload))
            reason = "the event stream ended"
        except (httpx.TransportError, ServerUnreachable, ApiError) as error:
            reason = error.reason if isinstance(error, ServerUnreachable) else (
                str(error) if isinstance(error, ApiError) else describe_fault(error))
        async for event in _offline(backend, reason, pause):
            yield event
        pause = min(MAX_PAUSE, pause * 2)


async def _poll(backend: "RemoteBackend", called_at: str) -> AsyncIterator[Any]:
    from inbox.backends.remote_shapes import interrupt_records

    seen_at = called_at  # threads updated after this are read at the next poll
    known = backend.index.known()  # thread id -> its pending interrupt ids as last seen
    pause = backend.poll_interval
    while True:
        await asyncio.sleep(pause)
        try:
            changed: list[dict] = []
            offset = 0
            while True:  # newest first, until a thread older than the last poll
                threads, _ = await backend._search({"limit": 100, "offset": offset, "sort_by": "updated_at",
                                                    "sort_order": "desc"})
                fresh = [t for t in threads if str(t.get("updated_at", "")) > seen_at]
                changed += fresh
                if len(fresh) < len(threads) or len(threads) < 100:
                    break
                offset += len(threads)
            back = _online(backend)
            if back is not None:
                yield back
            pause = backend.poll_interval
        except (ServerUnreachable, ApiError) as error:
            reason = error.reason if isinstance(error, ServerUnreachable) else str(error)
            async for event in _offline(backend, reason, 0):
                yield event
            pause = min(MAX_PAUSE, max(pause * 2, backend.poll_interval))
            continue
        if changed:
            seen_at = max(str(t.get("updated_at", "")) for t in changed)
        for thread in reversed(changed):  # oldest change first
            thread_id = thread["thread_id"]
            tasks = None
            if thread.get("status") == "interrupted" and not thread.get("interrupts"):
                try:
                    tasks = (await backend.client().get(f"/threads/{thread_id}/state")).get("tasks")
                except (ServerUnreachable, ApiError):
                    continue
            now_pending = {r.id: r for r in interrupt_records(thread, tasks)} \
                if thread.get("status") == "interrupted" else {}
            before = known.get(thread_id, set())
            graph = str((thread.get("metadata") or {}).get("graph_id") or "")
            at = _now()
            for gone in sorted(before - set(now_pending)):
                # The index keeps its thread: reading the decided request back goes straight there.
                yield InterruptResolved(at=at, thread_id=thread_id, graph=graph, interrupt_id=gone)
            for new_id, record in now_pending.items():
                if new_id not in before:
                    yield InterruptRaised(at=at, thread_id=thread_id, graph=graph, interrupt_id=new_id,
                                          node=record.node, value=record.payload)
            known[thread_id] = set(now_pending)
            if not now_pending and not before:
                yield RunFinished(at=at, thread_id=thread_id, graph=graph)


__all__ = ["follow", "Connection"]
