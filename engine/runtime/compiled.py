"""`CompiledStateGraph`: what `StateGraph.compile()` returns. Runs the graph (invoke/stream, async
at the core with sync wrappers) and reads and edits a thread's state."""

from __future__ import annotations

import contextlib

import inspect
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Callable, Iterator

from engine.checkpoint.base import make_config, thread_id_of
from engine.constants import END, START
from engine.errors import GraphBuildError, GraphConfigError, GraphInterrupt, InvalidUpdateError
from engine.events import InterruptCancelled, RunFinished
from engine.runtime.algo import SavedState
from engine.runtime.durability import Durability
from engine.runtime.loop import Run
from engine.runtime import snapshot
from engine.runtime.node import call_node
from engine.runtime.streaming import STREAM_MODES  # noqa: F401  (importable here, as before)
from engine.runtime.streaming import (StreamSink, check_modes, enter_nested, forward_nested, leave_nested, shape,
                                      stream_run)
from engine._internal.keywords import refuse
from engine._internal.sync import iterate_owned, iterate_sync, run_owned, run_sync
from engine.types import Send, StateSnapshot



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
                      durability: Durability | None = None, subgraphs: bool = False,
                      **_ignored: Any) -> AsyncIterator[Any]:
        """Stream the run in LangGraph's shapes: see engine/runtime/streaming.py. As LangGraph 1.2,
        values chunks are the whole state (the output schema filters only what invoke returns)."""
        refuse("stream()", _ignored)
        modes = check_modes(stream_mode)
        single = isinstance(stream_mode, str)
        run = Run(self, config, interrupt_before, interrupt_after, durability)
        sink = StreamSink(modes, subgraphs)
        # Closed with this generator: a stream its reader abandons stops the run there and lets
        # go of the thread now, not whenever the garbage collector finalizes the inner generator
        # (on a private loop that no longer runs, that was never).
        async with contextlib.aclosing(stream_run(run.execute(input), sink, run)) as parts:
            async for ns, mode, chunk in parts:
                yield shape(ns, mode, chunk, single=single, subgraphs=subgraphs)

    async def ainvoke(self, input: Any, config: dict | None = None, *, interrupt_before: list[str] | None = None,
                      interrupt_after: list[str] | None = None, durability: Durability | None = None,
                      **_ignored: Any) -> dict:
        """Run until the graph finishes or pauses. `durability` ("sync", the default, "async" or
        "exit") says when each step's checkpoint is committed: see engine.runtime.durability."""
        refuse("invoke()", _ignored)
        run = Run(self, config, interrupt_before, interrupt_after, durability)
        interrupts: tuple = ()
        # A subgraph run inside a streamed node streams under its namespace (subgraphs=True).
        token = enter_nested(run) if run.nested else None
        try:
            async for kind, chunk in run.execute(input):
                if kind == "interrupt":
                    interrupts = chunk
                if run.nested:
                    forward_nested(kind, chunk, run)
        except GraphInterrupt:
            if run.nested and run.final_interrupts:  # a subgraph's pause shows in its namespace too
                forward_nested("interrupt", tuple(run.final_interrupts), run)
            raise
        finally:
            leave_nested(token)
        out = self._output(run.values)
        if interrupts:
            out["__interrupt__"] = list(interrupts)
        return out

    def invoke(self, input: Any, config: dict | None = None, **kwargs: Any) -> dict:
        return run_owned(self.ainvoke(input, config, **kwargs), "graph.invoke()")

    def stream(self, input: Any, config: dict | None = None, **kwargs: Any) -> Iterator[Any]:
        return iterate_owned(self.astream(input, config, **kwargs), "graph.stream()")

    # --- reading state ----------------------------------------------------------------------------
    def _saver(self, what: str):
        if not self.checkpointer:
            raise GraphConfigError(
                f"{what} reads saved state, but this graph has no checkpointer. "
                "Compile it with one, e.g. builder.compile(checkpointer=InMemorySaver())."
            )
        return self.checkpointer

    async def aget_state(self, config: dict, *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state (engine/runtime/snapshot.py): live without a checkpoint id, a
        record of that step with one; `subgraphs=True` puts each subgraph task's own snapshot in
        `tasks[i].state`. A config with a subgraph task's `checkpoint_ns` reads that subgraph."""
        saver = self._saver("get_state()")
        live = "checkpoint_id" not in ((config or {}).get("configurable") or {})
        return await snapshot.state_of(self, saver, config, live=live, recurse=subgraphs)

    def get_state(self, config: dict, *, subgraphs: bool = False) -> StateSnapshot:
        return run_sync(self.aget_state(config, subgraphs=subgraphs), "graph.get_state()")

    async def aget_state_history(self, config: dict, *, filter: dict | None = None, before: dict | None = None,
                                 limit: int | None = None) -> AsyncIterator[StateSnapshot]:
        saver = self._saver("get_state_history()")
        configurable = (config or {}).get("configurable") or {}
        scope = make_config(thread_id_of(config), str(configurable.get("checkpoint_ns", "")), None)
        graph = snapshot.graph_for_ns(self, scope["configurable"]["checkpoint_ns"])
        async for saved in saver.alist(scope, filter=filter, before=before, limit=limit):
            yield await snapshot.snapshot(graph, SavedState(saved), saver, live=False, recurse=False)

    def get_state_history(self, config: dict, *, filter: dict | None = None, before: dict | None = None,
                          limit: int | None = None) -> Iterator[StateSnapshot]:
        return iterate_sync(self.aget_state_history(config, filter=filter, before=before, limit=limit),
                            "graph.get_state_history()")

    # --- editing state ----------------------------------------------------------------------------
    async def aupdate_state(self, config: dict, values: Any, as_node: str | None = None, **_ignored: Any) -> dict:
        """Write `values` into the thread's state as a new checkpoint (source "update").

        With `as_node`, the update counts as that node's output: its edges decide what runs next.
        Without it, the next tasks stay what they were (they run again from their start, so a
        pending interrupt is asked again)."""
        refuse("update_state()", _ignored)
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
            # The thread's pending interrupts (its head's: an update of an older checkpoint forks
            # away from them too) are asked again, with new ids, when the run goes on.
            head = await run._thread_head()
            events = [InterruptCancelled(**run._event_base(), interrupt_id=i.id,
                                         reason="the thread's state was updated; the node will ask again")
                      for i in (head.pending_interrupts() if head is not None else [])]
        if as_node == END and run.emit_events:  # nothing runs next: the thread's run is over
            events.append(RunFinished(**run._event_base(), outcome="done"))
        step = run.state.checkpoint["step"] + 1 if run.state is not None else -1
        # (takes and releases the thread's lease: refused while another executor runs it)
        await run._put_checkpoint(tasks_names=names, sends=[], waiting=waiting, step=step,
                                  source="update", changed=changed, events=events, final=True)
        return run.state.config

    def update_state(self, config: dict, values: Any, as_node: str | None = None, **kwargs: Any) -> dict:
        return run_sync(self.aupdate_state(config, values, as_node, **kwargs), "graph.update_state()")


__all__ = ["CompiledStateGraph"]
