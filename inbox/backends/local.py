"""A store opened in this process (a SqliteSaver or a PostgresSaver) plus the graphs that continue its runs.

Everything goes through the engine's public names: the saver's inbox-facing methods and
engine.runtime.decisions (claim exactly once, apply, recover, expire).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, AsyncIterator, Mapping

from engine.checkpoint.base import make_config
from engine.runtime import decisions


class LocalBackend:
    kind = "local"

    def __init__(self, store: Any, graphs: Mapping[str, Any] | None = None):
        self.store = store
        self.graphs: dict[str, Any] = dict(graphs or {})

    def explain(self, error: BaseException) -> str | None:
        """A SQLite page found damaged while the file is open, explained; else None."""
        from engine.checkpoint.sqlite.schema import damaged_while_open

        damaged = damaged_while_open(error, getattr(self.store, "path", None))
        return str(damaged) if damaged is not None else None

    # --- reading ------------------------------------------------------------------------------
    async def list_pending(self, *, text=None, limit=None, offset=0, graph=None, thread_id=None, action=None):
        return await self.store.alist_pending(limit=limit, offset=offset, graph=graph, thread_id=thread_id,
                                              action=action, text=text)

    async def decisions(self, *, thread_id: str | None = None, limit: int | None = None):
        return await self.store.adecisions(thread_id=thread_id, limit=limit)

    async def failed_threads(self):
        return await self.store.alist_threads(status="error")

    async def count_by_status(self) -> dict[str, int]:
        return await self.store.acount_by_status()

    async def interrupt(self, interrupt_id: str):
        return await self.store.aget_interrupt(interrupt_id)

    async def put_rule(self, rule: dict) -> dict:
        return await self.store.aput_rule(rule)

    async def rules(self, include_revoked: bool = False) -> list[dict]:
        return await self.store.alist_rules(include_revoked)

    async def claimed_unapplied(self) -> list:
        return await self.store.alist_claimed_unapplied()

    async def audit_log(self, since: str | None = None) -> list[dict]:
        return await self.store.aaudit_log(since)

    async def find_ids(self, prefix: str, limit: int = 10) -> list[str]:
        return await self.store.afind_interrupt_ids(prefix, limit)

    async def thread(self, thread_id: str):
        return await self.store.aget_thread(thread_id)

    async def state(self, thread_id: str) -> tuple[dict, str | None]:
        latest = await self.store.aget_tuple(make_config(thread_id, "", None))
        if latest is None:
            return {}, None
        error = None
        for _task, channel, value in latest.pending_writes or []:
            if channel == "__error__":
                error = f"{value['type']}: {value['message']}"
                break
        return dict(latest.checkpoint["channel_values"]), error

    async def history(self, thread_id: str, limit: int = 30) -> list[dict]:
        history = []
        async for saved in self.store.alist(make_config(thread_id, "", None), limit=limit):
            history.append({"checkpoint_id": saved.checkpoint["id"], "step": saved.metadata.get("step"),
                            "source": saved.metadata.get("source"), "created": saved.checkpoint.get("ts"),
                            "next": [t["name"] for t in saved.checkpoint.get("tasks", [])]})
        return history

    # --- deciding -----------------------------------------------------------------------------
    async def claim(self, interrupt_id: str, response: Any, *, by: str):
        return await decisions.claim(self.store, interrupt_id, response, by=by)

    async def apply(self, record: Any):
        return await decisions.apply_claimed(self.graphs, record)

    async def recover(self, *, concurrency: int = 1):
        return await decisions.apply_pending_decisions(self.store, self.graphs, concurrency=concurrency)

    async def expire(self, now: datetime | None = None):
        return await decisions.expire_overdue(self.store, self.graphs, now)

    # --- following ----------------------------------------------------------------------------
    async def last_event_seq(self) -> int:
        return await self.store.alast_event_seq()

    def subscribe(self, since: int | None = None) -> AsyncIterator[Any]:
        return self.store.subscribe(since=since)

    def close(self) -> None:
        self.store.close()
