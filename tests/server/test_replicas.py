"""Two `inbox serve` processes (replicas) on one Postgres database, as behind a load balancer:
reviewers racing over HTTP on the same interrupts through different replicas get each decision
applied exactly once (the other answer is 409 with who decided), a run created on one replica
is visible and joinable on the other, and a replica killed mid-run has its run continued once
by the other (manager.py: owners, heartbeats, periodic recovery)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from serving import Server

ACCEPT = [{"type": "accept", "args": None}]
IGNORE = [{"type": "ignore", "args": None}]
THREADS = 6


@pytest.fixture
def replicas(pg_url, tmp_path):
    started = []
    try:
        for name in ("a", "b"):
            started.append(Server(pg_url, graphs=["agent", "slow"], log=tmp_path / f"{name}.log").start())
        yield started
    finally:
        for server in started:
            server.stop()


def _wait_for(predicate, timeout=40.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("on_a_answer, on_b_answer", [(ACCEPT, IGNORE), (ACCEPT, ACCEPT)],
                         ids=["different-answers", "same-answer"])
def test_reviewers_racing_through_two_replicas_apply_each_decision_once(replicas, on_a_answer, on_b_answer):
    """Reviewers without API keys ("api" both): the loser is told even when both answers are
    the same (a decision is its claim's run's, not its reviewer name's)."""
    a, b = replicas
    paused = {}
    with httpx.Client(base_url=a.url, timeout=30) as on_a, httpx.Client(base_url=b.url, timeout=30) as on_b:
        for _ in range(THREADS):  # made on one replica, run on the other
            thread_id = on_a.post("/threads", json={}).json()["thread_id"]
            out = on_b.post(f"/threads/{thread_id}/runs/wait",
                            json={"assistant_id": "agent", "input": {"email": "race", "delay": 0.3}}).json()
            paused[thread_id] = out["__interrupt__"][0]["id"]
        found = on_a.post("/threads/search", json={"status": "interrupted", "limit": 100})
        assert found.headers["x-pagination-total"] == str(THREADS)
        assert {t["thread_id"] for t in found.json()} == set(paused)

    async def race():
        async with httpx.AsyncClient(base_url=a.url, timeout=60) as on_a, \
                httpx.AsyncClient(base_url=b.url, timeout=60) as on_b:
            posts = []
            for thread_id in paused:  # every thread answered through both replicas at once
                posts.append(on_a.post(f"/threads/{thread_id}/runs/wait",
                                       json={"assistant_id": "agent", "command": {"resume": on_a_answer}}))
                posts.append(on_b.post(f"/threads/{thread_id}/runs/wait",
                                       json={"assistant_id": "agent", "command": {"resume": on_b_answer}}))
            return await asyncio.gather(*posts)

    answers = asyncio.run(race())
    with httpx.Client(base_url=b.url, timeout=30) as on_b:
        for index, (thread_id, interrupt_id) in enumerate(paused.items()):
            pair = answers[2 * index:2 * index + 2]
            assert sorted(r.status_code for r in pair) == [200, 409], [r.text[:300] for r in pair]
            lost = next(r for r in pair if r.status_code == 409).json()["detail"]
            assert lost["interrupt_id"] == interrupt_id and lost["decided_by"] == "api" and lost["decided_at"]
            winner = on_a_answer if pair[0].status_code == 200 else on_b_answer
            thread = on_b.get(f"/threads/{thread_id}").json()
            # applied once: the review node ran once after its answer, with the winner's answer,
            # and the loser's answer did not land on the next interrupt
            assert thread["status"] == "interrupted" and thread["values"]["decision"] == winner
            assert Counter(thread["values"]["log"]) == {"drafted": 1, "reviewed": 1}
            assert "decision2" not in thread["values"]


def test_a_keyless_answer_equal_to_one_a_killed_replica_claimed_is_409_and_applied_once(replicas, pg_url):
    """Two reviewers without API keys accept the same request through different replicas; both
    runs wait for the thread (another process holds it). The first to take it claims the
    decision and its replica is killed inside the node, before the decision is applied. The
    other run takes the thread, finds the same answer claimed and applies that decision (as a
    recovery would): once, and its reviewer is told 409 with who ("api") and when, not 200."""
    from engine._internal.sync import run_sync
    from engine.checkpoint.stores import open_store
    from engine.runtime.ownership import new_owner

    a, b = replicas
    with httpx.Client(base_url=a.url, timeout=30) as on_a:
        thread_id = on_a.post("/threads", json={}).json()["thread_id"]
        out = on_a.post(f"/threads/{thread_id}/runs/wait",
                        json={"assistant_id": "agent", "input": {"email": "race", "delay": 5}}).json()
    interrupt_id = out["__interrupt__"][0]["id"]
    store, owner = open_store(pg_url), new_owner()
    answers: dict = {}

    async def answer(server):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as session:
            try:
                answers[server.url] = await session.post(f"/threads/{thread_id}/runs/wait", json={
                    "assistant_id": "agent", "command": {"resume": ACCEPT}})
            except httpx.HTTPError as error:  # the killed replica's
                answers[server.url] = error

    async def race():
        posts = [asyncio.create_task(answer(server)) for server in (a, b)]
        await asyncio.to_thread(_wait_for, lambda: len(httpx.get(f"{a.url}/threads/{thread_id}/runs").json()) == 3,
                                what="both runs to be accepted")
        await store.alease_release(thread_id, owner)  # the runs may go: one claims, the other waits
        await asyncio.to_thread(_wait_for, lambda: store.get_interrupt(interrupt_id).status == "resolved",
                                what="the claim")
        holder = (await store.alease_holder(thread_id))[0]
        first = next(s for s in (a, b) if holder.split(":")[1] == str(s.proc.pid))
        first.kill9()  # inside review's 5 s sleep: claimed, not applied
        await asyncio.gather(*posts)
        return first, b if first is a else a

    try:
        run_sync(store.alease_acquire(thread_id, owner, 60))
        first, other = asyncio.run(race())
        record = store.get_interrupt(interrupt_id)
    finally:
        store.close()
    assert isinstance(answers[first.url], httpx.HTTPError)
    lost = answers[other.url]
    assert lost.status_code == 409, lost.text
    assert (lost.json()["detail"]["decided_by"], lost.json()["detail"]["decided_at"]) == ("api", record.resolved_at)
    assert (record.resolved_by, record.response, record.applied) == ("api", ACCEPT, True)
    with httpx.Client(base_url=other.url, timeout=30) as on_other:
        values = on_other.get(f"/threads/{thread_id}").json()["values"]
    assert values["decision"] == ACCEPT and Counter(values["log"]) == {"drafted": 1, "reviewed": 1}


def test_a_run_created_on_one_replica_is_visible_and_joinable_on_the_other(replicas, tmp_path):
    a, b = replicas
    effects = tmp_path / "effects.txt"
    with httpx.Client(base_url=a.url, timeout=30) as on_a, httpx.Client(base_url=b.url, timeout=30) as on_b:
        thread_id = on_a.post("/threads", json={"metadata": {"owner": "dana"}}).json()["thread_id"]
        run = on_a.post(f"/threads/{thread_id}/runs",
                        json={"assistant_id": "slow", "input": {"path": str(effects)}}).json()
        seen = on_b.get(f"/threads/{thread_id}/runs/{run['run_id']}").json()
        assert seen["run_id"] == run["run_id"] and seen["status"] in ("pending", "running")
        assert [r["run_id"] for r in on_b.get(f"/threads/{thread_id}/runs").json()] == [run["run_id"]]
        # B refuses a second run while A runs one (multitask_strategy reject), and joins A's
        rejected = on_b.post(f"/threads/{thread_id}/runs", json={"assistant_id": "slow", "multitask_strategy": "reject",
                                                                   "input": {"path": str(effects)}})
        assert rejected.status_code == 409, rejected.text
        joined = on_b.get(f"/threads/{thread_id}/runs/{run['run_id']}/join").json()
        assert joined["done"] == ["first", "wait", "last"]
        assert on_b.get(f"/threads/{thread_id}/runs/{run['run_id']}").json()["status"] == "success"
        assert on_b.get(f"/threads/{thread_id}").json()["metadata"]["owner"] == "dana"
    assert Counter(effects.read_text().split()) == {"first": 1, "wait": 1, "last": 1}


def test_a_replica_killed_mid_run_has_its_run_continued_once_by_the_other(replicas, tmp_path):
    a, b = replicas
    effects = tmp_path / "effects.txt"
    with httpx.Client(base_url=a.url, timeout=30) as on_a:
        thread_id = on_a.post("/threads", json={}).json()["thread_id"]
        run = on_a.post(f"/threads/{thread_id}/runs",
                        json={"assistant_id": "slow", "input": {"path": str(effects)}}).json()
    _wait_for(lambda: effects.exists() and "wait" in effects.read_text(), what="the wait node to start")
    a.kill9()
    # B notices at its next look for left work (every 10 s): the dead owner's run is taken over
    with httpx.Client(base_url=b.url, timeout=60) as on_b:
        joined = on_b.get(f"/threads/{thread_id}/runs/{run['run_id']}/join").json()
        assert joined["done"] == ["first", "wait", "last"]
        assert on_b.get(f"/threads/{thread_id}/runs/{run['run_id']}").json()["status"] == "success"
    # "wait" was running when A died, and a plain node re-runs from its start after a crash
    assert Counter(effects.read_text().split()) == {"first": 1, "wait": 2, "last": 1}


def test_inbox_db_names_the_postgres_database_and_its_password_is_never_printed(pg_url, tmp_path):
    # the test cluster trusts local connections, so the password is accepted and unused
    with_password = pg_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret-pw@", 1)
    assert "s3cret-pw" in with_password
    server = Server("from the environment", graphs=["agent"], log=tmp_path / "env.log",
                    env={"INBOX_DB": with_password, "DATABASE_URL": "postgresql://nobody@nowhere/none"}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            thread_id = http.post("/threads", json={}).json()["thread_id"]
            http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "input": {"email": "x"}})
            found = http.post("/threads/search", json={"status": "interrupted"}).json()
            assert [t["thread_id"] for t in found] == [thread_id]
    finally:
        server.stop()
    log = (tmp_path / "env.log").read_text()
    assert "from postgresql://postgres:***@" in log and "s3cret-pw" not in log


def test_a_decision_recorded_by_another_process_is_applied_by_a_running_server(replicas):
    """`inbox accept` (or the TUI on the database) claims a decision without running the graph:
    a running replica applies it at its next look for left work (every 10 s), once."""
    from engine.checkpoint.postgres import PostgresSaver

    a, b = replicas
    with httpx.Client(base_url=a.url, timeout=30) as on_a:
        thread_id = on_a.post("/threads", json={}).json()["thread_id"]
        out = on_a.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "input": {"email": "x"}})
        interrupt_id = out.json()["__interrupt__"][0]["id"]
    with PostgresSaver.from_conn_string(a.db) as store:
        store.resolve(interrupt_id, ACCEPT, by="dana")
    with httpx.Client(base_url=b.url, timeout=30) as on_b:
        def applied():
            thread = on_b.get(f"/threads/{thread_id}").json()
            return thread["status"] == "interrupted" and "decision" in (thread["values"] or {})
        _wait_for(applied, timeout=40, what="a replica to apply dana's decision")
        values = on_b.get(f"/threads/{thread_id}").json()["values"]
    assert values["decision"] == ACCEPT and Counter(values["log"]) == {"drafted": 1, "reviewed": 1}
    with PostgresSaver.from_conn_string(a.db) as store:
        record = store.get_interrupt(interrupt_id)
    assert (record.status, record.resolved_by, record.applied) == ("resolved", "dana", True)
