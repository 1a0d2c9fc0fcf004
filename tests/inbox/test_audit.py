"""`inbox audit`: the decisions exported (JSON lines, CSV) and the hash chain verified, over a
real SQLite file; edited and deleted rows are reported (issue 14, item 12)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime, timezone

import pytest

from engine.checkpoint.audit import chain_hash, verify_chain
from inbox.cli import main
from inbox.demo import seed


@pytest.fixture
def decided_db(tmp_path, monkeypatch, capsys):
    """Four demo requests accepted or answered with the headless commands (without --graph)."""
    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "none.toml"))
    path = tmp_path / "audit.sqlite"
    seed(str(path), threads=6, start=datetime(2025, 3, 10, 8, 30, tzinfo=timezone.utc))
    assert main(["list", "--db", str(path), "--json"]) == 0
    items = {i["thread_id"]: i["id"] for i in json.loads(capsys.readouterr().out)}
    for thread in ("travel-agent-0001", "email-assistant-0001", "sql-agent-0001"):
        assert main(["accept", "--db", str(path), items[thread][:8], "--by", "dana"]) == 0
    assert main(["respond", "--db", str(path), items["payments-agent-0001"][:8], "IBAN differs", "--by", "sam"]) == 0
    capsys.readouterr()
    return path


def audit(path, capsys, *extra) -> tuple[int, str, str]:
    code = main(["audit", "--db", str(path), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_export_says_who_when_what_and_the_answer(decided_db, capsys):
    code, out, _ = audit(decided_db, capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert [(r["by"], r["action"], r["answer"]) for r in rows] == [
        ("dana", "book_flight", "accepted"), ("dana", "send_email", "accepted"), ("dana", "run_sql", "accepted"),
        ("sam", "wire_transfer", "responded")]
    assert all(r["seconds_to_decide"] > 0 and r["hash"] for r in rows)
    code, out, _ = audit(decided_db, capsys, "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(table) == 4 and table[3]["by"] == "sam"
    assert json.loads(table[3]["response"]) == [{"type": "response", "args": "IBAN differs"}]
    code, out, _ = audit(decided_db, capsys, "--since", "2999-01-01")
    assert code == 0 and out == ""
    code, _, err = audit(decided_db, capsys, "--since", "last tuesday")
    assert code == 2 and "--since 'last tuesday' is not a date" in err


def test_verify_passes_on_an_untouched_log(decided_db, capsys):
    code, out, _ = audit(decided_db, capsys, "verify")
    assert code == 0 and "intact: 4 rows" in out


def test_verify_reports_an_edited_row(decided_db, capsys):
    with sqlite3.connect(decided_db) as conn:
        conn.execute("UPDATE audit_log SET row = replace(row, '\"by\":\"dana\"', '\"by\":\"eve\"') WHERE seq = 2")
    code, out, err = audit(decided_db, capsys, "verify")
    assert code == 1 and "row 2 does not match its hash" in out and "tampered" in err
    assert "row 3" not in out  # only the edited row is blamed


def test_verify_reports_a_deleted_row_and_a_deleted_newest_row(decided_db, capsys):
    with sqlite3.connect(decided_db) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq IN (2, 4)")
    code, out, _ = audit(decided_db, capsys, "verify")
    assert code == 1
    assert "row 2 is missing (deleted)" in out
    assert "has no audit row (deleted)" in out  # the newest row: found from the decisions


def test_the_chain_itself():
    first = {"seq": 1, "row": "a", "hash": chain_hash("", "a")}
    second = {"seq": 2, "row": "b", "hash": chain_hash(first["hash"], "b")}
    assert verify_chain([first, second]) == []
    assert verify_chain([first, {**second, "row": "c"}]) == [
        "row 2 does not match its hash (edited, or the row before it was changed)"]


# ---- reject with a reason (item 10), headless ------------------------------------------------------


def test_ignore_with_a_reason_rejects_a_multi_action_request_and_the_agent_gets_it(tmp_path, monkeypatch, capsys):
    from engine._internal.sync import run_sync
    from engine.checkpoint.sqlite import SqliteSaver

    monkeypatch.setenv("INBOX_CONFIG", str(tmp_path / "none.toml"))
    path = tmp_path / "reasons.sqlite"
    seed(str(path), threads=9, start=datetime(2025, 3, 10, 8, 30, tzinfo=timezone.utc))
    assert main(["list", "--db", str(path), "--json"]) == 0
    items = {i["thread_id"]: i["id"] for i in json.loads(capsys.readouterr().out)}
    triage, deploy = items["ops-triage-0001"], items["deploy-bot-0001"]
    assert main(["ignore", "--db", str(path), triage[:8], "--reason", "not during the freeze", "--by", "dana"]) == 0
    assert main(["ignore", "--db", str(path), deploy[:8], "--reason", "no", "--by", "dana"]) == 2
    assert "whose ignore carries no reason" in capsys.readouterr().err

    async def response():
        saver = await SqliteSaver.aopen(str(path))
        try:
            return (await saver.aget_interrupt(triage)).response
        finally:
            await saver.aclose()
    decisions = run_sync(response())["decisions"]
    assert decisions == [{"type": "reject", "message": "not during the freeze"}] * 3
