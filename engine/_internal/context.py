"""What a running task knows about itself, reachable from `interrupt()` and from a subgraph
called inside the node, through a context variable (copied into worker threads)."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # an annotation only: engine.types sits above this module and imports it
    from engine.types import Interrupt


@dataclass
class TaskContext:
    thread_id: str
    ns: str  # this task's namespace: "<parent ns>|" + "node:task_id"
    node: str
    task_id: str
    checkpointer: Any
    config: dict
    resume_values: list = field(default_factory=list)  # answers to this task's own interrupts, in order
    resume_map: dict = field(default_factory=dict)  # id -> answer, for interrupts raised in subgraphs
    now: Callable[[], datetime] = datetime.now
    default_interrupt_timeout: timedelta | None = None
    default_on_timeout: Any = None
    graph: str = ""  # the graph's name (reviewed tools record it with their calls)
    owner: str | None = None  # the lease owner of the run (engine/runtime/ownership.py)
    interrupt_count: int = 0
    raised: list[Interrupt] = field(default_factory=list)  # own and subgraph interrupts raised so far
    subgraph_calls: int = 0
    step: int = 0  # the superstep the task runs in (streamed message metadata: langgraph_step)

    def next_subgraph_ns(self) -> str:
        """Namespace of the next subgraph run started inside this task (stable across re-runs)."""
        self.subgraph_calls += 1
        return self.ns if self.subgraph_calls == 1 else f"{self.ns}#{self.subgraph_calls}"


_current: contextvars.ContextVar[TaskContext | None] = contextvars.ContextVar("engine_task", default=None)


def current_task() -> TaskContext | None:
    return _current.get()


def set_current_task(task: TaskContext | None) -> contextvars.Token:
    return _current.set(task)


def reset_current_task(token: contextvars.Token) -> None:
    _current.reset(token)
