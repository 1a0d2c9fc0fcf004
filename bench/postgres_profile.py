"""Round trips, statements and CPU of one run and one resume on PostgresSaver (and, for scale,
LangGraph's AsyncPostgresSaver), on bench/compare.py's approval graph.

    python bench/postgres_profile.py                   # counts per run / resume, both stacks
    python bench/postgres_profile.py --trace           # also print each round trip's SQL (engine)
    python bench/postgres_profile.py --trace --sql     # ... all of it, not its first 160 characters
    python bench/postgres_profile.py --cprofile 300    # cProfile of 300 engine runs + resumes

A round trip is one `AsyncConnection.wait()` (psycopg's one place where a client waits for
the server: a whole simple-protocol message, a pipeline sync, or one extended-protocol
statement); a statement is one SQL text sent (a `;`-joined message counts each part). "server
cpu ms" is the CPU the database's backends used (from /proc: the throwaway cluster only), the
part of a call's cost that on a shared machine is also the caller's wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.compare import ACCEPT, build_graph, config_for, run_input  # noqa: E402
from bench.postgres import engine_side, langgraph_side  # noqa: E402
from bench.postgres_server import create, server  # noqa: E402


class Counter:
    """Counts psycopg's waits (round trips) and the statements given to cursors."""

    def __init__(self) -> None:
        self.waits = 0
        self.statements = 0
        self.waited = 0.0  # seconds inside waits: the server's time, the network's, and the event loop's
        self.trace: list[str] | None = None
        self._last = ""
        self.width = 160  # characters of each traced statement shown (--sql: all of them)

    def install(self) -> None:
        import psycopg

        counter = self
        wait = psycopg.AsyncConnection.wait

        def counted(gen):
            # a generator that returns without yielding did no I/O (e.g. commit() in autocommit)
            try:
                wanted = next(gen)
            except StopIteration as done:
                return done.value
            counter.waits += 1
            started = time.perf_counter()
            if counter.trace is not None:
                counter.trace.append(counter._last)
                counter._last = "(no new statement: a sync or fetch)"
            while True:
                ready = yield wanted
                try:
                    wanted = gen.send(ready)
                except StopIteration as done:
                    if counter.trace is not None:
                        counter.trace[-1] = f"{(time.perf_counter() - started) * 1000:6.2f} ms  {counter.trace[-1]}"
                    return done.value

        async def counted_wait(conn, gen, *args, **kwargs):
            started = time.perf_counter()
            try:
                return await wait(conn, counted(gen), *args, **kwargs)
            finally:
                counter.waited += time.perf_counter() - started

        psycopg.AsyncConnection.wait = counted_wait
        for cls in (psycopg.AsyncCursor, psycopg.AsyncClientCursor):
            self._wrap(cls)

    def _wrap(self, cls) -> None:
        counter = self
        execute, executemany = cls.execute, cls.executemany

        async def counted_execute(cur, query, params=None, **kwargs):
            text = query if isinstance(query, str) else str(query)
            counter.statements += max(1, text.count(";\n") + 1)
            counter._last = " ".join(text.split())[:counter.width]
            return await execute(cur, query, params, **kwargs)

        async def counted_executemany(cur, query, params_seq, **kwargs):
            params_seq = list(params_seq)
            counter.statements += len(params_seq)
            counter._last = f"executemany x{len(params_seq)}: " + " ".join(str(query).split())[:140]
            return await executemany(cur, query, params_seq, **kwargs)

        cls.execute, cls.executemany = counted_execute, counted_executemany


def server_cpu(admin: str | None, database: str) -> float:
    """Seconds of CPU the server's backends for `database` have used (user + system, from
    /proc: the cluster runs on this machine), or NaN when that cannot be read."""
    if admin is None:
        return float("nan")
    import os

    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            return float("nan")
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


async def measure(graph, Command, prefix: str, count: int, counter: Counter, admin: str | None = None,
                  database: str = "") -> dict:
    figures = {}
    for kind in ("run", "resume"):
        waits, statements, waited = counter.waits, counter.statements, counter.waited
        server = server_cpu(admin, database)
        started = time.perf_counter()
        cpu = time.process_time()
        for n in range(count):
            value = run_input(n) if kind == "run" else Command(resume=ACCEPT)
            await graph.ainvoke(value, config_for(f"{prefix}{n}"), durability="sync")
        figures[kind] = {
            "round trips": (counter.waits - waits) / count,
            "statements": (counter.statements - statements) / count,
            "wall ms": (time.perf_counter() - started) * 1000 / count,
            "waiting ms": (counter.waited - waited) * 1000 / count,
            "cpu ms": (time.process_time() - cpu) * 1000 / count,
            "server cpu ms": (server_cpu(admin, database) - server) * 1000 / count,
        }
    return figures


async def main(args) -> None:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from engine.checkpoint.postgres import PostgresSaver

    counter = Counter()
    counter.install()
    if args.sql:
        counter.width = 1 << 20
    with server(args.url) as (admin, url_for, _where):
        create(admin, "profile_engine")
        create(admin, "profile_langgraph")
        StateGraph, START, END, interrupt, Command = engine_side()
        LStateGraph, LSTART, LEND, linterrupt, LCommand = langgraph_side()
        async with PostgresSaver.from_conn_string(url_for("profile_engine")) as saver, \
                AsyncPostgresSaver.from_conn_string(url_for("profile_langgraph")) as lg_saver:
            await lg_saver.setup()
            graph = build_graph(StateGraph, START, END, interrupt, saver)
            lg_graph = build_graph(LStateGraph, LSTART, LEND, linterrupt, lg_saver)
            await measure(graph, Command, "warm-", 10, counter)
            await measure(lg_graph, LCommand, "warm-", 10, counter)
            local = args.url is None  # the throwaway cluster's backends are processes of this machine
            results = {"engine": await measure(graph, Command, "p", args.count, counter,
                                               admin if local else None, "profile_engine"),
                       "langgraph": await measure(lg_graph, LCommand, "p", args.count, counter,
                                                  admin if local else None, "profile_langgraph")}
            if args.trace:
                for kind, value in (("run", run_input(0)), ("resume", Command(resume=ACCEPT))):
                    counter.trace = []
                    await graph.ainvoke(value, config_for("traced"), durability="sync")
                    print(f"\nengine, one {kind}: {len(counter.trace)} round trips")
                    for line in counter.trace:
                        print("  ", line)
                    counter.trace = None
            if args.cprofile:
                profile = cProfile.Profile()
                profile.enable()
                await measure(graph, Command, "cp", args.cprofile, counter)
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    print(f"\n{'per call':<28}{'engine run':>12}{'lg run':>10}{'engine resume':>15}{'lg resume':>11}")
    for figure in ("round trips", "statements", "wall ms", "waiting ms", "cpu ms", "server cpu ms"):
        print(f"{figure:<28}{results['engine']['run'][figure]:>12.2f}{results['langgraph']['run'][figure]:>10.2f}"
              f"{results['engine']['resume'][figure]:>15.2f}{results['langgraph']['resume'][figure]:>11.2f}")
    import os
    print(f"load average {os.getloadavg()[0]:.2f}; {args.count} runs and resumes per stack")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--sql", action="store_true", help="with --trace: each round trip's whole SQL")
    parser.add_argument("--cprofile", type=int, default=0)
    parser.add_argument("--url")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
