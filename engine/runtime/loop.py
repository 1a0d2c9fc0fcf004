"""The superstep loop of one run of a graph on one thread (and namespace).

Each superstep runs the checkpoint's tasks concurrently, then either
- all finished: their writes are applied together through the reducers and a new checkpoint
  naming the next tasks is saved;
- some paused on `interrupt()`: the finished ones keep their writes (saved as they finish),
  the interrupts are recorded against the same checkpoint and the run stops;
- one failed: the error is recorded against the checkpoint, which stays resumable, and raised.
Checkpoint, writes and events of a superstep are saved in one saver transaction.

This module loads, persists (through `Persistence` and the run's lease) and emits events; what
to run next, when to stop and which answers go where are decided by the pure functions of
engine/runtime/algo.py, and engine/runtime/runner.py runs a step's tasks.
"""

from __future__ import annotations

from typing import Any, AsyncIterator

from engine._internal.context import TaskContext, current_task
from engine.checkpoint.base import CheckpointTuple, make_config
from engine.checkpoint.ids import new_checkpoint_id
from engine.checkpoint.serde import to_jsonable
from engine.constants import END, ERROR, INTERRUPT, RESUME, START
from engine.errors import (EmptyCommandError, GraphInterrupt, GraphRecursionError, InvalidResumeError,
                           InvalidUpdateError, LeaseLost, NothingToResumeError, ParentCommand, ThreadMovedOn)
from engine.events import InterruptCancelled, InterruptRaised, RunFailed, RunFinished, RunStarted
from engine.runtime import algo, streaming
from engine.runtime.algo import BREAKPOINT, GOTO, GRAPH_TASK, TASK, UPDATE, SavedState, task_id_for, task_ns
from engine.runtime.durability import Persistence, check_durability
from engine.runtime.node import TaskOutcome
from engine.runtime.ownership import Lease
from engine.runtime.runner import StepScope, run_step
from engine.review.validate import check_answer
from engine.types import Command, Interrupt, Send

_START_ATTEMPTS = 5  # reloads when the thread moved on between loading it and taking its lease


class Run:
    """One call of invoke/stream on a compiled graph."""

    def __init__(self, graph: Any, config: dict | None, interrupt_before=None, interrupt_after=None,
                 durability: str | None = None):
        from engine.checkpoint.base import thread_id_of
        from engine.checkpoint.memory import InMemorySaver

        self.graph = graph
        self.parent: TaskContext | None = current_task()
        self.nested = self.parent is not None
        config = dict(config or {})
        configurable = dict(config.get("configurable") or {})
        if self.nested:
            parent = self.parent
            inherited = parent.checkpointer if graph.checkpointer is not False else None
            self.saver = inherited if inherited is not None else (graph.checkpointer or None)
            self.thread_id = parent.thread_id
            self.ns = parent.next_subgraph_ns()
            self.resume_map = parent.resume_map
            base = dict(parent.config)
            base.update({k: v for k, v in config.items() if k != "configurable"})
            config = base
            configurable = dict(parent.config.get("configurable") or {})
        else:
            self.saver = graph.checkpointer or None
            self.ns = str(configurable.get("checkpoint_ns", ""))
            self.resume_map = {}
            if self.saver is not None:
                self.thread_id = thread_id_of(config)
            else:
                self.thread_id = str(configurable.get("thread_id", "ephemeral"))
        # Without a checkpointer the run still goes through a private saver (so the code path is
        # the same), but interrupt() is refused: nothing would outlive the call to resume it.
        self.durable = self.saver is not None
        self.store = self.saver if self.saver is not None else InMemorySaver()
        # A top-level durable run owns its thread while it runs (engine/runtime/ownership.py);
        # a subgraph runs under its parent's lease.
        self.lease = Lease(self.store, self.thread_id) if self.durable and not self.nested else None
        # A subgraph commits each of its steps: its parent's task waits for it anyway.
        self.persist = Persistence(self.store, "sync" if self.nested else check_durability(durability), self.lease)
        self.config = config
        self.configurable = configurable
        self.checkpoint_config = make_config(self.thread_id, self.ns, configurable.get("checkpoint_id")
                                             if not self.nested else None)
        self.interrupt_before = algo.breakpoint_list(interrupt_before) if interrupt_before is not None \
            else graph.interrupt_before
        self.interrupt_after = algo.breakpoint_list(interrupt_after) if interrupt_after is not None else graph.interrupt_after
        self.recursion_limit = int(config.get("recursion_limit", 25))
        self.state: SavedState | None = None
        self.values: dict = {}
        self.versions: dict = {}
        self.emit_events = not self.nested and self.durable
        self.decided_by = configurable.get("decided_by")
        # recorded with this run's claims (never audited): whose request a decision was
        self.claim_token = configurable.get("claim_token")
        self.final_interrupts: list[Interrupt] = []
        self._finish_recorded = False
        # Answers this run was given and no step has consumed yet (interrupt id -> task id),
        # and tasks whose resume values are not saved yet: both go with the consuming step.
        self.answered: dict[str, str] = {}
        self.owner = self.lease.owner if self.lease is not None else (self.parent.owner if self.nested else None)
        self.unsaved_resume: set[str] = set()

    # --- helpers ------------------------------------------------------------------------------
    def now(self) -> str:
        return self.graph.clock().isoformat()

    def _event_base(self) -> dict:
        return {"at": self.now(), "thread_id": self.thread_id, "graph": self.graph.name}

    async def _save_writes(self, task_id: str, writes: list[tuple[str, Any]]) -> None:
        assert self.state is not None
        await self.store.aput_writes(self.state.config, writes, task_id, "")

    async def _events(self, events: list) -> None:
        if self.emit_events and events:
            await self.store.aqueue_events(events)

    async def _load(self) -> SavedState | None:
        saved = await self.store.aget_tuple(self.checkpoint_config)
        if saved is None and self.checkpoint_config["configurable"].get("checkpoint_id"):
            raise InvalidResumeError(
                f"thread '{self.thread_id}' has no checkpoint "
                f"'{self.checkpoint_config['configurable']['checkpoint_id']}'; "
                "list them with graph.get_state_history(config)."
            )
        return SavedState(saved) if saved is not None else None

    async def _applied(self, task_ids: set[str] | None = None, *, save_resume: bool) -> None:
        """Inside the transaction of the step that consumed them: mark the answers of these
        tasks (all, with None) applied, and save their resume values if the tasks will run
        again (they paused or failed)."""
        ids = [i for i, task in self.answered.items() if task_ids is None or task in task_ids]
        for consumed in ids:
            del self.answered[consumed]
        await self.store.amark_applied(ids)
        for task_id in [t for t in self.unsaved_resume if task_ids is None or t in task_ids]:
            self.unsaved_resume.discard(task_id)
            if save_resume:
                await self._save_writes(task_id, [(RESUME, self.state.resume[task_id])])

    async def _put_checkpoint(self, *, tasks_names: list[str], sends: list, waiting: dict, step: int,
                              source: str, changed: set[str], events: list, final: bool = False,
                              input_checkpoint: dict | None = None) -> None:
        """Save the next checkpoint (with the step's answers applied and its events) in one
        transaction. `input_checkpoint` ({"values", "changed", "task"}): LangGraph's input
        checkpoint (source "input", next `__start__`) saved first, in the same transaction, as
        this one's parent."""
        try:
            async with self.persist.step(final=final):
                if input_checkpoint is not None:
                    await self._write_checkpoint(values=input_checkpoint["values"], tasks=[input_checkpoint["task"]],
                                                 sends=[], waiting={}, step=step - 1, source="input",
                                                 changed=input_checkpoint["changed"])
                await self._write_checkpoint(values=self.values, tasks=tasks_names, sends=sends, waiting=waiting,
                                             step=step, source=source, changed=changed)
                await self._applied(save_resume=False)
                await self._events(events)
        except TypeError as exc:  # raised while serializing: nothing was stored
            raise InvalidUpdateError(
                f"the state of thread '{self.thread_id}' holds a value that cannot be stored as JSON ({exc}). "
                "Keep state values to dicts, lists, strings, numbers, booleans, None or pydantic models."
            ) from None

    async def _write_checkpoint(self, *, values: dict, tasks: list, sends: list, waiting: dict, step: int,
                                source: str, changed: set[str]) -> None:
        """One checkpoint, child of the run's current one (inside a transaction of persist)."""
        parent_id = self.state.id if self.state is not None else None
        checkpoint_id = new_checkpoint_id(self.graph.clock(), parent_id, f"{self.thread_id}\x00{self.ns}")
        algo.bump_versions(self.versions, changed)
        new_tasks = algo.new_tasks(checkpoint_id, self.ns, [t for t in tasks if isinstance(t, str)], sends)
        for task in tasks:  # the input checkpoint's `__start__` task carries the input
            if isinstance(task, dict):
                new_tasks.append({**task, "id": algo.task_id_for(checkpoint_id, self.ns, task["name"], 0)})
        checkpoint = {
            "v": 1, "id": checkpoint_id, "ts": self.now(), "step": step,
            "channel_values": values, "channel_versions": dict(self.versions),
            "tasks": new_tasks, "waiting": waiting,
        }
        metadata = {"source": source, "step": step, "parents": {}, "graph": self.graph.name,
                    **(self.config.get("metadata") or {})}
        parent_config = self.state.config if self.state is not None else make_config(self.thread_id, self.ns, None)
        new_config = await self.store.aput(parent_config, checkpoint, metadata,
                                           {k: self.versions[k] for k in changed})
        self.state = SavedState(CheckpointTuple(new_config, checkpoint, metadata, parent_config, []))
        streaming.checkpoint_saved(new_config, parent_config if parent_id is not None else None, checkpoint, metadata)

    # --- routing ----------------------------------------------------------------------------------
    async def _entry_targets(self) -> tuple[list[str], list]:
        names = list(self.graph.static_targets(START))
        sends: list = []
        for target in await self.graph.branch_targets(START, self.values):
            if isinstance(target, Send):
                sends.append((target.node, target.arg))
            else:
                names.append(target)
        return [n for n in dict.fromkeys(names) if n != END], sends

    # --- the entry point --------------------------------------------------------------------------
    async def execute(self, input: Any) -> AsyncIterator[tuple[str, Any]]:
        """The run's stream of (kind, chunk). Its writes are all committed before it yields an
        interrupt and before it ends or raises (see engine.runtime.durability)."""
        try:
            async for part in self._execute(input):
                if part[0] == "interrupt":
                    await self.persist.settle()
                yield part
        except BaseException as exc:
            try:
                await self.persist.settle()
            except Exception as storage_error:
                exc.add_note(f"Saving the run's last writes failed as well: {storage_error}")
            await self._record_unexpected_failure(exc)
            raise
        finally:
            if self.lease is not None:
                await self.lease.finish()
        await self.persist.settle()

    async def _record_unexpected_failure(self, exc: BaseException) -> None:
        """A run that still holds its thread when an error escapes (not one a node raised:
        those are recorded by _fail) marks the thread failed as it lets go, so it is not
        left busy for a worker to continue over and over."""
        if self.lease is None or not self.lease.held or not isinstance(exc, Exception) \
                or isinstance(exc, LeaseLost):
            return
        try:
            async with self.persist.step(final=True):
                await self._events([RunFailed(**self._event_base(), error_type=type(exc).__name__,
                                              error=str(exc))])
            await self.persist.settle()
        except Exception as storage_error:
            exc.add_note(f"Recording the failure failed as well: {storage_error}")

    async def _begin_attempt(self) -> None:
        """(Re)load the thread, forgetting what an earlier attempt to start prepared."""
        self.state = await self._load()
        self.values, self.versions = {}, {}
        if self.state is not None:
            self.values = dict(self.state.checkpoint["channel_values"])
            self.versions = dict(self.state.checkpoint.get("channel_versions", {}))
        self.resume_map, self.answered, self.unsaved_resume = {}, {}, set()
        # The lease checks the run still builds on the thread's latest checkpoint (not when it
        # forks an older one on purpose, nor in a namespace of its own).
        if self.lease is not None and not self.ns and not self.checkpoint_config["configurable"].get("checkpoint_id"):
            self.lease.expect = self.state.id if self.state is not None else None

    async def _execute(self, input: Any) -> AsyncIterator[tuple[str, Any]]:
        if self.nested:
            await self._begin_attempt()
            self.resume_map = self.parent.resume_map
            if self.state is not None:
                async for part in self._continue_nested():
                    yield part
                return
        for attempt in range(_START_ATTEMPTS):
            if not self.nested:
                await self._begin_attempt()
            try:
                parts, skip_before, go_on = await self._start(input)
                break
            except ThreadMovedOn:
                if attempt == _START_ATTEMPTS - 1:
                    raise
        for part in parts:
            yield part
        if go_on:
            async for part in self._loop(skip_before=skip_before):
                yield part

    async def _continue_nested(self) -> AsyncIterator[tuple[str, Any]]:
        """A subgraph started in an earlier run of its parent's task: replay or resume it."""
        if not self.state.tasks and not self.state.errors:
            # It finished in an earlier run of the parent task: replay it.
            yield ("values", dict(self.values))
            return
        await self._apply_resume_map(self.resume_map, save=True)
        yield ("values", dict(self.values))  # as LangGraph: a resumed subgraph streams its state first
        async for part in self._loop(skip_before=False):
            yield part

    async def _start(self, input: Any) -> tuple[list, bool, bool]:
        """Begin the run: its first transaction takes the thread's lease. Returns (the parts
        to stream first, whether the before-breakpoint that stopped the run is passed, whether
        there are supersteps to run)."""
        started = [("values", dict(self.values))]
        if isinstance(input, Command):
            if not input.has_resume and input.update is None and not input.goto_list():
                raise EmptyCommandError(
                    "Command() was given with nothing in it. To answer an interrupt pass "
                    "Command(resume=value); to change state use graph.update_state(config, values)."
                )
            if input.has_resume:
                await self._start_resume(input)
                if input.goto_list():
                    await self._start_goto(input.goto_list(), None)
            elif input.goto_list() and self.state is not None:
                await self._start_goto(input.goto_list(), input.update)
            elif input.goto_list():
                await self._start_input(input.update, goto=input.goto_list())
            else:
                raise InvalidResumeError(
                    "Command(update=...) without resume= does not continue a run. To change state use "
                    "graph.update_state(config, values); to answer an interrupt use Command(resume=...)."
                )
            # As LangGraph: a Command(update=...) given with the resume shows in the first values.
            first = dict(self.values)
            algo.apply_updates(self.graph.schema, first, self.state.updates)
            return [("values", first)], True, True
        if input is None:
            if self.state is not None and await self._replays():
                await self._fork()
                return [("values", dict(self.values))], True, True
            skip_before = await self._start_continue()
            return started, skip_before, bool(self.state.tasks)
        wrote = await self._start_input(input)
        # As LangGraph: the input's values chunk only when the input wrote a channel (`{}` does not).
        return ([("values", dict(self.values))] if wrote else []), False, True

    # --- how a run starts -------------------------------------------------------------------------
    async def _start_input(self, input: Any, goto: list | None = None) -> bool:
        """A run with an input: LangGraph's input checkpoint (source "input", the state before
        the input, next `__start__`), then the input applied (source "loop", next the entry
        nodes), both in the run's first transaction."""
        events: list = []
        if self.state is not None and self.emit_events:
            for pending in self.state.pending_interrupts():
                events.append(InterruptCancelled(**self._event_base(), interrupt_id=pending.id,
                                                 reason="a new run was started on the thread"))
        if self.state is None:
            self.values = self.graph.schema.defaults()
            before_changed = set(self.values)
        else:
            before_changed = set()
        update = self.graph.schema.as_update(input, "the graph input") if input is not None else None
        input_keys = getattr(self.graph.builder, "input_keys", None)
        if update is not None and input_keys is not None:
            update = {k: v for k, v in update.items() if k in input_keys}
        start_task = {"name": START, "arg": update}
        if goto is not None:
            # A Command(goto=..., update=...) starting a thread: as LangGraph, its update is in the
            # input checkpoint already and its goto runs beside the entry nodes.
            if update is not None:
                before_changed |= self.graph.schema.apply(
                    self.values, [("Command(update=...)", k, v) for k, v in update.items()])
            update = None
            start_task = {"name": START, "arg": None,
                          "goto": [[g.node, g.arg] if isinstance(g, Send) else g for g in goto]}
        input_checkpoint = {"values": dict(self.values), "changed": before_changed, "task": start_task}
        if self.emit_events:
            events.insert(0, RunStarted(**self._event_base(), source="input", metadata=self.config.get("metadata")))
        step = (self.state.checkpoint["step"] + 2) if self.state is not None else 0
        await self._apply_start(update, goto, step=step, events=events, input_checkpoint=input_checkpoint)
        return bool(update)

    async def _apply_start(self, update: dict | None, goto: list | None, *, step: int, events: list,
                           input_checkpoint: dict | None = None, source: str = "loop") -> None:
        """Apply a run's input and save the checkpoint naming the entry nodes (or `goto`)."""
        changed: set[str] = set()
        if update is not None:
            changed |= self.graph.schema.apply(
                self.values, [("the graph input", k, v) for k, v in update.items()])
        names, sends = await self._entry_targets()
        if goto is not None:
            order = {name: i for i, name in enumerate(self.graph.builder.nodes)}
            names = sorted(dict.fromkeys(names + [g for g in goto if not isinstance(g, Send) and g != END]),
                           key=lambda n: order[n])
            sends += [(g.node, g.arg) for g in goto if isinstance(g, Send)]
        await self._put_checkpoint(tasks_names=names, sends=sends, waiting={}, step=step,
                                   source=source, changed=changed, events=events, input_checkpoint=input_checkpoint)

    async def _start_goto(self, goto: list, update: Any) -> None:
        """Command(goto=..., update=...) on a thread: as LangGraph, the goto's tasks join the
        head's step (saved as its pending writes, no checkpoint of their own) after the update,
        and the next checkpoint is the step's."""
        state = self.state
        items = [[g.node, g.arg] if isinstance(g, Send) else [g] for g in goto]
        async with self.persist.step():
            if update is not None:
                state.updates.append(self.graph.schema.as_update(update, "Command(update=...)"))
                await self._save_writes(GRAPH_TASK, [(UPDATE, state.updates)])
            await self._save_writes(GRAPH_TASK, [(GOTO, items)])
            if not self.answered:  # a resume already recorded the run's start
                await self._events([RunStarted(**self._event_base(), source="continue",
                                               metadata=self.config.get("metadata"))])
        state.checkpoint = algo.with_goto(state.checkpoint, items, state.config)

    # --- time travel -------------------------------------------------------------------------------
    async def _thread_head(self) -> SavedState | None:
        """The thread's latest checkpoint (in the run's namespace)."""
        latest = await self.store.aget_tuple(make_config(self.thread_id, self.ns, None))
        return SavedState(latest) if latest is not None else None

    async def _replays(self) -> bool:
        """invoke(None, config naming a checkpoint) replays from it on a fork, as LangGraph: unless
        it is a fork or update_state's checkpoint the thread has not moved past."""
        if self.nested or not self.checkpoint_config["configurable"].get("checkpoint_id"):
            return False
        if self.state.metadata.get("source") not in ("update", "fork"):
            return True
        head = await self._thread_head()
        return head is not None and head.id != self.state.id

    async def _fork(self) -> None:
        """Save a `fork` checkpoint: the addressed checkpoint's values and next tasks (new task
        ids, none of its writes), so the nodes after it run again and ask their interrupts
        again. The thread's pending interrupts belong to the future it replaces: cancelled in
        the same transaction (the inbox no longer lists them)."""
        state = self.state
        events: list = []
        if self.emit_events:
            head = await self._thread_head()
            events.append(RunStarted(**self._event_base(), source="continue", metadata=self.config.get("metadata")))
            events += [InterruptCancelled(**self._event_base(), interrupt_id=i.id,
                                          reason="the run was replayed from an earlier checkpoint")
                       for i in (head.pending_interrupts() if head is not None else [])]
        if algo.is_start_task(state.tasks):
            names, sends = [{k: v for k, v in state.tasks[0].items() if k != "id"}], []
        else:
            names = [t["name"] for t in state.tasks if "arg" not in t]
            sends = [(t["name"], t["arg"]) for t in state.tasks if "arg" in t]
        await self._put_checkpoint(tasks_names=names, sends=sends, waiting=dict(state.checkpoint.get("waiting", {})),
                                   step=state.checkpoint["step"] + 1, source="fork", changed=set(), events=events)

    async def _start_continue(self) -> bool:
        """invoke(None): continue after a static breakpoint, an update_state or a failed step.
        Returns whether a before-breakpoint on the first step must not fire (see algo)."""
        if self.state is None:
            raise NothingToResumeError(
                f"invoke(None) continues a paused run, but thread '{self.thread_id}' has no checkpoint yet. "
                "Start it with an input, e.g. graph.invoke({...}, config)."
            )
        pending = self.state.pending_interrupts()
        if pending:
            ids = ", ".join(i.id for i in pending)
            raise InvalidResumeError(
                f"thread '{self.thread_id}' is waiting for an answer to interrupt(s) {ids}; "
                "continue it with Command(resume=value) (or Command(resume={id: value, ...}))."
            )
        if self.state.tasks:
            async with self.persist.step():
                await self._events([RunStarted(**self._event_base(), source="continue",
                                               metadata=self.config.get("metadata"))])
        return algo.RESUMED_RUNS_PASS_BEFORE_BREAKPOINTS

    async def _start_resume(self, command: Command) -> None:
        if self.state is None:
            raise NothingToResumeError(
                f"Command(resume=...) answers a pending interrupt, but thread '{self.thread_id}' has never run. "
                "Start it with an input first, e.g. graph.invoke({...}, config)."
            )
        pending = self.state.pending_interrupts()
        if not pending and self.state.answered and self.state.errors:
            # LangGraph takes the new answer and silently runs the node with the old one again.
            raise InvalidResumeError(
                f"interrupt(s) {', '.join(sorted(self.state.answered))} on thread '{self.thread_id}' were answered "
                "already, and the node failed after its answer. Nothing was run. Continue with invoke(None, config) "
                "to run it again with that answer, or replay an earlier checkpoint to answer differently."
            )
        if not pending:
            status = "finished" if not self.state.tasks else (
                "failed" if self.state.errors else "paused at a breakpoint (continue it with invoke(None))")
            raise NothingToResumeError(
                f"Command(resume=...) was given, but thread '{self.thread_id}' has no pending interrupt "
                f"(it is {status}). Nothing was run. Start a new run with an input instead."
            )
        answers = algo.resolve_resume(command.resume, pending, self.thread_id)
        by_id = {i.id: i for i in pending}
        # A review request (HumanInterrupt, multi-action) only takes answers its config allows,
        # and an interrupt with a response_schema answers that fit it: refuse a bad one now,
        # before anything is stored or run.
        answers = {i: check_answer(by_id[i].value, a, by_id[i].response_schema, any_answer=True)
                   for i, a in answers.items()}
        self.answered.update(algo.answering_tasks(self.state.tasks, self.state.interrupts, answers))
        async with self.persist.step():
            if self.emit_events:  # claims them (or checks they are the decisions claimed for them)
                await self.store.aclaim_answers(self.thread_id, self.graph.name,
                                                {i: to_jsonable(a) for i, a in answers.items()},
                                                by=self.decided_by, at=self.now(), token=self.claim_token)
            self.resume_map = answers
            await self._apply_resume_map(answers, save=False)
            if command.update is not None:
                update = self.graph.schema.as_update(command.update, "Command(update=...)")
                self.state.updates.append(update)
                await self._save_writes(GRAPH_TASK, [(UPDATE, self.state.updates)])
            await self._events([RunStarted(**self._event_base(), source="resume",
                                           metadata=self.config.get("metadata"))])

    async def _apply_resume_map(self, answers: dict[str, Any], *, save: bool) -> None:
        """Append each answer to the resume list of the task whose own interrupt it answers,
        unless that list holds it already (a recovery applying a decision again). Answers to
        interrupts raised in subgraphs reach them through the task's context. Without `save`,
        the resume values are saved by the step that consumes them (see `_applied`)."""
        assert self.state is not None
        state = self.state
        for task_id, values in algo.resume_values(state.tasks, state.interrupts, state.resume, answers,
                                                  self.ns, self.thread_id).items():
            state.resume[task_id] = values
            if save:
                await self._save_writes(task_id, [(RESUME, values)])
            else:
                self.unsaved_resume.add(task_id)

    # --- supersteps -------------------------------------------------------------------------------
    async def _loop(self, skip_before: bool) -> AsyncIterator[tuple[str, Any]]:
        steps = 0
        while True:
            state = self.state
            assert state is not None
            if not state.tasks:
                if not self._finish_recorded:
                    async with self.persist.step(final=True):
                        await self._applied(save_resume=False)
                        await self._events([RunFinished(**self._event_base(), outcome="done")])
                return
            if steps >= self.recursion_limit:
                error = GraphRecursionError(
                    f"the run on thread '{self.thread_id}' took {self.recursion_limit} supersteps without "
                    f"reaching END (next: {', '.join(t['name'] for t in state.tasks)}). If the loop is intended, "
                    f"raise the limit: config={{'recursion_limit': N}}; otherwise check the graph's edges."
                )
                async with self.persist.step(final=True):
                    await self._events([RunFailed(**self._event_base(), error_type="GraphRecursionError",
                                                  error=str(error))])
                raise error
            if algo.is_start_task(state.tasks):  # an input checkpoint, replayed: apply its input
                await self._replay_start(state.tasks[0], state.checkpoint["step"] + 1)
                yield ("values", dict(self.values))
                continue
            steps += 1
            names = [t["name"] for t in state.tasks]
            if algo.breaks_before(self.interrupt_before, names, passed=skip_before):
                async with self.persist.step(final=True):
                    await self._applied(save_resume=True)  # answered, but the node waits at the breakpoint
                    await self._save_writes(GRAPH_TASK, [(BREAKPOINT, {"when": "before", "nodes": names})])
                    await self._events([RunFinished(**self._event_base(), outcome="interrupted")])
                yield ("interrupt", ())
                return
            skip_before = False

            step_values = dict(self.values)
            algo.apply_updates(self.graph.schema, step_values, state.updates)
            outcomes = await run_step(self._scope(), state.tasks, step_values, done=state.results,
                                      resume=state.resume, on_finished=self._task_finished)

            for outcome in outcomes:
                if outcome.result is not None and outcome.task["id"] not in state.results:
                    yield ("updates", {outcome.task["name"]: outcome.result.update})
            errors = [o for o in outcomes if o.error is not None]
            if errors:
                await self._fail(errors[0])
            interrupted = [o for o in outcomes if o.interrupts]
            if interrupted:
                await self._pause(state, outcomes)
                yield ("interrupt", tuple(self.final_interrupts))
                return
            parent_commands = [o.result.parent_command for o in outcomes if o.result.parent_command]
            if parent_commands:
                if not self.nested:
                    raise InvalidUpdateError(
                        "a node returned Command(graph=Command.PARENT, ...) but this graph is not running "
                        "inside a parent graph. Return a plain Command(goto=..., update=...) instead."
                    )
                raise ParentCommand(parent_commands[0])
            await self._advance(state, outcomes, step_values)
            if state.updates or any(o.result.writes for o in outcomes):
                yield ("values", dict(self.values))  # as LangGraph: only after a step that wrote
            if algo.breaks_after(self.interrupt_after, names, self.state.tasks):
                async with self.persist.step(final=True):
                    await self._events([RunFinished(**self._event_base(), outcome="interrupted")])
                yield ("interrupt", ())
                return

    async def _replay_start(self, task: dict, step: int) -> None:
        goto = task.get("goto")
        if goto is not None:
            goto = [Send(g[0], g[1]) if isinstance(g, list) else g for g in goto]
        await self._apply_start(task.get("arg"), goto, step=step, events=[])

    def _scope(self) -> StepScope:
        return StepScope(graph=self.graph, thread_id=self.thread_id, ns=self.ns,
                         checkpointer=self.saver if self.durable else None, config=self.config,
                         resume_map=self.resume_map, owner=self.owner,
                         step=self.state.checkpoint["step"] + 1)

    async def _task_finished(self, task: dict, result: dict) -> None:
        """A task of a step with several finished: its writes and the answers it consumed are
        saved now (see engine/runtime/runner.py)."""
        async with self.persist.step():
            await self._save_writes(task["id"], [(TASK, result)])
            await self._applied({task["id"]}, save_resume=False)

    async def _fail(self, outcome: TaskOutcome) -> None:
        error = outcome.error
        assert error is not None
        async with self.persist.step(final=True):
            await self._applied(save_resume=True)  # the node ran with its answers, then failed
            await self._save_writes(outcome.task["id"], [(ERROR, {"type": type(error).__name__,
                                                                  "message": str(error)})])
            await self._events([RunFailed(**self._event_base(), node=outcome.task["name"],
                                          error_type=type(error).__name__, error=str(error))])
        raise error

    async def _pause(self, state: SavedState, outcomes: list[TaskOutcome]) -> None:
        interrupted = [o for o in outcomes if o.interrupts]
        previously = {i.id for i in state.pending_interrupts()}
        events: list = []
        for outcome in outcomes:
            if outcome.result is not None:
                state.results[outcome.task["id"]] = outcome.result
                state.interrupts.pop(outcome.task["id"], None)
        async with self.persist.step(final=True):
            await self._applied(save_resume=True)
            for outcome in interrupted:
                state.interrupts[outcome.task["id"]] = outcome.interrupts
                await self._save_writes(outcome.task["id"], [(INTERRUPT, outcome.interrupts)])
                for item in outcome.interrupts:
                    if item.id not in previously:
                        events.append(InterruptRaised(**self._event_base(), interrupt_id=item.id, ns=item.ns,
                                                      node=item.node, value=to_jsonable(item.value),
                                                      deadline=item.deadline, on_timeout=item.on_timeout,
                                                      response_schema=item.response_schema,
                                                      checkpoint_id=state.id))
            events.append(RunFinished(**self._event_base(), outcome="interrupted"))
            await self._events(events)
        self.final_interrupts = state.pending_interrupts()
        # What the paused run returns includes the Command(update=...) and the writes of the tasks
        # that finished (saved as pending writes, applied for good when the step completes), as
        # in LangGraph.
        finished = [(o.task, o.result) for o in outcomes if o.result is not None]
        if finished or state.updates:
            self.values = dict(self.values)
            algo.apply_updates(self.graph.schema, self.values, state.updates)
            algo.apply_results(self.graph.schema, self.values, finished)
        if self.nested:
            assert self.parent is not None
            for item in self.final_interrupts:
                if all(item.id != r.id for r in self.parent.raised):
                    self.parent.raised.append(item)
            raise GraphInterrupt(self.final_interrupts)

    async def _advance(self, state: SavedState, outcomes: list[TaskOutcome], step_values: dict) -> None:
        # A Command(update=...) given with the resume came first (the nodes saw it), so it is
        # applied on its own, before the nodes' writes, as if it were its own step.
        schema = self.graph.schema
        changed = algo.apply_updates(schema, self.values, state.updates)
        changed |= algo.apply_task_writes(schema, self.values, outcomes)
        names, sends, waiting = algo.next_tasks(outcomes, self.graph.builder.joins, self.graph.builder.nodes,
                                                state.checkpoint.get("waiting", {}))
        # The last step's checkpoint and "the run finished" commit together (one write fewer).
        done = not names and not sends and self.emit_events
        events = [RunFinished(**self._event_base(), outcome="done")] if done else []
        self._finish_recorded = done
        await self._put_checkpoint(tasks_names=names, sends=sends, waiting=waiting,
                                   step=state.checkpoint["step"] + 1, source="loop", changed=changed, events=events,
                                   final=done)


# SavedState, task_id_for and task_ns lived here before engine/runtime/algo.py: still importable.
__all__ = ["Run", "SavedState", "task_id_for", "task_ns"]
