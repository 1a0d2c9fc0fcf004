"""The inbox's service layer: what is pending, what was decided, and deciding (exactly once).

The TUI (screens, widgets, their workers), the headless commands and `inbox worker` all go
through `ReviewService`; none of them talks to a saver or the engine directly. The service
works over a backend (inbox/backends: a local store plus graphs now, an Agent Server later),
and this module re-exports the engine's types the screens need (AlreadyResolved,
InvalidResponse, Applied, the record types), so that screens and widgets import nothing from
`engine`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable, Literal, Mapping, TypeVar

from engine.checkpoint.audit import verify_chain
from engine.checkpoint.rules import describe_rule
from engine.checkpoint.store import InterruptRecord, ThreadRecord
from engine.errors import AlreadyResolved, EngineError
from engine.events import InterruptRaised
from engine.review.json_schema import schema_errors
from engine.review.validate import InvalidResponse, ReviewItem, review_items
from engine.runtime.decisions import Applied, check_response
from engine._internal.sync import run_sync
from inbox.backends import Backend, missing_methods
from inbox.edits import diff_summary, sent_args
from inbox.backends.errors import DecisionNotSent, NeedsStore
from inbox.backends.local import LocalBackend

__all__ = ["ReviewService", "InboxItem", "InboxUpdate", "ThreadView", "UnknownInterrupt", "AmbiguousId", "build_response",
           "describe_response", "describe_decision", "describe_rule", "blocking", "schema_errors", "AlreadyResolved", "InvalidResponse", "Applied", "InterruptRecord",
           "DecisionNotSent", "NeedsStore",
           "ThreadRecord"]

T = TypeVar("T")

IN_DOUBT_SUFFIX = " (in doubt)"
MIN_PREFIX = 6   # the shortest id prefix a person may type for an interrupt id
SHORT_ID = 8     # how many characters of an id the TUI and the plain list show
RESPONSE_LETTERS = {"accept": "a", "edit": "e", "response": "r", "ignore": "i",
                    "approve": "a", "reject": "x", "respond": "r"}


class UnknownInterrupt(EngineError, LookupError):
    def __init__(self, interrupt_id: str, url: str | None = None):
        self.interrupt_id = interrupt_id
        if url:  # a remote backend: neither pending nor in its recent history
            super().__init__(f"no interrupt with id {interrupt_id!r} pending on {url} (nor recently decided); "
                             f"`inbox list --url {url}` shows the pending ones and their ids.")
            return
        short = (f" (a prefix needs at least {MIN_PREFIX} characters)"
                 if len(interrupt_id) < MIN_PREFIX else "")
        super().__init__(f"no interrupt with id {interrupt_id!r} in this database{short}; "
                         "`inbox list --db PATH` shows the pending ones and their ids.")


class AmbiguousId(EngineError, LookupError):
    """A typed id prefix that starts more than one interrupt id."""

    def __init__(self, prefix: str, candidates: list[str]):
        self.prefix = prefix
        self.candidates = candidates
        shown = ", ".join(candidates[:5]) + (", …" if len(candidates) > 5 else "")
        super().__init__(f"id prefix {prefix!r} matches {len(candidates) if len(candidates) < 10 else '10 or more'} "
                         f"interrupts ({shown}); type more characters of the one you mean.")


def short_id(interrupt_id: str) -> str:
    """The first SHORT_ID characters of an id: what the TUI shows and every command accepts."""
    return interrupt_id[:SHORT_ID]


def first_string_field(value: Any) -> str:
    """A question's description when it is not a string: its first string field
    (`{"text_to_revise": "..."}` reads as that text)."""
    if isinstance(value, dict):
        for field in value.values():
            if isinstance(field, str) and field.strip():
                return field
    return ""


@dataclass(frozen=True)
class InboxItem:
    """One interrupt as the inbox shows it: the stored record plus its normalized review items."""

    record: InterruptRecord
    items: tuple[ReviewItem, ...]
    error: str | None = None  # the thread's last run failed (Errors tab)
    # Errors tab: the failed run was started afresh on the thread (its id reused) after this
    # decision, or the thread has no decision at all: the decision is not what failed.
    fresh_run: bool = False

    @classmethod
    def of(cls, record: InterruptRecord, error: str | None = None, fresh_run: bool = False) -> "InboxItem":
        return cls(record, tuple(review_items(record.payload)), error, fresh_run)

    @staticmethod
    def of_interrupt(interrupt: Any) -> "InboxItem":
        """A view of an engine Interrupt that is not stored yet (just raised by a resume)."""
        record = InterruptRecord(id=interrupt.id, thread_id="", payload=interrupt.value, created_at="",
                                 status="pending")
        return InboxItem.of(record)

    @functools.cached_property
    def search_text(self) -> str:
        """What `/` matches against: action, args and description, lower-cased (built once per
        item: each letter typed searches the same items again)."""
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
        if self.kind == "question":
            return first.description or first_string_field(self.record.payload)
        return first.description or first.action

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
                "response": r.response, "error": self.error, "payload": r.payload}


# One vocabulary in everything shown: the multi-action format's "approve" reads as "accepted",
# its "reject" as "rejected". Stored responses keep their format's own words.
OUTCOME_WORDS = {"accept": "accepted", "approve": "accepted", "edit": "edited", "ignore": "ignored",
                 "reject": "rejected", "response": "responded", "respond": "responded"}


def outcome(response: Any) -> str:
    """One word for a decision, for its mark: accepted, edited, responded, ignored (also
    rejected), answered (a plain question), or mixed (several actions decided differently)."""
    if isinstance(response, dict) and isinstance(response.get("decisions"), list):
        types = [d.get("type") for d in response["decisions"] if isinstance(d, dict)]
    elif isinstance(response, list) and response and all(isinstance(a, dict) and "type" in a for a in response):
        types = [a["type"] for a in response]
    else:
        return "answered"
    words = {"ignored" if OUTCOME_WORDS.get(t) == "rejected" else OUTCOME_WORDS.get(t, "answered") for t in types}
    return words.pop() if len(words) == 1 else "mixed"


def describe_response(response: Any) -> str:
    """A decision in words: "accepted", "edited", "responded: …", "accepted, rejected, accepted"."""
    words = {"accept": "accepted", "edit": "edited", "ignore": "ignored", "response": "responded"}
    if isinstance(response, dict) and isinstance(response.get("decisions"), list):
        return ", ".join(OUTCOME_WORDS.get(str(d.get("type")), str(d.get("type", "?")))
                         for d in response["decisions"] if isinstance(d, dict))
    answers = response if isinstance(response, list) else [response]
    if answers and all(isinstance(a, dict) and a.get("type") in words for a in answers):
        parts = []
        for answer in answers:
            word = words[answer["type"]]
            parts.append(f"{word}: {answer['args']}" if answer["type"] == "response" else word)
        return ", ".join(parts)
    return f"answered: {json.dumps(response, ensure_ascii=False, default=str)}"


def describe_decision(record: InterruptRecord) -> str:
    """A decision in words, with what an edit changed: `edited (cabin: "economy" →
    "premium_economy")`; otherwise as describe_response."""
    edited = sent_args(record.response)
    if not edited:
        return describe_response(record.response)
    items = review_items(record.payload)
    words = describe_response(record.response).split(", ")
    parts = []
    for index, word in enumerate(words):
        if index in edited and index < len(items) and isinstance(items[index].args, dict):
            word = f"edited ({diff_summary(items[index].args, edited[index], 30)})"
        parts.append(word)
    return ", ".join(parts)


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


def _seconds_between(start: str | None, end: str | None) -> float | None:
    try:
        return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)
    except (TypeError, ValueError):
        return None


def _after(first: str | None, second: str | None) -> bool:
    """Whether ISO time `first` is later than `second` (False when either is unreadable)."""
    try:
        return datetime.fromisoformat(first) > datetime.fromisoformat(second)
    except (TypeError, ValueError):
        return False


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
        if isinstance(backend, Backend):
            self.backend: Backend = backend
        elif hasattr(backend, "kind"):  # a backend missing methods: say so, never wrap it as a saver
            missing = sorted(name for name in missing_methods(backend))
            raise TypeError(f"{type(backend).__name__} does not implement the Backend protocol "
                            f"(inbox/backends/__init__.py): missing {', '.join(missing)}")
        else:
            self.backend = LocalBackend(backend, graphs)
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
        """Threads whose last run failed, each shown by its latest decision with the error.

        The decision is blamed only when the failed run is the one it continued: when a new
        run was started on the thread after it (the thread id reused), or the thread has no
        decision at all, the row says so (`fresh_run`) instead."""
        items = []
        for thread in await self.backend.failed_threads():
            error = (await self.backend.state(thread.thread_id))[1] or "the run failed (no error was recorded)"
            decisions = await self.backend.decisions(thread_id=thread.thread_id, limit=1)
            if not decisions:
                items.append(InboxItem.of(InterruptRecord(
                    id=f"run:{thread.thread_id}", thread_id=thread.thread_id, graph=thread.graph,
                    payload=f"The run on thread {thread.thread_id} failed before anything was asked.",
                    created_at=thread.updated_at, status="cancelled", reason="the run failed"),
                    error=error, fresh_run=True))
                continue
            decision = decisions[0]
            started = await self._latest_start(thread.thread_id)
            fresh = started is not None and _after(started, decision.resolved_at or decision.created_at)
            items.append(InboxItem.of(decision, error=error, fresh_run=fresh))
        return items

    async def _latest_start(self, thread_id: str) -> str | None:
        """When the thread's latest run was started with new input (None if not in the last 30 steps)."""
        for checkpoint in await self.backend.history(thread_id, limit=30):
            if checkpoint.get("source") == "input":
                return checkpoint.get("created")
        return None

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

    def explain(self, error: BaseException) -> str | None:
        """A clearer line than the exception's own for a failure the store can explain (a
        SQLite file damaged while open), or None."""
        explain = getattr(self.backend, "explain", None)
        return explain(error) if explain is not None else None

    def pending_count_exact(self) -> bool:
        """Whether counts()["pending"] is the number of pending requests, or only a lower bound:
        a remote server counts interrupted threads, and until every one has been read, a thread
        waiting on several requests counts once."""
        return bool(getattr(self.backend, "pending_count_exact", True))

    async def resolve_id(self, typed: str) -> str:
        """The full interrupt id for what a person typed: the id itself, or a unique prefix of
        MIN_PREFIX+ characters. UnknownInterrupt, or AmbiguousId listing the candidates."""
        if await self.backend.interrupt(typed) is not None:
            return typed
        url = getattr(self.backend, "url", None)
        if len(typed) < MIN_PREFIX:
            raise UnknownInterrupt(typed, url)
        candidates = await self.backend.find_ids(typed, limit=10)
        if not candidates:
            raise UnknownInterrupt(typed, url)
        if len(candidates) > 1:
            raise AmbiguousId(typed, candidates)
        return candidates[0]

    async def waiting_for_a_worker(self) -> dict[str, int]:
        """Graph -> how many decisions are recorded but not applied, for the graphs this process
        does not run (someone's `inbox worker --graph NAME=...` has to continue them)."""
        waiting: dict[str, int] = {}
        for record in await self.backend.claimed_unapplied():
            if not self.runs(record.graph):
                waiting[record.graph] = waiting.get(record.graph, 0) + 1
        return waiting

    # --- rules ------------------------------------------------------------------------------------
    async def rules(self, include_revoked: bool = False) -> list[dict]:
        return await self.backend.rules(include_revoked)

    async def add_rule(self, tool: str, *, arg: str | None = None, op: str | None = None, value: Any = None,
                       thread_id: str | None = None, expires_at: str | None = None) -> dict:
        """A new rule, made by the reviewer (ValueError naming what is wrong)."""
        return await self.backend.put_rule({"tool": tool, "arg": arg, "op": op, "value": value,
                                            "thread_id": thread_id, "expires_at": expires_at,
                                            "created_by": self.reviewer})

    async def revoke_rule(self, typed: str) -> dict:
        """Revoke the rule with this id (or unique id prefix); LookupError naming the rules."""
        rules = await self.backend.rules()
        found = [r for r in rules if r["id"].startswith(typed)] if typed else []
        if len(found) != 1:
            known = ", ".join(r["id"] for r in rules) or "none"
            raise LookupError(f"no active rule {'matches' if not found else 'is only matched by'} {typed!r} "
                              f"({'several match' if found else 'active rules: ' + known}); "
                              "`inbox rules list` shows them.")
        return await self.backend.put_rule({**found[0], "revoked_at": self.clock().isoformat(),
                                            "revoked_by": self.reviewer})

    # --- the audit log ------------------------------------------------------------------------------
    async def audit(self, since: str | None = None) -> list[dict]:
        """The audit log as rows for people and tools: who, when, what (the action), the answer,
        the time to decide, and the row's place in the hash chain."""
        rows = []
        for entry in await self.backend.audit_log(since):
            row = json.loads(entry["row"])
            record = await self.backend.interrupt(entry["interrupt_id"])
            item = InboxItem.of(record) if record is not None else None
            rows.append({"seq": entry["seq"], "decided_at": row["decided_at"], "by": row["by"], "user": row["user"],
                         "host": row["host"], "interrupt_id": row["interrupt_id"], "thread_id": row["thread_id"],
                         "graph": row["graph"], "action": item.action if item else "",
                         "status": row["status"], "answer": outcome(row["response"]) if row["status"] == "resolved"
                         else row["status"], "response": row["response"], "raised_at": row["raised_at"],
                         "seconds_to_decide": _seconds_between(row["raised_at"], row["decided_at"]),
                         "hash": entry["hash"]})
        return rows

    async def verify_audit(self) -> tuple[int, list[str]]:
        """(rows checked, problems): the hash chain (an edited or deleted row), and every decision
        recorded since the chain began has its row (the newest rows deleted)."""
        entries = await self.backend.audit_log()
        problems = verify_chain(entries)
        if entries:
            start = entries[0]["at"]
            audited = {e["interrupt_id"] for e in entries}
            for record in await self.backend.decisions(limit=None):
                # "api"/"system" rows come from runs' own events; decisions people, rules and
                # deadlines make are the ones the chain must hold.
                if record.status != "cancelled" and record.resolved_by not in ("api", "system") \
                        and (record.resolved_at or "") >= start and record.id not in audited:
                    problems.append(f"the decision on {record.id} ({record.resolved_by} at {record.resolved_at}) "
                                    "has no audit row (deleted)")
        return len(entries), problems

    async def item(self, interrupt_id: str) -> InboxItem:
        """One interrupt by id or unique id prefix (see resolve_id)."""
        record = await self.backend.interrupt(await self.resolve_id(interrupt_id))
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
            try:
                since = await self.backend.last_event_seq()
            except ConnectionError:
                # A remote server that stopped answering just now: its stream says so, retries
                # by itself and starts after its newest event once it answers (the screen then
                # reads the list again, so nothing raised meanwhile is missed).
                since = -1
        async for event in self.backend.subscribe(since=since):
            if hasattr(event, "online"):  # a remote server's connection changed
                yield InboxUpdate("connection", online=event.online, reason=event.reason)
            elif isinstance(event, InterruptRaised):
                yield InboxUpdate("raised", event.interrupt_id, InboxItem.of(InterruptRecord(
                    id=event.interrupt_id, thread_id=event.thread_id, graph=event.graph, ns=event.ns,
                    node=event.node, checkpoint_id=event.checkpoint_id, payload=event.value,
                    created_at=event.at, deadline=event.deadline, status="pending",
                    response_schema=event.response_schema)))
            elif getattr(event, "interrupt_id", None):
                yield InboxUpdate("changed", event.interrupt_id)
            else:
                yield InboxUpdate("run")

    # --- deciding -------------------------------------------------------------------------------
    async def check(self, interrupt_id: str, response: Any) -> Any:
        """The normalized response, or InvalidResponse; nothing is stored."""
        record = (await self.item(interrupt_id)).record
        return check_response(record.payload, response, record.response_schema)

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
        interrupt_id = (await self.item(interrupt_id)).id  # a clear error for an unknown id; prefixes work
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
