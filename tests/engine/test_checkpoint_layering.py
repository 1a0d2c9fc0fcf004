"""The checkpoint package never imports the runtime, the graph builder or the prebuilt agent, and
the review shapes are a leaf: checked by importing them in a fresh interpreter, and by reading
the checkpoint package's import lines (the sync bridge it needs lives below it, in engine/_internal)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"


def _loaded_by(module: str) -> list[str]:
    code = f"import sys, {module}\nprint(' '.join(sorted(m for m in sys.modules if m.startswith('engine'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ENGINE.parent)
    return out.stdout.split()


def test_the_sqlite_store_loads_no_runtime_graph_or_prebuilt_module():
    loaded = _loaded_by("engine.checkpoint.sqlite")
    bad = [m for m in loaded if m.startswith(("engine.graph", "engine.prebuilt", "engine.types", "engine.server",
                                              "engine.runtime"))]
    assert bad == [], f"importing engine.checkpoint.sqlite loaded {bad}"


def test_the_review_shapes_are_a_leaf():
    loaded = _loaded_by("engine.review")
    assert set(loaded) <= {"engine", "engine.errors", "engine.constants", "engine.review", "engine.review.interrupt",
                           "engine.review.json_schema", "engine.review.validate"}, loaded


def test_the_old_review_module_names_are_the_same_modules():
    import engine.prebuilt.interrupt
    import engine.prebuilt.json_schema
    import engine.prebuilt.review
    import engine.review.interrupt
    import engine.review.json_schema
    import engine.review.validate

    assert engine.prebuilt.review is engine.review.validate
    assert engine.prebuilt.interrupt is engine.review.interrupt
    assert engine.prebuilt.json_schema is engine.review.json_schema


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_of_the_checkpoint_package_imports_the_runtime():
    # (serde finds engine.types' tagged classes at call time, on purpose: see its docstring)
    forbidden = ("engine.runtime", "engine.graph", "engine.prebuilt", "engine.server", "inbox")
    offenders = {}
    for path in sorted((ENGINE / "checkpoint").rglob("*.py")):
        bad = sorted(name for name in _imports(path) if name.startswith(forbidden))
        if bad:
            offenders[str(path.relative_to(ENGINE))] = bad
    assert offenders == {}


def test_aiosqlite_internals_are_used_in_one_module_only():
    from engine.checkpoint.sqlite.connection import PRIVATE_ATTRIBUTES

    # `x._name` for aiosqlite's private names, on anything but the module's own objects
    private = re.compile(r"(?<![\w.])(?!self\.|saver\.)\w+\.(%s)\b" % "|".join(PRIVATE_ATTRIBUTES))
    users = []
    for path in sorted(ENGINE.rglob("*.py")):
        text = path.read_text()
        if "aiosqlite" in text and private.search(text):
            users.append(str(path.relative_to(ENGINE)))
    assert users == ["checkpoint/sqlite/connection.py"], users
