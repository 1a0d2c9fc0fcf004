"""What a remote backend has learnt about pending interrupts, since the Agent Server API only
lists threads: which thread each interrupt id is on, and which interrupts each interrupted
thread was last seen waiting on.

It answers three things the API cannot answer cheaply:
- where an id is (a decision, `inbox show ID`): its thread, without scanning every interrupted
  thread (the API has no lookup by interrupt id);
- how many requests are pending: the server counts interrupted *threads*; a thread may wait on
  several interrupts (parallel branches), so the count is threads + the extra interrupts seen,
  exact once every interrupted thread has been read;
- where the next page of a listing starts (`Resume`): the API pages threads, the inbox pages
  interrupts, so the offset of the n-th interrupt is remembered instead of reading from the
  first thread again.
Learnt from listings, lookups and the live updates (raised / resolved) alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Resume:
    """Where interrupt number `index` of a listing is: its thread's offset in the server's
    thread order, and how many of that thread's interrupts come before it."""

    thread_offset: int
    skip: int


class PendingIndex:
    def __init__(self) -> None:
        self._thread_of: dict[str, str] = {}  # interrupt id -> thread id (kept once decided: reading back)
        self._pending: dict[str, set[str]] = {}  # thread id -> its pending interrupt ids, as last seen
        self._resume: dict[tuple, Resume] = {}  # (listing key, interrupt index) -> where it starts

    # --- learning ----------------------------------------------------------------------------
    def read(self, thread_id: str, interrupt_ids: Iterable[str]) -> None:
        """A thread as just read from the server: these are all its pending interrupts."""
        ids = set(interrupt_ids)
        for interrupt_id in ids:
            self._thread_of[interrupt_id] = thread_id
        if ids:
            self._pending[thread_id] = ids
        else:
            self._pending.pop(thread_id, None)

    def raised(self, interrupt_id: str, thread_id: str) -> None:
        self._thread_of[interrupt_id] = thread_id
        self._pending.setdefault(thread_id, set()).add(interrupt_id)

    def gone(self, interrupt_id: str) -> None:
        """Decided (here or elsewhere): no longer pending; its thread is still known."""
        thread_id = self._thread_of.get(interrupt_id)
        waiting = self._pending.get(thread_id) if thread_id is not None else None
        if waiting is not None:
            waiting.discard(interrupt_id)
            if not waiting:
                del self._pending[thread_id]

    # --- answering ---------------------------------------------------------------------------
    def thread_of(self, interrupt_id: str) -> str | None:
        return self._thread_of.get(interrupt_id)

    def pending_of(self, thread_id: str) -> set[str]:
        return set(self._pending.get(thread_id, ()))

    def known(self) -> dict[str, set[str]]:
        """Thread id -> pending interrupt ids, for every thread seen waiting."""
        return {thread_id: set(ids) for thread_id, ids in self._pending.items()}

    def pending_count(self, interrupted_threads: int) -> tuple[int, bool]:
        """(pending requests, exact?) given the server's count of interrupted threads: each
        counts once, plus the extra interrupts of the threads seen waiting on several. Exact
        when every interrupted thread has been read (then no thread can hide a second one)."""
        extra = sum(len(ids) - 1 for ids in self._pending.values() if len(ids) > 1)
        return interrupted_threads + extra, len(self._pending) >= interrupted_threads

    # --- resuming a listing ------------------------------------------------------------------
    def resume_at(self, listing: tuple, index: int) -> Resume | None:
        return self._resume.get((listing, index))

    def remember_resume(self, listing: tuple, points: dict[int, Resume]) -> None:
        """The start of each interrupt a listing page read (and of the one after it): the next
        page asks for one of them. Only the latest page's are kept, per listing."""
        for key in [k for k in self._resume if k[0] == listing]:
            del self._resume[key]
        for index, point in points.items():
            self._resume[(listing, index)] = point


__all__ = ["PendingIndex", "Resume"]
