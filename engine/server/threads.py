"""Thread routes: create, get, search, state (get, update), history."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request

from engine.constants import END
from engine.server.context import context
from engine.server.errors import ApiError, from_engine
from engine.server.clock import now_iso
from engine.server.schemas import HistoryRequest, StateUpdate, ThreadCreate, ThreadSearch, parse, read_json
from engine.server.shapes import JSONResponse, empty_state, state_json, thread_json


async def create_thread(request: Request) -> JSONResponse:
    ctx = context(request)
    body = parse(ThreadCreate, await read_json(request, ctx.max_body))
    thread_id = body.thread_id or str(uuid.uuid4())
    created = await ctx.saver.acreate_api_thread(thread_id, body.metadata)
    if not created and body.if_exists == "raise":
        raise ApiError(409, f"Thread {thread_id!r} already exists; pass if_exists=\"do_nothing\" to get it instead.")
    record = await ctx.thread(thread_id)
    snapshot = await ctx.snapshot(record) if not created else None
    return JSONResponse(thread_json(record if not created else _fresh(record), snapshot))


def _fresh(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "interrupts"}


async def get_thread(request: Request) -> JSONResponse:
    ctx = context(request)
    record = await ctx.thread(request.path_params["thread_id"])
    snapshot = await ctx.snapshot(record)
    return JSONResponse(thread_json({**record, "interrupts": {}}, snapshot))


async def search_threads(request: Request) -> JSONResponse:
    ctx = context(request)
    body = parse(ThreadSearch, await read_json(request, ctx.max_body))
    sort_by = "updated_at" if body.sort_by == "state_updated_at" else body.sort_by
    rows, total = await ctx.saver.asearch_api_threads(status=body.status, metadata=body.metadata, ids=body.ids,
                                                      limit=body.limit, offset=body.offset, sort_by=sort_by,
                                                      sort_order=body.sort_order)
    out = [thread_json({**row, "interrupts": {}}, snapshot)
           for row, snapshot in zip(rows, await ctx.snapshots(rows))]
    headers = {"X-Pagination-Total": str(total)}
    if body.offset + len(rows) < total:
        headers["X-Pagination-Next"] = str(body.offset + len(rows))
    return JSONResponse(out, headers=headers)


async def get_state(request: Request) -> JSONResponse:
    ctx = context(request)
    record = await ctx.thread(request.path_params["thread_id"])
    snapshot = await ctx.snapshot(record, request.path_params.get("checkpoint_id"))
    if snapshot.created_at is None:
        if request.path_params.get("checkpoint_id"):
            raise ApiError(404, f"Thread {record['thread_id']!r} has no checkpoint "
                                f"{request.path_params['checkpoint_id']!r}.")
        return JSONResponse(empty_state())
    return JSONResponse(state_json(snapshot))


async def get_state_at(request: Request) -> JSONResponse:
    """POST /threads/{id}/state/checkpoint {checkpoint: {checkpoint_id}}."""
    ctx = context(request)
    body = await read_json(request, ctx.max_body) or {}
    checkpoint = body.get("checkpoint") if isinstance(body, dict) else None
    if not isinstance(checkpoint, dict) or not checkpoint.get("checkpoint_id"):
        raise ApiError(422, "checkpoint: expected {\"checkpoint\": {\"checkpoint_id\": ...}}")
    request.path_params["checkpoint_id"] = checkpoint["checkpoint_id"]
    return await get_state(request)


async def update_state(request: Request) -> JSONResponse:
    ctx = context(request)
    thread_id = request.path_params["thread_id"]
    record = await ctx.thread(thread_id)
    body = parse(StateUpdate, await read_json(request, ctx.max_body))
    graph = ctx.graph_of(record)
    if body.as_node is not None and body.as_node != END and body.as_node not in graph.builder.nodes:
        raise ApiError(422, f"as_node {body.as_node!r} is not a node of graph {graph.name!r} "
                            f"(nodes: {', '.join(graph.builder.nodes)}, or \"__end__\").")
    if await ctx.manager.busy_anywhere(thread_id):
        raise ApiError(409, "Thread is busy with a run; update its state when the run has finished.")
    config: dict = {"configurable": {"thread_id": thread_id}}
    checkpoint_id = body.checkpoint_id or (body.checkpoint or {}).get("checkpoint_id")
    if checkpoint_id:
        config["configurable"]["checkpoint_id"] = checkpoint_id
    try:
        new_config = await graph.aupdate_state(config, body.values, as_node=body.as_node)
    except Exception as error:
        mapped = from_engine(error)
        if mapped is None and isinstance(error, ValueError):
            mapped = ApiError(422, str(error))
        if mapped is None:
            raise
        raise mapped from None
    await ctx.saver.amerge_api_thread_metadata(thread_id, {})
    configurable = dict((new_config or {}).get("configurable") or {})
    checkpoint = {"thread_id": thread_id, "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                  "checkpoint_id": configurable.get("checkpoint_id")}
    return JSONResponse({"checkpoint": checkpoint, "configurable": dict(checkpoint),
                         "checkpoint_id": checkpoint["checkpoint_id"]})


async def history(request: Request) -> JSONResponse:
    ctx = context(request)
    thread_id = request.path_params["thread_id"]
    record = await ctx.thread(thread_id)
    body = parse(HistoryRequest, await read_json(request, ctx.max_body) if request.method == "POST" else {
        k: (int(v) if k == "limit" and v.isdigit() else v) for k, v in request.query_params.items()})
    config: dict = {"configurable": {"thread_id": thread_id}}
    before: Any = body.before
    if isinstance(before, dict):
        before = (before.get("configurable") or before).get("checkpoint_id")
    states = []
    async for snapshot in ctx.graph_of(record).aget_state_history(
            config, filter=body.metadata,
            before={"configurable": {"thread_id": thread_id, "checkpoint_id": before}} if before else None,
            limit=body.limit):
        states.append(state_json(snapshot))
    return JSONResponse(states)


__all__ = ["create_thread", "get_thread", "search_threads", "get_state", "get_state_at", "update_state", "history",
           "now_iso"]
