"""PostgresSaver's inbox queries (pending interrupts, counts, threads, the audit log, claims
and due deadlines) and its exactly-once decisions (resolve, expire): the store protocol's
listing half, as SQLite's queries.py does it, in Postgres SQL.

A decision is claimed by one conditional UPDATE (`... WHERE status = 'pending'`): under READ
COMMITTED a second claimer blocks on the row until the first commits, then finds it no longer
pending and learns who won."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from engine._internal.sync import run_sync
from engine.checkpoint.postgres.audit_log import append_audit, read_audit
from engine.checkpoint.postgres.bulk import chunks
from engine.checkpoint.postgres.events import append_rows, event_row
from engine.checkpoint.postgres.records import (DECISION_COLUMNS, INTERRUPT_COLUMNS, PENDING_COLUMNS,
                                                THREAD_COLUMNS, interrupt_from_row, interrupts_from_rows,
                                                pending_from_rows, thread_from_row)
from engine.checkpoint.postgres.rules_store import list_rules, put_rule
from engine.checkpoint.serde import dumps, loads, to_jsonable
from engine.checkpoint.sqlite.queries import os_identity
from engine.checkpoint.sqlite.records import _gc_paused as gc_paused  # SQLite's listing pauses it too
from engine.checkpoint.store import InterruptNotFound, InterruptRecord, ThreadRecord
from engine.constants import reserved_decider
from engine.errors import AlreadyResolved
from engine.events import InterruptExpired, InterruptResolved
from engine.review.validate import check_answer

# A HumanInterrupt payload (alone or in a list) names its tool in action_request.action; the
# newer HITL request shape lists action_requests[] with a name each.
_ACTION_MATCH_SQL = """(CASE jsonb_typeof(payload::jsonb)
    WHEN 'object' THEN (
        payload::jsonb #>> '{action_request,action}' = %(action)s
        OR EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(payload::jsonb -> 'action_requests')
                                                          = 'array' THEN payload::jsonb -> 'action_requests'
                                                          ELSE '[]'::jsonb END) AS r
                   WHERE jsonb_typeof(r) = 'object' AND r ->> 'name' = %(action)s))
    WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(payload::jsonb) AS r
                              WHERE jsonb_typeof(r) = 'object' AND r #>> '{action_request,action}' = %(action)s)
    ELSE false END)"""
_DECISIONS_SQL = f"SELECT {DECISION_COLUMNS} FROM engine_interrupts WHERE row_no = ANY(%s)"
#: a listing that may return more rows than this is read on a sync connection on a thread (bulk.py)
BULK_ROWS = 500


def _matching(rows: list, needle: str, offset: int | None, limit: int | None) -> list:
    """The rows whose payload text holds `needle` (casefolded), from `offset`, at most `limit`."""
    rows = [row for row in rows if needle in row[6].casefold()][offset or 0:]
    return rows if limit is None else rows[:limit]


def _decisions(found: list) -> dict:
    """DECISION_COLUMNS rows as pending_from_rows' `decisions`: row_no -> the other columns."""
    return {row[0]: row[1:] for row in found}


def _pending_in_chunks(conn, sql: str, params: dict, needle: str | None, offset: int | None,
                       limit: int | None) -> list[InterruptRecord]:
    """alist_pending on a sync connection (bulk.py): each chunk of rows becomes records as soon
    as it has arrived, while the server sends the next; a chunk with a row whose decision
    columns are set (rare: `decided`) waits for those columns, read once at the end. The garbage
    collector is paused for the whole listing, not per chunk: collections between chunks walk
    the records built so far, and a listing of 10k rows set off a full collection that way."""
    with gc_paused(True):
        row_chunks = chunks(conn, sql, params)
        if needle is not None:  # the filter needs every row before the offset and limit apply
            row_chunks = [_matching([row for chunk in row_chunks for row in chunk], needle, offset, limit)]
        parts: list[tuple[bool, list]] = []  # (built, records or rows)
        decided: list[int] = []
        for chunk in row_chunks:
            found = [row[-1] for row in chunk if row[-1] is not None]
            decided += found
            parts.append((False, chunk) if found else (True, pending_from_rows(chunk, {})))
        decisions = _decisions(conn.execute(_DECISIONS_SQL, (decided,)).fetchall()) if decided else {}
        records: list[InterruptRecord] = []
        for built, part in parts:
            records += part if built else pending_from_rows(part, decisions)
        return records


_PENDING_COUNT = ("(SELECT count(*) FROM engine_interrupts AS i WHERE i.thread_id = t.thread_id "
                  "AND i.status = 'pending')")


class Queries:
    """The store protocol's listing, lookups, decisions and deadlines over one saver."""

    def __init__(self, connections, when, where: str, on_rules_changed=lambda: None) -> None:
        self._db = connections
        self._on_rules_changed = on_rules_changed  # this process's rules cache (rules_store.py)
        self._when = when
        self._where = where  # the redacted DSN, for messages

    async def _query(self, sql: str, params: Any = ()) -> list:
        async def work(conn):
            return await (await conn.execute(sql, params)).fetchall()
        return await self._db.read(work)

    # --- listing ------------------------------------------------------------------------------------
    async def alist_pending(self, limit: int | None = None, offset: int = 0, graph: str | None = None,
                            thread_id: str | None = None, action: str | None = None,
                            text: str | None = None) -> list[InterruptRecord]:
        """Pending interrupts, oldest first, from the pending index (never scans checkpoints).
        `text` is a case-insensitive substring of the payload's JSON text (Python's casefold,
        as on SQLite, so it does not depend on the database's locale). A listing that may
        return more than BULK_ROWS rows is read on a sync connection on a thread (bulk.py)."""
        where, params = ["status = 'pending'"], {"action": action}
        if graph is not None:
            where.append("graph = %(graph)s")
            params["graph"] = graph
        if thread_id is not None:
            where.append("thread_id = %(thread_id)s")
            params["thread_id"] = str(thread_id)
        if action is not None:
            where.append(_ACTION_MATCH_SQL)
        sql = f"SELECT {PENDING_COLUMNS} FROM engine_interrupts WHERE {' AND '.join(where)} ORDER BY created_at, row_no"
        needle = None if text is None else str(text).casefold()
        if needle is None:
            sql += " LIMIT %(limit)s OFFSET %(offset)s"
            params.update(limit=limit, offset=offset or 0)
        if self._db.current.get() is None and (limit is None or limit > BULK_ROWS):
            return await self._db.bulk.read(lambda conn: _pending_in_chunks(conn, sql, params, needle, offset, limit))
        rows = await self._query(sql, params)
        if needle is not None:
            rows = _matching(rows, needle, offset, limit)
        decided = [row[-1] for row in rows if row[-1] is not None]
        decisions = {}
        if decided:
            decisions = _decisions(await self._query(_DECISIONS_SQL, (decided,)))
        return pending_from_rows(rows, decisions)

    async def acount_by_status(self) -> dict[str, int]:
        counts = {"pending": 0, "resolved": 0, "cancelled": 0, "expired": 0}
        for status, count in await self._query("SELECT status, count(*) FROM engine_interrupts GROUP BY status"):
            counts[status] = count
        return counts

    async def aget_interrupt(self, interrupt_id: str) -> InterruptRecord | None:
        rows = await self._query(f"SELECT {INTERRUPT_COLUMNS} FROM engine_interrupts WHERE id = %s", (interrupt_id,))
        return interrupt_from_row(rows[0]) if rows else None

    async def afind_interrupt_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of interrupts in any status that start with `prefix`, in id order (bytes, as on
        SQLite), at most `limit`: a range over the byte-ordered id index, not a scan."""
        # U+10FFFF sorts after every character an id can hold.
        rows = await self._query('SELECT id FROM engine_interrupts WHERE id COLLATE "C" >= %s '
                                 'AND id COLLATE "C" < %s ORDER BY id COLLATE "C" LIMIT %s',
                                 (prefix, prefix + "\U0010ffff", limit))
        return [row[0] for row in rows]

    async def aaudit_log(self, since: datetime | str | None = None) -> list[dict]:
        """The audit log in order (audit_log.py), from `since` (a decision time) on when given."""
        cutoff = None if since is None else self._when(since)

        async def work(conn):
            return await read_audit(conn, cutoff)

        return await self._db.read(work)

    async def aput_rule(self, rule: dict) -> dict:
        """Add a rule (engine/checkpoint/rules.py; an id and created_at are given to a new one)
        or replace one (to revoke it: set revoked_at and revoked_by). ValueError for a bad rule."""
        now = self._when(None)

        async def work(conn):
            return await put_rule(conn, dict(rule), now)

        try:
            return await self._db.write(work)
        finally:
            self._on_rules_changed()

    async def alist_rules(self, include_revoked: bool = False) -> list[dict]:
        """The rules, oldest first (revoked ones only with include_revoked)."""
        async def work(conn):
            return await list_rules(conn, include_revoked)

        return await self._db.read(work)

    async def alist_threads(self, status: str | None = None, limit: int | None = None,
                            offset: int = 0) -> list[ThreadRecord]:
        sql = f"SELECT {THREAD_COLUMNS}, {_PENDING_COUNT} FROM engine_threads AS t"
        params: list[Any] = []
        if status is not None:
            sql += " WHERE status = %s"
            params.append(status)
        sql += " ORDER BY updated_at DESC, row_no DESC LIMIT %s OFFSET %s"
        params += [limit, offset or 0]
        return [thread_from_row(row) for row in await self._query(sql, params)]

    async def aget_thread(self, thread_id: str) -> ThreadRecord | None:
        rows = await self._query(f"SELECT {THREAD_COLUMNS}, {_PENDING_COUNT} FROM engine_threads AS t "
                                 "WHERE thread_id = %s", (thread_id,))
        return thread_from_row(rows[0]) if rows else None

    async def adecisions(self, thread_id: str | None = None, limit: int | None = None,
                         offset: int = 0) -> list[InterruptRecord]:
        sql = f"SELECT {INTERRUPT_COLUMNS} FROM engine_interrupts WHERE status <> 'pending'"
        params: list[Any] = []
        if thread_id is not None:
            sql += " AND thread_id = %s"
            params.append(str(thread_id))
        sql += " ORDER BY resolved_at DESC, row_no DESC LIMIT %s OFFSET %s"
        params += [limit, offset or 0]
        return interrupts_from_rows(await self._query(sql, params))

    async def alist_claimed_unapplied(self) -> list[InterruptRecord]:
        return [interrupt_from_row(row) for row in await self._query(
            f"SELECT {INTERRUPT_COLUMNS} FROM engine_interrupts "
            "WHERE NOT applied AND status IN ('resolved', 'expired') ORDER BY resolved_at, row_no")]

    async def alist_due(self, now: datetime | str | None = None, limit: int | None = None) -> list[InterruptRecord]:
        return [interrupt_from_row(row) for row in await self._query(
            f"SELECT {INTERRUPT_COLUMNS} FROM engine_interrupts WHERE status = 'pending' AND deadline IS NOT NULL "
            "AND deadline <= %s AND NOT overdue ORDER BY deadline, row_no LIMIT %s", (self._when(now), limit))]

    # --- exactly-once decisions ------------------------------------------------------------------------
    async def _row(self, conn, interrupt_id: str) -> InterruptRecord | None:
        cur = await conn.execute(f"SELECT {INTERRUPT_COLUMNS} FROM engine_interrupts WHERE id = %s", (interrupt_id,))
        row = await cur.fetchone()
        return interrupt_from_row(row) if row else None

    async def _lost(self, conn, interrupt_id: str) -> BaseException:
        row = await self._row(conn, interrupt_id)
        if row is None:
            return InterruptNotFound(interrupt_id, self._where)
        return AlreadyResolved(interrupt_id, row.resolved_by or row.status, row.resolved_at, row.response)

    async def aresolve(self, interrupt_id: str, response: Any, *, by: str,
                       at: datetime | str | None = None) -> InterruptRecord:
        """Claim a pending interrupt with `response`, exactly once across processes and hosts
        (see the module docstring); the claim and its InterruptResolved event commit together."""
        if not isinstance(by, str) or not by:
            raise ValueError("resolve() needs by=<who decided>, e.g. by='alice'; it goes into the audit log.")
        reserved = reserved_decider(by)
        if reserved is not None:
            raise ValueError(f"resolve(by=...): {reserved}.")
        when = self._when(at)
        stored = await self.aget_interrupt(interrupt_id)
        try:
            to_jsonable(response)
            if stored is not None and stored.status == "pending":
                # normalized, or InvalidResponse (also for an answer that breaks its response_schema)
                response = check_answer(stored.payload, response, stored.response_schema)
            response_text = dumps(response)
        except TypeError as exc:
            raise ValueError(f"the response to interrupt {interrupt_id} cannot be stored as JSON ({exc}); "
                             "answer with dicts, lists, strings, numbers, booleans or None.") from None
        user, host = os_identity()

        async def claim(conn):
            cur = await conn.execute(
                f"UPDATE engine_interrupts SET status = 'resolved', resolved_at = %s, resolved_by = %s, response = %s, "
                f"applied = false, decided_user = %s, decided_host = %s WHERE id = %s AND status = 'pending' "
                f"RETURNING {INTERRUPT_COLUMNS}", (when, by, response_text, user, host, interrupt_id))
            row = await cur.fetchone()
            if row is None:
                raise await self._lost(conn, interrupt_id)
            record = interrupt_from_row(row)
            event = InterruptResolved(at=when, thread_id=record.thread_id, graph=record.graph,
                                      interrupt_id=interrupt_id, response=response, by=by)
            await append_audit(conn, record)  # before the event rows: they come last (events.py)
            await append_rows(conn, [event_row(event)])
            return record

        return await self._db.write(claim)

    async def _expire_one(self, conn, interrupt_id: str, policy: str, response: Any, when: str
                          ) -> InterruptRecord | None:
        if policy == "flag":
            cur = await conn.execute(
                f"UPDATE engine_interrupts SET overdue = true WHERE id = %s AND status = 'pending' AND NOT overdue "
                f"RETURNING {INTERRUPT_COLUMNS}", (interrupt_id,))
        else:
            cur = await conn.execute(
                "UPDATE engine_interrupts SET status = 'expired', overdue = true, resolved_at = %s, "
                "resolved_by = 'deadline', response = %s, applied = false, reason = 'deadline passed' "
                f"WHERE id = %s AND status = 'pending' RETURNING {INTERRUPT_COLUMNS}",
                (when, dumps(response), interrupt_id))
        row = await cur.fetchone()
        if row is None:
            current = await self._row(conn, interrupt_id)
            if policy == "flag" and current is not None and current.status == "pending":
                return None
            raise await self._lost(conn, interrupt_id)
        record = interrupt_from_row(row)
        if policy == "resume":  # answered by the deadline: a decision, so it is audited
            await append_audit(conn, record)
        return record

    def _expired_event(self, record: InterruptRecord, policy: str, response: Any, when: str) -> InterruptExpired:
        return InterruptExpired(at=when, thread_id=record.thread_id, graph=record.graph, interrupt_id=record.id,
                                policy=policy, response=response if policy == "resume" else None)

    async def aexpire(self, interrupt_id: str, *, policy: Literal["flag", "resume"] = "flag",
                      response: Any = None, at: datetime | str | None = None) -> InterruptRecord | None:
        if policy not in ("flag", "resume"):
            raise ValueError(f"policy must be 'flag' or 'resume', not {policy!r}")
        when = self._when(at)

        async def expire(conn):
            record = await self._expire_one(conn, interrupt_id, policy, response, when)
            if record is not None:
                await append_rows(conn, [event_row(self._expired_event(record, policy, response, when))])
            return record

        return await self._db.write(expire)

    async def aexpire_due(self, now: datetime | str | None = None) -> list[InterruptRecord]:
        cutoff = self._when(now)

        async def expire_due(conn):
            cur = await conn.execute(
                "SELECT id, on_timeout FROM engine_interrupts WHERE status = 'pending' AND deadline IS NOT NULL "
                "AND deadline <= %s AND NOT overdue ORDER BY deadline, row_no FOR UPDATE SKIP LOCKED", (cutoff,))
            changed, rows = [], []
            for interrupt_id, on_timeout in await cur.fetchall():
                policy = "flag" if on_timeout is None else "resume"
                response = None if on_timeout is None else loads(on_timeout)
                record = await self._expire_one(conn, interrupt_id, policy, response, cutoff)
                if record is not None:
                    changed.append(record)
                    rows.append(event_row(self._expired_event(record, policy, response, cutoff)))
            if rows:
                await append_rows(conn, rows)
            return changed

        return await self._db.write(expire_due)

    # --- sync twins -----------------------------------------------------------------------------------
    def list_pending(self, limit=None, offset=0, graph=None, thread_id=None, action=None, text=None):
        return run_sync(self.alist_pending(limit, offset, graph, thread_id, action, text), "saver.list_pending()")

    def count_by_status(self):
        return run_sync(self.acount_by_status(), "saver.count_by_status()")

    def get_interrupt(self, interrupt_id):
        return run_sync(self.aget_interrupt(interrupt_id), "saver.get_interrupt()")

    def get_thread(self, thread_id):
        return run_sync(self.aget_thread(thread_id), "saver.get_thread()")

    def list_threads(self, status=None, limit=None, offset=0):
        return run_sync(self.alist_threads(status, limit, offset), "saver.list_threads()")

    def decisions(self, thread_id=None, limit=None, offset=0):
        return run_sync(self.adecisions(thread_id, limit, offset), "saver.decisions()")

    def list_claimed_unapplied(self):
        return run_sync(self.alist_claimed_unapplied(), "saver.list_claimed_unapplied()")

    def list_due(self, now=None, limit=None):
        return run_sync(self.alist_due(now, limit), "saver.list_due()")

    def resolve(self, interrupt_id, response, *, by, at=None):
        return run_sync(self.aresolve(interrupt_id, response, by=by, at=at), "saver.resolve()")

    def expire(self, interrupt_id, *, policy="flag", response=None, at=None):
        return run_sync(self.aexpire(interrupt_id, policy=policy, response=response, at=at), "saver.expire()")

    def expire_due(self, now=None):
        return run_sync(self.aexpire_due(now), "saver.expire_due()")


__all__ = ["Queries"]
