"""Internal helpers below the checkpoint package: the sync bridge (`sync`) and the running
task's context (`context`). They import nothing of the engine above errors, events and
constants, so the checkpoint package, `engine.types` and the runtime can all use them without
an import cycle. Not public API: import the names from where they are documented."""
