"""The inbox's service layer: what is pending, what was decided, and deciding (exactly once).

Both the TUI and the headless commands go through here; neither talks to the saver directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from engine.checkpoint.base import make_config
from engine.checkpoint.store import InboxStore, InterruptRecord, ThreadRecord
from engine.errors import EngineError
from engine.review.validate import ReviewItem, review_items
from engine.runtime.decisions import Applied, apply_pending_decisions, check_response, decide, expire_overdue

IN_DOUBT_SUFFIX = " (in doubt)"
RESPONSE_LETTERS = {"accept": "a", "edit": "e", "response": "r", "ignore": "i",
                    "approve": "a", "reject": "x", "respond": "r"}


class UnknownInterrupt(EngineError, LookupError):
    def __init__(self, interrupt_id: str):
        self.interrupt_id = interrupt_id
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


class ReviewService:
    def __init__(self, saver: InboxStore, graphs: Mapping[str, Any] | None = None, *, reviewer: str,
                 clock: Callable[[], datetime] = utcnow):
        self.saver = saver
        self.graphs = dict(graphs or {})
        self.reviewer = reviewer
        self.clock = clock

    # --- reading ------------------------------------------------------------------------------
    async def pending(self, *, text: str | None = None, limit: int | None = None, offset: int = 0,
                      graph: str | None = None, thread_id: str | None = None,
                      action: str | None = None) -> list[InboxItem]:
        records = await self.saver.alist_pending(limit=limit, offset=offset, graph=graph,
                                                 thread_id=thread_id, action=action, text=text)
        return [InboxItem.of(r) for r in records]

    async def resolved(self, *, limit: int | None = 500) -> list[InboxItem]:
        return [InboxItem.of(r) for r in await self.saver.adecisions(limit=limit)]

    async def errors(self) -> list[InboxItem]:
        """Threads whose last run failed, each shown by its latest decision with the error."""
        items = []
        for thread in await self.saver.alist_threads(status="error"):
            decisions = await self.saver.adecisions(thread_id=thread.thread_id, limit=1)
            if decisions:
                items.append(InboxItem.of(decisions[0], error=await self._error_of(thread.thread_id)))
        return items

    async def _error_of(self, thread_id: str) -> str | None:
        latest = await self.saver.aget_tuple(make_config(thread_id, "", None))
        for _task, channel, value in (latest.pending_writes if latest else []):
            if channel == "__error__":
                return f"{value['type']}: {value['message']}"
        return None

    async def messages(self, thread_id: str) -> list:
        """The thread's message list (agents built on create_tool_agent), newest last."""
        latest = await self.saver.aget_tuple(make_config(thread_id, "", None))
        values = latest.checkpoint["channel_values"] if latest else {}
        messages = values.get("messages")
        return messages if isinstance(messages, list) else []

    async def counts(self) -> dict[str, int]:
        counts = await self.saver.acount_by_status()
        threads = await self.saver.alist_threads(status="error")
        return {"pending": counts.get("pending", 0),
                "resolved": sum(counts.get(k, 0) for k in ("resolved", "cancelled", "expired")),
                "errors": len(threads),
                "all": sum(counts.values())}

    async def item(self, interrupt_id: str) -> InboxItem:
        record = await self.saver.aget_interrupt(interrupt_id)
        if record is None:
            raise UnknownInterrupt(interrupt_id)
        return InboxItem.of(record)

    async def thread(self, thread_id: str) -> ThreadView:
        config = make_config(thread_id, "", None)
        latest = await self.saver.aget_tuple(config)
        history = []
        async for saved in self.saver.alist(config, limit=30):
            history.append({"checkpoint_id": saved.checkpoint["id"], "step": saved.metadata.get("step"),
                            "source": saved.metadata.get("source"), "created": saved.checkpoint.get("ts"),
                            "next": [t["name"] for t in saved.checkpoint.get("tasks", [])]})
        return ThreadView(thread_id, await self.saver.aget_thread(thread_id),
                          dict(latest.checkpoint["channel_values"]) if latest else {}, history,
                          await self.saver.adecisions(thread_id=thread_id), await self._error_of(thread_id))

    # --- deciding -------------------------------------------------------------------------------
    async def check(self, interrupt_id: str, response: Any) -> Any:
        """The normalized response, or InvalidResponse; nothing is stored."""
        return check_response((await self.item(interrupt_id)).record.payload, response)

    async def decide(self, interrupt_id: str, response: Any) -> Applied:
        """Claim the decision (AlreadyResolved if someone was first) and resume the run when
        this process has the graph; otherwise it is recorded for `inbox worker`."""
        await self.item(interrupt_id)  # a clear error for an unknown id
        return await decide(self.saver, self.graphs, interrupt_id, response, by=self.reviewer)

    async def apply_recorded(self) -> list[Applied]:
        return await apply_pending_decisions(self.saver, self.graphs)

    async def expire(self) -> list[Applied]:
        return await expire_overdue(self.saver, self.graphs, self.clock())
