"""Listing many interrupts takes shortcuts: payloads decoded together (`serde.loads_many`, with
orjson when installed), records built without pydantic's per-field bookkeeping, the garbage
collector paused while a large batch is built. Each must give exactly what the plain way gives."""

from __future__ import annotations

import copy
import gc
import pickle
import sqlite3
from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, Field

from engine.checkpoint import serde
from engine.checkpoint.sqlite import records as sqlite_records
from engine.checkpoint.serde import dumps, loads, loads_many
from engine.checkpoint.sqlite import InterruptRecord, SqliteSaver
from engine.events import InterruptExpired, InterruptRaised, InterruptResolved
from engine.types import Interrupt

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def exact(value) -> str:
    """A form that tells 1 from 1.0 and True, a tuple from a list, a set from a dict's keys."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{exact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return type(value).__name__ + "(" + ",".join(exact(v) for v in value) + ")"
    if isinstance(value, (set, frozenset)):
        return type(value).__name__ + "(" + ",".join(sorted(exact(v) for v in value)) + ")"
    return f"{type(value).__name__}:{value!r}"


class Point(BaseModel):
    x: int
    y: float


def tagged_payloads() -> list:
    return [
        ("tuple", "a", 2),
        {"when": datetime(2026, 5, 1, 12, 30, tzinfo=timezone.utc), "day": date(2026, 5, 2)},
        {"blob": b"\x00\xffbytes", "tags": {"x", "y"}, "point": Point(x=1, y=2.5)},
        [Interrupt(value={"q": "ok?"}, id="abc")],
        {"literal": "__engine_type__ in a plain string"},
    ]


def plain_payloads() -> list:
    return [
        [{"action_request": {"action": "send_email", "args": {"to": "ada@example.com", "n": 3}},
          "config": {"allow_accept": True, "allow_edit": False}, "description": "Send it?"}],
        "just a question",
        {"unicode": "héllo — 日本語 — 🚀 \u200b\x00 \x1b[31mred", "esc": "quote \" backslash \\ \n"},
        {"numbers": [0, -1, 1.0, -0.0, 1e300, 5e-324, 0.1, 2**63 - 1, -(2**63), 2**64 - 1]},
        {"big": [2**64, -(2**63) - 1, 10**30, -(10**40)], "digits": "1234567890123456789012"},
        None, True, 12, 3.5, [], {},
    ]


# --- serde.loads_many ---------------------------------------------------------------------------------

EDGE_TEXTS = [
    "NaN", "[Infinity,-Infinity]", "1e400", '"\\ud800"', '{"\\udfff":1}', " [1] ", "\t{}\n", '"plain"',
    "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
    "12345678901234567890123", '{"a":1,"a":2}', '"\\u00e9\\u0000"', "-0", "1.0", "[" * 50 + "]" * 50,
]


@pytest.fixture(params=["orjson", "stdlib"])
def parser(request, monkeypatch):
    if request.param == "orjson":
        if serde._orjson is None:
            pytest.skip("orjson is not installed")
    else:
        monkeypatch.setattr(serde, "_orjson", None)
    return request.param


def test_loads_many_is_loads_for_each_text(parser):
    texts = [dumps(v) for v in tagged_payloads() + plain_payloads()] + EDGE_TEXTS
    expected = [loads(text) for text in texts]
    got = loads_many(texts)
    assert [exact(v) for v in got] == [exact(v) for v in expected]
    assert isinstance(got[0], tuple) and isinstance(got[1]["when"], datetime)
    big = loads_many([dumps(plain_payloads()[4])])[0]["big"]
    assert big == [2**64, -(2**63) - 1, 10**30, -(10**40)] and all(type(n) is int for n in big)
    # each alone, and the untagged ones alone (the fast path for the whole batch)
    for text in texts:
        assert exact(loads_many([text])[0]) == exact(loads(text))
    plain = [t for t in texts if serde._TAG not in t]
    assert [exact(v) for v in loads_many(plain)] == [exact(loads(t)) for t in plain]
    assert loads_many([]) == []
    # many texts are decoded in batches: a batch with a big integer, NaN or a tag among plain ones
    many = [dumps({"n": n, "x": [n * 1.5, str(n)]}) for n in range(1000)]
    many[300], many[555], many[700], many[999] = "NaN", dumps((1, 2)), dumps(-(10**25)), dumps(2**64)
    assert [exact(v) for v in loads_many(many)] == [exact(loads(t)) for t in many]
    assert loads_many([dumps({"a": (1,)}).encode(), b'{"b":2}']) == [{"a": (1,)}, {"b": 2}]


def test_loads_of_one_text_gives_what_the_standard_parser_gives(monkeypatch):
    # loads() takes orjson for a text without a tag or a long run of digits: the value must be
    # the one json.loads gives, down to int/float, and what orjson refuses goes to json.loads
    if serde._orjson is None:
        pytest.skip("orjson is not installed")
    texts = [dumps(v) for v in tagged_payloads() + plain_payloads()] + EDGE_TEXTS
    fast = [exact(loads(text)) for text in texts]
    monkeypatch.setattr(serde, "_orjson", None)
    assert fast == [exact(loads(text)) for text in texts]


@pytest.mark.parametrize("bad", ["", "not json", "[1,2", "1,2", '{"a":1} x', '"\\x41"'])
def test_loads_many_refuses_what_loads_refuses(parser, bad):
    with pytest.raises(ValueError) as expected:
        loads(bad)
    with pytest.raises(ValueError) as got:
        loads_many(['{"ok":1}', bad, "[2]"])
    assert type(got.value) is type(expected.value)


# --- listing ------------------------------------------------------------------------------------------

async def _fill(saver: SqliteSaver, payloads: list) -> list[str]:
    ids = [f"i{n:05d}" for n in range(len(payloads))]
    events = [InterruptRaised(at=at(n), thread_id=f"t{n % 7}", graph=f"g{n % 3}", interrupt_id=ids[n],
                              ns=f"review:{n}" if n % 2 else "", node="review", checkpoint_id=f"c{n}",
                              value=payload, deadline=at(3600) if n % 5 == 0 else None,
                              on_timeout=("ignore", n) if n % 10 == 0 else None)
              for n, payload in enumerate(payloads)]
    await saver.aput_events(events)
    return ids


def _expected_fields(n: int, payload) -> dict:
    return {"id": f"i{n:05d}", "thread_id": f"t{n % 7}", "graph": f"g{n % 3}",
            "ns": f"review:{n}" if n % 2 else "", "node": "review", "checkpoint_id": f"c{n}",
            "payload": payload, "created_at": at(n), "deadline": at(3600) if n % 5 == 0 else None,
            "on_timeout": ("ignore", n) if n % 10 == 0 else None, "status": "pending", "overdue": False,
            "resolved_at": None, "resolved_by": None, "response": None, "applied": False, "reason": None,
            "decided_user": None, "decided_host": None}


def _stored(value):
    """What a payload is after a round trip (pydantic models come back as their dumped dict)."""
    return loads(dumps(value))


@pytest.mark.parametrize("count", [40, 2 * sqlite_records.GC_PAUSE_ROWS + 7])
async def test_listing_mixes_tagged_and_plain_payloads_exactly(tmp_path, parser, count):
    pool = tagged_payloads() + plain_payloads()
    payloads = [pool[n % len(pool)] for n in range(count)]
    async with SqliteSaver.from_conn_string(tmp_path / "list.sqlite") as saver:
        ids = await _fill(saver, payloads)
        listed = await saver.alist_pending()
        assert [r.id for r in listed] == ids
        for n, (record, payload) in enumerate(zip(listed, payloads)):
            want = _expected_fields(n, _stored(payload))
            assert {name: exact(getattr(record, name)) for name in want} == \
                {name: exact(value) for name, value in want.items()}, n
            # the same record as the one-row path and as a validated construction
            if n < 40 or n % 97 == 0:
                assert record == await saver.aget_interrupt(record.id)
                assert record == InterruptRecord(**want)
        # a page in the middle, a filter, and the decision log go through the same path
        page = await saver.alist_pending(limit=5, offset=11)
        assert [r.id for r in page] == ids[11:16] and page == listed[11:16]
        assert [r.id for r in await saver.alist_pending(graph="g1")] == ids[1::3]


async def test_decided_rows_keep_every_field(tmp_path, parser):
    async with SqliteSaver.from_conn_string(tmp_path / "decided.sqlite") as saver:
        ids = await _fill(saver, tagged_payloads() + plain_payloads())
        await saver.aput_events([
            InterruptResolved(at=at(100), thread_id="t0", interrupt_id=ids[0],
                              response={"type": "edit", "args": (1, datetime(2026, 2, 2, tzinfo=timezone.utc))},
                              by="carol"),
            InterruptExpired(at=at(101), thread_id="t1", interrupt_id=ids[1], policy="flag"),
        ])
        decided = (await saver.adecisions())[0]
        assert (decided.status, decided.resolved_by, decided.resolved_at, decided.applied) == \
            ("resolved", "carol", at(100), True)
        assert exact(decided.response) == exact({"type": "edit", "args": (1, datetime(2026, 2, 2, tzinfo=timezone.utc))})
        flagged = next(r for r in await saver.alist_pending() if r.id == ids[1])
        assert flagged.overdue is True and flagged.applied is False
        assert decided == await saver.aget_interrupt(ids[0])


async def test_listed_records_behave_like_constructed_ones(tmp_path):
    async with SqliteSaver.from_conn_string(tmp_path / "records.sqlite") as saver:
        await _fill(saver, plain_payloads())
        first, second = (await saver.alist_pending())[:2]
    everything = set(InterruptRecord.model_fields)
    assert first.model_fields_set == everything == second.model_fields_set
    validated = InterruptRecord.model_validate(first.model_dump())
    assert validated == first and validated.model_dump() == first.model_dump()
    assert first.model_dump_json() == validated.model_dump_json()
    assert repr(validated) == repr(first)
    changed = first.model_copy(update={"reason": "x"})
    assert changed.reason == "x" and first.reason is None
    assert first.model_fields_set == everything == second.model_fields_set
    assert copy.deepcopy(first) == first and pickle.loads(pickle.dumps(first)) == first
    with pytest.raises(Exception):
        first.status = "resolved"  # frozen, as before


async def test_the_collector_is_paused_only_while_a_large_batch_is_built(tmp_path, monkeypatch):
    seen = []
    real = sqlite_records.loads_many
    monkeypatch.setattr(sqlite_records, "loads_many", lambda texts: seen.append(gc.isenabled()) or real(texts))
    async with SqliteSaver.from_conn_string(tmp_path / "gc.sqlite") as saver:
        await _fill(saver, [{"n": n} for n in range(sqlite_records.GC_PAUSE_ROWS)])
        assert gc.isenabled()
        assert len(await saver.alist_pending()) == sqlite_records.GC_PAUSE_ROWS
        assert len(await saver.alist_pending(limit=10)) == 10
        assert seen == [False, True] and gc.isenabled()
        gc.disable()  # the caller's choice is kept
        try:
            await saver.alist_pending()
            assert not gc.isenabled()
        finally:
            gc.enable()
        # a row that fails to decode leaves the collector as it was
        path = saver.path
    with sqlite3.connect(path) as db:
        db.execute("UPDATE interrupts SET payload = 'not json' WHERE id = 'i00500'")
    async with SqliteSaver.from_conn_string(path) as saver:
        with pytest.raises(ValueError):
            await saver.alist_pending()
        assert gc.isenabled()


async def test_models_the_shortcut_cannot_build_take_model_construct(tmp_path, monkeypatch):
    async with SqliteSaver.from_conn_string(tmp_path / "plain.sqlite") as saver:
        await _fill(saver, tagged_payloads() + plain_payloads())
        fast = await saver.alist_pending()
        monkeypatch.setattr(sqlite_records, "_PLAIN", False)
        slow = await saver.alist_pending()
    assert slow == fast and [r.model_fields_set for r in slow] == [r.model_fields_set for r in fast]
    assert [exact(r.payload) for r in slow] == [exact(r.payload) for r in fast]
    assert sqlite_records._constructs_plainly(InterruptRecord)

    class Aliased(BaseModel):
        x: int = Field(alias="y")

    assert not sqlite_records._constructs_plainly(Aliased)


async def test_pending_rows_with_a_decision_column_set_keep_it(tmp_path, parser):
    """The listing reads the seven decision columns only for pending rows that have one set (the
    saver's own writes never do): such rows, written by hand, come back exactly."""
    path = tmp_path / "odd.sqlite"
    async with SqliteSaver.from_conn_string(path) as saver:
        ids = await _fill(saver, [{"n": n} for n in range(1200)])
    odd = {ids[3]: ("resolved_at", "2026-02-02T00:00:00.000000+00:00"), ids[4]: ("resolved_by", "bob"),
           ids[5]: ("response", dumps((1, "x"))), ids[6]: ("applied", 1), ids[7]: ("reason", "note"),
           ids[8]: ("applied", b"\x00"), ids[9]: ("decided_user", "root"), ids[10]: ("decided_host", "box")}
    with sqlite3.connect(path) as db:
        for interrupt_id, (column, value) in odd.items():
            db.execute(f"UPDATE interrupts SET {column} = ? WHERE id = ?", (value, interrupt_id))
        # more than one IN (...) chunk of them
        db.execute("UPDATE interrupts SET reason = 'bulk' WHERE rowid % 2 = 0 AND rowid > 20")
    async with SqliteSaver.from_conn_string(path) as saver:
        listed = await saver.alist_pending()
        assert [r.id for r in listed] == ids
        for record in listed[:40] + listed[-40:]:
            assert record == await saver.aget_interrupt(record.id)
            assert exact(record.response) == exact((await saver.aget_interrupt(record.id)).response)
        by_id = {r.id: r for r in listed}
        assert by_id[ids[3]].resolved_at == "2026-02-02T00:00:00.000000+00:00"
        assert by_id[ids[4]].resolved_by == "bob"
        assert by_id[ids[5]].response == (1, "x")
        assert by_id[ids[6]].applied is True and by_id[ids[8]].applied is True
        assert by_id[ids[7]].reason == "note" and by_id[ids[2]].reason is None
        assert (by_id[ids[9]].decided_user, by_id[ids[10]].decided_host) == ("root", "box")
        assert by_id[ids[2]].decided_user is None and by_id[ids[2]].decided_host is None
        assert sum(r.reason == "bulk" for r in listed) > 500
        assert all(r.status == "pending" for r in listed)
        assert await saver.alist_pending(limit=3, offset=3) == listed[3:6]
