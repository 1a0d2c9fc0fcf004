"""Auth and faults of `--url`: the key from --api-key, LANGGRAPH_API_KEY / LANGSMITH_API_KEY or
a named server in the config file; a key never appears in any output, even on failure; a server
that does not answer is a clear error (exit 1)."""

from __future__ import annotations

import json

import pytest

from servers import InboxServe, free_port, inbox, seed

KEY = "sk-remote-test-7f3a9c1e5b"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    server = InboxServe(tmp_path_factory.mktemp("keyed") / "inbox.sqlite", "--api-key", f"dana={KEY}").start()
    yield server
    server.stop()


def seed_keyed(url: str) -> str:
    import httpx

    with httpx.Client(base_url=url, headers={"x-api-key": KEY}, timeout=30) as http:
        thread = http.post("/threads", json={}).json()
        out = http.post(f"/threads/{thread['thread_id']}/runs/wait",
                        json={"assistant_id": "agent", "input": {"email": "keyed"}}).json()
        return out["__interrupt__"][0]["id"]


def no_key_in(done) -> None:
    assert KEY not in done.stdout and KEY not in done.stderr


def test_key_from_flag_env_or_config(keyed, tmp_path):
    interrupt_id = seed_keyed(keyed.url)
    flag = inbox("list", "--url", keyed.url, "--api-key", KEY, "--json")
    assert flag.returncode == 0, flag.stderr
    assert interrupt_id in flag.stdout
    no_key_in(flag)
    for variable in ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY"):
        env = inbox("list", "--url", keyed.url, "--json", env={variable: KEY})
        assert env.returncode == 0 and interrupt_id in env.stdout, env.stderr
    config = tmp_path / "config.toml"
    config.write_text(f'[servers.prod]\nurl = "{keyed.url}"\napi_key_env = "PROD_KEY"\n')
    named = inbox("accept", interrupt_id, "--url", "prod", env={"INBOX_CONFIG": str(config), "PROD_KEY": KEY})
    assert named.returncode == 0, named.stderr
    no_key_in(named)
    # The server records who decided by the key's name.
    late = inbox("ignore", interrupt_id, "--url", "prod", env={"INBOX_CONFIG": str(config), "PROD_KEY": KEY})
    assert late.returncode == 3 and "dana" in late.stderr
    unset = inbox("list", "--url", "prod", env={"INBOX_CONFIG": str(config)})
    assert unset.returncode == 2 and "PROD_KEY is not set" in unset.stderr


def test_a_wrong_or_missing_key_is_refused_without_echoing_it(keyed):
    missing = inbox("list", "--url", keyed.url)
    assert missing.returncode == 2 and "401" in missing.stderr and "--api-key" in missing.stderr
    wrong = inbox("--debug", "list", "--url", keyed.url, "--api-key", KEY[::-1] + "x")
    assert wrong.returncode == 2
    assert KEY[::-1] not in wrong.stdout + wrong.stderr


def test_key_is_not_in_reprs():
    from inbox.backends.http import AgentServerClient
    from inbox.remote_open import choose_server
    from inbox.config import InboxSettings

    choice = choose_server("http://127.0.0.1:1", KEY, InboxSettings(reviewer="t"))
    assert KEY not in repr(choice)
    assert KEY not in repr(AgentServerClient("http://127.0.0.1:1", KEY))


def test_an_unreachable_server_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}"
    done = inbox("list", "--url", url)
    assert done.returncode == 1
    assert "server unreachable" in done.stderr and url in done.stderr and "connection refused" in done.stderr
    decide = inbox("accept", "0" * 32, "--url", url)
    assert decide.returncode == 1 and "server unreachable" in decide.stderr


def test_a_decision_to_a_dead_server_is_reported_not_sent(tmp_path):
    server = InboxServe(tmp_path / "dying.sqlite").start()
    try:
        _thread, interrupt_id = seed(server.url, "agent", {"email": "dying"})
        from inbox.backends.remote import RemoteBackend
        from inbox.review import DecisionNotSent, ReviewService, blocking

        backend = blocking(RemoteBackend(server.url).connect())
        service = ReviewService(backend, reviewer="tester")
        item = blocking(service.item(interrupt_id))
        server.kill9()
        with pytest.raises(DecisionNotSent, match="not sent"):
            blocking(service.claim(item.id, [{"type": "accept", "args": None}]))
        server.start()  # back, on the same file: the request is still pending, nothing applied
        backend.close()
        again = inbox("list", "--url", server.url, "--json")
        assert interrupt_id in {i["id"] for i in json.loads(again.stdout)}
    finally:
        server.stop()
