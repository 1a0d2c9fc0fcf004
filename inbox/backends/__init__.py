"""Where the inbox's data lives: the backend interface `ReviewService` (inbox/review.py) is
written against.

It is about what an inbox needs, not about how a store works: list what is pending, count,
look one request or thread up, claim a decision (exactly once) and apply it, take over what
nobody runs (recover), apply deadlines (expire), and follow the store's events. `LocalBackend`
(backends/local.py) is a store opened in this process plus the graphs that continue its runs;
`RemoteBackend` (backends/remote.py) is an Agent Server over HTTP and implements the same methods.

Records are the store's record types (InterruptRecord, ThreadRecord); `Applied` is what
applying a decision did to the run. Only review.py and the backends import the engine.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, AsyncIterator, Mapping, Protocol, runtime_checkable

@runtime_checkable
class Backend(Protocol):
    kind: str  # "local", later "remote"

    @property
    def graphs(self) -> Mapping[str, Any]:
        """The graphs this process can continue runs with (by name); may be empty."""

    # --- reading
    async def list_pending(self, *, text: str | None = None, limit: int | None = None, offset: int = 0,
                           graph: str | None = None, thread_id: str | None = None,
                           action: str | None = None) -> list[Any]: ...
    async def decisions(self, *, thread_id: str | None = None, limit: int | None = None) -> list[Any]: ...
    async def failed_threads(self) -> list[Any]: ...
    async def count_by_status(self) -> dict[str, int]: ...
    async def interrupt(self, interrupt_id: str) -> Any | None: ...
    async def put_rule(self, rule: dict) -> dict: ...
    async def rules(self, include_revoked: bool = False) -> list[dict]: ...
    async def claimed_unapplied(self) -> list[Any]:
        """Decisions claimed but not applied yet (recorded for a worker, or cut off by a crash)."""
    async def audit_log(self, since: str | None = None) -> list[dict]:
        """The hash-chained audit log, oldest first ({"seq", "at", "interrupt_id", "row", "hash"})."""
    async def find_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of interrupts (any status) starting with `prefix`, at most `limit`."""
    async def thread(self, thread_id: str) -> Any | None: ...
    async def state(self, thread_id: str) -> tuple[dict, str | None]:
        """The thread's latest state values, and its last run's error ("Type: message") if it failed."""
    async def history(self, thread_id: str, limit: int = 30) -> list[dict]:
        """Newest first: {"checkpoint_id", "step", "source", "created", "next"}."""

    # --- deciding
    async def claim(self, interrupt_id: str, response: Any, *, by: str) -> Any: ...
    async def apply(self, record: Any) -> Any: ...
    async def recover(self, *, concurrency: int = 1) -> list[Any]: ...
    async def expire(self, now: datetime | None = None) -> list[Any]: ...

    # --- following
    async def last_event_seq(self) -> int: ...
    def subscribe(self, since: int | None = None) -> AsyncIterator[Any]: ...

    def close(self) -> None: ...


def missing_methods(backend: object) -> list[str]:
    """The Backend members `backend` lacks (empty when it implements the protocol)."""
    members = [name for name in vars(Backend) if not name.startswith("_")] + ["kind"]
    return [name for name in dict.fromkeys(members) if not hasattr(backend, name)]
