"""The detail pane: everything about the selected request, and what each key will do to it."""

from __future__ import annotations

import json

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from inbox import styles
from inbox.keymap import Keys
from inbox.edits import MISSING, args_diff, sent_args, show_value
from inbox.review import InboxItem, describe_decision, short_id
from inbox.text import defang, literal, one_line, readable, timestamp
from inbox.widgets.item_table import response_key

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


def args_renderable(item: InboxItem, expanded: bool, keys: Keys):
    parts = []
    edited = sent_args(item.record.response) if item.record.status == "resolved" else {}
    for entry in item.items:
        if entry.index in edited and isinstance(entry.args, dict):
            parts.append(Text(f"{one_line(entry.action, 40)}: edited (- asked for, + sent); below, the arguments as sent:",
                              style=styles.WARNING_STRONG))
            parts.append(diff_text(entry.args, edited[entry.index]))
        value = entry.args if item.kind != "question" else entry.raw
        if entry.index in edited:
            value = edited[entry.index]  # the JSON below is what was sent
        full, lexer = readable(value)  # multi-line strings as real lines
        code = full if expanded else full[:ARGS_PREVIEW_CHARS]
        if item.needs_stepper:
            parts.append(Text(f"{entry.index + 1}. {one_line(entry.action, 40)}", style=styles.STRONG))
        parts.append(Syntax(code, lexer, theme="ansi_dark", word_wrap=True, background_color="default"))
        if len(code) < len(full):
            parts.append(Text(f"… {len(full) - len(code):,} more characters — press {keys.label('expand')} to expand",
                              style=styles.WARNING_STRONG))
    return Group(*parts)


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


class DetailPane(VerticalScroll):
    """Shows one InboxItem; `show(None)` shows the empty state. `keys`: the effective keys, for the hints."""

    def __init__(self, keys: Keys, **kwargs):
        super().__init__(**kwargs)
        self.keys = keys

    def compose(self):
        yield Static(id="detail-header")
        yield Static("Responses", classes="section-title", id="responses-title")
        yield Static(id="detail-allowed")
        yield Static("Description", classes="section-title", id="description-title")
        yield Markdown(id="detail-description")
        yield Static("Arguments", classes="section-title", id="args-title")
        yield Static(id="detail-args")
        yield Static("Recent messages", classes="section-title", id="messages-title")
        yield Static(id="detail-messages")

    def set_narrow(self, narrow: bool) -> None:
        """Narrow: the description right under the header, before the responses."""
        first, then = (("#description-title", "#detail-description"), ("#responses-title", "#detail-allowed"))
        if not narrow:
            first, then = then, first
        header = self.query_one("#detail-header")
        for selector in reversed((*first, *then)):
            self.move_child(self.query_one(selector), after=header)

    def show(self, item: InboxItem | None, age: str = "", expanded: bool = False) -> None:
        header = self.query_one("#detail-header", Static)
        for title in self.query(".section-title"):
            title.display = item is not None
        if item is None:
            header.update(Text("Nothing selected.\nPending requests appear on the left as agents raise them.",
                               style=styles.MUTED))
            for name in ("#detail-args", "#detail-allowed", "#detail-messages"):
                self.query_one(name, Static).update("")
            self.query_one("#detail-description", Markdown).update("")
            return
        header.update(header_text(item, age))
        description = item.description if item.kind != "question" else (
            item.items[0].description or f"A question from the agent: answer it with **{self.keys.label('respond')}**.")
        if item.items[0].problem:
            description = f"{description}\n\n> {item.items[0].problem}"
        # Markdown is intended here, but terminal escapes are not.
        self.query_one("#detail-description", Markdown).update(defang(description or "_(no description)_"))
        plain_question = item.kind == "question" and isinstance(item.record.payload, str)
        # A question asked in words is already the description; show JSON questions as JSON.
        self.query_one("#args-title", Static).display = not plain_question
        self.query_one("#args-title", Static).update(Text.assemble(
            "Question" if item.kind == "question" else "Arguments",
            (f"  ({self.keys.label('full_view')}: view all)", "not bold not underline")))
        self.query_one("#detail-args", Static).update("" if plain_question else args_renderable(item, expanded, self.keys))
        self.query_one("#detail-allowed", Static).update(allowed_lines(item, self.keys))

    def show_messages(self, messages: list) -> None:
        self.query_one("#messages-title", Static).display = bool(messages)
        self.query_one("#detail-messages", Static).update(messages_text(messages))
