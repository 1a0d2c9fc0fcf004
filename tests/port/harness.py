"""The differential harness: one program, run on the engine and on LangGraph 1.2.24.

A program is written once, as a function `program(lg, saver) -> list` taking a namespace of
the names a LangGraph program imports (`lg.StateGraph`, `lg.interrupt`, `lg.Command`, ...:
from `engine.*` or from `langgraph.*`) and a checkpointer of that side, and returning what it
observed (invoke results, stream chunks, snapshots, histories, errors). `differential(program,
saver_kind)` runs it on both sides and returns the two observations after the same
canonicalisation, for the test to compare with `==`:

- interrupt ids are checked for presence and uniqueness, not equality: each distinct id is
  replaced by its order of first appearance (`<interrupt 0>`), so a program that sees the same
  id twice still sees it twice, and two different ids stay different;
- checkpoint ids are replaced by their position in the thread's history (oldest first,
  `<checkpoint 0>`), and anything naming one (configs, parent configs) with it;
- timestamps are dropped; a task's error is its type name and message.
"""

from __future__ import annotations

import re
import sqlite3
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

LANGGRAPH_VERSION = "1.2.24"
SAVER_KINDS = ("memory", "sqlite")


def namespace(side: str) -> types.SimpleNamespace:
    """The names a LangGraph program imports, from `engine.*` or from `langgraph.*`."""
    if side == "engine":
        from engine.checkpoint.memory import InMemorySaver
        from engine.checkpoint.sqlite import SqliteSaver
        from engine.graph import END, START, StateGraph
        from engine.types import Command, Send, interrupt
    else:
        import langgraph

        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.graph import END, START, StateGraph
        from langgraph.types import Command, Send, interrupt

        version = getattr(langgraph, "__version__", None)
        if version is None:
            from importlib.metadata import version as dist_version

            version = dist_version("langgraph")
        assert version == LANGGRAPH_VERSION, f"the differential suite is pinned to langgraph {LANGGRAPH_VERSION}"
    return types.SimpleNamespace(side=side, StateGraph=StateGraph, START=START, END=END, interrupt=interrupt,
                                 Command=Command, Send=Send, InMemorySaver=InMemorySaver, SqliteSaver=SqliteSaver)


@contextmanager
def open_saver(lg: types.SimpleNamespace, kind: str, directory: Path) -> Iterator[Any]:
    if kind == "memory":
        yield lg.InMemorySaver()
        return
    path = directory / f"{lg.side}.sqlite"
    if lg.side == "engine":
        with lg.SqliteSaver.from_conn_string(str(path)) as saver:
            yield saver
    else:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        try:
            yield lg.SqliteSaver(conn)
        finally:
            conn.close()


def run_side(program: Callable, side: str, kind: str, directory: Path) -> Any:
    lg = namespace(side)
    with open_saver(lg, kind, directory) as saver:
        return Canon().canon(program(lg, saver))


def differential(program: Callable, kind: str, directory: Path) -> tuple[Any, Any]:
    """(the engine's observations, LangGraph's), canonicalised the same way."""
    (directory / "engine").mkdir(exist_ok=True)
    (directory / "langgraph").mkdir(exist_ok=True)
    return (run_side(program, "engine", kind, directory / "engine"),
            run_side(program, "langgraph", kind, directory / "langgraph"))


def assert_same(program: Callable, kind: str, directory: Path) -> Any:
    ours, theirs = differential(program, kind, directory)
    if ours != theirs:
        import difflib
        import pprint

        diff = difflib.unified_diff(pprint.pformat(theirs, width=110).splitlines(),
                                    pprint.pformat(ours, width=110).splitlines(),
                                    f"langgraph {LANGGRAPH_VERSION}", "engine", lineterm="", n=6)
        pytest.fail("the engine differs from LangGraph:\n" + "\n".join(diff), pytrace=False)
    return ours


# --- observations -----------------------------------------------------------------------------
def history(graph: Any, config: dict) -> list:
    """The thread's history, oldest first (canonicalisation numbers checkpoints in this order).
    Tasks of past checkpoints show no result: LangGraph keeps every task's writes, the engine
    only those of steps with several tasks (a lone task's writes are in the next checkpoint)."""
    return ["history", list(reversed(list(graph.get_state_history(config))))]


def caught(fn: Callable[[], Any]) -> Any:
    """What calling fn gives, or the nearest built-in class of what it raised (the engine's
    errors subclass the built-in LangGraph raises: GraphBuildError is a ValueError)."""
    import builtins

    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the observation is the error's type
        kind = next(k for k in type(exc).__mro__ if getattr(builtins, k.__name__, None) is k)
        return ("raised", kind.__name__)


# --- canonicalisation -------------------------------------------------------------------------
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


class Canon:
    def __init__(self) -> None:
        self.interrupts: dict[str, int] = {}
        self.checkpoints: dict[str, int] = {}

    def interrupt_label(self, value: str) -> str:
        assert value, "an interrupt without an id"
        return f"<interrupt {self.interrupts.setdefault(value, len(self.interrupts))}>"

    def checkpoint_label(self, value: str | None) -> str | None:
        if value is None:
            return None
        return f"<checkpoint {self.checkpoints.setdefault(value, len(self.checkpoints))}>"

    def _collect_checkpoints(self, value: Any) -> None:
        """Number checkpoints in history order first, so labels are positions, not first sight."""
        if isinstance(value, (list, tuple)):
            if len(value) == 2 and value[0] == "history":
                for snapshot in value[1]:
                    self.checkpoint_label(_checkpoint_id(snapshot.config))
                return
            else:
                for item in value:
                    self._collect_checkpoints(item)

    def canon(self, value: Any) -> Any:
        self._collect_checkpoints(value)
        return self._canon(value)

    def _history(self, snapshots: list) -> list:
        out = []
        for snapshot in snapshots:
            item = self._canon(snapshot)
            for task in item["tasks"]:
                task.pop("result")
            out.append(item)
        return ["history", out]

    def _canon(self, value: Any) -> Any:
        name = type(value).__name__
        if name == "Interrupt":
            return ("Interrupt", self._canon(value.value), self.interrupt_label(value.id))
        if name == "StateSnapshot":
            return {
                "values": self._canon(value.values), "next": tuple(value.next),
                "config": self._config(value.config), "parent": self._config(value.parent_config),
                "metadata": self._canon({k: v for k, v in (value.metadata or {}).items() if k in ("source", "step")}),
                "tasks": [self._task(t) for t in value.tasks],
                "interrupts": [self._canon(i) for i in value.interrupts],
            }
        if name == "PregelTask":
            return self._task(value)
        if isinstance(value, BaseException):
            return ("error", type(value).__name__, str(value))
        if isinstance(value, dict):
            if "configurable" in value and isinstance(value["configurable"], dict):
                return self._config(value)
            return {self._key(k): self._canon(v) for k, v in value.items()}
        if isinstance(value, list) and len(value) == 2 and value[0] == "history":
            return self._history(value[1])
        if isinstance(value, (list, tuple)):
            return type(value)(self._canon(v) for v in value) if isinstance(value, list) else \
                tuple(self._canon(v) for v in value)
        return value

    def _key(self, key: Any) -> Any:
        if isinstance(key, str) and _HEX32.match(key) and key in self.interrupts:
            return self.interrupt_label(key)
        return key

    def _task(self, task: Any) -> dict:
        return {"name": task.name, "error": self._canon(task.error) if task.error else None,
                "interrupts": [self._canon(i) for i in task.interrupts], "result": self._canon(task.result),
                "state": self._canon(task.state)}

    def _config(self, config: Any) -> Any:
        if not config:
            return None
        conf = config.get("configurable", {})
        out = {"thread_id": conf.get("thread_id"), "checkpoint_id": self.checkpoint_label(conf.get("checkpoint_id"))}
        if conf.get("checkpoint_ns"):
            out["checkpoint_ns"] = re.sub(r":[0-9a-f-]{32,36}", ":<task>", conf["checkpoint_ns"])
        return out


def _checkpoint_id(config: dict | None) -> str | None:
    return ((config or {}).get("configurable") or {}).get("checkpoint_id")


__all__ = ["namespace", "open_saver", "run_side", "differential", "assert_same", "history", "caught",
           "Canon", "SAVER_KINDS", "LANGGRAPH_VERSION"]
