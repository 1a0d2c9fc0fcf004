"""`inbox serve` against LangGraph's own dev server (`langgraph dev`, langgraph-api in-memory
runtime), the same graph and the same client (langgraph_sdk), in one run.

Measured, each server in turn, over HTTP on 127.0.0.1:
- the floor: `GET /ok` (a route that does nothing), median of 50, with httpx;
- runs to the interrupt / s: `client.runs.wait(thread, "agent", input=...)` on fresh threads,
  one request at a time (a thread is created before each, not timed);
- resumes / s: `client.runs.wait(thread, "agent", command=Command(resume=[accept]))` on those
  threads, one at a time (each finishes its run);
- `threads.search(status="interrupted", limit=L)` for L in `--limits` (10, the SDK's default,
  and 100, about what the remote inbox's first page asks) with 1,000 and 10,000 paused
  threads: median of 20 calls. The paused threads are made through the API too (`runs.wait`
  with up to 16 requests in flight), the same way on both servers. LangGraph's server makes a
  paused thread in about a second, so it is filled only to `--langgraph-sizes` (1,000).

The graph is a HumanInterrupt review (draft -> review(interrupt) -> send), written once and
imported with `langgraph.` for LangGraph's server and `engine.` for ours; both compiled
without a checkpointer (each server gives it its store: langgraph dev's in-memory one, our
SQLite file, or with `--store postgres` a database of a throwaway PostgreSQL cluster, or of the
server given with `--pg-url ADMIN_URL`).

    python bench/server.py [--runs 200] [--sizes 1000 10000] [--limits 10 100] [--store postgres]
                           [--langgraph-sizes 1000] [--only inbox|langgraph] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]

GRAPH = '''
import operator
from typing import Annotated, TypedDict

from PREFIX.graph import StateGraph
from PREFIX.types import interrupt

START = "__start__"


class State(TypedDict, total=False):
    email: str
    decision: list
    log: Annotated[list, operator.add]


def draft(state: State):
    return {"log": ["drafted"]}


def review(state: State):
    decision = interrupt([{"action_request": {"action": "send_email", "args": {"to": "bob@example.com",
                                                                            "body": state["email"]}},
                           "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True,
                                      "allow_ignore": True},
                           "description": "Please review this email before it is sent."}])
    return {"decision": decision, "log": ["reviewed"]}


def send(state: State):
    return {"log": ["sent"]}


graph = (StateGraph(State).add_node("draft", draft).add_node("review", review).add_node("send", send)
         .add_edge(START, "draft").add_edge("draft", "review").add_edge("review", "send").compile())
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/ok", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def start_inbox(workdir: Path, port: int, db: str | None = None) -> subprocess.Popen:
    (workdir / "engine_graph.py").write_text(GRAPH.replace("PREFIX", "engine"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(workdir)])}
    return subprocess.Popen([sys.executable, "-m", "inbox.cli", "serve", "--db", db or str(workdir / "inbox.sqlite"),
                             "--graph", "agent=engine_graph:graph", "--port", str(port)], cwd=workdir, env=env,
                            stdout=open(workdir / "inbox.log", "wb"), stderr=subprocess.STDOUT)


def start_langgraph(workdir: Path, port: int) -> subprocess.Popen:
    (workdir / "lg_graph.py").write_text(GRAPH.replace("PREFIX", "langgraph"))
    (workdir / "langgraph.json").write_text(json.dumps({"dependencies": ["."], "graphs": {"agent": "./lg_graph.py:graph"}}))
    cli = Path(sys.executable).with_name("langgraph")
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1"}
    return subprocess.Popen([str(cli), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port),
                             "--config", str(workdir / "langgraph.json")], cwd=workdir, env=env,
                            stdout=open(workdir / "langgraph.log", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


async def measure(url: str, runs: int, sizes: list[int], limits: list[int]) -> dict:
    from langgraph_sdk import get_client
    from langgraph_sdk.schema import Command

    client = get_client(url=url, api_key=None)
    accept = [{"type": "accept", "args": None}]
    # the floor under every figure: one HTTP round trip on loopback to a route that does nothing
    async with httpx.AsyncClient(base_url=url) as http:
        floor = []
        for _ in range(50):
            t0 = time.perf_counter()
            (await http.get("/ok")).raise_for_status()
            floor.append(time.perf_counter() - t0)
    threads = [(await client.threads.create())["thread_id"] for _ in range(runs)]
    began = time.perf_counter()
    for thread_id in threads:
        out = await client.runs.wait(thread_id, "agent", input={"email": "hello"})
        assert out["__interrupt__"], out
    run_seconds = time.perf_counter() - began
    began = time.perf_counter()
    for thread_id in threads:
        out = await client.runs.wait(thread_id, "agent", command=Command(resume=accept))
        assert out["log"][-1] == "sent", out
    resume_seconds = time.perf_counter() - began
    result = {"runs_per_s": runs / run_seconds, "resumes_per_s": runs / resume_seconds, "search_ms": {},
              "fill_seconds": {}, "search_load": {}, "load_after_runs": os.getloadavg(),
              "ok_round_trip_ms": statistics.median(floor) * 1000}
    gate = asyncio.Semaphore(16)

    async def pause_one() -> None:
        async with gate:
            thread_id = (await client.threads.create())["thread_id"]
            await client.runs.wait(thread_id, "agent", input={"email": "fill"})

    paused = 0
    for size in sizes:
        began = time.perf_counter()
        await asyncio.gather(*(pause_one() for _ in range(size - paused)))
        result["fill_seconds"][size] = time.perf_counter() - began
        paused = size
        for limit in limits:
            await client.threads.search(status="interrupted", limit=limit)
            times = []
            for _ in range(20):
                t0 = time.perf_counter()
                page = await client.threads.search(status="interrupted", limit=limit)
                times.append(time.perf_counter() - t0)
            assert len(page) == min(limit, size)
            result["search_ms"][f"{size}/limit={limit}"] = statistics.median(times) * 1000
        result["search_load"][size] = os.getloadavg()
    return result


def machine() -> dict:
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "load": load,
            "platform": platform.platform()}


def stop(proc: subprocess.Popen, group: bool = False) -> None:
    if proc.poll() is None:
        if group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL) if group else proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--langgraph-sizes", type=int, nargs="+", default=[1000],
                        help="paused thread counts for LangGraph's server (~1 s to make each)")
    parser.add_argument("--limits", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite", help="inbox serve's --db")
    parser.add_argument("--pg-url", help="with --store postgres: an admin URL (default: a throwaway cluster)")
    parser.add_argument("--only", choices=["inbox", "langgraph"])
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    results = {"machine": machine(), "runs": args.runs, "sizes": args.sizes, "store": args.store}
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp, contextlib.ExitStack() as stack:
        db = None
        if args.store == "postgres" and args.only != "langgraph":
            sys.path.insert(0, str(REPO / "bench"))
            import postgres_server

            admin, url_for, described = stack.enter_context(postgres_server.server(args.pg_url))
            postgres_server.create(admin, "bench_serve")
            db, results["postgres"] = url_for("bench_serve"), described
        for label, start, group in (("inbox", start_inbox, False), ("langgraph", start_langgraph, True)):
            if args.only and args.only != label:
                continue
            workdir = Path(tmp) / label
            workdir.mkdir()
            port = free_port()
            proc = start_inbox(workdir, port, db) if label == "inbox" else start(workdir, port)
            sizes = args.sizes if label == "inbox" else args.langgraph_sizes
            try:
                wait_ready(f"http://127.0.0.1:{port}", proc)
                print(f"{label}: measuring on port {port} ...", file=sys.stderr, flush=True)
                results[label] = asyncio.run(measure(f"http://127.0.0.1:{port}", args.runs, sizes, args.limits))
            finally:
                stop(proc, group)
            print(f"{label}: {json.dumps(results[label])}", file=sys.stderr, flush=True)
    results["machine"]["load_after"] = os.getloadavg()
    if "inbox" in results and "langgraph" in results:
        ours, theirs = results["inbox"], results["langgraph"]
        results["ratio"] = {"runs": ours["runs_per_s"] / theirs["runs_per_s"],
                            "resumes": ours["resumes_per_s"] / theirs["resumes_per_s"],
                            **{f"search_{key}": theirs["search_ms"][key] / ours["search_ms"][key]
                               for key in theirs["search_ms"] if key in ours["search_ms"]}}
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
