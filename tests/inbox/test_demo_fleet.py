"""The demo fleet: seeding fills a saver with paused threads of every review shape, seeding is
deterministic, and every scenario can be decided end to end with the tool running (or not)
with exactly the right arguments."""

import asyncio
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from engine.checkpoint.memory import InMemorySaver
from engine.prebuilt import InvalidResponse, review_items
from engine.types import Command
from inbox.demo import (DEFAULT_START, GRAPHS, SCENARIOS, THREAD_SPACING, graph_for, initial_input, plan,
                        seed_into)
from inbox.demo.kit import iban, iban_is_valid

EXPECTED_GRAPHS = ["travel-agent", "email-assistant", "payments-agent", "sql-agent", "deploy-bot",
                   "cleanup-agent", "ops-triage", "cluster-planner", "onboarding-form"]


def cfg(thread_id):
    return {"configurable": {"thread_id": thread_id}}


def pending(graph, thread_id):
    """The one pending interrupt of a paused demo thread."""
    state = graph.get_state(cfg(thread_id))
    assert state.next, f"{thread_id} is not paused"
    [interrupt] = state.interrupts
    return interrupt


def start(name, saver=None):
    """A fresh saver holding the first thread of `name`, paused; returns (graph, thread id, interrupt)."""
    saver = saver if saver is not None else InMemorySaver()
    # One round of the round-robin seeds the first thread of every scenario.
    seed_into(saver, len(SCENARIOS))
    graph = graph_for(name, saver)
    thread_id = f"{name}-0001"
    return graph, thread_id, pending(graph, thread_id)


def resume(graph, thread_id, answer):
    return graph.invoke(Command(resume=answer), cfg(thread_id))


def finished(graph, thread_id):
    state = graph.get_state(cfg(thread_id))
    return state.next == () and state.interrupts == ()


def tool_messages(out):
    return [m for m in out["messages"] if m.get("role") == "tool"]


# ---- the registry ------------------------------------------------------------------------------


def test_every_scenario_has_a_stable_graph_name_and_factory():
    assert list(GRAPHS) == EXPECTED_GRAPHS
    assert list(SCENARIOS) == EXPECTED_GRAPHS
    for name, build in GRAPHS.items():
        graph = build(InMemorySaver())
        assert graph.name == name
        assert graph.outbox == []


def test_initial_inputs_vary_by_thread_and_seed_but_repeat_exactly():
    for name in EXPECTED_GRAPHS:
        firsts = [initial_input(name, i) for i in range(6)]
        assert firsts == [initial_input(name, i) for i in range(6)]
        assert len({repr(x) for x in firsts}) > 1, f"{name} gives every thread the same input"
        assert [initial_input(name, i, seed=1) for i in range(6)] != firsts


def test_generated_ibans_are_valid():
    assert iban("DE", "370400440532013000") == "DE89 3704 0044 0532 0130 00"
    for i in range(10):
        args = initial_input("payments-agent", i)["messages"][0]["intent"]["wire_transfer"]
        assert iban_is_valid(args["iban"]), args["iban"]


def test_the_demo_does_not_import_textual():
    code = ("import sys, inbox.demo\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ---- seeding -----------------------------------------------------------------------------------


def test_seeding_20_threads_leaves_20_paused_threads_of_every_review_shape():
    saver = InMemorySaver()
    thread_ids = seed_into(saver, 20)
    assert len(thread_ids) == len(set(thread_ids)) == 20
    assert thread_ids[:10] == [f"{name}-0001" for name in EXPECTED_GRAPHS] + ["travel-agent-0002"]
    assert thread_ids[-1] == "email-assistant-0003"

    kinds = set()
    by_graph = {}
    for position, thread_id in enumerate(thread_ids):
        name = thread_id.rsplit("-", 1)[0]
        graph = graph_for(name, saver)
        state = graph.get_state(cfg(thread_id))
        assert state.next, f"{thread_id} is not paused"
        assert state.metadata["scenario"] == name
        assert state.metadata["requested_by"] in SCENARIOS[name].requesters
        assert state.created_at == (DEFAULT_START + THREAD_SPACING * position).isoformat()
        [interrupt] = state.interrupts
        items = review_items(interrupt.value)
        assert all(item.problem is None for item in items), items
        kinds.update(item.kind for item in items)
        assert {item.kind for item in items} == {SCENARIOS[name].kind}
        by_graph.setdefault(name, items)

    assert kinds == {"human_interrupt", "hitl", "question"}
    for name in EXPECTED_GRAPHS[:6]:
        [item] = by_graph[name]
        assert item.description and item.description.startswith("**"), item.description
        assert item.args_schema and item.args_schema["type"] == "object"

    [delete] = by_graph["cleanup-agent"]
    assert "accept" not in delete.allowed and delete.allowed == {"edit", "response"}
    [deploy] = by_graph["deploy-bot"]
    assert "ignore" in deploy.allowed
    [wire] = by_graph["payments-agent"]
    assert wire.allowed == {"accept", "response"}
    assert wire.args["iban"] in wire.description and "€" in wire.description

    triage = by_graph["ops-triage"]
    assert [i.action for i in triage] == ["restart_pods", "scale_deployment", "post_status_update"]
    assert all(i.count == 3 and i.description for i in triage)
    assert "respond" not in triage[0].allowed and "respond" in triage[1].allowed

    [question] = by_graph["cluster-planner"]
    assert question.description.startswith("Which region should the new cluster")
    [form] = by_graph["onboarding-form"]
    assert "How many seats" in form.description


def snapshot(saver, thread_ids):
    out = []
    for thread_id in thread_ids:
        graph = graph_for(thread_id.rsplit("-", 1)[0], saver)
        state = graph.get_state(cfg(thread_id))
        out.append((thread_id, state.config["configurable"]["checkpoint_id"], state.created_at,
                    [(i.id, i.value) for i in state.interrupts]))
    return out


def test_seeding_is_deterministic():
    first, second = InMemorySaver(), InMemorySaver()
    ids = seed_into(first, 20, seed=7)
    assert seed_into(second, 20, seed=7) == ids
    assert snapshot(first, ids) == snapshot(second, ids)

    other = InMemorySaver()
    assert seed_into(other, 20, seed=8) == ids  # same thread ids ...
    assert [s[3] for s in snapshot(other, ids)] != [s[3] for s in snapshot(first, ids)]  # ... other requests


def test_an_injected_clock_sets_every_timestamp():
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    first, second = InMemorySaver(), InMemorySaver()
    ids = seed_into(first, 9, clock=lambda: at)
    seed_into(second, 9, clock=lambda: at)
    assert snapshot(first, ids) == snapshot(second, ids)
    assert {s[2] for s in snapshot(first, ids)} == {at.isoformat()}
    # A different clock gives different checkpoints, hence different interrupt ids.
    later = InMemorySaver()
    seed_into(later, 9, clock=lambda: at + timedelta(days=1))
    assert [s[3][0][0] for s in snapshot(later, ids)] != [s[3][0][0] for s in snapshot(first, ids)]


def test_seeding_twice_leaves_existing_threads_alone():
    saver = InMemorySaver()
    ids = seed_into(saver, 9)
    before = snapshot(saver, ids)
    graph, thread_id = graph_for("sql-agent", saver), "sql-agent-0001"
    resume(graph, thread_id, [{"type": "accept"}])
    assert seed_into(saver, 12) == ids + ["travel-agent-0002", "email-assistant-0002", "payments-agent-0002"]
    after = snapshot(saver, ids)
    assert [b for b in before if b[0] != thread_id] == [a for a in after if a[0] != thread_id]
    assert finished(graph, thread_id)


async def test_async_seeding_matches_sync_seeding():
    from inbox.demo import aseed_into

    sync_saver, async_saver = InMemorySaver(), InMemorySaver()
    ids = await asyncio.to_thread(seed_into, sync_saver, 11)  # the blocking API refuses a running loop
    assert await aseed_into(async_saver, 11) == ids
    for thread_id in ids:
        graph = graph_for(thread_id.rsplit("-", 1)[0], async_saver)
        state = await graph.aget_state(cfg(thread_id))
        expected = graph_for(thread_id.rsplit("-", 1)[0], sync_saver)
        assert [(i.id, i.value) for i in state.interrupts] == \
            [(i.id, i.value) for i in (await expected.aget_state(cfg(thread_id))).interrupts]


def test_plan_configs_carry_the_scenario_metadata():
    [first] = plan(1)
    assert first.config == {"configurable": {"thread_id": "travel-agent-0001"},
                            "metadata": {"scenario": "travel-agent",
                                         "requested_by": SCENARIOS["travel-agent"].requested_by(0)}}


# ---- each scenario, decided end to end ---------------------------------------------------------


def test_travel_accept_flight_then_edit_hotel():
    graph, thread_id, interrupt = start("travel-agent")
    flight = interrupt.value[0]["action_request"]["args"]
    out = resume(graph, thread_id, [{"type": "accept"}])
    assert graph.outbox.calls("book_flight") == [flight]
    hotel_request = pending(graph, thread_id).value[0]
    assert hotel_request["action_request"]["action"] == "book_hotel"
    assert hotel_request["config"]["allow_ignore"] is True

    edited = {**hotel_request["action_request"]["args"], "hotel_name": "Motel One", "rate_eur": 119.0}
    out = resume(graph, thread_id, [{"type": "edit", "args": {"action": "book_hotel", "args": edited}}])
    assert graph.outbox.calls() == [flight, edited]
    assert tool_messages(out)[-1]["content"].startswith(f"Booked {edited['nights']} night(s) at Motel One")
    assert out["messages"][-1]["content"].startswith("Trip arranged.")
    assert finished(graph, thread_id)


def test_travel_ignore_hotel_books_only_the_flight():
    graph, thread_id, _ = start("travel-agent")
    resume(graph, thread_id, [{"type": "accept"}])
    out = resume(graph, thread_id, [{"type": "ignore"}])
    assert [e.tool for e in graph.outbox] == ["book_flight"]
    assert "ignored" in tool_messages(out)[-1]["content"]
    assert finished(graph, thread_id)


def test_travel_response_to_the_flight_books_nothing():
    graph, thread_id, _ = start("travel-agent")
    out = resume(graph, thread_id, [{"type": "response", "args": "Take the train instead."}])
    assert graph.outbox == []
    assert tool_messages(out)[-1]["content"] == "Take the train instead."
    assert "did not book the flight" in out["messages"][-1]["content"]
    assert finished(graph, thread_id)


def test_email_edit_body_sends_the_edited_email():
    graph, thread_id, interrupt = start("email-assistant")
    args = interrupt.value[0]["action_request"]["args"]
    edited = {**args, "body": "Hi,\n\nplease find the renewal quote attached.\n\nBest regards"}
    out = resume(graph, thread_id, [{"type": "edit", "args": {"action": "send_email", "args": edited}}])
    assert graph.outbox.calls("send_email") == [edited]
    assert tool_messages(out)[-1]["content"].startswith(f"Sent “{args['subject']}” to {args['to']}")
    assert out["messages"][-1]["content"].startswith("Done.")
    assert finished(graph, thread_id)


def test_email_edit_breaking_the_schema_is_refused_and_the_thread_stays_paused():
    graph, thread_id, interrupt = start("email-assistant")
    bad = {"to": "x@example.com", "subject": "Hi"}  # body missing
    with pytest.raises(InvalidResponse, match="body"):
        resume(graph, thread_id, [{"type": "edit", "args": {"action": "send_email", "args": bad}}])
    assert graph.outbox == []
    assert pending(graph, thread_id).id == interrupt.id


def test_payments_respond_declines_the_transfer():
    graph, thread_id, _ = start("payments-agent")
    out = resume(graph, thread_id, [{"type": "response", "args": "IBAN differs from supplier master data; hold."}])
    assert graph.outbox == []
    assert tool_messages(out)[-1]["content"] == "IBAN differs from supplier master data; hold."
    assert out["messages"][-1]["content"].startswith("Understood: wire_transfer was not run.")
    assert finished(graph, thread_id)


def test_payments_accept_wires_the_exact_amount_and_edit_is_refused():
    graph, thread_id, interrupt = start("payments-agent")
    args = interrupt.value[0]["action_request"]["args"]
    with pytest.raises(InvalidResponse, match="edit"):
        resume(graph, thread_id, [{"type": "edit", "args": {"action": "wire_transfer",
                                                            "args": {**args, "amount": 1.0}}}])
    out = resume(graph, thread_id, [{"type": "accept"}])
    assert graph.outbox.calls("wire_transfer") == [args]
    assert tool_messages(out)[-1]["content"].startswith("Transfer TRF-")
    assert finished(graph, thread_id)


def test_sql_accept_runs_the_statement_as_proposed():
    graph, thread_id, interrupt = start("sql-agent")
    args = interrupt.value[0]["action_request"]["args"]
    out = resume(graph, thread_id, [{"type": "accept"}])
    assert graph.outbox.calls("run_sql") == [args]
    assert tool_messages(out)[-1]["content"].startswith(f"Ran on {args['database']}: ")
    assert finished(graph, thread_id)


def test_sql_edit_runs_the_narrowed_statement():
    graph, thread_id, interrupt = start("sql-agent")
    args = interrupt.value[0]["action_request"]["args"]
    narrowed = {**args, "statement": "SELECT 1;"}
    resume(graph, thread_id, [{"type": "edit", "args": {"args": narrowed}}])  # the docs' edit shape
    assert graph.outbox.calls("run_sql") == [narrowed]
    assert finished(graph, thread_id)


def test_deploy_ignore_skips_the_rollout():
    graph, thread_id, _ = start("deploy-bot")
    out = resume(graph, thread_id, [{"type": "ignore"}])
    assert graph.outbox == []
    assert tool_messages(out)[-1]["content"] == "The reviewer ignored the call to deploy_service; it was not run."
    assert finished(graph, thread_id)


def test_deploy_accept_rolls_out():
    graph, thread_id, interrupt = start("deploy-bot")
    args = interrupt.value[0]["action_request"]["args"]
    resume(graph, thread_id, [{"type": "accept"}])
    assert graph.outbox.calls("deploy_service") == [args]
    assert finished(graph, thread_id)


def test_cleanup_accept_is_refused_and_edit_deletes_only_the_kept_paths():
    graph, thread_id, interrupt = start("cleanup-agent")
    args = interrupt.value[0]["action_request"]["args"]
    with pytest.raises(InvalidResponse, match="allow_accept=False"):
        resume(graph, thread_id, [{"type": "accept"}])
    assert graph.outbox == [] and pending(graph, thread_id).id == interrupt.id

    trimmed = {**args, "paths": args["paths"][:1]}
    out = resume(graph, thread_id, [{"type": "edit", "args": {"action": "delete_files", "args": trimmed}}])
    assert graph.outbox.calls("delete_files") == [trimmed]
    assert tool_messages(out)[-1]["content"].startswith(f"Deleted 1 path(s) on {args['host']}")
    assert finished(graph, thread_id)


def test_cleanup_respond_keeps_everything():
    graph, thread_id, _ = start("cleanup-agent")
    resume(graph, thread_id, [{"type": "response", "args": "Keep the backups; rotate logs instead."}])
    assert graph.outbox == []
    assert finished(graph, thread_id)


def test_ops_triage_decisions_run_approved_and_edited_steps_only():
    graph, thread_id, interrupt = start("ops-triage")
    actions = interrupt.value["action_requests"]
    assert len(actions) == 3
    with pytest.raises(InvalidResponse, match="expected 3 decision"):
        resume(graph, thread_id, {"decisions": [{"type": "approve"}]})

    scaled = {**actions[1]["args"], "replicas": 10}
    out = resume(graph, thread_id, {"decisions": [
        {"type": "approve"},
        {"type": "edit", "edited_action": {"name": "scale_deployment", "args": scaled}},
        {"type": "reject", "message": "Wait until we know the cause."},
    ]})
    assert graph.outbox.calls() == [actions[0]["args"], scaled]
    assert [e.tool for e in graph.outbox] == ["restart_pods", "scale_deployment"]
    messages = tool_messages(out)
    assert [m["tool_call_id"] for m in messages] == ["call_1", "call_2", "call_3"]
    assert messages[2]["content"] == "Rejected by the reviewer; not run. Reason: Wait until we know the cause."
    assert out["messages"][-1]["content"].startswith("Triage done:")
    assert finished(graph, thread_id)


def test_ops_triage_respond_sends_the_message_back_instead_of_running():
    graph, thread_id, interrupt = start("ops-triage")
    out = resume(graph, thread_id, {"decisions": [
        {"type": "reject"},
        {"type": "respond", "message": "Cluster is at capacity; scale the queue consumers instead."},
        {"type": "approve"},
    ]})
    status = interrupt.value["action_requests"][2]["args"]
    assert graph.outbox.calls() == [status]
    assert tool_messages(out)[1]["content"] == "Cluster is at capacity; scale the queue consumers instead."
    assert finished(graph, thread_id)


def test_cluster_planner_creates_the_cluster_where_the_answer_says():
    graph, thread_id, interrupt = start("cluster-planner")
    assert isinstance(interrupt.value, str)
    out = resume(graph, thread_id, "  EU-North-1 ")
    [call] = graph.outbox.calls("create_cluster")
    state = initial_input("cluster-planner", 0)
    assert call == {"name": state["cluster_name"], "region": "eu-north-1", "node_type": state["node_type"],
                    "node_count": state["node_count"]}
    assert out["region"] == "eu-north-1" and out["result"].startswith(f"Cluster {state['cluster_name']}")
    assert finished(graph, thread_id)


def test_onboarding_form_asks_again_until_the_answer_is_valid():
    graph, thread_id, first = start("onboarding-form")
    resume(graph, thread_id, "twenty")
    second = pending(graph, thread_id)
    assert second.id != first.id
    assert second.value.startswith('"twenty" is not a valid seat count.')
    resume(graph, thread_id, 9000)
    third = pending(graph, thread_id)
    assert third.value.startswith("9000 is not a valid seat count.")
    assert graph.outbox == []

    out = resume(graph, thread_id, 25)
    state = initial_input("onboarding-form", 0)
    assert graph.outbox.calls("create_workspace") == [
        {"company": state["company"], "admin_email": state["admin_email"], "plan": state["plan"], "seats": 25}]
    assert out["seats"] == 25
    assert finished(graph, thread_id)


def test_onboarding_form_accepts_a_number_typed_as_text():
    graph, thread_id, _ = start("onboarding-form")
    resume(graph, thread_id, " 40 ")
    assert graph.outbox.calls("create_workspace")[0]["seats"] == 40
    assert finished(graph, thread_id)


# ---- on SQLite ---------------------------------------------------------------------------------


def test_seed_fills_a_sqlite_database_that_another_saver_can_resume(tmp_path):
    sqlite = pytest.importorskip("engine.checkpoint.sqlite")
    from inbox.demo import seed

    path = tmp_path / "demo.sqlite"
    ids = seed(str(path), threads=12)
    assert len(ids) == 12
    with sqlite.SqliteSaver.from_conn_string(str(path)) as saver:
        memory = InMemorySaver()
        assert seed_into(memory, 12) == ids
        # The same interrupts, ids included, whichever saver holds them.
        assert snapshot(saver, ids) == snapshot(memory, ids)

        graph = graph_for("payments-agent", saver)
        args = pending(graph, "payments-agent-0001").value[0]["action_request"]["args"]
        resume(graph, "payments-agent-0001", [{"type": "accept"}])
        assert graph.outbox.calls("wire_transfer") == [args]
        assert finished(graph, "payments-agent-0001")

        graph = graph_for("onboarding-form", saver)
        resume(graph, "onboarding-form-0001", "lots")
        resume(graph, "onboarding-form-0001", 12)
        assert graph.outbox.calls("create_workspace")[0]["seats"] == 12

    assert seed(str(path), threads=12) == ids  # seeding again is harmless


async def test_async_seeding_into_an_async_sqlite_saver(tmp_path):
    sqlite = pytest.importorskip("engine.checkpoint.sqlite")
    from inbox.demo import aseed_into

    async with sqlite.SqliteSaver.from_conn_string(str(tmp_path / "demo.sqlite")) as saver:
        ids = await aseed_into(saver, 9)
        for thread_id in ids:
            state = await graph_for(thread_id.rsplit("-", 1)[0], saver).aget_state(cfg(thread_id))
            assert state.next and len(state.interrupts) == 1
