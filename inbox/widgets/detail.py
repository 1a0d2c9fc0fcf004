"""The detail pane: everything about the selected request, and what each key will do to it.

It is redrawn whenever the cursor comes to rest on a request, so it is one widget drawing styled
`Text` into lines it keeps (see DetailPane), not a container of widgets: updating a container's
children relayouts the screen once per child whose height changed, and again when their sizes
settle. The description's Markdown and the arguments' JSON are styled by detail_text's few
regular expressions, not by Rich's `Markdown` and `Syntax` (pygments), which cost about twice
as much a request; the full view, opened on purpose, still renders the description with Textual's
`Markdown` widget.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from rich.text import Text
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual, visualize

from inbox import styles
from inbox.keymap import Keys
from inbox.edits import MISSING, args_diff, sent_args, show_value
from inbox.review import InboxItem, describe_decision, short_id
from inbox.text import defang, literal, one_line, readable, timestamp
from inbox.widgets.detail_text import code_text, markdown_text
from inbox.widgets.item_table import response_key
from inbox.widgets.scroll_size import set_scroll_size

ARGS_PREVIEW_CHARS = 4000
# One vocabulary: the multi-action format's "approve" is shown as "accept".
ACTION_NAMES = {"accept": "accept", "edit": "edit args", "response": "respond", "ignore": "ignore",
                "approve": "accept", "reject": "reject", "respond": "respond"}
# an in-doubt tool call: accepting runs it again, responding marks it done
IN_DOUBT_NAMES = {**ACTION_NAMES, "accept": "retry (run it again)", "response": "mark done (your text is its result)"}


def allowed_lines(item: InboxItem, keys: Keys) -> Text:
    """Each response with its (effective) key; the ones this request's config forbids shown
    struck out, with why."""
    text = Text()
    if item.record.status != "pending":
        if item.record.status in ("resolved", "expired") and not item.record.applied:
            # Recorded, not continued: say who has to act, instead of "nothing to do".
            text.append(f"Decided, but the run has not continued yet: `inbox worker --graph "
                        f"{one_line(item.record.graph or 'NAME', 30)}=module:attr` continues it (or an inbox "
                        "opened with that graph).", style=styles.WARNING)
        else:
            text.append("Decided — nothing more to do here.", style=styles.MUTED)
        return text
    if item.kind == "question":
        text.append(f" {keys.label('respond')} ", style=styles.KEY_ON)
        text.append(" answer (text, or JSON)   ")
        text.append(" ".join(keys.label(b) for b in ("accept", "edit", "ignore")), style=styles.KEY_OFF)
        text.append("  a plain question only takes an answer", style=styles.MUTED)
        if item.record.response_schema is not None:  # interrupt(..., response_schema=...)
            schema = json.dumps(item.record.response_schema, ensure_ascii=False, sort_keys=True)
            text.append("\nThe answer must match this JSON Schema (checked as you type): ", style=styles.NOTE)
            text.append(defang(one_line(schema, 300)))
        return text
    names = ("approve", "edit", "reject", "respond") if item.kind == "hitl" else ("accept", "edit", "response", "ignore")
    if item.needs_stepper:
        text.append(f"{len(item.items)} actions in one request: enter (or {keys.label('accept')}, "
                    f"{keys.label('edit')}, {keys.label('respond')}) opens the stepper to decide each, then "
                    f"{keys.label('step.submit')} sends them together. Allowed per action:\n", style=styles.NOTE)
        for entry in item.items:
            text.append(f"  {entry.index + 1}. {one_line(entry.action, 30)}: ", style=styles.STRONG)
            text.append(", ".join(ACTION_NAMES[n] for n in names if n in entry.allowed) or "nothing")
            text.append("\n")
        return text
    labels = IN_DOUBT_NAMES if item.in_doubt else ACTION_NAMES
    for name in names:
        key = response_key(keys, name, item.allowed)
        if name in item.allowed and key:
            text.append(f" {key} ", style=styles.KEY_ON)
            text.append(f" {labels[name]}   ")
        elif name in item.allowed:  # allowed, but the list has no key for it (respond takes r)
            text.append(f" {labels[name]}: no key here   ", style=styles.MUTED)
        else:
            text.append(f" {key} {labels[name]} ".replace("  ", " "), style=styles.KEY_OFF)
            text.append("  ")
    missing = [labels[n] for n in names if n not in item.allowed]
    if missing:
        text.append("\n")
        text.append(f"Not allowed by this request's config: {', '.join(missing)}.", style=styles.MUTED)
    return text


def header_text(item: InboxItem, age: str) -> Text:
    record = item.record
    text = Text()
    text.append(one_line(item.action, 60), style=styles.STRONG)
    text.append("  ·  ")
    text.append(literal(one_line(record.thread_id, 40)))
    if record.graph:
        text.append(f"  ·  {one_line(record.graph, 30)}", style=styles.MUTED)
    text.append(f"\nid {short_id(record.id)} · raised by node {one_line(record.node or '?', 30)} · {age} ago",
                style=styles.MUTED)
    if record.deadline:
        text.append(f" · deadline {timestamp(record.deadline)}",
                    style=styles.WARNING_STRONG if record.overdue else styles.MUTED)
        if record.overdue:
            text.append("  ⚠ OVERDUE", style=styles.WARNING_STRONG)
    if item.error and item.fresh_run:
        text.append("\na new run was started on this thread (its id reused) and failed at its start; "
                    "the decision below is from an earlier run and did not cause it: ", style=styles.ERROR_STRONG)
        text.append(literal(item.error, styles.ERROR))
    elif item.error:
        text.append("\nthe run failed after this decision: ", style=styles.ERROR_STRONG)
        text.append(literal(item.error, styles.ERROR))
    if record.status != "pending":
        text.append(f"\n{record.status} by {one_line(record.resolved_by or '?', 30)} at "
                    f"{timestamp(record.resolved_at)}", style=styles.OK_STRONG)
        if record.response is not None:
            text.append(f"\n{one_line(describe_decision(record), 100)}", style=styles.OK)
    return text


def diff_text(before: dict, after: dict) -> Text:
    """An edit as lines: `- key: old` (what the agent asked) and `+ key: new` (what was sent)."""
    text = Text()
    changes = args_diff(before, after)
    if not changes:
        text.append("  (sent unchanged)\n", style=styles.MUTED)
    for key, old, new in changes:
        if old is not MISSING:
            text.append(f"  - {one_line(key, 30)}: {defang(show_value(old, 400))}\n", style=styles.ERROR)
        if new is not MISSING:
            text.append(f"  + {one_line(key, 30)}: {defang(show_value(new, 400))}\n", style=styles.OK)
    return text


def args_renderable(item: InboxItem, expanded: bool, keys: Keys) -> Text:
    parts: list[Text] = []
    edited = sent_args(item.record.response) if item.record.status == "resolved" else {}
    for entry in item.items:
        if entry.index in edited and isinstance(entry.args, dict):
            parts.append(Text(f"{one_line(entry.action, 40)}: edited (- asked for, + sent); below, the arguments as sent:",
                              style=styles.WARNING_STRONG))
            diff = diff_text(entry.args, edited[entry.index])
            diff.rstrip()  # its lines end in newlines; the parts are joined by one
            parts.append(diff)
        value = entry.args if item.kind != "question" else entry.raw
        if entry.index in edited:
            value = edited[entry.index]  # the JSON below is what was sent
        full, lexer = readable(value)  # multi-line strings as real lines
        code = full if expanded else full[:ARGS_PREVIEW_CHARS]
        if item.needs_stepper:
            parts.append(Text(f"{entry.index + 1}. {one_line(entry.action, 40)}", style=styles.STRONG))
        parts.append(code_text(code, lexer))
        if len(code) < len(full):
            parts.append(Text(f"… {len(full) - len(code):,} more characters — press {keys.label('expand')} to expand",
                              style=styles.WARNING_STRONG))
    return Text("\n").join(parts)


def description_markdown(description: str) -> Text:
    """Markdown is intended in a description, but terminal escapes are not; a link shows its
    address instead of becoming a terminal hyperlink. Styled by detail_text, not parsed by
    Rich's Markdown (drawn for every request the cursor passes or rests next to)."""
    return markdown_text(defang(description))


def messages_text(messages: list) -> Text:
    text = Text()
    for message in messages[-6:]:
        if not isinstance(message, dict):
            continue
        role = one_line(message.get("role", "?"), 9)
        text.append(f"{role:>9} ", style=styles.ROLES.get(role, styles.ROLE_OTHER))
        content = message.get("content") or ""
        calls = message.get("tool_calls") or []
        line = one_line(content, 100) if content else ""
        if calls:
            line += ("  " if line else "") + "→ " + ", ".join(one_line(c.get("name", "?"), 30) for c in calls)
        text.append(literal(line or "…"))
        text.append("\n")
    return text


SECTIONS = ("header", "allowed", "description", "args", "messages")  # in the wide layout's order
KEPT_SECTIONS = 256  # rendered sections kept for requests shown again (about 60 requests)
TITLES = {"allowed": "Responses", "description": "Description", "args": "Arguments", "messages": "Recent messages"}


class DetailPane(ScrollView, can_focus=True):
    """Shows one InboxItem; `show(None)` shows the empty state. `keys`: the effective keys, for the hints.

    One widget whose lines are rendered when the request changes and kept (a section's lines
    until that section changes, all of them until the width changes), so scrolling and repainting
    render nothing, and showing another request lays nothing out (its scroll bar is always
    shown). `prepare` renders a request's lines ahead, for the cursor's neighbours."""

    COMPONENT_CLASSES = {"detail-pane--title"}
    # The vertical scroll bar is always shown (an empty track when everything fits): a bar that
    # came and went with the request's length laid out the whole screen at every such move,
    # half the moves in the demo, and shifted the text by a column.
    DEFAULT_CSS = """
    DetailPane {
        overflow-y: scroll;
    }
    DetailPane > .detail-pane--title {
        color: $text-muted;
        text-style: bold underline;
    }
    """

    def __init__(self, keys: Keys, **kwargs):
        super().__init__(**kwargs)
        self.keys = keys
        self.narrow = False
        self.titles: dict[str, Text] = {}  # name -> its title, for the sections that have one
        self._sources: dict[str, Callable[[], Any] | None] = {}  # name -> what builds its renderable (None: not shown)
        self._built: dict[str, Any] = {}  # name -> its renderable, once built
        self._strips: dict[str, tuple[int, list[Strip]]] = {}  # name -> (width, its rendered lines)
        self._lines: list[Strip] = []
        self._width = 0
        self._keys: dict[str, tuple] = {}  # name -> what the shown section's lines depend on
        self._kept: dict[tuple, list[Strip]] = {}  # (name, its key, width) -> lines, the last KEPT_SECTIONS
        self._title_lines: dict[tuple, list[Strip]] = {}  # (title, width) -> its lines
        self._styled: dict[int, Strip] = {}  # line index -> the line as painted, with `_styled_with`
        self._styled_with: Any = None  # the pane's style the painted lines were made with
        self._paint_style: Any = None  # the pane's style, read once per repaint (render_lines)

    @property
    def sections(self) -> dict[str, Any]:
        """The shown sections: name -> its renderable (None: not shown)."""
        return {name: self._renderable(name) for name in self._sources}

    def _renderable(self, name: str) -> Any:
        source = self._sources.get(name)
        if source is None:
            return None
        if name not in self._built:
            self._built[name] = source()
        return self._built[name]

    @property
    def order(self) -> tuple[str, ...]:
        """The sections top to bottom. Narrow: the description right under the header."""
        if self.narrow:
            return ("header", "description", "allowed", "args", "messages")
        return SECTIONS

    def set_narrow(self, narrow: bool) -> None:
        self.narrow = narrow
        self._relayout()

    def show(self, item: InboxItem | None, age: str = "", expanded: bool = False, messages: list | None = None) -> None:
        """Show `item` (None: the empty state) and its thread's `messages` (None: not known yet)."""
        self.scroll_to(y=0, animate=False, immediate=True)
        if item is None:
            self._keys = {}
            empty = Text("Nothing selected.\nPending requests appear on the left as agents raise them.", style=styles.MUTED)
            self._set(header=lambda: empty, allowed=None, description=None, args=None, messages=None)
            return
        keys, titles, sources = self._describe(item, age, expanded)
        self._keys = keys
        self.titles.update(titles)
        self._set(**sources, messages=(lambda: messages_text(messages)) if messages else None)

    def show_messages(self, messages: list) -> None:
        self._set(messages=(lambda: messages_text(messages)) if messages else None)

    def prepare(self, item: InboxItem, age: str = "", expanded: bool = False) -> None:
        """Render `item`'s sections into the kept lines without showing it: the cursor resting
        next to it moves to it without rendering (all but its messages) behind the key."""
        if not self.is_mounted or not self.size.width:
            return
        keys, titles, sources = self._describe(item, age, expanded)
        self._join(self.scrollable_content_region.width, sources, keys, titles, {})

    def _describe(self, item: InboxItem, age: str, expanded: bool) -> tuple[dict, dict, dict]:
        """What `item`'s sections depend on (their keys), their titles, and what builds each."""
        description = item.description if item.kind != "question" else (
            item.items[0].description or f"A question from the agent: answer it with **{self.keys.label('respond')}**.")
        if item.items[0].problem:
            description = f"{description}\n\n> {item.items[0].problem}"
        plain_question = item.kind == "question" and isinstance(item.record.payload, str)
        # A question asked in words is already the description; show JSON questions as JSON.
        titles = {"args": Text.assemble("Question" if item.kind == "question" else "Arguments",
                                        (f"  ({self.keys.label('full_view')}: view all)", "not bold not underline"))}
        # What each section's lines depend on: the same request shown again (k after j) reuses them.
        record = item.record
        keys = {"header": (record.id, record.status, record.resolved_at, record.resolved_by, record.overdue,
                           item.error, item.fresh_run, age),
                "allowed": (record.id, record.status, record.applied, item.in_doubt),
                "description": (record.id,),
                "args": (record.id, record.status, expanded, plain_question)}
        sources = {"header": lambda: header_text(item, age), "allowed": lambda: allowed_lines(item, self.keys),
                   "description": lambda: description_markdown(description or "_(no description)_"),
                   "args": None if plain_question else (lambda: args_renderable(item, expanded, self.keys))}
        return keys, titles, sources

    # --- rendering --------------------------------------------------------------------------------
    def _set(self, **sources: Callable[[], Any] | None) -> None:
        for name, source in sources.items():
            self._sources[name] = source
            self._built.pop(name, None)
            self._strips.pop(name, None)
        self._relayout()

    def _relayout(self) -> None:
        """Join the sections' lines (rendering those not rendered at this width) and size the scroll area."""
        if not self.is_mounted or not self.size.width:
            return
        width = self.scrollable_content_region.width  # the scroll bar's column is always kept (DEFAULT_CSS)
        lines = self._join(width, self._sources, self._keys, self.titles, self._strips)
        changed = self._changed_rows(lines) if width == self._width else None
        self._lines, self._width = lines, width
        if changed is None:
            self._styled = {}
        else:  # the painted lines still shown as they were (in view, unchanged) are kept
            top, height = int(self.scroll_y), self.scrollable_content_region.height
            self._styled = {index: line for index, line in self._styled.items()
                            if 0 <= index - top < height and index - top not in changed}
        set_scroll_size(self, Size(width, len(lines)))  # the scroll bar is always there: no layout of the screen
        if changed is None:
            self.refresh()
        else:  # only the rows that read differently are painted again (the titles, blank lines stay)
            self.refresh(*(Region(0, y, width, 1) for y in changed))

    def _changed_rows(self, lines: list[Strip]) -> list[int]:
        """The rows in view whose line differs between the shown lines and `lines`."""
        top, old = int(self.scroll_y), self._lines
        rows = []
        for y in range(self.scrollable_content_region.height):
            index = top + y
            before = old[index] if index < len(old) else None
            after = lines[index] if index < len(lines) else None
            if before is not after and before != after:
                rows.append(y)
        return rows

    def _join(self, width: int, sources: dict, keys: dict, titles: dict, strips: dict) -> list[Strip]:
        """The sections' lines at `width`: from `strips` (the shown sections'), else the kept
        lines, else rendered (and kept)."""
        lines: list[Strip] = []
        for name in self.order:
            if sources.get(name) is None:
                continue
            cached = strips.get(name)
            if cached is None or cached[0] != width:
                kept = (name, keys.get(name), width)
                section = self._kept.get(kept) if kept[1] is not None else None
                if section is None:
                    title = [] if name == "header" else self._title_strips(name, titles.get(name), width)
                    renderable = self._renderable(name) if sources is self._sources else sources[name]()
                    section = title + self._render(renderable, width)
                    if kept[1] is not None:
                        self._kept[kept] = section
                        if len(self._kept) > KEPT_SECTIONS:
                            del self._kept[next(iter(self._kept))]  # the oldest
                cached = strips[name] = (width, section)
            lines.extend(cached[1])
        return lines

    def _title_strips(self, name: str, title: Text | None, width: int) -> list[Strip]:
        """A blank line and the section's title (the same few titles at every request: kept)."""
        key = (name, title.markup if title is not None else None, width)
        lines = self._title_lines.get(key)
        if lines is None:
            lines = self._title_lines[key] = [Strip.blank(width), *self._render(self._title(name, title), width)]
        return lines

    def _title(self, name: str, title: Text | None = None) -> Text:
        title = title or Text(TITLES[name])
        return Text.assemble(title, style=self.get_component_rich_style("detail-pane--title"))

    def _render(self, renderable: Any, width: int) -> list[Strip]:
        # As a Static would draw it (Textual's own rendering of Text, Rich's of the rest).
        visual = visualize(self, renderable, markup=False)
        return Visual.to_strips(self, visual, width, None, self.visual_style)

    def on_resize(self) -> None:
        self._relayout()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme) -> None:
        self._kept.clear()  # drawn in the old theme's colours
        self._title_lines.clear()
        self._strips.clear()
        self._width = 0  # every line repainted
        self._relayout()

    def render_lines(self, crop) -> list[Strip]:
        self._paint_style = self.rich_style  # once per repaint, not once per line
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        index = y + int(self.scroll_y)
        style = self._paint_style if self._paint_style is not None else self.rich_style
        if index >= len(self._lines):
            return Strip.blank(self._width, style)
        if style != self._styled_with:
            self._styled, self._styled_with = {}, style
        line = self._styled.get(index)
        if line is None:  # painted once per request shown (and style): scrolling reuses it
            line = self._styled[index] = self._lines[index].crop_extend(0, self._width, style).apply_style(style)
        return line
