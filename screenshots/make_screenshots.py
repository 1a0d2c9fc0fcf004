"""Generate the inbox's screenshots from the snapshot tests' scenarios (tests/inbox/snapshot_apps.py).

    python screenshots/make_screenshots.py            # the set shown in the README
    python screenshots/make_screenshots.py --all      # every snapshot scenario
    python screenshots/make_screenshots.py stepper help
    python screenshots/make_screenshots.py --no-png

Writes screenshots/<scenario-name>.svg, and a .png next to each when cairosvg is installed
(`pip install cairosvg`; it needs the cairo library, which most systems have). The pictures are
the same as the snapshot tests': fixed clock, fixed seed, fixed terminal size, no cursor blink.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "inbox")]

from snapshot_apps import CONFIG_PATH, DATABASES, SCENARIOS, make_app, open_saver  # noqa: E402

# What the README shows: the list, each kind of request, each dialog, the thread, the keys.
DEFAULT = ["demo_list", "detail_multi_action", "detail_question", "detail_overdue", "edit_valid",
           "edit_invalid_schema", "respond", "stepper", "bulk_confirm", "resolved_by_someone_else",
           "errors_tab", "thread_view", "help", "palette", "undo_countdown", "edited_diff", "full_view",
           "search_fields", "discard_edit", "rules_screen", "propose_rule", "detail_narrow_80x24"]
TITLE = "Agent Inbox"
# Textual's SVG asks for Fira Code from a web font; a converter without it falls back to a
# proportional font and the columns go ragged. Name fonts that are usually installed.
PNG_FONTS = "font-family: 'DejaVu Sans Mono', 'Menlo', 'Consolas', monospace;"


def file_name(scenario: str) -> str:
    return scenario.replace("_", "-")


async def _capture(scenario, saver) -> str:
    app = make_app(saver, scenario.undo_seconds)
    async with app.run_test(size=scenario.size, notifications=True) as pilot:
        await scenario.run(pilot, saver)
        return app.export_screenshot(title=TITLE, simplify=True)  # as snap_compare does


def capture(name: str, databases: dict[str, Path], workdir: Path) -> str:
    """The SVG of one scenario, on a fresh copy of its database."""
    scenario = SCENARIOS[name]
    if scenario.database not in databases:
        databases[scenario.database] = DATABASES[scenario.database](workdir / f"{scenario.database}.sqlite")
    copy = workdir / f"{name}.sqlite"
    shutil.copyfile(databases[scenario.database], copy)
    saver = open_saver(copy)  # opened outside the app's event loop, as in the tests
    try:
        return asyncio.run(_capture(scenario, saver))
    finally:
        saver.close()


def to_png(svg: str, path: Path) -> bool:
    try:
        import cairosvg
    except ImportError:  # also raised when the cairo library itself is missing
        return False
    svg = svg.replace("font-family: Fira Code, monospace;", PNG_FONTS)
    cairosvg.svg2png(bytestring=svg.encode("utf-8"), write_to=str(path), output_width=1600)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help=f"scenario names (default: the README set); any of: {', '.join(SCENARIOS)}")
    parser.add_argument("--all", action="store_true", help="every scenario of the snapshot tests")
    parser.add_argument("--no-png", action="store_true", help="SVG only")
    parser.add_argument("--out", type=Path, default=HERE, help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)

    names = list(SCENARIOS) if args.all else (args.scenarios or DEFAULT)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    os.environ["INBOX_CONFIG"] = CONFIG_PATH  # the help screen names it; keep home paths out
    args.out.mkdir(parents=True, exist_ok=True)

    pngs = not args.no_png
    databases: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="inbox-screenshots-") as tmp:
        for name in names:
            svg = capture(name, databases, Path(tmp))
            target = args.out / f"{file_name(name)}.svg"
            target.write_text(svg, encoding="utf-8")
            made = [target.name]
            if pngs:
                if to_png(svg, target.with_suffix(".png")):
                    made.append(target.with_suffix(".png").name)
                else:
                    print("cairosvg is not installed (pip install cairosvg): writing SVGs only", file=sys.stderr)
                    pngs = False
            print(f"{' + '.join(made):<60} {SCENARIOS[name].what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
