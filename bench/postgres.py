"""engine + PostgresSaver against langgraph + AsyncPostgresSaver on bench/compare.py's
tool-approval workload, against the same PostgreSQL server, one run.

    pip install -e '.[bench,postgres]'
    python bench/postgres.py                         # a throwaway cluster; 500 runs, 10,000 to list
    python bench/postgres.py --url postgresql://postgres@localhost/postgres --runs 300

Each stack gets a database of its own on the same server (same settings, same durability):
- runs to interrupt / s: `ainvoke(input)` on new threads, one at a time, until each pauses;
- resumes / s: `ainvoke(Command(resume=[{"type": "accept", "args": None}]))` on those threads;
  both with `durability="sync"` (each superstep committed before the next starts);
- bytes per paused thread: `pg_total_relation_size` (heap, TOAST and indexes) of each stack's
  tables after the runs, before any resume, divided by the paused threads;
- listing all pending at N threads: the paused threads are topped up to N by copying one real
  paused thread's rows under new thread ids in SQL (both stacks: every row a paused thread
  has); the engine calls `alist_pending()`; LangGraph has no index, so it reads each thread's
  latest checkpoint with its pending writes (`aget_tuple` per thread id, ids from
  `SELECT DISTINCT thread_id`) and collects the `__interrupt__` writes;
- 8 connections against 1: 200 runs, 8 at a time (asyncio.gather), with the engine's pool at
  8 connections and at 1; LangGraph with an AsyncConnectionPool of 8 and with one connection.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.compare import ACCEPT, build_graph, config_for, run_input  # noqa: E402
from bench.postgres_server import create, server, version  # noqa: E402

ENGINE_TABLES = ("engine_threads", "engine_checkpoints", "engine_writes", "engine_interrupts", "engine_events",
                 "engine_leases", "engine_tool_calls")
LANGGRAPH_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


def engine_side():
    from engine.graph import END, START, StateGraph
    from engine.types import Command, interrupt
    return StateGraph, START, END, interrupt, Command


def langgraph_side():
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Command, interrupt
    return StateGraph, START, END, interrupt, Command


async def timed_runs(graph, prefix: str, count: int, concurrency: int = 1) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            out = await graph.ainvoke(run_input(n), config_for(f"{prefix}{n}"), durability="sync")
            assert out.get("__interrupt__"), out

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return count / (time.perf_counter() - started)


async def timed_resumes(graph, Command, prefix: str, count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        await graph.ainvoke(Command(resume=ACCEPT), config_for(f"{prefix}{n}"), durability="sync")
    return count / (time.perf_counter() - started)


def table_bytes(url: str, tables) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        return sum(conn.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0] for t in tables)


def copy_rows(url: str, statements: list[str], copies: int, source: str) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        for sql in statements:
            conn.execute(sql, {"n": copies, "src": source})
        conn.commit()


ENGINE_FILL = [
    "INSERT INTO engine_threads (thread_id, graph, status, created_at, updated_at, metadata) "
    "SELECT 'fill-' || g, graph, status, created_at, updated_at, metadata FROM engine_threads, "
    "generate_series(1, %(n)s) g WHERE thread_id = %(src)s",
    "INSERT INTO engine_checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata) "
    "SELECT 'fill-' || g, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata "
    "FROM engine_checkpoints, generate_series(1, %(n)s) g WHERE thread_id = %(src)s",
    "INSERT INTO engine_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, channel, task_path, value) "
    "SELECT 'fill-' || g, checkpoint_ns, checkpoint_id, task_id, channel, task_path, value "
    "FROM engine_writes, generate_series(1, %(n)s) g WHERE thread_id = %(src)s",
    "INSERT INTO engine_interrupts (id, thread_id, graph, ns, node, checkpoint_id, payload, created_at, status) "
    "SELECT id || '-' || g, 'fill-' || g, graph, ns, node, checkpoint_id, payload, created_at, status "
    "FROM engine_interrupts, generate_series(1, %(n)s) g WHERE thread_id = %(src)s AND status = 'pending'",
]
LANGGRAPH_FILL = [
    "INSERT INTO checkpoints SELECT 'fill-' || g, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
    "checkpoint, metadata FROM checkpoints, generate_series(1, %(n)s) g WHERE thread_id = %(src)s",
    "INSERT INTO checkpoint_blobs SELECT 'fill-' || g, checkpoint_ns, channel, version, type, blob "
    "FROM checkpoint_blobs, generate_series(1, %(n)s) g WHERE thread_id = %(src)s",
    "INSERT INTO checkpoint_writes SELECT 'fill-' || g, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, "
    "blob, task_path FROM checkpoint_writes, generate_series(1, %(n)s) g WHERE thread_id = %(src)s",
]


async def engine_listing(saver, repeats: int = 5) -> tuple[float, int]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        items = await saver.alist_pending()
        actions = [item.payload[0]["action_request"]["action"] for item in items]  # decoding is in the figure
        assert len(actions) == len(items)
        times.append(time.perf_counter() - started)
    return statistics.median(times), len(items)


async def langgraph_listing(saver, url: str) -> tuple[float, int]:
    import psycopg

    started = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        ids = [row[0] for row in await (await conn.execute("SELECT DISTINCT thread_id FROM checkpoints")).fetchall()]
    pending = 0
    for thread_id in ids:
        found = await saver.aget_tuple(config_for(thread_id))
        pending += sum(1 for _task, channel, _value in found.pending_writes if channel == "__interrupt__")
    return time.perf_counter() - started, pending


async def main(args) -> None:
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from engine.checkpoint.postgres import PostgresSaver

    results: dict[str, dict] = {"engine": {}, "langgraph": {}}
    with server(args.url) as (admin, url_for, where):
        create(admin, "bench_engine")
        create(admin, "bench_langgraph")
        engine_url, lg_url = url_for("bench_engine"), url_for("bench_langgraph")
        StateGraph, START, END, interrupt, Command = engine_side()
        LStateGraph, LSTART, LEND, linterrupt, LCommand = langgraph_side()

        async with PostgresSaver.from_conn_string(engine_url) as saver, \
                AsyncPostgresSaver.from_conn_string(lg_url) as lg_saver:
            await lg_saver.setup()
            engine_graph = build_graph(StateGraph, START, END, interrupt, saver)
            lg_graph = build_graph(LStateGraph, LSTART, LEND, linterrupt, lg_saver)
            # warm-up, then interleaved halves (a loaded machine slows both alike)
            await timed_runs(engine_graph, "warm-", 20)
            await timed_runs(lg_graph, "warm-", 20)
            half = args.runs // 2
            e1 = await timed_runs(engine_graph, "a", half)
            l1 = await timed_runs(lg_graph, "a", half)
            l2 = await timed_runs(lg_graph, "b", half)
            e2 = await timed_runs(engine_graph, "b", half)
            results["engine"]["runs/s"] = (e1 + e2) / 2
            results["langgraph"]["runs/s"] = (l1 + l2) / 2
            paused = half * 2 + 20
            results["engine"]["bytes/paused thread"] = table_bytes(engine_url, ENGINE_TABLES) / paused
            results["langgraph"]["bytes/paused thread"] = table_bytes(lg_url, LANGGRAPH_TABLES) / paused
            e1 = await timed_resumes(engine_graph, Command, "a", half)
            l1 = await timed_resumes(lg_graph, LCommand, "a", half)
            results["engine"]["resumes/s"] = e1
            results["langgraph"]["resumes/s"] = l1
            # top up to --list paused threads (the "b" ones and the warm-ups are paused)
            copies = args.list - (half + 20)
            copy_rows(engine_url, ENGINE_FILL, copies, "b0")
            copy_rows(lg_url, LANGGRAPH_FILL, copies, "b0")
            seconds, found = await engine_listing(saver)
            results["engine"][f"list all pending @ {found}"] = seconds
            seconds, lg_found = await langgraph_listing(lg_saver, lg_url)
            results["langgraph"][f"list all pending @ {lg_found}"] = seconds

        # 8 connections against 1
        for size in (1, 8):
            async with PostgresSaver.from_conn_string(engine_url, pool_size=size, min_pool_size=size) as saver:
                graph = build_graph(StateGraph, START, END, interrupt, saver)
                results["engine"][f"runs/s, 8 at a time, {size} connection(s)"] = \
                    await timed_runs(graph, f"c{size}-", args.concurrent, concurrency=8)
        async with AsyncPostgresSaver.from_conn_string(lg_url) as lg_saver:
            graph = build_graph(LStateGraph, LSTART, LEND, linterrupt, lg_saver)
            results["langgraph"]["runs/s, 8 at a time, 1 connection(s)"] = \
                await timed_runs(graph, "c1-", args.concurrent, concurrency=8)
        async with AsyncConnectionPool(lg_url, min_size=8, max_size=8, open=False, kwargs={
                "autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}) as pool:
            lg_saver = AsyncPostgresSaver(conn=pool)
            graph = build_graph(LStateGraph, LSTART, LEND, linterrupt, lg_saver)
            results["langgraph"]["runs/s, 8 at a time, 8 connection(s)"] = \
                await timed_runs(graph, "c8-", args.concurrent, concurrency=8)
        server_version = version(admin)

    print(f"\n{'figure':<44}{'engine':>14}{'langgraph':>14}{'ratio':>10}")
    for key in results["engine"]:
        e = results["engine"][key]
        lg_key = key if key in results["langgraph"] else next(k for k in results["langgraph"] if k.startswith(
            key.split(" @ ")[0]))
        lg = results["langgraph"][lg_key]
        label = key if key == lg_key else f"{key} (langgraph: {lg_key.split(' @ ')[1]})"
        if key.startswith("list"):
            print(f"{label:<44}{e * 1000:>11.1f} ms{lg * 1000:>11.1f} ms{lg / e:>9.1f}x")
        elif key.startswith("bytes"):
            print(f"{label:<44}{e:>14.0f}{lg:>14.0f}{e / lg:>9.2f}x")
        else:
            print(f"{label:<44}{e:>14.1f}{lg:>14.1f}{e / lg:>9.2f}x")
    load = os.getloadavg()
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 "?")
    print(f"\nmachine: {model}, {os.cpu_count()} cores; Python {sys.version.split()[0]}; PostgreSQL {server_version} "
          f"({where}); load average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")
    print(f"workload: bench/compare.py's approval graph; {args.runs} runs and {args.runs // 2} resumes per stack "
          f"(durability='sync'); listing topped up to {args.list} paused threads by copying rows; "
          f"{args.concurrent} runs 8 at a time for the connection figures; ratio = engine/langgraph "
          "(bytes: engine/langgraph, lower is better; listing: langgraph/engine)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--list", type=int, default=10_000)
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--url", help="an admin URL of a server to use (default: start a throwaway cluster)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
