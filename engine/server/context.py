"""What every route needs, built once per server: the saver, the API's records, the served
graphs (as assistants), the run manager and the limits. Routes find it on `request.app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.server.assistants import Assistants
from engine.server.errors import ApiError
from engine.server.manager import RunManager
from engine.server.records import ApiRecords


@dataclass
class ServerContext:
    saver: Any
    records: ApiRecords
    assistants: Assistants
    manager: RunManager
    max_body: int

    @property
    def graphs(self) -> dict[str, Any]:
        return self.assistants.graphs

    async def thread(self, thread_id: str) -> dict:
        """The thread's record, or 404."""
        record = await self.records.get_thread(thread_id)
        if record is None:
            raise ApiError(404, f"Thread {thread_id!r} not found. Create it first: POST /threads.")
        return record

    def graph_of(self, record: dict) -> Any:
        """The served graph a thread ran (its metadata's graph_id); any served graph reads the
        state of a thread that never ran or ran a graph not served here."""
        graph = self.graphs.get((record.get("metadata") or {}).get("graph_id", ""))
        return graph if graph is not None else next(iter(self.graphs.values()))

    async def snapshot(self, record: dict, checkpoint_id: str | None = None) -> Any:
        config: dict = {"configurable": {"thread_id": record["thread_id"]}}
        if checkpoint_id:
            config["configurable"]["checkpoint_id"] = checkpoint_id
        return await self.graph_of(record).aget_state(config)


def context(request: Any) -> ServerContext:
    return request.app.state.ctx


__all__ = ["ServerContext", "context"]
