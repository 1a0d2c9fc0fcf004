"""Moved to `engine._internal.sync` (below the checkpoint package, which uses it too); this
module re-exports it for code that still imports it from here."""

from engine._internal.sync import engine_loop, iterate_sync, run_sync

__all__ = ["run_sync", "iterate_sync", "engine_loop"]
