"""engine/ is importable without the TUI: importing it must not pull in textual or rich."""

import subprocess
import sys

MODULES = [
    "engine", "engine.graph", "engine.types", "engine.constants", "engine.errors", "engine.events",
    "engine.checkpoint.memory", "engine.checkpoint.base", "engine.runtime.compiled",
]


def test_engine_imports_neither_textual_nor_rich():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"engine imported: {out.stdout.strip()}"


def test_the_check_catches_a_tui_import():
    # The same probe sees textual when something does import it, so the test above can fail.
    code = "import sys, textual\nprint(','.join(m for m in sys.modules if m.split('.')[0]=='textual'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "textual" in out.stdout
