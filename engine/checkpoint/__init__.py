from engine.checkpoint.base import BaseCheckpointSaver, CheckpointTuple

__all__ = ["BaseCheckpointSaver", "CheckpointTuple"]
