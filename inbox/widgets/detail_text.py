"""Cheap styling for the detail pane: a Markdown description and the arguments as styled `Text`.

The pane is drawn each time the cursor rests on a request (and ahead, for its neighbours), so
it cannot afford Rich's `Markdown` (a full CommonMark parse, then a renderable per block) and
`Syntax` (pygments' lexers) for each: drawing a demo request ahead cost ~6 ms with them, ~3 ms
with this, and more for long descriptions (bench/README.md, issue 16, session 7). Descriptions are short and use a handful of Markdown
forms (emphasis, inline code, a fenced block, a list, a quote), and the arguments are JSON or
the YAML `readable()` writes, so a few regular expressions give the look an operator needs:
what is emphasised stands out, keys, strings and numbers read apart. Anything else shows as
the characters it is, which is never wrong, only plainer.

Every function takes text that is already defanged (no escapes reach the terminal) and never
parses Rich markup: `[bold]` in an agent's text stays those characters.
"""

from __future__ import annotations

import re

from rich.text import Text

# The colours Rich's `ansi_dark` theme gives these tokens, so the look is what it was.
KEY = "bright_blue"
STRING = "yellow"
NUMBER = "bright_blue"
LITERAL = "bright_blue"
CODE = "bold cyan"             # inline code (Rich's markdown.code, without its black background)
BLOCK = "cyan"                 # a fenced block's lines where no highlighter applies
QUOTE = "magenta"              # Rich's markdown.block_quote
BULLET = "bold yellow"         # Rich's markdown.item.bullet
HEADING = "bold underline"
SQL_KEYWORD = "bright_blue"

# --- the arguments: JSON, or readable()'s YAML ------------------------------------------------------
_JSON_TOKENS = re.compile(
    r'(?P<key>"(?:[^"\\\n]|\\.)*")(?=\s*:)'
    r'|(?P<string>"(?:[^"\\\n]|\\.)*"?)'
    r"|(?P<number>-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)"
    r"|(?P<literal>\b(?:true|false|null)\b)")
_YAML_BLOCK = re.compile(r"^(\s*)(\"(?:[^\"\\]|\\.)*\")(: )\|$")


def code_text(code: str, language: str) -> Text:
    """`code` highlighted for reading: JSON and YAML by their tokens, SQL by its keywords,
    anything else in one colour. Long lines are wrapped where the pane draws them."""
    if language in ("json", "yaml"):
        return _data_text(code, yaml=language == "yaml")
    if language == "sql":
        return _sql_text(code)
    return Text(code, style=BLOCK if language else "")


def _data_text(code: str, yaml: bool) -> Text:
    text = Text(code)
    block_indent: int | None = None  # inside a YAML `|` block: its lines are the string's
    offset = 0
    for line in code.split("\n"):
        end = offset + len(line)
        if yaml and block_indent is not None:
            if line.startswith(" " * block_indent) and len(line) > block_indent or not line.strip():
                text.stylize(STRING, offset, end)
                offset = end + 1
                continue
            block_indent = None
        block = _YAML_BLOCK.match(line) if yaml else None
        if block:
            start = offset + len(block.group(1))
            text.stylize(KEY, start, start + len(block.group(2)))
            block_indent = len(block.group(1)) + 2
        else:
            for match in _JSON_TOKENS.finditer(line):
                text.stylize(_TOKEN_STYLES[match.lastgroup], offset + match.start(), offset + match.end())
        offset = end + 1
    return text


_TOKEN_STYLES = {"key": KEY, "string": STRING, "number": NUMBER, "literal": LITERAL}

_SQL_KEYWORDS = re.compile(
    r"\b(?:select|from|where|and|or|not|in|is|null|insert|into|values|update|set|delete|create|drop|alter|table|"
    r"index|join|left|right|inner|outer|on|group|by|order|having|limit|offset|as|distinct|union|all|case|when|"
    r"then|else|end|returning|begin|commit|rollback|truncate|grant|revoke|with|like|between|exists|asc|desc)\b",
    re.IGNORECASE)
_SQL_STRING = re.compile(r"'(?:[^']|'')*'?")


def _sql_text(code: str) -> Text:
    text = Text(code, style=BLOCK)
    text.highlight_regex(_SQL_KEYWORDS, SQL_KEYWORD)
    text.highlight_regex(_SQL_STRING, STRING)
    return text


# --- the description: a little Markdown ---------------------------------------------------------------
_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\*\*(?P<strong>[^*\n]+?)\*\*|__(?P<strong2>[^_\n]+?)__"
    r"|(?<![\w*])\*(?P<em>[^*\s][^*\n]*?)\*(?![\w*])|(?<![\w_])_(?P<em2>[^_\s][^_\n]*?)_(?![\w_])"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s]+)\)")
_INLINE_STYLES = {"code": CODE, "strong": "bold", "strong2": "bold", "em": "italic", "em2": "italic"}
_FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d+)[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")


def inline_text(source: str, style: str = "") -> Text:
    """One paragraph's inline Markdown: **strong**, *emphasis*, `code`, [a link](address) shown
    as its words and address (never a terminal hyperlink)."""
    text = Text(style=style)
    position = 0
    for match in _INLINE.finditer(source):
        text.append(source[position:match.start()])
        kind = match.lastgroup
        if kind == "url":
            text.append(match.group("label"))
            text.append(f" ({match.group('url')})", style="dim")
        else:
            text.append(match.group(kind), style=_INLINE_STYLES[kind])
        position = match.end()
    text.append(source[position:])
    return text


def markdown_text(source: str) -> Text:
    """A description's Markdown as one Text: paragraphs (their lines joined, as Markdown does),
    headings, lists, quotes and fenced code blocks, separated by blank lines like Rich's."""
    blocks: list[Text] = []
    paragraph: list[str] = []
    lines = source.replace("\r\n", "\n").split("\n")

    def flush() -> None:
        if paragraph:
            blocks.append(inline_text(" ".join(part.strip() for part in paragraph)))
            paragraph.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        fence = _FENCE.match(line)
        if fence:
            flush()
            body = []
            while index < len(lines) and not lines[index].strip().startswith(fence.group(1)):
                body.append(lines[index])
                index += 1
            index += 1  # the closing fence
            # Not indented: the pane wraps a long line back to its first column, and the colour
            # already sets the block apart.
            blocks.append(code_text("\n".join(body), fence.group(2).lower() or "text"))
            continue
        if not line.strip():
            flush()
            continue
        heading, quote, bullet, numbered = _HEADING.match(line), _QUOTE.match(line), _BULLET.match(line), _NUMBERED.match(line)
        if heading:
            flush()
            blocks.append(inline_text(heading.group(2), HEADING))
        elif _RULE.match(line):
            flush()
            blocks.append(Text("─" * 40, style="dim"))
        elif quote:
            flush()
            quoted = [quote.group(1)]
            while index < len(lines) and (more := _QUOTE.match(lines[index])):
                quoted.append(more.group(1))
                index += 1
            body = markdown_text("\n".join(quoted))
            blocks.append(Text("\n").join(Text.assemble(("▌ ", QUOTE), part)
                                          for part in body.split("\n", allow_blank=True)))
        elif bullet or numbered:
            flush()
            items = []
            while True:
                indent = (bullet or numbered).group(1)
                mark = ("• ", BULLET) if bullet else (f"{numbered.group(2)}. ", "yellow")
                words = [(bullet.group(2) if bullet else numbered.group(3))]
                # A list item's following lines (indented, not a new item) belong to it.
                while index < len(lines) and lines[index].strip() and lines[index].startswith((" ", "\t")) \
                        and not _BULLET.match(lines[index]) and not _NUMBERED.match(lines[index]):
                    words.append(lines[index].strip())
                    index += 1
                items.append(Text.assemble(" " + indent, mark, inline_text(" ".join(words))))
                if index >= len(lines):
                    break
                bullet, numbered = _BULLET.match(lines[index]), _NUMBERED.match(lines[index])
                if not (bullet or numbered):
                    break
                index += 1
            blocks.append(Text("\n").join(items))
        else:
            paragraph.append(line)
    flush()
    return Text("\n\n").join(blocks)
