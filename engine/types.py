"""The public vocabulary of human-in-the-loop runs: `interrupt()`, `Command`, `Interrupt`,
`StateSnapshot` and task views. Names and shapes follow LangGraph's `langgraph.types`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, NamedTuple, TypeVar

from engine._internal.context import current_task
from engine.checkpoint.serde import dumps, require_plain_json, to_jsonable
from engine.errors import GraphConfigError, GraphInterrupt, InterruptPayloadError, InvalidResumeError

N = TypeVar("N")


@dataclass(frozen=True)
class Interrupt:
    """A pause raised by `interrupt(value)`, waiting for a human's answer.

    `value` is the JSON payload shown to the human and `id` answers it in a resume map.
    `response_schema` is the JSON Schema the answer must match (None: any answer), as in
    LangGraph 1.2. The other fields say where it was raised; they are left out of the repr so
    output matches LangGraph's `Interrupt(value=..., id=...)` (the seeds' form: a
    `response_schema` shows only when there is one).
    """

    value: Any
    id: str
    ns: str = field(default="", repr=False, compare=False)
    node: str = field(default="", repr=False, compare=False)
    when: str = field(default="during", repr=False, compare=False)
    deadline: str | None = field(default=None, repr=False, compare=False)
    # The answer given automatically when the deadline passes; None: flag it overdue instead.
    on_timeout: Any = field(default=None, repr=False, compare=False)
    response_schema: dict | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        schema = f", response_schema={self.response_schema!r}" if self.response_schema is not None else ""
        return f"Interrupt(value={self.value!r}, id={self.id!r}{schema})"

    def to_json(self) -> dict:
        data = {"value": self.value, "id": self.id, "ns": self.ns, "node": self.node,
                "when": self.when, "deadline": self.deadline, "on_timeout": self.on_timeout}
        if self.response_schema is not None:  # absent when unset: the stored form stays as it was
            data["response_schema"] = self.response_schema
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Interrupt":
        return cls(value=data["value"], id=data["id"], ns=data.get("ns", ""), node=data.get("node", ""),
                   when=data.get("when", "during"), deadline=data.get("deadline"),
                   on_timeout=data.get("on_timeout"), response_schema=data.get("response_schema"))


@dataclass(repr=False)
class Command(Generic[N]):
    """Input to resume a paused run (`resume=`), or a node's return value that updates
    state and routes (`update=`, `goto=`, optionally in the `graph=Command.PARENT`)."""

    graph: str | None = None
    update: Any = None
    resume: Any = None
    goto: Any = ()

    PARENT = "__parent__"

    def __post_init__(self) -> None:
        # A resume value is stored (the audit log, the resumed task's writes): refuse one that
        # cannot be here, where it is given, not from deep inside the run.
        if self.resume is not None:
            try:
                to_jsonable(self.resume)
            except TypeError as exc:
                raise InvalidResumeError(
                    f"Command(resume=...) got a value that cannot be stored as JSON ({exc}). Resume with "
                    "dicts, lists, strings, numbers, booleans or None.") from None

    def __repr__(self) -> str:
        parts = [f"{name}={value!r}" for name, value in
                 (("graph", self.graph), ("update", self.update), ("resume", self.resume), ("goto", self.goto))
                 if value not in (None, ())]
        return f"Command({', '.join(parts)})"

    @property
    def has_resume(self) -> bool:
        return self.resume is not None

    def goto_list(self) -> list:
        if self.goto is None or self.goto == ():
            return []
        if isinstance(self.goto, (str, Send)):
            return [self.goto]
        return list(self.goto)


@dataclass(frozen=True)
class Send:
    """Route to `node` with `arg` as its input state (map-reduce fan-out)."""

    node: str
    arg: Any


def default_retry_on(exc: Exception) -> bool:
    """LangGraph's default `retry_on`: retry what may be transient (a dropped connection, an HTTP
    5xx from httpx or requests, an unknown error), not what is a bug in the node (ValueError,
    TypeError, LookupError, OSError other than a connection error, ...)."""
    import sys

    if isinstance(exc, ConnectionError):
        return True
    httpx, requests = sys.modules.get("httpx"), sys.modules.get("requests")  # only if the node uses them
    if httpx is not None and isinstance(exc, httpx.HTTPStatusError):
        return 500 <= exc.response.status_code < 600
    if requests is not None and isinstance(exc, requests.HTTPError):
        return 500 <= exc.response.status_code < 600 if exc.response else True
    if isinstance(exc, (ValueError, TypeError, ArithmeticError, ImportError, LookupError, NameError,
                        SyntaxError, RuntimeError, ReferenceError, StopIteration, StopAsyncIteration,
                        OSError)):
        return False
    return True


class RetryPolicy(NamedTuple):
    """How a node is retried when it raises (`add_node(..., retry_policy=...)`), as LangGraph's.

    Attempt n+1 waits min(max_interval, initial_interval * backoff_factor ** (n - 1)) seconds,
    plus up to a second at random with `jitter`. `retry_on`: an exception class, a sequence of
    them, or a callable `exc -> bool`. After `max_attempts` (the first included) the last error
    is raised. See engine/runtime/retry.py."""

    initial_interval: float = 0.5
    backoff_factor: float = 2.0
    max_interval: float = 128.0
    max_attempts: int = 3
    jitter: bool = True
    retry_on: Any = default_retry_on


class PregelTask(NamedTuple):
    """A task of the next superstep, as `StateSnapshot.tasks` shows it."""

    id: str
    name: str
    path: tuple = ()
    error: Any = None
    interrupts: tuple = ()
    state: Any = None
    result: Any = None


class StateSnapshot(NamedTuple):
    """A thread's state at one checkpoint, as `get_state()` returns it."""

    values: dict
    next: tuple
    config: dict
    metadata: dict | None
    created_at: str | None
    parent_config: dict | None
    tasks: tuple
    interrupts: tuple = ()


def interrupt(value: Any, *, response_schema: dict | type | None = None, timeout: timedelta | None = None,
              on_timeout: Any = None) -> Any:
    """Pause the running node and surface `value` to a human.

    The first time it is reached it raises, the run stops and the value shows up under
    `__interrupt__`. When the run is resumed with `Command(resume=answer)` the node runs again
    from its start and this call returns `answer`. Several calls in one node are matched to
    answers by their order.

    Don't wait forever: `timeout` sets a deadline. When it passes, `engine.runtime.decisions.
    expire_overdue()` (run by the inbox and `inbox worker`) resumes the node with `on_timeout`
    as the answer when one is given (e.g. `{"type": "ignore"}`), or else leaves the interrupt
    pending and flags it overdue. `compile(interrupt_timeout=..., interrupt_on_timeout=...)`
    sets defaults for the whole graph.

    `response_schema` (as in LangGraph 1.2) says what the answer must look like: a JSON Schema
    dict, or a pydantic model, TypedDict or dataclass (turned into JSON Schema). It is stored
    with the interrupt (`Interrupt.response_schema`); the engine and the inbox refuse an answer
    that breaks it before anything runs, and with a type this call returns the answer
    validated into that type (a pydantic ValidationError if it does not fit).
    """
    task = current_task()
    if task is None:
        raise GraphConfigError(
            "interrupt() was called outside a running graph node. Call it from inside a node "
            "function of a compiled graph that is being invoked or streamed."
        )
    if task.checkpointer is None:
        raise GraphConfigError(
            f"interrupt() in node '{task.node}' needs a checkpointer to save the paused run. "
            "Compile the graph with one, e.g. builder.compile(checkpointer=InMemorySaver())."
        )
    adapter, schema = _response_schema(response_schema, task.node)
    index = task.interrupt_count
    task.interrupt_count += 1
    if index < len(task.resume_values):
        answer = task.resume_values[index]
        return adapter.validate_python(answer) if adapter is not None else answer
    _require_json(value, task.node, "the payload")
    timeout = timeout if timeout is not None else task.default_interrupt_timeout
    on_timeout = on_timeout if on_timeout is not None else task.default_on_timeout
    if on_timeout is not None:
        _require_json(on_timeout, task.node, "on_timeout")
    deadline = None
    if timeout is not None:
        deadline = (task.now() + timeout).astimezone(timezone.utc).isoformat()
    raised = Interrupt(
        value=value,
        id=interrupt_id(task.thread_id, task.ns, index),
        ns=task.ns,
        node=task.node,
        deadline=deadline,
        on_timeout=on_timeout if deadline is not None else None,
        response_schema=schema,
    )
    task.raised.append(raised)
    raise GraphInterrupt([raised])


def _response_schema(response_schema: Any, node: str) -> tuple[Any, dict | None]:
    """(a pydantic TypeAdapter to validate answers with, or None; the JSON Schema to store)."""
    if response_schema is None:
        return None, None
    if isinstance(response_schema, dict):
        _require_json(response_schema, node, "response_schema")
        return None, response_schema
    from pydantic import TypeAdapter

    try:
        adapter = TypeAdapter(response_schema)
        return adapter, adapter.json_schema()
    except Exception as exc:  # pydantic's errors for a type it cannot describe
        raise GraphConfigError(
            f"interrupt(response_schema=...) in node '{node}' got {response_schema!r}, which is not a JSON "
            f"Schema dict nor a pydantic model, TypedDict or dataclass ({exc}).") from None


def interrupt_id(thread_id: str, task_ns: str, index: int) -> str:
    """Deterministic and unique: the task namespace already names the checkpoint and task."""
    return hashlib.sha256(f"{thread_id}\x00{task_ns}\x00{index}".encode()).hexdigest()[:32]


def _require_json(value: Any, node: str, name: str) -> None:
    """A payload is read by people and by other programs as JSON: it must be plain JSON (no
    set, bytes or datetime, which only the engine's own tags bring back) and storable."""
    try:
        require_plain_json(value, name)
        dumps(value)  # what storing it checks besides (NaN, lone surrogates)
    except (TypeError, ValueError) as exc:
        detail = str(exc) if str(exc).startswith(name) else f"{name}: {exc}"
        raise InterruptPayloadError(
            f"interrupt() in node '{node}' got a value that is not JSON-serializable ({detail}). "
            "Pass plain dicts, lists, strings, numbers, booleans or None (or a pydantic model)."
        ) from None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


__all__ = ["Interrupt", "Command", "Send", "RetryPolicy", "default_retry_on", "PregelTask", "StateSnapshot", "interrupt", "interrupt_id"]
