"""Running one task: call the node (sync, async, or a compiled subgraph), turn what it returns
into state writes, and decide where the run goes next from that node."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import contextvars
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from engine._internal.sync import call_inline, loop_is_owned
from engine.constants import END
from engine.errors import GraphInterrupt, InvalidUpdateError, ParentCommand
from engine.runtime.retry import call_with_retry
from engine.runtime.streaming import get_stream_writer, node_finished_messages
from engine.types import Command, Interrupt, Send

# Sync node functions run here so the event loop stays free (a sync node may itself block on
# a subgraph's invoke(), which needs the loop). Generous, since such calls nest.
NODE_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="engine-node")


@dataclass
class TaskResult:
    """What a finished task leaves behind; stored as the task's "__task__" write."""

    writes: list[tuple[str, Any]] = field(default_factory=list)
    update: Any = None  # what "updates" streaming shows for this task
    goto: list[str] = field(default_factory=list)
    sends: list[tuple[str, Any]] = field(default_factory=list)
    parent_command: Command | None = None  # a Command(graph=PARENT) for the graph above

    def to_json(self) -> dict:
        return {"writes": [list(w) for w in self.writes], "update": self.update, "goto": self.goto,
                "sends": [list(s) for s in self.sends],
                "parent_command": self.parent_command}

    @classmethod
    def from_json(cls, data: dict) -> "TaskResult":
        return cls(writes=[tuple(w) for w in data["writes"]], update=data.get("update"),
                   goto=list(data.get("goto", [])), sends=[tuple(s) for s in data.get("sends", [])],
                   parent_command=data.get("parent_command"))


@dataclass
class TaskOutcome:
    task: dict
    result: TaskResult | None = None
    interrupts: list[Interrupt] = field(default_factory=list)
    error: BaseException | None = None


def _wants_config(fn: Any) -> bool:
    try:
        return _wants_config_cached(fn)
    except TypeError:  # an unhashable callable object
        return _inspect_wants_config(fn)


@functools.lru_cache(maxsize=4096)
def _wants_config_cached(fn: Any) -> bool:
    return _inspect_wants_config(fn)


def _inspect_wants_config(fn: Any) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    if "config" in params:
        return True
    positional = [p for p in params.values()  # (a `writer` parameter gets the stream writer instead)
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
                  and p.name != "writer"]
    return len(positional) >= 2


async def call_sync(fn: Callable, *args: Any, inline: bool, **kwargs: Any) -> Any:
    """Call the sync `fn` in the caller's context: right here when `inline` (on a loop the
    engine owns, where nothing else waits), otherwise on an executor thread so that a loop
    shared with a UI, a server or other runs is never blocked by it."""
    context = contextvars.copy_context()
    if inline:
        return context.run(call_inline, functools.partial(fn, **kwargs), *args)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(NODE_EXECUTOR, lambda: context.run(fn, *args, **kwargs))


async def call_node(runnable: Any, state: Any, config: dict, *, alone: bool = False) -> Any:
    """Call a node with its state (and config, if it takes one; and the stream writer, if it
    has a `writer` parameter, as LangGraph injects it). A sync node runs in an executor
    thread, so it never blocks a loop shared with a UI or a server; when it is the step's only
    task (`alone`) on a loop the engine owns (`invoke()`/`stream()`), right here: the hop to a
    thread would cost more than most nodes."""
    if hasattr(runnable, "ainvoke"):
        return await runnable.ainvoke(state, config)
    args = (state, config) if _wants_config(runnable) else (state,)
    kwargs = {"writer": get_stream_writer()} if _wants_writer(runnable) else {}
    if is_async_callable(runnable):
        return await runnable(*args, **kwargs)
    result = await call_sync(runnable, *args, inline=alone and loop_is_owned(), **kwargs)
    if inspect.isawaitable(result):
        # In a task of its own (a copy of the context), as an async node's step runs: what it
        # sets in context variables stays out of the run (see runner.runs_in_own_context).
        result = await asyncio.ensure_future(result)
    return result


def is_async_callable(runnable: Any) -> bool:
    """Whether calling `runnable` returns a coroutine (an async function or an object whose
    __call__ is one)."""
    target = runnable if inspect.isroutine(runnable) else getattr(runnable, "__call__", runnable)
    return inspect.iscoroutinefunction(target)


def _wants_writer(fn: Any) -> bool:
    try:
        return _wants_writer_cached(fn)
    except TypeError:  # an unhashable callable object
        return _inspect_wants_writer(fn)


@functools.lru_cache(maxsize=4096)
def _wants_writer_cached(fn: Any) -> bool:
    return _inspect_wants_writer(fn)


def _inspect_wants_writer(fn: Any) -> bool:
    try:
        param = inspect.signature(fn).parameters.get("writer")
    except (TypeError, ValueError):
        return False
    return param is not None and param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD)


def _merge_interrupts(*groups: list[Interrupt]) -> list[Interrupt]:
    seen: dict[str, Interrupt] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item.id, item)
    return list(seen.values())


async def run_task(graph: Any, task: dict, state_values: dict, ctx: Any, config: dict, *,
                   alone: bool = False) -> TaskOutcome:
    """Run one task in its own context and classify how it ended (`alone`: see call_node)."""
    from engine._internal.context import reset_current_task, set_current_task

    spec = graph.builder.nodes[task["name"]]
    token = set_current_task(ctx)
    try:
        if "arg" in task:
            node_input = task["arg"]
        elif hasattr(spec.runnable, "ainvoke"):
            node_input = dict(state_values)
        else:
            node_input = graph.schema.to_node_input(state_values)
        try:
            returned = await call_with_retry(
                spec.retry_policy or graph.builder.default_retry_policy,
                lambda: call_node(spec.runnable, node_input, config, alone=alone), lambda: _fresh_attempt(ctx))
        except GraphInterrupt as raised:
            return TaskOutcome(task, interrupts=_merge_interrupts(ctx.raised, raised.interrupts))
        except ParentCommand as from_child:
            # A node inside a subgraph called here asked this graph to route: it is our result.
            returned = Command(update=from_child.command.update, goto=from_child.command.goto)
        if ctx.raised:
            # The node caught the interrupt (e.g. `except BaseException`) and went on; the run
            # still has to pause, or the human's question would be lost.
            return TaskOutcome(task, interrupts=list(ctx.raised))
        result = await resolve_result(graph, task["name"], returned, state_values)
        node_finished_messages(result.update)  # stream_mode "messages": LangChain messages not streamed yet
        return TaskOutcome(task, result=result)
    except (GraphInterrupt, asyncio.CancelledError):
        raise
    except Exception as exc:  # the node failed: the run stops, the last checkpoint stays resumable
        return TaskOutcome(task, error=exc)
    finally:
        reset_current_task(token)


def _fresh_attempt(ctx: Any) -> None:
    # A retry runs the node from its start: its interrupt() calls and subgraphs count from
    # the first again, so the answers it already has are reused (engine/runtime/retry.py).
    ctx.interrupt_count = 0
    ctx.subgraph_calls = 0


async def resolve_result(graph: Any, node: str, returned: Any, state_values: dict) -> TaskResult:
    """Turn a node's return value into writes and routing."""
    schema = graph.schema
    result = TaskResult()
    command = returned if isinstance(returned, Command) else None
    update_value = command.update if command is not None else returned
    if command is not None and command.graph == Command.PARENT:
        result.parent_command = Command(update=command.update, goto=command.goto)
        return result
    if isinstance(update_value, (list, tuple)) and all(isinstance(x, (list, tuple)) and len(x) == 2
                                                       for x in update_value) and update_value:
        update = dict(update_value)
    else:
        update = schema.as_update(update_value, f"node '{node}'")
    if update is not None and hasattr(graph.builder.nodes[node].runnable, "ainvoke"):
        # A subgraph node returns its whole state: keep the keys the parent shares.
        update = {k: v for k, v in update.items() if k in schema.channels}
    result.update = update
    result.writes = [(k, v) for k, v in (update or {}).items()]
    for key, _ in result.writes:
        if key not in schema.channels:
            raise InvalidUpdateError(
                f"node '{node}' returned key '{key}', which is not in the state schema "
                f"(keys: {', '.join(schema.channels)}). Add it to the schema or stop returning it."
            )
    if command is not None:
        for target in command.goto_list():
            if isinstance(target, Send):
                result.sends.append((target.node, target.arg))
            else:
                result.goto.append(target)
    # Static and conditional edges see this node's own writes on top of the step's input.
    after = dict(state_values)
    schema.apply(after, [(f"node '{node}'", k, v) for k, v in result.writes])
    result.goto.extend(graph.static_targets(node))
    for target in await graph.branch_targets(node, after):
        if isinstance(target, Send):
            result.sends.append((target.node, target.arg))
        else:
            result.goto.append(target)
    for target in result.goto + [s[0] for s in result.sends]:
        if target != END and target not in graph.builder.nodes:
            raise InvalidUpdateError(
                f"node '{node}' routed to '{target}', which is not a node of this graph "
                f"(nodes: {', '.join(graph.builder.nodes)}). Use one of them or END."
            )
    result.goto = [t for t in dict.fromkeys(result.goto) if t != END]
    return result
