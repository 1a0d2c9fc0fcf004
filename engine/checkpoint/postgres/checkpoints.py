"""LangGraph's saver protocol on PostgresSaver's tables: checkpoints and pending writes, read
back as CheckpointTuples. A checkpoint row holds the whole checkpoint as serde JSON, packed
(packed.py); pending writes are upserted by
(task_id, channel) per checkpoint, keeping the order they were first put in."""

from __future__ import annotations

from typing import Any, AsyncIterator, Sequence

from engine.checkpoint.base import CheckpointTuple, checkpoint_id_of, checkpoint_ns_of, make_config, thread_id_of
from engine.checkpoint.postgres.packed import from_stored, to_stored
from engine.checkpoint.postgres.step import op, send_ops
from engine.checkpoint.serde import dumps, loads
from engine.checkpoint.sqlite.times import normalize_ts

_COLUMNS = "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata"
WRITES_OF_C = ", ".join(
    f"(SELECT array_agg(w.{column} ORDER BY w.row_no) FROM engine_writes AS w WHERE w.thread_id = c.thread_id "
    f"AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id)"
    for column in ("task_id", "channel", "value"))


class CheckpointRows:
    """The saver protocol's reads and writes over the saver's Connections."""

    def __init__(self, connections, now) -> None:
        self._db = connections
        self._now = now

    async def _materialize(self, conn, rows: list) -> list[CheckpointTuple]:
        if not rows:
            return []
        keys = [(r[0], r[1], r[2]) for r in rows]
        cur = await conn.execute(
            "SELECT w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.channel, w.value "
            "FROM engine_writes AS w JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(t, n, c) "
            "ON w.thread_id = k.t AND w.checkpoint_ns = k.n AND w.checkpoint_id = k.c ORDER BY w.row_no",
            [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]])
        writes: dict[tuple, list] = {}
        for thread_id, ns, checkpoint_id, task_id, channel, value in await cur.fetchall():
            writes.setdefault((thread_id, ns, checkpoint_id), []).append((task_id, channel, loads(from_stored(value))))
        return [CheckpointTuple(
            config=make_config(thread_id, ns, checkpoint_id),
            checkpoint=loads(from_stored(checkpoint)),
            metadata=loads(from_stored(metadata)),
            parent_config=make_config(thread_id, ns, parent_id) if parent_id else None,
            pending_writes=writes.get((thread_id, ns, checkpoint_id), []),
        ) for thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata in rows]

    async def get_tuple(self, config: dict) -> CheckpointTuple | None:
        thread_id, ns, wanted = thread_id_of(config), checkpoint_ns_of(config), checkpoint_id_of(config)

        # One round trip: the checkpoint row with its pending writes aggregated beside it
        # (engine_checkpoint, schema.py: a call whose plans the session keeps).
        async def work(conn):
            return await (await conn.execute("SELECT * FROM engine_checkpoint(%s, %s, %s)",
                                             (thread_id, ns, wanted))).fetchone()

        row = await self._db.read(work)
        if row is None:
            return None
        thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, task_ids, channels, values = row
        writes = zip(task_ids, channels, values) if task_ids else ()
        return CheckpointTuple(
            config=make_config(thread_id, ns, checkpoint_id),
            checkpoint=loads(from_stored(checkpoint)),
            metadata=loads(from_stored(metadata)),
            parent_config=make_config(thread_id, ns, parent_id) if parent_id else None,
            pending_writes=[(task_id, channel, loads(from_stored(value))) for task_id, channel, value in writes],
        )

    async def list(self, config: dict | None, *, filter: dict | None = None, before: dict | None = None,
                   limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        where, params = [], []
        if config is not None:
            where += ["thread_id = %s", "checkpoint_ns = %s"]
            params += [thread_id_of(config), checkpoint_ns_of(config)]
            order = "checkpoint_id DESC"
        else:
            # ties between threads keep InMemorySaver's order: threads, then namespaces, as first written
            order = ("checkpoint_id DESC, min(row_no) OVER (PARTITION BY thread_id), "
                     "min(row_no) OVER (PARTITION BY thread_id, checkpoint_ns)")
        before_id = checkpoint_id_of(before)
        if before_id is not None:
            where.append("checkpoint_id < %s")
            params.append(before_id)
        sql = f"SELECT {_COLUMNS} FROM engine_checkpoints"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {order}"
        # with a filter, metadata (serde JSON text) is compared in Python, as InMemorySaver does,
        # so the limit applies after it
        if not filter and limit is not None and limit >= 0:
            sql += " LIMIT %s"
            params.append(limit)

        async def work(conn):
            rows = await (await conn.execute(sql, params)).fetchall()
            if filter:
                rows = [r for r in rows if not any(loads(from_stored(r[5])).get(k) != v for k, v in filter.items())]
            if limit is not None:
                rows = rows[:limit]
            return await self._materialize(conn, rows)

        for item in await self._db.read(work):
            yield item

    async def put(self, config: dict, checkpoint: dict, metadata: dict, new_versions: dict) -> dict:
        thread_id, ns, parent_id = thread_id_of(config), checkpoint_ns_of(config), checkpoint_id_of(config)
        text, meta = to_stored(dumps(checkpoint)), to_stored(dumps(metadata))  # before any write: a bad value fails the call cleanly
        ts = checkpoint.get("ts")
        now = normalize_ts(ts) if isinstance(ts, str) else self._now()
        graph = metadata.get("graph") if isinstance(metadata, dict) else None
        graph = graph if isinstance(graph, str) else ""

        put = op("checkpoint", thread_id, ns, checkpoint["id"], parent_id, blobs=(text, meta))
        exists = op("thread", thread_id, graph, now)  # the thread's row, if it has none yet

        txn = self._db.current.get()
        if txn is not None:
            txn.at_commit.append((("thread", thread_id), exists))

            async def work(conn):
                await send_ops(conn, [put])
            await self._db.write(work, defer=True)
        else:
            async def with_thread(conn):
                await send_ops(conn, [put, exists])
            await self._db.write(with_thread)
        return make_config(thread_id, ns, checkpoint["id"])

    async def put_writes(self, config: dict, writes: Sequence[tuple[str, Any]], task_id: str,
                         task_path: str = "") -> None:
        thread_id, ns = thread_id_of(config), checkpoint_ns_of(config)
        checkpoint_id = checkpoint_id_of(config) or ""
        rows = [op("write", thread_id, ns, checkpoint_id, task_id, channel, task_path, blobs=(to_stored(dumps(value)),))
                for channel, value in writes]
        if not rows:
            return

        async def work(conn):
            await send_ops(conn, rows)

        await self._db.write(work, defer=True)

    async def delete_thread(self, thread_id: str) -> None:
        now = self._now()

        async def work(conn):
            await conn.execute("DELETE FROM engine_writes WHERE thread_id = %s", (thread_id,))
            await conn.execute("DELETE FROM engine_checkpoints WHERE thread_id = %s", (thread_id,))
            await conn.execute(
                "UPDATE engine_interrupts SET status = 'cancelled', resolved_at = coalesce(resolved_at, %s), "
                "resolved_by = coalesce(resolved_by, 'system'), reason = 'thread deleted' WHERE thread_id = %s AND "
                "(status = 'pending' OR (status IN ('resolved', 'expired') AND NOT applied))", (now, thread_id))
            await conn.execute("DELETE FROM engine_threads WHERE thread_id = %s", (thread_id,))

        await self._db.write(work)


__all__ = ["WRITES_OF_C", "CheckpointRows"]
