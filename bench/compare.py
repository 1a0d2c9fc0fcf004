"""engine + SqliteSaver against langgraph + AsyncSqliteSaver on one tool-approval workload.

    python bench/compare.py                       # default sizes 1000,10000,100000 (a few minutes)
    python bench/compare.py --quick               # smaller sizes, well under a minute of work
    python bench/compare.py --threads 1000,5000 --runs 500 --json out.json

The workload (the same code on both stacks; only the imports differ): an `agent` node proposes
a tool call (appends an assistant message), a `review` node calls
`interrupt([HumanInterrupt])` and, when resumed with `[{"type": "accept"}]`, appends the tool
result, then END. Measured, both stacks in this one process, interleaved in small chunks
(engine, langgraph async, langgraph sync, rotating) so a busy machine slows all of them alike:

- runs to interrupt per second: `ainvoke(input)` on a new thread until it pauses. The engine's
  lanes held to the target run inside `engine_owns_loop()` (this script owns its event loop, so
  a step's lone sync node runs inline, as under `invoke()`); its "+executor" lanes, printed
  beside them, hand every sync node to an executor thread, as LangGraph does under `ainvoke`;
- bytes on disk per paused thread (after `wal_checkpoint(TRUNCATE)`: used pages x page size);
- resumes per second: `ainvoke(Command(resume=[{"type": "accept", "args": None}]))`;
- the runtime alone, as a floor: the same runs and resumes with each stack's InMemorySaver;
- listing every pending interrupt at each size: engine `saver.alist_pending()` (and reading
  every record's payload); langgraph
  has no index, so its only way is to read every thread's latest checkpoint and its pending
  writes (the faster of `aget_tuple` per thread and `alist(None)` is used, see the output);
- cross-process event latency: a subscriber process (`saver.subscribe()`) receives the
  InterruptRaised events of runs made in this process; the review node stamps `time.time()`
  into the payload just before `interrupt()`, the subscriber subtracts it on receipt (so the
  figure includes the rest of the superstep: writing the checkpoint and committing).
  LangGraph has no events: a second process re-scanning every thread as fast as it can
  (no sleep) is the closest equivalent, measured the same way.

Durability, made equal: both files in WAL mode with `synchronous=NORMAL` (the engine's
default; LangGraph's AsyncSqliteSaver sets WAL and leaves SQLite's default FULL, so this
script sets NORMAL on its connection). `--synchronous FULL` runs both with FULL. Both stacks
commit every superstep and run half of their runs and resumes in each durability mode:
`durability="sync"` (a step is committed before the next starts; the engine's default) and
`durability="async"` (committed while the next step runs; LangGraph's default). Each mode is
compared with the same mode of the other stack.

Filling: the first size and the resume pool are real runs. Larger sizes are topped up by the
fastest path, and the output says so: the engine gets RunStarted/InterruptRaised/RunFinished
events through `saver.aput_events()` in one transaction (interrupts, threads and events rows;
no checkpoints, which listing never reads); langgraph gets copies of a real paused thread's
checkpoint and writes rows (byte-identical to what `aput`/`aput_writes` wrote) under new
thread ids, inserted in one transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import operator
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, Callable, TypedDict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

GRAPH_NAME = "approval"
ACCEPT = [{"type": "accept", "args": None}]
SYSTEM_PROMPT = (
    "You are an operations assistant. You may call tools to send email, query the ticket system "
    "and schedule maintenance. Every call to send_email is reviewed by a human before it runs: "
    "propose the call with complete arguments, explain why in one sentence, and wait for the "
    "reviewer's decision. Never send customer data outside the company. " * 2)


def have_langgraph() -> bool:
    import importlib.util

    try:
        return all(importlib.util.find_spec(name) is not None
                   for name in ("langgraph.graph", "langgraph.checkpoint.sqlite.aio"))
    except ImportError:  # the parent package is missing
        return False


# --- the workload -----------------------------------------------------------------------------
class State(TypedDict):
    messages: Annotated[list, operator.add]
    request: dict


def agent(state: State) -> dict:
    turn = len(state["messages"])
    call = {"id": f"call_{turn}", "name": "send_email",
            "args": {"to": "ops-lead@example.com", "subject": "Weekly incident report",
                     "body": "Hi, attached is the weekly incident summary: 3 incidents, all resolved; "
                             "mean time to recovery 42 minutes. Details in the linked dashboard."}}
    message = {"role": "assistant", "content": "I'll email the weekly incident report to the ops lead.",
               "tool_calls": [call]}
    return {"messages": [message], "request": call}


def make_review(interrupt: Callable) -> Callable:
    def review(state: State) -> dict:
        call = state["request"]
        # `sent_at`: when the interrupt was raised, for the cross-process latency figure.
        request = {"action_request": {"action": call["name"], "args": {**call["args"], "sent_at": time.time()}},
                   "config": {"allow_ignore": True, "allow_respond": True, "allow_edit": True,
                              "allow_accept": True},
                   "description": f"Send **{call['args']['subject']}** to {call['args']['to']}?"}
        response = interrupt([request])[0]
        result = "sent" if response["type"] in ("accept", "edit") else "not sent"
        return {"messages": [{"role": "tool", "tool_call_id": call["id"], "content": f"send_email: {result}"}]}
    return review


def build_graph(StateGraph, START, END, interrupt, checkpointer):
    builder = StateGraph(State)
    builder.add_node("agent", agent)
    builder.add_node("review", make_review(interrupt))
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=checkpointer, name=GRAPH_NAME)


HISTORY = 0  # earlier user/assistant message pairs in each run's input (--history)


def run_input(n: int) -> dict:
    earlier = []
    for turn in range(HISTORY):
        earlier += [{"role": "user", "content": f"Earlier request {turn}: look up ticket OPS-{1000 + turn} and "
                                                "summarise what happened, who was paged and how it was fixed."},
                    {"role": "assistant", "content": f"Ticket OPS-{1000 + turn}: the disk on db-{turn % 7} filled "
                                                     "up at 02:14; the on-call engineer was paged, rotated the logs "
                                                     "and added an alert at 80% usage. Resolved in 38 minutes."}]
    return {"messages": [{"role": "system", "content": SYSTEM_PROMPT}, *earlier,
                         {"role": "user", "content": f"Please send this week's incident report to the ops lead ({n})."}]}


def config_for(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def remove_db(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def disk_usage(path: str) -> dict:
    """Checkpoint the WAL into the file, then count the pages in use (and per table)."""
    db = sqlite3.connect(path, timeout=30)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        tables: dict[str, int] = {}
        try:
            rows = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
            tables = {name: int(size) for name, size in rows}
        except sqlite3.Error:
            pass
    finally:
        db.close()
    return {"used_bytes": (pages - free) * page_size, "file_bytes": os.path.getsize(path), "tables": tables}


# --- the two stacks -------------------------------------------------------------------------------
class Side:
    """One stack: its saver, its compiled graph, and how to list its pending interrupts."""

    label = ""
    modes: tuple[str, ...] = ("",)

    def __init__(self, path: str, synchronous: str):
        self.path = path
        self.synchronous = synchronous
        self.threads: list[str] = []     # every thread started by a real run, in order
        self.paused: set[str] = set()    # real-run threads currently paused
        self.filled = 0                  # threads added by the fast path
        self.fill_seconds = 0.0
        self.list_method = ""
        self.counter = 0                 # thread numbers for real runs

    async def run(self, thread_id: str, n: int, mode: str) -> None:
        raise NotImplementedError

    async def resume(self, thread_id: str, mode: str) -> None:
        raise NotImplementedError

    async def list_pending(self) -> int:
        raise NotImplementedError


# The engine's lanes: each durability mode twice. Plain: inside `engine_owns_loop()` (this
# script owns its event loop, nothing else runs on it), so a step's lone sync node runs inline,
# as under `invoke()` and in `inbox worker --concurrency 1`. "+executor": without it, so every sync
# node hops to an executor thread, as on a loop shared with a UI or a server, and as LangGraph
# does under `ainvoke`. The comparison rows use the plain lanes; the others are printed beside them.
EXECUTOR = "+executor"


def durability_of(mode: str) -> str:
    return mode.removesuffix(EXECUTOR)


class EngineSide(Side):
    label = "engine"
    modes = ("sync", "async", "sync" + EXECUTOR, "async" + EXECUTOR)

    async def open(self) -> None:
        from engine.checkpoint.sqlite import SqliteSaver
        from engine.graph import END, START, StateGraph
        from engine.types import Command, interrupt

        self.Command = Command
        self.saver = await SqliteSaver.aopen(self.path, synchronous=self.synchronous)
        self.graph = build_graph(StateGraph, START, END, interrupt, self.saver)

    async def close(self) -> None:
        await self.saver.aclose()

    @staticmethod
    def loop_mode(mode: str):
        from engine.runtime import engine_owns_loop

        return contextlib.nullcontext() if mode.endswith(EXECUTOR) else engine_owns_loop()

    async def run(self, thread_id: str, n: int, mode: str) -> None:
        with self.loop_mode(mode):
            out = await self.graph.ainvoke(run_input(n), config_for(thread_id), durability=durability_of(mode))
        assert out.get("__interrupt__"), f"engine: {thread_id} did not pause"

    async def resume(self, thread_id: str, mode: str) -> None:
        with self.loop_mode(mode):
            out = await self.graph.ainvoke(self.Command(resume=ACCEPT), config_for(thread_id),
                                           durability=durability_of(mode))
        assert not out.get("__interrupt__") and out["messages"][-1]["role"] == "tool"

    async def list_pending(self) -> int:
        records = await self.saver.alist_pending()
        # Touch every record's payload down to the request's action, so that however payloads
        # are decoded (eagerly or lazily) the figure includes decoding each one.
        actions = sum(len(item["action_request"]["action"]) for record in records for item in record.payload)
        assert actions >= len(records), "every pending payload holds a request"
        return len(records)

    async def pending_count(self) -> int:
        return (await self.saver.acount_by_status())["pending"]

    async def fill(self, count: int, start: int, template_payload: Any) -> None:
        """Top up with `count` paused threads through the batch event API, in one transaction."""
        from engine.events import InterruptRaised, RunFinished, RunStarted

        at = datetime.now(timezone.utc).isoformat()
        events: list = []
        for i in range(start, start + count):
            thread_id = f"fill-{i}"
            base = {"at": at, "thread_id": thread_id, "graph": GRAPH_NAME}
            events += [RunStarted(**base, source="input"),
                       InterruptRaised(**base, interrupt_id=f"{i:032x}", node="review", value=template_payload),
                       RunFinished(**base, outcome="interrupted")]
        began = time.perf_counter()
        await self.saver.aput_events(events)
        self.fill_seconds += time.perf_counter() - began
        self.filled += count


class LangGraphSide(Side):
    label = "langgraph"
    modes = ("async", "sync")

    async def open(self) -> None:
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
        from langgraph.graph import END, START, StateGraph
        from langgraph.types import Command, interrupt

        self.Command = Command
        self.conn = await aiosqlite.connect(self.path)
        self.saver = AsyncSqliteSaver(self.conn)
        await self.saver.setup()  # sets journal_mode=WAL
        await self.conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        await self.conn.execute("PRAGMA busy_timeout = 30000")
        self.graph = build_graph(StateGraph, START, END, interrupt, self.saver)
        self.template: str | None = None

    async def close(self) -> None:
        await self.conn.close()

    async def run(self, thread_id: str, n: int, mode: str) -> None:
        out = await self.graph.ainvoke(run_input(n), config_for(thread_id), durability=mode)
        assert out.get("__interrupt__"), f"langgraph: {thread_id} did not pause"

    async def resume(self, thread_id: str, mode: str) -> None:
        out = await self.graph.ainvoke(self.Command(resume=ACCEPT), config_for(thread_id), durability=mode)
        assert not out.get("__interrupt__") and out["messages"][-1]["role"] == "tool"

    async def _thread_ids(self) -> list[str]:
        # LangGraph keeps no list of threads; this is the cheapest way to get one.
        async with self.saver.lock:
            rows = await self.conn.execute_fetchall("SELECT DISTINCT thread_id FROM checkpoints")
        return [row[0] for row in rows]

    async def scan_per_thread(self) -> list[tuple[str, list]]:
        """Each thread's latest checkpoint (`aget_tuple`), keeping those with __interrupt__ writes."""
        pending = []
        for thread_id in await self._thread_ids():
            saved = await self.saver.aget_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
            found = [item for _task, channel, value in saved.pending_writes if channel == "__interrupt__"
                     for item in value]
            if found:
                pending.append((thread_id, found))
        return pending

    async def scan_alist(self) -> list[tuple[str, list]]:
        """One pass over every checkpoint, newest first; a thread's first is its latest."""
        seen: set[str] = set()
        pending = []
        async for saved in self.saver.alist(None):
            thread_id = saved.config["configurable"]["thread_id"]
            if thread_id in seen:
                continue
            seen.add(thread_id)
            found = [item for _task, channel, value in saved.pending_writes if channel == "__interrupt__"
                     for item in value]
            if found:
                pending.append((thread_id, found))
        return pending

    async def list_pending(self) -> int:
        scan = self.scan_alist if self.list_method == "alist(None)" else self.scan_per_thread
        return len(await scan())

    async def fill(self, count: int, start: int, template_thread: str) -> None:
        """Top up with `count` copies of a real paused thread's rows, in one transaction."""
        async with self.saver.lock:
            checkpoints = await self.conn.execute_fetchall(
                "SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata "
                "FROM checkpoints WHERE thread_id = ?", (template_thread,))
            writes = await self.conn.execute_fetchall(
                "SELECT checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value "
                "FROM writes WHERE thread_id = ?", (template_thread,))
            began = time.perf_counter()
            for offset in range(0, count, 5000):
                ids = [f"fill-{i}" for i in range(start + offset, start + min(count, offset + 5000))]
                await self.conn.executemany(
                    "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, "
                    "type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(t, *row) for t in ids for row in checkpoints])
                await self.conn.executemany(
                    "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, "
                    "channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(t, *row) for t in ids for row in writes])
            await self.conn.commit()
            self.fill_seconds += time.perf_counter() - began
        self.filled += count


# --- measuring ------------------------------------------------------------------------------------
@dataclass
class Timer:
    ops: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.ops and self.seconds else float("nan")


@dataclass
class Results:
    runs: dict[str, Timer] = field(default_factory=dict)
    resumes: dict[str, Timer] = field(default_factory=dict)
    listing: dict[int, dict[str, Any]] = field(default_factory=dict)
    disk: dict[str, dict] = field(default_factory=dict)
    events: dict[str, dict] = field(default_factory=dict)
    floor: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def lanes(sides: list[Side]) -> list[tuple[Side, str]]:
    return [(side, mode) for side in sides for mode in side.modes]


def lane_name(side: Side, mode: str) -> str:
    return f"{side.label} ({mode})" if mode else side.label


def lane_share(side: Side, total: int) -> int:
    """Each stack does `total` operations, split evenly between its lanes (langgraph's two
    modes; the engine's two modes, each with sync nodes inline and in executor threads)."""
    return total // len(side.modes)


async def interleaved(sides: list[Side], total: int, chunk: int, op: Callable, timers: dict[str, Timer],
                      progress: str) -> None:
    """Run `op(side, mode, k)` for k in 0..share-1 on every lane, a slice of each lane per round
    (slices proportional to the lane's share), rotating the order of the lanes every round."""
    all_lanes = lanes(sides)
    shares = {lane_name(s, m): lane_share(s, total) for s, m in all_lanes}
    done = {name: 0 for name in shares}
    rounds = max(1, math.ceil(total / chunk))
    last_print = time.monotonic()
    for round_no in range(rounds):
        turn = round_no % len(all_lanes)
        for side, mode in all_lanes[turn:] + all_lanes[:turn]:
            name = lane_name(side, mode)
            end = shares[name] * (round_no + 1) // rounds
            timer = timers.setdefault(name, Timer())
            began = time.perf_counter()
            for k in range(done[name], end):
                await op(side, mode, k)
            timer.seconds += time.perf_counter() - began
            timer.ops += end - done[name]
            done[name] = end
        if time.monotonic() - last_print > 5 or round_no == rounds - 1:
            last_print = time.monotonic()
            print(f"  {progress}: {sum(done.values())}/{sum(shares.values())}", file=sys.stderr, flush=True)


def new_thread(side: Side, mode: str) -> str:
    thread_id = f"run-{mode or 'e'}-{side.counter}"
    side.counter += 1
    return thread_id


def lane_threads(side: Side, mode: str) -> list[str]:
    return [t for t in side.threads if t.split("-")[1] == (mode or "e")]


async def do_runs(sides: list[Side], count: int, chunk: int, results: Results) -> None:
    async def op(side: Side, mode: str, k: int) -> None:
        thread_id = new_thread(side, mode)
        await side.run(thread_id, side.counter, mode)
        side.threads.append(thread_id)
        side.paused.add(thread_id)

    await interleaved(sides, count, chunk, op, results.runs, "runs to interrupt")


async def do_resumes(sides: list[Side], count: int, chunk: int, results: Results) -> None:
    pools = {(id(side), mode): [t for t in lane_threads(side, mode) if t in side.paused][:lane_share(side, count)]
             for side, mode in lanes(sides)}

    async def op(side: Side, mode: str, k: int) -> None:
        thread_id = pools[(id(side), mode)][k]
        await side.resume(thread_id, mode)
        side.paused.discard(thread_id)

    await interleaved(sides, count, chunk, op, results.resumes, "resumes")


async def measure_runtime_floor(sides: list[Side], results: Results, count: int = 300) -> None:
    """Runs and resumes per second with each stack's InMemorySaver (durability "sync"), best of
    3 rounds: the cost of the runtime itself, which no checkpointer can go below."""
    print("runtime floor (InMemorySaver)", file=sys.stderr)
    for side in sides:
        for floor_mode in (("sync", "sync" + EXECUTOR) if side.label == "engine" else ("sync",)):
            await _runtime_floor(side, floor_mode, results, count)


async def _runtime_floor(side: Side, mode: str, results: Results, count: int) -> None:
    if side.label == "engine":
        from engine.checkpoint.memory import InMemorySaver
        from engine.graph import END, START, StateGraph
        from engine.types import Command, interrupt
    else:
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.graph import END, START, StateGraph
        from langgraph.types import Command, interrupt
    graph = build_graph(StateGraph, START, END, interrupt, InMemorySaver())
    owns = EngineSide.loop_mode(mode) if side.label == "engine" else contextlib.nullcontext()
    best_run = best_resume = float("inf")
    with owns:
        for round_no in range(3):
            threads = [f"floor-{round_no}-{k}" for k in range(count)]
            began = time.perf_counter()
            for k, thread_id in enumerate(threads):
                await graph.ainvoke(run_input(k), config_for(thread_id), durability="sync")
            middle = time.perf_counter()
            for thread_id in threads:
                await graph.ainvoke(Command(resume=ACCEPT), config_for(thread_id), durability="sync")
            ended = time.perf_counter()
            best_run, best_resume = min(best_run, middle - began), min(best_resume, ended - middle)
    results.floor[lane_name(side, "" if mode == "sync" else mode)] = {"runs": count / best_run,
                                                                     "resumes": count / best_resume}


async def timed(fn: Callable, repeats: int) -> tuple[float, int, list[float]]:
    times, found = [], 0
    for _ in range(repeats):
        began = time.perf_counter()
        found = await fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), found, times


async def choose_langgraph_scan(side: LangGraphSide, results: Results) -> dict:
    """Time both ways of scanning at the current size; keep the faster for the other sizes."""
    per_thread, n1, _ = await timed(lambda: _count(side.scan_per_thread), 2)
    whole, n2, _ = await timed(lambda: _count(side.scan_alist), 2)
    assert n1 == n2, (n1, n2)
    side.list_method = "aget_tuple per thread" if per_thread <= whole else "alist(None)"
    results.notes.append(f"langgraph listing: aget_tuple per thread took {per_thread * 1000:.0f} ms, "
                         f"alist(None) {whole * 1000:.0f} ms at the first size; using {side.list_method}.")
    return {"aget_tuple per thread": per_thread, "alist(None)": whole}


async def _count_page(side: "EngineSide") -> int:
    return len(await side.saver.alist_pending(limit=100))


async def _count(scan: Callable) -> int:
    return len(await scan())


async def do_listing(sides: list[Side], size: int, results: Results, first: bool) -> None:
    entry: dict[str, Any] = {}
    for side in sides:
        if isinstance(side, LangGraphSide):
            if first:
                entry["langgraph_methods"] = await choose_langgraph_scan(side, results)
            repeats = 3 if size <= 2000 else 1
            if size <= 20000:
                await side.list_pending()  # warm up, as for the engine
        else:
            repeats = 7
            await side.list_pending()
        if isinstance(side, EngineSide):
            page, _n, _t = await timed(lambda: _count_page(side), 7)
            entry["engine_first_page"] = page
        median, found, times = await timed(side.list_pending, repeats)
        if found != size:
            raise RuntimeError(f"{side.label} listed {found} pending interrupts, expected {size}")
        entry[side.label] = {"seconds": median, "repeats": repeats, "all": times,
                             "real_threads": len(side.paused), "filled": side.filled}
        print(f"  listing at {size}: {side.label} {median * 1000:.1f} ms", file=sys.stderr, flush=True)
    results.listing[size] = entry


async def top_up(sides: list[Side], size: int, payload: Any) -> None:
    for side in sides:
        missing = size - len(side.paused) - side.filled
        if missing < 0:
            raise RuntimeError(f"{side.label} has {len(side.paused) + side.filled} paused threads, more than {size}")
        if missing:
            start = side.filled
            if isinstance(side, LangGraphSide):
                await side.fill(missing, start, next(iter(sorted(side.paused))))
            else:
                await side.fill(missing, start, payload)
            print(f"  filled {side.label} with {missing} paused threads", file=sys.stderr, flush=True)


# --- cross-process events ----------------------------------------------------------------------------
def spawn_role(role: str, db: str, expect: int, synchronous: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--_role", role, "--_db", db,
                             "--_expect", str(expect), "--synchronous", synchronous],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)


async def measure_events(side: Side, role: str, count: int, results: Results, synchronous: str,
                         mode: str = "sync") -> None:
    """Runs made here, one every 0-100 ms (uniform), seen by another process."""
    background = len(side.paused) + side.filled
    proc = spawn_role(role, side.path, count, synchronous)
    try:
        try:
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 120)
        except asyncio.TimeoutError:
            line = "(nothing within 120 s)"
        if line.strip() != "ready":
            raise RuntimeError(f"the {role} process did not start: {line!r}")
        rng = random.Random(7)
        for k in range(count):
            await asyncio.sleep(rng.uniform(0.0, 0.1))
            thread_id = new_thread(side, mode)
            await side.run(thread_id, side.counter, mode)
            side.threads.append(thread_id)
            side.paused.add(thread_id)
        try:
            out, _ = await asyncio.to_thread(proc.communicate, timeout=120)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{role} did not see all {count} interrupts within 120 s")
    finally:
        if proc.poll() is None:  # never leave the other process behind
            proc.kill()
    data = json.loads(out.strip().splitlines()[-1])
    latencies = sorted(data["latencies"])
    results.events[side.label] = {"count": len(latencies), "p50": percentile(latencies, 50),
                                  "p95": percentile(latencies, 95), "max": latencies[-1],
                                  "how": data["how"], "paused_threads_before": background,
                                  **({"scans": data["scans"]} if "scans" in data else {})}
    print(f"  events {side.label}: p50 {results.events[side.label]['p50'] * 1000:.1f} ms", file=sys.stderr)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, math.ceil(pct / 100 * len(ordered)) - 1)
    return ordered[rank]


async def role_engine_subscriber(db: str, expect: int, synchronous: str) -> None:
    from engine.checkpoint.sqlite import SqliteSaver
    from engine.events import InterruptRaised

    latencies = []
    async with SqliteSaver.from_conn_string(db, synchronous=synchronous) as saver:
        since = await saver.alast_event_seq()
        print("ready", flush=True)
        async for event in saver.subscribe(since=since):
            if isinstance(event, InterruptRaised):
                latencies.append(time.time() - event.value[0]["action_request"]["args"]["sent_at"])
                if len(latencies) >= expect:
                    break
    print(json.dumps({"latencies": latencies, "how": "saver.subscribe() (polls every 50 ms across processes)"}))


async def role_langgraph_poller(db: str, expect: int, synchronous: str) -> None:
    side = LangGraphSide(db, synchronous)
    await side.open()
    try:
        await _poll(side, expect)
    finally:
        await side.close()  # aiosqlite's thread would keep the process alive


async def _poll(side: LangGraphSide, expect: int) -> None:
    seen: set[float] = set()
    started = time.time()
    latencies = []
    scans = 0
    for _thread, interrupts in await side.scan_per_thread():  # what exists already is not new
        for item in interrupts:
            seen.add(item.value[0]["action_request"]["args"]["sent_at"])
    print("ready", flush=True)
    while len(latencies) < expect and time.time() - started < 110:
        found = await side.scan_per_thread()
        now = time.time()
        scans += 1
        for _thread, interrupts in found:
            for item in interrupts:
                sent = item.value[0]["action_request"]["args"]["sent_at"]
                if sent not in seen:
                    seen.add(sent)
                    latencies.append(now - sent)
    print(json.dumps({"latencies": latencies, "scans": scans,
                      "how": "a process re-scanning every thread's latest checkpoint in a loop, no sleep"}))


# --- reporting --------------------------------------------------------------------------------------
def machine() -> str:
    model = "?"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
            f"load average {', '.join(f'{x:.2f}' for x in load)}")


def fmt_ratio(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.1f}x" if value < 100 else f"{value:.0f}x"


def report(results: Results, sides: list[Side], args, started: float) -> dict:
    langgraph = next((s for s in sides if s.label == "langgraph"), None)
    rows: list[tuple] = []

    def higher_better(metric: str, timers: dict[str, Timer], target: float) -> None:
        """One row per durability mode: each stack against itself in the same mode; the engine
        with sync nodes inline (engine_owns_loop), then, for information, in executor threads."""
        for mode in ("sync", "async"):
            for engine_mode, label in ((mode, f"{metric}, durability={mode}"),
                                       (mode + EXECUTOR, "  same, engine's sync nodes in executor threads")):
                e = timers[lane_name(EngineSide, engine_mode)].rate
                if not math.isfinite(e):
                    return  # not measured (--resumes 0)
                held = engine_mode == mode  # the row held to the target
                goal = f">= {target:g}x" if held else ""
                if langgraph is None:
                    rows.append((label, f"{e:.0f}/s", "n/a", "-", goal, "-" if held else ""))
                    continue
                g = timers[lane_name(langgraph, mode)].rate
                met = ("yes" if e / g >= target else "NO") if held else ""
                rows.append((label, f"{e:.0f}/s", f"{g:.0f}/s", fmt_ratio(e / g), goal, met))

    higher_better("runs to interrupt", results.runs, 4)
    higher_better("resumes", results.resumes, 4)
    if "engine" in results.floor:
        g = results.floor.get("langgraph")
        for key, how in (("engine", "sync nodes inline"), (lane_name(EngineSide, "sync" + EXECUTOR), "executor")):
            e = results.floor[key]
            for what in ("runs", "resumes"):
                rows.append((f"  runtime alone ({what}, InMemorySaver, {how})", f"{e[what]:.0f}/s",
                             f"{g[what]:.0f}/s" if g else "n/a", fmt_ratio(e[what] / g[what]) if g else "-", "", ""))
    for size, entry in sorted(results.listing.items()):
        e = entry["engine"]["seconds"]
        filled = entry["engine"]["filled"]
        label = f"list all pending @ {size}" + (f" ({filled} filled)" if filled else "")
        if langgraph is None:
            rows.append((label, f"{e * 1000:.1f} ms", "n/a", "-", "", ""))
            continue
        g = entry["langgraph"]["seconds"]
        target = ">= 100x" if size == 10000 else ""
        met = ("yes" if g / e >= 100 else "NO") if size == 10000 else ""
        rows.append((label, f"{e * 1000:.1f} ms", f"{g * 1000:.0f} ms", fmt_ratio(g / e), target, met))
        page = entry.get("engine_first_page")
        if page is not None:
            rows.append((f"  first page only (limit=100) @ {size}", f"{page * 1000:.1f} ms",
                         "(full scan)", fmt_ratio(g / page), "", ""))
    e_bytes = results.disk["engine"]["per_thread"]
    if langgraph is not None:
        g_bytes = results.disk["langgraph"]["per_thread"]
        rows.append(("bytes on disk per paused thread", f"{e_bytes:.0f} B", f"{g_bytes:.0f} B",
                     f"{e_bytes / g_bytes:.2f}x", "<= 0.25x", "yes" if e_bytes / g_bytes <= 0.25 else "NO"))
    else:
        rows.append(("bytes on disk per paused thread", f"{e_bytes:.0f} B", "n/a", "-", "<= 0.25x", "-"))
    if "engine" in results.events:
        ev = results.events["engine"]
        lg = results.events.get("langgraph")
        lg_text = (f"{lg['p50'] * 1000:.0f} / {lg['p95'] * 1000:.0f} ms (polling)" if lg else "n/a (no events)")
        rows.append(("cross-process event latency p50 / p95", f"{ev['p50'] * 1000:.0f} / {ev['p95'] * 1000:.0f} ms",
                     lg_text, "-", "p95 <= 100 ms", "yes" if ev["p95"] <= 0.1 else "NO"))

    widths = [max(len(str(r[i])) for r in rows + [("metric", "engine", "langgraph", "ratio", "target", "met")])
              for i in range(6)]
    header = ("metric", "engine", "langgraph", "ratio", "target", "met")
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    print()
    print("\n".join(lines))
    print()
    print(f"machine: {machine()}")
    print("engine lanes: the rows held to the target run the engine inside `engine_owns_loop()` (this script "
          "owns its event loop, so a step's lone sync node runs inline on it, as under invoke() and in "
          "`inbox worker --concurrency 1`); the 'in executor threads' rows hand every sync node to an executor "
          "thread, as on a loop shared with a UI or a server and as LangGraph does under ainvoke")
    if langgraph is not None:
        print(f"durability: both WAL, synchronous={args.synchronous}; both stacks commit every superstep and "
              "run half their runs and resumes with durability='sync' (committed before the next step starts; "
              "the engine's default) and half with 'async' (committed while the next step runs; langgraph's "
              "default); each mode is compared with the same mode")
    else:
        print(f"durability: WAL, synchronous={args.synchronous}; the engine commits each superstep "
              "(langgraph not installed: engine half only)")
    print(f"workload: {args.runs} real runs and {args.resumes} resumes per stack (half in each "
          f"durability mode); input = system prompt + {args.history} earlier user/assistant pairs + 1 request; "
          f"{args.events} cross-process events; wall time {time.perf_counter() - started:.0f} s")
    for side in sides:
        d = results.disk[side.label]
        tables = ", ".join(f"{k} {v / d['threads']:.0f}" for k, v in list(d["tables"].items())[:6])
        print(f"disk {side.label}: {d['used_bytes']} bytes for {d['threads']} paused threads (real runs); "
              f"per thread by table/index: {tables}")
        if side.filled:
            print(f"fill {side.label}: {side.filled} paused threads added by the fast path in "
                  f"{side.fill_seconds:.1f} s ({'aput_events, one transaction' if side.label == 'engine' else 'copies of a real thread rows, one transaction'})")
    for label, ev in results.events.items():
        print(f"events {label}: {ev['count']} interrupts raised 0-100 ms apart over {ev['paused_threads_before']} "
              f"paused threads; {ev['how']}" + (f"; {ev['scans']} scans" if "scans" in ev else ""))
    for note in results.notes:
        print(f"note: {note}")
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
        "synchronous": args.synchronous, "sizes": args.sizes, "history": args.history, "real_runs": args.runs, "resumes": args.resumes,
        "runs": {k: {"ops": v.ops, "seconds": v.seconds, "rate": v.rate} for k, v in results.runs.items()},
        "resumes_by_lane": {k: {"ops": v.ops, "seconds": v.seconds, "rate": v.rate} for k, v in results.resumes.items()},
        "listing": {str(k): v for k, v in results.listing.items()}, "disk": results.disk, "events": results.events,
        "runtime_floor": results.floor,
        "notes": results.notes, "rows": rows,
    }


# --- main ---------------------------------------------------------------------------------------------
async def main(args) -> dict:
    global HISTORY
    HISTORY = args.history
    started = time.perf_counter()
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-compare-")
    os.makedirs(workdir, exist_ok=True)
    sides: list[Side] = []
    engine = EngineSide(os.path.join(workdir, "engine.sqlite"), args.synchronous)
    sides.append(engine)
    if args.engine_only:
        pass
    elif have_langgraph():
        sides.append(LangGraphSide(os.path.join(workdir, "langgraph.sqlite"), args.synchronous))
    else:
        print("langgraph is not installed, so only the engine half runs. For the comparison:\n"
              "    pip install -e '.[bench]'     (or: pip install langgraph langgraph-checkpoint-sqlite)\n",
              file=sys.stderr)
    for side in sides:
        remove_db(side.path)
        await side.open()
    results = Results()
    try:
        sizes = args.sizes
        # 1. real runs: the first size plus the resume pool, every lane.
        print(f"runs to interrupt: {args.runs} per stack", file=sys.stderr)
        await do_runs(sides, args.runs, args.chunk, results)
        # 2. bytes on disk per paused thread (every thread is a real, paused one).
        for side in sides:
            usage = await asyncio.to_thread(disk_usage, side.path)
            usage["threads"] = len(side.paused)
            usage["per_thread"] = usage["used_bytes"] / len(side.paused)
            results.disk[side.label] = usage
        # 3. resumes.
        print(f"resumes: {args.resumes} per stack", file=sys.stderr)
        await do_resumes(sides, args.resumes, args.chunk, results)
        # 3b. the runtime alone (no disk): what persistence is measured on top of.
        if args.resumes:
            await measure_runtime_floor(sides, results)
        # 4. listing at the first size, then the events, then the larger sizes.
        payload = None
        engine_pending = await engine.list_pending()
        records = await engine.saver.alist_pending(limit=1)
        payload = records[0].payload
        for side in sides:  # the langgraph lanes have paused threads from two modes
            if len(side.paused) > sizes[0]:
                raise RuntimeError(f"{side.label}: {len(side.paused)} paused threads after the resumes, "
                                   f"more than the first size {sizes[0]}: lower --runs or raise --resumes")
        await top_up(sides, sizes[0], payload)
        assert engine_pending <= sizes[0]
        await do_listing(sides, sizes[0], results, first=True)
        if args.events:
            print(f"cross-process events: {args.events}", file=sys.stderr)
            await measure_events(engine, "engine-subscriber", args.events, results, args.synchronous)
            lg = next((s for s in sides if s.label == "langgraph"), None)
            if lg is not None and not args.no_poll:
                await measure_events(lg, "langgraph-poller", args.events, results, args.synchronous, mode="async")
        for size in sizes[1:]:
            await top_up(sides, size, payload)
            await do_listing(sides, size, results, first=False)
        return report(results, sides, args, started)
    finally:
        for side in sides:
            await side.close()
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.keep:
            print(f"databases kept in {workdir}", file=sys.stderr)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default=None,
                        help="paused-thread counts to list at, comma-separated (default 1000,10000,100000)")
    parser.add_argument("--quick", action="store_true", help="sizes 500,2000, fewer runs and events")
    parser.add_argument("--runs", type=int, default=None, help="real runs per stack (default: first size + resumes)")
    parser.add_argument("--resumes", type=int, default=None, help="resumes per stack (default 1000; quick 300)")
    parser.add_argument("--events", type=int, default=None, help="cross-process events (default 200; quick 60; 0 skips)")
    parser.add_argument("--no-poll", action="store_true", help="skip langgraph's polling latency")
    parser.add_argument("--history", type=int, default=0,
                        help="earlier user/assistant message pairs in each run's input (default 0)")
    parser.add_argument("--chunk", type=int, default=50, help="operations per stack before switching (default 50)")
    parser.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"])
    parser.add_argument("--engine-only", action="store_true")
    parser.add_argument("--workdir", help="where to put the databases (kept); default a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary databases")
    parser.add_argument("--json", help="also write the results as JSON here")
    parser.add_argument("--_role", help=argparse.SUPPRESS)
    parser.add_argument("--_db", help=argparse.SUPPRESS)
    parser.add_argument("--_expect", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._role:
        return args
    default_sizes = "500,2000" if args.quick else "1000,10000,100000"
    args.sizes = sorted({int(x) for x in (args.threads or default_sizes).split(",") if x.strip()})
    if args.resumes is None:
        args.resumes = 300 if args.quick else 1000
    if args.events is None:
        args.events = 60 if args.quick else 200
    if args.runs is None:
        args.runs = args.sizes[0] + args.resumes
    if args.runs - args.resumes > args.sizes[0] or args.runs < args.resumes:
        parser.error(f"--runs minus --resumes must be between 0 and the first size ({args.sizes[0]})")
    return args


if __name__ == "__main__":
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    options = parse_args()
    if options._role == "engine-subscriber":
        asyncio.run(role_engine_subscriber(options._db, options._expect, options.synchronous))
    elif options._role == "langgraph-poller":
        asyncio.run(role_langgraph_poller(options._db, options._expect, options.synchronous))
    else:
        summary = asyncio.run(main(options))
        if options.json:
            with open(options.json, "w") as out:
                json.dump(summary, out, indent=2, default=str)
