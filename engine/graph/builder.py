"""`StateGraph`: the builder. Every method returns the builder so the fluent style works:
`StateGraph(State).add_node(...).add_edge(START, "a").compile(checkpointer=...)`."""

from __future__ import annotations

import difflib
import inspect
import typing
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Literal, Sequence, get_args, get_origin

from engine.constants import END, START
from engine._internal.keywords import refuse
from engine.errors import GraphBuildError
from engine.graph.schema import StateSchema
from engine.runtime.algo import breakpoint_list
from engine.runtime.retry import policies_of
from engine.types import Command


@dataclass
class NodeSpec:
    name: str
    runnable: Any  # a function, an async function, or a compiled graph
    destinations: tuple[str, ...] | None = None  # from a `-> Command[Literal[...]]` annotation
    metadata: dict = field(default_factory=dict)
    retry_policy: tuple = ()  # RetryPolicy objects (engine/runtime/retry.py); () = the graph's default


@dataclass
class Branch:
    """A conditional edge: `path(state)` names the next node(s), optionally through `path_map`."""

    source: str
    path: Callable
    path_map: dict[Any, str] | None


def _command_destinations(fn: Any) -> tuple[str, ...] | None:
    """The node names a `-> Command[Literal["a", "b"]]` annotation allows, if there is one."""
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else getattr(fn, "__call__", None)
    try:
        hints = typing.get_type_hints(target) if target is not None else {}
    except Exception:
        return None
    ret = hints.get("return")
    if ret is None or (get_origin(ret) or ret) is not Command:
        return None
    args = get_args(ret)
    if not args:
        return ()
    names: list[str] = []
    for arg in args:
        if get_origin(arg) is Literal:
            names.extend(get_args(arg))
        elif isinstance(arg, str):
            names.append(arg)
    return tuple(names)


class StateGraph:
    def __init__(self, state_schema: Any, context_schema: Any = None, *, input_schema: Any = None,
                 output_schema: Any = None, **_ignored: Any):
        refuse("StateGraph()", {"context_schema": context_schema, **_ignored})
        self.schema = StateSchema(state_schema)
        self.output_keys: list[str] | None = (
            list(StateSchema(output_schema).channels) if output_schema is not None else None
        )
        # As LangGraph: the graph's input writes only the input schema's keys (others are dropped).
        self.input_keys: list[str] | None = (
            list(StateSchema(input_schema).channels) if input_schema is not None else None
        )
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: list[tuple[str, str]] = []
        self.joins: list[tuple[tuple[str, ...], str]] = []
        self.branches: list[Branch] = []
        self.default_retry_policy: tuple = ()  # set_node_defaults(retry_policy=...)
        self.compiled = False

    # --- nodes ------------------------------------------------------------------------------------
    def add_node(self, node: str | Callable | Any, action: Callable | Any = None, *,
                 metadata: dict | None = None, destinations: Sequence[str] | None = None,
                 retry_policy: Any = None, **_ignored: Any) -> "StateGraph":
        refuse("add_node()", _ignored)
        if action is None:
            action = node
            name = getattr(node, "name", None) if not callable(node) or hasattr(node, "ainvoke") else None
            name = name or getattr(node, "__name__", None)
            if not isinstance(name, str) or not name or name == "<lambda>":
                raise GraphBuildError(
                    f"cannot tell the name of node {node!r}: call add_node('name', fn) with an explicit name."
                )
        else:
            name = node
        if not isinstance(name, str) or not name:
            raise GraphBuildError(f"a node name must be a non-empty string, got {name!r}.")
        if name in (START, END):
            raise GraphBuildError(f"'{name}' is reserved for the graph's start/end; choose another node name.")
        if name in self.nodes:
            raise GraphBuildError(f"a node named '{name}' already exists; node names must be unique.")
        if any(ch in name for ch in ":|"):
            raise GraphBuildError(f"node name '{name}' may not contain ':' or '|' (they separate namespaces).")
        if not callable(action) and not hasattr(action, "ainvoke"):
            raise GraphBuildError(f"node '{name}' must be a function or a compiled graph, got {action!r}.")
        found = tuple(destinations) if destinations is not None else (
            None if hasattr(action, "ainvoke") else _command_destinations(action)
        )
        retries = policies_of(retry_policy, f"add_node({name!r})")
        self.nodes[name] = NodeSpec(name, action, found, dict(metadata or {}), retries)
        return self

    def set_node_defaults(self, *, retry_policy: Any = None, **unsupported: Any) -> "StateGraph":
        """Defaults for every node that sets none itself (as LangGraph's; only `retry_policy`
        is implemented here)."""
        if unsupported:
            raise NotImplementedError(
                f"set_node_defaults({', '.join(unsupported)}=...) is not implemented by the engine; "
                "only retry_policy is.")
        if retry_policy is not None:
            self.default_retry_policy = policies_of(retry_policy, "set_node_defaults()")
        return self

    def add_sequence(self, nodes: Sequence[Callable | tuple[str, Callable]]) -> "StateGraph":
        previous = None
        for item in nodes:
            name = item[0] if isinstance(item, tuple) else getattr(item, "__name__", None)
            self.add_node(*item) if isinstance(item, tuple) else self.add_node(item)
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    # --- edges ------------------------------------------------------------------------------------
    def add_edge(self, start_key: str | Sequence[str], end_key: str) -> "StateGraph":
        if isinstance(start_key, str):
            if start_key == END:
                raise GraphBuildError("END cannot be the start of an edge: nothing runs after END.")
            if end_key == START:
                raise GraphBuildError("START cannot be the end of an edge.")
            self.edges.append((start_key, end_key))
        else:
            sources = tuple(start_key)
            if not sources:
                raise GraphBuildError("add_edge([...], end) needs at least one start node.")
            if START in sources or END in sources:
                raise GraphBuildError("a join edge add_edge([a, b], c) may only name regular nodes as starts.")
            self.joins.append((sources, end_key))
        return self

    def add_conditional_edges(self, source: str, path: Callable, path_map: dict | list | None = None,
                              **_ignored: Any) -> "StateGraph":
        refuse("add_conditional_edges()", _ignored)
        if not callable(path):
            raise GraphBuildError(f"the path of a conditional edge from '{source}' must be callable, got {path!r}.")
        if isinstance(path_map, (list, tuple)):
            path_map = {name: name for name in path_map}
        self.branches.append(Branch(source, path, dict(path_map) if path_map is not None else None))
        return self

    def set_entry_point(self, key: str) -> "StateGraph":
        return self.add_edge(START, key)

    def set_conditional_entry_point(self, path: Callable, path_map: dict | list | None = None) -> "StateGraph":
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, key: str) -> "StateGraph":
        return self.add_edge(key, END)

    # --- compile ----------------------------------------------------------------------------------
    def validate(self, interrupt_before: Sequence[str] = (), interrupt_after: Sequence[str] = ()) -> None:
        known = set(self.nodes)

        def check(name: str, where: str, allow_start: bool = False, allow_end: bool = False) -> None:
            if name in known or (allow_start and name == START) or (allow_end and name == END):
                return
            hint = difflib.get_close_matches(str(name), list(known), n=1)
            suggestion = f" Did you mean '{hint[0]}'?" if hint else f" Known nodes: {', '.join(sorted(known)) or 'none'}."
            raise GraphBuildError(f"{where} names node '{name}', which was never added with add_node().{suggestion}")

        for start, end in self.edges:
            check(start, f"edge {start!r} -> {end!r}", allow_start=True)
            check(end, f"edge {start!r} -> {end!r}", allow_end=True)
        for sources, end in self.joins:
            for s in sources:
                check(s, f"join edge {list(sources)!r} -> {end!r}")
            check(end, f"join edge {list(sources)!r} -> {end!r}", allow_end=True)
        for branch in self.branches:
            check(branch.source, f"conditional edge from {branch.source!r}", allow_start=True)
            for target in (branch.path_map or {}).values():
                check(target, f"the path_map of the conditional edge from {branch.source!r}", allow_end=True)
        for spec in self.nodes.values():
            for target in spec.destinations or ():
                check(target, f"the Command[Literal[...]] return annotation of node {spec.name!r}", allow_end=True)
        for label, names in (("interrupt_before", interrupt_before), ("interrupt_after", interrupt_after)):
            for name in names:  # "*" in a list is a node name, as in LangGraph: only the string is a wildcard
                check(name, label)

        has_entry = any(s == START for s, _ in self.edges) or any(b.source == START for b in self.branches)
        if not has_entry:
            raise GraphBuildError(
                "the graph has no entry point: add add_edge(START, 'first_node') or set_entry_point('first_node')."
            )
        unreachable = sorted(known - self._reachable())
        if unreachable:
            raise GraphBuildError(
                f"node(s) {', '.join(repr(n) for n in unreachable)} can never run: no edge, conditional edge or "
                f"Command leads to them from START. Add an edge to them or remove them."
            )

    def _reachable(self) -> set[str]:
        """Nodes reachable from START. A branch without a path_map, or a node returning Command
        without a Literal annotation, may go anywhere, so everything counts as reachable then."""
        everything = set(self.nodes)
        seen: set[str] = set()
        frontier = [START]
        while frontier:
            current = frontier.pop()
            targets: set[str] = {e for s, e in self.edges if s == current}
            targets |= {e for sources, e in self.joins if current in sources}
            for branch in self.branches:
                if branch.source == current:
                    targets |= set(branch.path_map.values()) if branch.path_map is not None else everything
            spec = self.nodes.get(current)
            if spec is not None and spec.destinations:
                targets |= set(spec.destinations)
            elif spec is not None and spec.destinations is None and not targets:
                # No edge out and no annotation: it ends the run or routes by an unannotated Command.
                targets = everything
            for target in targets - {END} - seen:
                seen.add(target)
                frontier.append(target)
        return seen

    def compile(self, checkpointer: Any = None, *, interrupt_before: Sequence[str] | str | None = None,
                interrupt_after: Sequence[str] | str | None = None, name: str | None = None,
                interrupt_timeout: timedelta | None = None, interrupt_on_timeout: Any = None,
                debug: bool = False, **_ignored: Any):
        from engine.runtime.compiled import CompiledStateGraph

        refuse("compile()", {"debug": debug, **_ignored})
        before, after = breakpoint_list(interrupt_before), breakpoint_list(interrupt_after)
        self.validate(() if before == "*" else before, () if after == "*" else after)
        self.compiled = True
        return CompiledStateGraph(self, checkpointer=checkpointer, interrupt_before=before,
                                  interrupt_after=after, name=name or "LangGraph",
                                  interrupt_timeout=interrupt_timeout, interrupt_on_timeout=interrupt_on_timeout)
