"""The full view of one request (`v`): its description, every argument and the thread's
messages, nothing cut. The list and the detail pane keep to one line or a preview and mark
every cut with an ellipsis; this is where the whole text is read before deciding."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from inbox import styles
from inbox.dialog_keys import dialog_bindings
from inbox.keymap import Keys
from inbox.review import InboxItem, short_id
from inbox.text import defang, literal, one_line, readable


def messages_in_full(messages: list) -> Text:
    """Every message, every line of it (literal), with its role."""
    text = Text()
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = one_line(message.get("role", "?"), 12)
        text.append(f"{role}\n", style=styles.ROLES.get(role, styles.ROLE_OTHER))
        content = message.get("content")
        body = content if isinstance(content, str) else ("" if content is None else str(content))
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                body += f"\n→ {call.get('name', '?')}({readable(call.get('args', {}))[0]})"
        text.append(literal(body or "…"))
        text.append("\n\n")
    return text


class FullViewScreen(ModalScreen[None]):
    BINDINGS = dialog_bindings("full")  # inbox/dialog_keys.py

    def __init__(self, item: InboxItem, messages: list, keys: Keys):
        super().__init__()
        self.item = item
        self.messages = messages
        self.keys = keys

    def compose(self) -> ComposeResult:
        item = self.item
        with VerticalScroll(id="dialog", classes="full-dialog"):
            yield Static(Text.assemble(literal(one_line(item.action, 60), styles.STRONG),
                                       (f"  ·  {short_id(item.id)}  ·  ", styles.MUTED),
                                       literal(one_line(item.record.thread_id, 60)),
                                       (f"   {self.keys.label('full.close')} closes", styles.MUTED)),
                         classes="dialog-title")
            yield Static("Description", classes="section-title")
            # Markdown is intended here, but terminal escapes are not.
            yield Markdown(defang(item.description or "_(no description)_"), id="full-description")
            for entry in item.items:
                value = entry.args if item.kind != "question" else entry.raw
                if item.kind == "question" and isinstance(value, str):
                    continue
                title = "Question" if item.kind == "question" else f"Arguments of {one_line(entry.action, 40)}"
                yield Static(title, classes="section-title")
                code, lexer = readable(value)
                yield Static(Syntax(code, lexer, theme="ansi_dark", word_wrap=True, background_color="default"))
            yield Static("Messages", classes="section-title")
            yield Static(messages_in_full(self.messages) if self.messages else
                         Text("No messages in this thread's state.", style=styles.MUTED), id="full-messages")

    def action_close(self) -> None:
        self.dismiss(None)
