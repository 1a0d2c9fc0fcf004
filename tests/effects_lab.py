"""What the exactly-once tests share, on any store (tests/test_exactly_once.py on SQLite, the
many-hosts tests on Postgres: tests/many_hosts.py). Not a test module.

A lab is one side-effect file and every `inbox` process started for a test (all killed at its
end). Every reviewed tool execution of tests/exactly_once_graphs.py appends one line to the
file (thread, item, idempotency key = the review's interrupt id, pid, OS thread id), which is
how "exactly once" is counted.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


class EffectsLab:
    """Subclasses set `self.env` (the processes' environment) in their __init__."""

    env: dict[str, str]

    def __init__(self, root: Path) -> None:
        self.root = root
        self.effects = root / "effects.txt"
        self.procs: list[subprocess.Popen] = []

    def start(self, *args, tool_sleep: float = 0.0) -> subprocess.Popen:
        """`inbox ARGS...`, its output kept (communicate() to read it)."""
        return self.popen(["-m", "inbox.cli", *map(str, args)], tool_sleep)

    def popen(self, argv: list[str], tool_sleep: float, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, *argv], cwd=self.root,
                                env={**self.env, "EO_TOOL_SLEEP": str(tool_sleep)}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kwargs)
        self.procs.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            try:
                proc.communicate(timeout=10)
            except (subprocess.TimeoutExpired, ValueError):
                pass

    def effects_by_key(self) -> Counter:
        if not self.effects.exists():
            return Counter()
        return Counter(line.split()[2] for line in self.effects.read_text().splitlines() if line.strip())

    def effect_lines(self) -> list[list[str]]:
        return [line.split() for line in self.effects.read_text().splitlines()] if self.effects.exists() else []
