"""The inbox over an Agent Server: a big queue's first page, and a decision's round trip.

    python bench/remote.py                      # 10,000 threads on inbox serve, 200 on langgraph dev
    python bench/remote.py --threads 2000 --langgraph-threads 0 --json out.json

Set-up: `--threads` agent threads (tests/remote/remote_graphs.py `agent`: an Agent Inbox
HumanInterrupt review) are run until they pause, in this process, on a SQLite file; then a real
`inbox serve` (a subprocess on 127.0.0.1) serves that file. LangGraph's own server (`langgraph
dev`, in-memory) gets `--langgraph-threads` threads through its HTTP API (runs/wait), which is
the only way in; skipped when langgraph-cli[inmem] is not installed.

Measured (wall clock, `time.perf_counter()`), each `--repeat` times, median and max:
- list, first page: a fresh RemoteBackend asks /info, then lists the first FIRST_PAGE + 1
  pending requests (the screen's first read: a screenful plus one), as `inbox open --url` does.
- first page on screen: from building the app over a fresh RemoteBackend (connect included)
  under `run_test(size=(160, 48))` until the first frame composed while the table holds rows
  (also from the app's own first frame, its "Loading…" screen, to that frame: what
  listing remotely adds to Textual's start); then until the count is shown, and until the background pages (up to PRELOAD rows)
  are in.
- decision round trip: the row selected, `a` pressed (Pilot) until the status line reports the
  outcome ("the agent now asks: confirm_send"): the decision sent, the run continued on the
  server, the thread read back. The undo window (5 s by default, a deliberate wait before a
  decision is sent) is set to 0 here. Against LangGraph's server this includes waiting for the run
  and confirming from the history that ours consumed the interrupt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "remote")]


def seed_file(path: Path, threads: int) -> float:
    from engine.checkpoint.sqlite import SqliteSaver
    import remote_graphs

    began = time.perf_counter()
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = remote_graphs.agent
        graph.checkpointer = saver
        graph.name = "agent"  # the name `inbox serve --graph agent=...` serves it under
        for i in range(threads):
            graph.invoke({"email": f"bench {i}"}, {"configurable": {"thread_id": f"bench-{i:06d}"},
                                                   "metadata": {"graph_id": "agent"}})
    return time.perf_counter() - began


def seed_http(url: str, threads: int) -> float:
    from servers import seed

    began = time.perf_counter()
    for i in range(threads):
        seed(url, "agent", {"email": f"bench {i}"})
    return time.perf_counter() - began


def stats(values: list[float]) -> dict:
    return {"median_ms": round(statistics.median(values) * 1000, 1), "max_ms": round(max(values) * 1000, 1),
            "n": len(values)}


async def list_first_page(url: str) -> float:
    from inbox.backends.remote import RemoteBackend
    from inbox.screens.inbox import FIRST_PAGE

    began = time.perf_counter()
    backend = await RemoteBackend(url).connect()
    records = await backend.list_pending(limit=FIRST_PAGE + 1)
    took = time.perf_counter() - began
    assert len(records) > 0, len(records)
    await backend.aclose()
    return took


def make_app(backend):
    from datetime import datetime, timezone

    from inbox.app import InboxApp
    from inbox.config import InboxSettings
    from inbox.review import ReviewService

    now = datetime.now(timezone.utc)
    return InboxApp(ReviewService(backend, reviewer="bench"), settings=InboxSettings(reviewer="bench", undo_seconds=0),
                    source=backend.url, clock=lambda: now, live=True)


async def until(pilot, predicate, timeout: float = 60.0, spin: float = 0.002) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("bench condition not met")
        await pilot.pause(spin)


async def first_screen(url: str) -> dict:
    from inbox.backends.remote import RemoteBackend
    from inbox.widgets.item_table import ItemTable

    began = time.perf_counter()
    backend = await RemoteBackend(url).connect()
    app = make_app(backend)
    frames: list[tuple[float, bool]] = []  # (when, whether the table held rows as it was composed)
    display = app._display

    def counting(screen, renderable):
        if renderable is not None:
            tables = screen.query(ItemTable)
            frames.append((time.perf_counter(), bool(tables) and tables.first().row_count > 0))
        return display(screen, renderable)
    app._display = counting
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(ItemTable)
        # Watched at the frames themselves: Pilot's pause waits for every widget to go idle,
        # so a poll would see the rows only after the frame that first showed them.
        await until(pilot, lambda: any(rows for _when, rows in frames), spin=0.001)
        painted = next(when for when, rows in frames if rows)
        await until(pilot, lambda: bool(app.inbox.counts), spin=0.001)
        counted = time.perf_counter()
        await until(pilot, lambda: app.inbox._loading_rest is None and (table.complete or table.row_count > 100),
                    timeout=300, spin=0.01)
        preloaded = time.perf_counter()
        loaded = table.row_count
    # The app's own first frame (its "Loading…" screen) comes from Textual's start, whatever
    # the source; from there to the rows is what listing remotely costs on screen.
    return {"painted": painted - began, "after_first_frame": painted - frames[0][0], "counted": counted - began,
            "preloaded": preloaded - began, "rows": loaded}


async def round_trips(url: str, count: int) -> list[float]:
    from inbox.backends.remote import RemoteBackend

    backend = await RemoteBackend(url).connect()
    app = make_app(backend)
    times = []
    async with app.run_test(size=(160, 48)) as pilot:
        from inbox.widgets.item_table import ItemTable

        table = app.query_one(ItemTable)
        await until(pilot, lambda: table.row_count > 0)
        def on_a_first_review() -> bool:
            current = app.inbox.current
            return current is not None and current.action == "send_email" and current.record.status == "pending"

        for _ in range(count):
            await until(pilot, lambda: app.inbox.current is not None)
            for _ in range(500):  # past requests an earlier bench run on the same --db left (confirm_send)
                if on_a_first_review():
                    break
                await pilot.press("j")
            await until(pilot, on_a_first_review)
            status = app.inbox.query_one("#statusline")
            began = time.perf_counter()
            await pilot.press("a")
            await until(pilot, lambda: "agent now asks" in str(status.content))
            times.append(time.perf_counter() - began)
            app.inbox.set_status("")
            await pilot.press("j")  # the next pending row (the decided one stays, marked)
            while app.inbox.current is not None and app.inbox.current.record.status != "pending":
                await pilot.press("j")
    return times


def measure(url: str, repeat: int, decisions: int) -> dict:

    listing = [asyncio.run(list_first_page(url)) for _ in range(repeat)]
    screens = [asyncio.run(first_screen(url)) for _ in range(repeat)]
    out = {"list_first_page": stats(listing), "first_page_on_screen": stats([s["painted"] for s in screens]),
           "first_page_after_the_apps_first_frame": stats([s["after_first_frame"] for s in screens]),
           "count_shown": stats([s["counted"] for s in screens]),
           "background_pages_in": stats([s["preloaded"] for s in screens]), "rows_loaded": screens[-1]["rows"],
           "load_average": os.getloadavg()}
    if decisions:
        out["decision_round_trip"] = stats(asyncio.run(round_trips(url, decisions)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--langgraph-threads", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--decisions", type=int, default=10)
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--db", help="serve this SQLite file (seeded with --threads first when it does not exist; kept)")
    args = parser.parse_args()
    from servers import InboxServe, LangGraphDev, langgraph_cli

    out: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                             "platform": platform.platform()}}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "bench.sqlite"
        if not db.exists():
            print(f"seeding {args.threads} paused threads …", file=sys.stderr)
            out["seed_seconds"] = round(seed_file(db, args.threads), 1)
        server = InboxServe(db).start()
        try:
            out["inbox_serve"] = {"threads": args.threads, **measure(server.url, args.repeat, args.decisions)}
        finally:
            server.stop()
        print(json.dumps(out["inbox_serve"]), file=sys.stderr)
        if args.langgraph_threads and langgraph_cli() is not None:
            workdir = Path(tmp) / "langgraph"
            workdir.mkdir()
            dev = LangGraphDev(workdir).start()
            try:
                print(f"seeding {args.langgraph_threads} threads on langgraph dev …", file=sys.stderr)
                out["langgraph_seed_seconds"] = round(seed_http(dev.url, args.langgraph_threads), 1)
                out["langgraph_dev"] = {"threads": args.langgraph_threads,
                                        **measure(dev.url, args.repeat, args.decisions)}
            finally:
                dev.stop()
        elif args.langgraph_threads:
            out["langgraph_dev"] = "skipped: langgraph-cli[inmem] is not installed (pip install -e '.[bench]')"
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
