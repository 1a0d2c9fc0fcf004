"""SqliteSaver's Agent Server API records (engine/checkpoint/api_store.py): the `api_threads`
and `api_runs` tables (schema version 6) and the thread search.

`api_threads` adds what only the API has (threads that never ran, and their metadata) to the
engine's `threads` table, which is the source of a thread's status. Searches join the two,
driven by the engine's `(status, updated_at)` index when a status is given, so "interrupted
threads" never scans checkpoints. Times are stored as the engine stores them (microseconds
since 1970, times.stored_time)."""

from __future__ import annotations

import json
from typing import Any

from engine.checkpoint.api_store import ApiRun, ApiThread, check_search, contains
from engine.checkpoint.base import CheckpointTuple
from engine.checkpoint.sqlite.checkpoints import CHECKPOINT_COLUMNS, CheckpointRows
from engine.checkpoint.sqlite.runner import Runner
from engine.checkpoint.sqlite.times import normalize_ts, stored_time, time_text

# A thread's status as the API names it, from the engine's.
_STATUS_SQL = "CASE t.status WHEN 'done' THEN 'idle' ELSE t.status END"
# A thread's metadata: the API's record, or for a thread that only ran (was not created here)
# its run metadata plus the graph it ran.
_META_SQL = ("coalesce(a.metadata, CASE WHEN t.graph <> '' THEN json_set(coalesce(t.metadata, '{}'), "
             "'$.graph_id', t.graph) ELSE coalesce(t.metadata, '{}') END)")
_IDS_SQL = "IN (SELECT value FROM json_each(?))"
_RUN_COLUMNS = ("run_id, thread_id, assistant_id, graph_id, status, created_at, updated_at, metadata, kwargs, "
                "multitask_strategy, result, owner, heartbeat_at")


def _scalar_filters(metadata: dict, column: str) -> tuple[list[str], list[Any], dict]:
    """SQL conditions for the scalar values of a containment filter; the rest is checked in Python."""
    where, params, rest = [], [], {}
    for key, value in metadata.items():
        path = "$." + json.dumps(str(key))
        if isinstance(value, bool):
            where.append(f"json_type({column}, ?) = '{'true' if value else 'false'}'")
            params.append(path)
        elif value is None:
            where.append(f"json_type({column}, ?) = 'null'")
            params.append(path)
        elif isinstance(value, (str, int, float)):
            where.append(f"json_extract({column}, ?) = ?")
            params += [path, value]
        else:
            rest[key] = value
    return where, params, rest


def _thread(row) -> ApiThread:
    thread_id, created, updated, status, meta = row[:5]
    return {"thread_id": thread_id, "created_at": time_text(created), "updated_at": time_text(updated),
            "status": status, "metadata": json.loads(meta) if meta else {}}


def _run(row) -> ApiRun:
    (run_id, thread_id, assistant_id, graph_id, status, created, updated, metadata, kwargs, strategy, result,
     owner, heartbeat) = row
    return {"run_id": run_id, "thread_id": thread_id, "assistant_id": assistant_id, "graph_id": graph_id,
            "status": status, "created_at": time_text(created), "updated_at": time_text(updated),
            "metadata": json.loads(metadata), "kwargs": json.loads(kwargs), "multitask_strategy": strategy,
            "result": json.loads(result) if result else None, "owner": owner,
            "heartbeat_at": time_text(heartbeat) if heartbeat is not None else None}


class SqliteApiRecords:
    """The ApiStore methods over one SqliteSaver's connections (a Runner) and checkpoint rows."""

    def __init__(self, runner: Runner, rows: CheckpointRows) -> None:
        self._run = runner
        self._rows = rows

    # --- threads ------------------------------------------------------------------------------
    async def acreate_api_thread(self, thread_id: str, metadata: dict) -> bool:
        now = stored_time(self._run.now())
        text = json.dumps(metadata)

        def insert(db, _txn):
            exists = db.execute("SELECT 1 FROM api_threads WHERE thread_id = ? UNION ALL "
                                "SELECT 1 FROM threads WHERE thread_id = ?", (thread_id, thread_id)).fetchone()
            if exists:
                return False
            db.execute("INSERT INTO api_threads (thread_id, created_at, updated_at, metadata) VALUES (?, ?, ?, ?)",
                       (thread_id, now, now, text))
            return True
        return await self._run.write(insert)

    async def amerge_api_thread_metadata(self, thread_id: str, metadata: dict) -> None:
        now = stored_time(self._run.now())

        def merge(db, _txn):
            row = db.execute("SELECT metadata FROM api_threads WHERE thread_id = ?", (thread_id,)).fetchone()
            if row is None:
                engine_row = db.execute("SELECT created_at FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
                db.execute("INSERT INTO api_threads (thread_id, created_at, updated_at, metadata) VALUES (?, ?, ?, ?)",
                           (thread_id, engine_row[0] if engine_row else now, now, json.dumps(metadata)))
            else:
                db.execute("UPDATE api_threads SET metadata = ?, updated_at = ? WHERE thread_id = ?",
                           (json.dumps({**json.loads(row[0]), **metadata}), now, thread_id))
        await self._run.write(merge)

    async def aget_api_thread(self, thread_id: str) -> ApiThread | None:
        rows = await self._run.query(
            f"SELECT t.thread_id, coalesce(a.created_at, t.created_at), t.updated_at, {_STATUS_SQL}, {_META_SQL} "
            "FROM threads AS t LEFT JOIN api_threads AS a ON a.thread_id = t.thread_id WHERE t.thread_id = ? "
            "UNION ALL SELECT thread_id, created_at, updated_at, 'idle', metadata FROM api_threads AS a "
            "WHERE a.thread_id = ? AND NOT EXISTS (SELECT 1 FROM threads AS t WHERE t.thread_id = a.thread_id)",
            (thread_id, thread_id))
        return _thread(rows[0]) if rows else None

    async def asearch_api_threads(self, *, status: str | None = None, metadata: dict | None = None,
                                  ids: list[str] | None = None, limit: int = 10, offset: int = 0,
                                  sort_by: str = "updated_at", sort_order: str = "desc") -> tuple[list[ApiThread], int]:
        """A status other than idle is answered from the engine's threads table alone, walking its
        (status, updated_at) index: the page costs `limit` rows, the count one index range, at
        any number of threads. `metadata.graph_id` is the thread's graph column there. Other
        metadata keys are checked per candidate (scalars in SQL, nested values in Python)."""
        check_search(status, sort_by, sort_order, limit, offset)
        metadata = dict(metadata or {})
        graph_id = metadata.pop("graph_id") if isinstance(metadata.get("graph_id"), str) else None
        desc = sort_order != "asc"
        only_engine = status not in (None, "idle")
        ids_json = json.dumps([str(i) for i in ids]) if ids is not None else None
        t_where, t_params = [], []
        if status == "idle":
            t_where.append("t.status IN ('idle', 'done')")
        elif status is not None:
            t_where.append("t.status = ?")
            t_params.append(status)
        if graph_id is not None:
            t_where.append("t.graph = ?")
            t_params.append(graph_id)
        if ids_json is not None:
            t_where.append(f"t.thread_id {_IDS_SQL}")
            t_params.append(ids_json)
        where_meta, meta_params, rest = _scalar_filters(metadata, _META_SQL)
        t_where += where_meta
        t_params += meta_params
        threads = "FROM threads AS t " + ("INDEXED BY threads_by_status " if only_engine else "")
        joined = "LEFT JOIN api_threads AS a ON a.thread_id = t.thread_id"
        where = " WHERE " + " AND ".join(t_where) if t_where else ""
        t_from = threads + joined + where
        t_select = (f"SELECT t.thread_id, coalesce(a.created_at, t.created_at), t.updated_at, {_STATUS_SQL}, "
                    f"{_META_SQL}, t.rowid {t_from}")
        if only_engine and not rest and sort_by == "updated_at":
            direction = "DESC" if desc else "ASC"
            order = f"ORDER BY t.updated_at {direction}, t.rowid {direction}"

            # the count joins api_threads only when a metadata condition reads it (a join per
            # row is most of a 10,000-row count; without it the index answers alone)
            count_from = t_from if where_meta else threads + where

            def page(db, _txn):
                total = db.execute(f"SELECT count(*) {count_from}", t_params).fetchone()[0]
                found = db.execute(f"{t_select} {order} LIMIT ? OFFSET ?", t_params + [limit, offset]).fetchall()
                return total, found
            total, found = await self._run.read(page)
            return [_thread(r) for r in found], total
        # The general case: threads that never ran (only in api_threads) too, in any order.
        a_where, a_params = ["NOT EXISTS (SELECT 1 FROM threads AS t WHERE t.thread_id = a.thread_id)"], []
        if only_engine:
            a_where.append("0")
        if graph_id is not None:
            a_where.append("json_extract(a.metadata, '$.graph_id') = ?")
            a_params.append(graph_id)
        if ids_json is not None:
            a_where.append(f"a.thread_id {_IDS_SQL}")
            a_params.append(ids_json)
        a_meta, a_meta_params, _ = _scalar_filters(metadata, "a.metadata")
        a_where += a_meta
        a_params += a_meta_params
        # api-only threads sort after engine threads created at the same time (rowid offset)
        sql = (f"SELECT * FROM ({t_select} UNION ALL SELECT a.thread_id, a.created_at, a.updated_at, 'idle', "
               f"a.metadata, a.rowid + (1 << 40) FROM api_threads AS a WHERE {' AND '.join(a_where)})")
        params = t_params + a_params
        column = {"thread_id": 1, "created_at": 2, "updated_at": 3, "status": 4}[sort_by]
        direction = "DESC" if desc else "ASC"
        order = f"ORDER BY {column} {direction}, 6 {direction}"
        if rest:  # nested values: containment checked here, on every candidate
            rows = [_thread(r) for r in await self._run.query(f"{sql} {order}", params)]
            rows = [r for r in rows if contains(r["metadata"], rest)]
            return rows[offset:offset + limit], len(rows)

        def page_all(db, _txn):
            total = db.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
            found = db.execute(f"{sql} {order} LIMIT ? OFFSET ?", params + [limit, offset]).fetchall()
            return total, found
        total, found = await self._run.read(page_all)
        return [_thread(r) for r in found], total

    async def alatest_checkpoints(self, thread_ids: list[str]) -> dict[str, CheckpointTuple]:
        """One round trip to the connection thread: the head rows in one statement (one index
        probe per thread), their values and pending writes as `aget_tuple` reads them."""
        if not thread_ids:
            return {}
        sql = (f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE rowid IN (SELECT (SELECT c.rowid FROM "
               "checkpoints AS c INDEXED BY checkpoints_by_insertion WHERE c.thread_id = ids.value AND "
               "c.checkpoint_ns = '' ORDER BY c.rowid DESC LIMIT 1) FROM json_each(?) AS ids)")
        rows = self._rows

        def heads(db, _txn):
            return rows._materialize(db, db.execute(sql, (json.dumps([str(i) for i in thread_ids]),)).fetchall())
        found = await self._run.read(heads)
        return {t.config["configurable"]["thread_id"]: t for t in found}

    # --- runs ---------------------------------------------------------------------------------
    async def aput_api_run(self, run: ApiRun) -> None:
        result = run.get("result")
        heartbeat = run.get("heartbeat_at")
        values = (run["run_id"], run["thread_id"], run["assistant_id"], run["graph_id"], run["status"],
                  stored_time(normalize_ts(run["created_at"])), stored_time(normalize_ts(run["updated_at"])),
                  json.dumps(run["metadata"]),
                  json.dumps(run["kwargs"]), run["multitask_strategy"],
                  json.dumps(result) if result is not None else None, run.get("owner"),
                  stored_time(normalize_ts(heartbeat)) if heartbeat else None)
        await self._run.write(lambda db, _txn: db.execute(
            f"INSERT OR REPLACE INTO api_runs ({_RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", values))

    async def aset_api_run_status(self, run_id: str, status: str, result: Any = None) -> None:
        now = stored_time(self._run.now())
        text = json.dumps(result) if result is not None else None
        await self._run.write(lambda db, _txn: db.execute(
            "UPDATE api_runs SET status = ?, updated_at = ?, result = ? WHERE run_id = ?", (status, now, text, run_id)))

    async def aget_api_run(self, thread_id: str, run_id: str) -> ApiRun | None:
        rows = await self._run.query(f"SELECT {_RUN_COLUMNS} FROM api_runs WHERE run_id = ? AND thread_id = ?",
                                     (run_id, thread_id))
        return _run(rows[0]) if rows else None

    async def alist_api_runs(self, thread_id: str, limit: int = 10, offset: int = 0,
                             status: str | None = None) -> list[ApiRun]:
        sql = f"SELECT {_RUN_COLUMNS} FROM api_runs WHERE thread_id = ?"
        params: list[Any] = [thread_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
        return [_run(r) for r in await self._run.query(sql, params + [limit, offset])]

    async def alist_unfinished_api_runs(self, thread_id: str | None = None) -> list[ApiRun]:
        sql = f"SELECT {_RUN_COLUMNS} FROM api_runs WHERE status IN ('pending', 'running')"
        params: tuple = ()
        if thread_id is not None:
            sql += " AND thread_id = ?"
            params = (thread_id,)
        return [_run(r) for r in await self._run.query(sql + " ORDER BY created_at, rowid", params)]

    async def aheartbeat_api_runs(self, owner: str) -> None:
        now = stored_time(self._run.now())
        await self._run.write(lambda db, _txn: db.execute(
            "UPDATE api_runs SET heartbeat_at = ? WHERE owner = ? AND status IN ('pending', 'running')", (now, owner)))

    async def aclaim_api_run(self, run_id: str, owner: str, *, previous: str | None) -> bool:
        now = stored_time(self._run.now())
        return await self._run.write(lambda db, _txn: db.execute(
            "UPDATE api_runs SET owner = ?, heartbeat_at = ? WHERE run_id = ? AND owner IS ? "
            "AND status IN ('pending', 'running')", (owner, now, run_id, previous)).rowcount == 1)


__all__ = ["SqliteApiRecords"]
