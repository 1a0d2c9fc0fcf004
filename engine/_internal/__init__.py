"""Internal helpers below the checkpoint package: the sync bridge (`sync`), the running
task's context (`context`) and the refusal of keywords the engine does not implement
(`keywords`). They import nothing of the engine above errors, events and
constants, so the checkpoint package, `engine.types` and the runtime can all use them without
an import cycle. Not public API: import the names from where they are documented."""
