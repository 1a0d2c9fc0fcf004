"""The one place the checkpoint package reaches the sync bridge.

The stores' blocking methods (`setup()`, `list_pending()`, ...) wrap their async versions with
`run_sync`, which lives with the runtime's internals. Importing it here, and only here, keeps the
checkpoint package from importing the runtime anywhere else: when the bridge moves, this line
moves with it.
"""

from engine.runtime.sync import iterate_sync, run_sync

__all__ = ["iterate_sync", "run_sync"]
