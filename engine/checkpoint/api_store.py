"""The Agent Server API's records, as a store keeps them: threads created over the API (their
metadata and creation time) and runs (status, kwargs, result, which server process runs them),
plus the batch read a thread search needs. `inbox serve` (engine/server/) reaches its data only
through these methods, so it serves any store that has them: SqliteSaver and PostgresSaver
(each in a module of its own, `api_records.py`), checked by tests/engine/test_store_conformance.py.

A thread's status is the engine's (its `threads` row, kept in each step's transaction with the
pending-interrupt index), as the API names it: "done" is "idle", a thread that never ran is
"idle". A thread that only ran (was not created over the API) has its run metadata plus the
graph it ran as `graph_id`. Times are ISO-8601 UTC text in the records' fixed-width form.

Runs carry `owner`, the server process that runs them ("host:pid:random", as lease owners),
and `heartbeat_at`, which that process refreshes while it is alive: a run whose owner stopped
is taken over by another replica with one conditional write (`aclaim_api_run`), so it is run
by one process, never two.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

from engine.checkpoint.base import CheckpointTuple

SortBy = Literal["thread_id", "created_at", "updated_at", "status"]


class ApiThread(TypedDict):
    thread_id: str
    created_at: str
    updated_at: str
    status: str  # idle | busy | interrupted | error
    metadata: dict


class ApiRun(TypedDict, total=False):
    run_id: str
    thread_id: str
    assistant_id: str
    graph_id: str
    status: str  # pending | running | success | error | interrupted
    created_at: str
    updated_at: str
    metadata: dict
    kwargs: dict
    multitask_strategy: str
    result: Any  # the run's answer (final values + __interrupt__, or {"__error__": ...}); None before
    owner: str | None  # the server process that runs it
    heartbeat_at: str | None  # when that process last said it is alive


def contains(haystack: Any, needle: Any) -> bool:
    """JSON containment, as Postgres' `@>` (what the real server's metadata filter means)."""
    if isinstance(needle, dict):
        return isinstance(haystack, dict) and all(k in haystack and contains(haystack[k], v) for k, v in needle.items())
    if isinstance(needle, list):
        return isinstance(haystack, list) and all(any(contains(h, n) for h in haystack) for n in needle)
    return haystack == needle


def check_search(status: str | None, sort_by: str, sort_order: str, limit: int, offset: int) -> None:
    """ValueError naming the bad argument of a thread search (the stores share the check)."""
    if status not in (None, "idle", "busy", "interrupted", "error"):
        raise ValueError(f"status {status!r} is not a thread status; use idle, busy, interrupted or error.")
    if sort_by not in ("thread_id", "created_at", "updated_at", "status"):
        raise ValueError(f"sort_by {sort_by!r}: sort by thread_id, created_at, updated_at or status.")
    if sort_order not in ("asc", "desc"):
        raise ValueError(f"sort_order {sort_order!r}: use asc or desc.")
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must not be negative (got limit={limit}, offset={offset}).")


@runtime_checkable
class ApiStore(Protocol):
    """What `inbox serve` keeps in the store besides the engine's own tables."""

    # --- threads ------------------------------------------------------------------------------
    async def acreate_api_thread(self, thread_id: str, metadata: dict) -> bool:
        """Record a new thread; False (and nothing written) when a thread with this id exists,
        created over the API or by a run."""
        ...

    async def amerge_api_thread_metadata(self, thread_id: str, metadata: dict) -> None:
        """Merge `metadata` into the thread's (recording the thread if only the engine knew it)."""
        ...

    async def aget_api_thread(self, thread_id: str) -> ApiThread | None:
        """The thread, created over the API or by a run, or None."""
        ...

    async def asearch_api_threads(self, *, status: str | None = None, metadata: dict | None = None,
                                  ids: list[str] | None = None, limit: int = 10, offset: int = 0,
                                  sort_by: SortBy = "updated_at",
                                  sort_order: Literal["asc", "desc"] = "desc") -> tuple[list[ApiThread], int]:
        """(one page of threads, how many match in all). `metadata` matches by JSON containment;
        a status other than idle walks the engine's (status, updated_at) index, never checkpoints.
        Ties are broken by insertion order. ValueError for a bad argument (check_search)."""
        ...

    async def alatest_checkpoints(self, thread_ids: list[str]) -> dict[str, CheckpointTuple]:
        """The latest root checkpoint of each thread that has one, with its pending writes (the
        interrupts its paused tasks raised among them), in one round trip: what a page of a
        thread search shows (values, pending interrupts, errors) without a read per thread."""
        ...

    # --- runs ---------------------------------------------------------------------------------
    async def aput_api_run(self, run: ApiRun) -> None:
        """Record a run (replacing the record with its run_id)."""
        ...

    async def aset_api_run_status(self, run_id: str, status: str, result: Any = None) -> None:
        """The run's new status (and answer); updated_at becomes now."""
        ...

    async def aget_api_run(self, thread_id: str, run_id: str) -> ApiRun | None:
        ...

    async def alist_api_runs(self, thread_id: str, limit: int = 10, offset: int = 0,
                             status: str | None = None) -> list[ApiRun]:
        """The thread's runs, newest first."""
        ...

    async def alist_unfinished_api_runs(self, thread_id: str | None = None) -> list[ApiRun]:
        """Runs still pending or running (of one thread, or all), oldest first."""
        ...

    async def aheartbeat_api_runs(self, owner: str) -> None:
        """`owner` is alive: heartbeat_at of its unfinished runs becomes now."""
        ...

    async def aclaim_api_run(self, run_id: str, owner: str, *, previous: str | None) -> bool:
        """Take over a run whose owner stopped: True when its owner was still `previous` (and is
        now `owner`, heartbeat now), False when another process took it first."""
        ...


__all__ = ["ApiStore", "ApiThread", "ApiRun", "SortBy", "contains", "check_search"]
