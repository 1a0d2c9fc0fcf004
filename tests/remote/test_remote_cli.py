"""The headless commands with --url, against a real `inbox serve` and LangGraph's real server:
list, show, accept, edit, respond, ignore; two reviewers racing on one interrupt (exactly one
applied, the other told, exit 3); a second answer after the first never sent."""

from __future__ import annotations

import json
import subprocess
import sys

from servers import REPO, inbox, seed, thread_of


def pending_ids(url: str) -> dict[str, dict]:
    done = inbox("list", "--url", url, "--json")
    assert done.returncode == 0, done.stderr
    return {item["id"]: item for item in json.loads(done.stdout)}


def test_list_and_show_read_every_request_format(any_server):
    url = any_server.url
    email_thread, email = seed(url, "agent", {"email": "list me"})
    _pay_thread, pay = seed(url, "payments", {"amount": 120})
    _q_thread, question = seed(url, "question", {})
    items = pending_ids(url)
    assert items[email]["kind"] == "human_interrupt" and items[email]["action"] == "send_email"
    assert items[email]["thread_id"] == email_thread and items[email]["graph"] == "agent"
    assert items[email]["args"] == [{"to": "bob@example.com", "body": "list me"}]
    assert items[pay]["kind"] == "hitl" and items[pay]["action"] == "transfer"
    assert sorted(items[pay]["allowed"]) == ["approve", "edit", "reject"]
    assert items[question]["kind"] == "question"
    shown = inbox("show", email, "--url", url, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["description"] == "Please review this email before it is sent."
    plain = inbox("list", "--url", url, "--filter", "list me")
    assert email[:8] in plain.stdout and pay[:8] not in plain.stdout  # the plain list shows short ids
    by_prefix = inbox("show", email[:8], "--url", url, "--json")  # the id the list shows works too
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert json.loads(by_prefix.stdout)["id"] == email


def test_accept_edit_respond_ignore(any_server):
    url = any_server.url
    accepted_thread, accepted = seed(url, "agent", {"email": "accept me"})
    edited_thread, edited = seed(url, "agent", {"email": "edit me"})
    ignored_thread, ignored = seed(url, "agent", {"email": "ignore me"})
    answered_thread, answered = seed(url, "question", {})
    paid_thread, paid = seed(url, "payments", {"amount": 5})

    done = inbox("accept", accepted, "--url", url)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "interrupted" and len(out["new_interrupts"]) == 1  # the second review
    assert thread_of(url, accepted_thread)["values"]["decision"] == [{"type": "accept", "args": None}]
    assert out["new_interrupts"][0] in pending_ids(url)

    done = inbox("edit", edited, "--url", url, "--args", '{"to": "carol@example.com", "body": "edited"}')
    assert done.returncode == 0, done.stderr
    assert thread_of(url, edited_thread)["values"]["decision"] == [
        {"type": "edit", "args": {"action": "send_email", "args": {"to": "carol@example.com", "body": "edited"}}}]

    done = inbox("ignore", ignored, "--url", url)
    assert done.returncode == 0, done.stderr
    assert thread_of(url, ignored_thread)["values"]["decision"] == [{"type": "ignore", "args": None}]

    done = inbox("respond", answered, "--url", url, "Quarterly report")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "done"
    assert thread_of(url, answered_thread)["values"]["title"] == "Quarterly report"

    done = inbox("accept", paid, "--url", url)
    assert done.returncode == 0, done.stderr
    assert thread_of(url, paid_thread)["values"]["decisions"] == {"decisions": [{"type": "approve"}]}
    assert not {accepted, edited, ignored, answered, paid} & set(pending_ids(url))


def test_a_late_second_answer_is_never_sent(any_server):
    url = any_server.url
    thread_id, interrupt_id = seed(url, "agent", {"email": "twice"})
    assert inbox("accept", interrupt_id, "--url", url).returncode == 0
    late = inbox("ignore", interrupt_id, "--url", url)
    assert late.returncode == 3, late.stderr
    assert "someone else decided first" in late.stderr
    values = thread_of(url, thread_id)["values"]
    assert values["decision"] == [{"type": "accept", "args": None}]
    assert "decision2" not in values  # the ignore did not land on the next interrupt


def test_two_reviewers_race_exactly_one_is_applied(any_server):
    url = any_server.url
    thread_id, interrupt_id = seed(url, "agent", {"email": "race", "delay": 1.0})
    env = {"PYTHONPATH": str(REPO), "INBOX_CONFIG": str(REPO / "tests/remote/no-config.toml")}
    import os
    racers = [subprocess.Popen([sys.executable, "-m", "inbox.cli", verb, interrupt_id, "--url", url, "--by", who],
                               cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
              for verb, who in (("accept", "ann"), ("ignore", "bob"))]
    results = [(p.wait(60), p.stdout.read(), p.stderr.read()) for p in racers]
    codes = sorted(code for code, _out, _err in results)
    assert codes == [0, 3], results
    loser = next(err for code, _out, err in results if code == 3)
    assert "someone else decided first" in loser
    thread = thread_of(url, thread_id)
    assert len(thread["values"]["decision"]) == 1
    assert "decision2" not in thread["values"]  # the loser's answer did not reach the next interrupt
    assert thread["status"] == "interrupted"


def test_usage_errors_are_clear():
    both = inbox("list", "--db", "x.sqlite", "--url", "http://127.0.0.1:9")
    assert both.returncode == 2 and "argument --url: not allowed with argument --db" in both.stderr
    neither = inbox("accept", "x")
    assert neither.returncode == 2 and "one of the arguments --db --url is required" in neither.stderr
    graphs = inbox("accept", "x", "--url", "http://127.0.0.1:9", "--graph", "a=b:c")
    assert graphs.returncode == 2 and "--graph is for --db" in graphs.stderr
    bad = inbox("list", "--url", "ftp://example.com")
    assert bad.returncode == 2 and "http(s) URL" in bad.stderr
    unknown = inbox("list", "--url", "prod")
    assert unknown.returncode == 2 and "[servers.NAME]" in unknown.stderr


def test_an_unknown_id_names_the_server(inbox_serve):
    done = inbox("show", "0" * 32, "--url", inbox_serve.url)
    assert done.returncode == 2
    assert f"pending on {inbox_serve.url}" in done.stderr and "inbox list --url" in done.stderr


def test_rules_and_the_audit_log_need_the_database():
    """Kept only in the inbox's database: --url is refused with a clear line (exit 2), never a crash."""
    for argv, feature in ((["audit"], "The audit log is"), (["audit", "verify"], "The audit log is"),
                          (["rules", "list"], "Rules are"), (["rules", "add", "--tool", "x"], "Rules are")):
        done = inbox(*argv, "--url", "http://127.0.0.1:9")
        assert done.returncode == 2, done.stderr
        assert f"{feature} kept in the inbox's database" in done.stderr and "--db PATH" in done.stderr
        assert "unexpected" not in done.stderr
