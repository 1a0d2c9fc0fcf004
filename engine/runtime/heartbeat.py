"""Lease heartbeats on a thread of their own, so a run's lease is renewed whatever its loop does.

A run's loop may be busy for a long time: a sync node running inline on the engine's private
loop (engine/runtime/node.py), or a `stream()` whose caller takes its time between chunks (the
loop does not run then). A timer on the run's own loop would not fire, the lease would expire,
and another worker could take the thread over while the run is still alive. So every held lease
is registered here, and one daemon thread with its own event loop renews each one a third of
its TTL after its last renewal.

Registering costs a dict insert under a lock (no wake-up: most runs end before their first
beat). A renewal is the store's conditional `alease_renew`, which fails with LeaseLost once the
lease is gone (released by the run's last commit, or taken over): the lease is then forgotten.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from typing import Any

from engine.errors import LeaseLost

_TICK = 1.0  # seconds between looks when no lease is due sooner


class Heartbeats:
    """The leases to renew, and the thread that renews them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[Any, float] = {}  # lease -> monotonic time of its next renewal
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None  # set (from any thread) when a lease is due sooner

    def register(self, lease: Any) -> None:
        with self._lock:
            self._due[lease] = time.monotonic() + lease.ttl / 3
            if self._loop is None:
                self._start()
            elif lease.ttl / 3 < _TICK and self._wake is not None:  # due before the next look
                self._loop.call_soon_threadsafe(self._wake.set)

    def unregister(self, lease: Any) -> None:
        with self._lock:
            self._due.pop(lease, None)

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        thread = threading.Thread(target=loop.run_forever, name="engine-heartbeat", daemon=True)
        thread.start()
        # In an empty context: the first lease is registered inside a run's store transaction,
        # and a task inheriting that context would renew every lease, forever, in that
        # transaction (on PostgresSaver: its connection, from this thread's loop).
        contextvars.Context().run(asyncio.run_coroutine_threadsafe, self._beat_forever(), loop)

    async def _beat_forever(self) -> None:
        self._wake = asyncio.Event()
        while True:
            now = time.monotonic()
            with self._lock:
                due = [lease for lease, at in self._due.items() if at <= now]
                upcoming = min(self._due.values(), default=now + _TICK)
            for lease in due:
                await self._renew(lease)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.01, min(_TICK, upcoming - time.monotonic())))
            except asyncio.TimeoutError:
                pass

    async def _renew(self, lease: Any) -> None:
        try:
            await lease.store.alease_renew(lease.thread_id, lease.owner, lease.ttl)
        except LeaseLost:
            self.unregister(lease)  # released or taken over: the run's next commit says so
            return
        except Exception:  # a locked file or a dropped connection: try again soon, before expiry
            with self._lock:
                if lease in self._due:
                    self._due[lease] = time.monotonic() + min(lease.ttl / 6, _TICK)
            return
        with self._lock:
            if lease in self._due:
                self._due[lease] = time.monotonic() + lease.ttl / 3


HEARTBEATS = Heartbeats()

__all__ = ["HEARTBEATS", "Heartbeats"]
