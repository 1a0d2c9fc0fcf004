"""Fill a saver with paused demo threads: deterministic (fixed seed, injectable clock), so the
demo, the snapshot tests and the benchmarks all see the same inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from inbox.demo.scenarios import SCENARIOS, Scenario

DEFAULT_START = datetime(2025, 3, 10, 8, 30, tzinfo=timezone.utc)
THREAD_SPACING = timedelta(seconds=37)

Clock = Callable[[], datetime]


class DemoClock:
    """A clock standing still at `start + spacing × thread number`: every thread gets its own
    time (so ages in the inbox differ) and reruns produce the same timestamps and ids."""

    def __init__(self, start: datetime = DEFAULT_START, spacing: timedelta = THREAD_SPACING):
        if start.tzinfo is None:
            raise ValueError("DemoClock needs a timezone-aware start, e.g. datetime(..., tzinfo=timezone.utc)")
        self.start = start
        self.spacing = spacing
        self.thread = 0

    def __call__(self) -> datetime:
        return self.start + self.spacing * self.thread


@dataclass(frozen=True)
class PlannedThread:
    thread_id: str
    scenario: Scenario
    index: int        # the thread's number within its scenario, from 0
    position: int     # the thread's number in the whole seed, from 0
    input: dict
    config: dict


def plan(threads: int, seed: int = 0) -> list[PlannedThread]:
    """What `seed` will start: scenarios round-robin, thread ids like "travel-agent-0001"."""
    if threads < 0:
        raise ValueError(f"threads must be 0 or more, got {threads}")
    order = list(SCENARIOS.values())
    planned = []
    for position in range(threads):
        scenario = order[position % len(order)]
        index = position // len(order)
        thread_id = f"{scenario.name}-{index + 1:04d}"
        config = {"configurable": {"thread_id": thread_id},
                  "metadata": {"scenario": scenario.name, "requested_by": scenario.requested_by(index, seed)}}
        planned.append(PlannedThread(thread_id, scenario, index, position,
                                     scenario.initial_input(index, seed), config))
    return planned


def _clock_for(clock: Clock | None, default: DemoClock, position: int) -> Clock:
    if clock is not None:
        return clock
    default.thread = position
    return default


def _check_paused(thread_id: str, out: dict) -> None:
    if not out.get("__interrupt__"):
        raise RuntimeError(f"demo thread {thread_id} finished without pausing for a review; "
                           "its scenario's graph should interrupt on the first run")


def seed_into(saver: Any, threads: int = 20, clock: Clock | None = None, seed: int = 0,
              start: datetime | None = None) -> list[str]:
    """Start `threads` demo threads on `saver` (any checkpointer) and run each until it pauses.

    Threads that already exist on the saver are left as they are, so seeding twice is harmless.
    Returns the thread ids in seeding order."""
    default = DemoClock(start or DEFAULT_START)
    graphs: dict[str, Any] = {}
    for thread in plan(threads, seed):
        graph = graphs.get(thread.scenario.name)
        if graph is None:
            graph = graphs[thread.scenario.name] = thread.scenario.build(saver)
        if graph.get_state(thread.config).created_at is not None:
            continue
        graph.clock = _clock_for(clock, default, thread.position)
        _check_paused(thread.thread_id, graph.invoke(thread.input, thread.config))
    return [thread.thread_id for thread in plan(threads, seed)]


async def aseed_into(saver: Any, threads: int = 20, clock: Clock | None = None, seed: int = 0,
                     start: datetime | None = None) -> list[str]:
    """`seed_into` for async code (a Textual worker, an async test)."""
    default = DemoClock(start or DEFAULT_START)
    graphs: dict[str, Any] = {}
    planned = plan(threads, seed)
    for thread in planned:
        graph = graphs.get(thread.scenario.name)
        if graph is None:
            graph = graphs[thread.scenario.name] = thread.scenario.build(saver)
        if (await graph.aget_state(thread.config)).created_at is not None:
            continue
        graph.clock = _clock_for(clock, default, thread.position)
        _check_paused(thread.thread_id, await graph.ainvoke(thread.input, thread.config))
    return [thread.thread_id for thread in planned]


def seed(db_path: str, threads: int = 20, *, clock: Clock | None = None, seed: int = 0,
         start: datetime | None = None) -> list[str]:
    """Fill the database at `db_path` (a SQLite file, created if missing, or a Postgres URL) with
    `threads` paused demo threads spread across the scenarios. Returns their thread ids."""
    from engine.checkpoint.stores import store_for

    with store_for(str(db_path)) as saver:
        return seed_into(saver, threads, clock, seed, start)
