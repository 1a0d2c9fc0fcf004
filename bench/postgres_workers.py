"""How fast 1, 2 and 4 `inbox worker` processes drain recorded decisions from one Postgres
database (bench/workers.py does the same on a SQLite file; the graph and checks are its own).

    python bench/postgres_workers.py                          # 2,000 decisions, workers 1,2,4
    python bench/postgres_workers.py --decisions 500 --repeat 1 --url postgresql://postgres@/postgres

`--tool-seconds S` makes each tool call wait S seconds first (standing for a real tool's I/O):
without it the tool is pure CPU, and workers on a 2-core machine compete for the same cores.

Setup (once): `--decisions` paused threads of bench/workers.py's tool agent, each with a claimed
(not applied) accept, in a template database; each measurement runs on a fresh copy of it
(CREATE DATABASE ... TEMPLATE). Measured per worker count N: N `inbox worker --db URL`
processes started at once; the parent polls the applied count every 10 ms. Printed as in
bench/workers.py: wall time, decisions/s over the drain (first to last applied), the speedup
against N=1, and the checks (no duplicate side effect, every tool ran exactly once).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.postgres_server import create, server, version  # noqa: E402
from bench.workers import GRAPH_NAME, SIDE_EFFECTS_ENV, _propose, seed, spread  # noqa: E402
from bench.workers import record as record_line  # noqa: E402


# --- the graph with I/O in its tool (--tool-seconds; imported by the workers as
# bench.postgres_workers:build_graph): bench/workers.py's, its tool waiting first -----------------
TOOL_SECONDS_ENV = "BENCH_TOOL_SECONDS"


def record(line: str) -> str:
    """bench/workers.py's tool after a wait of $BENCH_TOOL_SECONDS, standing for the I/O of a
    real tool (an API call, an email sent): time a worker spends waiting, not computing."""
    seconds = float(os.environ.get(TOOL_SECONDS_ENV) or 0)
    if seconds:
        time.sleep(seconds)
    return record_line(line)


def build_graph(checkpointer=None):
    from engine.prebuilt import ScriptedModel, add_human_in_the_loop, create_tool_agent

    model = ScriptedModel([_propose, "Recorded."])
    return create_tool_agent(model, [add_human_in_the_loop(record, description="Append a line.")],
                             checkpointer=checkpointer, name=GRAPH_NAME)


def drain(url: str, side_effects: str, workers: int, concurrency: int, decisions: int, workdir: str,
          timeout: float, tool_seconds: float = 0.0) -> dict:
    import psycopg

    env = {k: v for k, v in os.environ.items() if k not in ("INBOX_DB", "DATABASE_URL")}
    env[SIDE_EFFECTS_ENV] = side_effects
    env[TOOL_SECONDS_ENV] = str(tool_seconds)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    if os.path.exists(side_effects):
        os.remove(side_effects)
    command = [sys.executable, "-m", "inbox.cli", "worker", "--db", url,
               "--graph", f"{GRAPH_NAME}=bench.postgres_workers:build_graph", "--concurrency", str(concurrency)]
    errs = [open(os.path.join(workdir, f"worker-{workers}-{i}.err"), "w+") for i in range(workers)]
    watch = psycopg.connect(url, autocommit=True)
    started = time.perf_counter()
    procs = [subprocess.Popen(command, cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=errs[i])
             for i in range(workers)]
    first = last = None
    applied = 0
    try:
        while True:
            applied = watch.execute("SELECT count(*) FROM engine_interrupts WHERE applied").fetchone()[0]
            now = time.perf_counter()
            if applied and first is None:
                first = now
            if applied >= decisions:
                last = now
                break
            if now - started > timeout or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.01)
        until = time.perf_counter() + 30
        while last is not None and time.perf_counter() < until and watch.execute(
                "SELECT count(*) FROM engine_threads WHERE status <> 'done'").fetchone()[0]:
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
    problems = []
    for i, err in enumerate(errs):
        err.seek(0)
        text = err.read()
        err.close()
        if "Traceback" in text:
            problems.append(f"worker {i}: {text.strip().splitlines()[-1]}")
    if last is None:
        problems.append(f"only {applied} of {decisions} decisions applied")
    lines = Path(side_effects).read_text().splitlines() if os.path.exists(side_effects) else []
    runs = Counter(lines)
    threads = [row[0] for row in watch.execute("SELECT thread_id FROM engine_threads").fetchall()]
    done = watch.execute("SELECT count(*) FROM engine_threads WHERE status = 'done'").fetchone()[0]
    by_pid = Counter(owner.split(":")[1] for (owner,) in watch.execute("SELECT owner FROM engine_tool_calls"))
    watch.close()
    return {"workers": workers, "wall": (last or time.perf_counter()) - started,
            "first": (first - started) if first else float("nan"),
            "drain": (last - first) if (last and first) else float("nan"), "problems": problems,
            "duplicates": sum(n - 1 for n in runs.values() if n > 1),
            "exactly_once": sum(1 for t in threads if runs.get(t) == 1), "threads": len(threads), "done": done,
            "by_process": sorted(by_pid.values(), reverse=True)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--tool-seconds", type=float, default=0.0,
                        help="seconds each tool call waits before its work, standing for real I/O (default 0: "
                             "the tool is pure CPU, so workers compete for the cores)")
    parser.add_argument("--url", help="an admin URL of a server to use (default: start a throwaway cluster)")
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    workdir = tempfile.mkdtemp(prefix="bench-pg-workers-")
    os.environ.setdefault(SIDE_EFFECTS_ENV, os.path.join(workdir, "seed-side-effects.txt"))
    started = time.perf_counter()
    try:
        with server(args.url) as (admin, url_for, where):
            create(admin, "bench_seeded")
            print(f"seeding {args.decisions} paused threads with a claimed decision each ...", file=sys.stderr)
            print(f"seeded in {asyncio.run(seed(url_for('bench_seeded'), args.decisions)):.1f} s", file=sys.stderr)
            results: dict[int, list[dict]] = {n: [] for n in counts}
            for round_ in range(args.repeat):
                for n in (counts if round_ % 2 == 0 else list(reversed(counts))):
                    create(admin, f"bench_drain_{n}", template="bench_seeded")
                    r = drain(url_for(f"bench_drain_{n}"), os.path.join(workdir, f"effects-{n}.txt"), n,
                              args.concurrency, args.decisions, workdir, args.timeout, args.tool_seconds)
                    results[n].append(r)
                    print(f"  {n} worker(s), round {round_ + 1}: {args.decisions / r['drain']:.0f}/s drain, "
                          f"duplicates {r['duplicates']}, exactly once {r['exactly_once']}/{r['threads']}"
                          + (f", PROBLEMS: {'; '.join(r['problems'])}" if r["problems"] else ""), file=sys.stderr)
            server_version = version(admin)
        base = statistics.median(args.decisions / r["drain"] for r in results[min(counts)])
        print(f"\n{'workers':<8}{'wall (s)':<20}{'decisions/s (drain)':<22}{'speedup':<20}{'duplicates':<12}"
              f"{'exactly once':<16}tool calls per process")
        for n, rs in results.items():
            rates = [args.decisions / r["drain"] for r in rs]
            print(f"{n:<8}{spread([r['wall'] for r in rs], '{:.1f}'):<20}{spread(rates, '{:.0f}'):<22}"
                  f"{spread([x / base for x in rates], '{:.2f}x'):<20}{'/'.join(str(r['duplicates']) for r in rs):<12}"
                  f"{'/'.join(str(r['exactly_once']) for r in rs) + f' of {args.decisions}':<16}"
                  f"{[r['by_process'] for r in rs]}")
        load = os.getloadavg()
        print(f"\nmachine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; PostgreSQL {server_version} "
              f"({where}); load average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}; "
              f"inbox worker --concurrency {args.concurrency}; tool I/O {args.tool_seconds} s per call; "
              f"{args.repeat} round(s), median (min-max); "
              f"total {time.perf_counter() - started:.0f} s")
        return 1 if any(r["problems"] or r["duplicates"] for rs in results.values() for r in rs) else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
