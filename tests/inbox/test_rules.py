"""Rules (issue 14, item 11): stored, applied by the store when a request is raised (before a
person sees it), audited, never answering what the request's config forbids; `inbox rules`."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from engine._internal.sync import run_sync
from engine.checkpoint.rules import check_rule, rule_answer
from engine.checkpoint.sqlite import SqliteSaver
from inbox.cli import main
from inbox.demo import seed_into

from test_app_flows import demo_db  # noqa: F401 - the fixture

START = datetime(2025, 3, 10, 8, 30, tzinfo=timezone.utc)


def seeded_with_rules(path, *rules) -> None:
    async def build():
        saver = await SqliteSaver.aopen(str(path))
        try:
            for rule in rules:
                await saver.aput_rule(rule)
        finally:
            await saver.aclose()
    run_sync(build())
    with SqliteSaver.from_conn_string(str(path)) as saver:
        seed_into(saver, 6)


def interrupts(path) -> list:
    async def read():
        saver = await SqliteSaver.aopen(str(path))
        try:
            return await saver.alist_pending() + await saver.adecisions()
        finally:
            await saver.aclose()
    return run_sync(read())


def test_a_rule_answers_matching_requests_when_they_are_raised_and_is_audited(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "none.toml"))
    path = tmp_path / "rules.sqlite"
    seeded_with_rules(path, {"tool": "book_flight", "created_by": "dana"},
                      {"tool": "delete_files", "created_by": "dana"})  # delete_files forbids accept
    by_action = {}
    for record in interrupts(path):
        action = (record.payload[0] if isinstance(record.payload, list) else {}).get("action_request", {}).get("action")
        by_action.setdefault(action, []).append(record)
    [flight] = by_action["book_flight"]
    assert flight.status == "resolved" and flight.resolved_by.startswith("rule:") and not flight.applied
    assert flight.response == [{"type": "accept", "args": None}]
    [cleanup] = by_action["delete_files"]
    assert cleanup.status == "pending"  # the config forbids accept: no rule answers it
    assert main(["audit", "--db", str(path)]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["by"] == flight.resolved_by and row["action"] == "book_flight"


def test_argument_patterns_threads_and_expiry():
    payload = [{"action_request": {"action": "wire", "args": {"amount": 50, "path": "/tmp/x"}},
                "config": {"allow_accept": True}}]
    now = "2025-03-10T09:00:00+00:00"
    rule = check_rule({"tool": "wire", "arg": "amount", "op": "below", "value": 100, "created_by": "dana"})
    assert rule_answer(rule, payload, "t1", now) == [{"type": "accept", "args": None}]
    assert rule_answer({**rule, "value": 10}, payload, "t1", now) is None
    assert rule_answer({**rule, "thread_id": "t2"}, payload, "t1", now) is None
    assert rule_answer({**rule, "expires_at": "2025-03-10T08:00:00+00:00"}, payload, "t1", now) is None
    assert rule_answer({**rule, "revoked_at": now}, payload, "t1", now) is None
    prefix = check_rule({"tool": "wire", "arg": "path", "op": "prefix", "value": "/tmp/", "created_by": "d"})
    assert rule_answer(prefix, payload, "t1", now) is not None
    with pytest.raises(ValueError, match="op 'below' needs a number"):
        check_rule({"tool": "wire", "arg": "amount", "op": "below", "value": "100", "created_by": "d"})
    with pytest.raises(ValueError, match="unknown op 'under'"):
        check_rule({"tool": "wire", "arg": "amount", "op": "under", "value": 1, "created_by": "d"})


def test_inbox_rules_add_list_revoke(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "none.toml"))
    path = tmp_path / "cli.sqlite"
    with SqliteSaver.from_conn_string(str(path)):
        pass
    db = ["--db", str(path)]
    assert main(["rules", "add", *db, "--tool", "wire_transfer", "--arg", "amount", "--op", "below", "--value", "100",
                 "--hours", "4", "--by", "dana"]) == 0
    added = capsys.readouterr().out
    assert added.startswith("added ") and "wire_transfer where amount < 100 on any thread, until" in added
    rule_id = added.split()[1].rstrip(":")
    assert main(["rules", "list", *db]) == 0
    assert f"{rule_id}  wire_transfer where amount < 100" in capsys.readouterr().out
    assert main(["rules", "add", *db, "--tool", "x", "--arg", "amount", "--by", "dana"]) == 2
    assert "needs --arg, --op and --value together" in capsys.readouterr().err
    assert main(["rules", "add", *db, "--tool", "x", "--arg", "a", "--op", "below", "--value", "lots",
                 "--by", "dana"]) == 2
    assert "op 'below' needs a number" in capsys.readouterr().err
    assert main(["rules", "revoke", *db, rule_id[:6], "--by", "sam"]) == 0
    assert capsys.readouterr().out.startswith(f"revoked {rule_id}")
    assert main(["rules", "list", *db]) == 0
    assert capsys.readouterr().err.strip() == "No rules."
    assert main(["rules", "list", *db, "--all", "--json"]) == 0
    [rule] = json.loads(capsys.readouterr().out)
    assert rule["revoked_by"] == "sam" and rule["created_by"] == "dana"
    assert main(["rules", "revoke", *db, "nope", "--by", "sam"]) == 2
    assert "no active rule matches 'nope'" in capsys.readouterr().err


# ---- the TUI: p proposes a rule, P lists them, d revokes ---------------------------------------------


async def test_p_proposes_a_rule_and_the_rules_screen_revokes_it(demo_db):
    from test_app_flows import make_app, select_thread, status_text, wait_until

    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        await select_thread(pilot, app, "cleanup-agent")  # accept forbidden: no rule may accept it
        await pilot.press("p")
        await pilot.pause(0.2)
        assert any("forbids accept, so no rule" in str(n.message) for n in app._notifications)
        app.inbox.table.move_cursor(row=0)  # travel-agent-0001: book_flight
        await pilot.pause(0.3)
        await pilot.press("p")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ProposeRuleScreen", what="the dialog")
        assert app.screen.query_one("#rule-pattern").value  # a suggestion from the first argument
        app.screen.query_one("#rule-pattern").value = "price below 500"
        app.screen.query_one("#rule-hours").value = "8"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Rule " in status_text(app) and "added" in status_text(app), what="the rule")
        [rule] = await saver.alist_rules()
        assert (rule["tool"], rule["arg"], rule["op"], rule["value"]) == ("book_flight", "price", "below", 500)
        assert rule["created_by"] == "dana" and rule["expires_at"]
        await pilot.press("P")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "RulesScreen", what="the rules")
        await wait_until(pilot, lambda: app.screen.query_one("#rules-table").row_count == 1, what="the row")
        await pilot.press("d")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", what="the confirm")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "RulesScreen"
                         and app.screen.query_one("#rules-table").row_count == 0, what="the rule revoked")
        assert await saver.alist_rules() == []


async def test_three_accepts_in_a_row_suggest_a_rule(demo_db):
    from test_app_flows import make_app, wait_until

    app, saver, graphs = await make_app(demo_db)
    async with app.run_test(size=(150, 40)) as pilot:
        from inbox.widgets.item_table import ItemTable
        table = app.inbox.table
        await wait_until(pilot, lambda: table.row_count > 0, what="rows")
        first = app.inbox.current
        for _ in range(3):
            app.inbox._suggest_rule(first, "accepted")
        await pilot.pause(0.2)
        assert any("3 times in a row" in str(n.message) for n in app._notifications)
