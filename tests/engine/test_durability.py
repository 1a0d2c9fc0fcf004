"""Paused runs survive restarts, crashes and concurrent reviewers: real processes, a real file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.checkpoint.sqlite import SqliteSaver
from engine.errors import AlreadyResolved
from engine.runtime.decisions import apply_pending_decisions, claim, decide, expire_overdue
from engine._internal.sync import run_sync

HERE = Path(__file__).parent
REPO = HERE.parent.parent


def run_py(code: str, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{REPO}"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=timeout, check=check, env=env, cwd=REPO)


def cfg(thread):
    return {"configurable": {"thread_id": thread}}


def test_a_run_paused_in_one_process_resumes_in_another(tmp_path):
    db, effects = str(tmp_path / "runs.sqlite"), str(tmp_path / "effects.txt")
    run_py(f"""
        from engine.checkpoint.sqlite import SqliteSaver
        from durable_graphs import payment_graph
        with SqliteSaver.from_conn_string({db!r}) as saver:
            out = payment_graph(saver, {effects!r}).invoke({{"amount": 42, "status": ""}}, {{"configurable": {{"thread_id": "t1"}}}})
            print(out["__interrupt__"][0].id)
    """)
    result = run_py(f"""
        from engine.checkpoint.sqlite import SqliteSaver
        from engine.types import Command
        from durable_graphs import payment_graph
        with SqliteSaver.from_conn_string({db!r}) as saver:
            print(payment_graph(saver, {effects!r}).invoke(Command(resume=[{{"type": "accept"}}]),
                                                           {{"configurable": {{"thread_id": "t1"}}}}))
    """)
    assert "'status': 'paid'" in result.stdout
    assert Path(effects).read_text().count("paid 42") == 1


def test_kill_9_during_a_node_leaves_the_last_checkpoint_resumable(tmp_path):
    db, marker = str(tmp_path / "crash.sqlite"), tmp_path / "started"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from engine.checkpoint.sqlite import SqliteSaver
        from durable_graphs import slow_graph
        with SqliteSaver.from_conn_string({db!r}) as saver:
            slow_graph(saver, {str(marker)!r}).invoke({{"amount": 1, "status": ""}}, {{"configurable": {{"thread_id": "t"}}}})
    """)], env={**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{REPO}"}, cwd=REPO)
    deadline = time.time() + 30
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the node never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # The file opens; the last whole checkpoint is the one after `prepare`; `hang` is next.
    from durable_graphs import slow_graph
    with SqliteSaver.from_conn_string(db) as saver:
        graph = slow_graph(saver, str(marker))
        snapshot = graph.get_state(cfg("t"))
        assert snapshot.values == {"amount": 1, "status": "prepared"}
        assert snapshot.next == ("hang",)
        assert saver.count_by_status().get("pending", 0) == 0
        assert [t.status for t in saver.list_threads()] == ["busy"]  # it died mid-run
        # Resume from it with a working node.
        graph.builder.nodes["hang"].runnable = lambda state: {"status": "recovered"}
        assert graph.invoke(None, cfg("t")) == {"amount": 1, "status": "recovered"}


RACE = """
import sys, json, os, time
from engine.checkpoint.sqlite import SqliteSaver
from engine.errors import AlreadyResolved
from engine.runtime.decisions import decide
from engine._internal.sync import run_sync
from durable_graphs import payment_graph
db, effects, ids_file, who, gates = sys.argv[1:6]
with SqliteSaver.from_conn_string(db) as saver:
    graph = payment_graph(saver, effects)
    for i, interrupt_id in enumerate(open(ids_file).read().split()):
        open(os.path.join(gates, f"ready-{who}-{i}"), "w").close()
        while not os.path.exists(os.path.join(gates, f"go-{i}")):
            time.sleep(0.0005)
        try:
            applied = run_sync(decide(saver, {"payments": graph}, interrupt_id, [{"type": "accept"}], by=who))
            print(json.dumps({"round": i, "won": True, "status": applied.status}), flush=True)
        except AlreadyResolved as lost:
            print(json.dumps({"round": i, "won": False, "by": lost.by}), flush=True)
"""


def test_two_processes_deciding_the_same_interrupt_resume_the_run_exactly_once(tmp_path):
    import json

    rounds = 50
    db, effects = str(tmp_path / "race.sqlite"), str(tmp_path / "effects.txt")
    script, ids_file, gates = tmp_path / "race.py", tmp_path / "ids.txt", tmp_path / "gates"
    script.write_text(RACE)
    gates.mkdir()
    from durable_graphs import payment_graph
    with SqliteSaver.from_conn_string(db) as saver:
        graph = payment_graph(saver, effects)
        ids = [graph.invoke({"amount": i, "status": ""}, cfg(f"t{i}"))["__interrupt__"][0].id for i in range(rounds)]
    ids_file.write_text("\n".join(ids))
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{REPO}"}
    procs = [subprocess.Popen([sys.executable, str(script), db, effects, str(ids_file), who, str(gates)],
                              stdout=subprocess.PIPE, text=True, env=env, cwd=REPO) for who in ("alice", "bob")]
    for i in range(rounds):  # release both reviewers at the same moment, round after round
        deadline = time.time() + 60
        while not all((gates / f"ready-{who}-{i}").exists() for who in ("alice", "bob")):
            assert time.time() < deadline, f"round {i}: a reviewer process never got ready"
            time.sleep(0.001)
        (gates / f"go-{i}").write_text("go")
    outputs = [json.loads(line) for p in procs for line in p.communicate(timeout=120)[0].splitlines()]
    for i in range(rounds):
        outcomes = [o for o in outputs if o["round"] == i]
        winners = [o for o in outcomes if o["won"]]
        assert len(outcomes) == 2 and len(winners) == 1, outcomes
        assert winners[0]["status"] == "done"
        assert [o["by"] for o in outcomes if not o["won"]][0] in ("alice", "bob")
    lines = Path(effects).read_text().splitlines()
    assert sorted(int(line.split()[-1]) for line in lines) == list(range(rounds))  # each paid exactly once


def test_four_processes_with_two_hundred_runs_each_never_see_a_locked_database(tmp_path):
    db, effects = str(tmp_path / "load.sqlite"), str(tmp_path / "effects.txt")
    code = """
        import sys
        from engine.checkpoint.sqlite import SqliteSaver
        from engine.types import Command
        from durable_graphs import payment_graph
        db, effects, worker = sys.argv[1:4]
        with SqliteSaver.from_conn_string(db) as saver:
            graph = payment_graph(saver, effects)
            for i in range(200):
                config = {"configurable": {"thread_id": f"w{worker}-{i}"}}
                graph.invoke({"amount": i, "status": ""}, config)
                graph.invoke(Command(resume=[{"type": "accept"}]), config)
        print("ok")
    """
    SqliteSaver.open(db).close()  # create it once, so the workers race on runs, not on setup
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{REPO}"}
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), db, effects, str(w)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
             for w in range(4)]
    results = [p.communicate(timeout=300) for p in procs]
    for out, err in results:
        assert "locked" not in err and out.strip() == "ok", err[-2000:]
    assert len(Path(effects).read_text().splitlines()) == 800
    with SqliteSaver.from_conn_string(db) as saver:
        threads = saver.list_threads()
        assert len(threads) == 800 and {t.status for t in threads} == {"done"}
        assert saver.get_thread("w0-7").status == "done" and saver.get_thread("nope") is None
        assert {k: v for k, v in saver.count_by_status().items() if v} == {"resolved": 800}


def test_a_claimed_decision_survives_a_crash_and_is_applied_on_restart(tmp_path):
    db, effects = str(tmp_path / "claim.sqlite"), str(tmp_path / "effects.txt")
    from durable_graphs import payment_graph
    with SqliteSaver.from_conn_string(db) as saver:
        interrupt_id = payment_graph(saver, effects).invoke({"amount": 7, "status": ""}, cfg("t"))["__interrupt__"][0].id
    # A process claims the decision and dies before resuming the graph.
    run_py(f"""
        import os
        from engine.checkpoint.sqlite import SqliteSaver
        from engine.runtime.decisions import claim
        from engine._internal.sync import run_sync
        saver = SqliteSaver.open({db!r})
        run_sync(claim(saver, {interrupt_id!r}, [{{"type": "accept"}}], by="alice"))
        os._exit(0)
    """)
    assert not Path(effects).exists()
    with SqliteSaver.from_conn_string(db) as saver:
        [pending] = saver.list_claimed_unapplied()
        assert pending.id == interrupt_id and pending.resolved_by == "alice"
        graph = payment_graph(saver, effects)
        [applied] = run_sync(apply_pending_decisions(saver, {"payments": graph}))
        assert applied.status == "done"
        assert run_sync(apply_pending_decisions(saver, {"payments": graph})) == []  # never twice
        assert saver.list_claimed_unapplied() == []
        assert saver.get_interrupt(interrupt_id).applied
    assert Path(effects).read_text().count("paid 7") == 1


def test_a_decision_that_lost_the_race_sends_nothing(tmp_path):
    db, effects = str(tmp_path / "lost.sqlite"), str(tmp_path / "effects.txt")
    from durable_graphs import payment_graph
    with SqliteSaver.from_conn_string(db) as saver:
        graph = payment_graph(saver, effects)
        interrupt_id = graph.invoke({"amount": 3, "status": ""}, cfg("t"))["__interrupt__"][0].id
        run_sync(decide(saver, {"payments": graph}, interrupt_id, [{"type": "accept"}], by="alice"))
        with pytest.raises(AlreadyResolved) as lost:
            run_sync(claim(saver, interrupt_id, [{"type": "response", "args": "no"}], by="bob"))
        assert lost.value.by == "alice" and lost.value.response == [{"type": "accept", "args": None}]
    assert Path(effects).read_text().count("paid 3") == 1


class FakeClock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.mark.parametrize("policy", ["flag", "resume"])
def test_deadlines_flag_overdue_or_resume_with_the_default_answer(tmp_path, policy):
    from typing import TypedDict

    from engine.graph import START, StateGraph
    from engine.types import interrupt

    class State(TypedDict):
        answer: str

    on_timeout = [{"type": "ignore", "args": None}] if policy == "resume" else None

    def ask(state):
        request = [{"action_request": {"action": "deploy", "args": {}},
                    "config": {"allow_accept": True, "allow_ignore": True}}]
        return {"answer": interrupt(request, timeout=timedelta(hours=1), on_timeout=on_timeout)[0]["type"]}

    clock = FakeClock(datetime(2025, 1, 1, 9, 0, tzinfo=timezone.utc))
    with SqliteSaver.from_conn_string(str(tmp_path / "deadline.sqlite")) as saver:
        graph = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").compile(checkpointer=saver, name="ops")
        graph.clock = clock
        [pending] = graph.invoke({"answer": ""}, cfg("t"))["__interrupt__"]
        assert pending.deadline.startswith("2025-01-01T10:00")
        # Before the deadline nothing happens.
        assert run_sync(expire_overdue(saver, {"ops": graph}, clock.now + timedelta(minutes=59))) == []
        assert saver.get_interrupt(pending.id).status == "pending" and not saver.get_interrupt(pending.id).overdue
        results = run_sync(expire_overdue(saver, {"ops": graph}, clock.now + timedelta(hours=2)))
        record = saver.get_interrupt(pending.id)
        kinds = [e.kind for e in saver.read_events() if getattr(e, "interrupt_id", None) == pending.id]
        assert "interrupt_expired" in kinds
        if policy == "flag":
            assert results == [] and record.status == "pending" and record.overdue
            assert graph.get_state(cfg("t")).next == ("ask",)
        else:
            assert [r.status for r in results] == ["done"]
            assert record.status == "expired" and record.resolved_by == "deadline" and record.applied
            assert graph.get_state(cfg("t")).values == {"answer": "ignore"}
        # Applying expiry again changes nothing.
        assert run_sync(expire_overdue(saver, {"ops": graph}, clock.now + timedelta(hours=3))) == []


def test_graph_level_default_deadline(tmp_path):
    from typing import TypedDict

    from engine.graph import START, StateGraph
    from engine.types import interrupt

    class State(TypedDict):
        answer: str

    with SqliteSaver.from_conn_string(str(tmp_path / "d.sqlite")) as saver:
        graph = (StateGraph(State).add_node("ask", lambda s: {"answer": interrupt("ok?")}).add_edge(START, "ask")
                 .compile(checkpointer=saver, interrupt_timeout=timedelta(minutes=5), interrupt_on_timeout="no"))
        graph.clock = FakeClock(datetime(2025, 1, 1, tzinfo=timezone.utc))
        [pending] = graph.invoke({"answer": ""}, cfg("t"))["__interrupt__"]
        assert pending.deadline.startswith("2025-01-01T00:05") and pending.on_timeout == "no"
        run_sync(expire_overdue(saver, {graph.name: graph}, datetime(2025, 1, 1, 1, tzinfo=timezone.utc)))
        assert graph.get_state(cfg("t")).values == {"answer": "no"}


def test_resolve_refuses_an_answer_the_request_does_not_allow_and_stores_nothing(tmp_path):
    from engine.prebuilt import InvalidResponse

    db, effects = str(tmp_path / "refuse.sqlite"), str(tmp_path / "effects.txt")
    from durable_graphs import payment_graph
    with SqliteSaver.from_conn_string(db) as saver:
        interrupt_id = payment_graph(saver, effects).invoke({"amount": 5, "status": ""}, cfg("t"))["__interrupt__"][0].id
        with pytest.raises(InvalidResponse, match="type 'edit' is not allowed"):
            saver.resolve(interrupt_id, [{"type": "edit", "args": {"args": {"amount": 500}}}], by="mallory")
        record = saver.get_interrupt(interrupt_id)
        assert record.status == "pending" and record.resolved_by is None
        # An allowed answer is stored normalized.
        assert saver.resolve(interrupt_id, {"type": "accept"}, by="alice").response == [{"type": "accept", "args": None}]
