"""Responses field by field against the real server's recordings
(../shared/reference/agent-server-responses.json, langgraph-api 0.16.7 with langgraph 1.2.24):
the same keys, value types and headers; ids and times differ, of course."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

REFERENCE = Path("/work/shared/reference/agent-server-responses.json")
pytestmark = pytest.mark.skipif(not REFERENCE.exists(), reason="the reference recordings are not on this machine")


@pytest.fixture(scope="module")
def recorded():
    return json.loads(REFERENCE.read_text())


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as session:
        yield session


def same_shape(ours, theirs, where="body"):
    """Same keys (recursively in dicts) and the same JSON types; values may differ."""
    assert type(ours) is type(theirs) or (ours is None) == (theirs is None) and ours is None, \
        f"{where}: {type(ours).__name__} here, {type(theirs).__name__} on the real server"
    if isinstance(theirs, dict) and where.endswith(".interrupts"):  # keyed by task id
        assert bool(ours) == bool(theirs), f"{where}: {ours} here, {theirs} on the real server"
        if theirs:
            same_shape(next(iter(ours.values())), next(iter(theirs.values())), where + "[task]")
        return
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), f"{where}: keys {sorted(set(ours) ^ set(theirs))} differ"
        for key in theirs:
            if key in ("metadata", "values", "config", "kwargs", "value", "args", "input", "output"):
                continue  # free-form: the graph's own data, or server-specific run metadata
            same_shape(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list) and theirs and ours:
        same_shape(ours[0], theirs[0], f"{where}[0]")


def _agent_paused(http):
    thread = http.post("/threads", json={}).json()
    out = http.post(f"/threads/{thread['thread_id']}/runs/wait",
                    json={"assistant_id": "agent", "input": {"email": "hello bob"}})
    return thread, out.json()


def test_thread_create_and_get(http, recorded):
    thread, paused = _agent_paused(http)
    same_shape(thread, recorded["03_threads_create"])
    same_shape(paused, recorded["04_runs_wait_until_interrupt"])
    fetched = http.get(f"/threads/{thread['thread_id']}").json()
    same_shape(fetched, recorded["07_threads_get"])
    assert fetched["metadata"] == {"graph_id": "agent", "assistant_id": "fe096781-5601-53d2-b2f6-0d3403f7e9ca"}
    assert fetched["status"] == "interrupted"
    [(task_id, [item])] = fetched["interrupts"].items()
    assert item["id"] == paused["__interrupt__"][0]["id"] and set(item) == {"id", "value"}


def test_state_and_history(http, recorded):
    thread, _ = _agent_paused(http)
    state = http.get(f"/threads/{thread['thread_id']}/state").json()
    same_shape(state, recorded["06_threads_get_state"])
    assert state["next"] == ["review"] and state["tasks"][0]["path"] == ["__pregel_pull", "review"]
    history = http.post(f"/threads/{thread['thread_id']}/history", json={"limit": 2}).json()
    assert len(history) == 2
    same_shape(history[0], recorded["07b_threads_history_limit2"][0])
    assert history[0]["checkpoint_id"] == state["checkpoint_id"]
    assert history[1]["checkpoint_id"] == state["parent_checkpoint_id"]
    older = http.post(f"/threads/{thread['thread_id']}/history",
                      json={"limit": 5, "before": {"configurable": {"checkpoint_id": state["checkpoint_id"]}}}).json()
    assert older[0]["checkpoint_id"] == history[1]["checkpoint_id"]


def test_runs_create_get_list_join(http, recorded):
    thread, _ = _agent_paused(http)
    thread_id = thread["thread_id"]
    run = http.post(f"/threads/{thread_id}/runs",
                    json={"assistant_id": "agent", "command": {"resume": [{"type": "accept", "args": None}]}}).json()
    theirs = recorded["09_runs_create_resume (Agent Inbox ignore/non-stream path)"]
    assert set(theirs) - set(run) <= {"langsmith_session_name"}
    assert run["status"] == "pending" and run["multitask_strategy"] == "enqueue"
    joined = http.get(f"/threads/{thread_id}/runs/{run['run_id']}/join").json()
    assert joined["decision"] == [{"type": "accept", "args": None}]
    got = http.get(f"/threads/{thread_id}/runs/{run['run_id']}").json()
    assert got["status"] == "success" and got["run_id"] == run["run_id"]
    listed = http.get(f"/threads/{thread_id}/runs").json()
    assert [r["run_id"] for r in listed][0] == run["run_id"] and len(listed) == 2


def test_search_paging_headers_and_filters(http, recorded):
    ids = [_agent_paused(http)[0]["thread_id"] for _ in range(3)]
    page = http.post("/threads/search", json={"status": "interrupted", "limit": 2, "offset": 0,
                                              "metadata": {"graph_id": "agent"}})
    assert page.status_code == 200
    total = int(page.headers["x-pagination-total"])
    assert total >= 3 and len(page.json()) == 2 and page.headers["x-pagination-next"] == "2"
    same_shape(page.json()[0], recorded["05_threads_search_interrupted"][0])
    assert all(t["status"] == "interrupted" and t["metadata"]["graph_id"] == "agent" for t in page.json())
    by_id = http.post("/threads/search", json={"ids": ids[:2]}).json()
    assert sorted(t["thread_id"] for t in by_id) == sorted(ids[:2])
    oldest_first = http.post("/threads/search", json={"ids": ids, "sort_by": "created_at", "sort_order": "asc"}).json()
    assert [t["thread_id"] for t in oldest_first] == ids
    none = http.post("/threads/search", json={"metadata": {"graph_id": "nope"}})
    assert none.json() == [] and none.headers["x-pagination-total"] == "0"
    nested = http.post("/threads/search", json={"metadata": {"graph_id": "agent", "tags": ["x"]}})
    assert nested.json() == []
    tagged = http.post("/threads", json={"metadata": {"owner": {"team": "ops", "who": "dana"}, "n": 2}}).json()
    assert [t["thread_id"] for t in http.post("/threads/search", json={
        "metadata": {"owner": {"team": "ops"}, "n": 2}}).json()] == [tagged["thread_id"]]


def test_thread_create_with_id_and_if_exists(http):
    made = http.post("/threads", json={"thread_id": "my-thread-1", "metadata": {"a": 1}})
    assert made.status_code == 200 and made.json()["thread_id"] == "my-thread-1"
    again = http.post("/threads", json={"thread_id": "my-thread-1"})
    assert again.status_code == 409 and "if_exists" in again.json()["detail"]
    kept = http.post("/threads", json={"thread_id": "my-thread-1", "if_exists": "do_nothing"})
    assert kept.status_code == 200 and kept.json()["metadata"] == {"a": 1}


def test_update_state_as_end_and_at_checkpoint(http, recorded):
    thread, _ = _agent_paused(http)
    thread_id = thread["thread_id"]
    state = http.get(f"/threads/{thread_id}/state").json()
    resolved = http.post(f"/threads/{thread_id}/state", json={"values": None, "as_node": "__end__"})
    assert resolved.status_code == 200
    same_shape(resolved.json(), recorded["16_update_state_as_END"])
    after = http.get(f"/threads/{thread_id}").json()
    assert after["status"] == "idle" and after["interrupts"] == {}
    assert http.get(f"/threads/{thread_id}/state").json()["next"] == []
    # an update at an older checkpoint forks from there
    forked = http.post(f"/threads/{thread_id}/state", json={"values": {"email": "forked"},
                                                            "checkpoint_id": state["checkpoint_id"]})
    assert forked.status_code == 200
    assert http.get(f"/threads/{thread_id}/state").json()["values"]["email"] == "forked"
    bad = http.post(f"/threads/{thread_id}/state", json={"values": {}, "as_node": "nope"})
    assert bad.status_code == 422 and "nope" in bad.json()["detail"]


def test_sse_stream_text(http, recorded):
    thread_id = http.post("/threads", json={}).json()["thread_id"]
    theirs = recorded["11_raw_sse_stream_updates"]
    answer = http.post(f"/threads/{thread_id}/runs/stream", json={**theirs["request"]["json"]})
    assert answer.headers["content-type"] == theirs["headers"]["content-type"]
    assert answer.headers["location"].endswith("/stream") and "content-location" in answer.headers

    def events(text):
        return [block.split("\r\n")[0] for block in text.split("\r\n\r\n") if block]
    assert events(answer.text) == events(theirs["sse_text"])
    blocks = [b for b in answer.text.split("\r\n\r\n") if b]
    for ours, real in zip(blocks, [b for b in theirs["sse_text"].split("\r\n\r\n") if b]):
        ours_data, real_data = json.loads(ours.split("data: ", 1)[1]), json.loads(real.split("data: ", 1)[1])
        if isinstance(ours_data, dict) and isinstance(real_data, dict):
            # A reducer channel no node wrote yet is [] in the state (LangGraph's
            # BinaryOperatorAggregate starts from list()): langgraph-api 0.16.7 / langgraph 1.2.24
            # run here on this graph streams {"email": "sse", "log": []} first. The recording's
            # graph evidently declared `log` differently (its history at step 0 lacks it too).
            ours_data = {k: v for k, v in ours_data.items() if k in real_data or v != []}
        same_shape(ours_data, real_data, ours[:20])


def test_ok_info_assistants_cors(http, recorded):
    assert http.get("/ok").json() == recorded["01b_ok"]["body"]
    info = http.get("/info").json()
    assert info["version"] and isinstance(info["flags"], dict)
    found = http.post("/assistants/search", json={"limit": 10, "offset": 0}).json()
    agent = next(a for a in found if a["graph_id"] == "agent")
    same_shape(agent, recorded["02_assistants_search"][0])
    assert agent["assistant_id"] == "fe096781-5601-53d2-b2f6-0d3403f7e9ca"  # uuid5, as the real server
    preflight = recorded["17b_cors_preflight"]
    answer = http.options("/threads/search", headers=preflight["request"]["headers"])
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] in ("*", "http://localhost:3000")
    assert answer.headers["access-control-allow-headers"].replace(" ", "").lower() == "content-type,x-api-key"
    simple = http.post("/threads/search", json={"limit": 1}, headers={"Origin": "http://localhost:3000"})
    exposed = simple.headers["access-control-expose-headers"].lower()
    assert "x-pagination-total" in exposed and "content-location" in exposed


async def test_assistant_uuid_runs_the_graph(client):
    thread_id = (await client.threads.create())["thread_id"]
    out = await client.runs.wait(thread_id, "c3c89639-b7cc-50ba-a564-690955c13c3e", input={"some_text": "t"})
    assert out["__interrupt__"][0]["value"] == {"text_to_revise": "t"}
