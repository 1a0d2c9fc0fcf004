"""The `/inbox/events` extension: the engine's typed events as server-sent events."""

from __future__ import annotations

import json
import threading

import httpx


def test_events_follow_a_run(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        thread_id = http.post("/threads", json={}).json()["thread_id"]
        seen: list[dict] = []
        ready = threading.Event()

        def follow():
            with httpx.stream("GET", f"{server.url}/inbox/events?since=0", timeout=30) as answer:
                assert answer.headers["content-type"].startswith("text/event-stream")
                ready.set()
                block: dict = {}
                for line in answer.iter_lines():
                    if line.startswith("id: "):
                        block["id"] = int(line[4:])
                    elif line.startswith("event: "):
                        block["event"] = line[7:]
                    elif line.startswith("data: "):
                        block["data"] = json.loads(line[6:])
                    elif not line and block:
                        seen.append(block)
                        block = {}
                        if seen[-1]["event"] == "run_finished" and seen[-1]["data"]["thread_id"] == thread_id:
                            return

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        ready.wait(10)
        paused = http.post(f"/threads/{thread_id}/runs/wait", json={"assistant_id": "agent", "input": {"email": "e"}})
        reader.join(15)
    mine = [e for e in seen if e["data"]["thread_id"] == thread_id]
    assert [e["event"] for e in mine] == ["run_started", "interrupt_raised", "run_finished"]
    assert mine[1]["data"]["interrupt_id"] == paused.json()["__interrupt__"][0]["id"]
    assert [e["id"] for e in seen] == sorted(e["id"] for e in seen)
    with httpx.Client(base_url=server.url) as http:
        last = seen[-1]["id"]
        with http.stream("GET", f"/inbox/events?since={last}", timeout=1.0) as answer:
            assert answer.status_code == 200
        bad = http.get("/inbox/events?since=x")
        assert bad.status_code == 422 and "since" in bad.json()["detail"]
