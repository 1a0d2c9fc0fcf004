"""The SQLite file format of `SqliteSaver`: the tables, their migrations, and the checks that
keep the saver away from files that are not its own.

A file is ours when its `PRAGMA application_id` is `APPLICATION_ID`; its `PRAGMA user_version`
is the schema version, and `schema_migrations` records when each migration ran. Migrations are
append-only: to change the schema, add a `(version, [statements])` entry to `MIGRATIONS`.

The checks never write to a file they refuse: a file that is not SQLite is recognised from its
first bytes without opening it as a database, and a SQLite file that might be foreign is read
through a read-only connection (which also never checkpoints someone else's WAL into it).
A file of ours is checked the same way before the saver's own connection opens it: a corrupt
page (`PRAGMA quick_check`) or a missing table refuses it before anything can be written.
"""

from __future__ import annotations

import functools
import os
import shlex
import sqlite3
import stat
import urllib.parse
from datetime import datetime, timezone

import aiosqlite

from engine.checkpoint.sqlite import checked_files
from engine.checkpoint.sqlite.times import stored_time
from engine.errors import StorageError

APPLICATION_ID = int.from_bytes(b"AgIn", "big")  # 0x4167496E: "agent inbox"
SQLITE_MAGIC = b"SQLite format 3\x00"

# Every statement of a migration runs inside the opening BEGIN IMMEDIATE transaction, so a
# migration either applies completely or not at all (never use executescript: it commits).
MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE schema_migrations (
            version    INTEGER PRIMARY KEY,
            applied_at TEXT NOT NULL
        )""",
        # One row per thread: what the inbox lists. Maintained from the run events.
        """CREATE TABLE threads (
            thread_id  TEXT PRIMARY KEY,
            graph      TEXT NOT NULL DEFAULT '',
            status     TEXT NOT NULL DEFAULT 'idle'
                       CHECK (status IN ('idle', 'busy', 'interrupted', 'error', 'done')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            metadata   TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX threads_by_status ON threads (status, updated_at)",
        "CREATE INDEX threads_by_updated ON threads (updated_at)",
        # A checkpoint without its versioned channel values: `value_refs` is a JSON list of
        # [channel, version, blob_id] in channel order (blob_id null: the value is inline in
        # `checkpoint`, because the channel has no version). Insertion order (rowid) is what
        # "latest" means, as in InMemorySaver.
        """CREATE TABLE checkpoints (
            thread_id            TEXT NOT NULL,
            checkpoint_ns        TEXT NOT NULL,
            checkpoint_id        TEXT NOT NULL,
            parent_checkpoint_id TEXT,
            checkpoint           TEXT NOT NULL,
            metadata             TEXT NOT NULL,
            value_refs           TEXT NOT NULL,
            UNIQUE (thread_id, checkpoint_ns, checkpoint_id)
        )""",
        "CREATE INDEX checkpoints_by_insertion ON checkpoints (thread_id, checkpoint_ns)",
        "CREATE INDEX checkpoints_by_id ON checkpoints (checkpoint_id)",
        # Channel values, written only when a channel's version changes. A row with a base_id
        # holds only the JSON list of items appended to its base's list value (depth = length
        # of that chain); a row without one holds the whole value.
        """CREATE TABLE blobs (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            thread_id     TEXT NOT NULL,
            checkpoint_ns TEXT NOT NULL,
            channel       TEXT NOT NULL,
            version       TEXT NOT NULL,
            base_id       INTEGER REFERENCES blobs (id),
            depth         INTEGER NOT NULL DEFAULT 0,
            value         TEXT NOT NULL
        )""",
        "CREATE INDEX blobs_by_thread ON blobs (thread_id, checkpoint_ns, channel, version)",
        "CREATE INDEX blobs_by_base ON blobs (base_id)",
        # Pending writes, upserted by (task_id, channel) per checkpoint; rowid keeps first-put order.
        """CREATE TABLE writes (
            thread_id     TEXT NOT NULL,
            checkpoint_ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            task_id       TEXT NOT NULL,
            channel       TEXT NOT NULL,
            task_path     TEXT NOT NULL DEFAULT '',
            value         TEXT NOT NULL,
            UNIQUE (thread_id, checkpoint_ns, checkpoint_id, task_id, channel)
        )""",
        # The pending-interrupt index and, once decided, the audit log.
        """CREATE TABLE interrupts (
            id            TEXT PRIMARY KEY,
            thread_id     TEXT NOT NULL,
            graph         TEXT NOT NULL DEFAULT '',
            ns            TEXT NOT NULL DEFAULT '',
            node          TEXT NOT NULL DEFAULT '',
            checkpoint_id TEXT NOT NULL DEFAULT '',
            payload       TEXT NOT NULL,
            created_at    TEXT NOT NULL,
            deadline      TEXT,
            on_timeout    TEXT,
            status        TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'resolved', 'cancelled', 'expired')),
            overdue       INTEGER NOT NULL DEFAULT 0,
            resolved_at   TEXT,
            resolved_by   TEXT,
            response      TEXT,
            applied       INTEGER NOT NULL DEFAULT 0,
            reason        TEXT
        )""",
        "CREATE INDEX interrupts_by_status ON interrupts (status, created_at)",
        "CREATE INDEX interrupts_by_thread ON interrupts (thread_id, status)",
        "CREATE INDEX interrupts_by_deadline ON interrupts (deadline) "
        "WHERE status = 'pending' AND deadline IS NOT NULL",
        "CREATE INDEX interrupts_decided ON interrupts (resolved_at) WHERE status <> 'pending'",
        "CREATE INDEX interrupts_unapplied ON interrupts (resolved_at) "
        "WHERE applied = 0 AND status IN ('resolved', 'expired')",
        """CREATE TABLE events (
            seq       INTEGER PRIMARY KEY AUTOINCREMENT,
            at        TEXT NOT NULL,
            thread_id TEXT NOT NULL,
            graph     TEXT NOT NULL DEFAULT '',
            kind      TEXT NOT NULL,
            data      TEXT NOT NULL
        )""",
        "CREATE INDEX events_by_thread ON events (thread_id, seq)",
    ]),
    # Version 2 changes no table: from now on blobs.value, writes.value, events.data and
    # checkpoints.checkpoint may hold compressed BLOB values (see packing.py), and events.data
    # leaves out thread_id, graph and kind (they have columns) and, for interrupt_raised, the
    # value when it is the interrupt row's payload. Version 1 files upgrade in
    # place (their rows stay readable as they are); the version bump makes an older engine
    # refuse a file it could not read.
    (2, []),
    # Version 3 stores less per paused thread; rows written by versions 1 and 2 stay readable.
    # - writes: the UNIQUE (thread_id, checkpoint_ns, checkpoint_id, task_id, channel) index
    #   repeated ~100 bytes of key per row; the saver now upserts by (task_id, channel) itself
    #   through a three-column index (rowids are kept, so first-put order is kept too).
    #   An `__interrupt__` write may name interrupts whose rows hold the same payload.
    # - blobs: thread_id, checkpoint_ns, channel and version were never read, and go with
    #   blobs_by_thread: a thread's blobs are found through its checkpoints' value_refs (and the
    #   bases and related rows those need), and the saver deletes the ones a replaced
    #   checkpoint row leaves unreachable. Blobs no checkpoint reaches already (left by a
    #   replaced checkpoint before this version) are deleted here. Without the foreign key on
    #   base_id no index on it is needed (a blob is only deleted with everything that needs it).
    #   The AUTOINCREMENT counter is carried over: blob ids are never reused.
    # - checkpoints_by_id and events_by_thread served no query (the events table is rebuilt
    #   below, without the latter).
    # - stored values use packing.py's format 2 (format 1 is still read), also for short
    #   texts and for checkpoints.metadata and value_refs, and a blob may be of format 3
    #   (deflated against another blob of the same checkpoint); checkpoints.checkpoint leaves
    #   out what its row gives back (compaction.compact_checkpoint); event data leaves out
    #   `at` when the column holds the same text, and an interrupt_raised row may take every
    #   field but interrupt_id from its interrupt's row.
    (3, [
        """CREATE TABLE writes_v3 (
            thread_id     TEXT NOT NULL,
            checkpoint_ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            task_id       TEXT NOT NULL,
            channel       TEXT NOT NULL,
            task_path     TEXT NOT NULL DEFAULT '',
            value         TEXT NOT NULL
        )""",
        "INSERT INTO writes_v3 (rowid, thread_id, checkpoint_ns, checkpoint_id, task_id, channel, task_path, value) "
        "SELECT rowid, thread_id, checkpoint_ns, checkpoint_id, task_id, channel, task_path, value FROM writes",
        "DROP TABLE writes",
        "ALTER TABLE writes_v3 RENAME TO writes",
        "CREATE INDEX writes_by_checkpoint ON writes (thread_id, checkpoint_id, checkpoint_ns)",
        """CREATE TABLE blobs_v3 (
            id      INTEGER PRIMARY KEY AUTOINCREMENT,
            base_id INTEGER,
            depth   INTEGER NOT NULL DEFAULT 0,
            value   TEXT NOT NULL
        )""",
        # (value_refs are plain JSON lists of [channel, version, blob_id] before this version)
        """INSERT INTO blobs_v3 (id, base_id, depth, value)
        WITH RECURSIVE reached(id) AS (
            SELECT json_extract(ref.value, '$[2]') FROM checkpoints, json_each(checkpoints.value_refs) AS ref
            WHERE json_extract(ref.value, '$[2]') IS NOT NULL
            UNION
            SELECT blobs.base_id FROM blobs JOIN reached ON blobs.id = reached.id WHERE blobs.base_id IS NOT NULL
        )
        SELECT id, base_id, depth, value FROM blobs WHERE id IN (SELECT id FROM reached) ORDER BY id""",
        "DELETE FROM sqlite_sequence WHERE name = 'blobs_v3'",
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'blobs_v3', seq FROM sqlite_sequence WHERE name = 'blobs'",
        "DROP TABLE blobs",
        "ALTER TABLE blobs_v3 RENAME TO blobs",
        "DROP INDEX checkpoints_by_id",
        # events: `at` loses its text affinity, to hold a time as integer microseconds since
        # 1970 UTC (see times.stored_time); rows already written keep their text.
        """CREATE TABLE events_v3 (
            seq       INTEGER PRIMARY KEY AUTOINCREMENT,
            at        NOT NULL,
            thread_id TEXT NOT NULL,
            graph     TEXT NOT NULL DEFAULT '',
            kind      TEXT NOT NULL,
            data      TEXT NOT NULL
        )""",
        "INSERT INTO events_v3 (seq, at, thread_id, graph, kind, data) "
        "SELECT seq, at, thread_id, graph, kind, data FROM events ORDER BY seq",
        "DELETE FROM sqlite_sequence WHERE name = 'events_v3'",
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'events_v3', seq FROM sqlite_sequence WHERE name = 'events'",
        "DROP TABLE events",
        "ALTER TABLE events_v3 RENAME TO events",
        # threads: created_at and updated_at lose their text affinity the same way; the rows
        # already written are converted by times.stored_time (registered by
        # ensure_schema as engine_stored_time), so times keep their order.
        """CREATE TABLE threads_v3 (
            thread_id  TEXT PRIMARY KEY,
            graph      TEXT NOT NULL DEFAULT '',
            status     TEXT NOT NULL DEFAULT 'idle'
                       CHECK (status IN ('idle', 'busy', 'interrupted', 'error', 'done')),
            created_at NOT NULL,
            updated_at NOT NULL,
            metadata   TEXT NOT NULL DEFAULT '{}'
        )""",
        "INSERT INTO threads_v3 (rowid, thread_id, graph, status, created_at, updated_at, metadata) "
        "SELECT rowid, thread_id, graph, status, engine_stored_time(created_at), "
        "engine_stored_time(updated_at), metadata FROM threads ORDER BY rowid",
        "DROP TABLE threads",
        "ALTER TABLE threads_v3 RENAME TO threads",
        "CREATE INDEX threads_by_status ON threads (status, updated_at)",
        "CREATE INDEX threads_by_updated ON threads (updated_at)",
    ]),
    # Version 4: exactly once, end to end (see engine/runtime/ownership.py).
    # - leases: who runs a thread now. One row per thread while a run is active, taken with
    #   one conditional write, renewed by every step the run commits (and by a heartbeat),
    #   deleted when the run pauses or ends. expires_at is unix time in microseconds.
    # - tool_calls: a reviewed tool's call, recorded as started before it runs and done after;
    #   a call left "started" by a dead process is in doubt until a reviewer settles it.
    # - interrupts.decided_user / decided_host: the OS account and machine that decided (the
    #   claimed reviewer name is resolved_by).
    (4, [
        """CREATE TABLE leases (
            thread_id   TEXT PRIMARY KEY,
            owner       TEXT NOT NULL,
            expires_at  INTEGER NOT NULL,
            acquired_at INTEGER NOT NULL
        )""",
        """CREATE TABLE tool_calls (
            key          TEXT PRIMARY KEY,
            thread_id    TEXT NOT NULL,
            graph        TEXT NOT NULL DEFAULT '',
            interrupt_id TEXT,
            tool         TEXT NOT NULL,
            args         TEXT NOT NULL,
            attempt      INTEGER NOT NULL DEFAULT 1,
            status       TEXT NOT NULL CHECK (status IN ('started', 'done', 'failed', 'settled')),
            owner        TEXT NOT NULL,
            started_at   TEXT NOT NULL,
            finished_at  TEXT,
            result       TEXT,
            settled_by   TEXT,
            settled_at   TEXT
        )""",
        "CREATE INDEX tool_calls_by_thread ON tool_calls (thread_id, status)",
        "ALTER TABLE interrupts ADD COLUMN decided_user TEXT",
        "ALTER TABLE interrupts ADD COLUMN decided_host TEXT",
    ]),
    # Version 5: interrupts.response_schema, the JSON Schema an answer must match
    # (interrupt(value, response_schema=...); NULL: any answer); the tamper-evident audit log
    # (engine/checkpoint/audit.py), and rules. One audit row per decision,
    # appended in the decision's transaction, each hashed with the one before. AUTOINCREMENT:
    # a deleted row's number is never reused, so a deletion leaves a gap. Decisions recorded
    # before this version have no row (the chain starts at the upgrade).
    (5, [
        "ALTER TABLE interrupts ADD COLUMN response_schema TEXT",
        """CREATE TABLE audit_log (
            seq          INTEGER PRIMARY KEY AUTOINCREMENT,
            interrupt_id TEXT NOT NULL,
            at           TEXT NOT NULL,
            row          TEXT NOT NULL,
            hash         TEXT NOT NULL
        )""",
        "CREATE INDEX audit_log_by_time ON audit_log (at)",
        # Rules that answer requests before they reach a person (engine/checkpoint/rules.py);
        # value is JSON; a revoked rule stays (who revoked it, when).
        """CREATE TABLE rules (
            id         TEXT PRIMARY KEY,
            tool       TEXT NOT NULL,
            arg        TEXT,
            op         TEXT,
            value      TEXT,
            thread_id  TEXT,
            expires_at TEXT,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT,
            revoked_by TEXT
        )""",
    ]),
    # Version 6: the Agent Server API's records (engine/checkpoint/sqlite/api_records.py), which
    # `inbox serve` used to create itself. IF NOT EXISTS: a file it served keeps its rows (the
    # layout is the same); then each run gains the server process that runs it and that
    # process's last heartbeat, so replicas take over only runs whose owner stopped.
    (6, [
        """CREATE TABLE IF NOT EXISTS api_threads (
            thread_id  TEXT PRIMARY KEY,
            created_at NOT NULL,
            updated_at NOT NULL,
            metadata   TEXT NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE IF NOT EXISTS api_runs (
            run_id      TEXT PRIMARY KEY,
            thread_id   TEXT NOT NULL,
            assistant_id TEXT NOT NULL,
            graph_id    TEXT NOT NULL,
            status      TEXT NOT NULL,
            created_at  NOT NULL,
            updated_at  NOT NULL,
            metadata    TEXT NOT NULL DEFAULT '{}',
            kwargs      TEXT NOT NULL DEFAULT '{}',
            multitask_strategy TEXT NOT NULL,
            result      TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS api_runs_by_thread ON api_runs (thread_id, created_at)",
        "CREATE INDEX IF NOT EXISTS api_runs_by_status ON api_runs (status)",
        "ALTER TABLE api_runs ADD COLUMN owner TEXT",
        "ALTER TABLE api_runs ADD COLUMN heartbeat_at INTEGER",
    ]),
    # Version 7: interrupts.claim_token, the token of the run whose claim decided the row
    # (aclaim_answers(token=...); `inbox serve` gives its run id): a run given an answer equal
    # to a decision claimed before takes it as that decision (how a recovery re-applies one),
    # and the token tells the server whether the decision was its own request's. Not audited.
    (7, ["ALTER TABLE interrupts ADD COLUMN claim_token TEXT"]),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]

_FIX_PATH = ("pass the path of a new file (it will be created) or of a database this engine "
             "created")


def _not_sqlite(path: str, detail: str) -> StorageError:
    return StorageError(
        f"{path} is not a SQLite database ({detail}). It was left untouched; {_FIX_PATH}."
    )


def _foreign(path: str, app_id: int, tables: int | None = None) -> StorageError:
    tables_note = f", {tables} table(s)" if tables is not None else ""
    return StorageError(
        f"{path} is a SQLite database that this engine did not create (application_id "
        f"{app_id:#x}{tables_note}). It was left untouched so nothing in it is changed; "
        f"{_FIX_PATH}."
    )


def _newer(path: str, version: int) -> StorageError:
    return StorageError(
        f"{path} was written by a newer version of this engine (schema version {version}; this "
        f"version understands up to {SCHEMA_VERSION}). It was left untouched; upgrade the "
        "package (pip install -U agent-inbox-tui) to open it."
    )


def _unreadable(path: str, exc: BaseException) -> StorageError:
    return StorageError(
        f"{path} could not be read as a SQLite database ({exc}). It may be corrupt; it was left "
        f"untouched. Restore it from a backup, or {_FIX_PATH}."
    )


def _recover_hint(path: str) -> str:
    quoted = shlex.quote(path)
    return (f"Nothing was written to it. Restore it from a backup, or copy what SQLite can still read "
            f"into a new file (`sqlite3 {quoted} .recover | sqlite3 recovered.sqlite`) and open that.")


def _corrupt(path: str, detail: str) -> StorageError:
    return StorageError(f"{path} is an inbox database, but it is corrupt ({detail}). {_recover_hint(path)}")


def damaged_while_open(error: BaseException, path: str | None) -> StorageError | None:
    """The same advice as at open for a page found bad while the file is open (quick_check
    passed at open: damaged since, by another program, a disk fault or a copy over it), in
    place of SQLite's bare "database disk image is malformed". None for any other error."""
    if not isinstance(error, sqlite3.DatabaseError) or isinstance(error, (sqlite3.OperationalError,
                                                                         sqlite3.IntegrityError)):
        return None
    if not any(word in str(error) for word in ("malformed", "not a database")):
        return None
    where = path or "the database file"
    quoted = shlex.quote(path or "FILE")
    return StorageError(
        f"{where} is corrupt: SQLite met a damaged page while using it ({error}), after it passed the "
        f"check at open. The step or decision that met it was not written. Stop what uses the file, then "
        f"restore it from a backup, or copy what SQLite can still read into a new file "
        f"(`sqlite3 {quoted} .recover | sqlite3 recovered.sqlite`) and open that.")


def _missing_tables(path: str, version: int, missing: list[str]) -> StorageError:
    names = ", ".join(missing)
    return StorageError(
        f"{path} is an inbox database (schema version {version}), but its table(s) {names} are "
        f"missing: dropped by hand or by another tool. The engine does not recreate them, because "
        f"the rows they held are gone. Nothing was written to it; restore it from a backup.")


def _empty(path: str, what: str) -> StorageError:
    return StorageError(
        f"{path} is {what}, not an inbox database. It was left untouched; check the path, or pass "
        "it to a command that creates a database (e.g. `inbox demo --db PATH`) to make it one.")


@functools.lru_cache(maxsize=None)
def expected_tables(version: int) -> frozenset[str]:
    """The tables a file at schema `version` has: what MIGRATIONS up to it create, found by
    running them on an empty in-memory database (so this never disagrees with them)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.create_function("engine_stored_time", 1, stored_time, deterministic=True)
        for target, statements in MIGRATIONS:
            if target > version:
                break
            for statement in statements:
                conn.execute(statement)
        return frozenset(row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    finally:
        conn.close()


def missing_tables_problem(path: str, version: int, tables: set[str]) -> StorageError | None:
    """Why a file of ours at `version` holding `tables` must not be used: a table it must have
    is missing (queries would fail later with "no such table", maybe halfway through a write)."""
    missing = sorted(expected_tables(min(version, SCHEMA_VERSION)) - tables)
    return _missing_tables(path, version, missing) if missing else None


def problem_with(path: str, app_id: int, version: int, tables: int,
                 adopt_empty: bool = True) -> StorageError | None:
    """Why the database at `path` must not be used, or None when it is ours (or empty, and
    `adopt_empty`)."""
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            return _newer(path, version)
        return None
    if app_id != 0 or tables > 0 or version != 0:
        return _foreign(path, app_id, tables)
    if not adopt_empty:
        return _empty(path, "an empty SQLite database (no tables)")
    return None  # an empty database: adopt it


def prepare_file(path: str, adopt_empty: bool = True) -> None:
    """Create `path` with mode 0600 if it does not exist; otherwise refuse it unless it is one
    of ours (and not corrupt) or an empty file/database. Never writes to an existing file.

    `adopt_empty=False` (for readers): a missing path, an empty file or an empty database is
    refused too, and nothing is created."""
    if not adopt_empty and not os.path.lexists(path):
        raise StorageError(f"{path}: no such file. Check the path; nothing was created.")
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    except FileNotFoundError:
        raise StorageError(
            f"cannot create {path}: its directory {os.path.dirname(path) or '.'} does not exist. "
            "Create the directory first or choose another path."
        ) from None
    except OSError as exc:
        raise StorageError(f"cannot create {path} ({exc.strerror}); choose a writable path.") from None
    else:
        try:
            os.fchmod(fd, 0o600)  # the umask may have removed bits, never added; be exact anyway
        finally:
            os.close(fd)
        return

    try:
        st = os.stat(path)
    except OSError as exc:
        raise StorageError(f"cannot open {path} ({exc.strerror}); choose a readable path.") from None
    if stat.S_ISDIR(st.st_mode):
        raise StorageError(f"{path} is a directory; pass the path of a database file inside it.")
    if st.st_size == 0:
        if not adopt_empty:
            raise _empty(path, "an empty file (0 bytes)")
        return  # empty: SQLite treats it as a new database
    try:
        with open(path, "rb") as f:
            header = f.read(100)
    except OSError as exc:
        raise StorageError(f"cannot read {path} ({exc.strerror}); check its permissions.") from None
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise _not_sqlite(path, "it does not start with the SQLite file header")
    header_app_id = int.from_bytes(header[68:72], "big")
    if header_app_id != APPLICATION_ID:
        if header_app_id != 0:
            raise _foreign(path, header_app_id)
        # application_id 0 in the header: foreign, empty, or ours with page 1 still in the WAL.
        # Ask SQLite through a read-only connection, which cannot change the file.
        app_id, version, tables = _inspect_readonly(path)
        problem = problem_with(path, app_id, version, tables, adopt_empty)
        if problem is not None:
            raise problem
        if app_id != APPLICATION_ID:
            return  # an empty database, adopted
    # Ours: checked here, before the saver's own connection opens it (and again by ensure_schema
    # on that connection, which is what decides, before any write). Not again while the file
    # is exactly as it was when it last passed (checked_files.py says what "exactly" means).
    ident = checked_files.identity(path, st, header)
    if not checked_files.passed(path, ident):
        check_file(path)
        checked_files.remember(path, ident, st)


def check_file(path: str) -> None:
    """Refuse a file of ours with a corrupt page or a missing table, before anything is written
    to it (or a -wal/-shm file is created next to it).

    SQLite only notices a bad page when a statement reads it: a decision's claim touches a few
    healthy pages and commits, and the run it resumes then fails on the bad one (measured: `inbox
    accept` wrote its claim into such a file). `PRAGMA quick_check` reads every page, on a
    read-only connection (it never blocks writers in WAL mode). It costs ~12 ms per 1,000
    paused demo threads with the file in the page cache (~120 ms for a 34 MB file of 10k,
    against ~750 ms for `inbox list` to start and print): it is what makes "nothing is
    written to a corrupt file" hold for every writer, not only the CLI. prepare_file skips it
    for a file exactly as it was when it last passed (checked_files.py).
    (integrity_check, which also compares every index with its table, took 2-3x as long.)"""
    try:
        conn = _readonly_connect(path)
        try:
            rows = conn.execute("PRAGMA quick_check(3)").fetchall()
            if rows == [("ok",)]:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.OperationalError:
        # Locked, busy, or a -wal without its -shm that a read-only connection cannot open: not
        # a sign of corruption. The saver's own connection reports (or waits out) these, and
        # ensure_schema checks the tables there again.
        return
    except sqlite3.DatabaseError as exc:  # "malformed", "file is not a database"
        raise _corrupt(path, str(exc)) from None
    if rows != [("ok",)]:  # e.g. "*** in database main ***\nPage 20: btreeInitPage() returns error code 11"
        found = " ".join(str(row[0]).replace("*** in database main ***", "") for row in rows)
        raise _corrupt(path, " ".join(found.split()))
    problem = missing_tables_problem(path, version, tables)
    if problem is not None:
        raise problem


def _readonly_connect(path: str) -> sqlite3.Connection:
    uri = "file:" + urllib.parse.quote(path) + "?mode=ro"
    if not os.path.exists(path + "-wal"):
        # Nothing pending in a WAL: the file alone is the database. `immutable` reads it without
        # creating -wal/-shm side files next to someone else's database.
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=5.0)


def _inspect_readonly(path: str) -> tuple[int, int, int]:
    try:
        conn = _readonly_connect(path)
        try:
            conn.execute("PRAGMA query_only = ON")
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise _unreadable(path, exc) from None
    return app_id, version, tables


async def _scalar(conn: aiosqlite.Connection, sql: str):
    rows = await conn.execute_fetchall(sql)
    return rows[0][0]


async def ensure_schema(conn: aiosqlite.Connection, path: str, adopt_empty: bool = True) -> None:
    """Check the open database is ours (or empty, and `adopt_empty`), with every table its
    version must have, and bring its schema up to date, in one BEGIN IMMEDIATE transaction so
    two processes opening a new file do not both migrate."""
    # Migrations convert stored values with the same Python rules the saver writes them with.
    await conn.create_function("engine_stored_time", 1, stored_time, deterministic=True)
    try:
        await conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StorageError(
                f"{path} stayed locked by another process while opening it ({exc}); retry, or "
                "stop the process that holds it."
            ) from None
        raise _unreadable(path, exc) from None
    except sqlite3.DatabaseError as exc:
        raise _unreadable(path, exc) from None
    try:
        try:
            app_id = await _scalar(conn, "PRAGMA application_id")
            version = await _scalar(conn, "PRAGMA user_version")
            names = {row[0] for row in await conn.execute_fetchall(
                "SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'") if row[1] == "table"}
            tables = await _scalar(
                conn, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        except sqlite3.DatabaseError as exc:
            raise _unreadable(path, exc) from None
        problem = problem_with(path, app_id, version, tables, adopt_empty)
        if problem is None and app_id == APPLICATION_ID:
            problem = missing_tables_problem(path, version, names)
        if problem is not None:
            raise problem
        if version < SCHEMA_VERSION:
            now = datetime.now(timezone.utc).isoformat()
            for target, statements in MIGRATIONS:
                if target <= version:
                    continue
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (target, now))
            await conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            await conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        await conn.execute("COMMIT")
    except BaseException:
        try:
            await conn.execute("ROLLBACK")
        except Exception:
            pass
        raise


__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "MIGRATIONS", "prepare_file", "ensure_schema",
           "problem_with", "check_file", "expected_tables"]
