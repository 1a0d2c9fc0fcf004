"""An in-process saver for development and tests. Nothing survives the process.

Values are stored as JSON text, exactly as the durable saver stores them, so a graph that
works here does not break later on a value that cannot be saved.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any, AsyncIterator, Sequence

from engine.checkpoint.base import (BaseCheckpointSaver, CheckpointTuple, checkpoint_id_of,
                                    checkpoint_ns_of, make_config, thread_id_of)
from engine.checkpoint.serde import dumps, loads
from engine.events import Event


class InMemorySaver(BaseCheckpointSaver):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        # thread_id -> checkpoint_ns -> checkpoint_id -> (checkpoint, metadata, parent_id), in order
        self._checkpoints: dict[str, dict[str, dict[str, tuple[str, str, str | None]]]] = \
            defaultdict(lambda: defaultdict(dict))
        # (thread_id, checkpoint_ns, checkpoint_id) -> (task_id, channel) -> (task_path, value)
        self._writes: dict[tuple[str, str, str], dict[tuple[str, str], tuple[str, str]]] = defaultdict(dict)
        self._events: list[str] = []

    def _tuple(self, thread_id: str, ns: str, checkpoint_id: str) -> CheckpointTuple:
        checkpoint, metadata, parent_id = self._checkpoints[thread_id][ns][checkpoint_id]
        writes = self._writes.get((thread_id, ns, checkpoint_id), {})
        return CheckpointTuple(
            config=make_config(thread_id, ns, checkpoint_id),
            checkpoint=loads(checkpoint),
            metadata=loads(metadata),
            parent_config=make_config(thread_id, ns, parent_id) if parent_id else None,
            pending_writes=[(task_id, channel, loads(value))
                            for (task_id, channel), (_path, value) in writes.items()],
        )

    async def aget_tuple(self, config: dict) -> CheckpointTuple | None:
        thread_id, ns = thread_id_of(config), checkpoint_ns_of(config)
        wanted = checkpoint_id_of(config)
        with self._lock:
            saved = self._checkpoints.get(thread_id, {}).get(ns)
            if not saved:
                return None
            if wanted is None:
                wanted = next(reversed(saved))
            elif wanted not in saved:
                return None
            return self._tuple(thread_id, ns, wanted)

    async def _alatest_checkpoint_id(self, thread_id: str) -> str | None:
        with self._lock:  # without decoding the checkpoint (every run's lease checks it)
            saved = self._checkpoints.get(thread_id, {}).get("")
            return next(reversed(saved)) if saved else None

    async def alist(self, config: dict | None, *, filter: dict | None = None, before: dict | None = None,
                    limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        with self._lock:
            if config is not None:
                thread_id = thread_id_of(config)
                namespaces = [checkpoint_ns_of(config)]
                threads = [thread_id]
            else:
                threads = list(self._checkpoints)
                namespaces = None
            found: list[CheckpointTuple] = []
            before_id = checkpoint_id_of(before)
            for thread_id in threads:
                for ns in (namespaces if namespaces is not None else list(self._checkpoints[thread_id])):
                    for checkpoint_id in reversed(self._checkpoints.get(thread_id, {}).get(ns, {})):
                        if before_id is not None and checkpoint_id >= before_id:
                            continue
                        item = self._tuple(thread_id, ns, checkpoint_id)
                        if filter and any(item.metadata.get(k) != v for k, v in filter.items()):
                            continue
                        found.append(item)
        found.sort(key=lambda t: t.config["configurable"]["checkpoint_id"], reverse=True)
        for item in found[:limit] if limit is not None else found:
            yield item

    async def aput(self, config: dict, checkpoint: dict, metadata: dict, new_versions: dict) -> dict:
        thread_id, ns = thread_id_of(config), checkpoint_ns_of(config)
        parent_id = checkpoint_id_of(config)
        with self._lock:
            self._checkpoints[thread_id][ns][checkpoint["id"]] = (dumps(checkpoint), dumps(metadata), parent_id)
        return make_config(thread_id, ns, checkpoint["id"])

    async def aput_writes(self, config: dict, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        key = (thread_id_of(config), checkpoint_ns_of(config), checkpoint_id_of(config))
        encoded = [(channel, dumps(value)) for channel, value in writes]
        with self._lock:
            for channel, value in encoded:
                self._writes[key][(task_id, channel)] = (task_path, value)

    async def adelete_thread(self, thread_id: str) -> None:
        with self._lock:
            self._checkpoints.pop(str(thread_id), None)
            for key in [k for k in self._writes if k[0] == str(thread_id)]:
                del self._writes[key]

    async def _astore_events(self, events: list[Event]) -> list[Event]:
        stored = []
        with self._lock:
            for event in events:
                numbered = event.model_copy(update={"seq": len(self._events) + 1})
                self._events.append(numbered.model_dump_json())
                stored.append(numbered)
        return stored

    async def aread_events(self, since: int | None = None, limit: int | None = None) -> list[Event]:
        from engine.events import event_from_json
        with self._lock:
            rows = self._events[since or 0:]
        if limit is not None:
            rows = rows[:limit]
        return [event_from_json(loads(row)) for row in rows]


MemorySaver = InMemorySaver

__all__ = ["InMemorySaver", "MemorySaver"]
