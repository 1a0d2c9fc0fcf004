"""The inbox reaches the engine only through its service layer: the app, the action table,
screens and widgets import nothing from `engine` (review.py re-exports what they need;
backends/ and cli.py are the other places that may import it)."""

from __future__ import annotations

import ast
from pathlib import Path

INBOX = Path(__file__).resolve().parents[2] / "inbox"
THROUGH_THE_SERVICE = [INBOX / "app.py", INBOX / "actions.py", INBOX / "styles.py", INBOX / "text.py",
                       INBOX / "keymap.py", *sorted((INBOX / "screens").glob("*.py")),
                       *sorted((INBOX / "widgets").glob("*.py"))]


def engine_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "engine"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "engine":
            found.append(node.module)
    return found


def test_screens_widgets_and_the_app_import_no_engine_module():
    offenders = {str(p.relative_to(INBOX.parent)): engine_imports(p) for p in THROUGH_THE_SERVICE}
    assert not {p: m for p, m in offenders.items() if m}, offenders


def test_the_backend_interface_imports_no_engine_module():
    assert engine_imports(INBOX / "backends" / "__init__.py") == []
