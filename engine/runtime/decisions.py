"""Deciding interrupts exactly once, applying the decisions, and expiring overdue interrupts.

A decision is first *claimed* in the store (`saver.aresolve`: one conditional UPDATE, so of
two reviewers exactly one wins) and only then applied by resuming the graph. The claim is
durable before the graph runs: if the process dies in between, `apply_pending_decisions`
finds the claimed-but-unapplied decision and finishes the job.

These work with a saver that keeps the pending-interrupt index (SqliteSaver).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from engine.checkpoint.store import InboxStore, RunStore
from engine.review.validate import check_answer
from engine.runtime.ownership import Applied, recover, resume_thread


def check_response(payload: Any, response: Any, response_schema: dict | None = None) -> Any:
    """The normalized answer for an interrupt's payload, or InvalidResponse naming the fix.
    A reviewer's answer to a plain question must be JSON and not null, and fit the
    interrupt's response_schema when it has one."""
    return check_answer(payload, response, response_schema)


async def claim(saver: InboxStore, interrupt_id: str, response: Any, *, by: str):
    """Validate and claim one decision, exactly once; returns the claimed record.

    Raises InvalidResponse for an answer the request does not allow (nothing is stored),
    AlreadyResolved when someone else decided first (nothing is sent), and LookupError for
    an unknown id."""
    record = await saver.aget_interrupt(interrupt_id)
    if record is None:
        raise LookupError(f"no interrupt with id {interrupt_id!r}; list the pending ones to find its id.")
    answer = check_response(record.payload, response, record.response_schema)
    return await saver.aresolve(interrupt_id, answer, by=by)


async def apply_claimed(graphs: Mapping[str, Any], record: Any) -> Applied:
    """Resume the run with a claimed decision (recorded only, when we have no such graph)."""
    return await resume_thread(graphs, record.thread_id, record.graph, {record.id: record.response},
                               record.resolved_by)


async def decide(saver: InboxStore, graphs: Mapping[str, Any], interrupt_id: str, response: Any, *, by: str) -> Applied:
    """Claim one decision (see `claim`) and apply it. With no graph for the interrupt's graph
    name the decision stays recorded for `inbox worker` / `apply_pending_decisions`."""
    return await apply_claimed(graphs, await claim(saver, interrupt_id, response, by=by))


async def apply_pending_decisions(saver: RunStore, graphs: Mapping[str, Any], *, concurrency: int = 1) -> list[Applied]:
    """Take over what nobody runs: claimed-but-unapplied decisions (recorded without a graph,
    or interrupted by a crash) and runs a dead process left busy (see ownership.recover)."""
    return await recover(saver, graphs, concurrency=concurrency)


async def expire_overdue(saver: InboxStore, graphs: Mapping[str, Any], now: datetime | None = None) -> list[Applied]:
    """Apply the deadline policy to every pending interrupt whose deadline has passed: resume
    with its `on_timeout` answer when it has one, else flag it overdue (it stays pending)."""
    now = now or datetime.now(timezone.utc)
    expired = await saver.aexpire_due(now.isoformat())
    results = []
    for record in expired:
        if record.status == "expired":  # claimed with its on_timeout answer: resume the run
            applied = await resume_thread(graphs, record.thread_id, record.graph,
                                          {record.id: record.response}, "deadline")
            if applied.status not in ("busy", "applied"):  # else the thread's runner applies it
                results.append(applied)
    return results


__all__ = ["claim", "apply_claimed", "decide", "apply_pending_decisions", "expire_overdue", "check_response", "Applied"]
