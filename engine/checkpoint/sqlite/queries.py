"""The SQLite saver's inbox queries (pending interrupts, counts, threads, the audit log, claims
and due deadlines) and its exactly-once decisions (resolve, expire), with their sync twins:
`Queries`, the component the saver uses (it delegates the store protocol's methods to it),
over the `Runner` it is given (runner.py)."""

from __future__ import annotations

import getpass
import os
import socket
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from engine._internal.sync import run_sync
from engine.checkpoint.serde import dumps, loads, to_jsonable
from engine.checkpoint.sqlite.audit_log import append_audit
from engine.checkpoint.sqlite.rules_store import list_rules, put_rule
from engine.checkpoint.sqlite.batching import chunks
from engine.checkpoint.sqlite.events import event_row, insert_events
from engine.checkpoint.sqlite.records import (DECISION_COLUMNS, INTERRUPT_COLUMNS, PENDING_COLUMNS,
                                              THREAD_COLUMNS, InterruptNotFound, InterruptRecord, ThreadRecord,
                                              interrupt_from_row, interrupts_from_rows, pending_from_rows,
                                              thread_from_row)
from engine.constants import reserved_decider
from engine.errors import AlreadyResolved
from engine.events import InterruptExpired, InterruptResolved
from engine.review.validate import check_answer

if TYPE_CHECKING:
    from engine.checkpoint.sqlite.runner import Runner

# A HumanInterrupt payload (alone or in a list) names its tool in action_request.action; the
# newer HITL request shape lists action_requests[] with a name each.
_ACTION_MATCH_SQL = """(CASE json_type(payload)
    WHEN 'object' THEN (
        json_extract(payload, '$.action_request.action') = ?
        OR EXISTS (SELECT 1 FROM json_each(payload, '$.action_requests') AS r
                   WHERE json_type(r.value) = 'object' AND json_extract(r.value, '$.name') = ?))
    WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(payload) AS r
                              WHERE json_type(r.value) = 'object'
                              AND json_extract(r.value, '$.action_request.action') = ?)
    ELSE 0 END)"""


def os_identity() -> tuple[str, str]:
    """(OS user, host) of this process, recorded with each decision it claims: the reviewer
    name is whatever the reviewer typed, these are what the machine knows."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name and no passwd entry (containers): the uid still says who
        user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return user, socket.gethostname()


class Queries:
    """The inbox's queries and exactly-once decisions over one saver's file (the store
    protocol's listing, lookups, decisions and deadlines). Runs its work through the saver's
    `Runner`; appends the events of its decisions with events.py's functions."""

    def __init__(self, runner: "Runner") -> None:
        self._run = runner


    # --- the inbox's queries ------------------------------------------------------------------------
    async def alist_pending(self, limit: int | None = None, offset: int = 0, graph: str | None = None,
                            thread_id: str | None = None, action: str | None = None,
                            text: str | None = None) -> list[InterruptRecord]:
        """Pending interrupts, oldest first, from the status index (never scans checkpoints).

        `action` matches the payload's `action_request.action` (a HumanInterrupt, alone or in a
        list) or any `action_requests[].name`; `text` is a case-insensitive substring of the
        payload's JSON text."""
        sql, params = self._pending_query(limit, offset, graph, thread_id, action, text)
        return pending_from_rows(*await self._run.read(self._fetch_pending, sql, params))

    @staticmethod
    def _fetch_pending(db, _txn, sql: str, params: list) -> tuple[list, dict]:
        rows = db.execute(sql, params).fetchall()
        # rows with a decision column set (see PENDING_COLUMNS): read those, in the same snapshot
        decided = [row[-1] for row in rows if row[-1] is not None]
        decisions = {}
        for chunk in chunks(decided):
            marks = ",".join("?" * len(chunk))
            for rowid, *columns in db.execute(f"SELECT {DECISION_COLUMNS} FROM interrupts WHERE rowid IN ({marks})",
                                              chunk):
                decisions[rowid] = columns
        return rows, decisions

    @staticmethod
    def _pending_query(limit, offset, graph, thread_id, action, text) -> tuple[str, list]:
        where = ["status = 'pending'"]
        params: list[Any] = []
        if graph is not None:
            where.append("graph = ?")
            params.append(graph)
        if thread_id is not None:
            where.append("thread_id = ?")
            params.append(str(thread_id))
        if action is not None:
            where.append(_ACTION_MATCH_SQL)
            params += [action, action, action]
        if text is not None:
            where.append("engine_icontains(payload, ?)")
            params.append(text)
        # Walk the (status, created_at) index in order: the first page costs the same at 100k
        # pending rows as at 10 (a thread's own index is smaller when one is given).
        index = "" if thread_id is not None else "INDEXED BY interrupts_by_status "
        sql = (f"SELECT {PENDING_COLUMNS} FROM interrupts {index}"
               f"WHERE {' AND '.join(where)} ORDER BY created_at, rowid LIMIT ? OFFSET ?")
        params += [-1 if limit is None else limit, offset or 0]
        return sql, params

    async def acount_by_status(self) -> dict[str, int]:
        """{"pending": n, "resolved": n, "cancelled": n, "expired": n} (every key present)."""
        counts = {"pending": 0, "resolved": 0, "cancelled": 0, "expired": 0}
        for status, count in await self._run.query("SELECT status, count(*) FROM interrupts GROUP BY status"):
            counts[status] = count
        return counts

    async def aget_interrupt(self, interrupt_id: str) -> InterruptRecord | None:
        """The interrupt with this id in any status, or None."""
        rows = await self._run.query(f"SELECT {INTERRUPT_COLUMNS} FROM interrupts WHERE id = ?", (interrupt_id,))
        return interrupt_from_row(rows[0]) if rows else None

    async def aaudit_log(self, since: datetime | str | None = None) -> list[dict]:
        """The audit log in order: {"seq", "at", "interrupt_id", "row" (canonical JSON), "hash"},
        from `since` (a decision time) on when given."""
        sql, params = "SELECT seq, at, interrupt_id, row, hash FROM audit_log", []
        if since is not None:
            sql += " WHERE at >= ?"
            params.append(self._run.when(since))
        rows = await self._run.query(sql + " ORDER BY seq", params)
        return [{"seq": r[0], "at": r[1], "interrupt_id": r[2], "row": r[3], "hash": r[4]} for r in rows]

    async def aput_rule(self, rule: dict) -> dict:
        """Add a rule (engine/checkpoint/rules.py; an id and created_at are given to a new one) or
        replace one (to revoke it: set revoked_at and revoked_by). ValueError for a bad rule."""
        now = self._run.when(None)
        return await self._run.write(lambda db, _txn: put_rule(db, dict(rule), now))

    async def alist_rules(self, include_revoked: bool = False) -> list[dict]:
        """The rules, oldest first (revoked ones only with include_revoked)."""
        return await self._run.read(lambda db, _txn: list_rules(db, include_revoked))

    async def afind_interrupt_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of interrupts in any status that start with `prefix`, in id order, at most `limit`:
        how a short id a person typed is resolved. A range over the primary key, not a scan."""
        # U+10FFFF sorts after every character an id can hold (SQLite compares UTF-8 bytes).
        rows = await self._run.query("SELECT id FROM interrupts WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                                     (prefix, prefix + "\U0010ffff", limit))
        return [row[0] for row in rows]

    async def alist_threads(self, status: str | None = None, limit: int | None = None,
                            offset: int = 0) -> list[ThreadRecord]:
        """Threads, most recently updated first, with their count of pending interrupts."""
        sql = (f"SELECT {THREAD_COLUMNS}, (SELECT count(*) FROM interrupts AS i "
               "WHERE i.thread_id = t.thread_id AND i.status = 'pending') FROM threads AS t")
        params: list[Any] = []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(status)
        sql += " ORDER BY updated_at DESC, rowid DESC LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset or 0]
        return [thread_from_row(row) for row in await self._run.query(sql, params)]

    async def aget_thread(self, thread_id: str) -> ThreadRecord | None:
        """One thread with its count of pending interrupts, or None."""
        rows = await self._run.query(
            f"SELECT {THREAD_COLUMNS}, (SELECT count(*) FROM interrupts AS i "
            "WHERE i.thread_id = t.thread_id AND i.status = 'pending') FROM threads AS t WHERE thread_id = ?",
            (thread_id,))
        return thread_from_row(rows[0]) if rows else None

    async def adecisions(self, thread_id: str | None = None, limit: int | None = None,
                         offset: int = 0) -> list[InterruptRecord]:
        """The audit log: resolved, cancelled and expired interrupts, newest decision first."""
        sql = f"SELECT {INTERRUPT_COLUMNS} FROM interrupts WHERE status <> 'pending'"
        params: list[Any] = []
        if thread_id is not None:
            sql += " AND thread_id = ?"
            params.append(str(thread_id))
        sql += " ORDER BY resolved_at DESC, rowid DESC LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset or 0]
        return interrupts_from_rows(await self._run.query(sql, params))

    async def alist_claimed_unapplied(self) -> list[InterruptRecord]:
        """Decisions claimed (resolve(), or expiry with a default response) that the runtime has
        not applied yet, oldest claim first: resume each with its `response` after a restart."""
        return [interrupt_from_row(row) for row in await self._run.query(
            f"SELECT {INTERRUPT_COLUMNS} FROM interrupts "
            "WHERE applied = 0 AND status IN ('resolved', 'expired') ORDER BY resolved_at, rowid")]

    async def alist_due(self, now: datetime | str | None = None, limit: int | None = None) -> list[InterruptRecord]:
        """Pending interrupts whose deadline is at or before `now` (default: the saver's clock)
        and that are not flagged overdue yet, earliest deadline first."""
        return [interrupt_from_row(row) for row in await self._run.query(
            f"SELECT {INTERRUPT_COLUMNS} FROM interrupts "
            "WHERE status = 'pending' AND deadline IS NOT NULL AND deadline <= ? AND overdue = 0 "
            "ORDER BY deadline, rowid LIMIT ?",
            (self._run.when(now), -1 if limit is None else limit))]

    # --- exactly-once decisions (connection thread helpers first) -----------------------------------
    @staticmethod
    def _interrupt_row(db, interrupt_id: str) -> InterruptRecord | None:
        row = db.execute(f"SELECT {INTERRUPT_COLUMNS} FROM interrupts WHERE id = ?", (interrupt_id,)).fetchone()
        return interrupt_from_row(row) if row else None

    def _lost(self, db, interrupt_id: str) -> BaseException:
        row = self._interrupt_row(db, interrupt_id)
        if row is None:
            return InterruptNotFound(interrupt_id, self._run.path)
        return AlreadyResolved(interrupt_id, row.resolved_by or row.status, row.resolved_at, row.response)

    async def aresolve(self, interrupt_id: str, response: Any, *, by: str,
                       at: datetime | str | None = None) -> InterruptRecord:
        """Claim a pending interrupt with `response`, exactly once across tasks, loops and
        processes (one conditional UPDATE). The claim and an InterruptResolved event commit
        together with applied=0; the runtime marks it applied when it resumes the graph (by
        storing its own InterruptResolved event).

        Raises AlreadyResolved (with by, at, response of the earlier decision) if it is no
        longer pending, InterruptNotFound (a KeyError) if no such interrupt exists, and
        InvalidResponse if the request's config does not allow the answer (nothing is stored).

        The row also records the OS user and host of this process (`decided_user`,
        `decided_host`). `by` names a person: the names the system records its own decisions
        under ("deadline", "system", "api", "rule:...") are refused with ValueError."""
        if not isinstance(by, str) or not by:
            raise ValueError("resolve() needs by=<who decided>, e.g. by='alice'; it goes into the audit log.")
        reserved = reserved_decider(by)
        if reserved is not None:
            raise ValueError(f"resolve(by=...): {reserved}.")
        when = self._run.when(at)
        stored = await self.aget_interrupt(interrupt_id)
        try:
            to_jsonable(response)  # first: validating a too deep answer fails less clearly
            if stored is not None and stored.status == "pending":
                # normalized, or InvalidResponse (also for an answer that breaks its response_schema)
                response = check_answer(stored.payload, response, stored.response_schema)
            response_text = dumps(response)
        except TypeError as exc:  # here, not as a bare TypeError from the serializer
            raise ValueError(f"the response to interrupt {interrupt_id} cannot be stored as JSON ({exc}); "
                             "answer with dicts, lists, strings, numbers, booleans or None.") from None
        user, host = os_identity()

        def claim(db, txn):
            cursor = db.execute(
                "UPDATE interrupts SET status = 'resolved', resolved_at = ?, resolved_by = ?, response = ?, "
                "applied = 0, decided_user = ?, decided_host = ? WHERE id = ? AND status = 'pending'",
                (when, by, response_text, user, host, interrupt_id))
            if cursor.rowcount != 1:
                raise self._lost(db, interrupt_id)
            record = self._interrupt_row(db, interrupt_id)
            event = InterruptResolved(at=when, thread_id=record.thread_id, graph=record.graph,
                                      interrupt_id=interrupt_id, response=response, by=by)
            insert_events(db, txn, [event_row(event)])
            append_audit(db, record)
            return record

        return await self._run.write(claim)

    def _expire_one(self, db, txn, interrupt_id: str, policy: str, response: Any, when: str
                    ) -> InterruptRecord | None:
        """Apply one expiry with its event; None if it was flagged already. Raises
        AlreadyResolved / InterruptNotFound when it is not pending."""
        if policy == "flag":
            cursor = db.execute(
                "UPDATE interrupts SET overdue = 1 WHERE id = ? AND status = 'pending' AND overdue = 0",
                (interrupt_id,))
        else:
            cursor = db.execute(
                "UPDATE interrupts SET status = 'expired', overdue = 1, resolved_at = ?, "
                "resolved_by = 'deadline', response = ?, applied = 0, reason = 'deadline passed' "
                "WHERE id = ? AND status = 'pending'",
                (when, dumps(response), interrupt_id))
        if cursor.rowcount != 1:
            row = self._interrupt_row(db, interrupt_id)
            if policy == "flag" and row is not None and row.status == "pending":
                return None
            raise self._lost(db, interrupt_id)
        record = self._interrupt_row(db, interrupt_id)
        event = InterruptExpired(at=when, thread_id=record.thread_id, graph=record.graph,
                                 interrupt_id=interrupt_id, policy=policy,
                                 response=response if policy == "resume" else None)
        insert_events(db, txn, [event_row(event)])
        if policy == "resume":  # answered by the deadline: a decision, so it is audited
            append_audit(db, record)
        return record

    async def aexpire(self, interrupt_id: str, *, policy: Literal["flag", "resume"] = "flag",
                      response: Any = None, at: datetime | str | None = None) -> InterruptRecord | None:
        """Apply a passed deadline to one interrupt, exactly once, with an InterruptExpired event.

        "flag": the interrupt stays pending with `overdue=True` (returns None if it was flagged
        already). "resume": it is claimed as expired with `response` by "deadline", to be
        applied by the runtime like a resolve() claim. Raises AlreadyResolved if it is no longer
        pending, InterruptNotFound if it does not exist."""
        if policy not in ("flag", "resume"):
            raise ValueError(f"policy must be 'flag' or 'resume', not {policy!r}")
        when = self._run.when(at)
        return await self._run.write(self._expire_one, interrupt_id, policy, response, when)

    async def aexpire_due(self, now: datetime | str | None = None) -> list[InterruptRecord]:
        """Expire every pending interrupt whose deadline is at or before `now` (default: the
        saver's clock) and that is not flagged yet, in one transaction: one with an
        `on_timeout` answer is claimed as expired with it (status "expired", applied=False:
        the caller resumes the run with `record.response`), the others are flagged overdue
        and stay pending. Returns the changed records, earliest deadline first."""
        cutoff = self._run.when(now)

        def expire_due(db, txn):
            due = db.execute(
                "SELECT id, on_timeout FROM interrupts "
                "WHERE status = 'pending' AND deadline IS NOT NULL AND deadline <= ? AND overdue = 0 "
                "ORDER BY deadline, rowid", (cutoff,)).fetchall()
            changed = []
            for interrupt_id, on_timeout in due:
                policy = "flag" if on_timeout is None else "resume"
                response = None if on_timeout is None else loads(on_timeout)
                record = self._expire_one(db, txn, interrupt_id, policy, response, cutoff)
                if record is not None:
                    changed.append(record)
            return changed

        return await self._run.write(expire_due)

    # --- sync twins -----------------------------------------------------------------------------------
    def list_pending(self, limit: int | None = None, offset: int = 0, graph: str | None = None,
                     thread_id: str | None = None, action: str | None = None,
                     text: str | None = None) -> list[InterruptRecord]:
        return run_sync(self.alist_pending(limit, offset, graph, thread_id, action, text), "saver.list_pending()")

    def count_by_status(self) -> dict[str, int]:
        return run_sync(self.acount_by_status(), "saver.count_by_status()")

    def get_interrupt(self, interrupt_id: str) -> InterruptRecord | None:
        return run_sync(self.aget_interrupt(interrupt_id), "saver.get_interrupt()")

    def get_thread(self, thread_id: str) -> ThreadRecord | None:
        return run_sync(self.aget_thread(thread_id), "saver.get_thread()")

    def list_threads(self, status: str | None = None, limit: int | None = None,
                     offset: int = 0) -> list[ThreadRecord]:
        return run_sync(self.alist_threads(status, limit, offset), "saver.list_threads()")

    def decisions(self, thread_id: str | None = None, limit: int | None = None,
                  offset: int = 0) -> list[InterruptRecord]:
        return run_sync(self.adecisions(thread_id, limit, offset), "saver.decisions()")

    def list_claimed_unapplied(self) -> list[InterruptRecord]:
        return run_sync(self.alist_claimed_unapplied(), "saver.list_claimed_unapplied()")

    def list_due(self, now: datetime | str | None = None, limit: int | None = None) -> list[InterruptRecord]:
        return run_sync(self.alist_due(now, limit), "saver.list_due()")

    def resolve(self, interrupt_id: str, response: Any, *, by: str,
                at: datetime | str | None = None) -> InterruptRecord:
        return run_sync(self.aresolve(interrupt_id, response, by=by, at=at), "saver.resolve()")

    def expire(self, interrupt_id: str, *, policy: Literal["flag", "resume"] = "flag",
               response: Any = None, at: datetime | str | None = None) -> InterruptRecord | None:
        return run_sync(self.aexpire(interrupt_id, policy=policy, response=response, at=at), "saver.expire()")

    def expire_due(self, now: datetime | str | None = None) -> list[InterruptRecord]:
        return run_sync(self.aexpire_due(now), "saver.expire_due()")


__all__ = ["Queries", "os_identity"]
