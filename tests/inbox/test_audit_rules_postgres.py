"""The audit log and rules (issue 14) on a Postgres database: `inbox audit` (export, verify,
tampering found), rules applied by the store when a request is raised, and `inbox rules`, as
tests/inbox/test_audit.py and test_rules.py check them on a SQLite file."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

psycopg = pytest.importorskip("psycopg")

from engine._internal.sync import run_sync  # noqa: E402
from inbox.cli import main  # noqa: E402
from inbox.demo import seed, seed_into  # noqa: E402

START = datetime(2025, 3, 10, 8, 30, tzinfo=timezone.utc)


def _saver(url):
    from engine.checkpoint.postgres import PostgresSaver

    return PostgresSaver.from_conn_string(url)


@pytest.fixture
def decided_url(pg_url, tmp_path, monkeypatch, capsys):
    """Four demo requests accepted or answered with the headless commands (without --graph)."""
    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "none.toml"))
    seed(pg_url, threads=6, start=START)
    assert main(["list", "--db", pg_url, "--json"]) == 0
    items = {i["thread_id"]: i["id"] for i in json.loads(capsys.readouterr().out)}
    for thread in ("travel-agent-0001", "email-assistant-0001", "sql-agent-0001"):
        assert main(["accept", "--db", pg_url, items[thread][:8], "--by", "dana"]) == 0
    assert main(["respond", "--db", pg_url, items["payments-agent-0001"][:8], "IBAN differs", "--by", "sam"]) == 0
    capsys.readouterr()
    return pg_url


def audit(url, capsys, *extra) -> tuple[int, str, str]:
    code = main(["audit", "--db", url, *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def _sql(url, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


def test_the_export_and_verify_on_postgres(decided_url, capsys):
    code, out, _ = audit(decided_url, capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert [(r["by"], r["action"], r["answer"]) for r in rows] == [
        ("dana", "book_flight", "accepted"), ("dana", "send_email", "accepted"), ("dana", "run_sql", "accepted"),
        ("sam", "wire_transfer", "responded")]
    code, out, _ = audit(decided_url, capsys, "verify")
    assert code == 0 and "intact: 4 rows" in out


def test_verify_reports_an_edited_row_on_postgres(decided_url, capsys):
    _sql(decided_url, "UPDATE engine_audit_log SET row = replace(row, '\"by\":\"dana\"', '\"by\":\"eve\"') "
                      "WHERE seq = 2")
    code, out, err = audit(decided_url, capsys, "verify")
    assert code == 1 and "row 2 does not match its hash" in out and "tampered" in err
    assert "row 3" not in out


def test_verify_reports_deleted_rows_on_postgres(decided_url, capsys):
    _sql(decided_url, "DELETE FROM engine_audit_log WHERE seq IN (2, 4)")
    code, out, _ = audit(decided_url, capsys, "verify")
    assert code == 1 and "row 2 is missing (deleted)" in out and "has no audit row (deleted)" in out


def test_a_decision_after_a_deleted_newest_row_leaves_a_gap(decided_url, capsys):
    # The head row numbers the chain: a deleted newest row's number is not reused.
    _sql(decided_url, "DELETE FROM engine_audit_log WHERE seq = 4")
    assert main(["list", "--db", decided_url, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)[0]["id"]
    assert main(["accept", "--db", decided_url, first[:8], "--by", "dana"]) == 0
    capsys.readouterr()
    code, out, _ = audit(decided_url, capsys, "verify")
    assert code == 1 and "row 4 is missing (deleted)" in out


def test_a_rule_answers_matching_requests_when_they_are_raised_on_postgres(pg_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "none.toml"))

    async def add_rules():
        async with _saver(pg_url) as saver:
            for tool in ("book_flight", "delete_files"):  # delete_files forbids accept
                await saver.aput_rule({"tool": tool, "created_by": "dana"})
    run_sync(add_rules())
    with _saver(pg_url) as saver:
        seed_into(saver, 6)
        records = saver.list_pending() + saver.decisions()
    by_action = {}
    for record in records:
        action = (record.payload[0] if isinstance(record.payload, list) else {}).get("action_request", {}).get("action")
        by_action.setdefault(action, []).append(record)
    [flight] = by_action["book_flight"]
    assert flight.status == "resolved" and flight.resolved_by.startswith("rule:") and not flight.applied
    assert flight.response == [{"type": "accept", "args": None}]
    [cleanup] = by_action["delete_files"]
    assert cleanup.status == "pending"
    assert main(["audit", "--db", pg_url]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["by"] == flight.resolved_by and row["action"] == "book_flight"


def test_inbox_rules_add_list_revoke_on_postgres(pg_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "none.toml"))
    db = ["--db", pg_url]
    assert main(["rules", "add", *db, "--tool", "wire_transfer", "--arg", "amount", "--op", "below", "--value", "100",
                 "--hours", "4", "--by", "dana"]) == 0
    added = capsys.readouterr().out
    assert added.startswith("added ") and "wire_transfer where amount < 100 on any thread, until" in added
    rule_id = added.split()[1].rstrip(":")
    assert main(["rules", "list", *db]) == 0
    assert f"{rule_id}  wire_transfer where amount < 100" in capsys.readouterr().out
    assert main(["rules", "revoke", *db, rule_id[:6], "--by", "sam"]) == 0
    assert capsys.readouterr().out.startswith(f"revoked {rule_id}")
    assert main(["rules", "list", *db]) == 0
    assert capsys.readouterr().err.strip() == "No rules."
    assert main(["rules", "list", *db, "--all", "--json"]) == 0
    [rule] = json.loads(capsys.readouterr().out)
    assert rule["revoked_by"] == "sam" and rule["created_by"] == "dana"
