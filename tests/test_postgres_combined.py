"""Many hosts, simulated, all at once on one Postgres database: 4 `inbox worker` processes,
2 `inbox serve` replicas, and 6 reviewers per request (3 with the headless `inbox` commands,
3 over HTTP through the replicas, alternating) racing on the same pending interrupts, while
one worker is killed with SIGKILL inside a reviewed tool.

Every decision must be applied exactly once (the side-effect file of exactly_once_graphs
counts the tool's executions), with the winner's answer; every losing reviewer is told (exit 3
from the CLI, 409 over HTTP, naming the winner); the killed worker's threads are taken over
and their in-doubt calls asked about, not run again; nothing is lost.

The pieces are tested alone in tests/test_postgres_many_hosts.py (workers and CLI reviewers)
and tests/server/test_replicas.py (replicas and HTTP reviewers); this is them together.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")
import httpx  # noqa: E402

from engine._internal.sync import run_sync  # noqa: E402
from engine.checkpoint.postgres import PostgresSaver  # noqa: E402
from engine.runtime.decisions import claim  # noqa: E402

from many_hosts import AGENT, Hosts, eo, json_line, seed  # noqa: E402

if str(Path(__file__).resolve().parent / "server") not in sys.path:  # the replicas' helper
    sys.path.append(str(Path(__file__).resolve().parent / "server"))
from serving import Server  # noqa: E402

RACED = 2  # requests six reviewers race on (3 CLI processes each: ~1 s of CPU apiece to start)
VICTIM_THREADS = 2  # requests whose decisions the doomed worker is running when it is killed
VERBS = ("accept", "edit", "respond")
HTTP_KEYS = {f"h{n}": f"h{n}-key-0123456789" for n in range(3)}


@pytest.fixture
def replicas(hosts):
    """Two `inbox serve` processes on the database, sharing the hosts' environment (the
    effects file, the lease TTL); every HTTP reviewer has a key, so decisions name them.
    Not started here: a replica applies recorded decisions as it starts, so the test starts
    them once the victim holds its threads, and does not wait for them (`wait_ready`) before
    starting the other processes."""
    env = {k: v for k, v in hosts.env.items() if k != "INBOX_DB"}  # --db given on the command line
    keys = [arg for name, key in HTTP_KEYS.items() for arg in ("--api-key", f"{name}={key}")]
    servers = [Server(hosts.url, *keys, graphs=[AGENT], env={**env, "EO_TOOL_SLEEP": "0.1"},
                      log=hosts.root / f"serve-{name}.log") for name in "ab"]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def cli_decision(verb: str, reviewer: str, interrupt_id: str, url: str, runs_it: bool) -> list[str]:
    """The `inbox` arguments for `reviewer`'s decision; `runs_it`: continue the run here
    (--graph), else only record it for a worker or a replica."""
    common = ["--db", url, "--by", reviewer, *(("--graph", AGENT) if runs_it else ())]
    if verb == "edit":
        return ["edit", interrupt_id, "--args", json.dumps({"item": f"by-{reviewer}"}), *common]
    if verb == "respond":
        return ["respond", interrupt_id, f"not now, {reviewer}", *common]
    return ["accept", interrupt_id, *common]


def http_answer(verb: str, reviewer: str) -> list[dict]:
    """The same decisions as `cli_decision`, as Agent Inbox responses."""
    if verb == "edit":
        return [{"type": "edit", "args": {"action": "act", "args": {"item": f"by-{reviewer}"}}}]
    if verb == "respond":
        return [{"type": "response", "args": f"not now, {reviewer}"}]
    return [{"type": "accept", "args": None}]


def expected_items(thread: str, response: list[dict]) -> list[str]:
    """What the tool ran with after the decision `response` (one line per run)."""
    answer = response[0]
    if answer["type"] == "accept":
        return [f"{thread}-0"]  # the item seed() asked for
    if answer["type"] == "edit":
        return [answer["args"]["args"]["item"]]
    return []  # a response goes to the agent instead of the tool


async def race(replicas: list[Server], raced: dict[str, str], cli: dict[str, list], victim) -> dict[str, list]:
    """Let every CLI reviewer go, post every HTTP reviewer's answer (alternating replicas), and
    kill the victim meanwhile. A CLI decision takes longer after the start (it opens its pool
    first): the HTTP reviewers of later requests start later, so both kinds win some."""
    async with httpx.AsyncClient(timeout=120) as http:
        async def post(k: int, j: int, interrupt_id: str, thread: str):
            reviewer = f"h{j}"
            await asyncio.sleep(0.5 * k + 0.05 * j)
            # answered by id, as `inbox open --url` does: a request decided meanwhile is 409 even
            # when its thread has finished since (a bare answer would find nothing pending: 422)
            answer = {interrupt_id: http_answer(VERBS[(k + j + 1) % 3], reviewer)}
            return await http.post(f"{replicas[(k + j) % 2].url}/threads/{thread}/runs/wait",
                                   headers={"x-api-key": HTTP_KEYS[reviewer]},
                                   json={"assistant_id": eo.AGENT, "command": {"resume": answer}})

        posts = {interrupt_id: [asyncio.create_task(post(k, j, interrupt_id, thread)) for j in range(3)]
                 for k, (interrupt_id, thread) in enumerate(raced.items())}
        Hosts.go([proc for procs in cli.values() for proc in procs])
        await asyncio.sleep(0.3)  # mid-race
        os.kill(victim.pid, signal.SIGKILL)
        return {interrupt_id: await asyncio.gather(*tasks) for interrupt_id, tasks in posts.items()}


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_workers_replicas_and_reviewers_from_the_cli_and_over_http_apply_each_decision_once(hosts, replicas):
    victims = seed(hosts.url, VICTIM_THREADS, prefix="v")
    raced = seed(hosts.url, RACED, prefix="r")
    threads = {**victims, **raced}

    # The doomed worker takes the victims' decisions and stays inside their tool until it is
    # killed (2 minutes: the reviewers' start takes long on a loaded machine).
    victim = hosts.worker(tool_sleep=120)
    while "continuing runs" not in victim.stderr.readline():  # it is up: now give it work
        assert victim.poll() is None, victim.communicate()[1][-3000:]
    with PostgresSaver.from_conn_string(hosts.url) as saver:
        for interrupt_id in victims:
            run_sync(claim(saver, interrupt_id, [{"type": "accept", "args": None}], by="recorder"))
    wait_for(lambda: hosts.effect_lines(), 60, "the victim to enter the tool")
    held = hosts.query("SELECT thread_id, owner FROM engine_leases")
    assert any(f":{victim.pid}:" in owner for _, owner in held), held
    for server in replicas:  # now: started earlier, one could apply the victims' decisions first
        server.spawn()
    workers = [hosts.worker(tool_sleep=0.1) for _ in range(3)]

    # Six reviewers per raced request: 3 CLI processes (one runs the graph itself, two only
    # record), started and imported first, then let go with the HTTP reviewers at one moment.
    cli = {interrupt_id: [hosts.reviewer_at_go(*cli_decision(VERBS[(k + j) % 3], f"c{j}", interrupt_id, hosts.url,
                                                             runs_it=j == 0), tool_sleep=0.1)
                          for j in range(3)]
           for k, interrupt_id in enumerate(raced)}
    Hosts.ready([proc for procs in cli.values() for proc in procs])
    for server in replicas:
        server.wait_ready(60)
    http = asyncio.run(race(replicas, raced, cli, victim))
    victim.communicate(timeout=10)
    # The calls the victim started may have run (those with a line, and any the kill caught
    # before the tool's first write): rightly in doubt. A victim thread it had not taken yet
    # is an ordinary decision for the others.
    runs_at_kill = Counter(line[2] for line in hosts.effect_lines() if line[3] == str(victim.pid))
    started_at_kill = hosts.started_calls(victim.pid)
    assert set(runs_at_kill) <= started_at_kill <= set(victims), (runs_at_kill, started_at_kill)
    assert started_at_kill, "the victim was killed outside its tool"

    # Exactly one reviewer of each request won; each other one was told who did.
    winners = {}
    for interrupt_id, procs in cli.items():
        cli_out = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            cli_out.append((proc.returncode, out, err))
        answers = http[interrupt_id]
        (by, response), = hosts.query("SELECT resolved_by, response FROM engine_interrupts WHERE id = %s",
                                      interrupt_id)
        won = [f"c{j}" for j, (code, _, _) in enumerate(cli_out) if code == 0]
        won += [f"h{j}" for j, answer in enumerate(answers) if answer.status_code == 200]
        report = ([(code, err[-500:]) for code, _, err in cli_out], [(a.status_code, a.text[:1500]) for a in answers])
        assert won == [by], (by, report)
        for code, out, err in cli_out:
            if code == 0:  # recorded, and applied here or by a worker or replica (waited for below)
                assert json_line(out)["status"] in ("done", "recorded", "busy", "applied"), (out, err)
            else:
                assert code == 3 and f"already resolved by {by} " in err, (code, err)
        for answer in answers:
            if answer.status_code != 200:
                assert answer.status_code == 409, answer.text
                assert answer.json()["detail"]["decided_by"] == by, answer.text
        winners[interrupt_id] = (by, json.loads(response))

    # The victim's threads are taken over: their started calls come back as questions.
    hosts.wait_settled(90)
    hosts.check_alive(workers)
    for server in replicas:
        assert server.proc.poll() is None, f"a replica died: {server.log.read_text()[-6000:]}"
    assert not hosts.query("SELECT 1 FROM engine_leases WHERE owner LIKE %s", f"%:{victim.pid}:%")
    doubts = hosts.query("SELECT id, thread_id FROM engine_interrupts WHERE status = 'pending'")
    assert {thread for _, thread in doubts} == {victims[key] for key in started_at_kill}, (doubts, started_at_kill)
    hosts.mark_done(doubt_id for doubt_id, _thread in doubts)
    hosts.wait_settled(90)

    # Nothing lost, nothing twice: every thread finished, every decision ran once with the
    # winner's answer, and no in-doubt call ran again.
    assert not hosts.query("SELECT 1 FROM engine_interrupts WHERE status = 'pending'")
    assert {row[0] for row in hosts.query("SELECT thread_id FROM engine_threads WHERE status = 'done'")} \
        == set(threads.values())
    lines = hosts.effect_lines()
    for interrupt_id, (by, response) in winners.items():
        ran = [line[1] for line in lines if line[2] == interrupt_id]
        assert ran == expected_items(raced[interrupt_id], response), (by, response, ran)
    runs = hosts.effects_by_key()
    for interrupt_id in victims:
        assert runs[interrupt_id] == (runs_at_kill[interrupt_id] if interrupt_id in started_at_kill else 1), \
            (runs, runs_at_kill, started_at_kill)
    assert not hosts.query("SELECT 1 FROM engine_leases")
    hosts.check_no_forks()
    decided = ", ".join(f"{by}: {response[0]['type']}" for by, response in winners.values())
    print(f"\n[postgres combined] winners {decided}; "
          f"{len(started_at_kill)} call(s) in doubt after the kill; tool runs by pid "
          f"{dict(Counter(line[3] for line in lines))}")
