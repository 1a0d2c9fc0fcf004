"""What every route needs, built once per server: the store (a saver with the API's records:
engine/checkpoint/api_store.py), the served graphs (as assistants), the run manager and the
limits. Routes find it on `request.app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.runtime.algo import SavedState
from engine.runtime.snapshot import snapshot as snapshot_of
from engine.server.assistants import Assistants
from engine.server.errors import ApiError
from engine.server.manager import RunManager


@dataclass
class ServerContext:
    saver: Any  # SqliteSaver or PostgresSaver: the checkpointer and the ApiStore
    assistants: Assistants
    manager: RunManager
    max_body: int

    @property
    def graphs(self) -> dict[str, Any]:
        return self.assistants.graphs

    async def thread(self, thread_id: str) -> dict:
        """The thread's record, or 404."""
        record = await self.saver.aget_api_thread(thread_id)
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

    async def snapshots(self, records: list[dict]) -> list[Any]:
        """The live snapshot of each thread (None for one that never ran), as `snapshot` gives
        it, from one batch read of the threads' latest checkpoints: a page of a search costs one
        round trip, not one per thread. Subgraph tasks show their config, as get_state does."""
        heads = await self.saver.alatest_checkpoints([r["thread_id"] for r in records])
        out = []
        for record in records:
            saved = heads.get(record["thread_id"])
            out.append(None if saved is None else await snapshot_of(
                self.graph_of(record), SavedState(saved), self.saver, live=True, recurse=False))
        return out


def context(request: Any) -> ServerContext:
    return request.app.state.ctx


__all__ = ["ServerContext", "context"]
