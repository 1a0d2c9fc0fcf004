"""The seed documents' SDK and cURL flows against `inbox serve`, as written: create a thread,
run to the interrupt, resume, final values; run-time breakpoints; parallel interrupts resumed
by an id map; a HumanInterrupt accepted, edited, responded to and ignored."""

from __future__ import annotations

import httpx
from langgraph_sdk.schema import Command

EMAIL_ARGS = {"to": "bob@example.com", "body": "hello bob"}


async def test_seed_000_sdk_flow(client):
    assistant_id = "text"
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    result = await client.runs.wait(thread_id, assistant_id, input={"some_text": "original text"})
    [pending] = result["__interrupt__"]
    assert pending["value"] == {"text_to_revise": "original text"}
    assert set(pending) == {"value", "id", "response_schema"} and pending["response_schema"] is None
    assert await client.runs.wait(thread_id, assistant_id, command=Command(resume="Edited text")) == \
        {"some_text": "Edited text"}


def test_seed_000_curl_flow(server):
    # the seed's three cURL commands, byte for byte the same bodies
    with httpx.Client(base_url=server.url) as http:
        thread = http.post("/threads", headers={"Content-Type": "application/json"}, content="{}").json()
        thread_id = thread["thread_id"]
        first = http.post(f"/threads/{thread_id}/runs/wait", headers={"Content-Type": "application/json"},
                          content='{\n  "assistant_id": "text",\n  "input": {"some_text": "original text"}\n}')
        assert first.status_code == 200
        assert first.json()["__interrupt__"][0]["value"] == {"text_to_revise": "original text"}
        assert first.headers["location"].startswith(f"/threads/{thread_id}/runs/")
        resumed = http.post(f"/threads/{thread_id}/runs/wait", headers={"Content-Type": "application/json"},
                            content='{\n   "assistant_id": "text",\n   "command": {\n     "resume": "Edited text"\n   }\n }')
        assert resumed.status_code == 200 and resumed.json() == {"some_text": "Edited text"}


async def test_seed_004_run_time_breakpoints(client):
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "static", input={"some_text": "s"},
                                    interrupt_before=["node_a"], interrupt_after=["node_b", "node_c"])
    assert paused == {"some_text": "s"}  # a breakpoint: no __interrupt__
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted" and thread["interrupts"] == {}
    assert (await client.threads.get_state(thread_id))["next"] == ["node_a"]
    # the breakpoints applied to that one run: input None continues to the end
    assert await client.runs.wait(thread_id, "static", input=None) == {"some_text": "s|a|b|c"}
    assert (await client.threads.get(thread_id))["status"] == "idle"


async def test_seed_004_breakpoints_each_run(client):
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "static", input={"some_text": "s"}, interrupt_after=["node_a"])
    assert (await client.threads.get_state(thread_id))["next"] == ["node_b"]
    assert await client.runs.wait(thread_id, "static", input=None, interrupt_before=["node_c"]) == {"some_text": "s|a|b"}
    assert (await client.threads.get_state(thread_id))["next"] == ["node_c"]
    assert await client.runs.wait(thread_id, "static", input=None) == {"some_text": "s|a|b|c"}


async def test_parallel_interrupts_resumed_by_id_map(client):
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "parallel", input={})
    by_question = {i["value"]["question"]: i["id"] for i in paused["__interrupt__"]}
    assert set(by_question) == {"a", "b"}
    thread = await client.threads.get(thread_id)
    assert sorted(i["id"] for items in thread["interrupts"].values() for i in items) == sorted(by_question.values())
    done = await client.runs.wait(thread_id, "parallel",
                                  command=Command(resume={by_question["a"]: "yes", by_question["b"]: "no"}))
    assert sorted(done["answers"]) == ["a=yes", "b=no"]


async def _to_review(client, email="hello bob"):
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "agent", input={"email": email})
    assert paused["__interrupt__"][0]["value"][0]["action_request"]["action"] == "send_email"
    return thread_id


async def test_human_interrupt_accepted(client):
    thread_id = await _to_review(client)
    out = await client.runs.wait(thread_id, "agent", command=Command(resume=[{"type": "accept", "args": None}]))
    assert out["decision"] == [{"type": "accept", "args": None}]
    assert out["__interrupt__"][0]["value"][0]["action_request"]["action"] == "confirm_send"


async def test_human_interrupt_edited(client):
    thread_id = await _to_review(client)
    edited = {"type": "edit", "args": {"action": "send_email", "args": {**EMAIL_ARGS, "body": "edited"}}}
    out = await client.runs.wait(thread_id, "agent", command=Command(resume=[edited]))
    assert out["decision"] == [edited]


async def test_human_interrupt_responded(client):
    thread_id = await _to_review(client)
    out = await client.runs.wait(thread_id, "agent", command=Command(resume=[{"type": "response", "args": "not now"}]))
    assert out["decision"] == [{"type": "response", "args": "not now"}]


async def test_human_interrupt_ignored_then_finished(client):
    thread_id = await _to_review(client)
    out = await client.runs.wait(thread_id, "agent", command=Command(resume=[{"type": "ignore", "args": None}]))
    assert out["decision"] == [{"type": "ignore", "args": None}]
    final = await client.runs.wait(thread_id, "agent", command=Command(resume=[{"type": "accept", "args": None}]))
    assert final["log"] == ["drafted", "reviewed", "confirmed"] and "__interrupt__" not in final
    assert (await client.threads.get(thread_id))["status"] == "idle"


async def test_a_response_the_request_forbids_is_422(server, client):
    thread_id = await _to_review(client)
    await client.runs.wait(thread_id, "agent", command=Command(resume=[{"type": "accept", "args": None}]))
    # confirm_send does not allow edit
    with httpx.Client(base_url=server.url) as http:
        answer = http.post(f"/threads/{thread_id}/runs/wait", json={
            "assistant_id": "agent", "command": {"resume": [{"type": "edit", "args": {"action": "confirm_send",
                                                                                      "args": {}}}]}})
    assert answer.status_code == 422 and "edit" in answer.json()["detail"]


async def test_command_update_and_goto(client):
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "text", input={"some_text": "first"})
    # resume together with a state update: the node sees the update, then the answer lands
    out = await client.runs.wait(thread_id, "text", command=Command(resume="answer", update={"some_text": "updated"}))
    assert out == {"some_text": "answer"}
    # goto without resume starts the named node on the thread's state
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "static", input={"some_text": "s"})
    assert await client.runs.wait(thread_id, "static", command=Command(goto="node_c")) == {"some_text": "s|a|b|c|c"}
