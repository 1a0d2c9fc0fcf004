"""The demo agent fleet: realistic agents (scripted models, tools that only write to an outbox)
whose risky steps pause for review, and `seed()` to fill a database with paused threads.

Data side only: nothing here imports textual, so the engine's tests, the benchmarks and the
TUI can all use it.

    from inbox.demo import seed, graph_for, GRAPHS
    thread_ids = seed("demo.sqlite", threads=20)
"""

from inbox.demo.kit import DescribedTool, Effect, Outbox
from inbox.demo.scenarios import GRAPHS, SCENARIOS, Scenario, graph_for, initial_input, scenario
from inbox.demo.seeding import DEFAULT_START, THREAD_SPACING, DemoClock, aseed_into, plan, seed, seed_into

__all__ = [
    "GRAPHS", "SCENARIOS", "Scenario", "graph_for", "initial_input", "scenario",
    "seed", "seed_into", "aseed_into", "plan", "DemoClock", "DEFAULT_START", "THREAD_SPACING",
    "Outbox", "Effect", "DescribedTool",
]
