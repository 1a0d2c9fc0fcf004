"""The server's own records, in the engine's SQLite file: threads created over the API (their
metadata and creation time) and runs (status, kwargs, result), in two tables of their own.

The engine's `threads` table (kept by the runtime in each step's transaction, with the
pending-interrupt index) is the source of a thread's status; `api_threads` adds what only the
API has: threads that never ran, and their metadata. Searches join the two, driven by the
engine's `(status, updated_at)` index when a status is given, so "interrupted threads" never
scans checkpoints. Times are stored as the engine stores them (microseconds since 1970).
Tables are created with IF NOT EXISTS: the engine's schema check only insists on its own."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from engine.checkpoint.sqlite.times import stored_time, time_text, utc_iso

_TABLES = [
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
]

# A thread's status as the API names it, from the engine's.
_STATUS_SQL = "CASE t.status WHEN 'done' THEN 'idle' WHEN NULL THEN 'idle' ELSE coalesce(t.status, 'idle') END"
# What a thread's metadata is: the API's record, or for a thread that only ran (not created
# here) its run metadata plus the graph it ran.
_META_SQL = ("coalesce(a.metadata, CASE WHEN t.graph <> '' THEN json_set(coalesce(t.metadata, '{}'), "
             "'$.graph_id', t.graph) ELSE coalesce(t.metadata, '{}') END)")


def _fill(template: str, **parts: str) -> str:
    """str.format would read the SQL's JSON braces as fields: replace only the named ones."""
    for name, text in parts.items():
        template = template.replace("{" + name + "}", text)
    return template


def now_iso() -> str:
    return utc_iso(datetime.now(timezone.utc))


def _scalar_filters(metadata: dict) -> tuple[list[str], list[Any], dict]:
    """SQL conditions for the scalar values of a containment filter; the rest is checked in Python."""
    where, params, rest = [], [], {}
    for key, value in metadata.items():
        path = "$." + json.dumps(str(key))
        if isinstance(value, bool):
            where.append(f"json_type(meta, ?) = '{'true' if value else 'false'}'")
            params.append(path)
        elif value is None:
            where.append("json_type(meta, ?) = 'null'")
            params.append(path)
        elif isinstance(value, (str, int, float)):
            where.append("json_extract(meta, ?) = ?")
            params += [path, value]
        else:
            rest[key] = value
    return where, params, rest


def contains(haystack: Any, needle: Any) -> bool:
    """JSON containment, as Postgres' @> (what the real server's metadata filter means)."""
    if isinstance(needle, dict):
        return isinstance(haystack, dict) and all(k in haystack and contains(haystack[k], v) for k, v in needle.items())
    if isinstance(needle, list):
        return isinstance(haystack, list) and all(any(contains(h, n) for h in haystack) for n in needle)
    return haystack == needle


class ApiRecords:
    """Threads and runs of the API, over the saver's file (its transactions and threads)."""

    def __init__(self, saver: Any) -> None:
        self.saver = saver

    async def setup(self) -> None:
        def create(db, _txn):
            for sql in _TABLES:
                db.execute(sql)
        await self.saver._write(create)

    # --- threads -----------------------------------------------------------------------------
    async def create_thread(self, thread_id: str, metadata: dict, if_exists: str) -> bool:
        """Record a new thread; False when it exists already (raise or keep it: the caller's call)."""
        now = stored_time(now_iso())

        def insert(db, _txn):
            exists = db.execute("SELECT 1 FROM api_threads WHERE thread_id = ? UNION ALL "
                                "SELECT 1 FROM threads WHERE thread_id = ?", (thread_id, thread_id)).fetchone()
            if exists:
                return False
            db.execute("INSERT INTO api_threads (thread_id, created_at, updated_at, metadata) VALUES (?, ?, ?, ?)",
                       (thread_id, now, now, json.dumps(metadata)))
            return True
        return await self.saver._write(insert)

    async def merge_thread_metadata(self, thread_id: str, metadata: dict) -> None:
        now = stored_time(now_iso())

        def merge(db, _txn):
            row = db.execute("SELECT metadata FROM api_threads WHERE thread_id = ?", (thread_id,)).fetchone()
            if row is None:
                engine_row = db.execute("SELECT created_at FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
                created = engine_row[0] if engine_row else now
                db.execute("INSERT INTO api_threads (thread_id, created_at, updated_at, metadata) VALUES (?, ?, ?, ?)",
                           (thread_id, created, now, json.dumps(metadata)))
            else:
                merged = {**json.loads(row[0]), **metadata}
                db.execute("UPDATE api_threads SET metadata = ?, updated_at = ? WHERE thread_id = ?",
                           (json.dumps(merged), now, thread_id))
        await self.saver._write(merge)

    _THREAD_SELECT = (f"SELECT thread_id, created_at, updated_at, status, meta FROM ("
                      f"SELECT t.thread_id AS thread_id, coalesce(a.created_at, t.created_at) AS created_at, "
                      f"t.updated_at AS updated_at, {_STATUS_SQL} AS status, {_META_SQL} AS meta "
                      f"FROM threads AS t {{index}} LEFT JOIN api_threads AS a ON a.thread_id = t.thread_id {{twhere}} "
                      f"UNION ALL SELECT a.thread_id, a.created_at, a.updated_at, 'idle', a.metadata "
                      f"FROM api_threads AS a WHERE NOT EXISTS (SELECT 1 FROM threads AS t WHERE t.thread_id = a.thread_id) "
                      f"{{awhere}})")

    @staticmethod
    def _row(row) -> dict:
        thread_id, created, updated, status, meta = row
        return {"thread_id": thread_id, "created_at": time_text(created), "updated_at": time_text(updated),
                "status": status, "metadata": json.loads(meta) if meta else {}}

    async def get_thread(self, thread_id: str) -> dict | None:
        sql = _fill(self._THREAD_SELECT, index="", twhere="WHERE t.thread_id = ?", awhere="AND a.thread_id = ?")
        rows = await self.saver._query(sql, (thread_id, thread_id))
        return self._row(rows[0]) if rows else None

    async def search_threads(self, *, status: str | None, metadata: dict | None, ids: list[str] | None,
                             limit: int, offset: int, sort_by: str, sort_order: str) -> tuple[list[dict], int]:
        """(one page of threads, how many match in all).

        A status other than idle is answered from the engine's threads table alone, walking its
        (status, updated_at) index: the page costs `limit` rows, the count one index range, at
        any number of threads. `metadata.graph_id` is the thread's graph column there. Other
        metadata keys are checked per candidate (scalars in SQL, nested values here)."""
        metadata = dict(metadata or {})
        graph_id = metadata.pop("graph_id", None) if isinstance(metadata.get("graph_id"), str) else None
        where_meta, meta_params, rest = _scalar_filters(metadata)
        desc = sort_order != "asc"
        only_engine = status not in (None, "idle")
        t_where, t_params = [], []
        if status == "idle":
            t_where.append("t.status IN ('idle', 'done')")
        elif status is not None:
            t_where.append("t.status = ?")
            t_params.append(status)
        if graph_id is not None:
            t_where.append("t.graph = ?")
            t_params.append(graph_id)
        if ids is not None:
            t_where.append(f"t.thread_id IN ({','.join('?' * len(ids)) or 'NULL'})")
            t_params += list(ids)
        t_where += [c.replace("meta", _META_SQL) for c in where_meta]
        t_params += meta_params
        t_from = ("FROM threads AS t " + ("INDEXED BY threads_by_status " if only_engine else "")
                  + "LEFT JOIN api_threads AS a ON a.thread_id = t.thread_id"
                  + (" WHERE " + " AND ".join(t_where) if t_where else ""))
        t_select = (f"SELECT t.thread_id, coalesce(a.created_at, t.created_at), t.updated_at, {_STATUS_SQL}, "
                    f"{_META_SQL} {t_from}")
        if only_engine and not rest and sort_by == "updated_at":
            order = f"ORDER BY t.updated_at {'DESC' if desc else 'ASC'}, t.rowid {'DESC' if desc else 'ASC'}"

            def page(db, _txn):
                total = db.execute(f"SELECT count(*) {t_from}", t_params).fetchone()[0]
                found = db.execute(f"{t_select} {order} LIMIT ? OFFSET ?", t_params + [limit, offset]).fetchall()
                return total, found
            total, found = await self.saver._read(page)
            return [self._row(r) for r in found], total
        # The general case: threads that never ran (only here) too, any order.
        a_where, a_params = ["NOT EXISTS (SELECT 1 FROM threads AS t WHERE t.thread_id = a.thread_id)"], []
        if only_engine:
            a_where.append("0")
        if graph_id is not None:
            a_where.append("json_extract(a.metadata, '$.graph_id') = ?")
            a_params.append(graph_id)
        if ids is not None:
            a_where.append(f"a.thread_id IN ({','.join('?' * len(ids)) or 'NULL'})")
            a_params += list(ids)
        a_where += [c.replace("meta", "a.metadata") for c in where_meta]
        a_params += meta_params
        sql = (f"SELECT * FROM ({t_select} UNION ALL SELECT a.thread_id, a.created_at, a.updated_at, 'idle', "
               f"a.metadata FROM api_threads AS a WHERE {' AND '.join(a_where)})")
        params = t_params + a_params
        column = {"thread_id": 1, "created_at": 2, "updated_at": 3, "status": 4}[sort_by]
        order = f"ORDER BY {column} {'DESC' if desc else 'ASC'}, 1"
        if rest:  # nested values: containment checked here, on every candidate
            rows = [self._row(r) for r in await self.saver._query(f"{sql} {order}", params)]
            rows = [r for r in rows if contains(r["metadata"], rest)]
            return rows[offset:offset + limit], len(rows)

        def page_all(db, _txn):
            total = db.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
            found = db.execute(f"{sql} {order} LIMIT ? OFFSET ?", params + [limit, offset]).fetchall()
            return total, found
        total, found = await self.saver._read(page_all)
        return [self._row(r) for r in found], total

    # --- runs -------------------------------------------------------------------------------
    async def put_run(self, run: dict) -> None:
        def put(db, _txn):
            db.execute("INSERT OR REPLACE INTO api_runs (run_id, thread_id, assistant_id, graph_id, status, created_at, "
                       "updated_at, metadata, kwargs, multitask_strategy, result) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (run["run_id"], run["thread_id"], run["assistant_id"], run["graph_id"], run["status"],
                        stored_time(run["created_at"]), stored_time(run["updated_at"]), json.dumps(run["metadata"]),
                        json.dumps(run["kwargs"]), run["multitask_strategy"],
                        json.dumps(run.get("result")) if run.get("result") is not None else None))
        await self.saver._write(put)

    async def set_run_status(self, run_id: str, status: str, result: Any = None) -> None:
        now = stored_time(now_iso())
        await self.saver._write(lambda db, _txn: db.execute(
            "UPDATE api_runs SET status = ?, updated_at = ?, result = ? WHERE run_id = ?",
            (status, now, json.dumps(result) if result is not None else None, run_id)))

    _RUN_COLUMNS = ("run_id, thread_id, assistant_id, graph_id, status, created_at, updated_at, metadata, kwargs, "
                    "multitask_strategy, result")

    @staticmethod
    def _run(row) -> dict:
        (run_id, thread_id, assistant_id, graph_id, status, created, updated, metadata, kwargs, strategy,
         result) = row
        return {"run_id": run_id, "thread_id": thread_id, "assistant_id": assistant_id, "graph_id": graph_id,
                "status": status, "created_at": time_text(created), "updated_at": time_text(updated),
                "metadata": json.loads(metadata), "kwargs": json.loads(kwargs), "multitask_strategy": strategy,
                "result": json.loads(result) if result else None}

    async def get_run(self, thread_id: str, run_id: str) -> dict | None:
        rows = await self.saver._query(f"SELECT {self._RUN_COLUMNS} FROM api_runs WHERE run_id = ? AND thread_id = ?",
                                       (run_id, thread_id))
        return self._run(rows[0]) if rows else None

    async def list_runs(self, thread_id: str, limit: int, offset: int, status: str | None = None) -> list[dict]:
        sql = f"SELECT {self._RUN_COLUMNS} FROM api_runs WHERE thread_id = ?"
        params: list[Any] = [thread_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
        return [self._run(r) for r in await self.saver._query(sql, params + [limit, offset])]

    async def unfinished_runs(self) -> list[dict]:
        """Runs a previous server process accepted and did not finish (oldest first)."""
        return [self._run(r) for r in await self.saver._query(
            f"SELECT {self._RUN_COLUMNS} FROM api_runs WHERE status IN ('pending', 'running') "
            "ORDER BY created_at, rowid")]


__all__ = ["ApiRecords", "contains", "now_iso"]
