"""The `inbox` command."""

from __future__ import annotations

import argparse
import sys

USAGE = """usage: inbox demo [--db PATH] [--threads N]

The approval inbox is not there yet: this build ships the engine only.
Run the engine's examples instead: python examples/<name>.py"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="inbox", add_help=True)
    parser.add_argument("command", nargs="?", default=None)
    parser.parse_known_args(argv)
    print(USAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
