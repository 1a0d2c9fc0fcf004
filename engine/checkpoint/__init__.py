from engine.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from engine.checkpoint.stores import aopen_store, describe, open_store, store_for

__all__ = ["BaseCheckpointSaver", "CheckpointTuple", "open_store", "aopen_store", "store_for", "describe"]
