"""How fast 1, 2 and 4 `inbox worker` processes drain recorded decisions from one file.

    python bench/workers.py                      # 1,000 decisions, workers 1,2,4: about a minute
    python bench/workers.py --decisions 300 --repeat 1

Setup (once): 1,000 threads of a small tool agent (`create_tool_agent` + `ScriptedModel`) are
run until their reviewed tool (`add_human_in_the_loop(record)`) asks for a review. `record`
appends one line naming its thread to a side-effect file. A decision (accept) is then claimed
on every pending interrupt with `engine.runtime.decisions.claim`, which records it without
applying it: no graph runs. The file is copied (after a WAL checkpoint), so every measurement
starts from the same state.

Measured, for each worker count N: N real subprocesses of
`python -m inbox.cli worker --db DB --graph bench=bench.workers:build_graph --concurrency C`
are started at once, and the parent polls `interrupts.applied` every 10 ms until every decision
is applied; then the workers get SIGINT (ctrl+c). Each resume runs the reviewed tool (with its
ledger rows), the agent's final answer and the run's end: 3 commits.

Printed per N: wall time from starting the processes (includes the interpreter start and the
imports, shown separately as "first applied"), decisions per second over the whole wall time
and over the drain (first to last applied), the speedup of the drain rate against N=1, how the
tool calls were shared between the processes (from the ledger's owners), and the checks:
duplicate lines in the side-effect file (must be 0), threads whose tool ran exactly once,
threads that finished (the runs in flight when the last decision is applied are let finish,
untimed, before the workers are stopped), and tool-ledger rows marked done. (A worker prints
what it applied only when its recovery pass ends, so its own report is usually cut short.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIDE_EFFECTS_ENV = "BENCH_WORKERS_SIDE_EFFECTS"
GRAPH_NAME = "bench"


# --- the graph (imported by the worker processes as bench.workers:build_graph) -------------------
def record(line: str) -> str:
    """The reviewed tool: append one line to the side-effect file (O_APPEND: one write each,
    whole lines from any number of processes)."""
    fd = os.open(os.environ[SIDE_EFFECTS_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
    return f"recorded {line}"


def _propose(messages: list[dict]) -> dict:
    """The model's first turn: call `record` with the thread named in the user's message."""
    thread = next(m["content"] for m in messages if m.get("role") == "user")
    return {"role": "assistant", "content": "",
            "tool_calls": [{"id": "call_1", "name": "record", "args": {"line": thread}}]}


def build_graph(checkpointer=None):
    from engine.prebuilt import ScriptedModel, add_human_in_the_loop, create_tool_agent

    model = ScriptedModel([_propose, "Recorded."])
    return create_tool_agent(model, [add_human_in_the_loop(record, description="Append a line.")],
                             checkpointer=checkpointer, name=GRAPH_NAME)


# --- setup ---------------------------------------------------------------------------------------
async def seed(target: str, decisions: int) -> float:
    """`decisions` paused threads, each with a claimed (not applied) accept, in the store at
    `target` (a SQLite path or a postgresql:// URL). Returns seconds."""
    from engine.checkpoint.stores import is_postgres, store_for
    from engine.runtime.decisions import claim

    started = time.perf_counter()
    async with store_for(target) as saver:
        graph = build_graph(saver)
        gate = asyncio.Semaphore(8)

        async def one(index: int) -> None:
            thread = f"t{index:06d}"
            async with gate:
                out = await graph.ainvoke({"messages": [{"role": "user", "content": thread}]},
                                          {"configurable": {"thread_id": thread}})
            assert out.get("__interrupt__"), f"{thread} did not pause: {out}"

        await asyncio.gather(*(one(i) for i in range(decisions)))
        pending = await saver.alist_pending()
        if len(pending) != decisions:
            raise RuntimeError(f"{len(pending)} pending interrupts after seeding {decisions} threads")
        for item in pending:
            await claim(saver, item.id, [{"type": "accept", "args": None}], by="bench")
        recorded = len(await saver.alist_claimed_unapplied())
    if recorded != decisions:
        raise RuntimeError(f"setup: {recorded} decisions claimed and not applied (expected {decisions})")
    if not is_postgres(target):
        with sqlite3.connect(target) as db:  # the file is copied per round: everything in the main file
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - started


def copy_db(source: str, target: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        with_suffix = target + suffix
        if os.path.exists(with_suffix):
            os.remove(with_suffix)
    shutil.copy2(source, target)


# --- one measurement -------------------------------------------------------------------------------
def drain(db_path: str, side_effects: str, workers: int, concurrency: int, decisions: int,
          workdir: str, timeout: float) -> dict:
    env = dict(os.environ)
    env[SIDE_EFFECTS_ENV] = side_effects
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    if os.path.exists(side_effects):
        os.remove(side_effects)
    command = [sys.executable, "-m", "inbox.cli", "worker", "--db", db_path,
               "--graph", f"{GRAPH_NAME}=bench.workers:build_graph", "--concurrency", str(concurrency)]
    logs = [open(os.path.join(workdir, f"worker-{workers}-{i}.log"), "w+") for i in range(workers)]
    errs = [open(os.path.join(workdir, f"worker-{workers}-{i}.err"), "w+") for i in range(workers)]
    watch = sqlite3.connect(db_path, timeout=30)
    started = time.perf_counter()
    procs = [subprocess.Popen(command, cwd=str(ROOT), env=env, stdout=logs[i], stderr=errs[i])
             for i in range(workers)]
    first = last = None
    applied = 0
    try:
        while True:
            applied = watch.execute("SELECT count(*) FROM interrupts WHERE applied = 1").fetchone()[0]
            now = time.perf_counter()
            if applied and first is None:
                first = now
            if applied >= decisions:
                last = now
                break
            if now - started > timeout:
                break
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                break
            time.sleep(0.01)
        # The last decisions are applied with their tool's step; the model's answer and the
        # run's end follow. Let those finish before stopping the workers (not timed).
        until = time.perf_counter() + 30
        while last is not None and time.perf_counter() < until and watch.execute(
                "SELECT count(*) FROM threads WHERE status != 'done'").fetchone()[0]:
            time.sleep(0.01)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        watch.close()
    reported: Counter = Counter()
    per_worker = []
    for log in logs:
        log.seek(0)
        lines = [line for line in log.read().splitlines() if line.startswith("{")]
        per_worker.append(len(lines))
        for line in lines:
            reported[_status(line)] += 1
        log.close()
    problems = []
    for i, err in enumerate(errs):
        err.seek(0)
        text = err.read()
        err.close()
        if "Traceback" in text:
            problems.append(f"worker {i}: {text.strip().splitlines()[-1]}")
    if last is None:
        problems.append(f"only {applied} of {decisions} decisions applied "
                        f"({'a worker exited' if any(p.returncode not in (0, None) for p in procs) else 'timed out'})")
    checks = check(db_path, side_effects, decisions)
    wall = (last or time.perf_counter()) - started
    return {"workers": workers, "wall": wall, "first": (first - started) if first else float("nan"),
            "drain": (last - first) if (last and first) else float("nan"), "applied": applied,
            "reported": dict(reported), "per_worker": per_worker, "problems": problems, **checks}


def _status(line: str) -> str:
    import json

    try:
        return json.loads(line).get("status", "?")
    except ValueError:
        return "?"


def check(db_path: str, side_effects: str, decisions: int) -> dict:
    lines = Path(side_effects).read_text().splitlines() if os.path.exists(side_effects) else []
    runs = Counter(lines)
    with sqlite3.connect(db_path) as db:
        threads = [row[0] for row in db.execute("SELECT thread_id FROM threads")]
        done = db.execute("SELECT count(*) FROM threads WHERE status = 'done'").fetchone()[0]
        ledger = dict(db.execute("SELECT status, count(*) FROM tool_calls GROUP BY status").fetchall())
        leases = db.execute("SELECT count(*) FROM leases").fetchone()[0]
        # who ran each tool call: the run's owner is host:pid:random
        by_pid = Counter(owner.split(":")[1] for (owner,) in db.execute("SELECT owner FROM tool_calls"))
    return {"by_process": sorted(by_pid.values(), reverse=True),
            "duplicates": sum(n - 1 for n in runs.values() if n > 1),
            "exactly_once": sum(1 for t in threads if runs.get(t) == 1),
            "never_ran": sum(1 for t in threads if t not in runs),
            "threads": len(threads), "done": done, "ledger": ledger, "leases_left": leases}


# --- reporting ------------------------------------------------------------------------------------
def machine() -> str:
    load = os.getloadavg()
    return (f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; SQLite {sqlite3.sqlite_version}; "
            f"load average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")


def spread(values: list[float], fmt: str) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "-"
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1000, help="claimed decisions to drain (default 1000)")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts, comma-separated (default 1,2,4)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="--concurrency passed to each worker: threads it continues at once (default 4)")
    parser.add_argument("--repeat", type=int, default=2, help="measurements per worker count (default 2)")
    parser.add_argument("--timeout", type=float, default=300, help="give up on one measurement after this long")
    parser.add_argument("--workdir", help="keep the databases and worker logs here")
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    if args.decisions < 1 or not counts or min(counts) < 1 or args.concurrency < 1 or args.repeat < 1:
        parser.error("--decisions, --workers, --concurrency and --repeat must be 1 or more")
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-workers-")
    os.makedirs(workdir, exist_ok=True)
    started = time.perf_counter()
    try:
        template = os.path.join(workdir, "seeded.sqlite")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(template + suffix):
                os.remove(template + suffix)
        os.environ.setdefault(SIDE_EFFECTS_ENV, os.path.join(workdir, "seed-side-effects.txt"))
        print(f"seeding {args.decisions} paused threads with a claimed decision each ...", file=sys.stderr)
        seconds = asyncio.run(seed(template, args.decisions))
        print(f"seeded in {seconds:.1f} s", file=sys.stderr)
        results: dict[int, list[dict]] = {n: [] for n in counts}
        for round_ in range(args.repeat):
            order = counts if round_ % 2 == 0 else list(reversed(counts))  # alternate: load drifts
            for n in order:
                db_path = os.path.join(workdir, f"drain-{n}.sqlite")
                copy_db(template, db_path)
                result = drain(db_path, os.path.join(workdir, f"side-effects-{n}.txt"), n, args.concurrency,
                               args.decisions, workdir, args.timeout)
                results[n].append(result)
                print(f"  {n} worker(s), round {round_ + 1}: {args.decisions / result['wall']:.0f}/s wall, "
                      f"{args.decisions / result['drain']:.0f}/s drain, duplicates {result['duplicates']}, "
                      f"exactly once {result['exactly_once']}/{result['threads']}"
                      + (f", PROBLEMS: {'; '.join(result['problems'])}" if result["problems"] else ""),
                      file=sys.stderr)
        report(results, args, time.perf_counter() - started)
        bad = any(r["problems"] or r["duplicates"] or r["exactly_once"] != args.decisions
                  for rs in results.values() for r in rs)
        return 1 if bad else 0
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def report(results: dict[int, list[dict]], args, wall: float) -> None:
    base = results[min(results)]
    base_rate = statistics.median(args.decisions / r["drain"] for r in base)
    header = ("workers", "wall (s)", "first applied (s)", "decisions/s (wall)", "decisions/s (drain)",
              "speedup (drain)", "duplicates", "tool ran exactly once", "threads done")
    rows = []
    for n, rs in results.items():
        drain_rates = [args.decisions / r["drain"] for r in rs]
        rows.append((str(n), spread([r["wall"] for r in rs], "{:.2f}"), spread([r["first"] for r in rs], "{:.2f}"),
                     spread([args.decisions / r["wall"] for r in rs], "{:.0f}"), spread(drain_rates, "{:.0f}"),
                     spread([rate / base_rate for rate in drain_rates], "{:.2f}x"),
                     "/".join(str(r["duplicates"]) for r in rs),
                     "/".join(f"{r['exactly_once']}" for r in rs) + f" of {args.decisions}",
                     "/".join(str(r["done"]) for r in rs)))
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print()
    print(f"machine: {machine()}")
    print(f"workload: {args.decisions} claimed decisions (accept) on paused threads of a tool agent; each resume "
          f"runs the reviewed tool (ledger rows + one line appended to a file), the model's answer and the end; "
          f"inbox worker --concurrency {args.concurrency}; {args.repeat} round(s) per count, median (min-max); "
          f"speedup = drain rate / the {min(results)}-worker median; wall time {wall:.0f} s")
    for n, rs in results.items():
        for i, r in enumerate(rs):
            print(f"  {n} worker(s) round {i + 1}: tool calls run per process {r['by_process']}; "
                  f"reported by the workers before they were stopped {r['reported']}; "
                  f"ledger {r['ledger']}; never ran {r['never_ran']}; leases left {r['leases_left']}"
                  + (f"; PROBLEMS: {'; '.join(r['problems'])}" if r["problems"] else ""))


if __name__ == "__main__":
    sys.exit(main())
