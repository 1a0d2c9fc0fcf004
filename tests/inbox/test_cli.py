"""The headless `inbox` commands, run as real subprocesses on real SQLite files.

Exit codes these tests rely on (the contract in inbox/cli.py's docstring):
  0  done (a decision recorded or applied, a listing printed, the worker finished a pass)
  1  the run failed after the decision (the agent's error, reported in the JSON on stdout)
  2  bad usage or input: a bad path, a file that is not an inbox database, an unknown graph
     reference, user code failing to import or build, an invalid/disallowed response, an
     unknown interrupt id; also argparse errors and `inbox` with no command
  3  someone else already decided this interrupt; nothing was sent

Every failure is one line on stderr starting with "inbox: " and never a traceback, unless
`inbox --debug` is given.

What a decision did is checked in the database, not in the subprocess: the interrupt's
record (status, response, who, applied) and the thread's checkpointed state (the tool's
result message, the next pending interrupt), read back with the engine's SqliteSaver.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

import pytest

from engine.checkpoint.sqlite import SqliteSaver
from inbox.demo import graph_for, seed

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import cli_graphs  # noqa: E402  (tests/inbox/cli_graphs.py, also importable by the subprocesses)

REVIEWER = "cli-test"
TRAVEL = "travel-agent=inbox.demo.travel:build"
DEPLOY = "deploy-bot=inbox.demo.deploy:build"
PAYMENTS = "payments-agent=inbox.demo.payments:build"
CLEANUP = "cleanup-agent=inbox.demo.cleanup:build"
TRIAGE = "ops-triage=inbox.demo.triage:build"
CLUSTER = "cluster-planner=inbox.demo.cluster:build"
FLAKY = f"{cli_graphs.FLAKY}=cli_graphs:build_flaky"


# ---- running the command -----------------------------------------------------------------------


# Bytecode for the subprocesses, kept out of the source tree: with PYTHONDONTWRITEBYTECODE set
# every `inbox` process would compile the whole package again (~3x slower).
PYCACHE: dict[str, str] = {}


@pytest.fixture(scope="session", autouse=True)
def shared_bytecode_cache(tmp_path_factory):
    PYCACHE["prefix"] = str(tmp_path_factory.mktemp("cli-pycache"))
    yield
    PYCACHE.clear()


def cli_env(cwd: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOX_")}
    path = [str(REPO), str(HERE)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env.update(PYTHONPATH=os.pathsep.join(path), INBOX_CONFIG=str(cwd / "no-such-config.toml"),
               INBOX_REVIEWER=REVIEWER, NO_COLOR="1")
    if PYCACHE:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = PYCACHE["prefix"]
    env.update(extra)
    return env


def command(*args) -> list[str]:
    return [sys.executable, "-m", "inbox.cli", *map(str, args)]


def inbox(*args, cwd: Path, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `inbox ARGS...` in `cwd` (where the test's databases and user modules live)."""
    return subprocess.run(command(*args), cwd=cwd, env=env or cli_env(cwd), capture_output=True, text=True,
                          timeout=timeout)


def inbox_many(arg_lists: list[tuple], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Several independent invocations at once (keeps the bad-input matrix fast)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda a: inbox(*a, cwd=cwd), arg_lists))


def shown(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, shown(result)
    assert "Traceback" not in result.stderr, shown(result)
    return result


def decided(result: subprocess.CompletedProcess) -> dict:
    """The JSON line a decision command prints."""
    ok(result)
    return json.loads(result.stdout)


def fails_cleanly(result: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    """Exit `code`, exactly one "inbox: ..." line on stderr naming the problem, no traceback."""
    assert result.returncode == code, shown(result)
    assert "Traceback" not in result.stderr, shown(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("inbox: "), shown(result)
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in the message\n{shown(result)}"
    return lines[0]


# ---- reading the database back -----------------------------------------------------------------


def cfg(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def with_saver(db: Path, use):
    async def go():
        async with SqliteSaver.from_conn_string(str(db)) as saver:
            return await use(saver)
    return asyncio.run(go())


def record(db: Path, interrupt_id: str):
    return with_saver(db, lambda saver: saver.aget_interrupt(interrupt_id))


def pending_ids(db: Path) -> set[str]:
    async def use(saver):
        return {r.id for r in await saver.alist_pending()}
    return with_saver(db, use)


def build(graph_name: str, saver):
    return cli_graphs.build_flaky(saver) if graph_name == cli_graphs.FLAKY else graph_for(graph_name, saver)


def state(db: Path, thread_id: str):
    """The thread's latest checkpointed state (its graph name is the thread id without -NNNN)."""
    graph_name = thread_id.rsplit("-", 1)[0]
    return with_saver(db, lambda saver: build(graph_name, saver).aget_state(cfg(thread_id)))


def tool_results(snapshot) -> list[str]:
    return [m["content"] for m in snapshot.values.get("messages", []) if m.get("role") == "tool"]


def assert_untouched(db: Path, thread_id: str, interrupt_id: str) -> None:
    """The decision was not applied: the run still waits on the same interrupt, no tool ran."""
    snapshot = state(db, thread_id)
    assert snapshot.next, f"{thread_id} continued"
    assert [i.id for i in snapshot.interrupts] == [interrupt_id]
    assert tool_results(snapshot) == []


# ---- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """One paused thread of every demo scenario plus a flaky-agent thread whose tool fails;
    returns (database, {thread_id: pending interrupt id})."""
    db = tmp_path_factory.mktemp("cli-template") / "inbox.sqlite"
    seed(db, threads=9)  # one round of the round-robin: every scenario once

    async def add_flaky_and_list(saver):
        graph = cli_graphs.build_flaky(saver)
        out = await graph.ainvoke(cli_graphs.flaky_input(), cfg("flaky-agent-0001"))
        assert out["__interrupt__"]
        return {r.thread_id: r.id for r in await saver.alist_pending()}

    ids = with_saver(db, add_flaky_and_list)
    assert len(ids) == 10
    return db, ids


@pytest.fixture
def ids(template) -> dict[str, str]:
    return dict(template[1])


@pytest.fixture
def db(template, tmp_path) -> Path:
    """A private copy of the seeded template in this test's directory."""
    source = template[0]
    target = tmp_path / "inbox.sqlite"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target


@pytest.fixture
def cwd(tmp_path) -> Path:
    return tmp_path


# ---- list and show -----------------------------------------------------------------------------


def test_list_json_is_an_array_of_pending_items(db, ids, cwd):
    items = json.loads(ok(inbox("list", "--db", db, "--json", cwd=cwd)).stdout)
    assert isinstance(items, list)
    assert {i["id"] for i in items} == set(ids.values())
    for item in items:
        assert {"id", "thread_id", "action", "description", "created"} <= set(item)
        assert ids[item["thread_id"]] == item["id"]
        assert item["status"] == "pending"
        assert datetime.fromisoformat(item["created"]).tzinfo is not None
    by_thread = {i["thread_id"]: i for i in items}
    assert by_thread["payments-agent-0001"]["action"] == "wire_transfer"
    assert "Wire transfer" in by_thread["payments-agent-0001"]["description"]
    assert by_thread["cluster-planner-0001"]["action"] == "question"
    assert by_thread["ops-triage-0001"]["action"] == "restart_pods +2"


def test_the_inbox_entry_point_lists_the_same(db, ids, cwd):
    script = Path(sys.executable).parent / "inbox"
    if not script.exists():
        pytest.skip("the `inbox` console script is not installed next to this interpreter")
    result = subprocess.run([str(script), "list", "--db", str(db), "--json"], cwd=cwd, env=cli_env(cwd),
                            capture_output=True, text=True, timeout=60)
    assert {i["id"] for i in json.loads(ok(result).stdout)} == set(ids.values())


def test_plain_list_is_a_header_then_one_line_per_item(db, ids, cwd):
    result = ok(inbox("list", "--db", db, cwd=cwd))
    header, *lines = result.stdout.splitlines()
    assert header.split()[:4] == ["ID", "STATUS", "ACTION", "THREAD"]
    assert len(lines) == len(ids)
    for thread_id, interrupt_id in ids.items():
        [line] = [line for line in lines if line.startswith(interrupt_id[:8] + " ")]  # the short id
        assert thread_id in line and " UTC " in line
    [payments] = [line for line in lines if line.startswith(ids["payments-agent-0001"][:8])]
    assert "wire_transfer" in payments and "Wire transfer" in payments
    assert "**" not in result.stdout and "`" not in result.stdout  # Markdown stripped


def test_list_by_status(db, ids, cwd):
    ok(inbox("accept", ids["travel-agent-0001"][:8], "--db", db, cwd=cwd))
    resolved, errors, in_doubt, bad = inbox_many([
        ("list", "--db", db, "--json", "--status", "resolved"), ("list", "--db", db, "--status", "errors"),
        ("list", "--db", db, "--status", "in-doubt"), ("list", "--db", db, "--status", "done")], cwd)
    assert [i["id"] for i in json.loads(ok(resolved).stdout)] == [ids["travel-agent-0001"]]
    assert ok(errors).stderr.strip() == "No failed runs."
    assert ok(in_doubt).stderr.strip() == "No in-doubt tool calls."
    assert bad.returncode == 2 and "invalid choice: 'done'" in bad.stderr


def test_id_prefixes_are_accepted_and_an_ambiguous_one_lists_the_candidates(db, ids, cwd):
    import sqlite3

    full = ids["cleanup-agent-0001"]
    shown = json.loads(ok(inbox("show", full[:6], "--db", db, "--json", cwd=cwd)).stdout)
    assert shown["id"] == full
    # Two ids that share their first six characters (made so here; rare but possible).
    first, second = ids["travel-agent-0001"], ids["email-assistant-0001"]
    with sqlite3.connect(db) as conn:
        for old in (first, second):
            conn.execute("UPDATE interrupts SET id = ? WHERE id = ?", ("abcdef" + old[6:], old))
    result = inbox("show", "abcdef", "--db", db, cwd=cwd)
    fails_cleanly(result, 2, "id prefix 'abcdef' matches 2 interrupts", "abcdef" + first[6:], "abcdef" + second[6:])
    fails_cleanly(inbox("accept", "abc", "--db", db, cwd=cwd), 2, "at least 6 characters")


def test_list_filter_matches_action_args_and_description(db, ids, cwd):
    def listed(*extra):
        return [i["thread_id"] for i in json.loads(ok(inbox("list", "--db", db, "--json", *extra, cwd=cwd)).stdout)]

    flight = record(db, ids["travel-agent-0001"]).payload[0]["action_request"]["args"]
    results = inbox_many([("list", "--db", db, "--json", "--filter", "wire_transfer"),
                          # the departure as stored ("2025-05-18T06:45") is only in the args;
                          # the description prints it with a space
                          ("list", "--db", db, "--json", "--filter", flight["departure"]),
                          ("list", "--db", db, "--json", "--filter", "verify the beneficiary"),
                          ("list", "--db", db, "--json", "--graph", "cluster-planner"),
                          ("list", "--db", db, "--json", "--thread", "deploy-bot-0001"),
                          ("list", "--db", db, "--json", "--limit", "3")], cwd)
    threads = [[i["thread_id"] for i in json.loads(ok(r).stdout)] for r in results]
    assert threads[0] == ["payments-agent-0001"]
    assert threads[1] == ["travel-agent-0001"]
    assert threads[2] == ["payments-agent-0001"]
    assert threads[3] == ["cluster-planner-0001"]
    assert threads[4] == ["deploy-bot-0001"]
    assert len(threads[5]) == 3


def test_list_when_nothing_matches_or_the_database_is_empty(db, cwd):
    empty = cwd / "empty.sqlite"
    with SqliteSaver.from_conn_string(str(empty)):
        pass
    plain, as_json, filtered = inbox_many([("list", "--db", empty), ("list", "--db", empty, "--json"),
                                           ("list", "--db", db, "--filter", "no such thing anywhere")], cwd)
    for result in (plain, filtered):
        assert ok(result).stdout == ""
        assert result.stderr.strip() == "No pending requests."
    assert json.loads(ok(as_json).stdout) == []


def test_show_prints_a_request_for_people_and_exact_json_with_json(db, ids, cwd):
    text = ok(inbox("show", ids["cleanup-agent-0001"], "--db", db, cwd=cwd)).stdout
    assert text.startswith(f"id        {ids['cleanup-agent-0001']}\n")
    assert "action    delete_files" in text and "description:" in text and "arguments of delete_files:" in text
    assert "**" not in text
    item = json.loads(ok(inbox("show", ids["cleanup-agent-0001"], "--db", db, "--json", cwd=cwd)).stdout)
    assert item["id"] == ids["cleanup-agent-0001"]
    assert item["thread_id"] == "cleanup-agent-0001"
    assert item["action"] == "delete_files"
    assert item["allowed"] == ["edit", "response"]
    assert item["args"][0]["host"] and item["args"][0]["paths"]
    assert item["status"] == "pending"


class AnswerState(TypedDict):
    x: Any


def test_a_decision_answered_with_a_set_lists_and_shows_as_json(tmp_path, cwd):
    """LangGraph lets a program resume with any value, sets included: the headless output
    prints a set as a list instead of failing in json.dumps."""
    path = tmp_path / "sets.sqlite"

    def answer_with_a_set():
        from engine.graph import END, START, StateGraph
        from engine.types import Command, interrupt

        def ask(state):
            return {"x": interrupt({"question": "which?"})}

        with SqliteSaver.from_conn_string(path) as saver:
            graph = (StateGraph(AnswerState).add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
                     .compile(checkpointer=saver))
            graph.invoke({"x": 0}, cfg("t"))
            graph.invoke(Command(resume={2, 1}), cfg("t"))

    answer_with_a_set()
    listed = json.loads(ok(inbox("list", "--db", path, "--status", "resolved", "--json", cwd=cwd)).stdout)
    assert listed[0]["response"] == [1, 2]
    shown_json = json.loads(ok(inbox("show", listed[0]["id"], "--db", path, "--json", cwd=cwd)).stdout)
    assert shown_json["response"] == [1, 2]
    assert "which?" in ok(inbox("show", listed[0]["id"], "--db", path, cwd=cwd)).stdout
    assert '"response": [1, 2]' in ok(inbox("audit", "--db", path, cwd=cwd)).stdout


# ---- deciding without --graph: recorded, not applied -------------------------------------------


@pytest.mark.parametrize("thread_id, argv, expected_response", [
    ("travel-agent-0001", ["accept"], [{"type": "accept", "args": None}]),
    ("deploy-bot-0001", ["edit", "--args", "EDITED"], "EDITED"),
    ("payments-agent-0001", ["respond", "IBAN differs from the master data"],
     [{"type": "response", "args": "IBAN differs from the master data"}]),
    ("deploy-bot-0001", ["ignore"], [{"type": "ignore", "args": None}]),
    ("onboarding-form-0001", ["respond", "25"], "25"),
    ("cluster-planner-0001", ["respond", "--json", '{"region": "eu-north-1"}'], {"region": "eu-north-1"}),
    ("ops-triage-0001", ["ignore"], {"decisions": [{"type": "reject", "message": None}] * 3}),
])
def test_a_decision_without_graph_is_recorded_and_not_applied(db, ids, cwd, thread_id, argv, expected_response):
    interrupt_id = ids[thread_id]
    if "EDITED" in argv:
        args = dict(record(db, interrupt_id).payload[0]["action_request"]["args"], version="9.9.9")
        argv = [json.dumps(args) if a == "EDITED" else a for a in argv]
        expected_response = [{"type": "edit", "args": {"action": "deploy_service", "args": args}}]
    verb, *rest = argv
    out = decided(inbox(verb, interrupt_id, *rest, "--db", db, cwd=cwd))
    assert out == {"id": interrupt_id, "thread_id": thread_id, "status": "recorded", "new_interrupts": [],
                   "error": None}

    saved = record(db, interrupt_id)
    assert (saved.status, saved.resolved_by, saved.applied) == ("resolved", REVIEWER, False)
    assert saved.response == expected_response
    assert interrupt_id not in pending_ids(db)
    assert_untouched(db, thread_id, interrupt_id)


def test_by_names_who_decided(db, ids, cwd):
    decided(inbox("accept", ids["sql-agent-0001"], "--db", db, "--by", "dana", cwd=cwd))
    assert record(db, ids["sql-agent-0001"]).resolved_by == "dana"


# ---- deciding with --graph: the run continues in-process ---------------------------------------


def test_accept_with_graph_runs_the_tool_and_shows_the_next_request(db, ids, cwd):
    flight = record(db, ids["travel-agent-0001"]).payload[0]["action_request"]["args"]
    out = decided(inbox("accept", ids["travel-agent-0001"], "--db", db, "--graph", TRAVEL, cwd=cwd))
    assert out["status"] == "interrupted"
    [hotel_id] = out["new_interrupts"]

    snapshot = state(db, "travel-agent-0001")
    [result] = tool_results(snapshot)
    assert result.startswith(f"Booked flight {flight['flight_number']} {flight['origin']}→{flight['destination']} "
                             f"departing {flight['departure']} for {flight['passenger']} ({flight['cabin']},")
    assert [i.id for i in snapshot.interrupts] == [hotel_id]
    hotel = json.loads(ok(inbox("show", hotel_id, "--db", db, "--json", cwd=cwd)).stdout)
    assert (hotel["action"], hotel["status"]) == ("book_hotel", "pending")
    saved = record(db, ids["travel-agent-0001"])
    assert (saved.status, saved.applied) == ("resolved", True)


def test_a_compiled_graph_attribute_works_as_well_as_a_factory(db, ids, cwd):
    out = decided(inbox("accept", ids["travel-agent-0001"], "--db", db,
                        "--graph", "travel-agent=cli_graphs:travel_graph", cwd=cwd))
    assert out["status"] == "interrupted"
    assert tool_results(state(db, "travel-agent-0001"))[0].startswith("Booked flight ")


def test_edit_with_graph_runs_the_tool_with_the_edited_args(db, ids, cwd):
    flight = record(db, ids["travel-agent-0001"]).payload[0]["action_request"]["args"]
    edited = dict(flight, cabin="business", fare_eur=999.5, passenger="Jonas Weber")
    out = decided(inbox("edit", ids["travel-agent-0001"], "--args", json.dumps(edited), "--db", db,
                        "--graph", TRAVEL, cwd=cwd))
    assert out["status"] == "interrupted"
    [result] = tool_results(state(db, "travel-agent-0001"))
    assert f"departing {flight['departure']} for Jonas Weber (business, €999.50)" in result
    assert record(db, ids["travel-agent-0001"]).response == [
        {"type": "edit", "args": {"action": "book_flight", "args": edited}}]


def test_edit_with_graph_deletes_only_the_kept_paths(db, ids, cwd):
    proposed = record(db, ids["cleanup-agent-0001"]).payload[0]["action_request"]["args"]
    kept = dict(proposed, paths=proposed["paths"][:1])
    out = decided(inbox("edit", ids["cleanup-agent-0001"], "--args", json.dumps(kept), "--db", db,
                        "--graph", CLEANUP, cwd=cwd))
    assert out["status"] == "done"
    [result] = tool_results(state(db, "cleanup-agent-0001"))
    assert result.startswith(f"Deleted 1 path(s) on {proposed['host']}")


def test_respond_with_graph_reaches_the_agent_and_the_tool_does_not_run(db, ids, cwd):
    out = decided(inbox("respond", ids["payments-agent-0001"], "IBAN differs from the master data", "--db", db,
                        "--graph", PAYMENTS, cwd=cwd))
    assert out["status"] == "done"
    snapshot = state(db, "payments-agent-0001")
    assert tool_results(snapshot) == ["IBAN differs from the master data"]
    assert snapshot.values["messages"][-1]["content"] == (
        "Understood: wire_transfer was not run. Reviewer: IBAN differs from the master data")


def test_respond_json_sends_structured_answers_to_a_plain_question(db, ids, cwd):
    out = decided(inbox("respond", ids["cluster-planner-0001"], "--json", '{"region": " EU-West-1 "}', "--db", db,
                        "--graph", CLUSTER, cwd=cwd))
    assert out["status"] == "done"
    values = state(db, "cluster-planner-0001").values
    assert values["region"] == "eu-west-1"
    assert f"Cluster {values['cluster_name']} is being created in eu-west-1" in values["result"]
    assert record(db, ids["cluster-planner-0001"]).response == {"region": " EU-West-1 "}


def test_respond_without_json_sends_the_text_as_is(db, ids, cwd):
    decided(inbox("respond", ids["cluster-planner-0001"], '{"region": "eu-west-1"}', "--db", db, cwd=cwd))
    assert record(db, ids["cluster-planner-0001"]).response == '{"region": "eu-west-1"}'


def test_ignore_with_graph_skips_the_tool(db, ids, cwd):
    out = decided(inbox("ignore", ids["deploy-bot-0001"], "--db", db, "--graph", DEPLOY, cwd=cwd))
    assert out["status"] == "done"
    snapshot = state(db, "deploy-bot-0001")
    assert not any(r.startswith("Deploying ") for r in tool_results(snapshot))
    assert "was not run" in snapshot.values["messages"][-1]["content"]


def test_ignore_on_a_multi_action_request_rejects_every_action(db, ids, cwd):
    out = decided(inbox("ignore", ids["ops-triage-0001"], "--db", db, "--graph", TRIAGE, cwd=cwd))
    assert out["status"] == "done"
    assert tool_results(state(db, "ops-triage-0001")) == ["Rejected by the reviewer; not run."] * 3


def test_a_graph_with_another_name_only_records_and_says_so(db, ids, cwd):
    result = inbox("accept", ids["travel-agent-0001"], "--db", db, "--graph", "travel=inbox.demo.travel:build",
                   cwd=cwd)
    assert decided(result)["status"] == "recorded"
    assert "no --graph named 'travel-agent'" in result.stderr
    assert_untouched(db, "travel-agent-0001", ids["travel-agent-0001"])


def test_a_failing_run_exits_1_with_the_error_and_no_traceback(db, ids, cwd):
    result = inbox("accept", ids["flaky-agent-0001"], "--db", db, "--graph", FLAKY, cwd=cwd)
    assert result.returncode == 1, shown(result)
    assert "Traceback" not in result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "error"
    assert out["error"] == "RuntimeError: launch pad pad-39A is on fire"
    # the decision itself is spent: it is not offered again
    assert ids["flaky-agent-0001"] not in pending_ids(db)
    fails_cleanly(inbox("accept", ids["flaky-agent-0001"], "--db", db, cwd=cwd), 3, "already resolved by")


# ---- inbox worker ------------------------------------------------------------------------------


def worker_lines(result: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in ok(result).stdout.splitlines() if line.strip()]


def test_worker_applies_recorded_decisions_exactly_once(db, ids, cwd):
    travel, deploy = ids["travel-agent-0001"], ids["deploy-bot-0001"]
    edited = dict(record(db, deploy).payload[0]["action_request"]["args"], version="9.9.9", strategy="canary")
    decided(inbox("accept", travel, "--db", db, cwd=cwd))
    decided(inbox("edit", deploy, "--args", json.dumps(edited), "--db", db, cwd=cwd))
    assert_untouched(db, "travel-agent-0001", travel)

    # a worker for the travel graph only applies the travel decision, and says why not the other
    only_travel = inbox("worker", "--db", db, "--graph", TRAVEL, "--once", cwd=cwd)
    assert f"cannot continue 1 recorded decision(s) of graph 'deploy-bot' ({deploy[:8]})" in only_travel.stderr
    assert "--graph deploy-bot=module:attr" in only_travel.stderr
    [applied] = worker_lines(only_travel)
    assert applied["thread_id"] == "travel-agent-0001"
    assert (applied["status"], applied["interrupts"]) == ("interrupted", [travel])
    snapshot = state(db, "travel-agent-0001")
    assert len(tool_results(snapshot)) == 1 and tool_results(snapshot)[0].startswith("Booked flight ")
    [hotel] = snapshot.interrupts
    assert record(db, travel).applied is True
    assert record(db, deploy).applied is False
    assert_untouched(db, "deploy-bot-0001", deploy)

    # the next pass (with both graphs) applies the deploy edit and nothing twice
    [applied] = worker_lines(inbox("worker", "--db", db, "--graph", TRAVEL, "--graph", DEPLOY, "--once", cwd=cwd))
    assert (applied["thread_id"], applied["status"]) == ("deploy-bot-0001", "done")
    [result] = tool_results(state(db, "deploy-bot-0001"))
    assert result.startswith(f"Deploying {edited['service']} 9.9.9 to {edited['environment']} "
                             f"({edited['region']}), canary")

    assert worker_lines(inbox("worker", "--db", db, "--graph", TRAVEL, "--graph", DEPLOY, "--once", cwd=cwd)) == []
    snapshot = state(db, "travel-agent-0001")
    assert len(tool_results(snapshot)) == 1
    assert [i.id for i in snapshot.interrupts] == [hotel.id]
    assert len(tool_results(state(db, "deploy-bot-0001"))) == 1
    assert hotel.id in pending_ids(db)


def test_worker_reports_a_failing_run_and_keeps_going(db, ids, cwd):
    decided(inbox("accept", ids["flaky-agent-0001"], "--db", db, cwd=cwd))
    [applied] = worker_lines(inbox("worker", "--db", db, "--graph", FLAKY, "--once", cwd=cwd))
    assert applied["status"] == "error"
    assert "on fire" in applied["error"]


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
@pytest.mark.parametrize("concurrency, where", [(1, "main thread"), (2, "executor thread")])
def test_worker_runs_sync_tools_inline_only_when_it_runs_one_thread_at_a_time(request, tmp_path, cwd, store,
                                                                             concurrency, where):
    # With --concurrency 1 the worker's loop is the engine's alone (engine_owns_loop): a sync
    # tool runs on it, without a hop to an executor thread. With more, runs share the loop, and
    # a slow tool must not hold the others up: it runs in an executor thread.
    from engine.checkpoint.stores import store_for

    db = tmp_path / "where.sqlite" if store == "sqlite" else request.getfixturevalue("pg_url")

    def with_store(use):
        async def go():
            async with store_for(str(db)) as saver:
                return await use(saver)
        return asyncio.run(go())

    async def pause(saver):
        out = await cli_graphs.build_where(saver).ainvoke(cli_graphs.where_input(), cfg("where-agent-0001"))
        return out["__interrupt__"][0].id

    interrupt_id = with_store(pause)
    decided(inbox("accept", interrupt_id, "--db", db, cwd=cwd))
    [applied] = worker_lines(inbox("worker", "--db", db, "--graph", f"{cli_graphs.WHERE}=cli_graphs:build_where",
                                   "--concurrency", concurrency, "--once", cwd=cwd))
    assert applied["status"] == "done"
    snapshot = with_store(lambda saver: cli_graphs.build_where(saver).aget_state(cfg("where-agent-0001")))
    assert tool_results(snapshot) == [where]


# ---- exactly once ------------------------------------------------------------------------------


@pytest.mark.parametrize("graph", [None, PAYMENTS], ids=["recorded", "with-graph"])
def test_two_concurrent_accepts_exactly_one_wins(db, ids, cwd, graph):
    interrupt_id = ids["payments-agent-0001"]
    extra = ["--graph", graph] if graph else []
    procs = {who: subprocess.Popen(command("accept", interrupt_id, "--db", db, "--by", who, *extra), cwd=cwd,
                                   env=cli_env(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in ("alice", "bob")}
    results = {}
    for who, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=60)
        results[who] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    codes = sorted(r.returncode for r in results.values())
    assert codes == [0, 3], "\n".join(shown(r) for r in results.values())

    [winner] = [who for who, r in results.items() if r.returncode == 0]
    [loser] = [who for who, r in results.items() if r.returncode == 3]
    fails_cleanly(results[loser], 3, f"already resolved by {winner}", "nothing was sent")
    assert results[loser].stdout == ""
    assert record(db, interrupt_id).resolved_by == winner
    if graph:
        assert len([r for r in tool_results(state(db, "payments-agent-0001")) if r.startswith("Transfer ")]) == 1
    else:
        assert_untouched(db, "payments-agent-0001", interrupt_id)


def test_deciding_again_later_exits_3_and_changes_nothing(db, ids, cwd):
    interrupt_id = ids["sql-agent-0001"]
    decided(inbox("accept", interrupt_id, "--db", db, "--by", "alice", cwd=cwd))
    before = record(db, interrupt_id)
    for argv in (["accept"], ["respond", "no"]):
        verb, *rest = argv
        fails_cleanly(inbox(verb, interrupt_id, *rest, "--db", db, "--by", "bob", cwd=cwd), 3,
                      "already resolved by alice")
    assert record(db, interrupt_id) == before


# ---- bad input: paths and files ----------------------------------------------------------------

PLACEHOLDER_ID = "0123456789abcdef0123456789abcdef"

EVERY_COMMAND = [
    ("list",),
    ("show", PLACEHOLDER_ID),
    ("accept", PLACEHOLDER_ID),
    ("edit", PLACEHOLDER_ID, "--args", "{}"),
    ("respond", PLACEHOLDER_ID, "no"),
    ("ignore", PLACEHOLDER_ID),
    ("accept", PLACEHOLDER_ID, "--graph", TRAVEL),
    ("worker", "--graph", TRAVEL, "--once"),
    ("open",),  # fails before the TUI starts
]
# The paths that differ in how the database is opened (the decision commands share `list`'s).
SOME_COMMANDS = [("list",), ("accept", PLACEHOLDER_ID, "--graph", TRAVEL), ("worker", "--graph", TRAVEL, "--once"),
                 ("open",)]


def make_bad_path(kind: str, cwd: Path) -> tuple[Path, str]:
    """A --db path of the given bad kind, and a fragment the error line must contain."""
    if kind == "missing":
        return cwd / "nope.sqlite", "no such database"
    if kind == "missing-folder":
        return cwd / "no-folder" / "inbox.sqlite", "no such database"
    if kind == "directory":
        (cwd / "a-folder").mkdir()
        return cwd / "a-folder", "is a directory"
    if kind == "random-bytes":
        path = cwd / "random.bin"
        path.write_bytes(os.urandom(8192))
        return path, "is not a SQLite database"
    if kind == "foreign-sqlite":
        import sqlite3

        path = cwd / "crm.sqlite"
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO customers (name) VALUES ('Ada')")
        connection.commit()
        connection.close()
        return path, "did not create"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, commands", [
    ("random-bytes", EVERY_COMMAND),  # not ours: every command leaves the file as it was
    ("foreign-sqlite", EVERY_COMMAND),
    ("missing", SOME_COMMANDS),
    ("missing-folder", SOME_COMMANDS),
    ("directory", SOME_COMMANDS),
], ids=lambda v: v if isinstance(v, str) else f"{len(v)}-commands")
def test_a_bad_database_path_is_one_clear_line(cwd, kind, commands):
    path, fragment = make_bad_path(kind, cwd)
    before = path.read_bytes() if path.is_file() else None
    listing_before = sorted(p.name for p in cwd.rglob("*"))

    results = inbox_many([(*argv, "--db", path) for argv in commands], cwd)
    for argv, result in zip(commands, results):
        line = fails_cleanly(result, 2)
        assert fragment in line, f"inbox {' '.join(argv)}: {line}"

    if before is not None:
        assert path.read_bytes() == before, "the file was modified"
    assert sorted(p.name for p in cwd.rglob("*")) == listing_before, "files were created"


@pytest.mark.parametrize("kind", ["directory", "random-bytes", "foreign-sqlite"])
def test_demo_refuses_an_existing_path_that_is_not_an_inbox(cwd, kind):
    path, fragment = make_bad_path(kind, cwd)
    before = path.read_bytes() if path.is_file() else None
    fails_cleanly(inbox("demo", "--db", path, cwd=cwd), 2, fragment)
    if before is not None:
        assert path.read_bytes() == before


def test_demo_with_a_bad_thread_count_or_folder_creates_nothing(cwd):
    negative, no_folder = inbox_many([("demo", "--db", cwd / "demo.sqlite", "--threads", "-1"),
                                      ("demo", "--db", cwd / "no-folder" / "demo.sqlite", "--threads", "1")], cwd)
    fails_cleanly(negative, 2, "--threads must be 0 or more")
    assert no_folder.returncode == 2, shown(no_folder)
    assert "Traceback" not in no_folder.stderr
    assert "does not exist" in no_folder.stderr.strip().splitlines()[-1]
    assert list(cwd.iterdir()) == []


def test_a_corrupt_settings_file_is_one_clear_line(db, ids, cwd):
    config = cwd / "config.toml"
    config.write_text("reviewer = \n")
    result = inbox("accept", ids["sql-agent-0001"], "--db", db, cwd=cwd, env=cli_env(cwd, INBOX_CONFIG=str(config)))
    fails_cleanly(result, 2, "is not valid TOML")
    assert ids["sql-agent-0001"] in pending_ids(db)


# ---- bad input: ids and responses --------------------------------------------------------------


def test_an_unknown_interrupt_id_is_one_clear_line(db, cwd):
    cases = [("show", "nope"), ("accept", "nope"), ("edit", "nope", "--args", "{}"), ("respond", "nope", "x"),
             ("ignore", "nope"), ("accept", "nope", "--graph", TRAVEL)]
    for result in inbox_many([(*c, "--db", db) for c in cases], cwd):
        fails_cleanly(result, 2, "no interrupt with id 'nope'", "inbox list")


# (thread, argv, fragment of the one error line)
REFUSED = [
    ("cleanup-agent-0001", ["accept"], "type 'accept' is not allowed"),
    ("payments-agent-0001", ["edit", "--args", "{}"], "type 'edit' is not allowed"),
    ("travel-agent-0001", ["ignore"], "type 'ignore' is not allowed"),
    ("cluster-planner-0001", ["accept"], "is a plain question"),
    ("onboarding-form-0001", ["ignore"], "is a plain question"),
    ("cluster-planner-0001", ["edit", "--args", "{}"], "is a plain question"),
    ("travel-agent-0001", ["edit", "--args", '{"bogus": 1}'], "break the tool's schema"),
    ("travel-agent-0001", ["edit", "--args", "WRONG-TYPE"], "args.flight_number: expected string"),
    ("travel-agent-0001", ["edit", "--args", "{cabin: business}"], "--args is not valid JSON"),
    ("travel-agent-0001", ["edit", "--args", '["economy"]'], "--args must be a JSON object"),
    ("travel-agent-0001", ["edit", "--args", "null"], "--args must be a JSON object"),
    ("cluster-planner-0001", ["respond", "--json", "{region: eu}"], "not valid JSON"),
]


def test_a_refused_response_is_one_clear_line_and_stores_nothing(db, ids, cwd):
    flight = record(db, ids["travel-agent-0001"]).payload[0]["action_request"]["args"]
    wrong_type = json.dumps(dict(flight, flight_number=5))
    cases = [(thread, [wrong_type if a == "WRONG-TYPE" else a for a in argv], fragment)
             for thread, argv, fragment in REFUSED]
    arg_lists = [(argv[0], ids[thread], *argv[1:], "--db", db) for thread, argv, _ in cases]
    for (thread, argv, fragment), result in zip(cases, inbox_many(arg_lists, cwd)):
        line = fails_cleanly(result, 2)
        assert fragment in line, f"inbox {' '.join(argv)} on {thread}: {line}"
        assert result.stdout == ""
    assert pending_ids(db) == set(ids.values())


def test_a_refused_response_with_graph_runs_nothing(db, ids, cwd):
    fails_cleanly(inbox("accept", ids["cleanup-agent-0001"], "--db", db, "--graph", CLEANUP, cwd=cwd), 2,
                  "type 'accept' is not allowed")
    assert_untouched(db, "cleanup-agent-0001", ids["cleanup-agent-0001"])
    assert record(db, ids["cleanup-agent-0001"]).status == "pending"


# ---- bad input: --graph references -------------------------------------------------------------


USER_MODULES = {
    "agents_broken": "RATE = 1 / 0\n",
    "agents_missing_dep": "import not_installed_dependency_xyz\n",
    "agents_syntax": "def graph(:\n",
}

# (--graph value, fragment of the one error line)
BAD_GRAPHS = [
    ("payments", "expected NAME=module:attr"),
    ("payments=inbox.demo.payments", "expected NAME=module:attr"),
    ("=inbox.demo.payments:build", "expected NAME=module:attr"),
    ("payments=:build", "expected NAME=module:attr"),
    ("payments=inbox.demo.payments:", "expected NAME=module:attr"),
    ("payments=no_such_module_xyz:graph", "cannot import module 'no_such_module_xyz'"),
    ("payments=agents_missing_dep:graph", "No module named 'not_installed_dependency_xyz'"),
    ("payments=agents_broken:graph", "importing 'agents_broken' failed: ZeroDivisionError"),
    ("payments=agents_syntax:graph", "importing 'agents_syntax' failed: SyntaxError"),
    ("payments=inbox.demo.payments:no_such_graph", "module 'inbox.demo.payments' has no attribute 'no_such_graph'"),
    ("payments=cli_graphs:NOT_A_GRAPH", "expected a compiled graph or a factory"),
    ("payments=cli_graphs:exploding_factory", "exploding_factory failed: RuntimeError: the agent's config"),
    ("payments=cli_graphs:returns_nothing", "expected a compiled graph or a factory returning one"),
]


@pytest.fixture
def user_modules(cwd) -> Path:
    """The user's own agent modules, found (like in real use) through the working directory."""
    for name, source in USER_MODULES.items():
        (cwd / f"{name}.py").write_text(source)
    return cwd


def test_a_bad_graph_reference_is_one_clear_line(db, ids, cwd, user_modules):
    interrupt_id = ids["payments-agent-0001"]
    arg_lists = [("accept", interrupt_id, "--db", db, "--graph", ref) for ref, _ in BAD_GRAPHS]
    for (ref, fragment), result in zip(BAD_GRAPHS, inbox_many(arg_lists, cwd)):
        line = fails_cleanly(result, 2)
        assert fragment in line, f"inbox accept --graph {ref}: {line}"
    assert_untouched(db, "payments-agent-0001", interrupt_id)
    assert record(db, interrupt_id).status == "pending"


@pytest.mark.parametrize("ref, fragment", [BAD_GRAPHS[0], BAD_GRAPHS[7], BAD_GRAPHS[11]],
                         ids=["malformed", "import-fails", "factory-fails"])
def test_worker_and_open_load_graphs_the_same_way(db, cwd, user_modules, ref, fragment):
    worker, tui = inbox_many([("worker", "--db", db, "--once", "--graph", ref), ("open", "--db", db, "--graph", ref)],
                             cwd)
    fails_cleanly(worker, 2, fragment)
    fails_cleanly(tui, 2, fragment)  # before any screen is drawn


def test_worker_needs_a_graph(db, cwd):
    fails_cleanly(inbox("worker", "--db", db, "--once", cwd=cwd), 2, "needs at least one --graph")


# ---- usage and --debug -------------------------------------------------------------------------


def test_no_command_prints_usage_and_exits_2(cwd):
    result = inbox(cwd=cwd)
    assert result.returncode == 2, shown(result)
    assert "usage: inbox" in result.stdout + result.stderr
    for name in ("demo", "open", "worker", "list", "show", "accept", "edit", "respond", "ignore"):
        assert name in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_argparse_errors_exit_2_without_traceback(db, ids, cwd):
    for result in inbox_many([("edit", ids["travel-agent-0001"], "--db", db),  # --args is required
                              ("list",),  # --db is required
                              ("frobnicate",),
                              ("list", "--db", db, "--limit", "many")], cwd):
        assert result.returncode == 2, shown(result)
        assert "usage: inbox" in result.stderr and "error:" in result.stderr
        assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(db, cwd, user_modules):
    path, _ = make_bad_path("random-bytes", cwd)
    bad_file, user_code = inbox_many([("--debug", "list", "--db", path),
                                      ("--debug", "worker", "--db", db, "--once", "--graph",
                                       "payments=agents_broken:graph")], cwd)
    for result in (bad_file, user_code):
        assert result.returncode == 2, shown(result)
        assert "Traceback (most recent call last)" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("inbox: ")
    assert "StorageError" in bad_file.stderr
    # the user's own failing line is in it, not just the CLI's frames
    assert "agents_broken.py" in user_code.stderr and "ZeroDivisionError" in user_code.stderr


def test_edit_of_a_multi_action_request_is_refused_with_what_to_do(db, ids, cwd):
    result = inbox("edit", "--db", str(db), ids["ops-triage-0001"], "--args", "{}", cwd=cwd)
    fails_cleanly(result, 2, "3 actions", "action by action")
    assert ids["ops-triage-0001"] in pending_ids(db)


def test_debug_is_accepted_after_the_command_too(db, cwd):
    result = inbox("show", "--db", str(db), "0" * 32, "--debug", cwd=cwd)
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_an_empty_database_is_seeded_by_demo_but_a_used_one_is_not(tmp_path, cwd):
    empty = tmp_path / "empty.sqlite"
    SqliteSaver.open(str(empty)).close()
    assert pending_ids(empty) == set()
    from inbox.cli import _is_empty_inbox
    assert _is_empty_inbox(str(empty))
    seed(str(empty), threads=2)
    assert not _is_empty_inbox(str(empty))
