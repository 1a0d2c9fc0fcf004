"""Fewer and shorter garbage-collection pauses while the inbox runs.

CPython's cyclic collector runs a young collection every 700 net allocations and, every 100
of those, a full collection that walks every live object: Textual's, Rich's, httpx's and
the loaded rows. The inbox allocates briskly (every frame builds segments and styles), so
full collections come often; bench/remote.py measured them at 60-780 ms each under load,
and each one is a frozen screen. While the app runs:
- gc.freeze(): what exists when the app starts (imported modules, settings, the backend)
  lives as long as the process anyway; frozen, no collection walks it again;
- young collections every 10,000 allocations instead of 700: far fewer collections; cycles
  are still collected, a little later (the extra garbage is a few MB at most).
Both are undone when the app ends, so a process running many apps (the tests) is unchanged.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def calm() -> tuple[int, int, int]:
    """Freeze what exists and collect less often; returns the thresholds to restore."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *before[1:])
    return before


def restore(before: tuple[int, int, int]) -> None:
    gc.set_threshold(*before)
    gc.unfreeze()


__all__ = ["calm", "restore", "YOUNG_THRESHOLD"]
