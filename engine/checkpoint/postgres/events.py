"""PostgresSaver's events: appending them (with how each updates `engine_threads` and
`engine_interrupts`, in the same transaction), reading them in order, and waking listeners.

**Order for every reader despite concurrent writers.** `seq` comes from a sequence, and two
transactions can commit in the opposite order of their numbers: a reader that saw 7 and then
reads `seq > 7` would skip a 6 committed after it looked. So numbers are handed out only under
a transaction-level advisory lock (`EVENTS_LOCK`) taken SHARED by writers (they do not wait
for each other) and held until their commit, while a reader takes it EXCLUSIVE for the
instant before its query: when a reader holds it, no transaction holds a number it has not
committed (or rolled back), so every number below the highest one it sees is final. Writers
append their event rows last in the transaction (after every other row they lock), so a
writer holding the shared lock never waits for another writer and the reader waits at most
for a commit in flight.

**Rules.** A step that raises requests reads the active rules (rules_store.py); one a rule
answers is claimed in the same transaction, audited, and never shows up as pending.

**Wake-ups.** A transaction that appends events also sends `NOTIFY engine_events` (delivered
at its commit); listener.py turns that into a wake-up of this process's subscribers, whose
polling every `poll_interval` is the fallback.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from engine.checkpoint.postgres.rules_store import RulesCache, apply_rules
from engine.checkpoint.postgres.packed import from_stored, to_stored
from engine.checkpoint.postgres.schema import EVENTS_LOCK
from engine.checkpoint.postgres.step import Op, op, send_ops
from engine.checkpoint.serde import dumps, loads
from engine.checkpoint.sqlite.times import normalize_ts
from engine.events import (Event, InterruptCancelled, InterruptExpired, InterruptRaised, InterruptResolved,
                           RunFailed, RunFinished, RunStarted, event_from_json)

if TYPE_CHECKING:
    from engine.checkpoint.postgres.transactions import Connections, Txn

CHANNEL = "engine_events"
_COLUMNS = {"seq", "thread_id", "graph", "kind"}

# An InterruptRaised event's row leaves its value (the request's payload, often the largest part
# of a step's rows) to its interrupt's row when that row holds the same payload (it was
# inserted by the same step, or earlier with the same text): compared by md5 in SQL, because
# the row may predate this step ('raised' is ON CONFLICT DO NOTHING). Its data is then `short`.
VALUE_REF = "__value_in_interrupts__"
# A row whose `if_claimed` names an interrupt is kept only if this transaction claimed it
# (engine_claim, schema.py, lists those in the transaction's setting engine.claimed): a run's
# InterruptResolved for a decision it made itself, not for one claimed before.
_INSERT_SQL = (
    "INSERT INTO engine_events (at, thread_id, graph, kind, data) "
    "SELECT e.at, e.thread_id, e.graph, e.kind, CASE WHEN e.payload_md5 IS NOT NULL AND (SELECT md5(i.payload) "
    "FROM engine_interrupts AS i WHERE i.id = e.interrupt_id) = e.payload_md5 THEN e.short ELSE e.data END "
    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::bytea[], %s::bytea[], %s::text[], %s::text[], "
    "%s::text[]) WITH ORDINALITY AS e(at, thread_id, graph, kind, data, short, interrupt_id, payload_md5, if_claimed, n) "
    "WHERE e.if_claimed IS NULL OR coalesce(nullif(current_setting('engine.claimed', true), '')::jsonb "
    "? e.if_claimed, false) ORDER BY e.n RETURNING seq")


def _optional_json(value: Any) -> str | None:
    return None if value is None else dumps(value)


def _raised(events: list[Event]) -> list[tuple[str, str]]:
    """(interrupt id, raised at) of the InterruptRaised events: what rules may answer."""
    return [(event.interrupt_id, normalize_ts(event.at)) for event in events if isinstance(event, InterruptRaised)]


def event_row(event: Event, *, if_claimed: str | None = None) -> tuple:
    """(at, thread_id, graph, kind, data, short data, interrupt id, payload md5, if claimed):
    thread_id, graph and kind have columns of their own; short data, interrupt id and payload
    md5 only for InterruptRaised, `if_claimed` only for a run's own claim (see _INSERT_SQL)."""
    at = normalize_ts(event.at)
    data = event.model_dump(exclude=_COLUMNS | {"at"} if event.at == at else _COLUMNS)
    if data.get("response_schema", 0) is None:
        del data["response_schema"]  # most interrupts have none (the field's default when read back)
    stored = to_stored(dumps(data))
    if not isinstance(event, InterruptRaised):
        return (at, event.thread_id, event.graph, event.kind, stored, None, None, None, if_claimed)
    payload = dumps(data.pop("value"))  # the text _RAISED_SQL stores as the interrupt's payload
    data[VALUE_REF] = True
    return (at, event.thread_id, event.graph, event.kind, stored, to_stored(dumps(data)), event.interrupt_id,
            hashlib.md5(payload.encode()).hexdigest(), if_claimed)


def effects(event: Event) -> list[Op]:
    """The engine_step operations (step.py, schema.py) an event applies to the threads and
    interrupts tables (as SQLite's statements do)."""
    at = normalize_ts(event.at)
    if isinstance(event, (RunStarted, RunFinished, RunFailed)):
        if isinstance(event, RunStarted):
            status = "busy"
        elif isinstance(event, RunFinished):
            status = "done" if event.outcome == "done" else "interrupted"
        else:
            status = "error"
        return [op("run", event.thread_id, event.graph, status, at,
                   _optional_json(getattr(event, "metadata", None)))]
    found = [op("thread", event.thread_id, event.graph, at)]
    if isinstance(event, InterruptRaised):
        found.append(op("raised", event.interrupt_id, event.thread_id, event.graph, event.ns, event.node,
                        event.checkpoint_id or "", dumps(event.value), at, normalize_ts(event.deadline),
                        _optional_json(getattr(event, "on_timeout", None)), _optional_json(event.response_schema)))
    elif isinstance(event, InterruptResolved):
        found.append(op("resolved", event.interrupt_id, at, event.by or "api", dumps(event.response)))
    elif isinstance(event, InterruptCancelled):
        found.append(op("cancelled", event.interrupt_id, at, event.reason or None))
    elif isinstance(event, InterruptExpired):
        if event.policy == "flag":
            found.append(op("overdue", event.interrupt_id))
        else:
            found.append(op("expired", event.interrupt_id, at, dumps(event.response)))
    return found


def batch_effects(events: list[Event]) -> list[Op]:
    """The effects of a batch of events, without the "the thread exists" inserts of threads a
    run event of the batch upserts anyway (one operation fewer for the server per pause)."""
    ops = [operation for event in events for operation in effects(event)]
    upserted = run_threads(ops)
    return [operation for operation in ops if not (operation[0] == "thread" and operation[1][0] in upserted)]


def run_threads(ops: list[Op]) -> set[str]:
    """The threads whose row a run event's operation upserts."""
    return {texts[0] for kind, texts, _, _ in ops if kind == "run"}


async def append_rows(conn, rows: list[tuple]) -> list[int]:
    """Append event rows under the shared events lock (the transaction's last statements) and
    send the wake-up; returns their seqs in order."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (EVENTS_LOCK,))
    columns = [list(column) for column in zip(*rows)]
    cur = await conn.execute(_INSERT_SQL, columns)
    seqs = sorted(row[0] for row in await cur.fetchall())
    await conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
    return seqs


def event_ops(rows: list[tuple]) -> list[Op]:
    """`append_rows` for a commit's engine_step call ('event': the first takes the events lock,
    the call ends with the wake-up): nothing is read back."""
    return [op("event", at, thread_id, graph, kind, interrupt_id, md5, if_claimed, blobs=(data, short))
            for at, thread_id, graph, kind, data, short, interrupt_id, md5, if_claimed in rows]


class EventLog:
    """The events table of one saver: append (applying each event), queue for the commit,
    read in order, last seq."""

    def __init__(self, connections: "Connections", rules: RulesCache) -> None:
        self._db = connections
        self._rules = rules

    async def store(self, events: list[Event]) -> list[Event]:
        """Append the events and apply them to the threads and interrupts tables in one
        transaction (the caller's, if any). Returns them numbered."""
        statements = batch_effects(events)
        rows = [event_row(event) for event in events]  # serialised first: a bad value fails before any write
        raised = _raised(events)

        async def work(conn):
            await send_ops(conn, statements)
            if raised:  # rules answer what they allow before anyone sees it (rules_store.py)
                rules = await self._rules.rules_for(conn, raised)
                if rules:
                    await apply_rules(conn, rules, raised)
            return await append_rows(conn, rows)

        seqs = await self._db.write(work)
        return [event.model_copy(update={"seq": seq}) for event, seq in zip(events, seqs)]

    async def queue(self, events: list[Event]) -> None:
        """Inside a transaction: apply the events with the queued work, append them at the commit."""
        statements = batch_effects(events)
        rows = [event_row(event) for event in events]
        txn = self._db.current.get()
        # the run events' upserts make the checkpoints' "thread exists" inserts needless
        txn.covered.extend(("thread", thread_id) for thread_id in run_threads(statements))

        async def work(conn):
            await send_ops(conn, statements)
            txn.event_rows.extend(rows)

        await self._db.write(work, defer=True)
        raised = _raised(events)
        if raised:
            # From the cache (or read on the transaction's connection without sending the queued
            # work first): only a step a rule may answer pays for the rows to be written and
            # read back now.
            rules = await self._rules.rules_for(txn.conn, raised)
            if rules:
                async def answer(conn):
                    await apply_rules(conn, rules, raised)

                await self._db.write(answer)  # sends the queued work (the raised rows) first

    @staticmethod
    async def commit_rows(txn: "Txn", conn) -> None:
        """At a transaction's commit (transactions.py): append its queued event rows (on the
        recorder of the commit's message)."""
        if txn.event_rows:
            rows, txn.event_rows = txn.event_rows, []
            await send_ops(conn, event_ops(rows))

    async def read(self, since: int | None = None, limit: int | None = None) -> list[Event]:
        async def work(conn):
            async with conn.pipeline(), conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (EVENTS_LOCK,))
                cur = await conn.execute(
                    "SELECT seq, data, thread_id, graph, kind, at FROM engine_events WHERE seq > %s "
                    "ORDER BY seq LIMIT %s", (since or 0, limit))
                return await cur.fetchall()

        decoded, referring = [], []
        for seq, data, thread_id, graph, kind, at in await self._db.read(work):
            fields = loads(from_stored(data))
            fields.update(seq=seq, thread_id=thread_id, graph=graph, kind=kind)
            fields.setdefault("at", at)
            if fields.pop(VALUE_REF, False):
                referring.append(fields)
            decoded.append(fields)
        if referring:
            ids = list({fields["interrupt_id"] for fields in referring})

            async def payloads(conn):
                return await (await conn.execute("SELECT id, payload FROM engine_interrupts WHERE id = ANY(%s)",
                                                 (ids,))).fetchall()

            found = dict(await self._db.read(payloads))
            for fields in referring:
                fields["value"] = loads(found[fields["interrupt_id"]])  # kept with the event: never deleted
        return [event_from_json(fields) for fields in decoded]

    async def last_seq(self) -> int:
        async def work(conn):
            async with conn.pipeline(), conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (EVENTS_LOCK,))
                cur = await conn.execute("SELECT coalesce(max(seq), 0) FROM engine_events")
                return (await cur.fetchone())[0]

        return await self._db.read(work)


__all__ = ["EventLog", "effects", "append_rows", "event_row", "CHANNEL"]
