"""The saver protocol every checkpointer implements (LangGraph's method names), plus the
engine's extensions: events written with the checkpoint, and a transaction per superstep.

A checkpoint is a JSON-ready dict:
    {"v": 1, "id": str, "ts": iso, "step": int,
     "channel_values": {key: value}, "channel_versions": {key: int},
     "tasks": [{"id": str, "name": node}],          # what the next superstep runs
     "waiting": {join_node: [finished sources]},     # progress of add_edge([a, b], c) joins
     "breakpoint": None | {"when": "before" | "after", "nodes": [...]}}
Pending writes are `(task_id, channel, value)` recorded against a checkpoint by the tasks of
its superstep: "__task__" (a finished task's result), "__interrupt__", "__resume__", "__error__".
A task writes each channel at most once per checkpoint; a second put replaces the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable, Iterator, NamedTuple, Sequence

from engine.errors import GraphConfigError, LeaseLost, ThreadBusy, ThreadMovedOn
from engine.events import Event
from engine._internal.sync import iterate_sync, run_sync


class CheckpointTuple(NamedTuple):
    config: dict
    checkpoint: dict
    metadata: dict
    parent_config: dict | None = None
    pending_writes: list = []


def thread_id_of(config: dict | None) -> str:
    configurable = (config or {}).get("configurable") or {}
    thread_id = configurable.get("thread_id")
    if thread_id is None or thread_id == "":
        raise GraphConfigError(
            "this graph has a checkpointer, so every call needs a thread id: pass "
            'config={"configurable": {"thread_id": "some-id"}}.'
        )
    return str(thread_id)


def checkpoint_ns_of(config: dict | None) -> str:
    return str(((config or {}).get("configurable") or {}).get("checkpoint_ns", ""))


def checkpoint_id_of(config: dict | None) -> str | None:
    return ((config or {}).get("configurable") or {}).get("checkpoint_id")


def make_config(thread_id: str, checkpoint_ns: str, checkpoint_id: str | None) -> dict:
    configurable = {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


ANY_CHECKPOINT = object()  # alease_acquire(expect=...): do not check which checkpoint is latest


def now_us() -> int:
    """Lease times: wall-clock microseconds (they are compared across processes)."""
    return time.time_ns() // 1000


def owner_is_dead(owner: str) -> bool:
    """A lease owner ("host:pid:random") that is a process of this machine no longer alive:
    its lease need not be waited out (a crash on one machine is recovered at once)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


class Commit:
    """The outcome of a transaction the caller chose not to wait for (`transaction(wait=False)`).
    This base one is already committed: savers without a background writer commit at once."""

    async def wait(self) -> None:
        """Return once the writes are committed; raise the error if they could not be."""
        return None


class BaseCheckpointSaver:
    """Stores checkpoints, pending writes and events. Subclasses implement the `a*` methods;
    the sync twins run them on the engine loop."""

    # --- the protocol: implemented by each saver -------------------------------------------
    async def aget_tuple(self, config: dict) -> CheckpointTuple | None:
        raise NotImplementedError

    def alist(self, config: dict | None, *, filter: dict | None = None, before: dict | None = None,
              limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        raise NotImplementedError

    async def aput(self, config: dict, checkpoint: dict, metadata: dict, new_versions: dict) -> dict:
        raise NotImplementedError

    async def aput_writes(self, config: dict, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        raise NotImplementedError

    async def adelete_thread(self, thread_id: str) -> None:
        raise NotImplementedError

    async def _astore_events(self, events: list[Event]) -> list[Event]:
        """Persist events, returning them numbered with `seq`."""
        raise NotImplementedError

    async def aread_events(self, since: int | None = None, limit: int | None = None) -> list[Event]:
        """Stored events with `seq > since`, oldest first."""
        raise NotImplementedError

    # --- transactions -------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self, *, wait: bool = True, after: "Commit | None" = None,
                          carry: bool = False) -> AsyncIterator["Commit"]:
        """Everything awaited inside commits together or not at all. Savers without
        transactions (memory) just run the body.

        Yields a `Commit`. By default the block returns once its writes are committed. With
        `wait=False` a saver may instead hand the commit to its writer and return at once
        (`await commit.wait()` for the outcome); `after` names the previous such commit of the
        same run, so this one is not committed if that one failed. With `carry=True` as well, a
        saver may keep the writes in memory and commit them with the next transaction that
        names this one in `after`, or at `wait()`."""
        yield Commit()

    # --- run ownership (see engine/runtime/ownership.py) --------------------------------------
    # These defaults keep leases and the tool-call ledger in this process (enough for a saver
    # no other process reads); SqliteSaver keeps them in its file.
    async def alease_acquire(self, thread_id: str, owner: str, ttl: float, *, expect: Any = ANY_CHECKPOINT,
                             defer: bool = False) -> None:
        """Take the thread's lease for `owner` (or extend it if theirs), or raise ThreadBusy
        (another owner's lease is live) or ThreadMovedOn (`expect`, the checkpoint id the
        caller loaded, is no longer the thread's latest). With `defer`, inside a transaction,
        a saver may do it with the commit."""
        now = now_us()
        with self._leases_lock:
            held = self._leases.get(thread_id)
            if held is not None and held[0] != owner and held[1] > now and not owner_is_dead(held[0]):
                raise ThreadBusy(thread_id, held[0], (held[1] - now) / 1e6)
            self._leases[thread_id] = (owner, now + int(ttl * 1e6))
        if expect is not ANY_CHECKPOINT:
            if await self._alatest_checkpoint_id(thread_id) != expect:
                await self.alease_release(thread_id, owner)
                raise ThreadMovedOn(thread_id)

    async def _alatest_checkpoint_id(self, thread_id: str) -> str | None:
        """The id of the thread's latest checkpoint (root namespace), or None."""
        latest = await self.aget_tuple(make_config(thread_id, "", None))
        return latest.checkpoint["id"] if latest else None

    async def alease_renew(self, thread_id: str, owner: str, ttl: float, *, release: bool = False,
                           defer: bool = False) -> None:
        """Extend (or, with `release`, end) `owner`'s lease; LeaseLost if it is not theirs."""
        with self._leases_lock:
            held = self._leases.get(thread_id)
            if held is None or held[0] != owner:
                raise LeaseLost(thread_id, owner, held[0] if held else None)
            if release:
                del self._leases[thread_id]
            else:
                self._leases[thread_id] = (owner, now_us() + int(ttl * 1e6))

    async def alease_release(self, thread_id: str, owner: str) -> None:
        """End `owner`'s lease if they still hold it."""
        with self._leases_lock:
            if self._leases.get(thread_id, ("",))[0] == owner:
                del self._leases[thread_id]

    async def alease_holder(self, thread_id: str) -> tuple[str, float] | None:
        """(owner, seconds until the lease expires; negative once expired) or None."""
        held = self._leases.get(thread_id)
        return (held[0], (held[1] - now_us()) / 1e6) if held else None

    async def aclaim_answers(self, thread_id: str, graph: str, answers: dict[str, Any], *, by: str | None,
                             at: str | None = None, token: str | None = None) -> None:
        """Inside a run's first transaction: claim the answered interrupts. A saver that keeps
        no interrupt index has nothing to claim; it records that they were answered."""
        from engine.events import InterruptResolved

        at = at or datetime.now(timezone.utc).isoformat()
        await self.aqueue_events([InterruptResolved(at=at, thread_id=thread_id, graph=graph, interrupt_id=i,
                                                    response=answer, by=by) for i, answer in answers.items()])

    async def aclaim_token(self, interrupt_id: str) -> str | None:
        """No interrupt index, so no claim and no token."""
        return None

    async def amark_applied(self, interrupt_ids: list[str]) -> None:
        """Inside the transaction of the step that consumed them: the decisions are applied."""

    async def alist_recoverable(self) -> tuple[list, list[tuple[str, str]]]:
        """Claimed-but-unapplied decisions and orphaned busy threads that nobody holds."""
        return [], []

    def tool_call(self, key: str, action: str, **fields: Any):
        """Advance a reviewed tool call in the ledger (engine/checkpoint/tool_ledger.py)."""
        thread_id, owner = fields["new"]["thread_id"], fields["owner"]
        return self._ledger.apply(key, action, lambda: self._leases.get(thread_id, ("",))[0] == owner, **fields)

    # --- events ---------------------------------------------------------------------------------
    def __init__(self) -> None:
        from engine.checkpoint.tool_ledger import MemoryLedger

        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._subscribers_lock = threading.Lock()
        self._leases: dict[str, tuple[str, int]] = {}
        self._leases_lock = threading.Lock()
        self._ledger = MemoryLedger()

    async def aput_events(self, events: list[Event]) -> list[Event]:
        if not events:
            return []
        stored = await self._astore_events(events)
        self._notify_subscribers()
        return stored

    async def aqueue_events(self, events: list[Event]) -> None:
        """Store events whose seq numbers the caller does not need. Inside a transaction a
        saver may write them with the transaction's commit; by default the same as
        `aput_events`."""
        await self.aput_events(events)

    def _notify_subscribers(self) -> None:
        with self._subscribers_lock:
            subscribers = list(self._subscribers)
        for loop, wake in subscribers:
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)

    async def subscribe(self, since: int | None = None, *, poll_interval: float = 0.05) -> AsyncIterator[Event]:
        """Yield events with `seq > since` (all stored ones when `since` is None: pass the
        current `last_event_seq()` to hear only new ones), then new ones as they are stored.
        Writes from this process wake the subscriber at once; a saver shared between processes
        also polls every `poll_interval` seconds."""
        wake = asyncio.Event()
        entry = (asyncio.get_running_loop(), wake)
        with self._subscribers_lock:
            self._subscribers.add(entry)
        last = since if since is not None else 0
        written_elsewhere = self._write_probe()
        written_elsewhere()  # the baseline: what the first read below sees
        try:
            while True:
                wake.clear()
                for event in await self.aread_events(since=last):
                    last = event.seq
                    yield event
                while True:
                    try:
                        await asyncio.wait_for(wake.wait(), timeout=self._poll_timeout(poll_interval))
                        break  # a write of this process
                    except asyncio.TimeoutError:
                        if written_elsewhere():
                            break
        finally:
            with self._subscribers_lock:
                self._subscribers.discard(entry)

    def _poll_timeout(self, poll_interval: float) -> float | None:
        """How long a subscriber sleeps without a local wake-up. None: only local writes exist."""
        return None

    def _write_probe(self) -> Callable[[], bool]:
        """A cheap check, called between polls, of whether another process may have written
        since the last call; a poll that it says False to reads nothing. By default: always."""
        return lambda: True

    async def alast_event_seq(self) -> int:
        events = await self.aread_events(since=None)
        return events[-1].seq if events else 0

    # --- sync twins -----------------------------------------------------------------------------
    def get_tuple(self, config: dict) -> CheckpointTuple | None:
        return run_sync(self.aget_tuple(config), "saver.get_tuple()")

    def list(self, config: dict | None, *, filter: dict | None = None, before: dict | None = None,
             limit: int | None = None) -> Iterator[CheckpointTuple]:
        return iterate_sync(self.alist(config, filter=filter, before=before, limit=limit), "saver.list()")

    def put(self, config: dict, checkpoint: dict, metadata: dict, new_versions: dict) -> dict:
        return run_sync(self.aput(config, checkpoint, metadata, new_versions), "saver.put()")

    def put_writes(self, config: dict, writes: Sequence[tuple[str, Any]], task_id: str,
                   task_path: str = "") -> None:
        return run_sync(self.aput_writes(config, writes, task_id, task_path), "saver.put_writes()")

    def delete_thread(self, thread_id: str) -> None:
        return run_sync(self.adelete_thread(thread_id), "saver.delete_thread()")

    def read_events(self, since: int | None = None, limit: int | None = None) -> list[Event]:
        return run_sync(self.aread_events(since, limit), "saver.read_events()")


__all__ = ["ANY_CHECKPOINT", "now_us", "owner_is_dead", "BaseCheckpointSaver", "CheckpointTuple", "thread_id_of", "checkpoint_ns_of",
           "checkpoint_id_of", "make_config"]
