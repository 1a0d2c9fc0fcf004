"""step.py's hand-written array literals (step_text) against a real server, as a hostile user
would fill them: every text, byte string and integer a step's operation may carry must reach
the server as exactly that value (never as SQL), the same values psycopg's own mogrify sends,
and whatever step_text does not write itself (other types, NUL, other server settings) must go
to mogrify and behave as it does."""

from __future__ import annotations

import enum
import random

import pytest

psycopg = pytest.importorskip("psycopg")

from engine.checkpoint.postgres.step import BLOBS, INTS, STEP_SQL, TEXTS, op, step_statement, step_text  # noqa: E402

HOSTILE = ["", " ", "\t\n", "NULL", "null", "Null", '"', "'", "''", "\\", "\\\\", '\\"', "{", "}", "{}", ",", "{,}",
           "a,b", '"NULL"', "E'\\x41'", "$$", "$tag$", "'); DROP TABLE engine_interrupts; --",
           "\\x00", "\u202e", "\u200b", "\ufeff", "🙂", "\U0010ffff", "表", "ソ", "x" * 70_000]


def _select(statement: str) -> str:
    """The step's call as a SELECT of its sixteen arrays (nothing is applied)."""
    assert statement.startswith("SELECT engine_step(") and statement.endswith(")")
    return "SELECT " + statement[len("SELECT engine_step("):-1]


_ALPHABET = "\\\"'{},; \t\nNULnul$E\u202e\u200b\ufeff\u00e9\u8868\U0001f642\U0010ffff\x01\x7f\x85\u2028"


def _text(rng: random.Random):
    roll = rng.random()
    if roll < 0.2:
        return None
    if roll < 0.45:
        return rng.choice(HOSTILE)
    if roll < 0.7:  # any code point but NUL and the surrogates
        return "".join(chr(rng.choice([rng.randrange(1, 0xD800), rng.randrange(0xE000, 0x110000)]))
                       for _ in range(rng.randrange(40)))
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(40)))


def _blob(rng: random.Random):
    return None if rng.random() < 0.2 else rng.randbytes(rng.randrange(40))


def _int(rng: random.Random):
    roll = rng.random()
    if roll < 0.2:
        return None
    if roll < 0.4:
        return rng.choice([0, -1, 1, 2 ** 63 - 1, -(2 ** 63), 2 ** 31, -(2 ** 31) - 1])
    return rng.randrange(-(2 ** 63), 2 ** 63)


def _random_ops(rng: random.Random) -> list:
    return [op(rng.choice(["write", "thread", "event", 'k"\\\'{']),
               *[_text(rng) for _ in range(rng.randrange(TEXTS + 1))],
               blobs=[_blob(rng) for _ in range(rng.randrange(BLOBS + 1))],
               ints=[_int(rng) for _ in range(rng.randrange(INTS + 1))])
            for _ in range(rng.randrange(1, 7))]


@pytest.fixture
def conn(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as connection:
        yield connection


def _check(conn, ops) -> None:
    """step_text's statement and mogrify's hold the values of `ops`, as the server reads them:
    compared there with the values bound as parameters (sent apart from the SQL), and read back."""
    cursor = psycopg.ClientCursor(conn)
    expected = step_statement(ops)[1]
    bound = STEP_SQL[len("SELECT engine_step("):-1]
    for statement in (step_text(ops, cursor), cursor.mogrify(*step_statement(ops))):
        arrays = _select(statement)[len("SELECT "):].replace("%", "%%")
        assert conn.execute(f"SELECT ROW({arrays}) IS NOT DISTINCT FROM ROW({bound})", expected).fetchone()[0]
        assert list(conn.execute(_select(statement)).fetchone()) == expected


def _digest(conn, statement: str) -> str:
    """The md5 of the arrays' text as the server holds it (in its own encoding)."""
    return conn.execute(f"SELECT md5(ROW({_select(statement)[len('SELECT '):]})::text)").fetchone()[0]


def test_every_value_a_step_may_carry_reads_back_as_itself_and_as_mogrify_sends_it(conn):
    rng = random.Random(20261130)  # seeded: a failure repeats
    for _ in range(400):
        _check(conn, _random_ops(rng))


def test_the_hostile_strings_one_by_one_and_all_in_one_column(conn):
    for value in HOSTILE:
        _check(conn, [op(value, value, *[value] * (TEXTS - 1))])
    _check(conn, [op("write", value) for value in HOSTILE])


class _Kind(str, enum.Enum):
    WRITE = "write"


class _Name(str):
    pass


@pytest.mark.parametrize("odd", [True, False, _Name("str subclass"), _Kind.WRITE, 3.5],
                         ids=["True", "False", "str-subclass", "str-enum", "float"])
def test_values_of_other_types_are_left_to_mogrify(conn, odd):
    """A bool is an int and a str enum is a str, but neither is written as one here: psycopg
    adapts them its own way (or refuses them), and step_text must say exactly what it says."""
    cursor = psycopg.ClientCursor(conn)
    for ops in ([op("write", odd)], [op("write", ints=(odd,))]):
        try:
            theirs = cursor.mogrify(*step_statement(ops))
        except Exception as exc:  # noqa: BLE001 - whatever psycopg raises, step_text raises too
            with pytest.raises(type(exc)):
                step_text(ops, cursor)
            continue
        assert step_text(ops, cursor) == theirs


def test_integers_beyond_bigint_are_refused_by_the_server_as_with_mogrify(conn):
    cursor = psycopg.ClientCursor(conn)
    for value in (2 ** 63, -(2 ** 63) - 1, 10 ** 30):
        ops = [op("renew", "t", ints=(value,))]
        with pytest.raises(psycopg.errors.NumericValueOutOfRange):
            conn.execute(_select(step_text(ops, cursor)))
        with pytest.raises(psycopg.errors.NumericValueOutOfRange):
            conn.execute(_select(cursor.mogrify(*step_statement(ops))))


def test_a_lone_surrogate_or_a_nul_is_refused_before_anything_is_sent(conn):
    cursor = psycopg.ClientCursor(conn)
    for bad in ("half \ud800 of a pair", "nul\x00here"):
        ops = [op("write", bad)]
        with pytest.raises(Exception) as theirs:
            conn.execute(_select(cursor.mogrify(*step_statement(ops))))
        with pytest.raises(type(theirs.value)):
            conn.execute(_select(step_text(ops, cursor)))


@pytest.mark.parametrize("setting", ["standard_conforming_strings=off", "client_encoding=SJIS",
                                     "client_encoding=BIG5", "client_encoding=LATIN1"])
def test_other_session_settings_give_the_same_values(pg_url, conn, setting):
    """With standard_conforming_strings off a backslash in '...' is an escape; in a client
    encoding whose two-byte characters end in 0x5C ('\\': SJIS's 表 and ソ, BIG5's 許) the
    server converts the text to its own encoding before parsing it. Either way the server holds
    the values it holds from a UTF-8 session (compared there, as digests: psycopg's own array
    adapters misread and miswrite SJIS and BIG5 arrays)."""
    name, value = setting.split("=")
    texts = HOSTILE + ["表", "ソ", "許", "é", "表'", "ソ\\", "許\""]
    with psycopg.connect(pg_url, autocommit=True, options=f"-c {name}={value}") as other:
        assert other.pgconn.parameter_status(name.encode()).decode().upper() == value.upper()
        cursor = psycopg.ClientCursor(other)
        encoding = other.info.encoding
        usable = [text for text in texts if text.encode(encoding, "ignore").decode(encoding) == text]
        ops = [op("write", text, text, blobs=(text.encode(),)) for text in usable]
        reference = _digest(conn, step_text(ops, psycopg.ClientCursor(conn)))
        assert _digest(other, step_text(ops, cursor)) == reference
        # psycopg's mogrify writes malformed text arrays in SJIS and BIG5, and bytea arrays that
        # read back wrong without standard_conforming_strings (psycopg 3.3.9)
        if value == "LATIN1":
            assert _digest(other, cursor.mogrify(*step_statement(ops))) == reference


@pytest.mark.parametrize("setting", ["standard_conforming_strings=off", "client_encoding=SJIS",
                                     "client_encoding=BIG5"])
def test_a_session_with_other_settings_stores_what_it_is_given(pg_url, setting):
    """psycopg's client-side binding writes a bytea array wrong when standard_conforming_strings
    is off (its bytes come back as the text of their hex escape): every checkpoint, write and
    event such a server stored was unreadable. In SJIS it writes text arrays holding 表 or ソ
    malformed. The saver's connections use the standard settings whatever the server's."""
    from typing import TypedDict
    from urllib.parse import quote

    from engine.checkpoint.postgres import PostgresSaver
    from engine.events import RunStarted
    from engine.graph import END, START, StateGraph
    from engine.types import interrupt

    class State(TypedDict):
        text: str

    def ask(state: State) -> State:
        return {"text": state["text"] + " " + interrupt({"question": "ok? " + "\\'\"{}" * 30})}

    graph = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    url = pg_url + ("&" if "?" in pg_url else "?") + "options=" + quote(f"-c {setting}")
    with PostgresSaver.from_conn_string(url) as saver:
        app = graph.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t\\'\"表ソ"}}
        app.invoke({"text": "it's \\ \"quoted\"" * 10}, config)
        assert app.get_state(config).values == {"text": "it's \\ \"quoted\"" * 10}
        [pending] = saver.list_pending()
        assert pending.payload == {"question": "ok? " + "\\'\"{}" * 30}
        from engine.types import Command

        assert app.invoke(Command(resume="yes \\x00 '"), config) == {"text": "it's \\ \"quoted\"" * 10 + " yes \\x00 '"}
        saver.put_events([RunStarted(at="2026-01-01T00:00:00+00:00", thread_id="e\\'表")])
        assert [e.thread_id for e in saver.read_events()][-1] == "e\\'表"
        assert sorted(t.thread_id for t in saver.list_threads()) == ["e\\'表", "t\\'\"表ソ"]
