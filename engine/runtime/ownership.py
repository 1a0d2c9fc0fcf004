"""Run ownership: a thread is run by at most one executor at a time, across processes.

The model, in four rules:
1. **A lease per thread.** A top-level run takes its thread's lease in its first transaction
   (one conditional write: free, expired, or already ours), together with a check that the
   checkpoint it loaded is still the thread's latest. Someone else's live lease: ThreadBusy,
   nothing runs. A thread that moved on meanwhile: ThreadMovedOn, the run reloads and decides
   again (a resume then finds its interrupt answered, and stops).
2. **Every commit is fenced.** Each later transaction of the run renews the lease and fails
   (LeaseLost, rolled back) if it is not the run's any more, so a run that stalled past its
   lease can never commit over whoever took the thread over. A heartbeat renews the lease while
   a long node runs; the run's last transaction (it paused, finished or failed) releases it.
3. **A decision is applied with the step that consumed it.** A run answering interrupts claims
   them in its first transaction (or checks they are the decisions already claimed for them);
   the step whose node consumed an answer marks it applied in that step's own transaction.
   A crash in between leaves the decision claimed-but-unapplied, to be applied again.
4. **Recovery goes through the same door.** `recover()` (run by `inbox worker`, and by the
   inbox at start) resumes threads with claimed-but-unapplied decisions and continues threads a
   dead owner left busy, each through an ordinary run: rules 1-3 make a second worker, a CLI
   racing it or a deadline firing at the same moment harmless.

Plain nodes re-run after a crash, as in LangGraph. Reviewed tools (engine/prebuilt/tool_review)
also record their calls in a ledger, so a call that may have run when its process died is
asked about ("in doubt") instead of being run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any, Mapping

from engine.checkpoint.base import ANY_CHECKPOINT
from engine.checkpoint.store import RunStore
from engine.errors import (AlreadyResolved, InvalidResumeError, LeaseLost, ThreadBusy,
                           ThreadMovedOn)
from engine.runtime.heartbeat import HEARTBEATS

DEFAULT_LEASE_TTL = 20.0  # seconds; ENGINE_LEASE_TTL overrides it (tests use short leases)


def lease_ttl() -> float:
    raw = os.environ.get("ENGINE_LEASE_TTL")
    if not raw:
        return DEFAULT_LEASE_TTL
    try:
        ttl = float(raw)
    except ValueError:
        raise ValueError(f"ENGINE_LEASE_TTL={raw!r} is not a number of seconds, e.g. ENGINE_LEASE_TTL=20") from None
    if ttl <= 0:
        raise ValueError(f"ENGINE_LEASE_TTL must be more than 0 seconds, got {raw!r}")
    return ttl


_HOST = socket.gethostname()


def new_owner() -> str:
    """host:pid:random: who holds a lease, readable in messages, unique per run."""
    return f"{_HOST}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    """One run's hold on its thread (see the module docstring)."""

    def __init__(self, store: RunStore, thread_id: str, ttl: float | None = None) -> None:
        self.store = store
        self.thread_id = thread_id
        self.owner = new_owner()
        self.ttl = ttl if ttl is not None else lease_ttl()
        self.expect: Any = ANY_CHECKPOINT  # the checkpoint id the run loaded (None: none)
        self.held = False
        # Renewed from the heartbeat thread (engine/runtime/heartbeat.py) while held, so a busy
        # or idle run loop never lets it expire.
        self._beating = False

    async def take(self) -> None:
        """Take the lease now, in a transaction of its own."""
        await self.store.alease_acquire(self.thread_id, self.owner, self.ttl, expect=self.expect)
        self.held = True
        self._start_heartbeat()

    async def in_step(self, *, final: bool) -> None:
        """Inside each transaction of the run: take the lease with the first commit (unless
        `take` did already), renew it with the later ones, and release it with the last. Each
        is queued for the commit, which fails if the lease is not the run's."""
        if not self.held:
            await self.store.alease_acquire(self.thread_id, self.owner, self.ttl, expect=self.expect, defer=True)
            self.held = True
            if final:
                await self.store.alease_renew(self.thread_id, self.owner, self.ttl, release=True, defer=True)
            else:
                self._start_heartbeat()
        else:
            await self.store.alease_renew(self.thread_id, self.owner, self.ttl, release=final, defer=True)
        if final:
            self.held = False
            self._stop_heartbeat()

    def _start_heartbeat(self) -> None:
        if not self._beating:
            self._beating = True
            HEARTBEATS.register(self)

    def _stop_heartbeat(self) -> None:
        if self._beating:
            self._beating = False
            HEARTBEATS.unregister(self)

    def abandon(self) -> None:
        """The transaction that took the lease was rolled back: it was never ours."""
        self.held = False
        self._stop_heartbeat()

    async def finish(self) -> None:
        """The run is over however it ended: stop renewing, and let go if still held."""
        self._stop_heartbeat()
        if self.held:
            self.held = False
            with contextlib.suppress(Exception):
                await self.store.alease_release(self.thread_id, self.owner)


# --- recovery: applying claimed decisions, and continuing orphaned runs -------------------------
@dataclass
class Applied:
    """What resuming (or continuing) a thread did."""

    thread_id: str
    graph: str
    interrupt_ids: list[str]
    # "done" | "interrupted" | "error" | "recorded" (no graph here to resume it) | "busy"
    # (another executor runs the thread: it is left to them) | "applied" (someone else applied
    # it meanwhile: nothing was run here)
    status: str
    interrupts: list = field(default_factory=list)  # new ones, when interrupted again
    error: str | None = None
    values: dict | None = None
    owner: str | None = None  # with "busy": who runs the thread


async def resume_thread(graphs: Mapping[str, Any], thread_id: str, graph_name: str,
                        answers: dict[str, Any] | None, by: str | None) -> Applied:
    """Resume a thread with claimed answers (or continue it, with None), through an ordinary
    run: it takes the thread's lease, so whoever else holds it is left alone."""
    from engine.types import Command  # the runtime sits above types

    graph = graphs.get(graph_name)
    ids = list(answers or {})
    if graph is None:
        return Applied(thread_id, graph_name, ids, "recorded")
    config = {"configurable": {"thread_id": thread_id, "decided_by": by}}
    try:
        out = await graph.ainvoke(Command(resume=answers) if answers else None, config)
    except ThreadBusy as busy:
        return Applied(thread_id, graph_name, ids, "busy", owner=busy.owner)
    except (AlreadyResolved, InvalidResumeError) as error:
        if answers and await _all_applied(graph.checkpointer, ids):
            return Applied(thread_id, graph_name, ids, "applied")
        return Applied(thread_id, graph_name, ids, "error", error=f"{type(error).__name__}: {error}")
    except ThreadMovedOn as error:  # moved on again and again: someone else is busy with it
        return Applied(thread_id, graph_name, ids, "busy", error=str(error))
    except Exception as error:  # the agent's failure is the thread's state, not ours
        return Applied(thread_id, graph_name, ids, "error", error=f"{type(error).__name__}: {error}")
    pending = out.pop("__interrupt__", [])
    applied = Applied(thread_id, graph_name, ids, "interrupted" if pending else "done", list(pending), values=out)
    if pending:  # decisions claimed for this thread while we ran it: we hold it, so we apply them
        more = await _claimed_for(graph.checkpointer, thread_id)
        if more:
            then = await resume_thread(graphs, thread_id, graph_name, {r.id: r.response for r in more},
                                       more[0].resolved_by)
            if then.status not in ("busy", "applied"):
                then.interrupt_ids = ids + then.interrupt_ids
                return then
    return applied


async def _claimed_for(saver: RunStore, thread_id: str) -> list:
    listing = getattr(saver, "alist_claimed_unapplied", None)
    return [r for r in await listing() if r.thread_id == thread_id] if listing is not None else []


async def _all_applied(saver: RunStore, ids: list[str]) -> bool:
    get = getattr(saver, "aget_interrupt", None)
    if get is None:
        return False
    for interrupt_id in ids:
        record = await get(interrupt_id)
        if record is None or not record.applied:
            return False
    return True


async def recover(saver: RunStore, graphs: Mapping[str, Any], *, concurrency: int = 1) -> list[Applied]:
    """Take over what nobody is running: resume each thread with claimed-but-unapplied
    decisions (all of a thread's together), and continue threads whose owner died mid-run.
    Threads of graphs not in `graphs` are left for a worker that has them. Safe to run in
    any number of processes at once: each thread is run by whoever takes its lease first."""
    decisions, orphans = await saver.alist_recoverable()
    work: dict[tuple[str, str], dict[str, Any]] = {}
    deciders: dict[tuple[str, str], str | None] = {}
    for record in decisions:
        if record.graph in graphs:
            key = (record.thread_id, record.graph)
            work.setdefault(key, {})[record.id] = record.response
            deciders.setdefault(key, record.resolved_by)
    for thread_id, graph_name in orphans:
        if graph_name in graphs:
            work.setdefault((thread_id, graph_name), {})
    items = list(work.items())
    random.shuffle(items)  # several workers start on different threads
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(key: tuple[str, str], answers: dict[str, Any]) -> Applied:
        async with gate:
            return await resume_thread(graphs, key[0], key[1], answers or None, deciders.get(key))

    results = await asyncio.gather(*(one(key, answers) for key, answers in items))
    return [r for r in results if r.status not in ("busy", "applied")]


__all__ = ["Lease", "Applied", "lease_ttl", "new_owner", "resume_thread", "recover", "DEFAULT_LEASE_TTL"]
