"""Showing agent-written text literally: no Rich markup and no terminal control sequence from
a payload may style, move or clear the screen. Everything shown from a payload goes through here."""

from __future__ import annotations

import json
import re
from typing import Any

from rich.text import Text

# C0 controls except tab and newline, DEL, and C1 controls (which include the 8-bit CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match) -> str:
    char = match.group(0)
    return "␛" if char == "\x1b" else f"\\x{ord(char):02x}"


def defang(text: str) -> str:
    """`text` with control characters made visible (ESC shows as ␛, others as \\xNN)."""
    return _CONTROL.sub(_visible, text)


def literal(value: Any, style: str = "") -> Text:
    """A Rich Text that shows `value` exactly: markup like `[bold red]` stays as characters."""
    return Text(defang(value if isinstance(value, str) else str(value)), style=style)


def one_line(value: Any, width: int = 80) -> str:
    """A single defanged line, cut to `width` with an ellipsis."""
    text = defang(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def pretty_json(value: Any, limit: int | None = None) -> tuple[str, bool]:
    """Indented JSON, defanged, and whether it was cut to `limit` characters."""
    text = defang(json.dumps(value, indent=2, ensure_ascii=False, default=str))
    if limit is not None and len(text) > limit:
        return text[:limit], True
    return text, False


_MARKDOWN_NOISE = re.compile(r"(\*\*|__|`{1,3}|^#+\s*|^>\s*)", re.MULTILINE)


def summary(markdown: str) -> str:
    """The first line of a Markdown description without emphasis marks, for one-line lists."""
    for line in (markdown or "").splitlines():
        line = _MARKDOWN_NOISE.sub("", line).strip()
        if line:
            return line
    return ""
