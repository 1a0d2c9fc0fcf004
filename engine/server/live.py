"""Extension: `GET /inbox/events?since=SEQ`, the engine's typed events as server-sent events.

Not part of LangGraph's API. An inbox client (the TUI's remote backend) follows it to see
interrupts raised, decided, cancelled and expired, and runs starting, finishing and failing,
as they are committed, from any process writing the store (a replica, a worker). Each event is
`id: SEQ` / `event: KIND` / `data: EVENT JSON`; reconnect with `since=` the last id (or send
`Last-Event-ID`) to miss nothing. `since=now` starts after the newest event (its seq in the
`X-Inbox-Since` header), without reading the log out. A comment line every 15 s keeps proxies from closing it."""

from __future__ import annotations

import asyncio
import json

from starlette.requests import Request
from starlette.responses import StreamingResponse

from engine.server.context import context
from engine.server.errors import ApiError

KEEPALIVE_SECONDS = 15.0


async def inbox_events(request: Request) -> StreamingResponse:
    ctx = context(request)
    raw = request.query_params.get("since") or request.headers.get("last-event-id") or "0"
    try:
        # "now": only events after the newest stored one (a client starting to follow, which
        # must not have the whole log read out); the X-Inbox-Since header says which seq that is.
        since = await ctx.saver.alast_event_seq() if raw == "now" else int(raw)
    except ValueError:
        raise ApiError(422, f"since must be an event sequence number (a whole number) or \"now\", got {raw!r}.") from None
    if since < 0:
        raise ApiError(422, f"since must be 0 or more, got {since}.")

    async def body():
        events = ctx.saver.subscribe(since=since).__aiter__()
        pending = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(events.__anext__())
                done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE_SECONDS)
                if not done:
                    yield b": keep-alive\r\n\r\n"
                    continue
                event = pending.result()
                pending = None
                data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)
                yield f"id: {event.seq}\r\nevent: {event.kind}\r\ndata: {data}\r\n\r\n".encode()
        finally:
            if pending is not None:
                pending.cancel()
            await events.aclose()

    return StreamingResponse(body(), media_type="text/event-stream; charset=utf-8",
                             headers={"X-Inbox-Since": str(since)})


__all__ = ["inbox_events"]
