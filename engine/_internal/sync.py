"""Run the async core from sync code.

All sync entry points (`invoke`, `stream`, `get_state`, the savers' sync twins) submit their
coroutine to one background event loop owned by the engine. That makes them work from plain
scripts, from worker threads while another loop runs (a Textual app), and from sync node
functions that call a subgraph's `invoke()` (those run in executor threads, so the loop is
free). The caller's context variables travel with the coroutine, so a subgraph invoked that
way still knows which parent task it runs in.

`invoke()` and `stream()` are different (`run_owned`, `iterate_owned`): they run on a private
event loop of the calling thread, which the engine owns while the call lasts and nothing else
shares, so a run's sync nodes may run right on it, without a hop to an executor thread
(`loop_is_owned`, engine/runtime/node.py). A blocking engine call made from such a node (a
subgraph's `invoke()`, `get_state()`) goes to the background loop, which is free.

Async callers whose loop is the engine's alone (`inbox worker` with one run at a time, a
benchmark, a batch script) say so with `engine_owns_loop()` around `ainvoke()`/`astream()`:
inside it, sync nodes run inline on that loop exactly as under `invoke()`. It must not be used
on a loop shared with a UI or a server: a slow node would freeze everything else on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import threading
from typing import Any, AsyncIterator, Coroutine, Iterator, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
# The loop the engine owns in this context (the private loop of `invoke()`/`stream()`, or the
# caller's inside `engine_owns_loop()`); None: a shared loop, sync nodes go to executor threads.
# A loop, not a flag, so the mark never leaks to another loop a copied context runs on.
_owned: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "engine_owned_loop", default=None)
_this_thread = threading.local()  # .loop: its private loop; .inline: sync nodes running inline on it


def loop_is_owned() -> bool:
    """Whether the running coroutine is on a loop the engine owns: a private loop of
    `invoke()`/`stream()`, or a loop its caller gave the engine with `engine_owns_loop()`."""
    owned = _owned.get()
    return owned is not None and owned is asyncio._get_running_loop()


@contextlib.contextmanager
def engine_owns_loop() -> Iterator[None]:
    """Tell the engine that the running event loop is its own while the block lasts: nothing
    else (no UI, no server, no other concurrent work that must stay responsive) runs on it. Runs
    started inside (`await graph.ainvoke(...)`, `graph.astream(...)`) then run a step's only sync
    node right on the loop, as `invoke()` does, instead of handing it to an executor thread;
    that hop costs more than most nodes. A node that calls the engine's blocking API
    (`invoke()`, `get_state()`) still works: the call goes to the engine's background loop.

        async def main():
            with engine_owns_loop():
                await graph.ainvoke(inputs, config)

    Do not use it in a loop shared with a Textual app or an HTTP server: a slow sync node
    would freeze them for as long as it runs."""
    loop = asyncio._get_running_loop()
    if loop is None:
        raise RuntimeError(
            "engine_owns_loop() marks the running event loop as the engine's, and no event loop "
            "is running here. Enter it inside the async function that calls `await graph.ainvoke(...)` "
            "or `graph.astream(...)`; the blocking `invoke()`/`stream()` already run sync nodes inline "
            "on a loop of their own.")
    token = _owned.set(loop)
    try:
        yield
    finally:
        _owned.reset(token)


def call_inline(fn: Any, *args: Any) -> Any:
    """Call the sync `fn` right here on the owned loop's thread, marked so that a blocking
    engine call inside it is sent to the background loop (this one waits for `fn`)."""
    depth = getattr(_this_thread, "inline", 0)
    _this_thread.inline = depth + 1
    # The node sees no running loop, as on an executor thread or under LangGraph's invoke(): a
    # sync tool that wraps an async client in asyncio.run() works inline too (with the loop
    # showing, asyncio.run() refuses to start). The loop itself waits for fn either way.
    running = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        return fn(*args)
    finally:
        asyncio._set_running_loop(running)
        _this_thread.inline = depth


def _inside_inline_node() -> bool:
    return getattr(_this_thread, "inline", 0) > 0


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
    if _inside_inline_node():
        return  # the running loop is waiting for this very call: the background loop serves it
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
    context.run(_owned.set, None)  # the background loop is shared: nodes never run inline there
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


def _private_loop() -> asyncio.AbstractEventLoop:
    loop = getattr(_this_thread, "loop", None)
    if loop is None or loop.is_closed():
        loop = _this_thread.loop = asyncio.new_event_loop()
    return loop


def _run_owned_step(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], context) -> T:
    task = loop.create_task(coro, context=context)
    try:
        return loop.run_until_complete(task)
    except BaseException:  # e.g. KeyboardInterrupt: cancel the run as the background loop would
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)
        raise


def run_owned(coro: Coroutine[Any, Any, T], what: str = "this call") -> T:
    """Run `coro` on this thread's private loop (see the module docstring) and return its
    result; from inside a node running inline, on the background loop instead."""
    try:
        _refuse_inside_running_loop(what)
    except RuntimeError:
        coro.close()
        raise
    if _inside_inline_node():
        return _wait(_submit(coro))
    loop = _private_loop()
    context = contextvars.copy_context()
    context.run(_owned.set, loop)
    return _run_owned_step(loop, coro, context)


def iterate_owned(agen: AsyncIterator[T], what: str = "this call") -> Iterator[T]:
    """Drive an async iterator on this thread's private loop, like `run_owned`."""
    _refuse_inside_running_loop(what)
    if _inside_inline_node():
        yield from iterate_sync(agen, what)
        return
    loop = _private_loop()
    context = contextvars.copy_context()
    context.run(_owned.set, loop)
    try:
        while True:
            try:
                item = _run_owned_step(loop, agen.__anext__(), context)
            except StopAsyncIteration:
                return
            yield item
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            _run_owned_step(loop, aclose(), context)


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


__all__ = ["run_sync", "iterate_sync", "run_owned", "iterate_owned", "loop_is_owned", "engine_owns_loop",
           "call_inline", "engine_loop"]
