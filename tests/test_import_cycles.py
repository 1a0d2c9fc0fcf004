"""No import cycle in engine/: the modules' top-level imports form a graph without cycles.

Each engine/**/*.py file is parsed with `ast`; an edge goes from a module to every engine module
its top-level imports load: the module named, the submodule a `from package import name` names,
and the packages above them (importing `engine.runtime.sync` runs `engine/runtime/__init__.py`
first), except the packages the importing module is itself inside (they are loading already).

Only top-level imports count, including those under module-level `try`/`if`/`with`, but not
those under `if TYPE_CHECKING:` (never run). An import inside a function runs when the function
is called, after every module has loaded: that is deliberate late binding (e.g. the serde
finding the engine's tagged types, the saver loading the tool ledger on first use), allowed here.
A top-level cycle is what breaks: which module of it is half-initialized depends on which one
a program imports first.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_level_imports(body: list[ast.stmt]):
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _top_level_imports(node.body)
            yield from _top_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                yield from _top_level_imports(block)
        elif isinstance(node, ast.With):
            yield from _top_level_imports(node.body)


def engine_modules(root: Path = ROOT) -> dict[str, Path]:
    """{dotted module name: its file} for every module and package under root/engine."""
    modules = {}
    for path in sorted((root / "engine").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """{module: the engine modules its top-level imports load}."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        own_packages = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
        targets: set[str] = set()
        for node in _top_level_imports(ast.parse(path.read_text(), str(path)).body):
            if isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the importing module's package upwards
                    anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                named = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in named:
                if target not in modules:
                    continue  # not an engine module (or a name inside one)
                while target:  # the module and the packages above it
                    if target in modules and target not in own_packages:
                        targets.add(target)
                    target = target.rpartition(".")[0]
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_engine_has_no_top_level_import_cycle():
    graph = import_graph(engine_modules())
    assert "engine.types" in graph and "engine.runtime.loop" in graph  # the walk found the engine
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in engine/: " + " -> ".join(cycle)


def test_the_check_finds_a_cycle(tmp_path):
    # The same walk reports a cycle when there is one, through a package's __init__ as well.
    pkg = tmp_path / "engine"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from engine.low import x\n")
    (pkg / "low.py").write_text("import os\n\ndef late():\n    import engine.top\n")
    (pkg / "top.py").write_text("from engine.sub.leaf import y\n")
    (pkg / "sub" / "leaf.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                         "    import engine.top\n")
    graph = import_graph(engine_modules(tmp_path))
    assert graph["engine.top"] == {"engine.sub", "engine.sub.leaf"}
    assert find_cycle(graph) is None  # late and TYPE_CHECKING imports do not count
    (pkg / "low.py").write_text("from engine import top\n")
    cycle = find_cycle(import_graph(engine_modules(tmp_path)))
    assert cycle is not None and cycle[0] == cycle[-1]
    assert set(cycle) == {"engine.low", "engine.top", "engine.sub"}
