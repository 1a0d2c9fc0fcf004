"""The SQLite saver's half of run ownership (engine/runtime/ownership.py has the model):
thread leases, the decisions a run claims and applies, what is left to recover, and the
record of reviewed tool calls. `Ownership` is the component SqliteSaver uses (it delegates
these methods of the store protocol to it), over the `Runner` it is given (runner.py).

Every write here that a run makes runs inside the run's own step transactions (queued with
`defer=True` where the run does not need the answer before the commit), so a lease check,
a claim and the step that depends on them commit together or not at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.checkpoint.base import ANY_CHECKPOINT, now_us, owner_is_dead
from engine.checkpoint.serde import dumps, loads
from engine.checkpoint.sqlite.audit_log import append_audit
from engine.checkpoint.sqlite.batching import chunks
from engine.checkpoint.sqlite.events import event_row, insert_events
from engine.checkpoint.sqlite.records import INTERRUPT_COLUMNS, InterruptRecord, interrupt_from_row
from engine.errors import AlreadyResolved, LeaseLost, ThreadBusy, ThreadMovedOn
from engine.events import InterruptResolved
from engine.review.validate import InvalidResponse, validate_response

if TYPE_CHECKING:
    from engine.checkpoint.sqlite.runner import Runner


def _same_answer(payload: str, claimed: str | None, given: str) -> bool:
    """Whether a run's answer is the decision claimed for the interrupt: the same text, or
    the same once both are normalized against the request (a deadline's `on_timeout` answer
    is stored as the program wrote it; the run applies it normalized)."""
    if claimed is None or claimed == given:
        return claimed == given
    request = loads(payload)
    try:
        return validate_response(request, loads(claimed)) == validate_response(request, loads(given))
    except InvalidResponse:
        return False


class Ownership:
    """Run-ownership leases, the claims a run applies, and recovery, in one saver's file.
    Runs its work through the saver's `Runner`."""

    def __init__(self, runner: "Runner") -> None:
        self._run = runner


    # --- leases ---------------------------------------------------------------------------------
    @staticmethod
    def _holder(db, thread_id: str) -> tuple[str, int] | None:
        return db.execute("SELECT owner, expires_at FROM leases WHERE thread_id = ?", (thread_id,)).fetchone()

    def _acquire(self, db, _txn, thread_id: str, owner: str, ttl: float, expect: Any) -> None:
        now = now_us()
        if expect is not ANY_CHECKPOINT:
            # The usual case in one statement: the lease is free, expired or ours, and `expect`
            # is still the thread's latest checkpoint. When it changes nothing, the steps
            # below find out which of the two it was (and make the same changes they always did).
            if db.execute(
                    "INSERT INTO leases (thread_id, owner, expires_at, acquired_at) SELECT ?1, ?2, ?3, ?4 "
                    "WHERE (SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?1 AND checkpoint_ns = '' "
                    "ORDER BY rowid DESC LIMIT 1) IS ?5 "
                    "ON CONFLICT (thread_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, "
                    "acquired_at = excluded.acquired_at WHERE leases.owner = excluded.owner OR leases.expires_at <= ?4",
                    (thread_id, owner, now + int(ttl * 1e6), now, expect)).rowcount == 1:
                return
        cursor = db.execute(
            "INSERT INTO leases (thread_id, owner, expires_at, acquired_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (thread_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, "
            "acquired_at = excluded.acquired_at WHERE leases.owner = excluded.owner OR leases.expires_at <= ?",
            (thread_id, owner, now + int(ttl * 1e6), now, now))
        if cursor.rowcount != 1:
            holder, expires = self._holder(db, thread_id)
            if not owner_is_dead(holder):
                raise ThreadBusy(thread_id, holder, (expires - now) / 1e6)
            db.execute("UPDATE leases SET owner = ?, expires_at = ?, acquired_at = ? WHERE thread_id = ?",
                       (owner, now + int(ttl * 1e6), now, thread_id))
        if expect is not ANY_CHECKPOINT:
            row = db.execute("SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                             "ORDER BY rowid DESC LIMIT 1", (thread_id,)).fetchone()
            if (row[0] if row else None) != expect:
                raise ThreadMovedOn(thread_id)

    async def alease_acquire(self, thread_id: str, owner: str, ttl: float, *, expect: Any = ANY_CHECKPOINT,
                             defer: bool = False) -> None:
        """Take the thread's lease for `owner` (or extend it if it is theirs already), in one
        conditional write. Raises ThreadBusy when another owner's lease has not expired, and
        ThreadMovedOn when `expect` (the checkpoint id the caller loaded, None for none) is no
        longer the thread's latest: someone else ran it meanwhile, reload and decide again."""
        await self._run.write(self._acquire, str(thread_id), owner, ttl, expect, defer=defer)

    def _renew(self, db, _txn, thread_id: str, owner: str, ttl: float, release: bool) -> None:
        if release:
            cursor = db.execute("DELETE FROM leases WHERE thread_id = ? AND owner = ?", (thread_id, owner))
        else:
            cursor = db.execute("UPDATE leases SET expires_at = ? WHERE thread_id = ? AND owner = ?",
                                (now_us() + int(ttl * 1e6), thread_id, owner))
        if cursor.rowcount != 1:
            holder = self._holder(db, thread_id)
            raise LeaseLost(thread_id, owner, holder[0] if holder else None)

    async def alease_renew(self, thread_id: str, owner: str, ttl: float, *, release: bool = False,
                           defer: bool = False) -> None:
        """Extend (or, with `release`, end) `owner`'s lease. Raises LeaseLost if it is not
        theirs any more: inside a step's transaction this keeps a run that lost its thread
        from committing anything."""
        await self._run.write(self._renew, str(thread_id), owner, ttl, release, defer=defer)

    async def alease_release(self, thread_id: str, owner: str) -> None:
        """End `owner`'s lease if they still hold it (nothing happens otherwise)."""
        await self._run.write(lambda db, _txn: db.execute("DELETE FROM leases WHERE thread_id = ? AND owner = ?",
                                                      (str(thread_id), owner)))

    async def alease_holder(self, thread_id: str) -> tuple[str, float] | None:
        """(owner, seconds until it expires; negative once expired) or None."""
        rows = await self._run.query("SELECT owner, expires_at FROM leases WHERE thread_id = ?", (str(thread_id),))
        return (rows[0][0], (rows[0][1] - now_us()) / 1e6) if rows else None

    # --- the decisions a run applies -------------------------------------------------------------
    def _claim_answers(self, db, txn, thread_id: str, graph: str, answers: dict[str, str], by: str | None,
                       at: str, token: str | None) -> None:
        for interrupt_id, response_text in answers.items():
            # Still pending (the usual case): claimed here, in one statement that gives back the
            # row the audit log records.
            claimed_row = db.execute(
                "UPDATE interrupts SET status = 'resolved', resolved_at = ?, resolved_by = ?, response = ?, "
                f"applied = 0, claim_token = ? WHERE id = ? AND status = 'pending' RETURNING {INTERRUPT_COLUMNS}",
                (at, by or "api", response_text, token, interrupt_id)).fetchall()
            if claimed_row:
                event = InterruptResolved(at=at, thread_id=thread_id, graph=graph, interrupt_id=interrupt_id,
                                          response=loads(response_text), by=by or "api")
                insert_events(db, txn, [event_row(event)])
                # A decision given straight to the run (Command(resume=...)) is audited too.
                append_audit(db, interrupt_from_row(claimed_row[0]))
                continue
            row = db.execute("SELECT status, applied, response, resolved_by, resolved_at, payload FROM interrupts "
                             "WHERE id = ?", (interrupt_id,)).fetchone()
            if row is None:
                continue  # not in the index (written without events): nothing to claim
            status, applied, claimed, claimed_by, claimed_at, payload = row
            if status == "cancelled" or applied or not _same_answer(payload, claimed, response_text):
                # someone else's decision, or one already applied: this answer is late
                raise AlreadyResolved(interrupt_id, claimed_by or status, claimed_at,
                                      loads(claimed) if claimed is not None else None)

    async def aclaim_answers(self, thread_id: str, graph: str, answers: dict[str, Any], *, by: str | None,
                             at: str | None = None, token: str | None = None) -> None:
        """Inside a run's first transaction: claim each answered interrupt that is still
        pending (as `resolve()` would), recording `token` with the claim, or check it is the
        decision already claimed for it. Raises AlreadyResolved, and the run does not start,
        when another answer was claimed first or the decision was applied already."""
        texts = {interrupt_id: dumps(answer) for interrupt_id, answer in answers.items()}
        await self._run.write(self._claim_answers, str(thread_id), graph, texts, by, at or self._run.now(), token,
                              defer=True)

    async def aclaim_token(self, interrupt_id: str) -> str | None:
        """The token the claim of the interrupt's decision recorded (None: none, or no claim)."""
        rows = await self._run.query("SELECT claim_token FROM interrupts WHERE id = ?", (str(interrupt_id),))
        return rows[0][0] if rows else None

    async def amark_applied(self, interrupt_ids: list[str]) -> None:
        """Inside the transaction of the step that consumed them: the claimed decisions are
        applied."""
        if not interrupt_ids:
            return

        def mark(db, _txn):
            for chunk in chunks(list(interrupt_ids)):
                db.execute(f"UPDATE interrupts SET applied = 1 WHERE id IN ({','.join('?' * len(chunk))}) "
                           "AND status IN ('resolved', 'expired')", chunk)

        await self._run.write(mark, defer=True)

    # --- recovery ---------------------------------------------------------------------------------
    async def alist_recoverable(self) -> tuple[list[InterruptRecord], list[tuple[str, str]]]:
        """What a worker can take over now, on threads nobody holds a live lease on:
        claimed-but-unapplied decisions (oldest claim first), and threads left `busy` by a run
        whose owner died, with no such decision ((thread_id, graph) pairs)."""
        now = now_us()
        held = {thread_id for thread_id, owner in await self._run.query(
            "SELECT thread_id, owner FROM leases WHERE expires_at > ?", (now,)) if not owner_is_dead(owner)}
        decisions = [record for record in (interrupt_from_row(row) for row in await self._run.query(
            f"SELECT {INTERRUPT_COLUMNS} FROM interrupts WHERE applied = 0 AND status IN ('resolved', 'expired') "
            "ORDER BY resolved_at, rowid")) if record.thread_id not in held]
        claimed = {r.thread_id for r in decisions}
        orphans = [(thread_id, graph) for thread_id, graph in await self._run.query(
            "SELECT thread_id, graph FROM threads WHERE status = 'busy' ORDER BY updated_at")
            if thread_id not in claimed and thread_id not in held]
        return decisions, orphans


__all__ = ["Ownership"]
