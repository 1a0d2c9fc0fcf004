"""The store protocol: what the inbox, the CLI, `inbox worker` and the HTTP server need from a
store, whatever keeps it (SQLite now, Postgres next), and the records it returns.

Two layers, as two `typing.Protocol`s:

- `RunStore`: what a run needs to own a thread and apply decisions exactly once: leases, the
  claim of answers and their applied mark, recovery, the reviewed-tool ledger, and events
  (append, read, subscribe). Every saver has it: `BaseCheckpointSaver` keeps leases and the
  ledger in the process (InMemorySaver), SqliteSaver in its file.
- `InboxStore`: a `RunStore` that also keeps the pending-interrupt index and the audit log:
  listing and counting pending work (never by scanning checkpoints), looking up interrupts and
  threads, claiming a decision exactly once (`aresolve`), the decisions still to apply, and
  deadlines. SqliteSaver is one; tests/engine/test_store_conformance.py is the suite every
  implementation passes.

`inbox serve` keeps its own records (threads created over HTTP, runs) through a third
protocol, `ApiStore` in engine/checkpoint/api_store.py, which both savers implement too.

The protocols state the contract (arguments, results, errors); the docstrings of the SQLite
implementation say how it keeps it. Times are ISO-8601 UTC strings in fixed-width form.
This module imports nothing from the runtime: records, errors and the contract only.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, AsyncContextManager, AsyncIterator, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from engine.errors import StorageError

if TYPE_CHECKING:
    from engine.checkpoint.base import Commit
    from engine.events import Event

InterruptStatus = Literal["pending", "resolved", "cancelled", "expired"]
ThreadStatus = Literal["idle", "busy", "interrupted", "error", "done"]


class InterruptRecord(BaseModel):
    """One interrupt: pending work while `status == "pending"`, an audit-log entry after.

    Times are ISO-8601 UTC strings in fixed-width form (`2026-01-02T03:04:05.000000+00:00`).

    - `id`: the interrupt id (answers it in `Command(resume={id: ...})`).
    - `thread_id`, `graph`: where it was raised (graph name may be "").
    - `ns`: the task namespace inside the run; `node`: the node that called interrupt().
    - `checkpoint_id`: the checkpoint the paused task belongs to ("" if not given).
    - `payload`: the value passed to `interrupt(value)` (JSON round-tripped).
    - `created_at`: when it was raised; `deadline`: when it expires, or None.
    - `on_timeout`: the answer given automatically at the deadline; None: flag it overdue.
    - `status`: pending | resolved | cancelled | expired.
    - `overdue`: the deadline passed under the "flag" policy (the row stays pending).
    - `resolved_at`, `resolved_by`, `response`: the decision: when, who ("api" for a direct
      `Command(resume=...)`, "deadline" for an expiry, "system" for a cancellation) and what.
    - `applied`: the runtime has resumed the graph with the decision. A resolved or expired row
      with `applied=False` is a claimed decision still to be applied (e.g. after a crash).
    - `reason`: why it was cancelled or expired, if known.
    - `decided_user`, `decided_host`: the OS account and machine that claimed the decision with
      resolve() (`resolved_by` is the name the reviewer claimed); None for other decisions
      and for rows decided before schema version 4.
    - `response_schema`: the JSON Schema an answer must match (`interrupt(value,
      response_schema=...)`); None: any answer the request allows.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    thread_id: str
    graph: str = ""
    ns: str = ""
    node: str = ""
    checkpoint_id: str = ""
    payload: Any = None
    created_at: str
    deadline: str | None = None
    on_timeout: Any = None
    status: InterruptStatus
    overdue: bool = False
    resolved_at: str | None = None
    resolved_by: str | None = None
    response: Any = None
    applied: bool = False
    reason: str | None = None
    decided_user: str | None = None
    decided_host: str | None = None
    response_schema: dict | None = None


class ThreadRecord(BaseModel):
    """One thread as the inbox lists it.

    - `thread_id`, `graph` (the graph name of its latest run, may be "").
    - `status`: idle (checkpointed, no run seen) | busy (a run started) | interrupted | error | done.
    - `created_at`, `updated_at`: ISO-8601 UTC.
    - `metadata`: the run metadata given when the run started ({} if none).
    - `pending`: how many of its interrupts are pending now.
    """

    model_config = ConfigDict(frozen=True)

    thread_id: str
    graph: str = ""
    status: ThreadStatus
    created_at: str
    updated_at: str
    metadata: dict = {}
    pending: int = 0


class InterruptNotFound(StorageError, KeyError):
    """No interrupt with this id is stored."""

    def __init__(self, interrupt_id: str, path: str):
        self.interrupt_id = interrupt_id
        super().__init__(
            f"no interrupt with id {interrupt_id!r} in {path}. List the pending ones with "
            "saver.list_pending() and use one of their ids."
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@runtime_checkable
class RunStore(Protocol):
    """Run ownership, the decisions a run applies, and events: what the runtime needs from any
    saver (BaseCheckpointSaver provides in-process defaults)."""

    def transaction(self, *, wait: bool = True, after: "Commit | None" = None,
                    carry: bool = False) -> AsyncContextManager["Commit"]:
        """Everything awaited inside commits together or not at all (see BaseCheckpointSaver)."""
        ...

    # --- leases -----------------------------------------------------------------------------
    async def alease_acquire(self, thread_id: str, owner: str, ttl: float, *, expect: Any = ...,
                             defer: bool = False) -> None:
        """Take the thread's lease for `owner` for `ttl` seconds (or extend it if theirs).
        ThreadBusy: another owner's lease is live. ThreadMovedOn: `expect` (the checkpoint id
        the caller loaded, None for none) is no longer the thread's latest."""
        ...

    async def alease_renew(self, thread_id: str, owner: str, ttl: float, *, release: bool = False,
                           defer: bool = False) -> None:
        """Extend (or, with `release`, end) `owner`'s lease; LeaseLost if it is not theirs."""
        ...

    async def alease_release(self, thread_id: str, owner: str) -> None:
        """End `owner`'s lease if they still hold it (nothing happens otherwise)."""
        ...

    async def alease_holder(self, thread_id: str) -> tuple[str, float] | None:
        """(owner, seconds until the lease expires; negative once expired) or None."""
        ...

    # --- the decisions a run applies ------------------------------------------------------------
    async def aclaim_answers(self, thread_id: str, graph: str, answers: dict[str, Any], *, by: str | None,
                             at: str | None = None, token: str | None = None) -> None:
        """Inside a run's first transaction: claim each answered interrupt (as `aresolve`
        would) or check it is the decision already claimed; AlreadyResolved otherwise. A
        claim records `token` (the run's, e.g. `inbox serve`'s run id; never audited): an
        answer equal to a decision claimed before is taken as that decision (a recovery
        re-applies one so), and the token tells whose request the decision was."""
        ...

    async def aclaim_token(self, interrupt_id: str) -> str | None:
        """The token recorded by the claim that decided the interrupt; None when it was decided
        without one (aresolve, a deadline, a claim before the token was kept) or is pending."""
        ...

    async def amark_applied(self, interrupt_ids: list[str]) -> None:
        """Inside the transaction of the step that consumed them: the decisions are applied."""
        ...

    async def alist_recoverable(self) -> tuple[list[InterruptRecord], list[tuple[str, str]]]:
        """Claimed-but-unapplied decisions and orphaned busy threads ((thread_id, graph)) on
        threads nobody holds a live lease on."""
        ...

    def tool_call(self, key: str, action: str, **fields: Any) -> Any:
        """Advance a reviewed tool call in the ledger (engine/checkpoint/tool_ledger.py)."""
        ...

    # --- events ------------------------------------------------------------------------------
    async def aput_events(self, events: list["Event"]) -> list["Event"]:
        """Append events (and apply them to the index, where kept); returns them with `seq`."""
        ...

    async def aread_events(self, since: int | None = None, limit: int | None = None) -> list["Event"]:
        """Stored events with `seq > since`, oldest first."""
        ...

    async def alast_event_seq(self) -> int:
        """The last stored event's `seq` (0 when there is none)."""
        ...

    def subscribe(self, since: int | None = None, *, poll_interval: float = 0.05) -> AsyncIterator["Event"]:
        """Events with `seq > since`, then new ones as they are stored: at once from this
        process, within `poll_interval` (at most 100 ms) from other processes."""
        ...


@runtime_checkable
class InboxStore(RunStore, Protocol):
    """A RunStore with the pending-interrupt index and the audit log: the inbox's source of
    truth. Decided rows stay (they are the audit log); listing never scans checkpoints."""

    # --- pending work ----------------------------------------------------------------------------
    async def alist_pending(self, limit: int | None = None, offset: int = 0, graph: str | None = None,
                            thread_id: str | None = None, action: str | None = None,
                            text: str | None = None) -> list[InterruptRecord]:
        """Pending interrupts, oldest first. `action` matches a HumanInterrupt's
        `action_request.action` or any HITL `action_requests[].name`; `text` is a
        case-insensitive substring of the payload's JSON text."""
        ...

    async def acount_by_status(self) -> dict[str, int]:
        """{"pending": n, "resolved": n, "cancelled": n, "expired": n}, every key present."""
        ...

    # --- lookups ---------------------------------------------------------------------------------
    async def aget_interrupt(self, interrupt_id: str) -> InterruptRecord | None:
        """The interrupt with this id in any status, or None."""
        ...

    async def afind_interrupt_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of interrupts in any status starting with `prefix`, in id order, at most `limit`
        (a short id typed by a person: the inbox accepts unique prefixes of 6+ characters)."""
        ...

    async def aget_thread(self, thread_id: str) -> ThreadRecord | None:
        """One thread with its count of pending interrupts, or None."""
        ...

    async def alist_threads(self, status: str | None = None, limit: int | None = None,
                            offset: int = 0) -> list[ThreadRecord]:
        """Threads, most recently updated first, with their counts of pending interrupts."""
        ...

    # --- decisions and the audit log ------------------------------------------------------------------
    async def aresolve(self, interrupt_id: str, response: Any, *, by: str,
                       at: datetime | str | None = None) -> InterruptRecord:
        """Claim a pending interrupt with `response`, exactly once across tasks, processes and
        hosts (applied=False until the runtime resumes the run with it). AlreadyResolved (who,
        when, what) if it is not pending, InterruptNotFound if it does not exist,
        InvalidResponse if the request forbids the answer, ValueError for a reserved `by`."""
        ...

    async def aaudit_log(self, since: datetime | str | None = None) -> list[dict]:
        """The hash-chained audit log (engine/checkpoint/audit.py), oldest first: one row per
        decision recorded by aresolve or an expiry that answered, appended in its transaction:
        {"seq", "at", "interrupt_id", "row" (canonical JSON), "hash"}; from `since` on if given."""
        ...

    # --- rules ------------------------------------------------------------------------------------
    async def aput_rule(self, rule: dict) -> dict:
        """Add a rule (engine/checkpoint/rules.py: tool, optional arg/op/value, thread_id,
        expires_at, created_by; the store gives it an id and created_at) or replace one by id
        (revoking: revoked_at, revoked_by). Active rules answer matching requests when they are
        raised, in the raising transaction, by `rule:<id>`, audited. ValueError for a bad rule."""
        ...

    async def alist_rules(self, include_revoked: bool = False) -> list[dict]:
        """The rules, oldest first; revoked ones only with include_revoked."""
        ...

    async def adecisions(self, thread_id: str | None = None, limit: int | None = None,
                         offset: int = 0) -> list[InterruptRecord]:
        """The audit log: resolved, cancelled and expired interrupts, newest decision first."""
        ...

    async def alist_claimed_unapplied(self) -> list[InterruptRecord]:
        """Claimed decisions the runtime has not applied yet, oldest claim first."""
        ...

    # --- deadlines ------------------------------------------------------------------------------
    async def alist_due(self, now: datetime | str | None = None, limit: int | None = None) -> list[InterruptRecord]:
        """Pending interrupts whose deadline is at or before `now` and that are not flagged
        overdue yet, earliest deadline first."""
        ...

    async def aexpire(self, interrupt_id: str, *, policy: Literal["flag", "resume"] = "flag",
                      response: Any = None, at: datetime | str | None = None) -> InterruptRecord | None:
        """Apply a passed deadline to one interrupt, exactly once: "flag" marks it overdue
        (None if it was already), "resume" claims it as expired with `response`."""
        ...

    async def aexpire_due(self, now: datetime | str | None = None) -> list[InterruptRecord]:
        """Expire every due interrupt in one transaction; returns the changed records."""
        ...


__all__ = ["InboxStore", "RunStore", "InterruptRecord", "ThreadRecord", "InterruptNotFound",
           "InterruptStatus", "ThreadStatus"]
