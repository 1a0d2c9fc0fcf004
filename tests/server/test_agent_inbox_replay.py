"""A replay of the Agent Inbox web app's recorded requests
(../shared/reference/agent-inbox-web-requests.json) against `inbox serve`, with the recorded
thread ids replaced by ours, checking the parts of each answer the web app reads."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

RECORDING = Path("/work/shared/reference/agent-inbox-web-requests.json")
pytestmark = pytest.mark.skipif(not RECORDING.exists(), reason="the recorded requests are not on this machine")


def _paused(http, email: str) -> str:
    thread_id = http.post("/threads", json={}).json()["thread_id"]
    http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "input": {"email": email}})
    return thread_id


def _requests_of(thread) -> list:
    """What the web app takes from a listed thread: the request list of its interrupt's value."""
    [items] = thread["interrupts"].values()
    return items[-1]["value"]


def test_replay(server):
    recording = json.loads(RECORDING.read_text())
    calls = [c for c in recording["calls"] if "method" in c]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        accepted = _paused(http, "from the browser probe")
        ignored = _paused(http, "from the browser probe")
        mapping = {recording["thread_id"]: accepted, "01a22987-edf2-73b5-8c6f-b7abed58d620": ignored}
        for call in calls:
            url, body = call["url"], call["post"]
            for theirs, ours in mapping.items():
                url = url.replace(theirs, ours)
            answer = http.request(call["method"], url, content=body.encode() if body else None,
                                  headers=call["headers"])
            assert answer.status_code == call["status"], (call, answer.text)
            if url == "/threads/search":
                listed = answer.json()
                assert int(answer.headers["x-pagination-total"]) >= len(listed)
                for thread in listed:
                    assert thread["status"] == "interrupted" and thread["metadata"]["graph_id"] == "agent"
                    request = _requests_of(thread)[0]
                    assert {"action_request", "config", "description"} <= set(request)
            elif url.endswith("/runs/stream"):
                events = [block for block in answer.text.split("\r\n\r\n") if block]
                assert events[0].startswith("event: metadata\r\n")
                datas = [json.loads(b.split("data: ", 1)[1]) for b in events[1:]]
                nodes = [d["metadata"].get("langgraph_node") for d in datas if d["event"] == "on_chain_start"]
                assert "review" in nodes
                assert datas[-1]["event"] == "on_chain_end"
            elif url.endswith("/runs"):
                assert answer.json()["status"] == "pending"
                http.get(f"{url}/{answer.json()['run_id']}/join")
            elif call["method"] == "GET":
                assert answer.json()["thread_id"] == accepted
        listed = http.post("/threads/search", json={"metadata": {"graph_id": "agent"}, "limit": 10, "offset": 0,
                                                    "status": "interrupted"}).json()
        assert accepted not in [t["thread_id"] for t in listed]  # marked as resolved
        after = http.get(f"/threads/{accepted}").json()
        expected = recording["thread_after"]
        # an accept carrying the unchanged request reaches the graph as a plain accept (README)
        assert after["values"] == {**expected["values"], "decision": [{"type": "accept", "args": None}]}
        assert after["status"] == expected["status"]
        assert after["interrupts"] == expected["interrupts"]
        after_ignore = http.get(f"/threads/{ignored}").json()
        expected = recording["ignored_thread_after"]
        assert after_ignore["status"] == expected["status"] and after_ignore["values"] == expected["values"]
        assert [_requests_of(after_ignore)] == [i[0]["value"] for i in expected["interrupts"].values()]
