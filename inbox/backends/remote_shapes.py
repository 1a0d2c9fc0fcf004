"""How an Agent Server's JSON maps onto the inbox's record types (the local backend's), so the
screens read a remote inbox exactly as a file: a thread is a ThreadRecord, each interrupt in
its `interrupts` (or, without them, its state's tasks) a pending InterruptRecord; and the
text filter (`/`, `--filter`) over a request's action, args and description."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from engine.checkpoint.store import InterruptRecord, ThreadRecord
from engine.review.validate import review_items


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def timestamp(value: Any) -> str:
    return value if isinstance(value, str) and value else now_iso()


def thread_record(thread: dict) -> ThreadRecord:
    status = thread.get("status") or "idle"
    metadata = thread.get("metadata") or {}
    pending = sum(len(v or []) for v in (thread.get("interrupts") or {}).values())
    return ThreadRecord(thread_id=thread["thread_id"], graph=str(metadata.get("graph_id") or ""),
                        status=status if status in ("idle", "busy", "interrupted", "error", "done") else "idle",
                        created_at=timestamp(thread.get("created_at")), updated_at=timestamp(thread.get("updated_at")),
                        metadata=metadata, pending=pending)


def interrupt_records(thread: dict, tasks: list[dict] | None = None) -> list[InterruptRecord]:
    """The pending interrupts of a thread (from `interrupts`, or its state's `tasks`)."""
    metadata = thread.get("metadata") or {}
    graph = str(metadata.get("graph_id") or "")
    created = timestamp(thread.get("state_updated_at") or thread.get("updated_at"))
    found: list[tuple[str, str, dict]] = []  # (task id, node, interrupt)
    if thread.get("interrupts"):
        for task_id, interrupts in thread["interrupts"].items():
            found += [(task_id, "", i) for i in interrupts or []]
    else:
        for task in tasks or []:
            found += [(task.get("id", ""), task.get("name", ""), i) for i in task.get("interrupts") or []]
    names = {t.get("id"): t.get("name", "") for t in tasks or []}
    return [InterruptRecord(id=i["id"], thread_id=thread["thread_id"], graph=graph, node=node or names.get(task_id, ""),
                            payload=i.get("value"), created_at=created, status="pending",
                            response_schema=i.get("response_schema") if isinstance(i.get("response_schema"), dict)
                            else None)
            for task_id, node, i in found if isinstance(i, dict) and i.get("id")]


def matches(record: InterruptRecord, text: str | None, action: str | None) -> bool:
    if not text and not action:
        return True
    items = review_items(record.payload)
    if action and action not in [i.action for i in items]:
        return False
    if text:
        hay = " ".join([record.thread_id, record.graph] + [f"{i.action} {i.description} "
                        f"{json.dumps(i.args, ensure_ascii=False, default=str)}" for i in items]
                       + ([json.dumps(record.payload, ensure_ascii=False, default=str)]
                          if items and items[0].kind == "question" else []))
        return text.lower() in hay.lower()
    return True


__all__ = ["thread_record", "interrupt_records", "matches", "now_iso", "timestamp"]
