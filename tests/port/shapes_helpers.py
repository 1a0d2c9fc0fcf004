"""Helpers of the differential tests of stream shapes, messages, retries and interrupt shapes
(tests/port/test_*.py): run one program under the import prefix `engine` and `langgraph` and
compare the outputs after one canonicalisation.

A program is a function taking `lg`, a namespace of the modules under the prefix
(`lg.graph`, `lg.types`, `lg.memory`, `lg.message`, `lg.config`), so it is written once.
Canonical form: interrupts become {"value", "response_schema", "id": "<i0>"} with ids numbered
by first appearance (so they are checked for presence and uniqueness, not equality), message
ids likewise ("<m0>", ...), LangChain messages become OpenAI-style dicts, tuples become lists.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

PREFIXES = ["engine", "langgraph"]

_MODULES = {"graph": "graph", "types": "types", "memory": "checkpoint.memory",
            "message": "graph.message", "config": "config", "hitl": "prebuilt.interrupt"}


class modules:
    """The modules under one prefix, imported when first used (`lg.graph`, `lg.types`, ...)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return importlib.import_module(f"{self.prefix}.{_MODULES[name]}")


@pytest.fixture(params=PREFIXES)
def lg(request) -> modules:
    return modules(request.param)


def both(program, *args: Any) -> tuple[Any, Any]:
    """(engine's canonical output, langgraph's canonical output) of `program(lg, *args)`."""
    return tuple(canonical(program(modules(prefix), *args)) for prefix in PREFIXES)


_ROLES = {"human": "user", "ai": "assistant", "HumanMessage": "user", "AIMessage": "assistant",
          "SystemMessage": "system", "ToolMessage": "tool", "RemoveMessage": "remove"}


def _message_dict(message: Any) -> dict:
    out = {"role": _ROLES.get(type(message).__name__, type(message).__name__),
           "content": message.content, "id": message.id}
    if getattr(message, "tool_calls", None):
        out["tool_calls"] = [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in message.tool_calls]
    if getattr(message, "tool_call_id", None):
        out["tool_call_id"] = message.tool_call_id
    return out


class _Ids:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], str] = {}

    def __call__(self, kind: str, value: Any) -> str:
        assert isinstance(value, str) and value, f"a {kind} id is missing: {value!r}"
        return self.seen.setdefault((kind, value), f"<{kind}{sum(k == kind for k, _ in self.seen)}>")


def canonical(value: Any, ids: _Ids | None = None) -> Any:
    ids = ids or _Ids()
    name = type(value).__name__
    if name == "Interrupt":
        return {"value": canonical(value.value, ids), "id": ids("i", value.id),
                "response_schema": canonical(getattr(value, "response_schema", None), ids)}
    if any(c.__name__ == "BaseMessage" for c in type(value).__mro__):
        value = _message_dict(value)
    if isinstance(value, dict) and set(value) == {"value", "id", "response_schema"}:
        return {"value": canonical(value["value"], ids), "id": ids("i", value["id"]),
                "response_schema": canonical(value["response_schema"], ids)}
    if isinstance(value, dict) and {"id", "name"} <= set(value) and set(value) & {"input", "result", "interrupts"}:
        return {k: ids("t", v) if k == "id" else canonical(v, ids) for k, v in value.items()}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "id" and ("role" in value or "content" in value) and isinstance(item, str):
                out[key] = ids("m", item)
            elif key == "role":
                out[key] = _ROLES.get(item, item)
            else:
                out[key] = canonical(item, ids)
        if out.get("role") in ("user", "assistant", "system") and not out.get("tool_calls"):
            out.pop("tool_calls", None)
        return out
    if isinstance(value, (list, tuple)):
        return [canonical(v, ids) for v in value]
    if hasattr(value, "_asdict"):
        return canonical(value._asdict(), ids)
    return value


def canonical_namespace(ns: tuple, ids: _Ids) -> list:
    """("sub:<task id>", ...) with the task ids numbered like every other id."""
    return [f"{part.split(':')[0]}:{ids('t', part.split(':', 1)[1])}" for part in ns]


def canonical_stream(items: list, *, subgraphs: bool = False) -> list:
    """A stream's items canonicalised together (one numbering of ids for the whole stream)."""
    ids = _Ids()
    out = []
    for item in items:
        if subgraphs:
            ns, *rest = item
            out.append([canonical_namespace(ns, ids), *canonical(list(rest), ids)])
        else:
            out.append(canonical(item, ids))
    return out


def stream_both(program, *, subgraphs: bool = False) -> tuple[list, list]:
    """(engine's, langgraph's) canonical stream items of `program(lg)` (a list of items)."""
    return tuple(canonical_stream(program(modules(prefix)), subgraphs=subgraphs) for prefix in PREFIXES)
