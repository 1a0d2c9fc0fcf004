"""PostgresSaver's half of run ownership (engine/runtime/ownership.py has the model): thread
leases, the decisions a run claims and applies, and what is left to recover.

- A run takes its lease in its first commit's message (engine_step's 'take', step.py and
  schema.py; no round trip of its own): the lease is taken when it is free, expired or already
  ours, judged from the row's values (a row another transaction holds locked for an instant is
  waited for briefly, never counted as taken); EL002 otherwise, which rolls the step back;
  `take_failed` turns that into ThreadBusy, or takes over a lease left by a dead process of
  this host and lets the run start again. `alease_acquire` outside a run's step
  (`defer=False`) is one conditional upsert answered at once.
- A resume's claim is queued in its first commit too ('claim': `engine_claim`, schema.py:
  claim, audit, or raise EL004 when the interrupt was decided otherwise); `claim_failed` turns
  EL004 into AlreadyResolved.
- A step's renewal (or release) is queued in its commit's engine_step call as an operation that
  raises (SQLSTATE EL001, `engine_lease_lost`) when the lease is not the run's any more, so a
  run that lost its thread commits nothing and costs no extra round trip per step.
- Recovery lists claimed-but-unapplied decisions and orphaned busy threads on threads nobody
  holds; a worker then takes each one's lease (the door every run goes through).
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from engine.checkpoint.base import ANY_CHECKPOINT, now_us, owner_is_dead
from engine.checkpoint.postgres.events import event_row
from engine.checkpoint.postgres.records import INTERRUPT_COLUMNS, interrupt_from_row
from engine.checkpoint.postgres.step import op, send_ops
from engine.checkpoint.serde import dumps, loads
from engine.checkpoint.sqlite.ownership import _same_answer
from engine.errors import AlreadyResolved, LeaseLost, ThreadBusy, ThreadMovedOn
from engine.events import InterruptResolved

LEASE_LOST = "EL001"  # the SQLSTATE engine_lease_lost() raises (schema.py)

# The conditional upsert and the thread's latest checkpoint id, in one round trip.
_ACQUIRE_SQL = (
    "WITH taken AS (INSERT INTO engine_leases (thread_id, owner, expires_at, acquired_at) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (thread_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, "
    "acquired_at = excluded.acquired_at WHERE engine_leases.owner = excluded.owner OR engine_leases.expires_at <= %s "
    "RETURNING owner) "
    "SELECT (SELECT owner FROM taken), (SELECT checkpoint_id FROM engine_checkpoints WHERE thread_id = %s AND "
    "checkpoint_ns = '' ORDER BY row_no DESC LIMIT 1)")
# A run's take, queued in its first commit (no round trip of its own): engine_step's 'take'
# (schema.py) raises EL002 when the lease is someone else's and live. It does not queue behind
# a busy thread: a lease row another transaction holds locked is skipped (FOR UPDATE SKIP
# LOCKED), then waited for briefly (a worker taking, renewing or only checking it holds it for
# one message) and judged by its values, so a lock alone never makes a run "busy". A free row
# (none yet, expired, or the run's own) is taken. The 'expect' that follows (a new snapshot:
# it sees a checkpoint committed meanwhile) raises EL003 when the thread moved on. Renewals and
# releases ('renew', 'release') raise EL001 when the lease is not the run's any more.
LEASE_BUSY, MOVED_ON = "EL002", "EL003"
CLAIMED_OTHERWISE = "EL004"  # engine_claim (schema.py): the interrupt was decided otherwise


class Ownership:
    def __init__(self, connections, now) -> None:
        self._db = connections
        self._now = now
        # (interrupt id, a run's answer) -> the decision claimed for it, found to be the same
        # answer normalized (claim_failed): what the next claim of it expects
        self._same: dict[tuple[str, str], str] = {}

    async def _holder(self, conn, thread_id: str):
        cur = await conn.execute("SELECT owner, expires_at FROM engine_leases WHERE thread_id = %s", (thread_id,))
        return await cur.fetchone()

    async def alease_acquire(self, thread_id: str, owner: str, ttl: float, *, expect: Any = ANY_CHECKPOINT,
                             defer: bool = False) -> None:
        """Take the thread's lease for `owner` (or extend theirs) in one conditional write;
        ThreadBusy if another owner's lease is live, ThreadMovedOn if `expect` is not the
        thread's latest checkpoint any more. Runs at once even with `defer` (its answer decides
        whether the run may go on)."""
        thread_id = str(thread_id)
        if defer and self._db.current.get() is not None:
            now = now_us()
            who = dumps([thread_id, owner])
            ops = [op("take", thread_id, owner, who, ints=(now + int(ttl * 1e6), now))]
            if expect is not ANY_CHECKPOINT:
                ops.append(op("expect", thread_id, expect, who))

            async def take(recorder):
                await send_ops(recorder, ops)

            await self._db.write(take, defer=True)
            return

        async def acquire(conn):
            now = now_us()
            expires = now + int(ttl * 1e6)
            cur = await conn.execute(_ACQUIRE_SQL, (thread_id, owner, expires, now, now, thread_id))
            taken, latest = await cur.fetchone()
            if taken is None:
                holder, held_until = await self._holder(conn, thread_id)
                if not owner_is_dead(holder):
                    raise ThreadBusy(thread_id, holder, (held_until - now) / 1e6)
                await conn.execute("UPDATE engine_leases SET owner = %s, expires_at = %s, acquired_at = %s "
                                   "WHERE thread_id = %s", (owner, expires, now, thread_id))
            if expect is not ANY_CHECKPOINT and latest != expect:
                raise ThreadMovedOn(thread_id)

        await self._db.write(acquire)

    async def alease_renew(self, thread_id: str, owner: str, ttl: float, *, release: bool = False,
                           defer: bool = False) -> None:
        """Extend (or, with `release`, end) `owner`'s lease; LeaseLost if it is not theirs. With
        `defer` inside a transaction, queued for the commit (which then fails as a whole)."""
        thread_id = str(thread_id)

        async def renew(conn):
            if release:
                await send_ops(conn, [op("release", thread_id, owner)])
            else:
                await send_ops(conn, [op("renew", thread_id, owner, ints=(now_us() + int(ttl * 1e6),))])

        try:
            await self._db.write(renew, defer=defer)
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == LEASE_LOST:
                raise await self.lease_lost(thread_id, owner) from None
            raise

    async def take_failed(self, exc: Exception) -> Exception:
        """The error for a queued take that raised (EL002, EL003). A live holder: ThreadBusy.
        A dead process of this host, or a holder gone meanwhile: the lease is taken over for
        the run (a transaction of its own) and ThreadMovedOn makes the run load and start
        again, now holding it."""
        thread_id, owner = loads(exc.diag.message_primary)
        if exc.sqlstate == MOVED_ON:
            return ThreadMovedOn(thread_id)

        async def take_over(conn):
            found = await self._holder(conn, thread_id)
            now = now_us()
            if found is not None and found[1] > now and not owner_is_dead(found[0]):
                return found
            if found is not None:
                await conn.execute("UPDATE engine_leases SET owner = %s, acquired_at = %s WHERE thread_id = %s "
                                   "AND owner = %s", (owner, now, thread_id, found[0]))
            return None

        holder = await self._db.separately(take_over)
        if holder is not None:
            return ThreadBusy(thread_id, holder[0], (holder[1] - now_us()) / 1e6)
        return ThreadMovedOn(thread_id)

    async def lease_lost(self, thread_id: str, owner: str) -> LeaseLost:
        """The LeaseLost for a commit that failed on its fence, naming the current holder."""
        async def holder(conn):
            return await self._holder(conn, thread_id)
        try:
            found = await self._db.read(holder)
        except Exception:
            found = None
        return LeaseLost(thread_id, owner, found[0] if found else None)

    async def alease_release(self, thread_id: str, owner: str) -> None:
        async def release(conn):
            await conn.execute("DELETE FROM engine_leases WHERE thread_id = %s AND owner = %s", (str(thread_id), owner))
        await self._db.write(release)

    async def alease_holder(self, thread_id: str) -> tuple[str, float] | None:
        async def holder(conn):
            return await self._holder(conn, str(thread_id))
        found = await self._db.read(holder)
        return (found[0], (found[1] - now_us()) / 1e6) if found else None

    # --- the decisions a run applies -------------------------------------------------------------
    async def aclaim_answers(self, thread_id: str, graph: str, answers: dict[str, Any], *, by: str | None,
                             at: str | None = None, token: str | None = None) -> None:
        """Inside a run's first transaction: claim each answered interrupt that is still
        pending (recording `token` with the claim), or check it is the decision already
        claimed; AlreadyResolved otherwise.
        Queued with the commit (no round trip of its own): `engine_claim` (schema.py) claims
        and audits in SQL and raises EL004 for an answer decided otherwise, which `claim_failed`
        turns into AlreadyResolved (or, when the decision claimed is this answer normalized, a
        new start of the run that accepts it). Its InterruptResolved events are kept only for
        the interrupts it claimed."""
        ids = list(answers)
        texts = [dumps(answers[i]) for i in ids]
        expected = [self._same.get((i, text), text) for i, text in zip(ids, texts)]
        # the response as audit.audit_row writes it inside the row (keys sorted)
        canonical = [json.dumps(answers[i], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
                     for i in ids]
        at = at or self._now()
        by = by or "api"
        thread_id = str(thread_id)
        events = [event_row(InterruptResolved(at=at, thread_id=thread_id, graph=graph, interrupt_id=i,
                                              response=answers[i], by=by), if_claimed=i) for i in ids]
        txn = self._db.current.get()

        async def claim(recorder):
            await send_ops(recorder, [op("claim", *row, at, by, token) for row in zip(ids, texts, expected, canonical)])

        if txn is None:  # not inside a run's transaction: a transaction of its own
            try:
                async with self._db.transaction():
                    await self.aclaim_answers(thread_id, graph, answers, by=by, at=at, token=token)
            except psycopg.Error as exc:
                if getattr(exc, "sqlstate", None) == CLAIMED_OTHERWISE:
                    raise await self.claim_failed(exc) from None
                raise
            return
        await self._db.write(claim, defer=True)
        txn.event_rows.extend(events)

    async def aclaim_token(self, interrupt_id: str) -> str | None:
        """The token the claim of the interrupt's decision recorded (None: none, or no claim)."""
        async def token(conn):
            cur = await conn.execute("SELECT claim_token FROM engine_interrupts WHERE id = %s", (str(interrupt_id),))
            return await cur.fetchone()
        found = await self._db.read(token)
        return found[0] if found else None

    async def claim_failed(self, exc: Exception) -> Exception:
        """The error for a queued claim that raised EL004 (the interrupt was decided otherwise,
        applied, or cancelled): AlreadyResolved; or, when the decision claimed is the run's
        answer normalized (a deadline's on_timeout answer is stored as written), ThreadMovedOn
        after noting that it counts as the same, so the run starts again and goes on."""
        interrupt_id, given = loads(exc.diag.message_primary)

        async def row(conn):
            cur = await conn.execute("SELECT thread_id, status, applied, response, resolved_by, resolved_at, payload "
                                     "FROM engine_interrupts WHERE id = %s", (interrupt_id,))
            return await cur.fetchone()

        found = await self._db.separately(row)
        if found is None:
            return ThreadMovedOn(str(interrupt_id))
        thread_id, status, applied, response, claimed_by, claimed_at, payload = found
        if status != "cancelled" and not applied and (interrupt_id, given) not in self._same \
                and _same_answer(payload, response, given):
            self._same[(interrupt_id, given)] = response
            return ThreadMovedOn(thread_id)
        return AlreadyResolved(interrupt_id, claimed_by or status, claimed_at,
                               loads(response) if response is not None else None)

    async def amark_applied(self, interrupt_ids: list[str]) -> None:
        if not interrupt_ids:
            return
        ids = list(interrupt_ids)

        async def mark(conn):
            await send_ops(conn, [op("applied", i) for i in ids])

        await self._db.write(mark, defer=True)

    # --- recovery ---------------------------------------------------------------------------------
    async def alist_recoverable(self) -> tuple[list, list[tuple[str, str]]]:
        now = now_us()

        async def work(conn):
            held = await (await conn.execute("SELECT thread_id, owner FROM engine_leases WHERE expires_at > %s",
                                             (now,))).fetchall()
            decided = await (await conn.execute(
                f"SELECT {INTERRUPT_COLUMNS} FROM engine_interrupts WHERE NOT applied AND status IN "
                "('resolved', 'expired') ORDER BY resolved_at, row_no")).fetchall()
            busy = await (await conn.execute("SELECT thread_id, graph FROM engine_threads WHERE status = 'busy' "
                                             "ORDER BY updated_at")).fetchall()
            return held, decided, busy

        held_rows, decided, busy = await self._db.read(work)
        held = {thread_id for thread_id, owner in held_rows if not owner_is_dead(owner)}
        decisions = [r for r in (interrupt_from_row(row) for row in decided) if r.thread_id not in held]
        claimed = {r.thread_id for r in decisions}
        orphans = [(t, g) for t, g in busy if t not in claimed and t not in held]
        return decisions, orphans


__all__ = ["Ownership", "LEASE_LOST", "LEASE_BUSY", "MOVED_ON", "CLAIMED_OTHERWISE"]
