"""The store protocol's conformance suite (engine/checkpoint/store.py): the one place that checks
what every store must do, run against every store.

Two parameter lists, one per protocol:
- RUN_STORES (`RunStore`: leases, claims, events): SqliteSaver on a real file, InMemorySaver
  (whose in-process defaults implement them);
- INBOX_STORES (`InboxStore`: the pending-interrupt index, lookups, decisions and the audit log,
  deadlines): SqliteSaver on a real file.
PostgresSaver is in both, on a fresh database of the session's throwaway server (pg_url in
tests/conftest.py). A new backend adds itself to the lists that apply; nothing else changes here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from datetime import timedelta

import pytest

from engine.checkpoint.base import ANY_CHECKPOINT
from engine.checkpoint.memory import InMemorySaver
from engine.checkpoint.sqlite import SqliteSaver
from engine.checkpoint.store import InboxStore, InterruptNotFound, InterruptRecord, RunStore, ThreadRecord
from engine.errors import AlreadyResolved, LeaseLost, StorageError, ThreadBusy, ThreadMovedOn
from engine.events import (InterruptCancelled, InterruptExpired, InterruptRaised, InterruptResolved,
                           RunFailed, RunFinished, RunStarted)

from saver_helpers import T0, at, cfg  # noqa: E402  (tests/engine is on sys.path)


def ckpt(checkpoint_id: str, values: dict, versions: dict, step: int = 0) -> dict:
    return {"v": 1, "id": checkpoint_id, "ts": at(step), "step": step,
            "channel_values": values, "channel_versions": versions,
            "tasks": [], "waiting": {}, "breakpoint": None}


# --- the stores ------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def _sqlite(tmp_path, **options):
    saver = await SqliteSaver.aopen(tmp_path / "store.sqlite", **options)
    try:
        yield saver
    finally:
        await saver.aclose()


@contextlib.asynccontextmanager
async def _memory(tmp_path, **options):
    yield InMemorySaver(**options)


@contextlib.asynccontextmanager
async def _postgres(url, **options):
    from engine.checkpoint.postgres import PostgresSaver

    saver = await PostgresSaver.aopen(url, **options)
    try:
        yield saver
    finally:
        await saver.aclose()


RUN_STORES = {"sqlite": _sqlite, "memory": _memory, "postgres": _postgres}
INBOX_STORES = {"sqlite": _sqlite, "postgres": _postgres}


def _where(request, tmp_path):
    """What a store factory opens: a file under tmp_path, or a fresh Postgres database (pg_url)."""
    return request.getfixturevalue("pg_url") if request.param == "postgres" else tmp_path


@pytest.fixture(params=list(RUN_STORES))
async def run_store(request, tmp_path):
    async with RUN_STORES[request.param](_where(request, tmp_path)) as store:
        yield store


@pytest.fixture(params=list(INBOX_STORES))
async def inbox_store(request, tmp_path):
    async with INBOX_STORES[request.param](_where(request, tmp_path)) as store:
        yield store


@pytest.fixture(params=list(INBOX_STORES))
def open_inbox_store(request, tmp_path):
    """A store opened with options (e.g. an injected clock): `async with open_inbox_store(clock=...)`."""
    where = _where(request, tmp_path)
    return lambda **options: INBOX_STORES[request.param](where, **options)


# --- the protocols ---------------------------------------------------------------------------------
async def test_each_store_implements_its_protocols(run_store):
    assert isinstance(run_store, RunStore)


async def test_each_inbox_store_implements_the_inbox_protocol(inbox_store):
    assert isinstance(inbox_store, InboxStore) and isinstance(inbox_store, RunStore)


# --- events ----------------------------------------------------------------------------------------
async def test_events_are_numbered_and_read_since(run_store):
    stored = await run_store.aput_events([RunStarted(at=at(0), thread_id="t1", graph="g"),
                                          RunFinished(at=at(1), thread_id="t1", graph="g", outcome="done")])
    more = await run_store.aput_events([RunStarted(at=at(2), thread_id="t2")])
    assert [e.seq for e in stored + more] == [1, 2, 3]
    events = await run_store.aread_events()
    assert [(e.seq, e.kind, e.thread_id) for e in events] == [(1, "run_started", "t1"), (2, "run_finished", "t1"),
                                                             (3, "run_started", "t2")]
    assert events == stored + more
    assert [e.seq for e in await run_store.aread_events(since=1)] == [2, 3]
    assert [e.seq for e in await run_store.aread_events(since=1, limit=1)] == [2]
    assert await run_store.aread_events(since=3) == []
    assert await run_store.alast_event_seq() == 3


async def test_subscribe_yields_stored_then_new_events(run_store):
    await run_store.aput_events([RunStarted(at=at(0), thread_id="t1")])
    seen: list = []

    async def listen():
        async for event in run_store.subscribe(since=0):
            seen.append((event.seq, event.kind))
            if len(seen) == 3:
                return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.05)
    await run_store.aput_events([RunFinished(at=at(1), thread_id="t1", outcome="done")])
    await run_store.aput_events([RunStarted(at=at(2), thread_id="t2")])
    await asyncio.wait_for(listener, 5)
    assert seen == [(1, "run_started"), (2, "run_finished"), (3, "run_started")]
    later = run_store.subscribe(since=await run_store.alast_event_seq())
    waiting = asyncio.ensure_future(later.__anext__())
    await asyncio.sleep(0.05)
    assert not waiting.done()  # nothing after `since` yet
    await run_store.aput_events([RunStarted(at=at(3), thread_id="t3")])
    assert (await asyncio.wait_for(waiting, 5)).thread_id == "t3"
    await later.aclose()


# --- leases ----------------------------------------------------------------------------------------
OTHER = "elsewhere.example:1:a"  # another machine's owner: never taken for a dead local process
MINE = "elsewhere.example:2:b"


async def test_a_lease_is_taken_renewed_and_released(run_store):
    assert await run_store.alease_holder("t") is None
    await run_store.alease_acquire("t", MINE, 30)
    owner, expires_in = await run_store.alease_holder("t")
    assert owner == MINE and 25 < expires_in <= 30
    await run_store.alease_acquire("t", MINE, 60)  # the holder extends its own lease
    assert 55 < (await run_store.alease_holder("t"))[1] <= 60
    await run_store.alease_renew("t", MINE, 10)
    assert 5 < (await run_store.alease_holder("t"))[1] <= 10
    await run_store.alease_release("t", OTHER)  # not theirs: nothing happens
    assert (await run_store.alease_holder("t"))[0] == MINE
    await run_store.alease_release("t", MINE)
    assert await run_store.alease_holder("t") is None
    await run_store.alease_release("t", MINE)  # idempotent


async def test_a_live_lease_is_busy_for_others_and_renewing_a_lost_one_fails(run_store):
    await run_store.alease_acquire("t", OTHER, 30)
    with pytest.raises(ThreadBusy) as busy:
        await run_store.alease_acquire("t", MINE, 30)
    assert OTHER in str(busy.value)
    assert (await run_store.alease_holder("t"))[0] == OTHER
    with pytest.raises(LeaseLost):
        await run_store.alease_renew("t", MINE, 30)
    with pytest.raises(LeaseLost):
        await run_store.alease_renew("t", MINE, 30, release=True)
    await run_store.alease_renew("t", OTHER, 30, release=True)
    assert await run_store.alease_holder("t") is None
    with pytest.raises(LeaseLost):
        await run_store.alease_renew("t", OTHER, 30)


async def test_an_expired_lease_is_taken_over(run_store):
    await run_store.alease_acquire("t", OTHER, 0.05)
    await asyncio.sleep(0.1)
    assert (await run_store.alease_holder("t"))[1] < 0  # expired, still named
    await run_store.alease_acquire("t", MINE, 30)
    assert (await run_store.alease_holder("t"))[0] == MINE
    with pytest.raises(LeaseLost):
        await run_store.alease_renew("t", OTHER, 30)


async def test_a_dead_local_owner_is_not_waited_for(run_store):
    dead = f"{socket.gethostname()}:{2 ** 22 + 12345}:x"  # above pid_max: no such process
    await run_store.alease_acquire("t", dead, 30)
    await run_store.alease_acquire("t", MINE, 30)
    assert (await run_store.alease_holder("t"))[0] == MINE


async def test_a_thread_that_moved_on_is_refused(run_store):
    await run_store.alease_acquire("fresh", MINE, 30, expect=None)  # nothing saved yet: as expected
    await run_store.alease_release("fresh", MINE)
    await run_store.aput(cfg("t"), ckpt("0001", {}, {}), {}, {})
    await run_store.alease_acquire("t", MINE, 30, expect="0001")
    await run_store.alease_release("t", MINE)
    await run_store.aput(cfg("t", checkpoint_id="0001"), ckpt("0002", {}, {}, step=1), {}, {})
    with pytest.raises(ThreadMovedOn):
        await run_store.alease_acquire("t", MINE, 30, expect="0001")
    assert await run_store.alease_holder("t") is None  # refused: not taken
    await run_store.alease_acquire("t", MINE, 30, expect=ANY_CHECKPOINT)


# --- claims a run applies ------------------------------------------------------------------------------
async def test_claimed_answers_are_recorded_as_resolved(run_store):
    await run_store.aput_events([InterruptRaised(at=at(0), thread_id="t1", graph="g", interrupt_id="i1",
                                                 value={"q": 1})])
    async with run_store.transaction():
        await run_store.aclaim_answers("t1", "g", {"i1": {"type": "accept"}}, by="ann", at=at(5))
    resolved = [e for e in await run_store.aread_events() if e.kind == "interrupt_resolved"]
    assert [(e.interrupt_id, e.response, e.by) for e in resolved] == [("i1", {"type": "accept"}, "ann")]
    decisions, orphans = await run_store.alist_recoverable()  # an index keeps the claim to apply
    assert [r.id for r in decisions] in ([], ["i1"]) and orphans == []


async def test_a_claim_records_its_token_and_an_equal_answer_keeps_it(inbox_store):
    """The claim's token says whose request a decision was (`inbox serve`: its run id), which
    the reviewer's name cannot when two are both "api"; an equal answer claimed again (as a
    recovery re-applies a decision) is taken as that decision and keeps the first token."""
    await inbox_store.aput_events([InterruptRaised(at=at(0), thread_id="t1", graph="g", interrupt_id=i,
                                                   value="ok?") for i in ("i1", "i2")])
    assert await inbox_store.aclaim_token("i1") is None  # pending: nobody claimed it
    async with inbox_store.transaction():
        await inbox_store.aclaim_answers("t1", "g", {"i1": "yes"}, by=None, at=at(5), token="run-1")
    async with inbox_store.transaction():  # another request with the same answer and no name
        await inbox_store.aclaim_answers("t1", "g", {"i1": "yes"}, by=None, at=at(6), token="run-2")
    claimed = await inbox_store.aget_interrupt("i1")
    assert (claimed.resolved_by, claimed.resolved_at, claimed.response) == ("api", at(5), "yes")
    assert await inbox_store.aclaim_token("i1") == "run-1"
    assert "run-1" not in json.dumps(await inbox_store.aaudit_log())
    await inbox_store.aresolve("i2", "no", by="dana", at=at(7))  # decided without a run
    assert await inbox_store.aclaim_token("i2") is None and await inbox_store.aclaim_token("nope") is None


async def test_claim_answers_then_mark_applied(inbox_store):
    await inbox_store.aput_events([InterruptRaised(at=at(0), thread_id="t1", graph="g", interrupt_id="i1",
                                                   value="ok?")])
    async with inbox_store.transaction():
        await inbox_store.aclaim_answers("t1", "g", {"i1": "yes"}, by="ann", at=at(5))
    claimed = await inbox_store.aget_interrupt("i1")
    assert (claimed.status, claimed.response, claimed.resolved_by, claimed.applied) == ("resolved", "yes", "ann", False)
    assert [r.id for r in await inbox_store.alist_claimed_unapplied()] == ["i1"]
    decisions, _orphans = await inbox_store.alist_recoverable()
    assert [r.id for r in decisions] == ["i1"]
    await inbox_store.alease_acquire("t1", OTHER, 30)  # someone runs it: not recoverable now
    assert (await inbox_store.alist_recoverable())[0] == []
    async with inbox_store.transaction():  # the same answer again (a retry) is accepted...
        await inbox_store.aclaim_answers("t1", "g", {"i1": "yes"}, by="ann", at=at(6))
    with pytest.raises(AlreadyResolved):  # ...another one is late
        async with inbox_store.transaction():
            await inbox_store.aclaim_answers("t1", "g", {"i1": "no"}, by="bob", at=at(7))
    async with inbox_store.transaction():
        await inbox_store.amark_applied(["i1"])
    assert (await inbox_store.aget_interrupt("i1")).applied
    assert await inbox_store.alist_claimed_unapplied() == []
    with pytest.raises(AlreadyResolved):
        await inbox_store.aresolve("i1", "again", by="carol")


# --- threads, the pending index, lookups and counts -----------------------------------------------------

async def test_run_events_drive_thread_status(inbox_store):
    async def status(thread="t1"):
        return {t.thread_id: t for t in await inbox_store.alist_threads()}[thread]

    await inbox_store.aput(cfg(), ckpt("0001", {}, {}, step=0), {}, {})
    assert (await status()).status == "idle"
    await inbox_store.aput_events([RunStarted(at=at(1), thread_id="t1", graph="agent")])
    record = await status()
    assert (record.status, record.graph, record.metadata) == ("busy", "agent", {})
    assert record.updated_at == "2026-01-01T00:00:01.000000+00:00"
    await inbox_store.aput_events([RunFinished(at=at(2), thread_id="t1", outcome="interrupted")])
    assert (await status()).status == "interrupted" and (await status()).graph == "agent"
    await inbox_store.aput_events([RunStarted(at=at(3), thread_id="t1", graph="agent", source="resume"),
                                    RunFailed(at=at(4), thread_id="t1", graph="agent", error="x")])
    assert (await status()).status == "error"
    await inbox_store.aput_events([RunStarted(at=at(5), thread_id="t1"),
                                    RunFinished(at=at(6), thread_id="t1", outcome="done")])
    assert (await status()).status == "done"
    await inbox_store.aput_events([RunStarted(at=at(7), thread_id="t2", graph="other")])
    assert [t.thread_id for t in await inbox_store.alist_threads()] == ["t2", "t1"]
    assert [t.thread_id for t in await inbox_store.alist_threads(status="done")] == ["t1"]
    assert isinstance((await inbox_store.alist_threads())[0], ThreadRecord)


async def test_interrupt_events_drive_the_index(inbox_store):
    raise_ = lambda i, s=0, **kw: InterruptRaised(at=at(s), thread_id="t1", graph="g", interrupt_id=i,  # noqa: E731
                                                  node="review", ns="review:abc", checkpoint_id="0001",
                                                  value={"n": i}, **kw)
    await inbox_store.aput_events([raise_("a", 1), raise_("b", 2), raise_("c", 3), raise_("d", 4),
                                    raise_("e", 5, deadline=at(60))])
    await inbox_store.aput_events([raise_("a", 9)])  # a re-run node raises the same id again: ignored
    pending = await inbox_store.alist_pending()
    assert [r.id for r in pending] == ["a", "b", "c", "d", "e"]
    assert pending[0] == InterruptRecord(id="a", thread_id="t1", graph="g", ns="review:abc", node="review",
                                         checkpoint_id="0001", payload={"n": "a"},
                                         created_at="2026-01-01T00:00:01.000000+00:00", status="pending")
    assert pending[4].deadline == "2026-01-01T00:01:00.000000+00:00"

    await inbox_store.aput_events([
        InterruptResolved(at=at(10), thread_id="t1", interrupt_id="a", response={"type": "accept"}),
        InterruptResolved(at=at(11), thread_id="t1", interrupt_id="b", response=["x"], by="carol"),
        InterruptCancelled(at=at(12), thread_id="t1", interrupt_id="c", reason="fresh run"),
        InterruptExpired(at=at(13), thread_id="t1", interrupt_id="d", policy="resume", response={"type": "ignore"}),
        InterruptExpired(at=at(14), thread_id="t1", interrupt_id="e", policy="flag"),
    ])
    a, b, c, d, e = [await inbox_store.aget_interrupt(i) for i in "abcde"]
    assert (a.status, a.resolved_by, a.response, a.applied, a.resolved_at) == \
        ("resolved", "api", {"type": "accept"}, True, "2026-01-01T00:00:10.000000+00:00")
    assert (b.status, b.resolved_by, b.response, b.applied) == ("resolved", "carol", ["x"], True)
    assert (c.status, c.reason, c.applied) == ("cancelled", "fresh run", False)
    assert (d.status, d.resolved_by, d.response, d.applied, d.overdue) == \
        ("expired", "deadline", {"type": "ignore"}, False, True)
    assert (e.status, e.overdue) == ("pending", True)
    assert [r.id for r in await inbox_store.alist_claimed_unapplied()] == ["d"]
    # the runtime applies the expiry's default answer
    await inbox_store.aput_events([InterruptResolved(at=at(15), thread_id="t1", interrupt_id="d",
                                                      response={"type": "ignore"}, by="deadline")])
    assert (await inbox_store.aget_interrupt("d")).applied and (await inbox_store.aget_interrupt("d")).status == "expired"
    assert await inbox_store.acount_by_status() == {"pending": 1, "resolved": 2, "cancelled": 1, "expired": 1}
    assert [r.id for r in await inbox_store.adecisions()] == ["d", "c", "b", "a"]
    assert [r.id for r in await inbox_store.adecisions(thread_id="nobody")] == []
    assert (await inbox_store.alist_threads())[0].pending == 1


async def test_list_pending_filters_and_pages(inbox_store):
    human = lambda action, **args: {"action_request": {"action": action, "args": args},  # noqa: E731
                                    "config": {"allow_accept": True}, "description": f"Run {action}?"}
    payloads = {
        "p1": human("send_email", to="ada@example.com", subject="Quarterly REPORT"),
        "p2": [human("run_sql", query="DROP TABLE users")],
        "p3": {"action_requests": [{"name": "deploy", "arguments": {"env": "prod"}}, {"name": "send_email"}]},
        "p4": "Ünïcödé plain question: approve the ÉTÉ budget?",
        "p5": human("send_email", to="bob@example.com"),
    }
    events = [InterruptRaised(at=at(i), thread_id=f"t{i % 2}", graph="mail" if i % 2 else "ops",
                              interrupt_id=pid, value=value)
              for i, (pid, value) in enumerate(payloads.items())]
    await inbox_store.aput_events(events)
    ids = lambda records: [r.id for r in records]  # noqa: E731
    assert ids(await inbox_store.alist_pending()) == ["p1", "p2", "p3", "p4", "p5"]
    assert ids(await inbox_store.alist_pending(limit=2)) == ["p1", "p2"]
    assert ids(await inbox_store.alist_pending(limit=2, offset=2)) == ["p3", "p4"]
    assert ids(await inbox_store.alist_pending(offset=4)) == ["p5"]
    assert ids(await inbox_store.alist_pending(graph="mail")) == ["p2", "p4"]
    assert ids(await inbox_store.alist_pending(thread_id="t0")) == ["p1", "p3", "p5"]
    assert ids(await inbox_store.alist_pending(action="send_email")) == ["p1", "p3", "p5"]
    assert ids(await inbox_store.alist_pending(action="run_sql")) == ["p2"]
    assert ids(await inbox_store.alist_pending(action="deploy")) == ["p3"]
    assert ids(await inbox_store.alist_pending(action="nothing")) == []
    assert ids(await inbox_store.alist_pending(text="quarterly report")) == ["p1"]
    assert ids(await inbox_store.alist_pending(text="été")) == ["p4"]
    assert ids(await inbox_store.alist_pending(text="DROP table")) == ["p2"]
    assert ids(await inbox_store.alist_pending(action="send_email", thread_id="t0", text="bob")) == ["p5"]


# --- decisions: exactly once, and the audit log ---------------------------------------------------------

async def test_resolve_claims_exactly_once_then_the_runtime_applies_it(inbox_store):
    await inbox_store.aput_events([InterruptRaised(at=at(0), thread_id="t1", graph="g", interrupt_id="i1",
                                                    value={"q": 1})])
    since = await inbox_store.alast_event_seq()
    results = await asyncio.gather(*(inbox_store.aresolve("i1", {"type": "accept", "n": n}, by=f"user{n}",
                                                           at=at(5 + n))
                                     for n in range(10)), return_exceptions=True)
    winners = [r for r in results if isinstance(r, InterruptRecord)]
    losers = [r for r in results if isinstance(r, AlreadyResolved)]
    assert len(winners) == 1 and len(losers) == 9
    winner = winners[0]
    assert winner.status == "resolved" and not winner.applied
    for loser in losers:
        assert (loser.by, loser.at, loser.response) == (winner.resolved_by, winner.resolved_at, winner.response)
    events = await inbox_store.aread_events(since=since)
    assert [(e.kind, e.by) for e in events] == [("interrupt_resolved", winner.resolved_by)]
    assert [r.id for r in await inbox_store.alist_claimed_unapplied()] == ["i1"]
    assert await inbox_store.alist_pending() == []

    # the runtime resumes the graph with the claimed answer and reports it
    await inbox_store.aput_events([InterruptResolved(at=at(30), thread_id="t1", interrupt_id="i1",
                                                      response=winner.response, by=winner.resolved_by)])
    applied = await inbox_store.aget_interrupt("i1")
    assert applied.applied and applied.resolved_by == winner.resolved_by and applied.resolved_at == winner.resolved_at
    assert await inbox_store.alist_claimed_unapplied() == []

    with pytest.raises(InterruptNotFound, match="no interrupt with id 'nope'") as caught:
        await inbox_store.aresolve("nope", {}, by="x")
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, StorageError)
    with pytest.raises(ValueError, match="by="):
        await inbox_store.aresolve("i1", {}, by="")


async def test_cancelling_a_claimed_unapplied_decision(inbox_store):
    await inbox_store.aput_events([InterruptRaised(at=at(0), thread_id="t1", interrupt_id="i1", value=1)])
    await inbox_store.aresolve("i1", "yes", by="ann")
    await inbox_store.aput_events([InterruptCancelled(at=at(3), thread_id="t1", interrupt_id="i1", reason="restart")])
    record = await inbox_store.aget_interrupt("i1")
    assert (record.status, record.resolved_by, record.response) == ("cancelled", "ann", "yes")
    assert await inbox_store.alist_claimed_unapplied() == []
    with pytest.raises(AlreadyResolved):
        await inbox_store.aresolve("i1", "again", by="bob")


# --- deadlines ---------------------------------------------------------------------------------------

async def test_deadlines_flag_or_resume_with_an_injected_clock(open_inbox_store):
    now = [T0]
    async with open_inbox_store(clock=lambda: now[0]) as saver:
        await saver.aput_events([
            InterruptRaised(at=at(0), thread_id="t1", interrupt_id="flag-me", value=1, deadline=at(60)),
            InterruptRaised(at=at(0), thread_id="t2", interrupt_id="answer-me", value=2, deadline=at(30),
                            on_timeout={"type": "ignore"}),
            InterruptRaised(at=at(0), thread_id="t3", interrupt_id="no-deadline", value=3),
        ])
        assert await saver.aexpire_due() == []
        now[0] = T0 + timedelta(seconds=45)
        assert [r.id for r in await saver.alist_due()] == ["answer-me"]
        first = await saver.aexpire_due()
        assert [(r.id, r.status, r.response, r.applied) for r in first] == \
            [("answer-me", "expired", {"type": "ignore"}, False)]
        now[0] = T0 + timedelta(minutes=5)
        second = await saver.aexpire_due()
        assert [(r.id, r.status, r.overdue) for r in second] == [("flag-me", "pending", True)]
        assert await saver.aexpire_due() == []  # flagged once
        assert [r.id for r in await saver.alist_pending()] == ["flag-me", "no-deadline"]
        kinds = [(e.kind, e.interrupt_id, e.policy) for e in await saver.aread_events() if e.kind == "interrupt_expired"]
        assert kinds == [("interrupt_expired", "answer-me", "resume"), ("interrupt_expired", "flag-me", "flag")]
        # a flagged interrupt can still be decided by a human; an expired one cannot
        await saver.aresolve("flag-me", "late answer", by="dan")
        with pytest.raises(AlreadyResolved) as caught:
            await saver.aresolve("answer-me", "too late", by="dan")
        assert caught.value.by == "deadline"
        # the single-interrupt form
        await saver.aput_events([InterruptRaised(at=at(0), thread_id="t4", interrupt_id="x", value=4)])
        assert (await saver.aexpire("x", policy="flag")).overdue
        assert await saver.aexpire("x", policy="flag") is None
        assert (await saver.aexpire("x", policy="resume", response="auto")).status == "expired"


# --- id prefixes, the audit log and rules (issue 14) --------------------------------------------------
def _hi(action: str, **args) -> list:
    return [{"action_request": {"action": action, "args": args}, "config": {"allow_accept": True,
                                                                             "allow_respond": True}}]


async def test_interrupt_ids_are_found_by_prefix(inbox_store):
    raise_ = lambda i: InterruptRaised(at=at(1), thread_id="t1", graph="g", interrupt_id=i, value={"n": i})  # noqa: E731
    await inbox_store.aput_events([raise_("abc123x"), raise_("abc123y"), raise_("abd000")])
    assert await inbox_store.afind_interrupt_ids("abc123") == ["abc123x", "abc123y"]
    assert await inbox_store.afind_interrupt_ids("abd") == ["abd000"]
    assert await inbox_store.afind_interrupt_ids("abc", limit=1) == ["abc123x"]
    assert await inbox_store.afind_interrupt_ids("zzz") == []


async def test_decisions_are_audited_in_a_hash_chain(inbox_store):
    from engine.checkpoint.audit import verify_chain

    await inbox_store.aput_events([
        InterruptRaised(at=at(1), thread_id="t1", graph="g", interrupt_id=i, value=_hi("send", to=i)) for i in "ab"])
    await inbox_store.aresolve("a", [{"type": "accept", "args": None}], by="dana", at=at(5))
    await inbox_store.aresolve("b", [{"type": "response", "args": "no"}], by="sam", at=at(6))
    log = await inbox_store.aaudit_log()
    assert [e["interrupt_id"] for e in log] == ["a", "b"] and [e["seq"] for e in log] == [1, 2]
    assert json.loads(log[1]["row"])["by"] == "sam" and verify_chain(log) == []
    assert [e["interrupt_id"] for e in await inbox_store.aaudit_log(since=at(6))] == ["b"]


async def test_rules_answer_what_they_allow_when_it_is_raised(inbox_store):
    rule = await inbox_store.aput_rule({"tool": "send", "arg": "to", "op": "prefix", "value": "ops@",
                                        "created_by": "dana"})
    assert rule["id"] and rule["created_at"] and (await inbox_store.alist_rules()) == [rule]
    forbidding = [{"action_request": {"action": "send", "args": {"to": "ops@x"}}, "config": {"allow_accept": False,
                                                                                          "allow_respond": True}}]
    await inbox_store.aput_events([
        InterruptRaised(at=at(1), thread_id="t1", graph="g", interrupt_id="yes", value=_hi("send", to="ops@x")),
        InterruptRaised(at=at(1), thread_id="t1", graph="g", interrupt_id="other", value=_hi("send", to="ceo@x")),
        InterruptRaised(at=at(1), thread_id="t2", graph="g", interrupt_id="forbidden", value=forbidding)])
    yes, other, forbidden = [await inbox_store.aget_interrupt(i) for i in ("yes", "other", "forbidden")]
    assert (yes.status, yes.resolved_by, yes.applied) == ("resolved", f"rule:{rule['id']}", False)
    assert other.status == "pending" and forbidden.status == "pending"
    assert [e["interrupt_id"] for e in await inbox_store.aaudit_log()] == ["yes"]
    revoked = await inbox_store.aput_rule({**rule, "revoked_at": at(2), "revoked_by": "sam"})
    assert await inbox_store.alist_rules() == [] and await inbox_store.alist_rules(include_revoked=True) == [revoked]
    await inbox_store.aput_events([InterruptRaised(at=at(3), thread_id="t3", graph="g", interrupt_id="later",
                                                   value=_hi("send", to="ops@y"))])
    assert (await inbox_store.aget_interrupt("later")).status == "pending"
    with pytest.raises(ValueError, match="needs the tool"):
        await inbox_store.aput_rule({"created_by": "dana"})


async def test_a_response_schema_is_stored_returned_and_checked_when_claiming(inbox_store):
    from engine.review.validate import InvalidResponse

    schema = {"type": "integer", "minimum": 1, "maximum": 5}
    await inbox_store.aput_events([
        InterruptRaised(at=at(1), thread_id="t1", graph="g", interrupt_id="n", value="How many?",
                        response_schema=schema),
        InterruptRaised(at=at(1), thread_id="t1", graph="g", interrupt_id="free", value="Anything?")])
    assert (await inbox_store.aget_interrupt("n")).response_schema == schema
    assert [r.response_schema for r in await inbox_store.alist_pending()] == [schema, None]
    assert [e.response_schema for e in await inbox_store.aread_events()] == [schema, None]
    with pytest.raises(InvalidResponse, match="response_schema"):
        await inbox_store.aresolve("n", 9, by="dana", at=at(2))
    assert (await inbox_store.aget_interrupt("n")).status == "pending"  # nothing was stored
    assert (await inbox_store.aresolve("n", 3, by="dana", at=at(3))).response == 3
    assert (await inbox_store.aresolve("free", {"any": "thing"}, by="dana", at=at(3))).status == "resolved"


async def test_every_kind_of_decision_is_audited_in_its_transaction(open_inbox_store):
    from engine.checkpoint.audit import verify_chain

    async with open_inbox_store() as store:
        await store.aput_events([
            InterruptRaised(at=at(1), thread_id=t, graph="g", interrupt_id=t, value=_hi("send", to=t),
                            deadline=at(5) if t == "late" else None,
                            on_timeout=[{"type": "accept", "args": None}] if t == "late" else None)
            for t in ("direct", "late", "rolled")])
        async with store.transaction():  # a run's own answer (Command(resume=...)) is a decision too
            await store.aclaim_answers("direct", "g", {"direct": [{"type": "accept", "args": None}]}, by=None,
                                       at=at(2))
        with pytest.raises(RuntimeError):
            async with store.transaction():  # rolled back: neither the claim nor its audit row stays
                await store.aclaim_answers("rolled", "g", {"rolled": [{"type": "accept", "args": None}]},
                                           by=None, at=at(3))
                raise RuntimeError("the step failed")
        assert [r.id for r in await store.aexpire_due(at(6))] == ["late"]
        log = await store.aaudit_log()
        assert [(e["seq"], e["interrupt_id"]) for e in log] == [(1, "direct"), (2, "late")]
        assert [json.loads(e["row"])["by"] for e in log] == ["api", "deadline"] and verify_chain(log) == []
        assert (await store.aget_interrupt("rolled")).status == "pending"


# --- the Agent Server API's records (engine/checkpoint/api_store.py): `inbox serve`'s threads and runs ---
from engine.checkpoint.api_store import ApiStore  # noqa: E402


def _run(run_id: str, thread_id: str = "t1", status: str = "pending", seconds: int = 0, **extra) -> dict:
    return {"run_id": run_id, "thread_id": thread_id, "assistant_id": "a-uuid", "graph_id": "agent",
            "status": status, "created_at": at(seconds), "updated_at": at(seconds), "metadata": {"m": 1},
            "kwargs": {"input": {"x": [1, 2]}}, "multitask_strategy": "enqueue", "result": None, **extra}


async def test_api_threads_are_created_once_and_merge_metadata(inbox_store):
    assert isinstance(inbox_store, ApiStore)
    assert await inbox_store.aget_api_thread("new") is None
    assert await inbox_store.acreate_api_thread("new", {"user": "dana", "tags": ["a"]}) is True
    assert await inbox_store.acreate_api_thread("new", {"user": "erin"}) is False  # kept as it was
    record = await inbox_store.aget_api_thread("new")
    assert (record["thread_id"], record["status"], record["metadata"]) == ("new", "idle", {"user": "dana", "tags": ["a"]})
    assert record["created_at"] == record["updated_at"] and record["created_at"].endswith("+00:00")
    await inbox_store.amerge_api_thread_metadata("new", {"graph_id": "agent", "user": "erin"})
    assert (await inbox_store.aget_api_thread("new"))["metadata"] == {"user": "erin", "tags": ["a"], "graph_id": "agent"}
    # a thread only a run made: it exists (created again: no), with its run metadata and graph
    await inbox_store.aput_events([RunStarted(at=at(1), thread_id="ran", graph="agent", metadata={"k": "v"}),
                                    RunFinished(at=at(2), thread_id="ran", graph="agent", outcome="done")])
    assert await inbox_store.acreate_api_thread("ran", {}) is False
    ran = await inbox_store.aget_api_thread("ran")
    assert (ran["status"], ran["metadata"], ran["created_at"]) == ("idle", {"k": "v", "graph_id": "agent"}, at(1).replace("+00:00", ".000000+00:00"))
    await inbox_store.amerge_api_thread_metadata("ran", {"assistant_id": "x"})  # recorded from then on
    assert (await inbox_store.aget_api_thread("ran"))["metadata"] == {"assistant_id": "x"}
    # the thread's status is the engine's, whatever the API's record says
    await inbox_store.aput_events([RunStarted(at=at(3), thread_id="new", graph="agent")])
    assert (await inbox_store.aget_api_thread("new"))["status"] == "busy"


async def test_api_thread_search_filters_sorts_pages_and_counts(inbox_store):
    for i in range(5):  # threads that ran: t0..t4, interrupted but t4 (an error)
        events = [RunStarted(at=at(i), thread_id=f"t{i}", graph="agent" if i % 2 == 0 else "other",
                             metadata={"user": "dana" if i < 3 else "erin", "n": i, "nested": {"tags": ["x", f"y{i}"]}}),
                  RunFinished(at=at(i), thread_id=f"t{i}", outcome="interrupted")]
        if i == 4:
            events[-1] = RunFailed(at=at(i), thread_id="t4", error="boom")
        await inbox_store.aput_events(events)
    await inbox_store.acreate_api_thread("fresh", {"user": "dana", "flag": True})  # never ran: idle

    async def search(**kw):
        rows, total = await inbox_store.asearch_api_threads(**kw)
        return [r["thread_id"] for r in rows], total

    assert await search(status="interrupted") == (["t3", "t2", "t1", "t0"], 4)
    assert await search(status="interrupted", limit=2, offset=1) == (["t2", "t1"], 4)
    assert await search(status="interrupted", sort_order="asc", limit=3) == (["t0", "t1", "t2"], 4)
    assert await search(status="interrupted", metadata={"graph_id": "agent"}) == (["t2", "t0"], 2)
    assert await search(status="error") == (["t4"], 1)
    assert await search(status="idle") == (["fresh"], 1)
    assert await search(status="busy") == ([], 0)
    everything, total = await search(limit=100)
    assert total == 6 and sorted(everything) == ["fresh", "t0", "t1", "t2", "t3", "t4"]
    assert await search(metadata={"user": "dana"}, sort_by="thread_id", sort_order="asc") == (["fresh", "t0", "t1", "t2"], 4)
    assert await search(metadata={"flag": True}) == (["fresh"], 1)
    assert await search(metadata={"nested": {"tags": ["y3"]}}) == (["t3"], 1)  # containment, nested
    assert await search(metadata={"nested": {"tags": ["x"]}}, status="interrupted", limit=1) == (["t3"], 4)
    assert await search(metadata={"n": 2, "user": "dana"}) == (["t2"], 1)
    assert await search(ids=["t1", "fresh", "nobody"], sort_by="thread_id", sort_order="asc") == (["fresh", "t1"], 2)
    assert await search(ids=[], status="interrupted") == ([], 0)
    assert await search(sort_by="status", sort_order="asc", status="interrupted", limit=1) == (["t0"], 4)
    rows, _ = await inbox_store.asearch_api_threads(status="interrupted", limit=1)
    assert rows[0] == {"thread_id": "t3", "created_at": "2026-01-01T00:00:03.000000+00:00",
                       "updated_at": "2026-01-01T00:00:03.000000+00:00", "status": "interrupted",
                       "metadata": {"user": "erin", "n": 3, "nested": {"tags": ["x", "y3"]}, "graph_id": "other"}}
    for bad, match in [({"status": "paused"}, "status 'paused'"), ({"sort_by": "size"}, "sort_by 'size'"),
                       ({"sort_order": "up"}, "sort_order 'up'"), ({"limit": -1}, "must not be negative")]:
        with pytest.raises(ValueError, match=match):
            await inbox_store.asearch_api_threads(**bad)


async def test_latest_checkpoints_of_many_threads_in_one_read(inbox_store):
    await inbox_store.aput(cfg("t1"), ckpt("0001", {"a": 1}, {"a": 1}), {"step": 0}, {"a": 1})
    second = await inbox_store.aput(cfg("t1", checkpoint_id="0001"), ckpt("0002", {"a": 2, "log": ["x"] * 50},
                                                                          {"a": 2, "log": 1}, 1),
                                    {"step": 1}, {"a": 2, "log": 1})
    await inbox_store.aput_writes(second, [("__interrupt__", [{"value": {"q": "ok?"}, "id": "i" * 32}])], "task-1")
    await inbox_store.aput(cfg("t2"), ckpt("0001", {"b": True}, {"b": 1}), {}, {"b": 1})
    await inbox_store.aput(cfg("t2", ns="sub:1"), ckpt("0009", {"c": 0}, {"c": 1}), {}, {"c": 1})  # not the root
    heads = await inbox_store.alatest_checkpoints(["t1", "t2", "nobody"])
    assert set(heads) == {"t1", "t2"}
    for thread in ("t1", "t2"):
        assert heads[thread] == await inbox_store.aget_tuple(cfg(thread))
    assert heads["t1"].checkpoint["channel_values"]["log"] == ["x"] * 50
    assert heads["t1"].pending_writes == [("task-1", "__interrupt__", [{"value": {"q": "ok?"}, "id": "i" * 32}])]
    assert await inbox_store.alatest_checkpoints([]) == {}


async def test_api_runs_are_recorded_listed_and_finished(inbox_store):
    await inbox_store.aput_api_run(_run("r1", seconds=1, owner="host:1:a", heartbeat_at=at(1)))
    await inbox_store.aput_api_run(_run("r2", seconds=2))
    await inbox_store.aput_api_run(_run("r3", thread_id="t2", seconds=3, status="running"))
    r1 = await inbox_store.aget_api_run("t1", "r1")
    assert r1 == {**_run("r1", seconds=1), "created_at": "2026-01-01T00:00:01.000000+00:00",
                  "updated_at": "2026-01-01T00:00:01.000000+00:00", "owner": "host:1:a",
                  "heartbeat_at": "2026-01-01T00:00:01.000000+00:00"}
    assert await inbox_store.aget_api_run("t2", "r1") is None  # another thread's run
    assert [r["run_id"] for r in await inbox_store.alist_api_runs("t1")] == ["r2", "r1"]
    assert [r["run_id"] for r in await inbox_store.alist_api_runs("t1", limit=1, offset=1)] == ["r1"]
    assert [r["run_id"] for r in await inbox_store.alist_unfinished_api_runs()] == ["r1", "r2", "r3"]
    assert [r["run_id"] for r in await inbox_store.alist_unfinished_api_runs("t2")] == ["r3"]
    await inbox_store.aset_api_run_status("r1", "success", {"done": True, "__interrupt__": []})
    r1 = await inbox_store.aget_api_run("t1", "r1")
    assert (r1["status"], r1["result"]) == ("success", {"done": True, "__interrupt__": []})
    assert r1["updated_at"] > r1["created_at"]
    assert [r["run_id"] for r in await inbox_store.alist_api_runs("t1", status="success")] == ["r1"]
    assert [r["run_id"] for r in await inbox_store.alist_unfinished_api_runs()] == ["r2", "r3"]
    await inbox_store.aput_api_run({**_run("r2", seconds=2), "status": "running", "owner": "me"})  # replaced
    assert (await inbox_store.aget_api_run("t1", "r2"))["status"] == "running"


async def test_an_orphaned_api_run_is_taken_over_by_one_process(inbox_store):
    await inbox_store.aput_api_run(_run("r1", owner="dead:1:a", heartbeat_at=at(0)))
    await inbox_store.aput_api_run(_run("r2", owner="alive:2:b", heartbeat_at=at(0)))
    await inbox_store.aput_api_run(_run("old", owner=None))  # a record from before runs had owners
    await inbox_store.aheartbeat_api_runs("alive:2:b")
    beats = {r["run_id"]: r["heartbeat_at"] for r in await inbox_store.alist_unfinished_api_runs()}
    assert beats["r1"] == at(0).replace("+00:00", ".000000+00:00") and beats["r2"] > beats["r1"]
    won = await asyncio.gather(*(inbox_store.aclaim_api_run("r1", f"replica-{n}", previous="dead:1:a")
                                 for n in range(4)))
    assert won.count(True) == 1
    winner = (await inbox_store.aget_api_run("t1", "r1"))["owner"]
    assert winner == f"replica-{won.index(True)}"
    assert await inbox_store.aclaim_api_run("r1", "late", previous="dead:1:a") is False
    assert await inbox_store.aclaim_api_run("old", "replica-0", previous=None) is True
    await inbox_store.aset_api_run_status("r2", "success")
    assert await inbox_store.aclaim_api_run("r2", "replica-0", previous="alive:2:b") is False  # finished
