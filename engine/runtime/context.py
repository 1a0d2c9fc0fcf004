"""Moved to `engine._internal.context` (below `engine.types`, whose `interrupt()` reads it);
this module re-exports it for code that still imports it from here."""

from engine._internal.context import TaskContext, current_task, reset_current_task, set_current_task

__all__ = ["TaskContext", "current_task", "set_current_task", "reset_current_task"]
