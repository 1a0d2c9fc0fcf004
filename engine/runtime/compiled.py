"""`CompiledStateGraph`: what `StateGraph.compile()` returns. Runs the graph (invoke/stream, async
at the core with sync wrappers) and reads and edits a thread's state."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Callable, Iterator

from engine.checkpoint.base import make_config, thread_id_of
from engine.constants import END, START
from engine.errors import GraphBuildError, GraphConfigError, InvalidUpdateError
from engine.events import InterruptCancelled, RunFinished
from engine.runtime.algo import SavedState
from engine.runtime.durability import Durability
from engine.runtime.loop import Run
from engine.runtime.node import call_node
from engine._internal.sync import iterate_sync, run_sync
from engine.types import PregelTask, Send, StateSnapshot

STREAM_MODES = ("values", "updates")


class NodeError(Exception):
    """How a failed task's stored error shows in `StateSnapshot.tasks[i].error`."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class CompiledStateGraph:
    def __init__(self, builder: Any, *, checkpointer: Any, interrupt_before: list[str],
                 interrupt_after: list[str], name: str, interrupt_timeout: timedelta | None,
                 interrupt_on_timeout: Any = None):
        self.builder = builder
        self.schema = builder.schema
        self.checkpointer = checkpointer
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.name = name
        self.interrupt_timeout = interrupt_timeout
        self.interrupt_on_timeout = interrupt_on_timeout
        self.clock: Callable[[], datetime] = _utcnow  # injectable for tests and deadlines
        self._edges_from: dict[str, list[str]] = {}
        for start, end in builder.edges:
            self._edges_from.setdefault(start, []).append(end)

    def __repr__(self) -> str:
        return f"<CompiledStateGraph {self.name!r} nodes={list(self.builder.nodes)}>"

    # --- routing (used by the loop) -------------------------------------------------------------
    def static_targets(self, node: str) -> list[str]:
        return list(self._edges_from.get(node, []))

    async def branch_targets(self, node: str, values: dict) -> list:
        targets: list = []
        for branch in self.builder.branches:
            if branch.source != node:
                continue
            state = self.schema.to_node_input(values)
            chosen = await call_node(branch.path, state, {})
            if inspect.isawaitable(chosen):
                chosen = await chosen
            for item in (chosen if isinstance(chosen, (list, tuple)) else [chosen]):
                if isinstance(item, Send):
                    targets.append(item)
                    continue
                if branch.path_map is not None:
                    if item not in branch.path_map:
                        raise InvalidUpdateError(
                            f"the conditional edge from '{node}' returned {item!r}, which is not in its path_map "
                            f"(allowed: {', '.join(map(repr, branch.path_map))})."
                        )
                    item = branch.path_map[item]
                elif item != END and item not in self.builder.nodes:
                    raise InvalidUpdateError(
                        f"the conditional edge from '{node}' returned {item!r}, which is not a node "
                        f"(nodes: {', '.join(self.builder.nodes)}) nor END."
                    )
                targets.append(item)
        return targets

    # --- running ----------------------------------------------------------------------------------
    def _output(self, values: dict) -> dict:
        if self.builder.output_keys is None:
            return dict(values)
        return {k: v for k, v in values.items() if k in self.builder.output_keys}

    async def astream(self, input: Any, config: dict | None = None, *, stream_mode: str | list[str] = "updates",
                      interrupt_before: list[str] | None = None, interrupt_after: list[str] | None = None,
                      durability: Durability | None = None, **_ignored: Any) -> AsyncIterator[Any]:
        modes = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
        for mode in modes:
            if mode not in STREAM_MODES:
                raise GraphConfigError(
                    f"stream_mode {mode!r} is not supported; use one of {', '.join(STREAM_MODES)} or a list of them."
                )
        single = isinstance(stream_mode, str)
        run = Run(self, config, interrupt_before, interrupt_after, durability)
        async for kind, chunk in run.execute(input):
            if kind == "interrupt":
                # A static breakpoint (no interrupts) shows in "updates" only, as in LangGraph.
                chunks = [(mode, {"__interrupt__": chunk}) for mode in modes if chunk or mode == "updates"]
            elif kind in modes:
                chunks = [(kind, self._output(chunk) if kind == "values" else chunk)]
            else:
                continue
            for mode, item in chunks:
                yield item if single else (mode, item)

    async def ainvoke(self, input: Any, config: dict | None = None, *, interrupt_before: list[str] | None = None,
                      interrupt_after: list[str] | None = None, durability: Durability | None = None,
                      **_ignored: Any) -> dict:
        """Run until the graph finishes or pauses. `durability` ("sync", the default, "async" or
        "exit") says when each step's checkpoint is committed: see engine.runtime.durability."""
        run = Run(self, config, interrupt_before, interrupt_after, durability)
        interrupts: tuple = ()
        async for kind, chunk in run.execute(input):
            if kind == "interrupt":
                interrupts = chunk
        out = self._output(run.values)
        if interrupts:
            out["__interrupt__"] = list(interrupts)
        return out

    def invoke(self, input: Any, config: dict | None = None, **kwargs: Any) -> dict:
        return run_sync(self.ainvoke(input, config, **kwargs), "graph.invoke()")

    def stream(self, input: Any, config: dict | None = None, **kwargs: Any) -> Iterator[Any]:
        return iterate_sync(self.astream(input, config, **kwargs), "graph.stream()")

    # --- reading state ----------------------------------------------------------------------------
    def _saver(self, what: str):
        if not self.checkpointer:
            raise GraphConfigError(
                f"{what} reads saved state, but this graph has no checkpointer. "
                "Compile it with one, e.g. builder.compile(checkpointer=InMemorySaver())."
            )
        return self.checkpointer

    def _snapshot(self, saved: SavedState) -> StateSnapshot:
        tasks = []
        for task in saved.tasks:
            error = saved.errors.get(task["id"])
            result = saved.results.get(task["id"])
            tasks.append(PregelTask(
                id=task["id"], name=task["name"], path=("__pregel_pull", task["name"]),
                error=NodeError(f"{error['type']}: {error['message']}") if error else None,
                interrupts=tuple(saved.interrupts.get(task["id"], ())),
                result=result.update if result is not None else None,
            ))
        return StateSnapshot(
            values=self._output(saved.checkpoint["channel_values"]),
            next=tuple(t.name for t in tasks if t.result is None and t.id not in saved.results),
            config=saved.config,
            metadata=saved.metadata,
            created_at=saved.checkpoint.get("ts"),
            parent_config=saved.parent_config,
            tasks=tuple(tasks),
            interrupts=tuple(saved.pending_interrupts()),
        )

    async def aget_state(self, config: dict, *, subgraphs: bool = False) -> StateSnapshot:
        saver = self._saver("get_state()")
        configurable = (config or {}).get("configurable") or {}
        wanted = make_config(thread_id_of(config), str(configurable.get("checkpoint_ns", "")),
                             configurable.get("checkpoint_id"))
        saved = await saver.aget_tuple(wanted)
        if saved is None:
            return StateSnapshot(values={}, next=(), config=config, metadata=None, created_at=None,
                                 parent_config=None, tasks=(), interrupts=())
        return self._snapshot(SavedState(saved))

    def get_state(self, config: dict, *, subgraphs: bool = False) -> StateSnapshot:
        return run_sync(self.aget_state(config, subgraphs=subgraphs), "graph.get_state()")

    async def aget_state_history(self, config: dict, *, filter: dict | None = None, before: dict | None = None,
                                 limit: int | None = None) -> AsyncIterator[StateSnapshot]:
        saver = self._saver("get_state_history()")
        configurable = (config or {}).get("configurable") or {}
        scope = make_config(thread_id_of(config), str(configurable.get("checkpoint_ns", "")), None)
        async for saved in saver.alist(scope, filter=filter, before=before, limit=limit):
            yield self._snapshot(SavedState(saved))

    def get_state_history(self, config: dict, *, filter: dict | None = None, before: dict | None = None,
                          limit: int | None = None) -> Iterator[StateSnapshot]:
        return iterate_sync(self.aget_state_history(config, filter=filter, before=before, limit=limit),
                            "graph.get_state_history()")

    # --- editing state ----------------------------------------------------------------------------
    async def aupdate_state(self, config: dict, values: Any, as_node: str | None = None) -> dict:
        """Write `values` into the thread's state as a new checkpoint (source "update").

        With `as_node`, the update counts as that node's output: its edges decide what runs next.
        Without it, the next tasks stay what they were (they run again from their start, so a
        pending interrupt is asked again)."""
        self._saver("update_state()")
        # as_node=END (LangGraph's "finish the run here", what Agent Inbox's "mark as resolved"
        # sends): the update leaves nothing to run next, and the pending interrupts are cancelled.
        if as_node is not None and as_node not in self.builder.nodes and as_node not in (START, END):
            raise GraphBuildError(
                f"update_state(as_node={as_node!r}): no such node (nodes: {', '.join(self.builder.nodes)})."
            )
        run = Run(self, config, durability="sync")  # committed before this returns
        run.state = await run._load()
        if run.state is not None:
            run.values = dict(run.state.checkpoint["channel_values"])
            run.versions = dict(run.state.checkpoint.get("channel_versions", {}))
        else:
            run.values = self.schema.defaults()
        update = self.schema.as_update(values, "update_state()") or {}
        source = f"update_state(as_node={as_node!r})" if as_node else "update_state()"
        changed = self.schema.apply(run.values, [(source, k, v) for k, v in update.items()])
        if as_node is not None:
            names = self.static_targets(as_node)
            names += [t for t in await self.branch_targets(as_node, run.values) if not isinstance(t, Send)]
            names = [n for n in dict.fromkeys(names) if n != END]
            waiting = {}
        elif run.state is not None:
            names = [t["name"] for t in run.state.tasks]
            waiting = dict(run.state.checkpoint.get("waiting", {}))
        else:
            names, waiting = [], {}
        events = []
        if run.state is not None and run.emit_events:
            events = [InterruptCancelled(**run._event_base(), interrupt_id=i.id,
                                         reason="the thread's state was updated; the node will ask again")
                      for i in run.state.pending_interrupts()]
        if as_node == END and run.emit_events:  # nothing runs next: the thread's run is over
            events.append(RunFinished(**run._event_base(), outcome="done"))
        step = run.state.checkpoint["step"] + 1 if run.state is not None else -1
        # (takes and releases the thread's lease: refused while another executor runs it)
        await run._put_checkpoint(tasks_names=names, sends=[], waiting=waiting, step=step,
                                  source="update", changed=changed, events=events, final=True)
        return run.state.config

    def update_state(self, config: dict, values: Any, as_node: str | None = None) -> dict:
        return run_sync(self.aupdate_state(config, values, as_node), "graph.update_state()")


__all__ = ["CompiledStateGraph", "NodeError"]
