"""Where `inbox serve` is safer than LangGraph's server, and every bad input's answer: a
status and a `detail` that says what is wrong."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from serving import Server

ACCEPT = [{"type": "accept", "args": None}]
IGNORE = [{"type": "ignore", "args": None}]


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as session:
        yield session


def _thread(http) -> str:
    return http.post("/threads", json={}).json()["thread_id"]


def _paused(http, email="race", delay=None) -> tuple[str, str]:
    thread_id = _thread(http)
    body = {"email": email, **({"delay": delay} if delay else {})}
    out = http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "input": body}).json()
    return thread_id, out["__interrupt__"][0]["id"]


def test_two_concurrent_resumes_of_one_interrupt_one_wins(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        thread_id, interrupt_id = _paused(http, delay=0.5)  # review sleeps 0.5 s after its answer

    async def race():
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as session:
            return await asyncio.gather(*(
                session.post(f"/threads/{thread_id}/runs/wait",
                             json={"assistant_id": "agent", "command": {"resume": answer}})
                for answer in (ACCEPT, IGNORE)))

    answers = asyncio.run(race())
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    won = next(a for a in answers if a.status_code == 200).json()
    lost = next(a for a in answers if a.status_code == 409).json()["detail"]
    assert lost["interrupt_id"] == interrupt_id and lost["decided_by"] == "api" and lost["decided_at"]
    assert "already resolved" in lost["message"]
    # the loser's answer did not land on the next interrupt
    with httpx.Client(base_url=server.url) as http:
        thread = http.get(f"/threads/{thread_id}").json()
    assert thread["status"] == "interrupted" and "decision2" not in thread["values"]
    assert won["__interrupt__"][0]["value"][0]["action_request"]["action"] == "confirm_send"


def test_a_stream_racing_a_wait_for_one_interrupt_gets_a_status_not_a_stream(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        thread_id, interrupt_id = _paused(http, delay=0.5)

    async def race():
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as session:
            return await asyncio.gather(
                session.post(f"/threads/{thread_id}/runs/wait",
                             json={"assistant_id": "agent", "command": {"resume": ACCEPT}}),
                session.post(f"/threads/{thread_id}/runs/stream",
                             json={"assistant_id": "agent", "command": {"resume": IGNORE}, "stream_mode": "events"}))

    answers = asyncio.run(race())
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text[:200] for a in answers]
    lost = next(a for a in answers if a.status_code == 409)
    assert lost.headers["content-type"] == "application/json"
    assert lost.json()["detail"]["interrupt_id"] == interrupt_id


def test_a_late_resume_of_a_decided_interrupt_is_409(http):
    thread_id, interrupt_id = _paused(http)
    assert http.post(f"/threads/{thread_id}/runs/wait",
                     json={"assistant_id": "agent", "command": {"resume": {interrupt_id: ACCEPT}}}).status_code == 200
    late = http.post(f"/threads/{thread_id}/runs/wait",
                     json={"assistant_id": "agent", "command": {"resume": {interrupt_id: IGNORE}}})
    assert late.status_code == 409 and late.json()["detail"]["interrupt_id"] == interrupt_id


def _decided_at(server, interrupt_id: str) -> str:
    from engine.checkpoint.stores import open_store

    store = open_store(str(server.db))
    try:
        return store.get_interrupt(interrupt_id).resolved_at
    finally:
        store.close()


def _claimed_by_a_keyless_run_elsewhere(store, thread_id, interrupt_id):
    """What another replica's run for a reviewer without an API key commits first: its claim."""
    async def claim():
        async with store.transaction():
            await store.aclaim_answers(thread_id, "agent", {interrupt_id: ACCEPT}, by=None, token="another-run")
    return claim()


@pytest.mark.parametrize("decide, winner", [
    (lambda store, thread_id, interrupt_id: store.aresolve(interrupt_id, ACCEPT, by="dana"), "dana"),
    (_claimed_by_a_keyless_run_elsewhere, "api"),
], ids=["inbox-accept", "keyless-run"])
def test_a_resume_equal_to_a_decision_another_process_made_first_is_409_and_applied_once(server, http, decide,
                                                                                          winner):
    """The same answer is recorded in another process (Dana's `inbox accept`; another replica's
    run for a reviewer without an API key, "api" as this one is) after this request was accepted
    and before its run claims it. The engine takes an equal answer as the decision claimed (how a
    recovery applies one), so the run applies that decision, once; the request lost the race all
    the same, and is told who won and when, as when answers differ: whose a decision is, is its
    claim's token (the run id), not the reviewer's name."""
    from engine._internal.sync import run_sync
    from engine.checkpoint.stores import open_store
    from engine.runtime.ownership import new_owner

    thread_id, interrupt_id = _paused(http)
    store, owner = open_store(str(server.db)), new_owner()
    try:
        run_sync(store.alease_acquire(thread_id, owner, 30))  # another process runs the thread now
        answers = []
        poster = threading.Thread(target=lambda: answers.append(http.post(
            f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "command": {"resume": ACCEPT}})))
        poster.start()
        deadline = time.monotonic() + 20
        while "running" not in [r["status"] for r in http.get(f"/threads/{thread_id}/runs").json()]:
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        run_sync(decide(store, thread_id, interrupt_id))  # the run waits for the lease meanwhile
        run_sync(store.alease_release(thread_id, owner))
        poster.join(30)
        record = store.get_interrupt(interrupt_id)
    finally:
        store.close()
    (answer,) = answers
    assert answer.status_code == 409, answer.text
    lost = answer.json()["detail"]
    assert (lost["decided_by"], lost["decided_at"], lost["interrupt_id"]) == (winner, record.resolved_at, interrupt_id)
    assert (record.resolved_by, record.applied) == (winner, True)
    values = http.get(f"/threads/{thread_id}").json()["values"]
    assert values["decision"] == ACCEPT and values["log"].count("reviewed") == 1


def test_two_keyless_reviewers_sending_the_same_answer_at_once_one_is_told_it_lost(server):
    """Both without an API key ("api"), both accepting: one 200, one 409 naming the winner and
    when; the decision is applied once."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        thread_id, interrupt_id = _paused(http, delay=0.5)

    async def race():
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as session:
            return await asyncio.gather(*(
                session.post(f"/threads/{thread_id}/runs/wait",
                             json={"assistant_id": "agent", "command": {"resume": ACCEPT}}) for _ in range(2)))

    answers = asyncio.run(race())
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text[:200] for a in answers]
    lost = next(a for a in answers if a.status_code == 409).json()["detail"]
    with httpx.Client(base_url=server.url) as http:
        thread = http.get(f"/threads/{thread_id}").json()
    assert (lost["interrupt_id"], lost["decided_by"], lost["decided_at"]) == (interrupt_id, "api", _decided_at(
        server, interrupt_id))
    assert thread["values"]["decision"] == ACCEPT and thread["values"]["log"].count("reviewed") == 1
    assert "decision2" not in thread["values"]


def test_resume_map_naming_ids_not_pending_is_422(http):
    thread_id, interrupt_id = _paused(http)
    answer = http.post(f"/threads/{thread_id}/runs/wait",
                       json={"assistant_id": "agent", "command": {"resume": {"0" * 32: ACCEPT}}})
    assert answer.status_code == 422
    assert "0" * 32 in answer.json()["detail"] and interrupt_id in answer.json()["detail"]


def test_resume_with_nothing_pending_is_422(http):
    thread_id = _thread(http)
    http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "static", "input": {"some_text": "s"}})
    answer = http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "static", "command": {"resume": 1}})
    assert answer.status_code == 422 and "no pending interrupt" in answer.json()["detail"]


def test_bare_resume_after_the_last_request_was_decided_is_409(http):
    """A reviewer whose bare answer arrives after another's finished the thread lost a race:
    409 naming the winner, not 422 "nothing pending"."""
    thread_id = _thread(http)
    paused = http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "text", "input": {"some_text": "a"}})
    interrupt_id = paused.json()["__interrupt__"][0]["id"]
    first = http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "text", "command": {"resume": "b"}})
    assert first.status_code == 200 and first.json()["some_text"] == "b", first.text
    late = http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "text", "command": {"resume": "c"}})
    assert late.status_code == 409, late.text
    assert late.json()["detail"]["interrupt_id"] == interrupt_id and late.json()["detail"]["decided_by"]
    assert http.get(f"/threads/{thread_id}").json()["values"]["some_text"] == "b"


def test_bare_resume_at_a_breakpoint_after_a_decided_request_is_still_422(http):
    """The 409 above is for a thread that waits for nothing: one paused at a breakpoint after an
    earlier request was decided waits for `input: null`, and says so (422), not who decided."""
    thread_id = _thread(http)
    run = {"assistant_id": "text"}
    first = http.post(f"/threads/{thread_id}/runs/wait", json={**run, "input": {"some_text": "a"}})
    assert first.json()["__interrupt__"], first.text
    assert http.post(f"/threads/{thread_id}/runs/wait", json={**run, "command": {"resume": "b"}}).status_code == 200
    paused = http.post(f"/threads/{thread_id}/runs/wait",
                       json={**run, "input": {"some_text": "c"}, "interrupt_before": ["human_node"]})
    assert paused.status_code == 200 and "__interrupt__" not in paused.json(), paused.text
    late = http.post(f"/threads/{thread_id}/runs/wait", json={**run, "command": {"resume": "d"}})
    assert late.status_code == 422 and "breakpoint before human_node" in late.json()["detail"], late.text


@pytest.mark.parametrize("key", ["decided_by", "claim_token"])
def test_who_decides_and_whose_claim_it_is_cannot_be_set_in_config_422(http, key):
    thread_id, _ = _paused(http)
    answer = http.post(f"/threads/{thread_id}/runs/wait", json={
        "assistant_id": "agent", "command": {"resume": ACCEPT}, "config": {"configurable": {key: "someone"}}})
    assert answer.status_code == 422 and key in answer.json()["detail"], answer.text
    assert http.get(f"/threads/{thread_id}").json()["status"] == "interrupted"  # nothing was run


def test_input_and_command_together_is_422(http):
    thread_id, _ = _paused(http)
    answer = http.post(f"/threads/{thread_id}/runs/wait",
                       json={"assistant_id": "agent", "input": {"email": "x"}, "command": {"resume": ACCEPT}})
    assert answer.status_code == 422 and "both" in answer.json()["detail"]


def test_multitask_strategies(http):
    thread_id, _ = _paused(http, delay=1.0)
    started = http.post(f"/threads/{thread_id}/runs", json={"assistant_id": "agent", "command": {"resume": ACCEPT}})
    assert started.status_code == 200 and started.json()["status"] == "pending"
    rejected = http.post(f"/threads/{thread_id}/runs/wait", json={
        "assistant_id": "agent", "command": {"resume": IGNORE}, "multitask_strategy": "reject"})
    assert rejected.status_code == 409 and "already running" in rejected.json()["detail"]
    other = http.post(f"/threads/{thread_id}/runs", json={
        "assistant_id": "agent", "input": {"email": "x"}, "multitask_strategy": "interrupt"})
    assert other.status_code == 422
    assert "'interrupt'" in other.json()["detail"] and "'enqueue'" in other.json()["detail"]
    # enqueue (the default) waits for the run in flight, then runs
    run_id = started.json()["run_id"]
    assert http.get(f"/threads/{thread_id}/runs/{run_id}/join").json()["decision"] == ACCEPT
    queued = http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "command": {"resume": IGNORE}})
    assert queued.status_code == 200 and queued.json()["decision2"] == IGNORE


def test_unknown_thread_is_404(http):
    for answer in (http.get("/threads/00000000-0000-0000-0000-000000000000"),
                   http.post("/threads/00000000-0000-0000-0000-000000000000/runs/wait",
                             json={"assistant_id": "text", "input": {"some_text": "x"}}),
                   http.get("/threads/nope/state")):
        assert answer.status_code == 404 and "not found" in answer.json()["detail"]


def test_unknown_assistant_is_422(http):
    answer = http.post(f"/threads/{_thread(http)}/runs/wait", json={"assistant_id": "nope", "input": {}})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("Invalid assistant: 'nope'. Must be either:")
    assert "text, agent" in answer.json()["detail"]


def test_malformed_json_is_422(http):
    answer = http.post("/threads/search", content=b'{"limit": 1', headers={"content-type": "application/json"})
    assert answer.status_code == 422 and "not valid JSON" in answer.json()["detail"]


def test_unsupported_fields_are_named(http):
    answer = http.post(f"/threads/{_thread(http)}/runs/wait",
                       json={"assistant_id": "text", "input": {"some_text": "x"}, "webhook": "http://x"})
    assert answer.status_code == 422 and "webhook" in answer.json()["detail"]
    bad_mode = http.post(f"/threads/{_thread(http)}/runs/stream",
                         json={"assistant_id": "text", "input": {"some_text": "x"}, "stream_mode": "nonsense"})
    assert bad_mode.status_code == 422 and "nonsense" in bad_mode.json()["detail"]
    bad_limit = http.post("/threads/search", json={"limit": 0})
    assert bad_limit.status_code == 422 and "limit" in bad_limit.json()["detail"]


def test_body_over_the_limit_is_413(http):
    answer = http.post("/threads", content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
                       headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "limit" in answer.json()["detail"]


def test_a_graph_error_is_200_with___error__(http, client):
    thread_id = _thread(http)
    answer = http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "failing", "input": {"some_text": "x"}})
    assert answer.status_code == 200
    assert answer.json() == {"__error__": {"error": "RuntimeError", "message": "cannot revise 'x'"}}
    assert http.get(f"/threads/{thread_id}").json()["status"] == "error"
    stream = http.post(f"/threads/{thread_id}/runs/stream", json={"assistant_id": "failing", "input": None})
    assert "event: error\r\ndata: {\"error\":\"RuntimeError\"" in stream.text


def test_a_server_without_keys_ignores_an_unexpected_key(http):
    assert http.get("/ok", headers={"x-api-key": "bogus"}).status_code == 200
    assert http.post("/threads/search", json={}, headers={"x-api-key": "bogus"}).status_code == 200


def test_named_keys_401_403_and_decisions_recorded_by_name(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("# reviewers\nerin=erin-key-0123456789\n")
    srv = Server(tmp_path / "keys.sqlite", "--api-key", "dana=dana-key-0123456789", "--api-keys-file", str(keys),
                 env={"INBOX_API_KEYS": "frank=frank-key-0123456789"}, graphs=["agent"]).start()
    try:
        with httpx.Client(base_url=srv.url) as anonymous:
            missing = anonymous.post("/threads", json={})
            assert missing.status_code == 401 and "x-api-key" in missing.json()["detail"]
            wrong = anonymous.post("/threads", json={}, headers={"x-api-key": "wrong-key-0123456789"})
            assert wrong.status_code == 403 and "wrong-key" not in wrong.text
            preflight = anonymous.options("/threads/search", headers={
                "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-api-key"})
            assert preflight.status_code == 200
        with httpx.Client(base_url=srv.url, headers={"x-api-key": "dana-key-0123456789"}) as dana:
            thread_id, interrupt_id = _paused(dana)
            assert dana.post(f"/threads/{thread_id}/runs/wait",
                             json={"assistant_id": "agent", "command": {"resume": ACCEPT}}).status_code == 200
        with httpx.Client(base_url=srv.url, headers={"x-api-key": "erin-key-0123456789"}) as erin:
            late = erin.post(f"/threads/{thread_id}/runs/wait",
                             json={"assistant_id": "agent", "command": {"resume": {interrupt_id: IGNORE}}})
            assert late.status_code == 409 and late.json()["detail"]["decided_by"] == "dana"
        with httpx.Client(base_url=srv.url, headers={"x-api-key": "frank-key-0123456789"}) as frank:
            assert frank.get(f"/threads/{thread_id}").status_code == 200
    finally:
        srv.stop()
    log = srv.log.read_text()
    assert "dana-key" not in log and "erin-key" not in log and "frank-key" not in log
    from engine.checkpoint.sqlite import SqliteSaver
    with SqliteSaver.from_conn_string(str(tmp_path / "keys.sqlite")) as saver:
        assert saver.get_interrupt(interrupt_id).resolved_by == "dana"


def test_a_public_address_without_a_key_is_refused(tmp_path):
    import subprocess
    import sys

    from serving import HERE, REPO
    env = {"PYTHONPATH": f"{REPO}:{HERE}", "PATH": "/usr/bin:/bin", "INBOX_API_KEYS": ""}
    done = subprocess.run([sys.executable, "-m", "inbox.cli", "serve", "--db", str(tmp_path / "x.sqlite"),
                           "--graph", "text=server_graphs:text", "--host", "0.0.0.0"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--insecure" in done.stderr and "API key" in done.stderr
