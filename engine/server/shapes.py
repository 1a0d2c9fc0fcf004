"""Response shapes: engine objects (snapshots, interrupts, run records) as the real server
spells them in JSON, field by field (see ../shared/reference/agent-server-responses.json)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse as _StarletteJSON

from engine.checkpoint.serde import to_jsonable

try:  # a core dependency; json is the fallback, as in the store's listing
    import orjson
except ImportError:  # pragma: no cover
    orjson = None


class JSONResponse(_StarletteJSON):
    """Compact JSON, encoded with orjson (a page of 10 threads with their values: ~3x faster)."""

    def render(self, content: Any) -> bytes:
        if orjson is not None:
            try:
                return orjson.dumps(content)
            except TypeError:  # e.g. an int over 64 bits: json handles it
                pass
        return super().render(content)


def jsonable(value: Any) -> Any:
    return to_jsonable(value)


def interrupt_json(item: Any, *, response_schema: bool = False) -> dict:
    """`{value, id}`; runs/wait and streams add `response_schema: null` as langgraph 1.2.24 does."""
    out = {"value": jsonable(item.value), "id": item.id}
    if response_schema:
        out["response_schema"] = None
    return out


def _checkpoint_ref(config: dict | None) -> dict | None:
    if not config:
        return None
    c = config.get("configurable") or {}
    if not c.get("checkpoint_id"):
        return None
    return {"checkpoint_id": c["checkpoint_id"], "thread_id": c.get("thread_id"),
            "checkpoint_ns": c.get("checkpoint_ns", "")}


def task_json(task: Any) -> dict:
    return {"id": task.id, "name": task.name, "path": list(task.path),
            "error": str(task.error) if task.error is not None else None,
            "interrupts": [interrupt_json(i) for i in task.interrupts], "checkpoint": None, "state": None,
            "result": jsonable(task.result) if task.result is not None else None}


def state_json(snapshot: Any) -> dict:
    """GET /threads/{id}/state and each item of history."""
    checkpoint = _checkpoint_ref(snapshot.config)
    parent = _checkpoint_ref(snapshot.parent_config)
    return {"values": jsonable(snapshot.values), "next": list(snapshot.next),
            "tasks": [task_json(t) for t in snapshot.tasks], "metadata": jsonable(snapshot.metadata),
            "created_at": snapshot.created_at, "checkpoint": checkpoint, "parent_checkpoint": parent,
            "interrupts": [interrupt_json(i) for i in snapshot.interrupts],
            "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
            "parent_checkpoint_id": parent["checkpoint_id"] if parent else None}


def empty_state() -> dict:
    return {"values": {}, "next": [], "tasks": [], "metadata": None, "created_at": None, "checkpoint": None,
            "parent_checkpoint": None, "interrupts": [], "checkpoint_id": None, "parent_checkpoint_id": None}


def thread_json(record: dict, snapshot: Any | None) -> dict:
    """A Thread. `snapshot` None: the thread never ran (values null, config {}), as on creation."""
    out = {"thread_id": record["thread_id"], "created_at": record["created_at"],
           "updated_at": record["updated_at"], "state_updated_at": record["updated_at"],
           "metadata": record["metadata"], "status": record["status"]}
    if snapshot is None or snapshot.created_at is None:
        out.update({"config": {}, "values": None})
        if "interrupts" in record:
            out.update({"error": None, "interrupts": {}})
        return out
    interrupts = {t.id: [interrupt_json(i) for i in t.interrupts] for t in snapshot.tasks if t.interrupts}
    errors = [str(t.error) for t in snapshot.tasks if t.error is not None]
    out.update({"config": {"configurable": {}}, "values": jsonable(snapshot.values),
                "error": errors[0] if errors and record["status"] == "error" else None,
                "interrupts": interrupts})
    return out


def run_json(run: dict) -> dict:
    return {"run_id": run["run_id"], "thread_id": run["thread_id"], "assistant_id": run["assistant_id"],
            "metadata": run["metadata"], "status": run["status"], "kwargs": run["kwargs"],
            "multitask_strategy": run["multitask_strategy"], "created_at": run["created_at"],
            "updated_at": run["updated_at"]}


__all__ = ["JSONResponse", "interrupt_json", "state_json", "empty_state", "thread_json", "run_json", "task_json", "jsonable"]
