"""A server killed (kill -9) in the middle of a background run, and restarted: the run is
continued once. Side effects are counted in a file the graph's nodes append to."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from serving import Server


def _wait_for(predicate, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_kill_9_mid_run_then_restart_continues_once(tmp_path, request, store):
    effects = tmp_path / "effects.txt"
    db = tmp_path / "inbox.sqlite" if store == "sqlite" else request.getfixturevalue("pg_url")
    log = tmp_path / "serve.log"
    first = Server(db, graphs=["slow"], log=log).start()
    try:
        with httpx.Client(base_url=first.url, timeout=30) as http:
            thread_id = http.post("/threads", json={}).json()["thread_id"]
            run = http.post(f"/threads/{thread_id}/runs",
                            json={"assistant_id": "slow", "input": {"path": str(effects)}}).json()
        # the client is gone; the run goes on: "wait" starts (and sleeps 3 s) ...
        _wait_for(lambda: effects.exists() and "wait" in effects.read_text(), what="the wait node to start")
    finally:
        first.kill9()  # ... and the server dies under it
    assert Counter(effects.read_text().split()) == {"first": 1, "wait": 1}

    second = Server(db, graphs=["slow"], log=log).start()
    try:
        with httpx.Client(base_url=second.url, timeout=30) as http:
            _wait_for(lambda: http.get(f"/threads/{thread_id}").json()["status"] == "idle", what="the run to finish")
            values = http.get(f"/threads/{thread_id}").json()["values"]
            assert values["done"] == ["first", "wait", "last"]
            assert http.get(f"/threads/{thread_id}/runs/{run['run_id']}/join").json()["done"] == values["done"]
            assert http.get(f"/threads/{thread_id}/runs/{run['run_id']}").json()["status"] == "success"
    finally:
        second.stop()
    # "first" and "last" ran once; "wait" was running when the server died, and plain nodes
    # re-run from their start after a crash (as in LangGraph; README "Exactly once")
    assert Counter(effects.read_text().split()) == {"first": 1, "wait": 2, "last": 1}

    third = Server(db, graphs=["slow"], log=log).start()  # a third start finds nothing left to do
    try:
        time.sleep(0.5)
    finally:
        third.stop()
    assert Counter(effects.read_text().split()) == {"first": 1, "wait": 2, "last": 1}


def test_a_background_run_survives_its_client(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        thread_id = http.post("/threads", json={}).json()["thread_id"]
        http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent",
                                                            "input": {"email": "bye", "delay": 3.0}})
    # a waiting client that hangs up (long after its request was accepted, even on a loaded
    # machine, and before the review's 3 s are over): the resume still completes
    try:
        httpx.post(f"{server.url}/threads/{thread_id}/runs/wait", timeout=1.5,
                   json={"assistant_id": "agent", "command": {"resume": [{"type": "accept", "args": None}]}})
    except httpx.TimeoutException:
        pass
    with httpx.Client(base_url=server.url, timeout=30) as http:
        def paused_again():  # the review's step committed, then the run paused at the second review
            thread = http.get(f"/threads/{thread_id}").json()
            return "decision" in (thread["values"] or {}) and thread["status"] != "busy"
        _wait_for(paused_again, what="the resumed run to finish")
        thread = http.get(f"/threads/{thread_id}").json()
        assert thread["status"] == "interrupted" and thread["values"]["decision"] == [{"type": "accept", "args": None}]
        assert thread["interrupts"]  # at the second review
