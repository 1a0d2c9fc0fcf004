"""Deciding interrupts exactly once, applying the decisions, and expiring overdue interrupts.

A decision is first *claimed* in the store (`saver.aresolve`: one conditional UPDATE, so of
two reviewers exactly one wins) and only then applied by resuming the graph. The claim is
durable before the graph runs: if the process dies in between, `apply_pending_decisions`
finds the claimed-but-unapplied decision and finishes the job.

These work with a saver that keeps the pending-interrupt index (SqliteSaver).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from engine.prebuilt.review import validate_response
from engine.types import Command, Interrupt


@dataclass
class Applied:
    """What resuming a thread with decisions did."""

    thread_id: str
    graph: str
    interrupt_ids: list[str]
    status: str  # "done" | "interrupted" | "error" | "recorded" (no graph here to resume it)
    interrupts: list[Interrupt] = field(default_factory=list)  # new ones, when interrupted again
    error: str | None = None
    values: dict | None = None


def check_response(payload: Any, response: Any) -> Any:
    """The normalized answer for an interrupt's payload, or InvalidResponse naming the fix.
    A reviewer's answer to a plain question must be JSON and not null."""
    return validate_response(payload, response)


async def _resume(graphs: Mapping[str, Any], thread_id: str, graph_name: str, answers: dict[str, Any],
                  by: str | None) -> Applied:
    graph = graphs.get(graph_name)
    ids = list(answers)
    if graph is None:
        return Applied(thread_id, graph_name, ids, "recorded")
    config = {"configurable": {"thread_id": thread_id, "decided_by": by}}
    try:
        out = await graph.ainvoke(Command(resume=answers), config)
    except Exception as error:  # the agent's failure is the thread's state, not ours
        return Applied(thread_id, graph_name, ids, "error", error=f"{type(error).__name__}: {error}")
    pending = out.pop("__interrupt__", [])
    return Applied(thread_id, graph_name, ids, "interrupted" if pending else "done", list(pending), values=out)


async def claim(saver: Any, interrupt_id: str, response: Any, *, by: str):
    """Validate and claim one decision, exactly once; returns the claimed record.

    Raises InvalidResponse for an answer the request does not allow (nothing is stored),
    AlreadyResolved when someone else decided first (nothing is sent), and LookupError for
    an unknown id."""
    record = await saver.aget_interrupt(interrupt_id)
    if record is None:
        raise LookupError(f"no interrupt with id {interrupt_id!r}; list the pending ones to find its id.")
    answer = check_response(record.payload, response)
    return await saver.aresolve(interrupt_id, answer, by=by)


async def apply_claimed(graphs: Mapping[str, Any], record: Any) -> Applied:
    """Resume the run with a claimed decision (recorded only, when we have no such graph)."""
    return await _resume(graphs, record.thread_id, record.graph, {record.id: record.response}, record.resolved_by)


async def decide(saver: Any, graphs: Mapping[str, Any], interrupt_id: str, response: Any, *, by: str) -> Applied:
    """Claim one decision (see `claim`) and apply it. With no graph for the interrupt's graph
    name the decision stays recorded for `inbox worker` / `apply_pending_decisions`."""
    return await apply_claimed(graphs, await claim(saver, interrupt_id, response, by=by))


async def apply_pending_decisions(saver: Any, graphs: Mapping[str, Any]) -> list[Applied]:
    """Resume every thread that has claimed-but-unapplied decisions for a graph we have
    (decisions recorded without a graph, or interrupted by a crash). One resume per thread,
    answering all its claimed interrupts together."""
    by_thread: dict[tuple[str, str], list] = {}
    for record in await saver.alist_claimed_unapplied():
        by_thread.setdefault((record.thread_id, record.graph), []).append(record)
    results = []
    for (thread_id, graph_name), records in by_thread.items():
        if graph_name not in graphs:
            continue
        answers = {r.id: r.response for r in records}
        results.append(await _resume(graphs, thread_id, graph_name, answers, records[0].resolved_by))
    return results


async def expire_overdue(saver: Any, graphs: Mapping[str, Any], now: datetime | None = None) -> list[Applied]:
    """Apply the deadline policy to every pending interrupt whose deadline has passed: resume
    with its `on_timeout` answer when it has one, else flag it overdue (it stays pending)."""
    now = now or datetime.now(timezone.utc)
    expired = await saver.aexpire_due(now.isoformat())
    results = []
    for record in expired:
        if record.status == "expired":  # claimed with its on_timeout answer: resume the run
            results.append(await _resume(graphs, record.thread_id, record.graph,
                                         {record.id: record.response}, "deadline"))
    return results


__all__ = ["claim", "apply_claimed", "decide", "apply_pending_decisions", "expire_overdue", "check_response", "Applied"]
