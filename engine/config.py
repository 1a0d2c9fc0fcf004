"""What a running node can reach of its run, under `langgraph.config`'s names:
`get_config()`, `get_stream_writer()` (stream_mode "custom"), and `get_message_writer()`, the
engine's way for a pluggable model to stream message chunks (stream_mode "messages").
See engine/runtime/streaming.py."""

from __future__ import annotations

from engine._internal.context import current_task
from engine.errors import GraphConfigError
from engine.runtime.streaming import get_message_writer, get_stream_writer


def get_config() -> dict:
    """The config of the run the calling node belongs to."""
    task = current_task()
    if task is None:
        raise GraphConfigError("get_config() was called outside a running graph node; call it from inside a node.")
    return task.config


__all__ = ["get_config", "get_stream_writer", "get_message_writer"]
