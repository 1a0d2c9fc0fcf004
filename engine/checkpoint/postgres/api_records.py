"""PostgresSaver's Agent Server API records (engine/checkpoint/api_store.py): the
`engine_api_threads` and `engine_api_runs` tables (schema version 4) and the thread search,
as SQLite's api_records.py does it, in Postgres SQL.

`engine_api_threads` adds what only the API has (threads that never ran, and their metadata)
to `engine_threads`, the source of a thread's status. A search with a status other than idle
walks `engine_threads (status, updated_at)`; metadata containment is Postgres' own `@>` on the
thread's metadata as JSONB. Several `inbox serve` processes share these rows: a thread is
created once (`ON CONFLICT DO NOTHING`), an orphaned run is taken over by one conditional
UPDATE."""

from __future__ import annotations

import json
from typing import Any

from engine.checkpoint.api_store import ApiRun, ApiThread, check_search
from engine.checkpoint.base import CheckpointTuple, make_config
from engine.checkpoint.postgres.checkpoints import WRITES_OF_C
from engine.checkpoint.postgres.packed import from_stored
from engine.checkpoint.serde import loads
from engine.checkpoint.sqlite.times import normalize_ts

_STATUS_SQL = "CASE t.status WHEN 'done' THEN 'idle' ELSE t.status END"
_META_SQL = ("coalesce(a.metadata::jsonb, CASE WHEN t.graph <> '' THEN t.metadata::jsonb || "
             "jsonb_build_object('graph_id', t.graph) ELSE t.metadata::jsonb END)")
_RUN_COLUMNS = ("run_id, thread_id, assistant_id, graph_id, status, created_at, updated_at, metadata, kwargs, "
                "multitask_strategy, result, owner, heartbeat_at")
# The head of each thread's root namespace with its pending writes aggregated beside it: one
# statement for a page of threads (one index probe each), read as checkpoints.get_tuple reads one.
_HEADS_SQL = (
    "SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint, c.metadata, "
    f"{WRITES_OF_C} "
    "FROM unnest(%s::text[]) AS k(thread_id) CROSS JOIN LATERAL (SELECT * FROM engine_checkpoints AS c "
    "WHERE c.thread_id = k.thread_id AND c.checkpoint_ns = '' ORDER BY c.row_no DESC LIMIT 1) AS c")


def _thread(row) -> ApiThread:
    thread_id, created, updated, status, meta = row[:5]
    return {"thread_id": thread_id, "created_at": created, "updated_at": updated, "status": status,
            "metadata": meta if isinstance(meta, dict) else (json.loads(meta) if meta else {})}


def _run(row) -> ApiRun:
    (run_id, thread_id, assistant_id, graph_id, status, created, updated, metadata, kwargs, strategy, result,
     owner, heartbeat) = row
    return {"run_id": run_id, "thread_id": thread_id, "assistant_id": assistant_id, "graph_id": graph_id,
            "status": status, "created_at": created, "updated_at": updated, "metadata": json.loads(metadata),
            "kwargs": json.loads(kwargs), "multitask_strategy": strategy,
            "result": json.loads(result) if result else None, "owner": owner, "heartbeat_at": heartbeat}


class PostgresApiRecords:
    """The ApiStore methods over one PostgresSaver's Connections."""

    def __init__(self, connections, now) -> None:
        self._db = connections
        self._now = now

    async def _query(self, sql: str, params: Any = ()) -> list:
        async def work(conn):
            return await (await conn.execute(sql, params)).fetchall()
        return await self._db.read(work)

    async def _execute(self, sql: str, params: Any = ()) -> int:
        async def work(conn):
            return (await conn.execute(sql, params)).rowcount
        return await self._db.write(work)

    # --- threads ------------------------------------------------------------------------------
    async def acreate_api_thread(self, thread_id: str, metadata: dict) -> bool:
        now = self._now()
        return await self._execute(
            "INSERT INTO engine_api_threads (thread_id, created_at, updated_at, metadata) "
            "SELECT %(id)s, %(now)s, %(now)s, %(meta)s "
            "WHERE NOT EXISTS (SELECT 1 FROM engine_threads WHERE thread_id = %(id)s) "
            "ON CONFLICT (thread_id) DO NOTHING",
            {"id": thread_id, "now": now, "meta": json.dumps(metadata)}) == 1

    async def amerge_api_thread_metadata(self, thread_id: str, metadata: dict) -> None:
        now = self._now()
        # jsonb || merges the top-level keys, the new ones winning (as a dict update)
        await self._execute(
            "INSERT INTO engine_api_threads (thread_id, created_at, updated_at, metadata) "
            "VALUES (%(id)s, coalesce((SELECT created_at FROM engine_threads WHERE thread_id = %(id)s), %(now)s), "
            "%(now)s, %(meta)s) ON CONFLICT (thread_id) DO UPDATE SET updated_at = excluded.updated_at, "
            "metadata = (engine_api_threads.metadata::jsonb || excluded.metadata::jsonb)::text",
            {"id": thread_id, "now": now, "meta": json.dumps(metadata)})

    async def aget_api_thread(self, thread_id: str) -> ApiThread | None:
        rows = await self._query(
            f"SELECT t.thread_id, coalesce(a.created_at, t.created_at), t.updated_at, {_STATUS_SQL}, {_META_SQL} "
            "FROM engine_threads AS t LEFT JOIN engine_api_threads AS a ON a.thread_id = t.thread_id "
            "WHERE t.thread_id = %(id)s UNION ALL SELECT a.thread_id, a.created_at, a.updated_at, 'idle', "
            "a.metadata::jsonb FROM engine_api_threads AS a WHERE a.thread_id = %(id)s AND NOT EXISTS "
            "(SELECT 1 FROM engine_threads AS t WHERE t.thread_id = a.thread_id)", {"id": thread_id})
        return _thread(rows[0]) if rows else None

    async def asearch_api_threads(self, *, status: str | None = None, metadata: dict | None = None,
                                  ids: list[str] | None = None, limit: int = 10, offset: int = 0,
                                  sort_by: str = "updated_at", sort_order: str = "desc") -> tuple[list[ApiThread], int]:
        """A status other than idle is answered from engine_threads alone along its (status,
        updated_at) index; `metadata.graph_id` is its graph column there (no JSON is parsed for
        the Agent Inbox's search). Other metadata is matched with `@>`."""
        check_search(status, sort_by, sort_order, limit, offset)
        metadata = dict(metadata or {})
        only_engine = status not in (None, "idle")
        params: dict[str, Any] = {"status": status, "ids": [str(i) for i in ids] if ids is not None else None,
                                  "limit": limit, "offset": offset}
        t_where = []
        if status == "idle":
            t_where.append("t.status IN ('idle', 'done')")
        elif status is not None:
            t_where.append("t.status = %(status)s")
        if only_engine and isinstance(metadata.get("graph_id"), str):
            params["graph"] = metadata.pop("graph_id")
            t_where.append("t.graph = %(graph)s")
        if ids is not None:
            t_where.append("t.thread_id = ANY(%(ids)s)")
        if metadata:
            params["meta"] = json.dumps(metadata)
            t_where.append(f"{_META_SQL} @> %(meta)s::jsonb")
        where = " WHERE " + " AND ".join(t_where) if t_where else ""
        t_from = "FROM engine_threads AS t LEFT JOIN engine_api_threads AS a ON a.thread_id = t.thread_id" + where
        # a count joins engine_api_threads only when a metadata condition reads it
        count_from = t_from if metadata else "FROM engine_threads AS t" + where
        t_select = (f"SELECT t.thread_id, coalesce(a.created_at, t.created_at) AS created_at, t.updated_at, "
                    f"{_STATUS_SQL} AS status, {_META_SQL} AS meta, t.row_no AS row_order {t_from}")
        direction = "DESC" if sort_order != "asc" else "ASC"
        if only_engine and sort_by != "created_at":
            # The page is chosen from engine_threads alone (its rows, in the index's order), and
            # only its rows are joined and given their metadata: whatever plan Postgres picks
            # (e.g. before the table was first analyzed), no JSON is parsed for other rows.
            inner = (f"SELECT t.* {t_from} ORDER BY t.{sort_by} {direction}, t.row_no {direction} "
                     "LIMIT %(limit)s OFFSET %(offset)s")
            sql = (f"SELECT t.thread_id, coalesce(a.created_at, t.created_at), t.updated_at, {_STATUS_SQL}, "
                   f"{_META_SQL}, t.row_no FROM ({inner}) AS t LEFT JOIN engine_api_threads AS a "
                   f"ON a.thread_id = t.thread_id ORDER BY t.{sort_by} {direction}, t.row_no {direction}")
            count_sql = f"SELECT count(*) {count_from}"
        elif only_engine:
            sql = t_select + f" ORDER BY created_at {direction}, row_order {direction} LIMIT %(limit)s OFFSET %(offset)s"
            count_sql = f"SELECT count(*) {count_from}"
        else:  # threads that never ran (only in engine_api_threads) too
            a_where = ["NOT EXISTS (SELECT 1 FROM engine_threads AS t WHERE t.thread_id = a.thread_id)"]
            if ids is not None:
                a_where.append("a.thread_id = ANY(%(ids)s)")
            if metadata:
                a_where.append("a.metadata::jsonb @> %(meta)s::jsonb")
            union = (f"SELECT * FROM ({t_select} UNION ALL SELECT a.thread_id, a.created_at, a.updated_at, 'idle', "
                     f"a.metadata::jsonb, a.row_no + (1::bigint << 40) FROM engine_api_threads AS a "
                     f"WHERE {' AND '.join(a_where)}) AS found")
            count_sql = f"SELECT count(*) FROM ({union}) AS counted"
            sql = f"{union} ORDER BY {sort_by} {direction}, row_order {direction} LIMIT %(limit)s OFFSET %(offset)s"

        async def page(conn):
            total = (await (await conn.execute(count_sql, params)).fetchone())[0]
            found = await (await conn.execute(sql, params)).fetchall()
            return total, found
        total, found = await self._db.read(page)
        return [_thread(r) for r in found], total

    async def alatest_checkpoints(self, thread_ids: list[str]) -> dict[str, CheckpointTuple]:
        if not thread_ids:
            return {}
        rows = await self._query(_HEADS_SQL, ([str(i) for i in thread_ids],))
        heads = {}
        for thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, task_ids, channels, values in rows:
            heads[thread_id] = CheckpointTuple(
                config=make_config(thread_id, ns, checkpoint_id),
                checkpoint=loads(from_stored(checkpoint)),
                metadata=loads(from_stored(metadata)),
                parent_config=make_config(thread_id, ns, parent_id) if parent_id else None,
                pending_writes=[(task_id, channel, loads(from_stored(value)))
                                for task_id, channel, value in zip(task_ids or (), channels or (), values or ())])
        return heads

    # --- runs ---------------------------------------------------------------------------------
    async def aput_api_run(self, run: ApiRun) -> None:
        result = run.get("result")
        values = (run["run_id"], run["thread_id"], run["assistant_id"], run["graph_id"], run["status"],
                  normalize_ts(run["created_at"]), normalize_ts(run["updated_at"]), json.dumps(run["metadata"]),
                  json.dumps(run["kwargs"]), run["multitask_strategy"],
                  json.dumps(result) if result is not None else None, run.get("owner"),
                  normalize_ts(run.get("heartbeat_at")))
        updates = ", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in _RUN_COLUMNS.split(",")[1:])
        await self._execute(f"INSERT INTO engine_api_runs ({_RUN_COLUMNS}) VALUES "
                            f"(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                            f"ON CONFLICT (run_id) DO UPDATE SET {updates}", values)

    async def aset_api_run_status(self, run_id: str, status: str, result: Any = None) -> None:
        await self._execute("UPDATE engine_api_runs SET status = %s, updated_at = %s, result = %s WHERE run_id = %s",
                            (status, self._now(), json.dumps(result) if result is not None else None, run_id))

    async def aget_api_run(self, thread_id: str, run_id: str) -> ApiRun | None:
        rows = await self._query(f"SELECT {_RUN_COLUMNS} FROM engine_api_runs WHERE run_id = %s AND thread_id = %s",
                                 (run_id, thread_id))
        return _run(rows[0]) if rows else None

    async def alist_api_runs(self, thread_id: str, limit: int = 10, offset: int = 0,
                             status: str | None = None) -> list[ApiRun]:
        sql = f"SELECT {_RUN_COLUMNS} FROM engine_api_runs WHERE thread_id = %s"
        params: list[Any] = [thread_id]
        if status is not None:
            sql += " AND status = %s"
            params.append(status)
        sql += " ORDER BY created_at DESC, row_no DESC LIMIT %s OFFSET %s"
        return [_run(r) for r in await self._query(sql, params + [limit, offset])]

    async def alist_unfinished_api_runs(self, thread_id: str | None = None) -> list[ApiRun]:
        sql = f"SELECT {_RUN_COLUMNS} FROM engine_api_runs WHERE status IN ('pending', 'running')"
        params: tuple = ()
        if thread_id is not None:
            sql += " AND thread_id = %s"
            params = (thread_id,)
        return [_run(r) for r in await self._query(sql + " ORDER BY created_at, row_no", params)]

    async def aheartbeat_api_runs(self, owner: str) -> None:
        await self._execute("UPDATE engine_api_runs SET heartbeat_at = %s WHERE owner = %s "
                            "AND status IN ('pending', 'running')", (self._now(), owner))

    async def aclaim_api_run(self, run_id: str, owner: str, *, previous: str | None) -> bool:
        # under READ COMMITTED a second claimer waits for the first's row lock, then finds the
        # owner changed and updates nothing
        return await self._execute(
            "UPDATE engine_api_runs SET owner = %s, heartbeat_at = %s WHERE run_id = %s "
            "AND owner IS NOT DISTINCT FROM %s AND status IN ('pending', 'running')",
            (owner, self._now(), run_id, previous)) == 1


__all__ = ["PostgresApiRecords"]
