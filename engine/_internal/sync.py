"""Run the async core from sync code.

All sync entry points (`invoke`, `stream`, `get_state`, the savers' sync twins) submit their
coroutine to one background event loop owned by the engine. That makes them work from plain
scripts, from worker threads while another loop runs (a Textual app), and from sync node
functions that call a subgraph's `invoke()` (those run in executor threads, so the loop is
free). The caller's context variables travel with the coroutine, so a subgraph invoked that
way still knows which parent task it runs in.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from typing import Any, AsyncIterator, Coroutine, Iterator, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def engine_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="engine-loop", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def _refuse_inside_running_loop(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{what} is the blocking form and was called from inside a running event loop "
        f"(an async function). Use the async form there, e.g. `await graph.ainvoke(...)` or "
        f"`async for chunk in graph.astream(...)`."
    )


def _submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future:
    loop = engine_loop()
    context = contextvars.copy_context()
    result: concurrent.futures.Future = concurrent.futures.Future()

    def start() -> None:
        if not result.set_running_or_notify_cancel():
            coro.close()
            return
        task = loop.create_task(coro, context=context)

        def finished(t: asyncio.Task) -> None:
            if t.cancelled():
                result.set_exception(concurrent.futures.CancelledError())
            elif t.exception() is not None:
                result.set_exception(t.exception())
            else:
                result.set_result(t.result())

        task.add_done_callback(finished)
        result.engine_task = task  # type: ignore[attr-defined]

    loop.call_soon_threadsafe(start)
    return result


def _wait(future: concurrent.futures.Future) -> Any:
    try:
        return future.result()
    except BaseException:
        task = getattr(future, "engine_task", None)
        if task is not None and not task.done():
            engine_loop().call_soon_threadsafe(task.cancel)
        raise


def run_sync(coro: Coroutine[Any, Any, T], what: str = "this call") -> T:
    """Run `coro` on the engine loop and block the calling thread until it is done."""
    try:
        _refuse_inside_running_loop(what)
    except RuntimeError:
        coro.close()
        raise
    return _wait(_submit(coro))


def iterate_sync(agen: AsyncIterator[T], what: str = "this call") -> Iterator[T]:
    """Drive an async iterator on the engine loop, yielding its items to sync code."""
    _refuse_inside_running_loop(what)

    async def next_item():
        return await agen.__anext__()

    try:
        while True:
            try:
                item = _wait(_submit(next_item()))
            except StopAsyncIteration:
                return
            yield item
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            _wait(_submit(aclose()))


__all__ = ["run_sync", "iterate_sync", "engine_loop"]
