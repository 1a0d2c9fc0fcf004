"""The `inbox` command on a Postgres database: `--db postgresql://...` and `INBOX_DB`, with a
password in the URL that no output line may show (a trust-auth test server ignores it)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("psycopg")

from inbox.demo import seed  # noqa: E402
from test_cli import CLEANUP, CLUSTER, DEPLOY, PAYMENTS, TRAVEL, TRIAGE, cli_env, inbox, ok  # noqa: E402

SECRET = "pw-not-to-print"
GRAPHS = [arg for ref in (TRAVEL, DEPLOY, PAYMENTS, CLEANUP, TRIAGE, CLUSTER) for arg in ("--graph", ref)]


def with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@")


def test_headless_commands_on_a_postgres_url(pg_url, tmp_path):
    url = with_password(pg_url)
    seed(url, threads=3)
    listed = ok(inbox("list", "--json", "--db", url, cwd=tmp_path))
    items = json.loads(listed.stdout)
    assert len(items) == 3
    first = items[0]["id"]
    shown = ok(inbox("show", first, "--json", cwd=tmp_path, env=cli_env(tmp_path, INBOX_DB=url)))  # --db from INBOX_DB
    assert json.loads(shown.stdout)["id"] == first
    decided = ok(inbox("accept", first, *GRAPHS, "--by", "ann", cwd=tmp_path,
                       env=cli_env(tmp_path, DATABASE_URL=url)))  # and from DATABASE_URL
    assert json.loads(decided.stdout.splitlines()[-1])["status"] in ("done", "interrupted")
    again = inbox("accept", first, "--by", "bob", "--db", url, cwd=tmp_path)
    assert again.returncode == 3 and "ann" in again.stderr
    for result in (listed, shown, decided, again):
        assert SECRET not in result.stdout + result.stderr


def test_an_unreachable_postgres_url_is_one_clear_line_without_the_password(tmp_path):
    url = f"postgresql://ann:{SECRET}@127.0.0.1:1/inbox?connect_timeout=2"
    failed = inbox("list", "--db", url, cwd=tmp_path)
    assert failed.returncode == 2, failed.stderr
    assert "postgresql://ann:***@127.0.0.1:1/inbox" in failed.stderr and SECRET not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
