"""The inbox's service layer: what is pending, what was decided, and deciding (exactly once).

The TUI (screens, widgets, their workers), the headless commands and `inbox worker` all go
through `ReviewService`; none of them talks to a saver or the engine directly. The service
works over a backend (inbox/backends: a local store plus graphs now, an Agent Server later),
and this module re-exports the engine's types the screens need (AlreadyResolved,
InvalidResponse, Applied, the record types), so that screens and widgets import nothing from
`engine`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable, Literal, Mapping, TypeVar

from engine.checkpoint.store import InterruptRecord, ThreadRecord
from engine.errors import AlreadyResolved, EngineError
from engine.events import InterruptRaised
from engine.review.json_schema import schema_errors
from engine.review.validate import InvalidResponse, ReviewItem, review_items
from engine.runtime.decisions import Applied, check_response
from engine._internal.sync import run_sync
from inbox.backends import Backend
from inbox.backends.errors import DecisionNotSent
from inbox.backends.local import LocalBackend

__all__ = ["ReviewService", "InboxItem", "InboxUpdate", "ThreadView", "UnknownInterrupt", "build_response",
           "describe_response", "blocking", "schema_errors", "AlreadyResolved", "InvalidResponse", "Applied", "InterruptRecord",
           "DecisionNotSent",
           "ThreadRecord"]

T = TypeVar("T")

IN_DOUBT_SUFFIX = " (in doubt)"
RESPONSE_LETTERS = {"accept": "a", "edit": "e", "response": "r", "ignore": "i",
                    "approve": "a", "reject": "x", "respond": "r"}


class UnknownInterrupt(EngineError, LookupError):
    def __init__(self, interrupt_id: str, url: str | None = None):
        self.interrupt_id = interrupt_id
        if url:  # a remote backend: neither pending nor in its recent history
            super().__init__(f"no interrupt with id {interrupt_id!r} pending on {url} (nor recently decided); "
                             f"`inbox list --url {url}` shows the pending ones and their ids.")
            return
        super().__init__(f"no interrupt with id {interrupt_id!r} in this database; "
                         "`inbox list --db PATH` shows the pending ones and their ids.")


@dataclass(frozen=True)
class InboxItem:
    """One interrupt as the inbox shows it: the stored record plus its normalized review items."""

    record: InterruptRecord
    items: tuple[ReviewItem, ...]
    error: str | None = None  # the run failed after this decision (Errors tab)

    @classmethod
    def of(cls, record: InterruptRecord, error: str | None = None) -> "InboxItem":
        return cls(record, tuple(review_items(record.payload)), error)

    @staticmethod
    def of_interrupt(interrupt: Any) -> "InboxItem":
        """A view of an engine Interrupt that is not stored yet (just raised by a resume)."""
        record = InterruptRecord(id=interrupt.id, thread_id="", payload=interrupt.value, created_at="",
                                 status="pending")
        return InboxItem.of(record)

    @property
    def search_text(self) -> str:
        """What `/` matches against: action, args and description, lower-cased."""
        parts = [self.action, self.description, self.record.thread_id, self.record.graph]
        parts += [json.dumps(i.args, ensure_ascii=False, default=str) for i in self.items]
        if self.kind == "question":
            parts.append(json.dumps(self.record.payload, ensure_ascii=False, default=str))
        return " ".join(parts).lower()

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def kind(self) -> str:
        return self.items[0].kind

    @property
    def action(self) -> str:
        names = [i.action for i in self.items]
        if self.kind == "question":
            return "question"
        return names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"

    @property
    def description(self) -> str:
        first = self.items[0]
        return first.description or (first.action if self.kind != "question" else "")

    @property
    def allowed(self) -> frozenset[str]:
        """Responses allowed for every item of the request (what a single key can answer)."""
        allowed = set(self.items[0].allowed)
        for item in self.items[1:]:
            allowed &= item.allowed
        return frozenset(allowed)

    @property
    def in_doubt(self) -> bool:
        """A reviewed tool call that may have run when its process died (engine/prebuilt/
        tool_review.py): accept runs it again, respond marks it done."""
        return self.kind == "human_interrupt" and self.action.endswith(IN_DOUBT_SUFFIX)

    @property
    def needs_stepper(self) -> bool:
        """Several actions in one request are decided one by one, then sent together."""
        return len(self.items) > 1

    def to_json(self) -> dict:
        r = self.record
        return {"id": r.id, "thread_id": r.thread_id, "graph": r.graph, "node": r.node, "kind": self.kind,
                "action": self.action, "actions": [i.action for i in self.items],
                "description": self.description, "args": [i.args for i in self.items],
                "allowed": sorted(self.allowed), "created": r.created_at, "deadline": r.deadline,
                "overdue": r.overdue, "status": r.status, "resolved_by": r.resolved_by,
                "resolved_at": r.resolved_at, "decided_user": r.decided_user, "decided_host": r.decided_host,
                "response": r.response, "payload": r.payload}


def describe_response(response: Any) -> str:
    """A decision in words: "accepted", "edited", "responded: …", "approve, reject, approve"."""
    words = {"accept": "accepted", "edit": "edited", "ignore": "ignored", "response": "responded"}
    if isinstance(response, dict) and isinstance(response.get("decisions"), list):
        return ", ".join(str(d.get("type", "?")) for d in response["decisions"] if isinstance(d, dict))
    answers = response if isinstance(response, list) else [response]
    if answers and all(isinstance(a, dict) and a.get("type") in words for a in answers):
        parts = []
        for answer in answers:
            word = words[answer["type"]]
            parts.append(f"{word}: {answer['args']}" if answer["type"] == "response" else word)
        return ", ".join(parts)
    return f"answered: {json.dumps(response, ensure_ascii=False, default=str)}"


def build_response(item: InboxItem, kind: str, *, args: dict | None = None, text: Any = None) -> Any:
    """The resume value for a one-key decision on every request of `item`.

    kind: accept | edit | response | ignore (HumanInterrupt), approve | edit | reject | respond
    (multi-action, for all actions at once), or response (a plain question: `text` is the answer).
    """
    if item.kind == "question":
        return text
    if item.kind == "hitl":
        decisions = []
        for entry in item.items:
            if kind == "approve":
                decisions.append({"type": "approve"})
            elif kind == "edit":
                decisions.append({"type": "edit", "edited_action": {"name": entry.action, "args": args}})
            elif kind in ("reject", "respond"):
                decisions.append({"type": kind, "message": text} if text is not None else {"type": kind})
            else:
                decisions.append({"type": kind})
        return {"decisions": decisions}
    responses = []
    for entry in item.items:
        if kind == "edit":
            responses.append({"type": "edit", "args": {"action": entry.action, "args": args}})
        elif kind == "response":
            responses.append({"type": "response", "args": text})
        else:
            responses.append({"type": kind, "args": None})
    return responses


@dataclass
class ThreadView:
    thread_id: str
    record: ThreadRecord | None
    values: dict
    history: list[dict]  # newest first: {"checkpoint_id", "step", "source", "created", "next"}
    decisions: list[InterruptRecord]
    error: str | None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def blocking(awaitable: Awaitable[T]) -> T:
    """Run a service call to completion from a thread (a thread worker, a sync command) on the
    engine's loop."""
    return run_sync(awaitable)


@dataclass(frozen=True)
class InboxUpdate:
    """What an engine event means to the inbox: a request was raised (with the item, so it
    can be shown without reading the store), a request changed (decided, expired, cancelled),
    or a run moved (nothing to show by itself, but the counts may change)."""

    kind: Literal["raised", "changed", "run", "connection"]
    interrupt_id: str | None = None
    item: InboxItem | None = None
    online: bool = True  # kind "connection": a remote server stopped (False) or started answering
    reason: str = ""


class ReviewService:
    """The one way to the engine. `backend` is a Backend, or a saver (wrapped, with `graphs`,
    in a LocalBackend)."""

    def __init__(self, backend: Any, graphs: Mapping[str, Any] | None = None, *, reviewer: str,
                 clock: Callable[[], datetime] = utcnow):
        self.backend: Backend = backend if isinstance(backend, Backend) else LocalBackend(backend, graphs)
        self.reviewer = reviewer
        self.clock = clock

    @property
    def graphs(self) -> Mapping[str, Any]:
        return self.backend.graphs

    @graphs.setter
    def graphs(self, graphs: Mapping[str, Any]) -> None:
        self.backend.graphs = dict(graphs)

    @property
    def saver(self) -> Any:
        """The local store (headless commands close it); None for a remote backend."""
        return getattr(self.backend, "store", None)

    def runs(self, graph: str | None = None) -> bool:
        """Whether this process continues runs (of `graph`) itself, rather than recording
        decisions for `inbox worker`. A remote server continues its runs itself."""
        if getattr(self.backend, "runs_here", False):
            return True
        return bool(self.graphs.get(graph)) if graph is not None else bool(self.graphs)

    # --- reading ------------------------------------------------------------------------------
    async def pending(self, *, text: str | None = None, limit: int | None = None, offset: int = 0,
                      graph: str | None = None, thread_id: str | None = None,
                      action: str | None = None) -> list[InboxItem]:
        records = await self.backend.list_pending(limit=limit, offset=offset, graph=graph,
                                                  thread_id=thread_id, action=action, text=text)
        return [InboxItem.of(r) for r in records]

    async def resolved(self, *, limit: int | None = 500) -> list[InboxItem]:
        return [InboxItem.of(r) for r in await self.backend.decisions(limit=limit)]

    async def errors(self) -> list[InboxItem]:
        """Threads whose last run failed, each shown by its latest decision with the error."""
        items = []
        for thread in await self.backend.failed_threads():
            decisions = await self.backend.decisions(thread_id=thread.thread_id, limit=1)
            if decisions:
                items.append(InboxItem.of(decisions[0], error=(await self.backend.state(thread.thread_id))[1]))
        return items

    async def messages(self, thread_id: str) -> list:
        """The thread's message list (agents built on create_tool_agent), newest last."""
        values, _error = await self.backend.state(thread_id)
        messages = values.get("messages")
        return messages if isinstance(messages, list) else []

    async def counts(self) -> dict[str, int]:
        counts = await self.backend.count_by_status()
        threads = await self.backend.failed_threads()
        return {"pending": counts.get("pending", 0),
                "resolved": sum(counts.get(k, 0) for k in ("resolved", "cancelled", "expired")),
                "errors": len(threads),
                "all": sum(counts.values())}

    async def item(self, interrupt_id: str) -> InboxItem:
        record = await self.backend.interrupt(interrupt_id)
        if record is None:
            raise UnknownInterrupt(interrupt_id, getattr(self.backend, "url", None))
        return InboxItem.of(record)

    async def thread(self, thread_id: str) -> ThreadView:
        values, error = await self.backend.state(thread_id)
        history = await self.backend.history(thread_id, limit=30)
        return ThreadView(thread_id, await self.backend.thread(thread_id), values, history,
                          await self.backend.decisions(thread_id=thread_id), error)

    # --- following ----------------------------------------------------------------------------
    async def last_event_seq(self) -> int:
        return await self.backend.last_event_seq()

    async def events(self, since: int | None = None) -> AsyncIterator[InboxUpdate]:
        """The store's events from `since` (default: from now on), as inbox updates."""
        if since is None:
            since = await self.backend.last_event_seq()
        async for event in self.backend.subscribe(since=since):
            if hasattr(event, "online"):  # a remote server's connection changed
                yield InboxUpdate("connection", online=event.online, reason=event.reason)
            elif isinstance(event, InterruptRaised):
                yield InboxUpdate("raised", event.interrupt_id, InboxItem.of(InterruptRecord(
                    id=event.interrupt_id, thread_id=event.thread_id, graph=event.graph, ns=event.ns,
                    node=event.node, checkpoint_id=event.checkpoint_id, payload=event.value,
                    created_at=event.at, deadline=event.deadline, status="pending")))
            elif getattr(event, "interrupt_id", None):
                yield InboxUpdate("changed", event.interrupt_id)
            else:
                yield InboxUpdate("run")

    # --- deciding -------------------------------------------------------------------------------
    async def check(self, interrupt_id: str, response: Any) -> Any:
        """The normalized response, or InvalidResponse; nothing is stored."""
        return check_response((await self.item(interrupt_id)).record.payload, response)

    async def claim(self, interrupt_id: str, response: Any) -> InterruptRecord:
        """Validate and claim a decision as the reviewer, exactly once: the claimed record.
        InvalidResponse (nothing stored), AlreadyResolved (someone was first), LookupError."""
        return await self.backend.claim(interrupt_id, response, by=self.reviewer)

    async def apply(self, record: InterruptRecord) -> Applied:
        """Continue the run with a claimed decision (recorded only, when no graph runs it here)."""
        return await self.backend.apply(record)

    async def decide(self, interrupt_id: str, response: Any) -> Applied:
        """Claim the decision (AlreadyResolved if someone was first) and resume the run when
        this process has the graph; otherwise it is recorded for `inbox worker`."""
        await self.item(interrupt_id)  # a clear error for an unknown id
        return await self.apply(await self.claim(interrupt_id, response))

    async def recover(self, *, concurrency: int = 1) -> list[Applied]:
        """Take over what nobody runs: decisions claimed but not applied (recorded without a
        graph, or cut off by a crash) and runs a dead process left busy."""
        return await self.backend.recover(concurrency=concurrency)

    async def apply_recorded(self) -> list[Applied]:
        return await self.recover()

    async def expire(self, now: datetime | None = None) -> list[Applied]:
        """Apply the deadline policy to requests whose deadline passed (at `now`, default the clock)."""
        return await self.backend.expire(now or self.clock())

    def close(self) -> None:
        self.backend.close()
