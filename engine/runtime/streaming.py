"""What `stream()` yields, in LangGraph 1.2's shapes, for every stream mode and for
`subgraphs=True`.

A streamed run has a `StreamSink`: the run's own parts (values, updates, interrupts) and what
is written from inside its nodes while they run (custom chunks, message chunks, task events,
subgraphs' parts) all go into one queue the caller reads from, so chunks arrive in the order
they happen, as LangGraph's do. The sink sits in a context variable: node code (running in the
event loop or in a worker thread) and subgraph runs started inside a node find it there, with
their own namespace.

- `values`: the state after each step that wrote; when the run pauses, one chunk per
  interrupted task, the state plus that task's `__interrupt__`.
- `updates`: `{node: update}` per finished task; when it pauses, `{"__interrupt__": (...)}`
  per interrupted task (a static breakpoint: one `{"__interrupt__": ()}`).
- `custom`: what nodes write with `get_stream_writer()` (engine.config) or a `writer` argument.
- `messages`: `(message_chunk, metadata)` for what a model emits with `get_message_writer()`
  (engine.config): see the README's "Streaming" section for what a pluggable model does.
- `tasks`: a task's start `{id, name, input, triggers}` and result `{id, name, error, result,
  interrupts}`; `checkpoints`: each saved checkpoint as `{config, parent_config, values,
  metadata, next, tasks}`; `debug`: both, wrapped as `{step, timestamp, type, payload}`.

Each item is `chunk` for one mode, `(mode, chunk)` for a list of modes, and with
`subgraphs=True` `(namespace, chunk)` or `(namespace, mode, chunk)`, the namespace a tuple of
"node:task_id" parts (empty for the graph streamed).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable

from engine.errors import GraphConfigError

STREAM_MODES = ("values", "updates", "custom", "messages", "tasks", "checkpoints", "debug")

_DONE = object()


class StreamSink:
    """The queue between a streamed run (and everything running inside it) and its reader."""

    def __init__(self, modes: list[str], subgraphs: bool) -> None:
        self.modes = set(modes)
        if "debug" in self.modes:
            self.wanted = self.modes | {"tasks", "checkpoints"}
        else:
            self.wanted = set(self.modes)
        self.subgraphs = subgraphs
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.streamed_message_ids: set = set()

    def wants(self, mode: str, ns: tuple) -> bool:
        return mode in self.wanted and (self.subgraphs or not ns)

    def put(self, ns: tuple, mode: str, chunk: Any) -> None:
        """Queue one chunk; safe from worker threads (sync nodes run in them)."""
        if mode in ("tasks", "checkpoints") and "debug" in self.modes:
            self._put(ns, "debug", _debug(mode, chunk))
            if mode not in self.modes:
                return
        self._put(ns, mode, chunk[1] if mode in ("tasks", "checkpoints") else chunk)

    def _put(self, ns: tuple, mode: str, chunk: Any) -> None:
        item = (ns, mode, chunk)
        if threading.get_ident() == self.thread:
            self.queue.put_nowait(item)
        else:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def finish(self, error: BaseException | None = None) -> None:
        self._put((), "", error if error is not None else _DONE)


def _debug(mode: str, chunk: tuple) -> dict:
    step, payload, kind = chunk[0], chunk[1], chunk[2]
    return {"step": step, "timestamp": datetime.now(timezone.utc).isoformat(), "type": kind, "payload": payload}


_sink: contextvars.ContextVar[tuple[StreamSink, tuple] | None] = contextvars.ContextVar("engine_stream", default=None)


def current_sink() -> tuple[StreamSink, tuple] | None:
    """(the sink, the namespace of the graph running here) when a run is being streamed."""
    return _sink.get()


def namespace_of(ns: str) -> tuple:
    """A run's namespace string ("a:id|b:id") as LangGraph's tuple."""
    return tuple(part for part in ns.split("|") if part) if ns else ()


def check_modes(stream_mode: Any) -> list[str]:
    modes = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
    for mode in modes:
        if mode not in STREAM_MODES:
            raise GraphConfigError(
                f"stream_mode {mode!r} is not supported; use one of {', '.join(STREAM_MODES)} or a list of them.")
    return modes


# --- the run's own parts ------------------------------------------------------------------------
def run_parts(kind: str, chunk: Any, values: dict, run_ns: str) -> list[tuple[str, Any]]:
    """The (mode, chunk) items one part of Run.execute() stands for (`values`: the run's
    state when it paused, for the interrupt's values chunks)."""
    if kind != "interrupt":
        return [(kind, chunk)]
    if not chunk:  # a static breakpoint: no interrupt values, shown in "updates" only
        return [("updates", {"__interrupt__": ()})]
    parts: list[tuple[str, Any]] = []
    for group in _per_task(chunk, run_ns):
        parts.append(("updates", {"__interrupt__": group}))
        parts.append(("values", {**values, "__interrupt__": group}))
    return parts


def _per_task(interrupts: tuple, run_ns: str) -> list[tuple]:
    """The run's interrupts grouped by the task of this run they were raised in (one raised in
    a subgraph belongs to the task that called the subgraph), in order."""
    depth = len(namespace_of(run_ns))
    groups: dict[str, list] = {}
    for item in interrupts:
        parts = namespace_of(item.ns)
        key = parts[depth] if len(parts) > depth else item.ns
        groups.setdefault(key, []).append(item)
    return [tuple(group) for group in groups.values()]


# --- chunks written from inside a run -----------------------------------------------------------
def _here() -> tuple[StreamSink, tuple, Any] | None:
    """The sink, the stream namespace of the running node's graph, and its task, if streaming."""
    from engine._internal.context import current_task

    found = current_sink()
    task = current_task()
    if found is None or task is None:
        return None
    return found[0], namespace_of(task.ns)[:-1], task


class _NoOpWriter:
    """The writer when nothing is streamed: accepts chunks and drops them. Falsy, so a model can
    skip the work of producing chunks (`if writer: ...`)."""

    def __call__(self, _chunk: Any) -> None:
        return None

    def __bool__(self) -> bool:
        return False


_noop = _NoOpWriter()


def get_stream_writer() -> Callable[[Any], None]:
    """The writer of `custom` chunks for the node running here (a no-op when the run is not
    streamed with stream_mode "custom")."""
    here = _here()
    if here is None or not here[0].wants("custom", here[1]):
        return _noop
    sink, ns, _task = here

    def write(chunk: Any) -> None:
        sink.put(ns, "custom", chunk)

    return write


def get_message_writer() -> Callable[[Any], None]:
    """The writer a model calls with each message chunk it produces (stream_mode "messages"):
    the chunk is streamed as `(chunk, metadata)` with LangGraph's metadata keys."""
    here = _here()
    if here is None or not here[0].wants("messages", here[1]):
        return _noop
    sink, ns, task = here
    metadata = {"ls_integration": "langgraph", "langgraph_step": task.step, "langgraph_node": task.node,
                "langgraph_triggers": (f"branch:to:{task.node}",), "langgraph_path": ("__pregel_pull", task.node),
                "langgraph_checkpoint_ns": task.ns}
    # LangGraph copies the run's configurable keys (thread_id, ...) into the metadata
    metadata.update({k: v for k, v in (task.config.get("configurable") or {}).items()
                     if not k.startswith("__") and k not in ("checkpoint_ns", "checkpoint_id")
                     and isinstance(v, (str, int, float, bool))})

    def write(chunk: Any) -> None:
        key = chunk.get("id") if isinstance(chunk, dict) else getattr(chunk, "id", None)
        if key is not None:
            sink.streamed_message_ids.add(key)
        sink.put(ns, "messages", (chunk, dict(metadata)))

    return write


def task_started(step: int, task: dict, node_input: Any) -> None:
    here = current_sink()
    if here is None:
        return
    sink, ns = here
    if sink.wants("tasks", ns):
        triggers = ("__pregel_push",) if "arg" in task else (f"branch:to:{task['name']}",)
        sink.put(ns, "tasks", (step, {"id": task["id"], "name": task["name"], "input": node_input,
                                      "triggers": triggers}, "task"))


def task_finished(step: int, outcome: Any) -> None:
    here = current_sink()
    if here is None:
        return
    sink, ns = here
    if sink.wants("tasks", ns):
        result = outcome.result
        writes = dict(result.writes) if result is not None else {}
        sink.put(ns, "tasks", (step, {
            "id": outcome.task["id"], "name": outcome.task["name"],
            "error": outcome.error, "result": writes,
            "interrupts": [{"value": i.value, "id": i.id, "response_schema": i.response_schema}
                           for i in outcome.interrupts]}, "task_result"))


def checkpoint_saved(config: dict, parent_config: dict | None, checkpoint: dict, metadata: dict) -> None:
    here = current_sink()
    if here is None:
        return
    sink, ns = here
    if sink.wants("checkpoints", ns):
        tasks = checkpoint.get("tasks") or []
        sink.put(ns, "checkpoints", (checkpoint["step"], {
            "config": config, "parent_config": parent_config, "values": dict(checkpoint["channel_values"]),
            "metadata": metadata, "next": [t["name"] for t in tasks],
            "tasks": [{"id": t["id"], "name": t["name"], "interrupts": (), "state": None} for t in tasks]},
            "checkpoint"))


def node_finished_messages(update: Any) -> None:
    """LangChain messages a node wrote that no model streamed chunk by chunk are streamed whole
    (as LangGraph's messages mode does); dict messages only stream through the writer."""
    here = _here()
    if here is None or not here[0].wants("messages", here[1]) or not isinstance(update, dict):
        return
    sink = here[0]
    for value in update.values():
        for message in value if isinstance(value, list) else [value]:
            if type(message).__module__.startswith("langchain_core.") and getattr(message, "id", None) \
                    not in sink.streamed_message_ids:
                get_message_writer()(message)


# --- driving a streamed run ---------------------------------------------------------------------
async def stream_run(parts: AsyncIterator[tuple[str, Any]], sink: StreamSink, run: Any) -> AsyncIterator[tuple]:
    """Run `parts` (Run.execute()) in a task of its own, with the sink in its context, and yield
    (namespace, mode, chunk) items as they arrive. The run waits for the reader at each of its
    own parts, as a plain generator would; closing this generator stops the run there."""
    taken = asyncio.Event()

    async def produce() -> None:
        _sink.set((sink, namespace_of(run.ns)))
        try:
            try:
                async for kind, chunk in parts:
                    for mode, item in run_parts(kind, chunk, run.values, run.ns):
                        if sink.wants(mode, ()):
                            sink.put((), mode, item)
                    taken.clear()
                    sink.put((), "", taken)  # a marker: wait until the reader got this far
                    await taken.wait()
            finally:
                await parts.aclose()
        except BaseException as exc:  # handed to the reader, who raises it
            sink.finish(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        sink.finish()

    task = asyncio.get_running_loop().create_task(produce(), context=contextvars.copy_context())
    try:
        while True:
            ns, mode, item = await sink.queue.get()
            if mode == "":
                if item is _DONE:
                    return
                if isinstance(item, asyncio.Event):
                    item.set()
                    continue
                raise item
            yield ns, mode, item
    finally:
        if not task.done():
            task.cancel()
            try:
                await task
            except BaseException:  # the run's own error or the cancellation: the reader stopped
                pass


def forward_nested(kind: str, chunk: Any, run: Any) -> None:
    """A subgraph's part, streamed under its namespace when the parent stream asked for
    subgraphs (called from the subgraph's ainvoke inside the parent's node)."""
    found = current_sink()
    if found is None:
        return
    sink = found[0]
    ns = namespace_of(run.ns)
    if not sink.subgraphs:
        return
    for mode, item in run_parts(kind, chunk, run.values, run.ns):
        if sink.wants(mode, ns):
            sink.put(ns, mode, item)


def enter_nested(run: Any) -> contextvars.Token | None:
    """A subgraph run inside a streamed node: what it writes is streamed under its namespace."""
    found = current_sink()
    return _sink.set((found[0], namespace_of(run.ns))) if found is not None else None


def leave_nested(token: contextvars.Token | None) -> None:
    if token is not None:
        _sink.reset(token)


def shape(ns: tuple, mode: str, chunk: Any, *, single: bool, subgraphs: bool) -> Any:
    if subgraphs:
        return (ns, chunk) if single else (ns, mode, chunk)
    return chunk if single else (mode, chunk)


__all__ = ["STREAM_MODES", "StreamSink", "check_modes", "current_sink", "get_stream_writer", "get_message_writer",
           "stream_run", "forward_nested", "shape", "task_started", "task_finished", "checkpoint_saved",
           "run_parts", "namespace_of", "node_finished_messages", "enter_nested", "leave_nested"]
