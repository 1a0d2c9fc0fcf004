"""How fast the inbox is with a big queue, measured headless with `App.run_test()` and Pilot.

    python bench/tui.py                 # 10,000 pending items (about a minute)
    python bench/tui.py --startup       # cold start in a terminal at 10,000; 100,000 pending: first screen, memory
    python bench/tui.py --items 2000 --keys 20 --json out.json

Set-up: `--real` demo threads (default 90: ten of each of the nine scenarios) are seeded by
really running the demo fleet until each pauses; the rest of the items are copies of their
interrupts (same payloads, new ids and thread ids) written through `saver.put_events()` in one
transaction. The app gets the demo graphs and `live=True`, as `inbox demo` runs it.

Measured (wall clock, `time.perf_counter()`):

- first screen: from opening the database (the saver), building the app and starting it under
  `run_test(size=(160, 48))` until the table holds every pending item ("rows loaded"), then
  until the next frame is composed ("painted": the first `App._display` call with an update
  after that; headless Textual composes the frame but writes it nowhere). Importing the app
  is timed separately in a fresh interpreter. Repeated `--repeat` times (fresh app each time).
- a keypress: `j` moves the cursor down. Time from pressing (Pilot) until the table's cursor
  row changed ("handled"), until the next frame ("painted"), and until Pilot's press returns
  with the app idle, the detail pane updated ("settled").
- a filter keystroke: `/`, then the letters of a word one at a time: time until the table's
  rows are replaced by the filtered list ("handled"), the next frame, and idle. Then `esc`
  (clear: the whole list loads again).
- a burst: another process writes 1,000 new interrupts (1,000 separate transactions, as 1,000
  agents would; then again as one transaction). Time from its last commit until all of them
  are rows of the table, and until the next frame. Also how many live refreshes ran.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SIZE = (160, 48)
FILTER_WORD = "wire"


# --- the database -------------------------------------------------------------------------------
def copies(records: list, count: int, start: int, prefix: str, at: datetime) -> list:
    """RunStarted / InterruptRaised / RunFinished for `count` new threads, round-robin over the
    payloads of `records` (real pending interrupts)."""
    from engine.events import InterruptRaised, RunFinished, RunStarted

    events: list = []
    for i in range(start, start + count):
        source = records[i % len(records)]
        when = (at + timedelta(milliseconds=i)).isoformat()
        base = {"at": when, "thread_id": f"{prefix}-{i:06d}", "graph": source.graph}
        events += [RunStarted(**base, source="input"),
                   InterruptRaised(**base, interrupt_id=f"{prefix}{i:028x}"[-32:], ns=source.ns, node=source.node,
                                   value=source.payload),
                   RunFinished(**base, outcome="interrupted")]
    return events


def prepare(path: str, items: int, real: int) -> dict:
    from engine.checkpoint.sqlite import SqliteSaver
    from inbox.demo import seed

    began = time.perf_counter()
    real = min(real, items)
    seed(path, threads=real)
    seeded = time.perf_counter() - began
    with SqliteSaver.from_conn_string(path) as saver:
        records = saver.list_pending()
        assert len(records) == real, (len(records), real)
        began = time.perf_counter()
        # Older than the seeded ones' clock would not matter: the list is oldest first either way.
        saver.put_events(copies(records, items - real, 0, "copy", datetime(2025, 3, 9, tzinfo=timezone.utc)))
        filled = time.perf_counter() - began
        assert saver.count_by_status()["pending"] == items
    return {"real": real, "seed_seconds": seeded, "copies": items - real, "copy_seconds": filled}


def import_seconds() -> float:
    code = ("import time; t = time.perf_counter(); import inbox.app, inbox.review, inbox.demo, "
            "engine.checkpoint.sqlite; print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return float(out.stdout.strip())


# --- the burst writer (another process) -------------------------------------------------------------
def burst_writer(path: str, count: int, one_transaction: bool, start: int) -> None:
    from engine.checkpoint.sqlite import SqliteSaver

    with SqliteSaver.from_conn_string(path) as saver:
        records = saver.list_pending(limit=90)
        events = copies(records, count, start, "burst", datetime.now(timezone.utc))
        print("ready", flush=True)
        sys.stdin.readline()
        first = time.time()
        if one_transaction:
            saver.put_events(events)
        else:
            for k in range(0, len(events), 3):
                saver.put_events(events[k:k + 3])
        last = time.time()
    print(json.dumps({"first": first, "last": last}), flush=True)


# --- measuring the app ------------------------------------------------------------------------------
class Frames:
    """Timestamps of the frames the app composes (headless: composed, not written anywhere)."""

    def __init__(self, app) -> None:
        self.times: list[float] = []
        original = app._display

        def display(screen, renderable):
            if renderable is not None:
                self.times.append(time.perf_counter())
            return original(screen, renderable)

        app._display = display

    async def after(self, moment: float, timeout: float = 10.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.times and self.times[-1] > moment:
                return next(stamp for stamp in self.times if stamp > moment)
            await asyncio.sleep(0.0005)
        raise TimeoutError("no frame was composed")


async def until(predicate, timeout: float = 30.0, what: str = "", spin: float = 0.0) -> float:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(spin)
    return time.perf_counter()


def make_app(saver, live: bool = True):
    from inbox.app import InboxApp
    from inbox.config import InboxSettings
    from inbox.demo import GRAPHS
    from inbox.review import ReviewService

    graphs = {name: build(saver) for name, build in GRAPHS.items()}
    service = ReviewService(saver, graphs, reviewer="bench")
    return InboxApp(service, settings=InboxSettings(reviewer="bench", toast_seconds=3), source=saver.path, live=live)


def stats(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return {"n": len(values), "p50": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"


def listed(app, table, items: int) -> bool:
    """The first page of rows is on screen and the Pending count shows every item."""
    from inbox.screens.inbox import FIRST_PAGE

    return table.row_count >= min(items, FIRST_PAGE) and app.inbox.counts.get("pending") == items


async def first_screen(path: str, items: int) -> dict:
    from engine.checkpoint.sqlite import SqliteSaver
    from inbox.widgets.item_table import ItemTable

    began = time.perf_counter()
    saver = await SqliteSaver.aopen(path)
    app = make_app(saver)
    frames = Frames(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            started = time.perf_counter()
            table = app.query_one(ItemTable)
            rows = await until(lambda: listed(app, table, items), what="the rows", spin=0.001)
            painted = await frames.after(rows)
            await pilot.pause()
            return {"run_test_started": started - began, "rows_loaded": rows - began, "painted": painted - began}
    finally:
        await saver.aclose()


async def interact(path: str, items: int, keys: int, burst: int) -> dict:
    from engine.checkpoint.sqlite import SqliteSaver
    from inbox.widgets.item_table import ItemTable

    saver = await SqliteSaver.aopen(path)
    app = make_app(saver)
    frames = Frames(app)
    result: dict = {}
    try:
        async with app.run_test(size=SIZE) as pilot:
            table = app.query_one(ItemTable)
            await until(lambda: listed(app, table, items), what="the rows", spin=0.001)
            await pilot.pause()
            await asyncio.sleep(0.3)  # let the first detail pane and messages load
            await pilot.pause()

            async def timed_press(key: str, done: Callable[[], bool], what: str) -> None:
                """Press `key`; note when `done()` holds, the next frame after it, and the press's end."""
                t0 = time.perf_counter()
                press = asyncio.ensure_future(pilot.press(key))
                t1 = await until(done, what=what)
                t2 = await frames.after(t1)
                await press
                handled.append(t1 - t0)
                painted.append(t2 - t0)
                settled.append(time.perf_counter() - t0)

            # j: the cursor moves down one row
            handled, painted, settled = [], [], []
            for _ in range(keys):
                before = table.cursor_row
                await timed_press("j", lambda: table.cursor_row != before, "the cursor to move")
            result["j"] = {"handled": stats(handled), "painted": stats(painted), "settled": stats(settled)}

            # /, then a word typed one letter at a time
            t0 = time.perf_counter()
            await pilot.press("slash")
            result["open_filter"] = time.perf_counter() - t0
            handled, painted, settled, counts = [], [], [], []
            for letter in FILTER_WORD:
                before = table.items
                await timed_press(letter, lambda: table.items is not before, "the filtered rows")
                counts.append(table.row_count)
            result["filter"] = {"word": FILTER_WORD, "rows_after_each_key": counts, "handled": stats(handled),
                                "painted": stats(painted), "settled": stats(settled),
                                "each_handled": handled}
            before = table.items
            t0 = time.perf_counter()
            press = asyncio.ensure_future(pilot.press("escape"))
            t1 = await until(lambda: table.items is not before and listed(app, table, items), what="the full list")
            t2 = await frames.after(t1)
            await press
            result["clear_filter"] = {"handled": t1 - t0, "painted": t2 - t0, "rows": table.row_count}
            await pilot.pause()

            # bursts from another process
            result["bursts"] = []
            start = 0
            for one_transaction in (False, True):
                result["bursts"].append(await measure_burst(app, pilot, frames, table, path, burst,
                                                            one_transaction, start))
                start += burst
    finally:
        await saver.aclose()
    return result


async def measure_burst(app, pilot, frames: Frames, table, path: str, count: int, one_transaction: bool,
                        start: int) -> dict:
    refreshes = 0
    service = app.service
    original = service.pending

    async def counting(*args, **kwargs):
        nonlocal refreshes
        refreshes += 1
        return await original(*args, **kwargs)

    service.pending = counting
    expected = app.inbox.counts.get("pending", 0) + count
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--_burst", path, "--_count", str(count),
                             "--_start", str(start)] + (["--_one"] if one_transaction else []),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        assert line.strip() == "ready", line
        proc.stdin.write("go\n")
        proc.stdin.flush()
        # The list pages rows in as the cursor nears its end; the burst is "on screen" when the
        # Pending count in the tab shows it.
        seen_perf = await until(lambda: app.inbox.counts.get("pending", 0) >= expected, timeout=120,
                                what="the burst's count", spin=0.001)
        seen_wall = time.time() - (time.perf_counter() - seen_perf)
        painted_perf = await frames.after(seen_perf)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        service.pending = original
    written = json.loads(out.strip().splitlines()[-1])
    await pilot.pause()
    return {"count": count, "one_transaction": one_transaction, "write_seconds": written["last"] - written["first"],
            "rows_after_last_write": seen_wall - written["last"],
            "painted_after_last_write": seen_wall - written["last"] + (painted_perf - seen_perf),
            "refreshes": refreshes, "rows": table.row_count}


# --- startup: a cold start in a real terminal, and 100,000 pending (`--startup`) ----------------------
# Kept apart from the key and filter measurements above: `python bench/tui.py --startup` runs
# only these. Figures: a fresh interpreter running `inbox open --db FILE` in a pseudo-terminal
# of 160x45 (what an operator's terminal gets, escape sequences and all), from starting the
# process to the first output (Textual took the terminal) and to the first painted frame that
# holds the list's first row (its thread id is in the bytes written); then quit with `q`.
# And the first screen over 100,000 pending requests with the peak memory (RSS) of a fresh
# process that opens the app, waits for the background pages, and moves with `j` and `G`.

def oldest_thread(path: str) -> str:
    from engine.checkpoint.sqlite import SqliteSaver

    with SqliteSaver.from_conn_string(path) as saver:
        return saver.list_pending(limit=1)[0].thread_id


def cold_start(path: str, marker: str, size: tuple[int, int] = (160, 45), timeout: float = 60.0) -> dict:
    """`inbox open --db PATH` in a fresh interpreter on a pseudo-terminal: seconds from starting
    it to its first output, and to the first output that shows `marker` (the first row)."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import threading

    command = os.path.join(os.path.dirname(sys.executable), "inbox")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    env = dict(os.environ, TERM="xterm-256color", INBOX_CONFIG=os.devnull, INBOX_REVIEWER="bench")
    # As installed (pip compiles every module): bytecode is cached, not compiled at each start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    began = time.perf_counter()
    proc = subprocess.Popen([command, "open", "--db", path], stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True, cwd=ROOT)
    os.close(slave)
    seen, first, shown = b"", None, None
    try:
        while shown is None:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                raise TimeoutError(f"no first row within {timeout} s; the screen so far ends: {seen[-300:]!r}")
            chunk = os.read(master, 1 << 16)
            first = first or time.perf_counter()
            seen = seen[-4096:] + chunk  # a marker may straddle two reads
            if marker.encode() in seen:
                shown = time.perf_counter()
                cpu = process_cpu_seconds(proc.pid)

        def drain() -> None:  # Textual blocks when nobody reads its terminal
            try:
                while os.read(master, 1 << 16):
                    pass
            except OSError:
                pass
        threading.Thread(target=drain, daemon=True).start()
        time.sleep(0.3)
        os.write(master, b"q")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return {"first_output": first - began, "first_row": shown - began, "cpu_at_first_row": cpu}


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (10 ms ticks): unlike wall time, it does not
    grow when other processes share the cores."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def big_screen(path: str, items: int, keys: int) -> dict:
    """In this (fresh) process: the first screen over `items` pending requests, the background
    pages, `j` presses and `G`; then the peak RSS."""
    from engine.checkpoint.sqlite import SqliteSaver
    import inbox.app  # noqa: F401 - imports are the cold start's figure; this one starts at opening the file
    import inbox.demo  # noqa: F401
    from inbox.screens.inbox import FIRST_PAGE
    from inbox.widgets.item_table import ItemTable

    began = time.perf_counter()
    saver = await SqliteSaver.aopen(path)
    app = make_app(saver)
    frames = Frames(app)
    out: dict = {"items": items}
    try:
        async with app.run_test(size=SIZE) as pilot:
            table = app.query_one(ItemTable)
            rows = await until(lambda: table.row_count >= min(items, FIRST_PAGE), what="the first page", spin=0.001)
            out["first_row_painted"] = await frames.after(rows) - began
            await until(lambda: app.inbox.counts.get("pending") == items, what="the count", spin=0.001)
            out["count_shown"] = time.perf_counter() - began
            await until(lambda: app.inbox._loading_rest is None and table.row_count > FIRST_PAGE, timeout=300,
                        what="the background pages", spin=0.01)
            out["preloaded"] = time.perf_counter() - began
            out["rows_loaded"] = table.row_count
            painted = []
            for _ in range(keys):
                before = table.cursor_row
                t0 = time.perf_counter()
                press = asyncio.ensure_future(pilot.press("j"))
                moved = await until(lambda: table.cursor_row != before, what="the cursor")
                painted.append(await frames.after(moved) - t0)
                await press
            out["j_painted"] = stats(painted)
            t0 = time.perf_counter()
            rows_before = table.row_count
            await pilot.press("G")
            await until(lambda: table.row_count > rows_before, timeout=60, what="the next page")
            out["G_next_page"] = time.perf_counter() - t0
    finally:
        await saver.aclose()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: on Linux a child started
    by a big parent reports the parent's peak from before its exec."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def startup_main(args) -> dict:
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-startup-")
    os.makedirs(workdir, exist_ok=True)
    result: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    lines = []
    try:
        for items in (args.items, args.big):
            path = os.path.join(workdir, f"inbox-{items}.sqlite")
            if not os.path.exists(path):
                print(f"preparing {items} pending items…", file=sys.stderr, flush=True)
                prepare(path, items, args.real)
            marker = oldest_thread(path)
            cold_start(path, marker)  # once untimed: bytecode cached, the file's check recorded
            runs = [cold_start(path, marker) for _ in range(args.repeat)]
            first_row = statistics.median(r["first_row"] for r in runs)
            result[f"cold_start_{items}"] = runs
            target = "  [target ≤ 1.2 s: " + ("met" if first_row <= 1.2 else "NOT met") + "]" if items == args.items else ""
            lines.append(f"cold start, `inbox open` over {items} pending, {args.repeat} runs: first row painted "
                         f"{', '.join(ms(r['first_row']) for r in runs)} (median {ms(first_row)}; its CPU time "
                         f"{ms(statistics.median(r['cpu_at_first_row'] for r in runs))}); first output median "
                         f"{ms(statistics.median(r['first_output'] for r in runs))}{target}")
        path = os.path.join(workdir, f"inbox-{args.big}.sqlite")
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--_big", path, "--items", str(args.big),
                              "--keys", str(args.keys)], capture_output=True, text=True, cwd=ROOT, check=True)
        big = json.loads(out.stdout.strip().splitlines()[-1])
        result["big"] = big
        lines.append(f"{args.big} pending, in a fresh process: first row painted {ms(big['first_row_painted'])} "
                     f"[target ≤ 1.5 s: {'met' if big['first_row_painted'] <= 1.5 else 'NOT met'}], count shown "
                     f"{ms(big['count_shown'])}, background pages done at {ms(big['preloaded'])} "
                     f"({big['rows_loaded']} rows); j painted p50 {ms(big['j_painted']['p50'])} p95 "
                     f"{ms(big['j_painted']['p95'])}; G to the next page {ms(big['G_next_page'])}; peak RSS "
                     f"{big['peak_rss_mb']:.0f} MB [target ≤ 400 MB: {'met' if big['peak_rss_mb'] <= 400 else 'NOT met'}]")
    finally:
        if not args.workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    lines.append(f"machine: {machine()}")
    print("\n".join(lines))
    return result


def machine() -> str:
    model = "?"
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
            f"load average {load}")


async def main(args) -> dict:
    import textual

    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-tui-")
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "inbox.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    try:
        print(f"preparing {args.items} pending items…", file=sys.stderr, flush=True)
        prep = await asyncio.to_thread(prepare, path, args.items, args.real)
        imports = await asyncio.to_thread(import_seconds)
        screens = []
        for k in range(args.repeat):
            screens.append(await first_screen(path, args.items))
            print(f"  first screen {k + 1}: painted after {ms(screens[-1]['painted'])}", file=sys.stderr, flush=True)
        print("keys, filter, bursts…", file=sys.stderr, flush=True)
        inter = await interact(path, args.items, args.keys, args.burst)
    finally:
        if not args.workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    painted = statistics.median(s["painted"] for s in screens)
    rows = statistics.median(s["rows_loaded"] for s in screens)
    j = inter["j"]
    f = inter["filter"]
    lines = [
        f"inbox with {args.items} pending items ({prep['real']} seeded by real demo runs, {prep['copies']} copies of "
        f"their interrupts via put_events); Textual {textual.__version__}, headless {SIZE[0]}x{SIZE[1]}",
        "",
        f"first screen (median of {args.repeat}): rows loaded {ms(rows)}, painted {ms(painted)}   "
        f"[target < 1.5 s: {'met' if painted < 1.5 else 'NOT met'}]",
        f"  each run, painted: {', '.join(ms(s['painted']) for s in screens)}; "
        f"+ importing the app in a fresh interpreter: {ms(imports)}",
        f"key j ({j['handled']['n']} presses): cursor moved p50 {ms(j['handled']['p50'])} p95 {ms(j['handled']['p95'])}; "
        f"painted p50 {ms(j['painted']['p50'])} p95 {ms(j['painted']['p95'])}; "
        f"settled (detail pane, idle) p50 {ms(j['settled']['p50'])} p95 {ms(j['settled']['p95'])}   "
        f"[target < 50 ms: {'met' if j['painted']['p95'] < 0.05 else 'NOT met'} at p95 painted]",
        f"filter keystroke ('{f['word']}', rows after each key {f['rows_after_each_key']}): "
        f"rows replaced p50 {ms(f['handled']['p50'])} max {ms(f['handled']['max'])}; painted p50 "
        f"{ms(f['painted']['p50'])} max {ms(f['painted']['max'])}   "
        f"[target < 50 ms: {'met' if f['painted']['max'] < 0.05 else 'NOT met'}]",
        f"  each key, rows replaced: {', '.join(ms(x) for x in f['each_handled'])}; "
        f"esc (clear, {inter['clear_filter']['rows']} rows back): {ms(inter['clear_filter']['painted'])} painted",
    ]
    for b in inter["bursts"]:
        how = "one transaction" if b["one_transaction"] else f"{b['count']} transactions"
        lines.append(
            f"burst of {b['count']} from another process ({how}, written in {ms(b['write_seconds'])}): all rows on "
            f"screen {ms(b['rows_after_last_write'])} after the last commit, painted "
            f"{ms(b['painted_after_last_write'])}; {b['refreshes']} live refreshes   "
            f"[target < 500 ms: {'met' if b['painted_after_last_write'] < 0.5 else 'NOT met'}]")
    lines += ["", f"machine: {machine()}",
              f"date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}; "
              f"set-up: seeding {ms(prep['seed_seconds'])}, copies {ms(prep['copy_seconds'])}"]
    print("\n".join(lines))
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
            "items": args.items, "prepare": prep, "imports": imports, "first_screens": screens, **inter}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10000, help="pending items (default 10000)")
    parser.add_argument("--real", type=int, default=90, help="of which seeded by real demo runs (default 90)")
    parser.add_argument("--keys", type=int, default=40, help="j presses to time (default 40)")
    parser.add_argument("--burst", type=int, default=1000, help="interrupts per burst (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="first-screen measurements (default 3)")
    parser.add_argument("--workdir", help="where to put the database (kept)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", help="also write the results as JSON here")
    parser.add_argument("--startup", action="store_true",
                        help="only the startup figures: cold start in a pseudo-terminal at --items, and --big pending")
    parser.add_argument("--big", type=int, default=100_000, help="pending items for the big first screen (default 100000)")
    parser.add_argument("--_big", help=argparse.SUPPRESS)
    parser.add_argument("--_burst", help=argparse.SUPPRESS)
    parser.add_argument("--_count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--_start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--_one", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = parse_args()
    if options._burst:
        burst_writer(options._burst, options._count, options._one, options._start)
    elif options._big:
        print(json.dumps(asyncio.run(big_screen(options._big, options.items, options.keys))))
    elif options.startup:
        summary = startup_main(options)
        if options.json:
            with open(options.json, "w") as out:
                json.dump(summary, out, indent=2, default=str)
    else:
        summary = asyncio.run(main(options))
        if options.json:
            with open(options.json, "w") as out:
                json.dump(summary, out, indent=2, default=str)
