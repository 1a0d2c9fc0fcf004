"""The superstep runtime behind compiled graphs: `algo` (pure: task ids, next tasks and joins,
breakpoints, resume matching), `runner` (runs a superstep's tasks; one task: `node`), `loop`
(loads, persists, emits events), `durability` (when a step's writes are committed),
`ownership` (a thread's lease), `decisions` (claiming, applying and expiring decisions),
`compiled` (the public graph object), `snapshot` (a checkpoint as get_state shows it). `sync` and `context` are shims: they live in
engine/_internal.

Public here: `engine_owns_loop()`, which tells `ainvoke()`/`astream()` that the running event
loop is the engine's alone, so sync nodes may run on it without an executor hop
(engine/_internal/sync.py says when that is safe)."""

from engine._internal.sync import engine_owns_loop

__all__ = ["engine_owns_loop"]
