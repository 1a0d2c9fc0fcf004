"""Exactly once, end to end: real `inbox` processes racing on one real SQLite file.

Every reviewed tool execution appends one line to a side-effect file (tests/exactly_once_graphs.py:
thread, item, idempotency key = the review's interrupt id, pid, OS thread id), and each test
counts those lines. The scenarios (issue 9):

1. deciders racing on the same pending requests (`inbox accept --graph` and `inbox accept`
   without a graph, which only records) while `inbox worker`s run: one winner per request
   (exit 0), the others exit 3; a winner whose thread another process is running says "busy";
   every decided call ran exactly once.
2. two and three workers on decisions arriving while they run, and on a backlog: no duplicate,
   everything applied, no thread's checkpoint history forked.
3. kill -9 at seeded random moments of a decider, a worker while applying, a tool while it runs;
   then `inbox worker --once`: each decided call ran exactly once, or its thread asks about it
   "(in doubt)" with the call run at most once; `inbox retry` / `inbox mark-done` settle it.
4. deadlines with several workers polling fast: each on_timeout continuation ran once; a
   human racing the deadline: exactly one of the two wins and is applied once.

Measured figures are printed (run with -s to see them).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.checkpoint.sqlite import SqliteSaver
from engine.runtime.decisions import claim
from engine._internal.sync import run_sync

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import exactly_once_graphs as eo  # noqa: E402
from effects_lab import EffectsLab  # noqa: E402

AGENT = f"{eo.AGENT}=exactly_once_graphs:build_agent"
DEADLINE = f"{eo.DEADLINE}=exactly_once_graphs:build_deadline"
ACCEPT = [{"type": "accept"}]
REVIEWER = "eo-test"


# ---- processes --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pycache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("eo-pycache"))


class Lab(EffectsLab):
    """One database, one effects file, and every process started on them (all killed at the end)."""

    def __init__(self, root: Path, pycache: str) -> None:
        super().__init__(root)
        self.db = root / "inbox.sqlite"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("INBOX_", "EO_", "ENGINE_"))}
        self.env.update(PYTHONPATH=os.pathsep.join([str(REPO), str(HERE)]), INBOX_REVIEWER=REVIEWER,
                        INBOX_CONFIG=str(root / "no-config.toml"), NO_COLOR="1", EO_EFFECTS=str(self.effects),
                        PYTHONPYCACHEPREFIX=pycache, ENGINE_LEASE_TTL="2")
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def accept(self, interrupt_id: str, *, graph: bool, tool_sleep: float = 0.0, by: str = REVIEWER,
               verb: str = "accept") -> subprocess.Popen:
        return self.start(verb, "--db", self.db, *(("--graph", AGENT, "--graph", DEADLINE) if graph else ()),
                          "--by", by, interrupt_id, tool_sleep=tool_sleep)

    def worker(self, *extra, tool_sleep: float = 0.0) -> subprocess.Popen:
        return self.start("worker", "--db", self.db, "--graph", AGENT, "--graph", DEADLINE, *extra,
                          tool_sleep=tool_sleep)

    def run(self, *args, timeout: float = 60) -> subprocess.CompletedProcess:
        proc = self.start(*args)
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def recover_once(self) -> subprocess.CompletedProcess:
        done = self.run("worker", "--db", self.db, "--graph", AGENT, "--graph", DEADLINE, "--once")
        assert done.returncode == 0, done.stderr
        return done

    # ---- reading what happened ----
    def query(self, sql: str, *params) -> list[tuple]:
        db = sqlite3.connect(self.db, timeout=30)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def interrupts(self) -> dict[str, dict]:
        rows = self.query("SELECT id, thread_id, status, applied, resolved_by, payload FROM interrupts")
        return {r[0]: {"thread": r[1], "status": r[2], "applied": bool(r[3]), "by": r[4],
                       "action": _action(json.loads(r[5]))} for r in rows}

    def settled(self) -> bool:
        """Nothing left to run: no claimed-but-unapplied decision, no busy thread."""
        return not self.query("SELECT 1 FROM interrupts WHERE status IN ('resolved', 'expired') AND applied = 0 "
                              "UNION ALL SELECT 1 FROM threads WHERE status = 'busy'")

    def wait_settled(self, timeout: float, *, pending_ok: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.settled() and (pending_ok or not self.query("SELECT 1 FROM interrupts WHERE status = 'pending'")):
                return
            time.sleep(0.05)
        raise AssertionError(f"not settled after {timeout} s: {self.interrupts()} "
                             f"threads {self.query('SELECT thread_id, status FROM threads')}")

    def check_store(self) -> None:
        """No forked checkpoint history, no busy thread without a live lease owner, a sound file."""
        forks = self.query("SELECT thread_id, parent_checkpoint_id, count(*) FROM checkpoints WHERE checkpoint_ns = '' "
                           "GROUP BY thread_id, parent_checkpoint_id HAVING count(*) > 1")
        assert forks == [], f"forked checkpoint histories: {forks}"
        now_us = int(time.time() * 1e6)
        for thread_id, in self.query("SELECT thread_id FROM threads WHERE status = 'busy'"):
            lease = self.query("SELECT owner, expires_at FROM leases WHERE thread_id = ?", thread_id)
            assert lease and lease[0][1] > now_us and _alive(int(lease[0][0].split(":")[1])), \
                f"thread {thread_id} is busy with no live lease owner: {lease}"
        assert self.query("PRAGMA integrity_check") == [("ok",)]


def _action(payload) -> str | None:
    try:
        return payload[0]["action_request"]["action"]
    except (KeyError, IndexError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture
def lab(tmp_path, pycache):
    lab = Lab(tmp_path, pycache)
    try:
        yield lab
    finally:
        lab.kill_all()


def seed_agents(lab: Lab, threads: int, items: int, prefix: str = "t") -> dict[str, str]:
    """Start `threads` agent runs, each pausing on `items` reviews at once: {interrupt id: thread}."""
    ids: dict[str, str] = {}
    with SqliteSaver.from_conn_string(lab.db) as saver:
        graph = eo.build_agent(saver)
        for n in range(threads):
            thread = f"{prefix}{n}"
            out = graph.invoke(eo.agent_input(*(f"{thread}-{k}" for k in range(items))),
                               {"configurable": {"thread_id": thread}})
            ids.update((i.id, thread) for i in out["__interrupt__"])
    return ids


def record(lab: Lab, interrupt_ids, by: str = "recorder") -> None:
    """Decide without running anything (what `inbox accept` without --graph does)."""
    with SqliteSaver.from_conn_string(lab.db) as saver:
        for interrupt_id in interrupt_ids:
            run_sync(claim(saver, interrupt_id, ACCEPT, by=by))


def json_line(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def assert_finished(lab: Lab, threads) -> None:
    with SqliteSaver.from_conn_string(lab.db) as saver:
        graph = eo.build_agent(saver)
        for thread in threads:
            state = graph.get_state({"configurable": {"thread_id": thread}})
            assert not state.next, f"{thread} did not finish: next={state.next}"
            assert state.values["messages"][-1]["content"].startswith("finished: "), state.values["messages"][-1]


# ---- 1. deciders racing, workers running ---------------------------------------------------------


def test_racing_deciders_and_workers_run_each_decided_call_exactly_once(lab):
    ids = seed_agents(lab, threads=2, items=2)  # two reviews per thread: one thread, two deciders
    workers = [lab.worker("--interval", "0.05", tool_sleep=1.0) for _ in range(2)]
    deciders: dict[str, list[tuple[bool, subprocess.Popen]]] = {}

    def race(interrupt_ids: list[str]) -> None:  # 6 deciders each: 3 run it (--graph), 3 only record it
        for graph in (True, False):  # the recording ones import less: they start later to be even
            for interrupt_id in interrupt_ids:
                deciders.setdefault(interrupt_id, []).extend(
                    (graph, lab.accept(interrupt_id, graph=graph, tool_sleep=1.0, by=f"d{n}-{graph}"))
                    for n in range(3))
            if graph:
                time.sleep(0.3)

    # first each thread's first review; then, while those calls run (their tool sleeps), the
    # second: a winner that runs it finds the thread held by whoever runs the first ("busy")
    firsts = {}
    for interrupt_id, thread in ids.items():
        firsts.setdefault(thread, interrupt_id)
    race(list(firsts.values()))
    assert _wait_for(lambda: len(lab.effect_lines()) >= len(firsts), 60), lab.effect_lines()
    race([i for i in ids if i not in deciders])
    outcomes: dict[str, list[tuple[bool, int, dict, str]]] = {}
    for interrupt_id, procs in deciders.items():
        outcomes[interrupt_id] = []
        for graph, proc in procs:
            out, err = proc.communicate(timeout=90)
            outcomes[interrupt_id].append((graph, proc.returncode, json_line(out), err))
    lab.wait_settled(60, pending_ok=False)
    for proc in workers:
        assert proc.poll() is None, f"a worker died: {proc.communicate()}"

    statuses = Counter()
    for interrupt_id, results in outcomes.items():
        codes = sorted(code for _, code, _, _ in results)
        assert codes == [0] + [3] * (len(results) - 1), (interrupt_id, [(c, e) for _, c, _, e in results])
        [(graph, _, winner, err)] = [r for r in results if r[1] == 0]
        statuses[("graph" if graph else "no-graph", winner["status"])] += 1
        if graph:
            assert winner["status"] in ("interrupted", "done", "busy"), (winner, err)
            if winner["status"] == "busy":
                assert winner["owner"] and "is being run by" in err
        else:
            assert winner["status"] == "recorded", winner
    records = lab.interrupts()
    assert all(records[i]["status"] == "resolved" and records[i]["applied"] for i in ids), records
    assert lab.effects_by_key() == Counter({i: 1 for i in ids}), lab.effect_lines()
    assert_finished(lab, set(ids.values()))
    lab.check_store()
    print(f"\n[race] {len(ids)} requests x 6 deciders + 2 workers: winners {dict(statuses)}; "
          f"tool runs by pid {dict(Counter(line[3] for line in lab.effect_lines()))}")


# ---- 2. several workers, live and backlog ---------------------------------------------------------


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("mode", ["live", "backlog"])
def test_several_workers_apply_every_decision_once_without_forking(lab, workers, mode):
    ids = seed_agents(lab, threads=6, items=2)
    order = list(ids)
    random.Random(f"{workers}{mode}").shuffle(order)
    if mode == "backlog":
        record(lab, order)
    procs = [lab.worker("--interval", "0.05", "--concurrency", "4", tool_sleep=0.05) for _ in range(workers)]
    if mode == "live":
        time.sleep(1.0)  # the workers are up and polling
        with SqliteSaver.from_conn_string(lab.db) as saver:
            for interrupt_id in order:
                run_sync(claim(saver, interrupt_id, ACCEPT, by="live"))
                time.sleep(0.05)
    lab.wait_settled(60, pending_ok=False)
    assert all(proc.poll() is None for proc in procs)
    assert lab.effects_by_key() == Counter({i: 1 for i in ids}), lab.effect_lines()
    assert all(r["status"] == "resolved" and r["applied"] for r in lab.interrupts().values())
    assert_finished(lab, set(ids.values()))
    lab.check_store()
    print(f"\n[workers={workers} {mode}] {len(ids)} decisions applied once; tool runs by pid "
          f"{dict(Counter(line[3] for line in lab.effect_lines()))}")


# ---- 3. kill -9 at random moments, then recovery ------------------------------------------------------


KILL_ROUNDS = {"decider": 10, "worker": 10, "tool": 10}


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)


@pytest.mark.parametrize("mode", list(KILL_ROUNDS))
def test_kill_9_then_recovery_runs_each_decided_call_once_or_asks(tmp_path, pycache, mode):
    rng = random.Random(f"kill-{mode}")
    figures = Counter()
    for round_ in range(KILL_ROUNDS[mode]):
        lab = Lab(tmp_path / f"r{round_}", pycache)
        lab.root.mkdir()
        try:
            figures += _kill_round(lab, mode, rng)
        finally:
            lab.kill_all()
    print(f"\n[kill -9 {mode}] {KILL_ROUNDS[mode]} rounds: {dict(figures)}")


def _kill_round(lab: Lab, mode: str, rng: random.Random) -> Counter:
    ids = seed_agents(lab, threads=2, items=1)
    before = len(lab.effect_lines())
    if mode == "decider":
        victims = [lab.accept(i, graph=True, tool_sleep=0.3) for i in ids]
        if rng.random() < 0.25:  # early: maybe before its claim
            time.sleep(rng.uniform(0.05, 0.6))
        else:  # after a claim: during the run, inside the tool, or after it (timed from the claim,
            # whatever the machine's load makes the start-up cost)
            assert _wait_for(lambda: lab.query("SELECT 1 FROM interrupts WHERE status = 'resolved'"), 30)
            time.sleep(rng.uniform(0, 0.7))
        for proc in victims:
            _kill(proc)
    elif mode == "worker":
        record(lab, ids)
        victim = lab.worker("--interval", "0.05", "--concurrency", "1", tool_sleep=0.3)
        time.sleep(rng.uniform(0.3, 2.0))
        _kill(victim)
    else:  # inside the tool: its effect line is written, it sleeps, and dies there
        record(lab, ids)
        victim = lab.worker("--interval", "0.05", "--concurrency", "2", tool_sleep=3)
        assert _wait_for(lambda: len(lab.effect_lines()) > before, 30), "the tool never ran"
        time.sleep(rng.uniform(0, 0.2))
        _kill(victim)

    runs_at_kill = lab.effects_by_key()
    lab.recover_once()
    if rng.random() < 0.3:
        lab.recover_once()  # a second pass: nothing more to do
    figures = Counter()
    records = lab.interrupts()
    doubts = {r["thread"]: i for i, r in records.items() if r["status"] == "pending"
              and (r["action"] or "").endswith("(in doubt)")}
    runs = lab.effects_by_key()
    for key, count in runs.items():  # a call that ran before the kill is asked about, not re-run
        assert count == runs_at_kill[key] if runs_at_kill[key] else count <= 1, (key, runs, runs_at_kill)
    for interrupt_id, thread in ids.items():
        original = records[interrupt_id]
        if original["status"] == "pending":  # the decider died before its claim: nothing ran
            assert runs[interrupt_id] == 0 and thread not in doubts
            figures["undecided"] += 1
        elif thread in doubts:
            assert runs[interrupt_id] <= 1, runs
            figures[f"in doubt (ran {runs[interrupt_id]})"] += 1
        else:
            assert original["applied"] and runs[interrupt_id] == 1, (original, runs)
            figures["exactly once"] += 1
    assert lab.settled()
    lab.check_store()

    # settle the in-doubt calls: retry runs it once more, mark-done does not
    expected = Counter({i: runs[i] for i in ids})
    for thread, doubt_id in doubts.items():
        [original_id] = [i for i, t in ids.items() if t == thread]
        verb = rng.choice(["retry", "mark-done"])
        done = lab.run(verb, "--db", lab.db, "--graph", AGENT, "--by", "settler", doubt_id)
        assert done.returncode == 0 and json_line(done.stdout)["status"] == "done", (done.stdout, done.stderr)
        expected[original_id] += verb == "retry"
        figures[verb] += 1
    assert lab.effects_by_key() == +expected
    decided = [t for i, t in ids.items() if records[i]["status"] != "pending"]
    assert_finished(lab, decided)
    assert lab.settled()
    lab.check_store()
    return figures


# ---- 4. deadlines with several workers ------------------------------------------------------------------


def seed_deadlines(lab: Lab, count: int, timeout: float, spacing: float = 0.0, first: int = 0) -> dict[str, str]:
    ids = {}
    with SqliteSaver.from_conn_string(lab.db) as saver:
        for n in range(first, first + count):
            graph = eo.build_deadline(saver, timeout=timeout + (n - first) * spacing)
            out = graph.invoke({"item": f"d{n}", "result": ""}, {"configurable": {"thread_id": f"d{n}"}})
            ids[out["__interrupt__"][0].id] = f"d{n}"
    return ids


def test_deadlines_with_two_fast_workers_continue_each_run_once(lab):
    ids = seed_deadlines(lab, 10, timeout=1.5, spacing=0.05)
    procs = [lab.worker("--interval", "0.05", tool_sleep=0.1) for _ in range(2)]
    assert _wait_for(lambda: len(lab.effect_lines()) >= len(ids), 30)
    lab.wait_settled(30, pending_ok=False)
    assert all(proc.poll() is None for proc in procs)
    records = lab.interrupts()
    assert all(records[i]["status"] == "expired" and records[i]["by"] == "deadline" and records[i]["applied"]
               for i in ids), records
    assert lab.effects_by_key() == Counter({i: 1 for i in ids})
    assert {line[1] for line in lab.effect_lines()} == {eo.TIMEOUT_ITEM}
    lab.check_store()
    print(f"\n[deadlines] {len(ids)} on_timeout continuations, each once; by pid "
          f"{dict(Counter(line[3] for line in lab.effect_lines()))}")


def test_a_human_racing_a_deadline_exactly_one_wins(lab):
    rounds = 20
    # how long `inbox accept` takes to reach its claim, roughly: aim the CLIs at the deadlines
    seed_deadlines(lab, 1, timeout=3600)
    started = time.monotonic()
    assert lab.run("list", "--db", lab.db).returncode == 0
    startup = time.monotonic() - started
    ids = seed_deadlines(lab, rounds, timeout=3.0 + startup, spacing=0.4, first=1)
    deadlines = {i: d for i, d in lab.query("SELECT id, deadline FROM interrupts") if i in ids}
    procs = [lab.worker("--interval", "0.05", tool_sleep=0.05) for _ in range(2)]
    rng = random.Random("deadline-race")
    from datetime import datetime

    # Aim each CLI so its claim lands at the deadline: launch `lead` seconds before it, and
    # adjust `lead` from the outcomes so far (earlier after a deadline win, later after a
    # human win), so the rounds stay on the boundary whatever the machine's load.
    lead, humans, seen = 1.5 * startup, {}, set()
    for interrupt_id in sorted(ids, key=deadlines.get):
        for other, proc in humans.items():
            if other not in seen and proc.poll() is not None:
                seen.add(other)
                lead += 0.3 if proc.returncode == 3 else -0.15
        fire = datetime.fromisoformat(deadlines[interrupt_id]).timestamp()
        time.sleep(max(0.0, fire - lead + rng.uniform(-0.1, 0.1) - time.time()))
        humans[interrupt_id] = lab.accept(interrupt_id, graph=True)
    outcome = Counter()
    for interrupt_id, proc in humans.items():
        out, err = proc.communicate(timeout=60)
        humans[interrupt_id] = (proc.returncode, json_line(out), err)
    lab.wait_settled(30)  # d0 stays pending: its deadline is an hour away
    assert all(proc.poll() is None for proc in procs)
    records = lab.interrupts()
    lines = {line[2]: line for line in lab.effect_lines()}
    assert lab.effects_by_key() == Counter({i: 1 for i in ids}), lab.effect_lines()
    for interrupt_id, (code, result, err) in humans.items():
        record_ = records[interrupt_id]
        assert record_["applied"]
        if code == 0:  # the human won: their accept ran the thread's own item
            assert record_["status"] == "resolved" and record_["by"] == REVIEWER, (record_, result, err)
            assert lines[interrupt_id][1] == ids[interrupt_id]
            outcome[f"human ({result['status']})"] += 1
        else:
            assert code == 3 and "already resolved by deadline" in err, (code, err)
            assert record_["status"] == "expired" and record_["by"] == "deadline"
            assert lines[interrupt_id][1] == eo.TIMEOUT_ITEM
            outcome["deadline"] += 1
    lab.check_store()
    print(f"\n[human vs deadline] {rounds} rounds (CLI startup {startup:.2f} s): {dict(outcome)}")
