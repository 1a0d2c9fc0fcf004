"""Runs one superstep's tasks: each in its own TaskContext, all concurrently, each ending as a
TaskOutcome (a result, interrupts or an error).

A task that finished in an earlier attempt of the step is not run again: its saved result is
its outcome. A result that cannot be stored as JSON becomes the task's error here, naming the
node, instead of failing later inside the saver. Saving a finished task's writes is the
loop's job: the runner hands each storable result of a step with several tasks to the loop's
`on_finished` as it finishes (engine/runtime/loop.py), so a sibling's pause or a crash does not
run it again. How one task runs (calling the node, its routing) is engine/runtime/node.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping, Sequence

from engine._internal.context import TaskContext
from engine.checkpoint.serde import check_storable
from engine.errors import InvalidUpdateError
from engine.runtime.algo import task_ns
from engine.runtime import streaming
from engine.runtime.node import TaskOutcome, TaskResult, is_async_callable, run_task

#: called with (task, its result as JSON) when a task of a step with several tasks finishes
OnFinished = Callable[[dict, dict], Awaitable[None]]


@dataclass
class StepScope:
    """What every task of a run's step shares: where it runs and what it may use."""

    graph: Any
    thread_id: str
    ns: str  # the run's namespace; each task's own is task_ns(ns, name, id)
    checkpointer: Any  # None when the run has no checkpointer (interrupt() is then refused)
    config: dict
    resume_map: dict = field(default_factory=dict)  # id -> answer, for interrupts raised in subgraphs
    owner: str | None = None  # the lease owner of the run
    step: int = 0  # the superstep these tasks run in (streamed task events)


def task_context(scope: StepScope, task: dict, resume_values: Sequence) -> TaskContext:
    """The context a task runs in (what `interrupt()` and a subgraph called in it see)."""
    graph = scope.graph
    return TaskContext(
        thread_id=scope.thread_id, ns=task_ns(scope.ns, task["name"], task["id"]), node=task["name"],
        task_id=task["id"], checkpointer=scope.checkpointer, config=scope.config,
        resume_values=list(resume_values), resume_map=scope.resume_map,
        now=graph.clock, default_interrupt_timeout=graph.interrupt_timeout,
        default_on_timeout=graph.interrupt_on_timeout, graph=graph.name,
        owner=scope.owner, step=scope.step,
    )


async def run_step(scope: StepScope, tasks: Sequence[dict], step_values: dict, *,
                   done: Mapping[str, TaskResult], resume: Mapping[str, list],
                   on_finished: OnFinished) -> list[TaskOutcome]:
    """Run `tasks` concurrently on `step_values`; the outcomes in the tasks' order.

    `done`: results of tasks that finished in an earlier attempt of this step (not re-run);
    `resume`: each task's answers to its own interrupts, in order."""
    parallel = len(tasks) > 1

    async def one(task: dict) -> TaskOutcome:
        finished = done.get(task["id"])
        if finished is not None:  # finished in an earlier attempt of this step: not re-run
            return TaskOutcome(task, result=finished)
        ctx = task_context(scope, task, resume.get(task["id"], []))
        streaming.task_started(scope.step, task, task["arg"] if "arg" in task else dict(step_values))
        outcome = await run_task(scope.graph, task, step_values, ctx, scope.config, alone=not parallel)
        if outcome.result is not None:
            try:
                result = outcome.result.to_json()
                check_storable(result)  # a value that cannot be stored fails here, naming the node
                if parallel:
                    # Saved as soon as it finishes (with the answers it consumed), so a sibling's
                    # pause or a crash does not run it again. A lone task's writes go straight
                    # into the next checkpoint.
                    await on_finished(task, result)
            except TypeError as exc:
                outcome = TaskOutcome(task, error=InvalidUpdateError(
                    f"node '{task['name']}' wrote a value that cannot be stored as JSON ({exc}). "
                    "Return dicts, lists, strings, numbers, booleans, None or pydantic models."))
        streaming.task_finished(scope.step, outcome)
        return outcome

    if not parallel and runs_in_own_context(scope.graph, tasks[0]):
        # A lone sync node runs in a copy of the context already (engine/runtime/node.py), so
        # it needs no task of its own to keep what it sets from the run: one task and two
        # trips around the event loop fewer per step.
        return [await one(tasks[0])]
    return list(await asyncio.gather(*(one(t) for t in tasks)))


def runs_in_own_context(graph: Any, task: dict) -> bool:
    """Whether the task's node is a plain sync callable: `call_node` runs it in a copied
    context (and an awaitable it returns in a task of its own)."""
    runnable = graph.builder.nodes[task["name"]].runnable
    return not hasattr(runnable, "ainvoke") and not is_async_callable(runnable)


__all__ = ["StepScope", "task_context", "run_step", "OnFinished"]
