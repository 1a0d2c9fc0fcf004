"""A lock for coroutines running on any event loop: the saver is used from the engine's
background loop and from the caller's, and asyncio.Lock belongs to one loop."""

from __future__ import annotations

import asyncio
import threading
from collections import deque


class CrossLoopLock:
    """A FIFO mutex for coroutines that may run on different event loops.

    asyncio.Lock belongs to one loop; the saver is used from the engine's background loop and
    from the caller's own loop at once, so this lock keeps its state under a threading.Lock and
    wakes a waiter on the waiter's own loop. Waiting never blocks a loop's thread. Not
    re-entrant (the saver lets calls inside its own transaction skip it)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locked = False
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = deque()

    def locked(self) -> bool:
        return self._locked

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._mutex:
            if not self._locked:
                self._locked = True
                return
            waiter = (loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await waiter[1]
        except BaseException:
            with self._mutex:
                try:
                    self._waiters.remove(waiter)
                    handed_over = False
                except ValueError:
                    handed_over = True  # release() chose us just before we were cancelled
            if handed_over:
                self.release()
            raise

    def release(self) -> None:
        with self._mutex:
            while self._waiters:
                loop, future = self._waiters.popleft()
                try:
                    loop.call_soon_threadsafe(_wake, future)
                except RuntimeError:  # that loop is closed: its waiter is gone
                    continue
                return  # ownership passes straight to the woken waiter
            self._locked = False


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


__all__ = ["CrossLoopLock"]
