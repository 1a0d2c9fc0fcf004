"""Run routes: wait, create (background), stream (SSE), get, list, join.

Resumes are pinned before they are queued: a `command.resume` that is one answer becomes
`{interrupt id: answer}` for the interrupt pending when the request arrived, so an answer can
never land on a *later* interrupt (the real server applies a late second answer to the next
one). An interrupt someone already decided is 409 with who and when, and so is a bare answer to a
thread whose last request was decided and that waits for nothing now (the answer lost a race);
nothing ever pending, ids not pending, and `input` with `command` are 422."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from engine.runtime.compiled import STREAM_MODES
from engine.server.context import ServerContext, context
from engine.server.errors import ApiError, decided_by_record
from engine.server.manager import RunSpec
from engine.server.clock import now_iso
from engine.server.schemas import RunCreate, parse, read_json
from engine.server.shapes import JSONResponse, run_json
from engine.server.streaming import sse
from engine.types import Command

STRATEGIES = ("enqueue", "reject")
JOIN_POLL = 0.05  # seconds between looks at a run another replica runs
_ID_LIKE = re.compile(r"^[0-9a-f]{32}$")  # the engine's interrupt ids, as LangGraph's


def supported_modes() -> tuple[str, ...]:
    """The engine's stream modes (they grow with it) plus `events` (streaming.py)."""
    return tuple(STREAM_MODES) + ("events",)


async def _decided(ctx: ServerContext, interrupt_id: str) -> ApiError | None:
    record = await ctx.saver.aget_interrupt(interrupt_id)
    return decided_by_record(record) if record is not None and record.status != "pending" else None


def unchanged_accept(payload: Any, answer: Any) -> Any:
    """The Agent Inbox web app accepts a request whose config also allows edit by sending the
    whole action request as args (`{"type": "accept", "args": {"action": ..., "args": ...}}`).
    The engine's review check takes accept only without args (changed args are an edit), so
    an accept whose args are exactly the request's is passed on as a plain accept; an accept
    with other args stays as it is, and is refused (422: send edit)."""
    if not (isinstance(payload, list) and isinstance(answer, list) and len(payload) == len(answer)):
        return answer
    out = []
    for request, response in zip(payload, answer):
        if (isinstance(request, dict) and isinstance(response, dict) and response.get("type") == "accept"
                and response.get("args") is not None and response.get("args") == request.get("action_request")):
            response = {**response, "args": None}
        out.append(response)
    return out


async def pin_resume(ctx: ServerContext, graph: Any, thread_id: str, resume: Any) -> dict:
    """`resume` as {interrupt id: answer} for what is pending now (see the module docstring)."""
    snapshot = await graph.aget_state({"configurable": {"thread_id": thread_id}})
    pinned = await _pin(ctx, snapshot, thread_id, resume)
    values = {i.id: i.value for i in snapshot.interrupts}
    return {i: unchanged_accept(values.get(i), answer) for i, answer in pinned.items()}


async def _pin(ctx: ServerContext, snapshot: Any, thread_id: str, resume: Any) -> dict:
    pending = [i.id for i in snapshot.interrupts]
    if isinstance(resume, dict) and resume and all(isinstance(k, str) and (k in pending or _ID_LIKE.match(k))
                                                   for k in resume):
        for interrupt_id in resume:
            refused = await _decided(ctx, interrupt_id)
            if refused is not None:
                raise refused
        unknown = [k for k in resume if k not in pending]
        if unknown:
            raise ApiError(422, f"command.resume names interrupt id(s) {', '.join(unknown)} that are not pending "
                                f"on thread {thread_id!r}. Pending: {', '.join(pending) or 'none'}.")
        return dict(resume)
    if not pending:
        last = [] if snapshot.next else await ctx.saver.adecisions(thread_id, limit=1)
        if last:  # a reviewer who lost the race to the thread's last request: say who won
            raise decided_by_record(last[0])
        what = f"paused at a breakpoint before {', '.join(snapshot.next)}; continue it with input null" \
            if snapshot.next else "not waiting for an answer"
        raise ApiError(422, f"command.resume was given, but thread {thread_id!r} has no pending interrupt (it is "
                            f"{what}). Nothing was run.")
    if len(pending) > 1:
        raise ApiError(422, f"command.resume is one answer, but {len(pending)} interrupts are pending on thread "
                            f"{thread_id!r} ({', '.join(pending)}). Answer them by id: "
                            "{\"resume\": {\"<interrupt id>\": answer, ...}}.")
    refused = await _decided(ctx, pending[0])
    if refused is not None:
        raise refused
    return {pending[0]: resume}


async def prepare(request: Request, thread_id: str, *, streaming: bool) -> tuple[RunSpec, str]:
    ctx = context(request)
    body: RunCreate = parse(RunCreate, await read_json(request, ctx.max_body))
    graph_id, assistant_id, graph = ctx.assistants.resolve(body.assistant_id)
    record = await ctx.thread(thread_id)
    if body.input is not None and body.command is not None:
        raise ApiError(422, "input and command were both given; send input to start a run, or command to "
                            "resume or steer one, not both.")
    if body.multitask_strategy not in STRATEGIES:
        raise ApiError(422, f"multitask_strategy {body.multitask_strategy!r} is not supported; this server "
                            f"supports {' and '.join(map(repr, STRATEGIES))}.")
    if body.multitask_strategy == "reject" and await ctx.manager.busy_anywhere(thread_id):
        raise ApiError(409, "Thread is already running a task. Wait for it to finish or choose a "
                            "different multitask strategy.")
    modes = [body.stream_mode] if isinstance(body.stream_mode, str) else list(body.stream_mode)
    bad = [m for m in modes if m not in supported_modes()]
    if bad:
        raise ApiError(422, f"stream_mode {', '.join(map(repr, bad))} is not supported; use "
                            f"{', '.join(supported_modes())}.")
    unknown_config = set((body.config or {})) - {"configurable", "recursion_limit"}
    if unknown_config:
        raise ApiError(422, f"config keys {', '.join(sorted(unknown_config))} are not supported "
                            "(supported: configurable, recursion_limit).")
    reserved = {"thread_id", "checkpoint_id", "checkpoint_ns", "decided_by", "claim_token"} & set(
        (body.config or {}).get("configurable") or {})
    if reserved:
        raise ApiError(422, f"config.configurable may not set {', '.join(sorted(reserved))}: the thread is the "
                            "URL's, a checkpoint is given as checkpoint_id, who decides is the API key's name, "
                            "and a decision's claim is the run's.")
    pinned = None
    run_input: Any = body.input
    if body.command is not None:
        command = body.command
        if command.resume is None and command.update is None and not command.goto:
            raise ApiError(422, "command is empty; give resume (answer an interrupt), update or goto.")
        if command.resume is not None:
            pinned = await pin_resume(ctx, graph, thread_id, command.resume)
        run_input = Command(resume=pinned, update=command.update, goto=command.goto or ())
    now = now_iso()
    run_id = str(uuid.uuid4())
    metadata = dict(body.metadata or {})
    run = {"run_id": run_id, "thread_id": thread_id, "assistant_id": assistant_id, "graph_id": graph_id,
           "status": "pending", "created_at": now, "updated_at": now,
           "metadata": {**metadata, "graph_id": graph_id, "assistant_id": assistant_id},
           "kwargs": {"input": body.input, "command": body.command.model_dump(exclude_none=True) if body.command else None,
                      "config": body.config or {}, "context": {}, "stream_mode": modes,
                      "interrupt_before": body.interrupt_before, "interrupt_after": body.interrupt_after,
                      "webhook": None, "feedback_keys": None, "temporary": False, "subgraphs": False,
                      "resumable": False, "durability": body.durability or "sync",
                      "checkpoint_id": body.checkpoint_id or (body.checkpoint or {}).get("checkpoint_id"),
                      "pinned_resume": pinned, "decided_by": request.state.api_key_name},
           "multitask_strategy": body.multitask_strategy}
    await ctx.saver.amerge_api_thread_metadata(thread_id, {**metadata, "graph_id": graph_id, "assistant_id": assistant_id})
    del record
    return spec_for(run, graph, run_input, modes if streaming else ["values"]), body.multitask_strategy


def spec_for(run: dict, graph: Any, run_input: Any, modes: list[str]) -> RunSpec:
    kwargs = run["kwargs"]
    return RunSpec(run=run, graph=graph, input=run_input, modes=modes, interrupt_before=kwargs["interrupt_before"],
                   interrupt_after=kwargs["interrupt_after"], decided_by=kwargs.get("decided_by"),
                   durability=kwargs.get("durability"), checkpoint_id=kwargs.get("checkpoint_id"))


async def respec(ctx: ServerContext, run: dict) -> RunSpec | None:
    """A run a killed server accepted but never started, from its record."""
    graph = ctx.graphs.get(run["graph_id"])
    if graph is None:
        return None
    kwargs = run["kwargs"]
    run_input: Any = kwargs.get("input")
    if kwargs.get("command"):
        command = kwargs["command"]
        run_input = Command(resume=kwargs.get("pinned_resume"), update=command.get("update"),
                            goto=command.get("goto") or ())
    return spec_for(run, graph, run_input, kwargs.get("stream_mode") or ["values"])


def _locations(run: dict, tail: str) -> dict[str, str]:
    base = f"/threads/{run['thread_id']}/runs/{run['run_id']}"
    return {"Location": f"{base}/{tail}", "Content-Location": base}


async def wait_run(request: Request) -> JSONResponse:
    ctx = context(request)
    spec, strategy = await prepare(request, request.path_params["thread_id"], streaming=False)
    handle = await ctx.manager.submit(spec, strategy=strategy)
    result = await handle.wait()
    if handle.request_error is not None:
        raise await _refine(ctx, spec, handle.request_error)
    return JSONResponse(result, headers=_locations(spec.run, "join"))


async def _refine(ctx: ServerContext, spec: RunSpec, error: ApiError) -> ApiError:
    """A pinned answer refused when its run began: decided meanwhile (by an earlier run in the
    queue, or another process) is 409 with who and when."""
    pinned = spec.run["kwargs"].get("pinned_resume") or {}
    if error.status == 422:
        for interrupt_id in pinned:
            decided = await _decided(ctx, interrupt_id)
            if decided is not None:
                return decided
    return error


async def create_run(request: Request) -> JSONResponse:
    ctx = context(request)
    spec, strategy = await prepare(request, request.path_params["thread_id"], streaming=False)
    await ctx.manager.submit(spec, strategy=strategy)
    return JSONResponse(run_json(spec.run), headers={"Content-Location": _locations(spec.run, "")["Content-Location"]})


async def stream_run(request: Request) -> StreamingResponse:
    ctx = context(request)
    spec, strategy = await prepare(request, request.path_params["thread_id"], streaming=True)
    handle = await ctx.manager.submit(spec, strategy=strategy)
    await handle.started()
    if handle.finished and handle.request_error is not None:
        raise await _refine(ctx, spec, handle.request_error)

    async def body():
        async for event, data in handle.follow():
            yield sse(event, data)
        if handle.request_error is not None:  # refused after the stream began: say so, as an error event
            error = await _refine(ctx, spec, handle.request_error)
            yield sse("error", {"error": "HTTP" + str(error.status), "message": error.detail})

    return StreamingResponse(body(), media_type="text/event-stream; charset=utf-8",
                             headers=_locations(spec.run, "stream"))


async def _run_of(request: Request) -> tuple[ServerContext, dict, Any]:
    ctx = context(request)
    thread_id, run_id = request.path_params["thread_id"], request.path_params["run_id"]
    await ctx.thread(thread_id)
    handle = ctx.manager.handles.get(run_id)
    if handle is not None and handle.run["thread_id"] == thread_id:
        return ctx, handle.run, handle
    run = await ctx.saver.aget_api_run(thread_id, run_id)
    if run is None:
        raise ApiError(404, f"Run {run_id!r} not found on thread {thread_id!r}.")
    return ctx, run, None


async def get_run(request: Request) -> JSONResponse:
    _, run, _ = await _run_of(request)
    return JSONResponse(run_json(run))


async def list_runs(request: Request) -> JSONResponse:
    ctx = context(request)
    thread_id = request.path_params["thread_id"]
    await ctx.thread(thread_id)
    try:
        limit = int(request.query_params.get("limit", 10))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        raise ApiError(422, "limit and offset must be whole numbers.") from None
    runs = await ctx.saver.alist_api_runs(thread_id, limit, offset, request.query_params.get("status"))
    live = ctx.manager.handles
    return JSONResponse([run_json(live[r["run_id"]].run if r["run_id"] in live else r) for r in runs])


async def join_run(request: Request) -> JSONResponse:
    ctx, run, handle = await _run_of(request)
    if handle is not None:
        result = await handle.wait()
        if handle.request_error is not None:
            raise await _refine(ctx, handle.spec, handle.request_error)
        return JSONResponse(result)
    while run["status"] in ("pending", "running"):
        # another replica runs it (or will take it over if its process stopped): follow its
        # record while the client waits
        if await request.is_disconnected():
            raise ApiError(499, "The client went away before the run finished.")
        await asyncio.sleep(JOIN_POLL)
        handle = ctx.manager.handles.get(run["run_id"])
        if handle is not None:  # taken over by this process meanwhile
            return await join_run(request)
        run = await ctx.saver.aget_api_run(run["thread_id"], run["run_id"]) or run
    if run["result"] is None:
        snapshot = await ctx.snapshot(await ctx.thread(run["thread_id"]))
        return JSONResponse(snapshot.values if snapshot.created_at else {})
    return JSONResponse(run["result"])


__all__ = ["wait_run", "create_run", "stream_run", "get_run", "list_runs", "join_run", "respec", "supported_modes"]
