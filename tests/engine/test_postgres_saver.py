"""PostgresSaver against a real server (the session's throwaway cluster, tests/pg_cluster.py):
what the shared suites (test_store_conformance.py, and every engine test through the `saver`
fixture) do not cover: migrations racing and refusing a newer schema, prepared statements off,
one commit per superstep, events ordered despite a writer committing late, wake-ups from
another process, reconnecting after a server restart, and passwords kept out of messages."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TypedDict

import pytest

psycopg = pytest.importorskip("psycopg")

from engine._internal.sync import run_sync  # noqa: E402
from engine.checkpoint import describe, open_store  # noqa: E402
from engine.checkpoint.postgres import PostgresSaver, SCHEMA_VERSION  # noqa: E402
from engine.checkpoint.postgres.dsn import redact, redact_text  # noqa: E402
from engine.checkpoint.postgres.schema import EVENTS_LOCK  # noqa: E402
from engine.errors import StorageError  # noqa: E402
from engine.events import RunStarted  # noqa: E402
from engine.graph import END, START, StateGraph  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _scalar(url: str, sql: str, params=()):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


# --- opening -------------------------------------------------------------------------------------
def test_two_processes_opening_a_fresh_database_at_once_both_succeed(pg_empty_url):
    script = textwrap.dedent("""
        import sys
        from engine.checkpoint.postgres import PostgresSaver
        PostgresSaver.open(sys.argv[1]).close()
        print("ok")
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", script, pg_empty_url], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], results
    assert _scalar(pg_empty_url, "SELECT count(*) FROM engine_schema") == SCHEMA_VERSION
    assert _scalar(pg_empty_url, "SELECT max(version) FROM engine_schema") == SCHEMA_VERSION


def test_a_newer_schema_is_refused_and_nothing_is_written(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO engine_schema (version, applied_at) VALUES (%s, 'later')", (SCHEMA_VERSION + 1,))
    with pytest.raises(StorageError, match=rf"newer version of this engine \(schema version {SCHEMA_VERSION + 1}; .*up to {SCHEMA_VERSION}\)"):
        PostgresSaver.open(pg_url)
    assert _scalar(pg_url, "SELECT count(*) FROM engine_threads") == 0


def test_a_version_1_database_is_migrated_and_keeps_its_rows(pg_empty_url):
    from engine.checkpoint.postgres.schema import MIGRATIONS

    with psycopg.connect(pg_empty_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE engine_schema (version integer PRIMARY KEY, applied_at text NOT NULL)")
        for statement in MIGRATIONS[0][1]:
            conn.execute(statement)
        conn.execute("INSERT INTO engine_schema VALUES (1, 'then')")
        conn.execute("INSERT INTO engine_interrupts (id, thread_id, payload, created_at, status, resolved_by) "
                     "VALUES ('old', 't', '\"ok?\"', '2025-01-01T00:00:00.000000+00:00', 'resolved', 'dana')")
    with PostgresSaver.from_conn_string(pg_empty_url) as saver:
        old = saver.get_interrupt("old")
        assert (old.payload, old.resolved_by, old.response_schema) == ("ok?", "dana", None)
        assert run_sync(saver.aaudit_log()) == []  # the chain starts at the upgrade
    assert _scalar(pg_empty_url, "SELECT max(version) FROM engine_schema") == SCHEMA_VERSION


def test_a_version_5_database_gains_claim_tokens_and_its_claimed_decisions_still_apply(pg_empty_url):
    """Version 6 records the token of the run whose claim decided an interrupt (engine_claim and
    engine_step's 'claim' take it). A decision claimed before the upgrade has none, and a run
    given the same answer (a recovery applying it) still takes it as that decision; a claim
    made now records its token."""
    from engine.checkpoint.postgres.schema import MIGRATIONS

    with psycopg.connect(pg_empty_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE engine_schema (version integer PRIMARY KEY, applied_at text NOT NULL)")
        for version, statements in MIGRATIONS:
            if version <= 5:
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO engine_schema VALUES (%s, 'then')", (version,))
        conn.execute("INSERT INTO engine_interrupts (id, thread_id, graph, payload, created_at, status, resolved_at, "
                     "resolved_by, response, applied) VALUES ('claimed', 't', 'g', '\"ok?\"', "
                     "'2026-01-01T00:00:00.000000+00:00', 'resolved', '2026-01-01T00:00:01.000000+00:00', 'api', "
                     "'\"yes\"', false)")
        conn.execute("INSERT INTO engine_interrupts (id, thread_id, graph, payload, created_at, status) "
                     "VALUES ('pending', 't', 'g', '\"ok?\"', '2026-01-01T00:00:00.000000+00:00', 'pending')")

    async def claim(saver):
        assert await saver.aclaim_token("claimed") is None
        async with saver.transaction():  # the recovery's claim, then a new decision
            await saver.aclaim_answers("t", "g", {"claimed": "yes", "pending": "no"}, by=None, token="run-2")
        return await saver.aclaim_token("claimed"), await saver.aclaim_token("pending")

    with PostgresSaver.from_conn_string(pg_empty_url) as saver:
        assert run_sync(claim(saver)) == (None, "run-2")
        claimed = saver.get_interrupt("claimed")
        assert (claimed.resolved_by, claimed.resolved_at, claimed.response) == (
            "api", "2026-01-01T00:00:01.000000+00:00", "yes")
        assert saver.get_interrupt("pending").resolved_by == "api"
    assert _scalar(pg_empty_url, "SELECT max(version) FROM engine_schema") == SCHEMA_VERSION == 6
    assert _scalar(pg_empty_url, "SELECT count(*) FROM pg_proc WHERE proname = 'engine_claim'") == 1


def test_prepared_statements_are_off_by_default_and_can_be_turned_on(pg_url):
    async def check(**options):
        saver = await PostgresSaver.aopen(pg_url, **options)
        try:
            pool = await saver._db.pool()
            async with pool.connection() as conn:
                return conn.prepare_threshold
        finally:
            await saver.aclose()

    assert asyncio.run(check()) is None  # PgBouncer in transaction mode cannot keep them
    assert asyncio.run(check(prepare_threshold=5)) == 5


def test_open_store_takes_a_url_or_a_path(pg_url, tmp_path):
    with open_store(pg_url) as saver:
        assert isinstance(saver, PostgresSaver)
    with open_store(str(tmp_path / "x.sqlite")) as saver:
        assert type(saver).__name__ == "SqliteSaver"


# --- passwords -------------------------------------------------------------------------------------
SECRET = "s3cr3t-pw"


def test_passwords_are_redacted_in_every_form():
    assert redact(f"postgresql://ann:{SECRET}@db:5432/inbox") == "postgresql://ann:***@db:5432/inbox"
    assert SECRET not in redact(f"host=db password={SECRET} dbname=x")
    assert SECRET not in redact(f"postgresql://ann@db/x?password={SECRET}&sslmode=require")
    assert redact_text(f"failed for user ann with {SECRET}", f"postgresql://ann:{SECRET}@db/x") == \
        "failed for user ann with ***"
    assert SECRET not in describe(f"postgres://ann:{SECRET}@db/x")
    assert SECRET not in repr(PostgresSaver(f"postgresql://ann:{SECRET}@db/x"))


def test_a_failed_connection_never_shows_the_password(pg_cluster):
    url = f"postgresql://nobody:{SECRET}@127.0.0.1:{pg_cluster.port}/no_such_db?connect_timeout=3"
    with pytest.raises(StorageError) as failed:
        PostgresSaver.open(url, connect_timeout=3)
    assert SECRET not in str(failed.value) and "no_such_db" in str(failed.value)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOX_")}
    env.update(PYTHONPATH=str(REPO), DATABASE_URL=url)
    done = subprocess.run([sys.executable, "-m", "inbox.cli", "list"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "no_such_db" in done.stderr, done.stderr
    assert SECRET not in done.stdout + done.stderr


# --- one transaction per superstep -------------------------------------------------------------------
class Counter(TypedDict):
    n: int


def _three_steps(saver):
    builder = StateGraph(Counter)
    builder.add_node("a", lambda s: {"n": 1})
    builder.add_node("b", lambda s: {"n": 2})
    builder.add_node("c", lambda s: {"n": 3})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder.compile(checkpointer=saver)


def test_each_superstep_is_one_transaction(pg_url):
    with PostgresSaver.from_conn_string(pg_url) as saver:
        graph = _three_steps(saver)
        config = {"configurable": {"thread_id": "t"}}
        before = _scalar(pg_url, "SELECT pg_current_xact_id()::text::bigint")
        graph.invoke({"n": 0}, config)
        after = _scalar(pg_url, "SELECT pg_current_xact_id()::text::bigint")
        checkpoints = len(list(graph.get_state_history(config)))
    # every write transaction takes one transaction id (the probe above takes one too); the
    # history is LangGraph's: the input checkpoint (step -1), saved in the first step's
    # transaction (engine/runtime/loop.py), then steps 0 to 3
    assert checkpoints == 5 and after - before - 1 == checkpoints - 1


# --- events --------------------------------------------------------------------------------------
async def test_a_reader_never_skips_an_event_committed_late(pg_url):
    """A transaction holding seq 1 uncommitted while seq 2 commits: a reader waits for it
    instead of returning 2 (and then never seeing 1)."""
    saver = await PostgresSaver.aopen(pg_url)
    slow = await psycopg.AsyncConnection.connect(pg_url, autocommit=True)
    try:
        await slow.execute("BEGIN")
        await slow.execute("SELECT pg_advisory_xact_lock_shared(%s)", (EVENTS_LOCK,))
        await slow.execute("INSERT INTO engine_events (at, thread_id, graph, kind, data) "
                           "VALUES ('2026-01-01T00:00:00.000000+00:00', 'slow', '', 'run_started', '{}')")
        fast = await saver.aput_events([RunStarted(at="2026-01-01T00:00:01+00:00", thread_id="fast")])
        assert fast[0].seq == 2
        reading = asyncio.ensure_future(saver.aread_events(since=0))
        await asyncio.sleep(0.2)
        assert not reading.done()  # it waits for the writer holding seq 1
        await slow.execute("COMMIT")
        events = await asyncio.wait_for(reading, 10)
        assert [(e.seq, e.thread_id) for e in events] == [(1, "slow"), (2, "fast")]
    finally:
        await slow.close()
        await saver.aclose()


WRITER = textwrap.dedent("""
    import sys, time
    from datetime import datetime, timezone
    from engine.checkpoint.postgres import PostgresSaver
    from engine.events import RunStarted
    with PostgresSaver.from_conn_string(sys.argv[1]) as saver:
        saver.put_events([RunStarted(at=datetime.now(timezone.utc).isoformat(), thread_id="warm-up")])
        time.sleep(0.5)
        for n in range(int(sys.argv[2])):
            saver.put_events([RunStarted(at=datetime.now(timezone.utc).isoformat(), thread_id=f"t{n}")])
            time.sleep(0.03)
""")


async def test_subscribe_hears_another_process_within_50_ms_p95(pg_url):
    """Measured from the writer's clock before its commit to the subscriber's receipt. On a
    shared 2-core machine one slow stretch can spoil a sample: a second sample is taken then."""
    for attempt in (1, 2):
        p95, latencies = await _subscribe_latency(pg_url)
        if p95 <= 0.050:
            break
    assert p95 <= 0.050, sorted(latencies)


async def _subscribe_latency(pg_url):
    count = 40
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute("TRUNCATE engine_events")
    saver = await PostgresSaver.aopen(pg_url)
    latencies = []
    try:
        # a long poll interval: a wake-up can only come from LISTEN/NOTIFY
        stream = saver.subscribe(since=0, poll_interval=0.1)
        writer = await asyncio.create_subprocess_exec(sys.executable, "-c", WRITER, pg_url, str(count),
                                                      env={**os.environ, "PYTHONPATH": str(REPO)})

        async def listen():
            async for event in stream:
                if event.thread_id == "warm-up":
                    continue
                sent = datetime.fromisoformat(event.at)
                latencies.append((datetime.now(timezone.utc) - sent).total_seconds())
                if len(latencies) == count:
                    return

        await asyncio.wait_for(listen(), 60)
        assert await writer.wait() == 0
        await stream.aclose()
    finally:
        await saver.aclose()
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(f"\n[postgres subscribe] cross-process latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms over {count} events")
    return p95, latencies


# --- reconnecting ------------------------------------------------------------------------------------
def test_reads_and_writes_continue_after_a_server_restart(pg_cluster, pg_url):
    with PostgresSaver.from_conn_string(pg_url, pool_size=2, min_pool_size=2) as saver:
        saver.put_events([RunStarted(at="2026-01-01T00:00:00+00:00", thread_id="before")])
        assert saver.count_by_status()["pending"] == 0
        assert saver.list_pending() == []  # a whole listing: a sync connection, kept (bulk.py)
        pg_cluster.restart()  # every pooled connection is dropped
        started = time.monotonic()
        assert [e.thread_id for e in saver.read_events()] == ["before"]  # a read retries once
        assert saver.list_threads()[0].thread_id == "before"
        saver.put_events([RunStarted(at="2026-01-01T00:00:01+00:00", thread_id="after")])
        assert [e.thread_id for e in saver.read_events()] == ["before", "after"]
        assert saver.list_pending() == []  # its kept connection was dropped too: a fresh one
        assert time.monotonic() - started < 10


# --- listing ----------------------------------------------------------------------------------------
def test_a_listing_keeps_the_order_interrupts_were_raised_in_when_their_times_tie(pg_url):
    """Rows with one created_at come back in the order they were written (row_no), whole (a
    sync connection, in chunks: bulk.py) or a page at a time (the pool), with every field:
    rows with a deadline, and one whose decision columns are set while it is still pending."""
    ids = [f"i{(n * 7919) % 1300:04d}" for n in range(1300)]  # not in id order
    with PostgresSaver.from_conn_string(pg_url) as saver:
        saver.setup()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for n, id_ in enumerate(ids):
                conn.execute(
                    "INSERT INTO engine_interrupts (id, thread_id, graph, ns, node, checkpoint_id, payload, created_at, "
                    "deadline, resolved_by) VALUES (%s, %s, 'g', 'n:1', 'n', 'c', %s, '2026-01-01T00:00:00+00:00', %s, %s)",
                    (id_, f"t{n}", f'{{"n": {n}, "note": "{"Needle" if n % 3 == 0 else "hay"}"}}',
                     "2026-01-02T00:00:00+00:00" if n % 100 == 5 else None, "early" if n == 1111 else None))
        whole = saver.list_pending()
        assert [record.id for record in whole] == ids
        assert [record.payload["n"] for record in whole] == list(range(1300))
        assert whole[105].deadline == "2026-01-02T00:00:00+00:00" and whole[106].deadline is None
        assert whole[1111].resolved_by == "early" and whole[1110].resolved_by is None
        for record in (whole[0], whole[105], whole[1111]):
            assert record == saver.get_interrupt(record.id)
        assert saver.list_pending(limit=100, offset=1050) == whole[1050:1150]  # a page: the pool's path
        assert saver.list_pending(offset=1200) == whole[1200:]
        needles = [r for r in whole if r.payload["n"] % 3 == 0]
        assert saver.list_pending(text="needle", offset=10) == needles[10:]
        assert saver.list_pending(text="needle", offset=10, limit=5) == needles[10:15]


def test_a_steps_array_literals_read_back_as_the_values_they_hold(pg_url):
    """step.py writes a step's arrays itself (psycopg's general adapters cost 0.3-0.5 ms of CPU
    per step): each must read back as exactly what was given."""
    from engine.checkpoint.postgres.step import _bigint_array, _bytea_array, _text_array, op, step_statement, step_text

    texts = ["", "NULL", "null", "a,b", "{}", "{a}", " spaced ", "back\\slash\\", 'quo"te', "it's", "''",
             '{"q": "it\'s \\" fine"}', "ünïcode 🙂", "line\nbreak\ttab", "E'x'", "$$", None]
    blobs = [b"", b"\x00\xff'\\\"{},", bytes(range(256)), None]
    ints = [0, -1, 2 ** 63 - 1, -(2 ** 63), None]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute(f"SELECT {_text_array(texts)}::text[]").fetchone()[0] == texts
        assert conn.execute(f"SELECT {_bytea_array(blobs)}::bytea[]").fetchone()[0] == blobs
        assert conn.execute(f"SELECT {_bigint_array(ints)}::bigint[]").fetchone()[0] == ints
        cursor = psycopg.ClientCursor(conn)
        usual = [op("write", "t", "", "c", "task", "ch", "", blobs=(b"\x01",)), op("lease", "t", None, ints=(5,))]
        ours, psycopgs = step_text(usual, cursor), cursor.mogrify(*step_statement(usual))
        # quoted otherwise, but the same values as the server reads them:
        assert _scalar(pg_url, ours.replace("engine_step(", "ROW(", 1) + "::text") == \
            _scalar(pg_url, psycopgs.replace("engine_step(", "ROW(", 1) + "::text")
        with pytest.raises(psycopg.DataError):  # a NUL is left to psycopg, which refuses it
            conn.execute(step_text([op("write", "nul\x00here")], cursor))


# --- a run's own claim, queued with its first commit ----------------------------------------------
class _Decided(TypedDict):
    answer: str


async def test_a_deadline_answer_written_loosely_is_applied_once(pg_url):
    """on_timeout as the program wrote it ([{"type": "ignore"}], no args) is the claimed
    decision; the run applies it normalized: the claim in SQL sees another text, and the saver
    finds it is the same answer (the run starts again and goes on), not a late one."""
    from datetime import timedelta

    from engine.runtime.decisions import expire_overdue
    from engine.types import interrupt

    calls = []

    def review(state):
        [answer] = interrupt([{"action_request": {"action": "pay", "args": {}},
                               "config": {"allow_accept": True, "allow_ignore": True}}],
                             timeout=timedelta(seconds=1), on_timeout=[{"type": "ignore"}])
        calls.append(answer["type"])
        return {"answer": answer["type"]}

    async with PostgresSaver.from_conn_string(pg_url) as saver:
        graph = (StateGraph(_Decided).add_node("review", review).add_edge(START, "review").add_edge("review", END)
                 .compile(checkpointer=saver, name="dl"))
        await graph.ainvoke({"answer": ""}, {"configurable": {"thread_id": "t"}})
        later = datetime.now(timezone.utc) + timedelta(minutes=1)
        [applied] = await expire_overdue(saver, {"dl": graph}, later)
        assert applied.status == "done" and calls == ["ignore"]
        [record] = await saver.adecisions()
        assert (record.status, record.resolved_by, record.applied) == ("expired", "deadline", True)


async def test_a_runs_own_answer_is_audited_as_the_store_writes_any_decision(pg_url):
    """The audit row of a claim made in SQL (engine_claim) is the text audit.audit_row writes,
    whatever characters the names and the answer hold, and chains."""
    from engine.checkpoint.audit import audit_row, verify_chain
    from engine.events import InterruptRaised

    thread, graph = 'th"re\\ad\n\t\x01é✓\u2028', 'g\x1f"'
    async with PostgresSaver.from_conn_string(pg_url) as saver:
        await saver.aput_events([InterruptRaised(at="2026-01-01T00:00:00+00:00", thread_id=thread, graph=graph,
                                                 interrupt_id="i1", value={"x": 1})])
        answer = {"b": [1, 2.5, "ü\n"], "a": None, "c": {"z": True, "y": "\x7f"}}
        async with saver.transaction():
            await saver.aclaim_answers(thread, graph, {"i1": answer}, by='we"ird\x02')
        async with saver.transaction():  # the same answer again: no second decision
            await saver.aclaim_answers(thread, graph, {"i1": answer}, by="someone else")
        log = await saver.aaudit_log()
        assert [entry["row"] for entry in log] == [audit_row(await saver.aget_interrupt("i1"))]
        assert verify_chain(log) == []
        assert [e.kind for e in await saver.aread_events()] == ["interrupt_raised", "interrupt_resolved"]


# --- leases: a lock alone is not an owner ---------------------------------------------------------
async def _checking(pg_url: str, thread: str):
    """Another worker's transaction holding the lease row locked without changing it (as a take
    or a renewal does for the length of its message): a second connection, its transaction open."""
    checker = await psycopg.AsyncConnection.connect(pg_url, autocommit=True)
    await checker.execute("BEGIN")
    await checker.execute("SELECT owner FROM engine_leases WHERE thread_id = %s FOR UPDATE", (thread,))
    return checker


async def _take(saver, thread: str, owner: str) -> None:
    """A run's take of the lease, queued in its first commit as a run's is."""
    async with saver.transaction():
        await saver.alease_acquire(thread, owner, 30, defer=True)


@pytest.mark.parametrize("left", ["expired", "released by its owner while locked", "ours"])
async def test_a_lease_row_locked_for_an_instant_is_not_busy(pg_url, left):
    """A take that meets the lease row locked by another transaction waits for it and judges the
    row it left: free, expired or already ours is taken, never answered "busy" (before: FOR
    UPDATE SKIP LOCKED counted any locked row as taken)."""
    from engine.checkpoint.base import now_us

    thread, me = f"locked-{left}", "elsewhere:1:me"
    holder = me if left == "ours" else "elsewhere:2:other"
    expires = now_us() + (30_000_000 if left != "expired" else -1_000_000)
    async with PostgresSaver.from_conn_string(pg_url) as saver:
        await saver.asetup()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("INSERT INTO engine_leases (thread_id, owner, expires_at, acquired_at) VALUES (%s, %s, %s, %s)",
                         (thread, holder, expires, now_us()))
        checker = await _checking(pg_url, thread)
        try:
            taking = asyncio.ensure_future(_take(saver, thread, me))
            await asyncio.sleep(0.1)
            assert not taking.done()  # it waits for the row instead of answering busy
            if left.startswith("released"):
                await checker.execute("DELETE FROM engine_leases WHERE thread_id = %s", (thread,))
            await checker.execute("COMMIT")
            await asyncio.wait_for(taking, 10)
        finally:
            await checker.close()
        owner, _ = await saver.alease_holder(thread)
        assert owner == me


async def test_a_live_lease_locked_for_an_instant_is_still_busy(pg_url):
    """The same wait ends in ThreadBusy when the row left is another owner's live lease, and at
    once when the lock outlasts the wait (someone is committing on that thread)."""
    from engine.checkpoint.base import now_us
    from engine.errors import ThreadBusy

    thread = "locked-live"
    async with PostgresSaver.from_conn_string(pg_url) as saver:
        await saver.asetup()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("INSERT INTO engine_leases (thread_id, owner, expires_at, acquired_at) VALUES (%s, %s, %s, %s)",
                         (thread, "elsewhere:2:other", now_us() + 30_000_000, now_us()))
        checker = await _checking(pg_url, thread)
        try:
            taking = asyncio.ensure_future(_take(saver, thread, "elsewhere:1:me"))
            await asyncio.sleep(0.1)
            await checker.execute("COMMIT")
            with pytest.raises(ThreadBusy):
                await asyncio.wait_for(taking, 10)
            await checker.execute("BEGIN")
            await checker.execute("SELECT 1 FROM engine_leases WHERE thread_id = %s FOR UPDATE", (thread,))
            started = time.monotonic()
            with pytest.raises(ThreadBusy):  # still locked after the wait
                await asyncio.wait_for(_take(saver, thread, "elsewhere:1:me"), 10)
            assert time.monotonic() - started < 5
        finally:
            await checker.close()
        assert (await saver.alease_holder(thread))[0] == "elsewhere:2:other"


def test_whole_listings_at_once_stay_within_the_pool_size(pg_url):
    """A whole listing reads on a sync connection of its own (bulk.py): many at once must not
    open a connection each (a role's or server's connection limit, PgBouncer's pool), but wait
    for one as the pool's users do: at most pool_size of them, beside the pool's own."""
    role = f"lister_{psycopg.conninfo.conninfo_to_dict(pg_url)['dbname']}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 4")
        conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        conn.execute(f"GRANT ALL ON SCHEMA public TO {role}")
        conn.execute("INSERT INTO engine_interrupts (id, thread_id, graph, ns, node, checkpoint_id, payload, created_at) "
                     "SELECT 'i' || n, 't' || n, 'g', 'n:1', 'n', 'c', '{}', '2026-01-01T00:00:00+00:00' "
                     "FROM generate_series(1, 3000) AS n")
    url = psycopg.conninfo.make_conninfo(pg_url, user=role)

    async def main():
        saver = await PostgresSaver.aopen(url, pool_size=2, min_pool_size=2)
        try:
            listings = await asyncio.gather(*(saver.alist_pending() for _ in range(12)))
            assert [len(listing) for listing in listings] == [3000] * 12
        finally:
            await saver.aclose()

    try:
        asyncio.run(main())
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


FORKED = textwrap.dedent("""
    import asyncio, os, sys
    from engine.checkpoint.postgres import PostgresSaver

    async def listings(saver, close=False):
        try:
            return [len(await saver.alist_pending()) for _ in range(20)]
        finally:
            if close:
                await saver.aclose()

    saver = PostgresSaver(sys.argv[1])
    asyncio.run(saver.asetup())
    assert asyncio.run(listings(saver)) == [600] * 20  # the parent keeps its listing connection
    kept = saver._db.bulk._idle[0]  # the parent's kept connection
    child = os.fork()
    if child == 0:  # the child lists (and closes) at the same time as the parent lists
        try:
            ok = asyncio.run(asyncio.wait_for(listings(saver, close=True), 20)) == [600] * 20
        except BaseException as exc:
            print("child:", repr(exc), file=sys.stderr, flush=True)
            ok = None
        sys.exit(0 if ok else 3 if ok is False else 4)  # an ordinary exit: every object collected
    assert asyncio.run(listings(saver)) == [600] * 20
    _, status = os.waitpid(child, 0)
    assert kept.execute("SELECT 1").fetchone() == (1,)  # the child never ended the parent's session
    assert asyncio.run(listings(saver)) == [600] * 20  # after the child closed its saver too
    print("child", os.waitstatus_to_exitcode(status))
""")


def test_a_forked_child_never_lists_on_the_parents_connection(pg_url):
    """bulk.py keeps idle sync connections for the next whole listing: a child forked after a
    listing must open its own (the parent's socket is the parent's: using it, or closing it,
    breaks both), and its reads must not wait for threads that did not survive the fork."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO engine_interrupts (id, thread_id, graph, ns, node, checkpoint_id, payload, created_at) "
                     "SELECT 'i' || n, 't' || n, 'g', 'n:1', 'n', 'c', '{}', '2026-01-01T00:00:00+00:00' "
                     "FROM generate_series(1, 600) AS n")
    done = subprocess.run([sys.executable, "-c", FORKED, pg_url], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    assert done.returncode == 0 and done.stdout.strip() == "child 0", done.stdout + done.stderr
