"""An Agent Server over HTTP (`inbox serve`, or LangGraph's own server) as an inbox backend.

Reading maps the server's threads onto the local backend's record types, so screens do not
change: every interrupt of a thread found by `threads/search status="interrupted"` (its
`interrupts`, else its state's tasks) is a pending InterruptRecord; the thread view comes from
`state` and `history`. Request shapes (HumanInterrupt lists, LangChain v1 requests, questions)
are read by the engine's review helpers, as locally.

Deciding, exactly once (see `claim`):
- `inbox serve` pins a resume to the interrupt pending when it arrives and answers 409 (who,
  when) to a second one: one background run is created; its 409 is "someone else decided".
- LangGraph's server applies a late answer to the thread's *next* interrupt. So: check the
  interrupt is still pending, resume with `{interrupt id: answer}` and
  `multitask_strategy="reject"` (a run already in flight, someone else's, is a 409), wait for
  the run, then confirm from the history that *our* run consumed the interrupt. If it is gone
  before we send, or another run consumed it, the answer is "someone else decided first", and
  nothing is ever sent again.
A fault while sending is "not sent" when the request cannot have arrived (refused), and
"may have arrived" otherwise, after looking: never retried, never silently dropped.

Following: `inbox serve`'s `/inbox/events` stream; LangGraph's server is polled
(remote_follow.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, AsyncIterator

import httpx

from engine.checkpoint.store import InterruptRecord
from engine.errors import AlreadyResolved, EngineError
from engine.runtime.decisions import check_response
from engine.runtime.ownership import Applied
from inbox.backends.errors import DecidedElsewhere, DecisionNotSent, NeedsStore
from inbox.backends.http import AgentServerClient, ApiError, ServerUnreachable, describe_fault
from inbox.backends.remote_index import PendingIndex, Resume
from inbox.backends.remote_shapes import interrupt_records, matches, now_iso, thread_record, timestamp

SEARCH_PAGE = 200  # threads per threads/search request while listing with a filter
MAX_PAGE = 1000  # the most threads/search returns at once (its `limit` bound): lookups scan by it
KINDS = {"inbox-serve": "inbox serve"}


class RemoteBackend:
    """An Agent Server at `url`. `kind` is "remote"; `server_kind` is "inbox serve" or
    "LangGraph server" once `connect()` has asked `/info`."""

    kind = "remote"

    def __init__(self, url: str, api_key: str | None = None, *, poll_interval: float = 2.0,
                 timeout: float = 10.0):
        self.url = url.rstrip("/")
        self._key = api_key
        self._timeout = timeout
        self.poll_interval = poll_interval
        self.server_kind: str = "Agent Server"
        self.graphs: dict[str, Any] = {}  # runs continue on the server, never here
        self._clients: dict[Any, AgentServerClient] = {}
        self._decided: dict[str, InterruptRecord] = {}  # decisions made through this backend
        self._applied: dict[str, Applied] = {}
        self._runs: dict[str, tuple[str, str]] = {}  # interrupt id -> (thread id, run id)
        self.index = PendingIndex()  # where interrupts are, learnt while listing and following
        self._pending_exact = True  # whether the last count was exact (see pending_count_exact)
        self.online = True  # False while the server does not answer (the TUI shows it)
        self._listing: dict[tuple, asyncio.Future] = {}  # listings in flight, shared

    def __repr__(self) -> str:
        return f"RemoteBackend({self.url!r}, {self.server_kind})"

    @property
    def ours(self) -> bool:
        return self.server_kind == "inbox serve"

    @property
    def runs_here(self) -> bool:
        return True  # the server continues the runs

    @property
    def pending_count_exact(self) -> bool:
        """Whether the last count_by_status()["pending"] is exact, or a lower bound (a thread
        not read yet may wait on more than one interrupt)."""
        return self._pending_exact

    def client(self) -> AgentServerClient:
        """One client per event loop: the TUI's loop and the engine's loop (blocking calls)
        both use the backend, and an httpx connection pool belongs to one loop."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = AgentServerClient(self.url, self._key, timeout=self._timeout)
        return client

    async def connect(self) -> "RemoteBackend":
        """Ask `/info` what server this is (a clear error when it is not an Agent Server)."""
        try:
            info = await self.client().get("/info")
        except ApiError as error:
            if error.status == 404:
                raise EngineError(f"{self.url} does not look like an Agent Server (GET /info answered 404); "
                                  "give the URL `inbox serve` or `langgraph dev` printed.") from None
            raise
        except ValueError:
            raise EngineError(f"{self.url} does not look like an Agent Server (GET /info is not JSON).") from None
        host = (info.get("host") or {}) if isinstance(info, dict) else {}
        self.server_kind = KINDS.get(host.get("kind"), "LangGraph server")
        return self

    # --- reading ------------------------------------------------------------------------------
    async def _search(self, body: dict) -> tuple[list[dict], int | None]:
        response = await self.client().post_read("/threads/search", body)
        total = response.headers.get("x-pagination-total")
        return response.json(), int(total) if total and total.isdigit() else None

    async def _interrupted(self, *, graph: str | None = None, thread_id: str | None = None,
                           page: int = SEARCH_PAGE, start: int = 0) -> AsyncIterator[tuple[int, int, InterruptRecord]]:
        """Pending interrupts, oldest thread first, reading `page` threads at a time from thread
        offset `start`: (thread offset, index within the thread, record)."""
        offset = start
        while True:
            body: dict[str, Any] = {"status": "interrupted", "limit": page, "offset": offset,
                                    "sort_by": "created_at", "sort_order": "asc"}
            if graph:
                body["metadata"] = {"graph_id": graph}
            if thread_id:
                body["ids"] = [thread_id]
            threads, _total = await self._search(body)
            for position, thread in enumerate(threads, start=offset):
                tasks = None
                if not thread.get("interrupts"):
                    tasks = (await self.client().get(f"/threads/{thread['thread_id']}/state")).get("tasks")
                records = interrupt_records(thread, tasks)
                self.index.read(thread["thread_id"], [r.id for r in records])
                for within, record in enumerate(records):
                    yield position, within, record
            if len(threads) < page:
                return
            offset += len(threads)

    async def list_pending(self, *, text=None, limit=None, offset=0, graph=None, thread_id=None, action=None):
        # The same listing asked again while one is in flight (the screen's load worker is
        # restarted as it mounts) shares the request: a cancelled caller does not stop the
        # server's work, so a second request would only queue behind the first.
        key = (asyncio.get_running_loop(), text, limit, offset, graph, thread_id, action)
        task = self._listing.get(key)
        if task is None:
            task = asyncio.ensure_future(self._list_pending(text=text, limit=limit, offset=offset, graph=graph,
                                                            thread_id=thread_id, action=action))
            self._listing[key] = task
            task.add_done_callback(lambda _done: self._listing.pop(key, None))
        return list(await asyncio.shield(task))

    async def _list_pending(self, *, text, limit, offset, graph, thread_id, action):
        # A thread may hold several interrupts, so pages of threads are read until `limit`
        # interrupts after `offset` are found. Where interrupt number `offset` starts was
        # remembered by the page before (remote_index.Resume): a later page is read from
        # there, not from the first thread again. The first screen reads one small page.
        listing = (text, graph, thread_id, action)
        resume = self.index.resume_at(listing, offset) if offset else None
        start, skip_in_first, index = (resume.thread_offset, resume.skip, offset) if resume else (0, 0, 0)
        wanted = offset - index + (limit if limit is not None else 0) + 1
        page = SEARCH_PAGE if (text or action or limit is None) else max(1, min(MAX_PAGE, wanted))
        out: list[InterruptRecord] = []
        points: dict[int, Resume] = {}
        async for position, within, record in self._interrupted(graph=graph, thread_id=thread_id, page=page,
                                                                start=start):
            if position == start and within < skip_in_first:
                continue
            if not matches(record, text, action):
                continue
            if limit is not None and len(out) >= limit:
                points[index] = Resume(position, within)  # the first one after this page
                break
            if index >= offset:
                points[index] = Resume(position, within)
                out.append(record)
            index += 1
        self.index.remember_resume(listing, points)
        return out

    async def decisions(self, *, thread_id: str | None = None, limit: int | None = None):
        """The server keeps no audit log a client can read: the decisions made from here, and
        for one thread, the requests its history shows were answered (who and what unknown)."""
        rows = [r for r in reversed(self._decided.values()) if thread_id is None or r.thread_id == thread_id]
        if thread_id is not None:
            rows += [r for r in await self._answered_in_history(thread_id) if r.id not in self._decided]
        return rows[:limit] if limit is not None else rows

    async def _answered_in_history(self, thread_id: str) -> list[InterruptRecord]:
        """Newest first: interrupts of earlier checkpoints that are no longer pending."""
        try:
            thread = await self.client().get(f"/threads/{thread_id}")
            history = (await self.client().post_read(f"/threads/{thread_id}/history", {"limit": 50})).json()
        except ApiError as error:
            if error.status == 404:
                return []
            raise
        pending = {r.id for r in interrupt_records(thread, await self._tasks(thread))}
        graph = str((thread.get("metadata") or {}).get("graph_id") or "")
        found: dict[str, InterruptRecord] = {}
        for index, state in enumerate(history):
            answered_at = history[index - 1].get("created_at") if index > 0 else None
            for task in state.get("tasks") or []:
                for raised in task.get("interrupts") or []:
                    if not isinstance(raised, dict) or raised.get("id") in pending or raised.get("id") in found:
                        continue
                    if not raised.get("id") or answered_at is None:
                        continue
                    found[raised["id"]] = InterruptRecord(
                        id=raised["id"], thread_id=thread_id, graph=graph, node=task.get("name", ""),
                        payload=raised.get("value"), created_at=timestamp(state.get("created_at")), status="resolved",
                        resolved_at=answered_at, applied=True)
        return list(found.values())

    async def failed_threads(self):
        threads, _ = await self._search({"status": "error", "limit": 100})
        return [thread_record(t) for t in threads]

    async def count_by_status(self) -> dict[str, int]:
        """The server counts interrupted threads (one request, any number of them); the
        interrupts of threads read so far make it a count of requests (PendingIndex)."""
        threads, total = await self._search({"status": "interrupted", "limit": 1})
        if total is None:  # a server without X-Pagination-Total: read every interrupted thread
            pending, self._pending_exact = len(await self.list_pending()), True
        else:
            pending, self._pending_exact = self.index.pending_count(total)
        return {"pending": pending, "resolved": len(self._decided)}

    async def _find(self, interrupt_id: str) -> tuple[dict, InterruptRecord | None]:
        """The interrupt's thread and record (None when it is not pending). Its thread is
        known when it was listed, followed or looked up before; otherwise the interrupted
        threads are scanned, MAX_PAGE at a time (the API has no lookup by interrupt id), and
        every thread read on the way is remembered for the next lookup."""
        thread_id = self.index.thread_of(interrupt_id)
        if thread_id is not None:
            try:
                thread = await self.client().get(f"/threads/{thread_id}")
            except ApiError as error:
                if error.status != 404:
                    raise
            else:
                records = interrupt_records(thread, await self._tasks(thread))
                self.index.read(thread_id, [r.id for r in records])
                for record in records:
                    if record.id == interrupt_id:
                        return thread, record
                return thread, None
        async for _position, _within, record in self._interrupted(page=MAX_PAGE):
            if record.id == interrupt_id:
                return await self.client().get(f"/threads/{record.thread_id}"), record
        return {}, None

    async def _tasks(self, thread: dict) -> list[dict] | None:
        if thread.get("interrupts") or thread.get("status") != "interrupted":
            return None
        return (await self.client().get(f"/threads/{thread['thread_id']}/state")).get("tasks")

    async def _decided_elsewhere(self, interrupt_id: str, thread: dict | None) -> InterruptRecord | None:
        """An interrupt no longer pending, found in recent history: a resolved record (who
        and when are unknown to LangGraph's API; when = the checkpoint that consumed it)."""
        candidates = [thread] if thread else []
        if not candidates:
            recent, _ = await self._search({"limit": 20, "sort_by": "updated_at", "sort_order": "desc"})
            candidates = recent
        for candidate in candidates:
            history = (await self.client().post_read(f"/threads/{candidate['thread_id']}/history",
                                                     {"limit": 50})).json()
            for index, state in enumerate(history):
                for task in state.get("tasks") or []:
                    for found in task.get("interrupts") or []:
                        if isinstance(found, dict) and found.get("id") == interrupt_id:
                            later = history[index - 1] if index > 0 else state
                            meta = candidate.get("metadata") or {}
                            return InterruptRecord(
                                id=interrupt_id, thread_id=candidate["thread_id"], graph=str(meta.get("graph_id") or ""),
                                node=task.get("name", ""), payload=found.get("value"),
                                created_at=timestamp(state.get("created_at")), status="resolved",
                                resolved_at=later.get("created_at"), resolved_by=None)
        return None

    async def interrupt(self, interrupt_id: str):
        if interrupt_id in self._decided:
            return self._decided[interrupt_id]
        thread, record = await self._find(interrupt_id)
        if record is None:
            record = await self._decided_elsewhere(interrupt_id, thread or None)
        return record

    async def find_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids starting with `prefix`: the API has no prefix lookup, so the pending interrupts
        are scanned (and the decisions made from here), as `interrupt()` scans for a full id."""
        found = [i for i in self._decided if i.startswith(prefix)]
        async for _position, _within, record in self._interrupted(page=MAX_PAGE):
            if len(found) >= limit:
                break
            if record.id.startswith(prefix) and record.id not in found:
                found.append(record.id)
        return found[:limit]

    async def claimed_unapplied(self) -> list:
        return []  # the server continues every run it accepted a decision for: no worker waits here

    async def audit_log(self, since: str | None = None) -> list[dict]:
        raise NeedsStore("The audit log", self.url)

    async def rules(self, include_revoked: bool = False) -> list[dict]:
        raise NeedsStore("Rules", self.url)

    async def put_rule(self, rule: dict) -> dict:
        raise NeedsStore("Rules", self.url)

    async def thread(self, thread_id: str):
        try:
            return thread_record(await self.client().get(f"/threads/{thread_id}"))
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    async def state(self, thread_id: str) -> tuple[dict, str | None]:
        try:
            client = self.client()  # both at once: the detail pane waits for them
            thread, state = await asyncio.gather(client.get(f"/threads/{thread_id}"),
                                                 client.get(f"/threads/{thread_id}/state"))
        except ApiError as error:
            if error.status == 404:
                return {}, None
            raise
        error = thread.get("error")
        if isinstance(error, dict):
            error = f"{error.get('error', 'Error')}: {error.get('message', '')}"
        for task in state.get("tasks") or []:
            if task.get("error") and not error:
                error = str(task["error"])
        return dict(state.get("values") or {}), (str(error) if error else None)

    async def history(self, thread_id: str, limit: int = 30) -> list[dict]:
        states = (await self.client().post_read(f"/threads/{thread_id}/history", {"limit": limit})).json()
        return [{"checkpoint_id": s.get("checkpoint_id") or (s.get("checkpoint") or {}).get("checkpoint_id"),
                 "step": (s.get("metadata") or {}).get("step"), "source": (s.get("metadata") or {}).get("source"),
                 "created": s.get("created_at"), "next": list(s.get("next") or [])} for s in states]

    # --- deciding -----------------------------------------------------------------------------
    async def claim(self, interrupt_id: str, response: Any, *, by: str):
        """Deliver one decision (see the module docstring); the resolved record. Raises
        InvalidResponse (nothing sent), AlreadyResolved (someone else decided first; nothing
        applied), DecisionNotSent, LookupError."""
        try:
            record, answer, checkpoint_id = await self._before_sending(interrupt_id, response)
        except ServerUnreachable as error:  # nothing left this machine
            raise DecisionNotSent(f"not sent: {error} Nothing was applied; decide again when it is back.") from None
        body = {"assistant_id": record.graph or "agent", "command": {"resume": {interrupt_id: answer}},
                "multitask_strategy": "reject"}
        run = await self._send(f"/threads/{record.thread_id}/runs", body, interrupt_id)
        decided = record.model_copy(update={"status": "resolved", "resolved_by": by, "resolved_at": now_iso(),
                                            "response": answer, "applied": False})
        self._runs[interrupt_id] = (record.thread_id, run["run_id"])
        if not self.ours:
            try:
                await self._join(record.thread_id, run["run_id"])
                consumed = await self._consumed_by(record.thread_id, checkpoint_id, run["run_id"])
            except (ServerUnreachable, httpx.TransportError) as error:
                reason = error.reason if isinstance(error, ServerUnreachable) else describe_fault(error)
                raise DecisionNotSent(f"the decision was sent (run {run['run_id']}) but could not be confirmed "
                                      f"({reason}); it was not sent again. Refresh to see whether interrupt "
                                      f"{interrupt_id} is still pending.", maybe=True) from None
            if not consumed:
                raise DecidedElsewhere(interrupt_id, url=self.url)
        self._decided[interrupt_id] = decided
        self.index.gone(interrupt_id)
        return decided

    async def _before_sending(self, interrupt_id: str, response: Any) -> tuple[InterruptRecord, Any, str | None]:
        """The record, the checked answer, and (LangGraph) the checkpoint it is pending at."""
        record = await self.interrupt(interrupt_id)
        if record is None:
            raise LookupError(f"no pending interrupt with id {interrupt_id!r} on {self.url}; "
                              f"`inbox list --url {self.url}` shows the pending ones and their ids.")
        answer = check_response(record.payload, response, record.response_schema)
        if interrupt_id in self._decided:
            raise AlreadyResolved(interrupt_id, self._decided[interrupt_id].resolved_by,
                                  self._decided[interrupt_id].resolved_at)
        if record.status != "pending" and not self.ours:
            raise DecidedElsewhere(interrupt_id, record.resolved_by, record.resolved_at, url=self.url)
        thread_id = record.thread_id
        checkpoint_id = None
        if not self.ours:
            # Still pending, and at which checkpoint: our run must be the one that leaves it.
            state = await self.client().get(f"/threads/{thread_id}/state")
            pending = [i.get("id") for t in state.get("tasks") or [] for i in t.get("interrupts") or []]
            if interrupt_id not in pending:
                raise DecidedElsewhere(interrupt_id, url=self.url)
            checkpoint_id = state.get("checkpoint_id") or (state.get("checkpoint") or {}).get("checkpoint_id")
        return record, answer, checkpoint_id

    async def _send(self, path: str, body: dict, interrupt_id: str) -> dict:
        client = self.client()
        try:
            return (await client.send_once(path, body)).json()
        except ApiError as error:
            if error.status == 409:
                detail = error.detail if isinstance(error.detail, dict) else {}
                raise DecidedElsewhere(interrupt_id, detail.get("decided_by"), detail.get("decided_at"),
                                       url=self.url) from None
            raise
        except httpx.ConnectError as error:
            raise DecisionNotSent(f"not sent: {client.url} is unreachable ({describe_fault(error)}); nothing was "
                                  "applied. Decide again when the server is back.") from None
        except (httpx.TransportError, ServerUnreachable) as error:
            reason = error.reason if isinstance(error, ServerUnreachable) else describe_fault(error)
            raise DecisionNotSent(f"the decision may not have been delivered ({reason}); it was not sent again. "
                                  f"Refresh to see whether interrupt {interrupt_id} is still pending.",
                                  maybe=True) from None

    async def _join(self, thread_id: str, run_id: str) -> dict:
        response = await self.client().http.get(f"/threads/{thread_id}/runs/{run_id}/join",
                                                timeout=httpx.Timeout(None, connect=3.0))
        return self.client()._check(response).json()

    async def _consumed_by(self, thread_id: str, checkpoint_id: str | None, run_id: str) -> bool:
        """Whether the checkpoint written after `checkpoint_id` came from our run."""
        history = (await self.client().post_read(f"/threads/{thread_id}/history", {"limit": 100})).json()
        for state in history:
            parent = state.get("parent_checkpoint_id") or (state.get("parent_checkpoint") or {}).get("checkpoint_id")
            if parent == checkpoint_id:
                return (state.get("metadata") or {}).get("run_id") in (run_id, None)
        return False

    async def apply(self, record: Any) -> Applied:
        """Wait for the run our decision started and say what it did."""
        if record.id in self._applied:
            return self._applied[record.id]
        thread_id, run_id = self._runs[record.id]
        if self.ours:
            await self._join(thread_id, run_id)
        thread = await self.client().get(f"/threads/{thread_id}")
        records = interrupt_records(thread, await self._tasks(thread))
        self.index.read(thread_id, [r.id for r in records])
        interrupts = [_Raised(r.id, r.payload) for r in records]
        status = thread.get("status")
        error = None
        if status == "error":
            error = (await self.state(thread_id))[1] or "the run failed"
        applied = Applied(thread_id, record.graph, [record.id],
                          "error" if status == "error" else "interrupted" if interrupts else "done",
                          interrupts=interrupts, error=error)
        self._applied[record.id] = applied
        self._decided[record.id] = record.model_copy(update={"applied": True})
        return applied

    async def recover(self, *, concurrency: int = 1):
        return []  # the server runs its runs

    async def expire(self, now: datetime | None = None):
        return []  # deadlines are the server's

    # --- following ----------------------------------------------------------------------------
    async def last_event_seq(self) -> int:
        """`inbox serve`: the seq of its newest event (`/inbox/events?since=now` says it in a
        header; the stream is closed at once). -1 otherwise: "from when subscribe() is called"."""
        if not self.ours:
            return -1
        try:
            async with self.client().stream("/inbox/events", params={"since": "now"}) as response:
                header = response.headers.get("x-inbox-since", "")
                return int(header) if response.status_code == 200 and header.isdigit() else -1
        except httpx.TransportError as error:
            raise ServerUnreachable(self.url, describe_fault(error)) from None

    def subscribe(self, since: int | None = None) -> AsyncIterator[Any]:
        from inbox.backends.remote_follow import follow

        return follow(self, since, now_iso())

    def close(self) -> None:
        """Close each loop's client on its own loop (the engine's loop runs in a thread)."""
        for loop, client in list(self._clients.items()):
            if loop.is_closed():
                continue
            try:
                if loop.is_running():
                    asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=2)
                else:
                    loop.run_until_complete(client.aclose())
            except Exception:  # noqa: BLE001 - closing sockets at exit: nothing left to tell
                pass
        self._clients.clear()

    async def aclose(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


class _Raised:
    """A new interrupt a decision led to, as Applied.interrupts carries them (id, value)."""

    def __init__(self, id: str, value: Any):
        self.id = id
        self.value = value


__all__ = ["RemoteBackend", "DecisionNotSent", "thread_record", "interrupt_records"]
