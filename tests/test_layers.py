"""The layers are enforced, not hoped for: the import-linter contracts in pyproject.toml
(the engine's layers from the prebuilt agent down to the leaves, the engine never importing the
inbox or textual, screens and widgets reaching the engine only through inbox.review)."""

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    result = subprocess.run([lint], cwd=REPO, capture_output=True, text=True, timeout=120)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[report.find("Broken contracts"):] or report
    assert "BROKEN" not in report and report.count("KEPT") >= 3
