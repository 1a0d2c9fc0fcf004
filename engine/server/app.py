"""The ASGI app: routes, middleware (API keys, CORS), error handling in one place, and the
lifespan that recovers what a killed server (or a stopped replica) left, and keeps looking.

`create_app(saver, graphs, keys=...)` builds it; `serve(...)` runs it on uvicorn after the
safety check: a non-loopback address needs an API key (or an explicit `insecure=True`)."""

from __future__ import annotations

import asyncio
import copy
import contextlib
import ipaddress
import logging
import os
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.routing import Route

from engine.checkpoint.api_store import ApiStore
from engine.server import runs, threads
from engine.server.assistants import Assistants
from engine.server.auth import ApiKeyMiddleware
from engine.server.context import ServerContext, context
from engine.server.errors import ApiError
from engine.server.live import inbox_events
from engine.server.manager import RunManager
from engine.server.clock import now_iso
from engine.server.shapes import JSONResponse
from engine.server.schemas import MAX_BODY_BYTES

log = logging.getLogger("engine.server")
API_VERSION = "0.16.7"  # the langgraph-api version whose responses this server matches


async def ok(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True, "services": {}})


async def info(request: Request) -> JSONResponse:
    return JSONResponse({"version": API_VERSION, "langgraph_py_version": "1.2.24",
                         "flags": {"assistants": True, "crons": False, "langsmith": False,
                                   "inbox_events": True},
                         "host": {"kind": "inbox-serve", "project_id": None, "host_revision_id": None,
                                  "revision_id": None, "tenant_id": None}})


async def search_assistants(request: Request) -> JSONResponse:
    ctx = context(request)
    found = ctx.assistants.all()
    return JSONResponse(found, headers={"X-Pagination-Total": str(len(found))})


async def get_assistant(request: Request) -> JSONResponse:
    ctx = context(request)
    name, _, _ = ctx.assistants.resolve(request.path_params["assistant_id"])
    return JSONResponse(ctx.assistants.describe(name))


async def _api_error(request: Request, error: ApiError) -> JSONResponse:
    return JSONResponse({"detail": error.detail}, status_code=error.status, headers=error.headers)


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    return JSONResponse({"detail": error.detail}, status_code=error.status_code)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": f"Internal error: {type(error).__name__}: {error}"}, status_code=500)


ROUTES = [
    Route("/ok", ok, methods=["GET"]),
    Route("/info", info, methods=["GET"]),
    Route("/assistants/search", search_assistants, methods=["POST"]),
    Route("/assistants/{assistant_id}", get_assistant, methods=["GET"]),
    Route("/threads", threads.create_thread, methods=["POST"]),
    Route("/threads/search", threads.search_threads, methods=["POST"]),
    Route("/threads/{thread_id}", threads.get_thread, methods=["GET"]),
    Route("/threads/{thread_id}/state", threads.get_state, methods=["GET"]),
    Route("/threads/{thread_id}/state", threads.update_state, methods=["POST"]),
    Route("/threads/{thread_id}/state/checkpoint", threads.get_state_at, methods=["POST"]),
    Route("/threads/{thread_id}/state/{checkpoint_id}", threads.get_state, methods=["GET"]),
    Route("/threads/{thread_id}/history", threads.history, methods=["GET", "POST"]),
    Route("/threads/{thread_id}/runs", runs.create_run, methods=["POST"]),
    Route("/threads/{thread_id}/runs", runs.list_runs, methods=["GET"]),
    Route("/threads/{thread_id}/runs/wait", runs.wait_run, methods=["POST"]),
    Route("/threads/{thread_id}/runs/stream", runs.stream_run, methods=["POST"]),
    Route("/threads/{thread_id}/runs/{run_id}", runs.get_run, methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}/join", runs.join_run, methods=["GET"]),
    Route("/inbox/events", inbox_events, methods=["GET"]),
]


def create_app(saver: Any, graphs: dict[str, Any], *, keys: dict[str, str] | None = None,
               max_body: int | None = None, recover: bool = True) -> Starlette:
    """The Agent Server API over `saver` (a SqliteSaver or PostgresSaver: a checkpointer with
    the API's records, engine/checkpoint/api_store.py) serving `graphs` (name -> compiled graph;
    each runs with `saver` as its checkpointer). `keys`: {key: reviewer name}. Several apps
    (processes, machines) may serve one Postgres database: see manager.py."""
    if not isinstance(saver, ApiStore):
        raise TypeError(f"inbox serve needs a store that keeps the API's records (SqliteSaver or PostgresSaver), "
                        f"not {type(saver).__name__}.")
    if not graphs:
        raise ValueError("inbox serve needs at least one graph to serve (--graph NAME=module:attr).")
    # Each served graph runs on the server's store under its served name (the name its threads,
    # interrupts and events carry, which recovery finds it by): a shallow copy, so a graph object
    # served under two names, or used elsewhere in the process, is left as it was.
    served = {}
    for name, graph in graphs.items():
        graph = copy.copy(graph)
        graph.name, graph.checkpointer = name, saver
        served[name] = graph
    graphs = served
    manager = RunManager(saver, graphs)
    limit = max_body or int(os.environ.get("INBOX_SERVE_MAX_BODY", MAX_BODY_BYTES))
    ctx = ServerContext(saver=saver, assistants=Assistants(graphs, now_iso()),
                        manager=manager, max_body=limit)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        recovery = None
        if recover:
            async def again(run: dict):
                return await runs.respec(ctx, run)
            recovery = asyncio.get_running_loop().create_task(manager.keep_up(again))
        try:
            yield
        finally:
            if recovery is not None and not recovery.done():
                recovery.cancel()
                with contextlib.suppress(BaseException):
                    await recovery
            await manager.close()

    app = Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"],
                       expose_headers=["x-pagination-total", "x-pagination-next", "content-location"]),
            Middleware(ApiKeyMiddleware, keys=dict(keys or {})),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys: dict[str, str], insecure: bool) -> None:
    """Refuse to serve a non-loopback address without keys, unless told it is on purpose."""
    if not is_loopback(host) and not keys and not insecure:
        raise ValueError(f"--host {host} is reachable from other machines, and no API key is set: anyone who can "
                         "reach it could approve your agents' actions. Give keys (--api-key NAME=KEY, "
                         "--api-keys-file, or INBOX_API_KEYS), or pass --insecure if that is really intended.")


def serve(open_saver: Callable[[], Awaitable[Any]], bind: Callable[[Any], dict[str, Any]], *,
          host: str = "127.0.0.1", port: int = 2024, keys: dict[str, str] | None = None,
          insecure: bool = False, log_level: str = "info", ready: Callable[[str], None] | None = None) -> None:
    """Open the saver in the server's own event loop (its connection thread belongs to that
    loop), bind the graphs to it, and serve until interrupted."""
    import uvicorn

    keys = dict(keys or {})
    check_bind(host, keys, insecure)

    async def main() -> None:
        saver = await open_saver()
        try:
            app = create_app(saver, bind(saver), keys=keys)
            config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                                    lifespan="on")
            server = uvicorn.Server(config)
            if ready is not None:
                ready(f"http://{host}:{port}")
            await server.serve()
        finally:
            await saver.aclose()

    asyncio.run(main())


__all__ = ["create_app", "serve", "check_bind", "is_loopback", "API_VERSION"]
