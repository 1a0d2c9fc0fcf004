"""The superstep runtime behind compiled graphs: `algo` (pure: task ids, next tasks and joins,
breakpoints, resume matching), `runner` (runs a superstep's tasks; one task: `node`), `loop`
(loads, persists, emits events), `durability` (when a step's writes are committed),
`ownership` (a thread's lease), `decisions` (claiming, applying and expiring decisions),
`compiled` (the public graph object), `snapshot` (a checkpoint as get_state shows it). `sync` and `context` are shims: they live in
engine/_internal."""
