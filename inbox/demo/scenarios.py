"""The registry of demo scenarios: each one's graph name, factory and per-thread input."""

from __future__ import annotations

import random
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from inbox.demo import cleanup, cluster, deploy, mail, onboarding, payments, sql, travel, triage


@dataclass(frozen=True)
class Scenario:
    """One demo agent. `build(checkpointer, outbox=None)` makes its compiled graph (the same
    graph every time, so any process can rebuild it to resume a thread); the graph's
    `outbox` records what its tools did."""

    name: str                       # the graph's name, e.g. "payments-agent"
    title: str                      # one line for humans
    kind: str                       # what its interrupts look like: human_interrupt | hitl | question
    build: Callable[..., Any]
    make_input: Callable[[random.Random], dict]
    requesters: tuple[str, ...]

    def rng(self, index: int, seed: int = 0) -> random.Random:
        # A string seed is hashed with SHA-512: the same on every run and machine.
        return random.Random(f"{self.name}/{seed}/{index}")

    def initial_input(self, index: int, seed: int = 0) -> dict:
        """The input that starts this scenario's `index`-th thread (0-based)."""
        return self.make_input(self.rng(index, seed))

    def requested_by(self, index: int, seed: int = 0) -> str:
        """Who asked the agent for this thread's work (goes into the run's metadata)."""
        # Its own stream, so the requester does not move in step with the input's first choice.
        return random.Random(f"{self.name}/{seed}/{index}/requested_by").choice(self.requesters)


def _scenario(module: ModuleType, kind: str) -> Scenario:
    return Scenario(name=module.NAME, title=module.TITLE, kind=kind, build=module.build,
                    make_input=module.initial_input, requesters=tuple(module.REQUESTERS))


# Seeding goes round-robin in this order.
SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    _scenario(travel, "human_interrupt"),
    _scenario(mail, "human_interrupt"),
    _scenario(payments, "human_interrupt"),
    _scenario(sql, "human_interrupt"),
    _scenario(deploy, "human_interrupt"),
    _scenario(cleanup, "human_interrupt"),
    _scenario(triage, "hitl"),
    _scenario(cluster, "question"),
    _scenario(onboarding, "question"),
)}

# graph name -> build(checkpointer) -> compiled graph
GRAPHS: dict[str, Callable[..., Any]] = {name: s.build for name, s in SCENARIOS.items()}


def scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"no demo graph named {name!r}; the demo has: {', '.join(SCENARIOS)}") from None


def graph_for(name: str, checkpointer: Any, *, outbox: Any = None):
    """The compiled demo graph called `name`, saving to `checkpointer`."""
    return scenario(name).build(checkpointer, outbox=outbox)


def initial_input(name: str, index: int, seed: int = 0) -> dict:
    """The input that starts the `index`-th (0-based) thread of scenario `name`."""
    return scenario(name).initial_input(index, seed)
