"""The superstep runtime behind compiled graphs: `algo` (pure: task ids, next tasks and joins,
breakpoints, resume matching), `runner` (runs a superstep's tasks; one task: `node`), `loop`
(loads, persists, emits events), `ownership` (leases; applying recorded decisions), `compiled`
(the public graph object). `sync` and `context` are shims: they live in engine/_internal."""
