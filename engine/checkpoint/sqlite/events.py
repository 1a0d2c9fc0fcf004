"""The SQLite saver's events: appending them (with how each updates the threads and interrupts
tables, in the same transaction) and reading them back. `EventLog` is the component the saver
uses, over the `Runner` it is given (runner.py); `event_row` and `insert_events` are the
connection-thread functions queries.py and ownership.py use to append the events of their
decisions in the same transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from engine.checkpoint.serde import dumps, loads
from engine.checkpoint.sqlite.packing import pack, unpack
from engine.checkpoint.sqlite.batching import chunks
from engine.checkpoint.sqlite.interrupt_writes import link_interrupt_writes
from engine.checkpoint.sqlite.rules_store import apply_rules
from engine.checkpoint.sqlite.times import normalize_ts, stored_time, time_text
from engine.errors import StorageError
from engine.events import (Event, InterruptCancelled, InterruptExpired, InterruptRaised,
                           InterruptResolved, RunFailed, RunFinished, RunStarted, event_from_json)

if TYPE_CHECKING:
    from engine.checkpoint.sqlite.runner import Runner
    from engine.checkpoint.sqlite.transactions import Txn

_EVENT_COLUMNS = {"seq", "thread_id", "graph", "kind"}
# An InterruptRaised event row whose value is its interrupt's payload (schema version 2), or
# whose every field but interrupt_id is what its interrupt's row holds (version 3).
_VALUE_REF = "__value_in_interrupts__"
_ROW_REF = "__in_interrupts__"
_RAISED_FIELDS = ("ns", "node", "checkpoint_id", "value", "deadline", "on_timeout")
_RAISED_PARAMS = ("ns", "node", "checkpoint_id", "payload", "deadline", "on_timeout")  # in _RAISED_SQL
_INSERT_EVENT = "INSERT INTO events (at, thread_id, graph, kind, data) VALUES (?, ?, ?, ?, ?)"

# --- how events update the threads and interrupts tables --------------------------------------
# (threads.created_at and updated_at hold times.stored_time(at): :thread_at)
_RUN_SQL = """
INSERT INTO threads (thread_id, graph, status, created_at, updated_at, metadata)
VALUES (:thread_id, :graph, :status, :thread_at, :thread_at, coalesce(:metadata, '{}'))
ON CONFLICT (thread_id) DO UPDATE SET
    status = excluded.status,
    updated_at = excluded.updated_at,
    graph = CASE WHEN excluded.graph <> '' THEN excluded.graph ELSE threads.graph END,
    metadata = CASE WHEN :metadata IS NOT NULL THEN excluded.metadata ELSE threads.metadata END
"""
_ENSURE_THREAD_SQL = """
INSERT OR IGNORE INTO threads (thread_id, graph, status, created_at, updated_at, metadata)
VALUES (:thread_id, :graph, 'idle', :thread_at, :thread_at, '{}')
"""
_RAISED_SQL = """
INSERT OR IGNORE INTO interrupts
    (id, thread_id, graph, ns, node, checkpoint_id, payload, created_at, deadline, on_timeout, status,
     response_schema)
VALUES (:id, :thread_id, :graph, :ns, :node, :checkpoint_id, :payload, :at, :deadline, :on_timeout,
        'pending', :response_schema)
"""
# Pending: this is the decision (a direct Command(resume=...)). Already claimed by resolve() or
# expired with a default response: the runtime has now applied it.
_RESOLVED_SQL = """
UPDATE interrupts SET
    resolved_at = CASE WHEN status = 'pending' THEN :at ELSE resolved_at END,
    resolved_by = CASE WHEN status = 'pending' THEN :by ELSE resolved_by END,
    response    = CASE WHEN status = 'pending' THEN :response ELSE response END,
    status      = CASE WHEN status = 'pending' THEN 'resolved' ELSE status END,
    applied     = 1
WHERE id = :id AND status <> 'cancelled'
"""
# A claimed decision that was never applied is cancelled too: the run it belonged to is gone.
_CANCELLED_SQL = """
UPDATE interrupts SET status = 'cancelled', resolved_at = coalesce(resolved_at, :at),
    resolved_by = coalesce(resolved_by, 'system'), reason = :reason
WHERE id = :id AND (status = 'pending' OR (status IN ('resolved', 'expired') AND applied = 0))
"""
_EXPIRED_FLAG_SQL = "UPDATE interrupts SET overdue = 1 WHERE id = :id AND status = 'pending'"
_EXPIRED_RESUME_SQL = """
UPDATE interrupts SET status = 'expired', overdue = 1, resolved_at = :at, resolved_by = 'deadline',
    response = :response, applied = 0, reason = 'deadline passed'
WHERE id = :id AND status = 'pending'
"""


def _optional_json(value: Any) -> str | None:
    return None if value is None else dumps(value)


class EventLog:
    """The events table of one saver: append (applying each event to `threads` and
    `interrupts`), read, last seq. Runs its work through the saver's `Runner`."""

    def __init__(self, runner: "Runner") -> None:
        self._run = runner

    @staticmethod
    def _event_data(event: Event) -> tuple[str, dict]:
        # serde over the python-mode dump: pydantic's own JSON mode gives up near 250 levels of
        # nesting, serde does not, and tagged values (tuples, datetimes) come back as themselves.
        # thread_id, graph and kind have columns of their own: not repeated in `data`; nor is
        # `at` when the column holds the same text.
        at = normalize_ts(event.at)
        data = event.model_dump(exclude=_EVENT_COLUMNS | {"at"} if event.at == at else _EVENT_COLUMNS)
        if data.get("response_schema", 0) is None:
            del data["response_schema"]  # most interrupts have none: their rows stay as before version 5
        return at, data

    @classmethod
    def _event_row(cls, event: Event) -> tuple:
        at, data = cls._event_data(event)
        return (stored_time(at), event.thread_id, event.graph, event.kind, pack(dumps(data)))

    @staticmethod
    def _event_effects(event: Event) -> tuple[tuple[str, dict] | None, tuple[str, dict] | None]:
        """The (sql, params) an event applies to the threads table and to the interrupts table."""
        at = normalize_ts(event.at)
        base = {"thread_id": event.thread_id, "graph": event.graph, "at": at}
        thread = {"thread_id": event.thread_id, "graph": event.graph, "thread_at": stored_time(at)}
        if isinstance(event, (RunStarted, RunFinished, RunFailed)):
            if isinstance(event, RunStarted):
                status = "busy"
            elif isinstance(event, RunFinished):
                status = "done" if event.outcome == "done" else "interrupted"
            else:
                status = "error"
            metadata = getattr(event, "metadata", None)
            return (_RUN_SQL, {**thread, "status": status, "metadata": _optional_json(metadata)}), None
        thread_effect = (_ENSURE_THREAD_SQL, thread)
        if isinstance(event, InterruptRaised):
            return thread_effect, (_RAISED_SQL, {
                **base, "id": event.interrupt_id, "ns": event.ns, "node": event.node,
                "checkpoint_id": event.checkpoint_id or "", "payload": dumps(event.value),
                "deadline": normalize_ts(event.deadline),
                "on_timeout": _optional_json(getattr(event, "on_timeout", None)),
                "response_schema": _optional_json(event.response_schema)})
        if isinstance(event, InterruptResolved):
            return thread_effect, (_RESOLVED_SQL, {
                "id": event.interrupt_id, "at": at, "by": event.by or "api", "response": dumps(event.response)})
        if isinstance(event, InterruptCancelled):
            return thread_effect, (_CANCELLED_SQL, {"id": event.interrupt_id, "at": at, "reason": event.reason or None})
        if isinstance(event, InterruptExpired):
            if event.policy == "flag":
                return thread_effect, (_EXPIRED_FLAG_SQL, {"id": event.interrupt_id})
            return thread_effect, (_EXPIRED_RESUME_SQL, {
                "id": event.interrupt_id, "at": at, "response": dumps(event.response)})
        return thread_effect, None

    @staticmethod
    def _run_grouped(db, statements: list[tuple[str, dict]]) -> None:
        """Execute statements in order, batching runs of the same SQL into one executemany."""
        index = 0
        while index < len(statements):
            sql = statements[index][0]
            end = index
            while end < len(statements) and statements[end][0] is sql:
                end += 1
            db.executemany(sql, [params for _, params in statements[index:end]])
            index = end

    @classmethod
    def _run_interrupt_statements(cls, db, statements: list[tuple[str, dict]]) -> dict[str, dict]:
        """`_run_grouped` for the interrupts table, each InterruptRaised row inserted on its own:
        returns {id: params} of those this call inserted (not ignored for an existing id)."""
        inserted: dict[str, dict] = {}
        index = 0
        while index < len(statements):
            if statements[index][0] is _RAISED_SQL:
                params = statements[index][1]
                if db.execute(_RAISED_SQL, params).rowcount == 1:
                    inserted[params["id"]] = params
                index += 1
                continue
            end = index
            while end < len(statements) and statements[end][0] is not _RAISED_SQL:
                end += 1
            cls._run_grouped(db, statements[index:end])
            index = end
        return inserted

    @staticmethod
    def _insert_events(db, txn: Txn, rows: list[tuple]) -> int:
        """Append event rows; returns the seq of the first. One connection holds the write lock,
        so the rows get consecutive numbers."""
        if len(rows) == 1:
            last = db.execute(_INSERT_EVENT, rows[0]).lastrowid
        else:
            db.executemany(_INSERT_EVENT, rows)
            last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
        txn.events_written = True
        return last - len(rows) + 1

    async def store(self, events: list[Event]) -> list[Event]:
        """Append the events and apply them to the threads and interrupts tables, in the same
        transaction:

        - RunStarted: thread busy (row created if new; its metadata replaced only if the event
          carries some); RunFinished: done or interrupted; RunFailed: error.
        - InterruptRaised: a pending row (ignored if that id exists already: a re-run node
          raises the same id again).
        - InterruptResolved: a pending row becomes resolved (by = event.by or "api") and
          applied; a row claimed by resolve() (or expired with a default response) keeps its
          decision and is marked applied.
        - InterruptCancelled: pending, or claimed but never applied, becomes cancelled.
        - InterruptExpired: policy "flag" leaves the row pending with `overdue` set; policy
          "resume" makes a pending row expired, claimed with the event's response by
          "deadline", to be applied by the runtime (like a resolve() claim).
        """
        if not events:
            return []
        first = await self._run.write(self._events_writer(events))
        return [event.model_copy(update={"seq": first + i}) for i, event in enumerate(events)]

    async def queue(self, events: list[Event]) -> None:
        """Inside a transaction: store the events with its next round trip (usually the
        COMMIT), so a superstep's checkpoint, writes and events cost one round trip."""
        if events:
            await self._run.write(self._events_writer(events), defer=True)

    def _events_writer(self, events: list[Event]) -> Callable:
        """The connection-thread function that appends `events` (returning the first seq) and
        applies them. Every value is serialized here, in the caller (so a value that cannot be
        stored fails before anything is written); an InterruptRaised row's form is chosen in
        the connection thread, once its interrupt's row is there."""
        rows: list[tuple | None] = []
        # An InterruptRaised event's fields are what the interrupt's row holds: stored once,
        # there, unless that row holds something else (an id raised again with another value).
        # The short row is made here; which row to store is known once the interrupt's row is.
        by_reference: list[tuple[int, InterruptRaised, dict, tuple | None]] = []
        thread_statements: list[tuple[str, dict]] = []
        interrupt_statements: list[tuple[str, dict]] = []
        for event in events:
            thread_effect, interrupt_effect = self._event_effects(event)
            if thread_effect is not None:
                thread_statements.append(thread_effect)
            if interrupt_effect is not None:
                interrupt_statements.append(interrupt_effect)
            if isinstance(event, InterruptRaised):
                by_reference.append((len(rows), event, interrupt_effect[1],
                                     self._raised_short_row(event, interrupt_effect[1])))
                rows.append(None)
            else:
                rows.append(self._event_row(event))

        def store(db, txn):
            # A thread's row made sure of already in this transaction (a checkpoint's, or a run
            # event's, in this batch or before it) needs no INSERT OR IGNORE of its own.
            upserted = {params["thread_id"] for sql, params in thread_statements if sql is _RUN_SQL}
            self._run_grouped(db, [(sql, params) for sql, params in thread_statements
                                   if sql is not _ENSURE_THREAD_SQL or not (
                                       params["thread_id"] in upserted or params["thread_id"] in txn.thread_rows)])
            txn.thread_rows.update(params["thread_id"] for _sql, params in thread_statements)
            inserted = self._run_interrupt_statements(db, interrupt_statements)
            for index, event, params, short_row in by_reference:
                if event.interrupt_id in inserted:  # this batch's row: what it holds is known
                    found = tuple(inserted[event.interrupt_id][name] for name in _RAISED_PARAMS)
                else:
                    found = db.execute("SELECT ns, node, checkpoint_id, payload, deadline, on_timeout "
                                       "FROM interrupts WHERE id = ?", (event.interrupt_id,)).fetchone()
                if short_row is not None and found == tuple(params[name] for name in _RAISED_PARAMS):
                    rows[index] = short_row
                else:
                    rows[index] = self._raised_row(event, params, found)
            if by_reference:
                link_interrupt_writes(db, {(event.thread_id, event.checkpoint_id)
                                                 for _index, event, _params, _row in by_reference},
                                      known={i: (i, p["ns"], p["node"], p["payload"], p["deadline"], p["on_timeout"])
                                             for i, p in inserted.items()},
                                      written=txn.interrupt_writes)
                # Rules answer what they allow before anyone sees it (rules_store.py).
                apply_rules(db, [(event.interrupt_id, params["at"]) for _index, event, params, _row in by_reference])
            return self._insert_events(db, txn, rows)

        return store

    @classmethod
    def _raised_short_row(cls, event: InterruptRaised, params: dict) -> tuple | None:
        """The row of an InterruptRaised event that takes every field but interrupt_id from
        its interrupt's row, to store when that row holds `params` (what the event inserts);
        None when those are not the event's own (the row keeps its deadline normalized)."""
        if event.checkpoint_id != params["checkpoint_id"] or event.deadline != params["deadline"]:
            return None
        at, data = cls._event_data(event)
        for name in _RAISED_FIELDS:
            del data[name]
        data[_ROW_REF] = True
        return (stored_time(at), event.thread_id, event.graph, event.kind, pack(dumps(data)))

    @classmethod
    def _raised_row(cls, event: InterruptRaised, params: dict, found: tuple | None) -> tuple:
        """An InterruptRaised event's row when its interrupt's row (`found`: ns, node,
        checkpoint_id, payload, deadline, on_timeout) does not hold all of it: without the value
        if that row holds the same payload, else whole."""
        at, data = cls._event_data(event)
        if found is not None and found[3] == params["payload"]:
            del data["value"]
            data[_VALUE_REF] = True
        return (stored_time(at), event.thread_id, event.graph, event.kind, pack(dumps(data)))

    async def read(self, since: int | None = None, limit: int | None = None) -> list[Event]:
        return [event_from_json(fields) for fields in await self._run.read(
            _read_events, since or 0, -1 if limit is None else limit, self._run.path)]

    async def last_seq(self) -> int:
        return (await self._run.query("SELECT coalesce(max(seq), 0) FROM events"))[0][0]


def _read_events(db, _txn, since: int, limit: int, path: str) -> list[dict]:
    rows = db.execute("SELECT seq, data, thread_id, graph, kind, at FROM events WHERE seq > ? "
                      "ORDER BY seq LIMIT ?", (since, limit)).fetchall()
    decoded, referring = [], []
    for seq, data, thread_id, graph, kind, at in rows:
        fields = loads(unpack(data))
        fields["seq"] = seq
        fields.setdefault("thread_id", thread_id)  # rows written before these were left out
        fields.setdefault("graph", graph)
        fields.setdefault("kind", kind)
        fields.setdefault("at", time_text(at))
        if fields.pop(_ROW_REF, False):
            referring.append((fields, _RAISED_FIELDS))
        elif fields.pop(_VALUE_REF, False):
            referring.append((fields, ("value",)))
        decoded.append(fields)
    found: dict[str, tuple] = {}
    for chunk in chunks(list({fields["interrupt_id"] for fields, _names in referring})):
        for row in db.execute("SELECT id, ns, node, checkpoint_id, payload, deadline, on_timeout "
                              f"FROM interrupts WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            found[row[0]] = row
    for fields, names in referring:
        row = found.get(fields["interrupt_id"])
        if row is None:
            raise StorageError(
                f"{path} is damaged: interrupt {fields['interrupt_id']} of event "
                f"{fields['seq']} is missing. Restore the file from a backup.")
        _id, ns, node, checkpoint_id, payload, deadline, on_timeout = row
        stored = {"ns": ns, "node": node, "checkpoint_id": checkpoint_id, "value": payload,
                  "deadline": deadline, "on_timeout": on_timeout}
        for name in names:
            fields[name] = loads(stored[name]) if name in ("value", "on_timeout") and stored[name] is not None \
                else stored[name]
    return decoded


event_row = EventLog._event_row  # the row of one event (connection thread)
insert_events = EventLog._insert_events  # append rows; returns the first seq (connection thread)

__all__ = ["EventLog", "event_row", "insert_events"]
