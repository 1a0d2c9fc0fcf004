"""Request bodies: pydantic models that accept what the real server's clients send and refuse
the rest by name (422), so nothing a client asks for is silently ignored. Also the JSON body
reader: a size limit (413) and malformed JSON (422), each with a `detail`."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.server.errors import ApiError

MAX_BODY_BYTES = 2 * 1024 * 1024  # INBOX_SERVE_MAX_BODY overrides it (app.py)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ThreadCreate(_Body):
    thread_id: str | None = None
    metadata: dict = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"


class ThreadSearch(_Body):
    ids: list[str] | None = None
    metadata: dict | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)
    sort_by: Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"] = "updated_at"
    sort_order: Literal["asc", "desc"] = "desc"


class StateUpdate(_Body):
    values: Any = None
    as_node: str | None = None
    checkpoint: dict | None = None
    checkpoint_id: str | None = None


class HistoryRequest(_Body):
    limit: int = Field(10, ge=1, le=1000)
    before: str | dict | None = None
    metadata: dict | None = None


class CommandBody(_Body):
    resume: Any = None
    update: Any = None
    goto: Any = None


class RunCreate(_Body):
    assistant_id: str
    input: Any = None
    command: CommandBody | None = None
    config: dict | None = None
    metadata: dict | None = None
    stream_mode: str | list[str] = "values"
    stream_subgraphs: Literal[False] = False
    stream_resumable: Literal[False] = False
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    multitask_strategy: str = "enqueue"
    if_not_exists: Literal["reject"] = "reject"
    on_disconnect: Literal["continue"] | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    checkpoint: dict | None = None
    checkpoint_id: str | None = None


async def read_json(request: Any, limit: int = MAX_BODY_BYTES) -> Any:
    """The request's JSON body (None when empty), refusing a body over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"Request body is {declared} bytes; the limit is {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"Request body is over the limit of {limit} bytes.")
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise ApiError(422, f"Request body is not valid JSON: {error}") from None


def parse(model: type[BaseModel], data: Any) -> Any:
    """`data` validated as `model`, or 422 naming each wrong field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ApiError(422, f"Request body must be a JSON object, got {type(data).__name__}.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"]) or "body"
            if item["type"] == "extra_forbidden":
                problems.append(f"{where}: not supported by this server (remove it)")
            else:
                problems.append(f"{where}: {item['msg']}")
        raise ApiError(422, "; ".join(problems)) from None


__all__ = ["ThreadCreate", "ThreadSearch", "StateUpdate", "HistoryRequest", "RunCreate", "CommandBody",
           "read_json", "parse", "MAX_BODY_BYTES"]
