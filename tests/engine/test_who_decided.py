"""A decision's audit row says who claimed it (`resolved_by`, the name the reviewer gave) and
who the machine says made it (`decided_user`, `decided_host`); the names the system records its
own decisions under cannot be claimed by a person."""

from __future__ import annotations

import getpass
import socket

import pytest

from engine.checkpoint.sqlite import queries as sqlite_queries
from engine.checkpoint.sqlite import SqliteSaver
from engine.constants import reserved_decider
from engine.events import InterruptRaised

AT = "2026-01-01T00:00:00+00:00"


@pytest.fixture
async def saver(tmp_path):
    async with SqliteSaver.from_conn_string(tmp_path / "who.sqlite") as opened:
        await opened.aput_events([
            InterruptRaised(at=AT, thread_id="t", interrupt_id=name, value="ok?",
                            deadline="2026-01-01T01:00:00+00:00" if name == "timed" else None,
                            on_timeout={"answer": "no"} if name == "timed" else None)
            for name in ("a", "b", "timed")])
        yield opened


async def test_resolve_records_the_os_user_and_host_with_the_claimed_name(saver):
    record = await saver.aresolve("a", "yes", by="alice")
    assert (record.resolved_by, record.decided_user, record.decided_host) == \
        ("alice", getpass.getuser(), socket.gethostname())
    assert await saver.aget_interrupt("a") == record
    assert (await saver.adecisions())[0] == record
    pending = {r.id: r for r in await saver.alist_pending()}
    assert pending["b"].decided_user is None and pending["b"].decided_host is None


async def test_without_a_login_name_the_uid_is_recorded(saver, monkeypatch):
    def no_login():
        raise OSError("no passwd entry")

    monkeypatch.setattr(sqlite_queries.getpass, "getuser", no_login)
    record = await saver.aresolve("a", "yes", by="alice")
    assert record.decided_user == f"uid {__import__('os').getuid()}"


@pytest.mark.parametrize("name", ["deadline", "system", "api", "API", " deadline ", "rule:auto", "Rule:x"])
async def test_system_names_cannot_be_claimed(saver, name):
    with pytest.raises(ValueError, match="is reserved for decisions the system makes .*deadline, system, api"):
        await saver.aresolve("a", "yes", by=name)
    assert (await saver.aget_interrupt("a")).status == "pending"


async def test_the_engine_still_records_its_own_names(saver):
    expired = await saver.aexpire_due("2026-01-01T02:00:00+00:00")
    assert [(r.id, r.resolved_by, r.decided_user) for r in expired] == [("timed", "deadline", None)]


@pytest.mark.parametrize("name", ["alice", "deadline-team", "systems", "apiary", "ruler", "Dana O'Neil"])
def test_names_that_only_look_alike_are_people(name):
    assert reserved_decider(name) is None
