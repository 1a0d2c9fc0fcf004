"""Typed events about runs and interrupts.

The runtime produces them for every superstep and hands them to the checkpointer together
with the checkpoint, so a durable saver writes them in the same transaction. Savers number
them with a monotonic `seq`; `saver.subscribe(since=seq)` yields them back.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict


class _Event(BaseModel):
    # defer_build: each class's validator is built when it is first used, not at import. A
    # process that only reads (the inbox's first screen) never pays for the seven of them
    # (~100 ms); one that runs graphs pays once per class it uses.
    model_config = ConfigDict(frozen=True, defer_build=True)

    seq: int | None = None  # assigned by the saver when stored
    at: str  # ISO-8601 UTC time the event happened
    thread_id: str
    graph: str = ""


class RunStarted(_Event):
    kind: Literal["run_started"] = "run_started"
    source: Literal["input", "resume", "continue"] = "input"
    metadata: dict | None = None  # the run's config["metadata"], kept on the thread


class RunFinished(_Event):
    kind: Literal["run_finished"] = "run_finished"
    # "done": reached END; "interrupted": paused waiting for a human or at a breakpoint.
    outcome: Literal["done", "interrupted"] = "done"


class RunFailed(_Event):
    kind: Literal["run_failed"] = "run_failed"
    node: str = ""
    error_type: str = ""
    error: str = ""


class InterruptRaised(_Event):
    kind: Literal["interrupt_raised"] = "interrupt_raised"
    interrupt_id: str
    ns: str = ""
    node: str = ""
    value: Any = None
    deadline: str | None = None
    on_timeout: Any = None  # the automatic answer at the deadline (None: flag it overdue)
    checkpoint_id: str = ""
    response_schema: Any = None  # the JSON Schema its answer must match (interrupt(response_schema=...))


class InterruptResolved(_Event):
    kind: Literal["interrupt_resolved"] = "interrupt_resolved"
    interrupt_id: str
    response: Any = None
    by: str | None = None


class InterruptExpired(_Event):
    kind: Literal["interrupt_expired"] = "interrupt_expired"
    interrupt_id: str
    policy: Literal["flag", "resume"] = "flag"
    response: Any = None


class InterruptCancelled(_Event):
    kind: Literal["interrupt_cancelled"] = "interrupt_cancelled"
    interrupt_id: str
    reason: str = ""


Event = Union[RunStarted, RunFinished, RunFailed, InterruptRaised, InterruptResolved,
              InterruptExpired, InterruptCancelled]

_BY_KIND = {cls.model_fields["kind"].default: cls for cls in Event.__args__}  # type: ignore[attr-defined]


def event_from_json(data: dict) -> Event:
    """Rebuild a typed event from its stored JSON form."""
    cls = _BY_KIND.get(data.get("kind"))
    if cls is None:
        raise ValueError(f"unknown event kind {data.get('kind')!r}")
    return cls.model_validate(data)


__all__ = ["Event", "RunStarted", "RunFinished", "RunFailed", "InterruptRaised",
           "InterruptResolved", "InterruptExpired", "InterruptCancelled", "event_from_json"]
