"""Run ownership in one process: a thread's lease, decisions applied with the step that
consumed them, late answers refused, and reviewed tool calls that are in doubt after a crash.
(Races between processes: tests/test_exactly_once.py.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TypedDict

import pytest

from engine.checkpoint.memory import InMemorySaver
from engine.checkpoint.sqlite import SqliteSaver
from engine.errors import AlreadyResolved, LeaseLost, ThreadBusy
from engine.graph import END, START, StateGraph
from engine.prebuilt import ScriptedModel, add_human_in_the_loop, create_tool_agent
from engine.runtime.decisions import apply_pending_decisions, claim, decide
from engine.types import Command, interrupt

REPO = Path(__file__).parent.parent.parent


class State(TypedDict):
    answer: str
    done: str


class Died(BaseException):
    """Stands in for the process dying mid-node (nothing after it runs)."""


def cfg(thread: str) -> dict:
    return {"configurable": {"thread_id": thread}}


def gated_graph(saver, gate: asyncio.Event, started: asyncio.Event, name: str = "gated"):
    """ask -> work: `work` waits for `gate`, so a test can act while the thread is running."""
    def ask(state):
        return {"answer": interrupt({"question": "go?"})}

    async def work(state):
        started.set()
        await gate.wait()
        return {"done": f"did {state['answer']}"}

    return (StateGraph(State).add_node("ask", ask).add_node("work", work)
            .add_edge(START, "ask").add_edge("ask", "work").add_edge("work", END)
            .compile(checkpointer=saver, name=name))


@pytest.fixture(params=["sqlite", "memory"])
async def saver(request, tmp_path):
    if request.param == "memory":
        yield InMemorySaver()
        return
    async with SqliteSaver.from_conn_string(tmp_path / "own.sqlite") as saver:
        yield saver


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_a_second_run_on_a_running_thread_is_refused_and_runs_nothing(saver, durability):
    gate, started = asyncio.Event(), asyncio.Event()
    graph = gated_graph(saver, gate, started)
    await graph.ainvoke({"answer": "", "done": ""}, cfg("t"), durability=durability)
    first = asyncio.create_task(graph.ainvoke(Command(resume="yes"), cfg("t"), durability=durability))
    await started.wait()
    holder = await saver.alease_holder("t")
    assert holder is not None and holder[0].split(":")[1] == str(os.getpid())
    with pytest.raises(ThreadBusy, match="is being run by .* right now") as busy:
        await graph.ainvoke({"answer": "again", "done": ""}, cfg("t"))
    assert busy.value.owner == holder[0]
    with pytest.raises(ThreadBusy):
        await graph.aupdate_state(cfg("t"), {"answer": "edited"})
    gate.set()
    assert (await first)["done"] == "did yes"
    assert await saver.alease_holder("t") is None  # released with the run's last commit


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_the_heartbeat_keeps_the_lease_while_a_long_node_runs(saver, monkeypatch, durability):
    monkeypatch.setenv("ENGINE_LEASE_TTL", "0.3")
    gate, started = asyncio.Event(), asyncio.Event()
    graph = gated_graph(saver, gate, started)
    await graph.ainvoke({"answer": "", "done": ""}, cfg("t"), durability=durability)
    first = asyncio.create_task(graph.ainvoke(Command(resume="yes"), cfg("t"), durability=durability))
    await started.wait()
    await asyncio.sleep(1.0)  # over three lease lifetimes: only the heartbeat keeps it
    holder = await saver.alease_holder("t")
    assert holder is not None and holder[1] > 0
    with pytest.raises(ThreadBusy):
        await graph.ainvoke({"answer": "again", "done": ""}, cfg("t"), durability=durability)
    gate.set()
    assert (await first)["done"] == "did yes"
    assert await saver.alease_holder("t") is None
    await asyncio.sleep(0.3)  # the heartbeat stopped with the run: nothing takes the lease back
    assert await saver.alease_holder("t") is None


async def test_a_decision_is_marked_applied_only_by_the_step_that_consumed_it(tmp_path):
    gate, started = asyncio.Event(), asyncio.Event()
    async with SqliteSaver.from_conn_string(tmp_path / "a.sqlite") as saver:
        graph = gated_graph(saver, gate, started)
        [pending] = (await graph.ainvoke({"answer": "", "done": ""}, cfg("t")))["__interrupt__"]

        # the `ask` node consumes the answer; `work` runs in the next step
        running = asyncio.create_task(decide(saver, {"gated": graph}, pending.id, "yes", by="ann"))
        await started.wait()
        record = await saver.aget_interrupt(pending.id)
        assert (record.status, record.resolved_by, record.applied) == ("resolved", "ann", True)
        gate.set()
        assert (await running).status == "done"


async def test_a_crash_before_the_consuming_step_leaves_the_decision_to_be_applied_once(tmp_path):
    """A decision claimed, then the process resuming it dies mid-node: the decision stays
    claimed-but-unapplied, and recovery applies it (the node runs with it once more)."""
    db = tmp_path / "c.sqlite"
    calls = []

    def build(saver, hang: bool):
        def ask(state):
            answer = interrupt({"question": "go?"})
            calls.append(answer)
            if hang:
                raise Died
            return {"answer": answer}
        return (StateGraph(State).add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
                .compile(checkpointer=saver, name="g"))

    async with SqliteSaver.from_conn_string(db) as saver:
        [pending] = (await build(saver, False).ainvoke({"answer": "", "done": ""}, cfg("t")))["__interrupt__"]
        record = await claim(saver, pending.id, "yes", by="ann")
        with pytest.raises(Died):
            await build(saver, True).ainvoke(Command(resume={record.id: record.response}), cfg("t"))
        assert (await saver.aget_interrupt(pending.id)).applied is False
        [applied] = await apply_pending_decisions(saver, {"g": build(saver, False)})
        assert applied.status == "done" and calls == ["yes", "yes"]
        assert (await saver.aget_interrupt(pending.id)).applied is True
        assert await apply_pending_decisions(saver, {"g": build(saver, False)}) == []


async def test_a_direct_resume_cannot_override_a_claimed_decision(tmp_path):
    gate, started = asyncio.Event(), asyncio.Event()
    gate.set()
    async with SqliteSaver.from_conn_string(tmp_path / "d.sqlite") as saver:
        graph = gated_graph(saver, gate, started)
        [pending] = (await graph.ainvoke({"answer": "", "done": ""}, cfg("t")))["__interrupt__"]
        await claim(saver, pending.id, "from the inbox", by="ann")
        with pytest.raises(AlreadyResolved, match="already resolved by ann"):
            await graph.ainvoke(Command(resume="from a script"), cfg("t"))
        [applied] = await apply_pending_decisions(saver, {"gated": graph})
        assert applied.values["done"] == "did from the inbox"
        # and once applied, a late answer is refused too
        with pytest.raises(Exception, match="no pending interrupt|already resolved"):
            await graph.ainvoke(Command(resume={pending.id: "late"}), cfg("t"))


async def test_a_run_that_lost_its_lease_commits_nothing(tmp_path):
    gate, started = asyncio.Event(), asyncio.Event()
    async with SqliteSaver.from_conn_string(tmp_path / "l.sqlite") as saver:
        graph = gated_graph(saver, gate, started)
        await graph.ainvoke({"answer": "", "done": ""}, cfg("t"))
        running = asyncio.create_task(graph.ainvoke(Command(resume="yes"), cfg("t")))
        await started.wait()
        # the lease expires while the node is stalled, and someone else takes the thread
        await saver._write(lambda db, _t: db.execute("UPDATE leases SET expires_at = 0"))
        await saver.alease_acquire("t", "elsewhere:1:x", 30)
        gate.set()
        with pytest.raises(LeaseLost, match="lost its lease"):
            await running
        state = await graph.aget_state(cfg("t"))
        assert state.next == ("work",) and not state.values.get("done")


SEND_SCRIPT = """
import os, sys
from engine.checkpoint.sqlite import SqliteSaver
from engine.prebuilt import ScriptedModel, add_human_in_the_loop, create_tool_agent

db, effects, mode = sys.argv[1:4]

def send_email(to: str, idempotency_key: str) -> str:
    with open(effects, "a") as out:
        out.write(f"{to} {idempotency_key}\\n")
    if mode == "die":
        os.kill(os.getpid(), 9)  # the process dies while the tool runs, after its effect
    return f"sent to {to}"

def build(saver):
    model = ScriptedModel([
        {"tool_calls": [{"id": "c1", "name": "send_email", "args": {"to": "ops@example.com"}}]},
        lambda messages: "final: " + messages[-1]["content"],
    ])
    return create_tool_agent(model, [add_human_in_the_loop(send_email)], checkpointer=saver, name="mail")
"""


def run_mail(db, effects, mode, code):
    program = textwrap.dedent(SEND_SCRIPT) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", program, str(db), str(effects), mode], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)


@pytest.mark.parametrize("settle", ["retry", "mark done"])
def test_a_reviewed_tool_that_may_have_run_when_its_process_died_is_in_doubt(tmp_path, settle):
    db, effects = tmp_path / "mail.sqlite", tmp_path / "effects.txt"
    started = run_mail(db, effects, "ok", """
with SqliteSaver.from_conn_string(db) as saver:
    out = build(saver).invoke({"messages": [{"role": "user", "content": "mail ops"}]}, {"configurable": {"thread_id": "m"}})
    print(out["__interrupt__"][0].id)
""")
    review_id = started.stdout.strip()
    died = run_mail(db, effects, "die", f"""
from engine.runtime.decisions import decide
from engine._internal.sync import run_sync
with SqliteSaver.from_conn_string(db) as saver:
    run_sync(decide(saver, {{"mail": build(saver)}}, {review_id!r}, [{{"type": "accept"}}], by="ann"))
""")
    assert died.returncode == -9
    assert effects.read_text().splitlines() == [f"ops@example.com {review_id}"]

    async def recover_then_settle():
        async with SqliteSaver.from_conn_string(db) as saver:
            graphs = {"mail": (await _build(saver))}
            [recovered] = await apply_pending_decisions(saver, graphs)
            # not run again: the thread asks whether the call happened
            assert recovered.status == "interrupted"
            [doubt] = await saver.alist_pending()
            assert doubt.payload[0]["action_request"]["action"] == "send_email (in doubt)"
            assert "may have run" in doubt.payload[0]["description"]
            assert effects.read_text().count("\n") == 1
            answer = [{"type": "accept"}] if settle == "retry" else [{"type": "response", "args": "it went out"}]
            return await decide(saver, graphs, doubt.id, answer, by="bob")

    async def _build(saver):
        namespace: dict = {}
        exec(textwrap.dedent(SEND_SCRIPT).split("db, effects, mode")[0], namespace)
        exec("def send_email(to: str, idempotency_key: str) -> str:\n"
             f"    open({str(effects)!r}, 'a').write(f'{{to}} {{idempotency_key}}\\n')\n"
             "    return f'sent to {to}'\n", namespace)
        model = ScriptedModel([
            {"tool_calls": [{"id": "c1", "name": "send_email", "args": {"to": "ops@example.com"}}]},
            lambda messages: "final: " + messages[-1]["content"],
        ])
        return create_tool_agent(model, [add_human_in_the_loop(namespace["send_email"])], checkpointer=saver,
                                 name="mail")

    applied = asyncio.run(recover_then_settle())
    assert applied.status == "done"
    lines = effects.read_text().splitlines()
    if settle == "retry":  # run again, with the same idempotency key
        assert lines == [f"ops@example.com {review_id}"] * 2
        assert applied.values["messages"][-1]["content"] == "final: sent to ops@example.com"
    else:
        assert lines == [f"ops@example.com {review_id}"]
        assert applied.values["messages"][-1]["content"] == "final: it went out"


async def test_a_deadline_answer_written_loosely_is_applied_once(tmp_path):
    """on_timeout as the program wrote it ([{"type": "ignore"}], no args) is the claimed
    decision; the run applies it normalized, which is the same decision, not a late answer."""
    from datetime import datetime, timedelta, timezone

    from engine.runtime.decisions import expire_overdue

    calls = []

    def review(state):
        [answer] = interrupt([{"action_request": {"action": "pay", "args": {}},
                               "config": {"allow_accept": True, "allow_ignore": True}}],
                             timeout=timedelta(seconds=1), on_timeout=[{"type": "ignore"}])
        calls.append(answer["type"])
        return {"answer": answer["type"]}

    async with SqliteSaver.from_conn_string(tmp_path / "dl.sqlite") as saver:
        graph = (StateGraph(State).add_node("review", review).add_edge(START, "review").add_edge("review", END)
                 .compile(checkpointer=saver, name="dl"))
        await graph.ainvoke({"answer": "", "done": ""}, cfg("t"))
        later = datetime.now(timezone.utc) + timedelta(minutes=1)
        [applied] = await expire_overdue(saver, {"dl": graph}, later)
        assert applied.status == "done" and calls == ["ignore"]
        assert await expire_overdue(saver, {"dl": graph}, later) == []
        assert await apply_pending_decisions(saver, {"dl": graph}) == []
        [record] = await saver.adecisions()
        assert (record.status, record.resolved_by, record.applied) == ("expired", "deadline", True)


class Counting(TypedDict):
    n: int


def test_an_abandoned_sync_stream_lets_go_of_the_thread_at_once(tmp_path):
    """Closing `graph.stream()` early (a `break`, or `.close()`) stops the run and releases its
    lease then, so another run (or `inbox worker`) can continue the thread without waiting
    for the lease to expire."""
    with SqliteSaver.from_conn_string(tmp_path / "inbox.sqlite") as saver:
        graph = (StateGraph(Counting).add_node("a", lambda s: {"n": s["n"] + 1})
                 .add_node("b", lambda s: {"n": s["n"] + 10})
                 .add_edge(START, "a").add_edge("a", "b").add_edge("b", END).compile(checkpointer=saver))
        config = {"configurable": {"thread_id": "t"}}
        for _chunk in graph.stream({"n": 0}, config):
            break
        assert asyncio.run(saver.alease_holder("t")) is None
        assert graph.invoke(None, config)["n"] == 11  # not ThreadBusy: the thread is free
