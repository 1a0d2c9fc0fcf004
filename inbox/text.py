"""Showing agent-written text literally: no Rich markup and no terminal control sequence from
a payload may style, move or clear the screen. Everything shown from an agent, a payload, an
error, a thread id, a graph name or another reviewer goes through here.

Two rules, applied in one place:
- Markup: text is handed to widgets as `rich.text.Text` (`literal()`), which is never parsed
  as markup, so `[link=https://x]y` shows as those characters. Where a widget only takes a
  string and parses it (Textual's `notify`), the app turns markup off (see InboxApp.notify).
- Control characters are made visible (`defang()`), the same way in the TUI and in the plain
  output of the `inbox` command:
      ESC                                   ␛          (so `\\x1b[2J` shows as `␛[2J`)
      other C0 controls, DEL, C1 controls   \\xNN       (U+0000-U+001F but tab and newline,
                                                       U+007F-U+009F, which hold the 8-bit CSI)
      bidi overrides and isolates           \\uNNNN     (U+202A-U+202E, U+2066-U+2069: they
                                                       reorder what follows, e.g. a thread id)
  Tab and newline stay (they only lay text out); `one_line()` folds them into spaces.
  In JSON (`pretty_json()`, the argument editor) the same characters become JSON escapes
  (`\\u001b`, `\\u202e`), so the text stays valid JSON that parses back to the exact value.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match) -> str:
    char = match.group(0)
    if char == "\x1b":
        return "␛"
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def _json_escape(match: re.Match) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def defang(text: str) -> str:
    """`text` with control characters and bidi overrides made visible (see the module docstring)."""
    return _CONTROL.sub(_visible, text)


def literal(value: Any, style: str = "") -> Text:
    """A Rich Text that shows `value` exactly: markup like `[bold red]` stays as characters."""
    return Text(defang(value if isinstance(value, str) else str(value)), style=style)


def one_line(value: Any, width: int = 80) -> str:
    """A single defanged line, cut to `width` with an ellipsis."""
    text = defang(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def json_text(value: Any, indent: int | None = 2) -> str:
    """JSON for people to read and edit: non-ASCII stays readable, but every character defang()
    would change is a JSON escape instead, so the text parses back to exactly `value`."""
    return _CONTROL.sub(_json_escape, json.dumps(value, indent=indent, ensure_ascii=False, default=str))


def pretty_json(value: Any, limit: int | None = None) -> tuple[str, bool]:
    """Indented JSON (see json_text), and whether it was cut to `limit` characters."""
    text = json_text(value)
    if limit is not None and len(text) > limit:
        return text[:limit], True
    return text, False


def readable(value: Any) -> tuple[str, str]:
    """(text, lexer) for showing a value to read, not to edit: JSON, except that an object
    whose strings hold newlines is shown as YAML with those strings as blocks (`|`), so an
    email body reads as lines rather than one line of `\\n`. Every scalar is a JSON literal
    (valid YAML), with controls as JSON escapes (see json_text); a block's lines are defanged."""
    if not isinstance(value, dict) or not any(isinstance(v, str) and "\n" in v for v in value.values()):
        return json_text(value), "json"
    lines = []
    for key, field in value.items():
        name = json_text(str(key), None)
        if isinstance(field, str) and "\n" in field:
            lines.append(f"{name}: |")
            lines += [f"  {defang(line)}" for line in field.split("\n")]
        else:
            lines.append(f"{name}: {json_text(field, None)}")
    return "\n".join(lines), "yaml"


_MARKDOWN_NOISE = re.compile(r"(\*\*|__|`{1,3}|^#+\s*|^>\s*)", re.MULTILINE)


def plain_markdown(markdown: str) -> str:
    """A Markdown description as plain lines (emphasis, code and heading marks dropped), defanged."""
    lines = [_MARKDOWN_NOISE.sub("", line).rstrip() for line in defang(markdown or "").splitlines()]
    return "\n".join(lines).strip()


def timestamp(iso: str | None) -> str:
    """The one way times are shown, in the TUI and the plain output: `2025-03-10 08:30 UTC`.
    Stored times are ISO 8601 with an offset; they are shown in UTC, with the zone named."""
    if not iso:
        return "?"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return defang(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def summary(markdown: str) -> str:
    """The first line of a Markdown description without emphasis marks, for one-line lists."""
    for line in (markdown or "").splitlines():
        line = _MARKDOWN_NOISE.sub("", line).strip()
        if line:
            return line
    return ""
