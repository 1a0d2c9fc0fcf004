"""The `inbox` command on damaged or odd files, and the identity and input checks around a
decision, run as real subprocesses on real SQLite files (helpers from test_cli.py).

- A file of ours with a corrupt page, or missing one of its tables, is refused by every command
  with exit 2 and one line saying what is wrong and what to do, and nothing in its directory
  changes: not the file's bytes, and no -wal/-shm appears (the check runs on a read-only
  connection before the saver's own connection opens the file).
- `inbox list` and `inbox show` leave an empty file (or an empty SQLite database) as it is.
- `--args`/`--json` nested too deep, a system name given as the reviewer: exit 2, nothing stored.
- The decision records the OS user and host next to the claimed reviewer name.
- `--graph module:attr` finds the user's module in the current directory, but after the
  standard library: a stray queue.py there is not imported in place of `queue`.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.checkpoint.serde import MAX_DEPTH
from inbox.demo import seed

from test_cli import (TRAVEL, cli_env, fails_cleanly, inbox, inbox_many, ok, record, shown,  # noqa: F401
                      shared_bytecode_cache)

COMMAND_LINES = [  # every command but `open` (the TUI) and `demo`; ID is the travel request
    ("list",), ("list", "--json"), ("show", "ID"), ("accept", "ID"), ("accept", "ID", "--graph", TRAVEL),
    ("edit", "ID", "--args", '{"cabin": "business"}'), ("respond", "ID", "not today"), ("ignore", "ID"),
    ("worker", "--once", "--graph", TRAVEL),
]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """Three paused demo threads (travel, email, payments), closed cleanly: no -wal left."""
    db = tmp_path_factory.mktemp("files-template") / "inbox.sqlite"
    seed(db, threads=3)
    assert not Path(f"{db}-wal").exists()
    return db


@pytest.fixture
def db(seeded, tmp_path) -> Path:
    target = tmp_path / "inbox.sqlite"
    target.write_bytes(seeded.read_bytes())
    return target


def travel_id(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)) as conn:
        return conn.execute("SELECT id FROM interrupts WHERE thread_id LIKE 'travel-agent-%'").fetchone()[0]


def folder_state(folder: Path) -> dict[str, str]:
    """Every file in the folder with a hash of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def run_every_command(db: Path, interrupt_id: str) -> list[tuple[tuple, subprocess.CompletedProcess]]:
    argvs = [tuple(interrupt_id if a == "ID" else a for a in argv) + ("--db", db) for argv in COMMAND_LINES]
    return list(zip(argvs, inbox_many(argvs, db.parent)))


def corrupt_page(db: Path, name: str) -> int:
    """Overwrite the b-tree header of the root page of table or index `name` (not page 1)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    assert root > 1
    data = bytearray(db.read_bytes())
    start = (root - 1) * page_size
    data[start:start + 8] = b"\xff" * 8  # an impossible page type, cell count and content offset
    db.write_bytes(bytes(data))
    return root


# ---- a corrupt page ---------------------------------------------------------------------------


@pytest.mark.parametrize("damaged", [
    "interrupts_by_thread",  # an index every decision's UPDATE touches
    "checkpoints",  # a table a decision's claim never reads: it used to be written, then the run failed
])
def test_a_corrupt_page_is_refused_by_every_command_before_anything_is_written(db, damaged):
    interrupt_id = travel_id(db)
    corrupt_page(db, damaged)
    before = folder_state(db.parent)

    for argv, result in run_every_command(db, interrupt_id):
        fails_cleanly(result, 2, str(db), "is corrupt", "Nothing was written", ".recover")
        assert folder_state(db.parent) == before, f"inbox {argv} changed the folder"


def test_a_page_damaged_while_the_file_is_open_is_explained_not_unexpected(db):
    """The check at open passed; then another program wrote over a page. The store's next
    read meets it: the inbox (the TUI's failure line, the CLI) gives the same advice as at
    open instead of "unexpected DatabaseError: database disk image is malformed"."""
    from engine.checkpoint.sqlite import SqliteSaver
    from inbox.backends.local import LocalBackend
    from inbox.cli import _damaged

    with SqliteSaver.from_conn_string(str(db)) as saver:
        corrupt_page(db, "checkpoints")  # not read yet by this connection
        with pytest.raises(sqlite3.DatabaseError) as caught:
            list(saver.list(None))
        explained = LocalBackend(saver).explain(caught.value)
        assert explained is not None
        assert str(db) in explained and "is corrupt" in explained and "malformed" in explained
        assert ".recover" in explained and "was not written" in explained
        assert str(_damaged(caught.value, type("Args", (), {"db": str(db)}))) == explained
    assert LocalBackend(None).explain(sqlite3.OperationalError("database is locked")) is None
    assert LocalBackend(None).explain(ValueError("malformed")) is None


# ---- a missing table --------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["events", "interrupts", "leases"])
def test_a_missing_table_is_named_by_every_command_and_nothing_is_written(db, table):
    interrupt_id = travel_id(db)
    with contextlib.closing(sqlite3.connect(db)) as conn:  # closed: the WAL goes back into the file
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
    assert not Path(f"{db}-wal").exists()
    before = folder_state(db.parent)

    for argv, result in run_every_command(db, interrupt_id):
        fails_cleanly(result, 2, str(db), f"its table(s) {table} are missing", "restore it from a backup")
        assert folder_state(db.parent) == before, f"inbox {argv} changed the folder"


# ---- empty files ------------------------------------------------------------------------------


def empty_sqlite_database(path: Path) -> None:
    """A valid SQLite file with no table: what `sqlite3 x.db 'create table t(a); drop table t'` leaves."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE t (a)")
        conn.execute("DROP TABLE t")
        conn.commit()


@pytest.mark.parametrize("kind, fragment", [("0-bytes", "is an empty file (0 bytes), not an inbox database"),
                                            ("no-tables", "is an empty SQLite database (no tables), not an inbox")])
def test_list_and_show_leave_an_empty_file_as_it_is(tmp_path, kind, fragment):
    path = tmp_path / "empty.sqlite"
    if kind == "0-bytes":
        path.write_bytes(b"")
    else:
        empty_sqlite_database(path)
    before = folder_state(tmp_path)

    argvs = [("list", "--db", path), ("list", "--json", "--db", path), ("show", "0" * 32, "--db", path)]
    for argv, result in zip(argvs, inbox_many(argvs, tmp_path)):
        fails_cleanly(result, 2, str(path), fragment, "left untouched")
        assert folder_state(tmp_path) == before, f"inbox {argv} changed the folder"
    if kind == "0-bytes":
        assert path.stat().st_size == 0


def test_a_decision_still_adopts_an_empty_file(tmp_path):
    """Commands that write make an empty file an inbox database as before (then find no such id)."""
    path = tmp_path / "empty.sqlite"
    path.write_bytes(b"")
    fails_cleanly(inbox("accept", "0" * 32, "--db", path, cwd=tmp_path), 2, "no interrupt with id")
    assert path.stat().st_size > 0
    ok(inbox("list", "--db", path, cwd=tmp_path))


# ---- deep input -------------------------------------------------------------------------------


def nested(levels: int) -> str:
    return '{"notes": ' + "[" * levels + "]" * levels + "}"


# 60,000 levels: json.loads itself raises RecursionError on it. (100,000 would be 200 kB, more than
# Linux takes as one argument: MAX_ARG_STRLEN is 128 kB.)
@pytest.mark.parametrize("levels", [60_000, MAX_DEPTH + 1], ids=["recursion", "over-the-limit"])
def test_deep_json_input_is_one_clear_line_and_stores_nothing(db, levels):
    interrupt_id = travel_id(db)
    email_id = record_ids(db)["email-assistant"]
    edit, respond = inbox_many([("edit", interrupt_id, "--db", db, "--args", nested(levels)),
                                ("respond", email_id, nested(levels), "--json", "--db", db)], db.parent)
    fails_cleanly(edit, 2, "--args is nested more than 400 levels deep", "flatten it")
    fails_cleanly(respond, 2, "the answer is nested more than 400 levels deep")
    assert record(db, interrupt_id).status == "pending"
    assert record(db, email_id).status == "pending"


def record_ids(db: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)) as conn:
        return {thread.rsplit("-", 1)[0]: i for i, thread in conn.execute("SELECT id, thread_id FROM interrupts")}


# ---- who decided ------------------------------------------------------------------------------


def test_the_decision_records_the_os_user_and_host_and_show_prints_them(db):
    interrupt_id = travel_id(db)
    ok(inbox("accept", interrupt_id, "--db", db, "--by", "alice", cwd=db.parent))
    stored = record(db, interrupt_id)
    assert (stored.resolved_by, stored.decided_user, stored.decided_host) == \
        ("alice", getpass.getuser(), socket.gethostname())
    shown_item = json.loads(ok(inbox("show", interrupt_id, "--db", db, "--json", cwd=db.parent)).stdout)
    assert (shown_item["resolved_by"], shown_item["decided_user"], shown_item["decided_host"]) == \
        ("alice", getpass.getuser(), socket.gethostname())


@pytest.mark.parametrize("name", ["deadline", "system", "API", "rule:auto-approve"])
def test_a_system_name_cannot_be_claimed_with_by(db, name):
    interrupt_id = travel_id(db)
    before = folder_state(db.parent)
    fails_cleanly(inbox("accept", interrupt_id, "--db", db, "--by", name, cwd=db.parent), 2,
                  f"--by {name!r}", "is reserved for decisions the system makes")
    assert folder_state(db.parent) == before  # refused before the file is opened


def test_a_system_name_as_the_configured_reviewer_is_refused_at_start(db, tmp_path):
    interrupt_id = travel_id(db)
    config = tmp_path / "config.toml"
    config.write_text('reviewer = "deadline"\n')
    from_file = cli_env(db.parent, INBOX_CONFIG=str(config))
    del from_file["INBOX_REVIEWER"]  # (the variable would win over the file)
    for env in (cli_env(db.parent, INBOX_REVIEWER="system"), from_file):
        result = inbox("accept", interrupt_id, "--db", db, cwd=db.parent, env=env)
        fails_cleanly(result, 2, "invalid inbox settings", "reviewer", "is reserved")
    assert record(db, interrupt_id).status == "pending"


# ---- where --graph modules come from ----------------------------------------------------------


def test_graph_modules_in_the_current_directory_do_not_shadow_the_standard_library(db):
    cwd = db.parent
    marker = cwd / "shadowed.txt"
    (cwd / "queue.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n"
                                  "raise ImportError('the stray queue.py in the current directory')\n")
    (cwd / "myagents.py").write_text("from inbox.demo.travel import build\n")
    # -P: no script directory or current directory at the front of sys.path, as when the `inbox`
    # console script runs (python -m would put the current directory there itself).
    result = subprocess.run([sys.executable, "-P", "-m", "inbox.cli", "accept", travel_id(db), "--db", str(db),
                             "--graph", "travel-agent=myagents:build"],
                            cwd=cwd, env=cli_env(cwd), capture_output=True, text=True, timeout=60)
    assert not marker.exists(), shown(result)
    assert json.loads(ok(result).stdout)["status"] in ("interrupted", "done"), shown(result)
