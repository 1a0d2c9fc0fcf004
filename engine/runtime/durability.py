"""How a run's supersteps reach its checkpointer: LangGraph's `durability` modes.

- "sync": each superstep's checkpoint, writes and events are committed before the next
  superstep starts. A crash loses at most the superstep that was running. The default.
- "async": each superstep's commit is handed to the saver and the next superstep runs while it
  is written (LangGraph's default). A crash may also lose the superstep before. The run's first
  commit, which takes its thread's lease (engine/runtime/ownership.py), is waited for.
- "exit": the writes stay in memory and are committed together when the run stops (it
  finished, paused on an interrupt, or failed). A crash loses the whole run.

Whatever the mode, a run's writes are committed, in order, before `invoke()` returns, raises,
or a stream yields its interrupt; a write that failed is raised then.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from engine.errors import GraphConfigError

Durability = Literal["sync", "async", "exit"]
DURABILITY_MODES: tuple[str, ...] = ("sync", "async", "exit")
DEFAULT_DURABILITY: Durability = "sync"


def check_durability(value: Any) -> Durability:
    if value is None:
        return DEFAULT_DURABILITY
    if value not in DURABILITY_MODES:
        raise GraphConfigError(
            f"durability={value!r} is not a durability mode; use 'sync' (commit each step before "
            "the next), 'async' (commit while the next step runs) or 'exit' (commit when the run stops).")
    return value


class Persistence:
    """The transactions of one run, in the run's durability mode."""

    def __init__(self, store: Any, mode: Durability, lease: Any = None) -> None:
        self.store = store
        self.mode = mode
        self.lease = lease  # the run's hold on its thread: every transaction takes or renews it
        self._last: Any = None  # the latest commit not waited for ("async", "exit")

    def step(self, *, final: bool = False) -> "_Step":
        """Everything awaited inside is one transaction, committed as the mode says. With a
        lease, the transaction takes it (the first), renews it, or (`final`: the run stops)
        releases it, and commits only if the lease is still the run's."""
        return _Step(self, final)

    async def settle(self) -> None:
        """Wait until every write so far is committed; raise the first that failed. If the
        wait is cancelled, the next settle() waits again (nothing is forgotten)."""
        if self._last is None:
            return
        try:
            await self._last.wait()
        except asyncio.CancelledError:
            raise  # the writes are still pending: a later settle() waits for them again
        except BaseException:
            self._last = None  # failed for good: raised once, not again by a later settle()
            raise
        self._last = None


class _Step:
    """`Persistence.step()`: a class rather than a generator-based context manager, since every
    superstep enters one (it is on the path of every run)."""

    __slots__ = ("persist", "final", "acquiring", "waited", "transaction", "commit")

    def __init__(self, persist: Persistence, final: bool) -> None:
        self.persist = persist
        self.final = final

    async def __aenter__(self) -> None:
        persist = self.persist
        lease = persist.lease
        if lease is not None and not lease.held and persist.mode == "exit":
            await lease.take()  # on its own: this mode's commits come at the end, the nodes run now
        self.acquiring = lease is not None and not lease.held
        # The transaction that takes the lease is waited for in "async" too (no node runs
        # before the thread is the run's): it is the run's first commit, so taking the lease
        # costs no round trip of its own.
        self.waited = persist.mode == "sync" or self.acquiring
        if self.waited:
            self.transaction = persist.store.transaction(after=persist._last)
        else:
            self.transaction = persist.store.transaction(wait=False, after=persist._last,
                                                         carry=persist.mode == "exit")
        try:
            self.commit = await self.transaction.__aenter__()
            if lease is not None:
                try:
                    await lease.in_step(final=self.final)
                except BaseException as exc:
                    await self.transaction.__aexit__(type(exc), exc, exc.__traceback__)
                    raise
        except BaseException:
            if self.acquiring:
                lease.abandon()  # the transaction that took it did not commit
            raise

    async def __aexit__(self, kind: Any, error: Any, traceback: Any) -> bool:
        try:
            await self.transaction.__aexit__(kind, error, traceback)
        except BaseException:
            if self.acquiring:
                self.persist.lease.abandon()
            raise
        if kind is not None:
            if self.acquiring:
                self.persist.lease.abandon()
            return False
        if not self.waited:
            self.persist._last = self.commit
        return False
