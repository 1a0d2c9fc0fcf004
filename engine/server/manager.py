"""The run manager: runs execute in the server process, one at a time per thread, in tasks of
their own (a client that disconnects does not stop its run), under the engine's run ownership.

- Each thread has a queue. `enqueue` (the default multitask strategy) appends to it; `reject`
  refuses (409) while the thread has a run in flight or waiting, here or in another replica
  (an unfinished run record). A run is an ordinary engine run (`graph.astream`), so it takes
  the thread's lease: while another process (a replica, `inbox worker`) runs the thread, an
  enqueued run waits for the lease, then runs; a pinned answer someone decided meanwhile is
  then refused (409), never applied twice.
- Every run is recorded in the store (engine/checkpoint/api_store.py) before it starts and when
  it ends, with this process as its owner, so GET/list/join work after it finished and from
  any replica. The owner refreshes a heartbeat on its unfinished runs.
- `recover()` runs at start and then every RECOVER_EVERY seconds: runs whose owner stopped
  (a dead local process, or a heartbeat older than STALE_AFTER) are taken over with one
  conditional write, so one replica continues each; threads whose owner died mid-run and
  decisions claimed but not applied (e.g. by `inbox accept` in another process) go through
  `engine.runtime.ownership.resume_thread` (the door `inbox worker` uses: the lease makes it
  run once), and runs accepted but not started are queued again.
A handle keeps a run's published chunks so several readers (stream, join) follow one run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from engine.checkpoint.base import owner_is_dead
from engine.errors import ThreadBusy
from engine.runtime.ownership import new_owner, resume_thread
from engine.server.clock import now_iso
from engine.server.errors import ApiError, decided_by_record, from_engine
from engine.server.shapes import interrupt_json, jsonable
from engine.server.streaming import EventsMode

log = logging.getLogger("engine.server")
HEARTBEAT_EVERY = 5.0  # seconds between this process's heartbeats on its unfinished runs
STALE_AFTER = 30.0  # a run whose owner's heartbeat is older is taken over by another replica (clocks of
# replicas on different machines must agree to well within this; a skew is still safe: see _execute)
RECOVER_EVERY = 10.0  # seconds between looks for work other processes left
BUSY_RETRY = 0.05  # an enqueued run waiting for another process's lease on its thread looks again after this


@dataclass
class RunSpec:
    """What to run: the record plus what the engine needs (not all of it is in the record)."""

    run: dict
    graph: Any
    input: Any
    modes: list[str] = field(default_factory=lambda: ["values"])
    interrupt_before: Any = None
    interrupt_after: Any = None
    decided_by: str | None = None
    durability: str | None = None
    checkpoint_id: str | None = None
    # A recovery handle: continue the thread through ownership.resume_thread instead.
    recover: Callable[[], Awaitable[Any]] | None = None


class RunHandle:
    """One run in this process: its chunks so far, and its outcome."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.run = spec.run
        self.chunks: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        self.finished = False
        self.begun = False  # the engine started the run (its first transaction committed)
        self.result: Any = None  # the final values (+ __interrupt__), or {"__error__": ...}
        self.request_error: ApiError | None = None  # the request was refused when the run began

    def publish(self, event: str, data: Any) -> None:
        self.chunks.append((event, data))
        self._changed.set()
        self._changed = asyncio.Event()

    def finish(self, result: Any, request_error: ApiError | None = None) -> None:
        self.result = result
        self.request_error = request_error
        self.finished = True
        self._changed.set()

    async def wait(self) -> Any:
        while not self.finished:
            await self._changed.wait()
        return self.result

    def mark_begun(self) -> None:
        if not self.begun:
            self.begun = True
            self._changed.set()
            self._changed = asyncio.Event()

    async def started(self) -> None:
        """Until the engine started the run, or it ended: a request the engine refuses (an
        interrupt decided meanwhile, a bad answer) is then still an HTTP status, not a stream."""
        while not self.finished and not self.begun:
            await self._changed.wait()

    async def follow(self):
        """Every chunk, from the first, until the run ends."""
        index = 0
        while True:
            while index < len(self.chunks):
                yield self.chunks[index]
                index += 1
            if self.finished:
                return
            await self._changed.wait()


class RunManager:
    def __init__(self, saver: Any, graphs: dict[str, Any]) -> None:
        self.saver = saver  # the checkpointer and the ApiStore
        self.graphs = graphs
        self.owner = new_owner()  # this server process, as the owner of its runs
        self.queues: dict[str, list[RunHandle]] = {}
        self.handles: dict[str, RunHandle] = {}  # run_id -> handle, while in this process
        self._workers: dict[str, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()

    def busy(self, thread_id: str) -> bool:
        """A run of the thread is in flight or waiting in this process."""
        return bool(self.queues.get(thread_id))

    async def busy_anywhere(self, thread_id: str) -> bool:
        """... or in another process: an unfinished run record (a replica's queue)."""
        return self.busy(thread_id) or bool(await self.saver.alist_unfinished_api_runs(thread_id))

    async def submit(self, spec: RunSpec, *, strategy: str = "enqueue", record: bool = True) -> RunHandle:
        thread_id = spec.run["thread_id"]
        if strategy == "reject" and self.busy(thread_id):
            raise ApiError(409, "Thread is already running a task. Wait for it to finish or choose a "
                                "different multitask strategy.")
        handle = RunHandle(spec)
        if record:
            spec.run.update(owner=self.owner, heartbeat_at=now_iso())
            await self.saver.aput_api_run(spec.run)
        self.queues.setdefault(thread_id, []).append(handle)
        self.handles[spec.run["run_id"]] = handle
        if thread_id not in self._workers:
            task = asyncio.get_running_loop().create_task(self._drain(thread_id))
            self._workers[thread_id] = task
        return handle

    async def _drain(self, thread_id: str) -> None:
        queue = self.queues[thread_id]
        try:
            while queue:
                handle = queue[0]
                try:
                    await self._execute(handle)
                except Exception as error:  # noqa: BLE001 - recorded on the run, never lost
                    log.exception("run %s failed unexpectedly", handle.run["run_id"])
                    if not handle.finished:
                        handle.finish({"__error__": {"error": type(error).__name__, "message": str(error)}})
                finally:
                    queue.pop(0)
                    self._forget_later(handle)
        finally:
            self._workers.pop(thread_id, None)
            if not queue:
                self.queues.pop(thread_id, None)

    def _forget_later(self, handle: RunHandle) -> None:
        """Keep a finished handle a little while (a join racing its end still finds it)."""
        loop = asyncio.get_running_loop()
        loop.call_later(60, self.handles.pop, handle.run["run_id"], None)

    async def _set_status(self, handle: RunHandle, status: str, result: Any = None) -> None:
        handle.run["status"] = status
        handle.run["updated_at"] = now_iso()
        if handle.spec.run.get("_unrecorded"):
            return
        await self.saver.aset_api_run_status(handle.run["run_id"], status, result)

    async def _execute(self, handle: RunHandle) -> None:
        spec = handle.spec
        if spec.recover is not None:
            await self._execute_recovery(handle)
            return
        run = handle.run
        # Still ours? Another replica takes a run over only with the same conditional write, so
        # exactly one of us starts it (a replica that thought this process dead, e.g. with
        # clocks more than STALE_AFTER apart, never runs it a second time).
        if not run.get("_unrecorded") and not await self.saver.aclaim_api_run(run["run_id"], self.owner,
                                                                              previous=self.owner):
            handle.finish(None, ApiError(409, f"Run {run['run_id']!r} was taken over by another server process "
                                              "before it started here; follow it with GET .../join."))
            return
        await self._set_status(handle, "running")
        handle.publish("metadata", {"run_id": run["run_id"], "attempt": 1})
        user_config = run["kwargs"].get("config") or {}
        config: dict = {"configurable": {**(user_config.get("configurable") or {}), "thread_id": run["thread_id"],
                                         "decided_by": spec.decided_by, "claim_token": run["run_id"]},
                        "metadata": {"graph_id": run["graph_id"], "assistant_id": run["assistant_id"],
                                     "run_id": run["run_id"], "thread_id": run["thread_id"],
                                     **(run["metadata"] or {})}}
        if "recursion_limit" in user_config:
            config["recursion_limit"] = user_config["recursion_limit"]
        if spec.checkpoint_id:
            config["configurable"]["checkpoint_id"] = spec.checkpoint_id
        events = EventsMode(run, run["graph_id"]) if "events" in spec.modes else None
        wanted = set(spec.modes)
        # In the client's order (chunks of one step come out in it), plus what the server reads.
        engine_modes = [m for m in spec.modes if m != "events"]
        engine_modes += [m for m in ("values", "updates") if m not in engine_modes]
        values: Any = None
        interrupts: list = []
        if events is not None:
            handle.publish("events", events.start(_input_json(run["kwargs"])))
        try:
            async for mode, chunk in self._stream(handle, config, engine_modes):
                handle.mark_begun()
                if mode == "values":
                    if isinstance(chunk, dict) and "__interrupt__" in chunk:
                        # A pause: one chunk per interrupted task, the state plus its interrupts.
                        state = {k: v for k, v in chunk.items() if k != "__interrupt__"}
                        values = state
                        chunk = {**state, "__interrupt__": [
                            interrupt_json(i, response_schema=True) for i in chunk["__interrupt__"]]}
                    else:
                        values = chunk
                elif mode == "updates" and isinstance(chunk, dict) and "__interrupt__" in chunk:
                    # One chunk per interrupted task (several when parallel tasks paused): the
                    # run's answer lists them all, as the real server's does.
                    interrupts.extend(chunk["__interrupt__"])
                    chunk = {"__interrupt__": [interrupt_json(i, response_schema=True) for i in chunk["__interrupt__"]]}
                if events is not None and mode == "updates":
                    for event in events.updates(chunk):
                        handle.publish("events", event)
                if mode in wanted:
                    handle.publish(mode, chunk)
        except Exception as error:  # noqa: BLE001 - a graph error is the run's outcome
            refused = from_engine(error) if not handle.begun else None
            if refused is not None:
                await self._set_status(handle, "error")
                handle.finish(None, refused)
                return
            failure = {"error": type(error).__name__, "message": str(error)}
            handle.publish("error", failure)
            await self._set_status(handle, "error", {"__error__": failure})
            handle.finish({"__error__": failure}, await self._decided_first(spec))
            return
        if values is None:
            values = (await spec.graph.aget_state({"configurable": {"thread_id": run["thread_id"]}})).values
        result = dict(jsonable(values) or {})
        if interrupts:
            result["__interrupt__"] = [interrupt_json(i, response_schema=True) for i in interrupts]
        if events is not None:
            handle.publish("events", events.end(jsonable(values)))
        await self._set_status(handle, "success", result)
        handle.finish(result, await self._decided_first(spec))

    async def _decided_first(self, spec: RunSpec) -> ApiError | None:
        """409 when another request or process decided a pinned interrupt first with the same
        answer. The engine's claim takes an answer equal to the decision claimed for it as that
        decision (how a recovery applies one), so the run went on and applied it, once; but the
        decision is theirs, and this request lost the race: it is told so, as when the answers
        differ. Whose it is, is the claim's token (this run's id when this run claimed it), not
        the reviewer's name: two requests without an API key are both "api"."""
        run_id = spec.run["run_id"]
        for interrupt_id in spec.run["kwargs"].get("pinned_resume") or {}:
            record = await self.saver.aget_interrupt(interrupt_id)
            if record is not None and record.status != "pending" \
                    and await self.saver.aclaim_token(interrupt_id) != run_id:
                return decided_by_record(record)
        return None

    async def _stream(self, handle: RunHandle, config: dict, modes: list[str]):
        """The run's chunks. While another process holds the thread's lease (a replica's run, a
        worker), an enqueued run waits its turn, as it would behind a run of this process."""
        spec = handle.spec
        while True:
            try:
                async for item in spec.graph.astream(spec.input, config, stream_mode=modes,
                                                     interrupt_before=_nodes(spec.interrupt_before, spec.graph),
                                                     interrupt_after=_nodes(spec.interrupt_after, spec.graph),
                                                     durability=spec.durability):
                    yield item
                return
            except ThreadBusy:
                if handle.begun or handle.run.get("multitask_strategy") == "reject":
                    raise
                await asyncio.sleep(BUSY_RETRY)

    async def _execute_recovery(self, handle: RunHandle) -> None:
        applied = await handle.spec.recover()
        while applied.status == "busy" and not handle.run.get("_unrecorded"):
            # another process runs the thread now: this run's outcome is the state it leaves
            await asyncio.sleep(BUSY_RETRY * 10)
            if await self.saver.alease_holder(handle.run["thread_id"]) is None:
                snapshot = await handle.spec.graph.aget_state({"configurable": {"thread_id": handle.run["thread_id"]}})
                result = dict(jsonable(snapshot.values or {}))
                if snapshot.interrupts:
                    result["__interrupt__"] = [interrupt_json(i, response_schema=True) for i in snapshot.interrupts]
                await self._set_status(handle, "success", result)
                handle.finish(result)
                return
        if applied.status == "busy":  # another process is on it; nothing of ours to record
            handle.finish({})
            return
        if applied.status == "error":
            result = {"__error__": {"error": "RunError", "message": applied.error or ""}}
            status = "error"
        else:
            result = dict(jsonable(applied.values or {}))
            if applied.interrupts:
                result["__interrupt__"] = [interrupt_json(i, response_schema=True) for i in applied.interrupts]
            status = "success"
        log.info("recovered thread %s: %s", handle.run["thread_id"], applied.status)
        await self._set_status(handle, status, result)
        handle.finish(result)

    # --- what other processes left -------------------------------------------------------------------
    def orphaned(self, run: dict, now: datetime | None = None) -> bool:
        """Whether `run` (unfinished) was left by a process that stopped: its owner is a dead
        process of this machine, or its heartbeat is older than STALE_AFTER (another machine's,
        or a record from before runs had owners)."""
        owner = run.get("owner")
        if owner == self.owner:
            return False
        if owner and owner_is_dead(owner):
            return True
        beat = run.get("heartbeat_at")
        if beat is None:
            return True
        now = now if now is not None else datetime.now(timezone.utc)
        return (now - datetime.fromisoformat(beat)).total_seconds() > STALE_AFTER

    async def recover(self, resubmit: Callable[[dict], Awaitable[RunSpec | None]]) -> None:
        """Continue what stopped processes left (see the module docstring). Threads of graphs
        not served here, and threads this process is running, are left alone."""
        taken = []
        for run in await self.saver.alist_unfinished_api_runs():
            if self.orphaned(run) and run["graph_id"] in self.graphs and not self.busy(run["thread_id"]):
                if await self.saver.aclaim_api_run(run["run_id"], self.owner, previous=run.get("owner")):
                    run["owner"] = self.owner
                    taken.append(run)
        decisions, orphans = await self.saver.alist_recoverable()
        work: dict[str, tuple[str, dict, str | None]] = {}
        for record in decisions:
            if record.graph in self.graphs and not self.busy(record.thread_id):
                graph, answers, by = work.get(record.thread_id, (record.graph, {}, record.resolved_by))
                answers[record.id] = record.response
                work[record.thread_id] = (graph, answers, by)
        for thread_id, graph in orphans:
            if graph in self.graphs and not self.busy(thread_id):
                work.setdefault(thread_id, (graph, {}, None))
        running = {r["thread_id"]: r for r in taken if r["status"] == "running"}
        for thread_id, (graph, answers, by) in work.items():
            run = running.pop(thread_id, None) or {"run_id": f"recovery:{thread_id}", "thread_id": thread_id,
                                                   "assistant_id": "", "graph_id": graph, "status": "running",
                                                   "metadata": {}, "kwargs": {}, "_unrecorded": True}

            def again(thread_id=thread_id, graph=graph, answers=answers, by=by):
                return resume_thread(self.graphs, thread_id, graph, answers or None, by)
            await self.submit(RunSpec(run=run, graph=self.graphs[graph], input=None, recover=again), record=False)
        for run in running.values():  # it ended, but its process stopped before recording that
            await self.saver.aset_api_run_status(run["run_id"], "success")
        for run in taken:
            if run["status"] == "pending":
                spec = await resubmit(run)
                if spec is not None:
                    await self.submit(spec, record=False)

    async def keep_up(self, resubmit: Callable[[dict], Awaitable[RunSpec | None]]) -> None:
        """Recover at start, then keep this process's runs alive (heartbeats) and look for work
        other processes left, until cancelled. A failed look is logged and tried again."""
        next_recovery = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.saver.aheartbeat_api_runs(self.owner)
                if loop.time() >= next_recovery:
                    await self.recover(resubmit)
                    next_recovery = loop.time() + RECOVER_EVERY
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the store may be briefly away; the next look retries
                log.exception("looking for work other server processes left failed")
            await asyncio.sleep(HEARTBEAT_EVERY)

    async def close(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        for task in list(self._workers.values()):
            with contextlib.suppress(BaseException):
                await task


def _nodes(value: Any, graph: Any) -> list[str] | None:
    if value == "*":
        return list(graph.builder.nodes)
    return value


def _input_json(kwargs: dict) -> Any:
    """The run's input as the client sent it (a command as LangGraph's Command serializes)."""
    command = kwargs.get("command")
    if command:
        return {"graph": None, "update": command.get("update"), "resume": command.get("resume"),
                "goto": command.get("goto")}
    return kwargs.get("input")


__all__ = ["RunManager", "RunHandle", "RunSpec"]
