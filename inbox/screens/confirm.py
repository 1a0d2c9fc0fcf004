"""A yes/no question before anything irreversible happens: several requests decided at once, or
typed or decided work thrown away by `esc` (`ask_before_discarding`, used by every dialog, so
`esc` means the same everywhere: close, and ask first when something would be lost)."""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

from inbox import styles
from inbox.dialog_keys import dialog_bindings
from inbox.keymap import Keys
from inbox.edits import show_value
from inbox.review import InboxItem
from inbox.text import literal, one_line


def key_arguments(item: InboxItem, width: int = 160) -> str:
    """The first arguments of a request as `key=value`, cut with an ellipsis: what a reviewer
    checks in a bulk confirm (the amount, the target, the environment)."""
    args = item.items[0].args if item.kind != "question" else None
    if not isinstance(args, dict) or not args:
        return ""
    return one_line(", ".join(f"{k}={show_value(v, 40)}" for k, v in args.items()), width)


def bulk_listing(items: list[InboxItem], left_out: Callable[[InboxItem], str | None]) -> Text:
    """What a bulk accept includes (action, thread, key arguments) and what it leaves out and why."""
    included = [i for i in items if left_out(i) is None]
    skipped = [(i, left_out(i)) for i in items if left_out(i) is not None]
    text = Text()
    text.append(f"Accepts {len(included)}:\n" if included else "Accepts nothing:\n", style=styles.STRONG)
    for item in included:
        text.append("  ✓ ", style=styles.OK)
        text.append(literal(f"{one_line(item.action, 18):<18} {one_line(item.record.thread_id, 26):<26} ", styles.STRONG))
        text.append(literal(key_arguments(item)))
        text.append("\n")
    if skipped:
        text.append(f"Leaves out {len(skipped)} (they stay pending and marked):\n", style=styles.STRONG)
        for item, why in skipped:
            text.append("  – ", style=styles.WARNING)
            text.append(literal(f"{one_line(item.action, 18):<18} {one_line(item.record.thread_id, 26):<26} {why}"))
            text.append("\n")
    text.append("Each run continues as soon as it is accepted.", style=styles.MUTED)
    return text


def ask_before_discarding(dialog: Screen, what: str, keys: Keys) -> None:
    """`esc` on a dialog holding work (`what`: "your edit", "2 decisions"): ask, and close the
    dialog with None only on yes; no (or `esc` again) goes back to the work."""
    def answered(yes: bool | None) -> None:
        if yes:
            dialog.dismiss(None)
    dialog.app.push_screen(ConfirmScreen(f"Discard {what}?", f"Nothing has been sent. {keys.label('confirm.yes')} "
                                         f"discards it and closes; {keys.label('confirm.no')} goes back to it.", keys),
                           answered)


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = dialog_bindings("confirm")  # inbox/dialog_keys.py

    def __init__(self, question: str, detail: str | Text, keys: Keys):
        """`detail`: a string (shown literally) or a Text built from literal parts; a long one scrolls."""
        super().__init__()
        self.keys = keys
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="confirm-dialog"):
            yield Static(literal(self.question, styles.STRONG), classes="dialog-title")
            if self.detail:
                with VerticalScroll(classes="confirm-detail"):
                    yield Static(self.detail if isinstance(self.detail, Text) else literal(self.detail))
            with Horizontal(classes="buttons"):
                yield Button(Text(f"Yes ({self.keys.label('confirm.yes')})"), id="yes", variant="success")
                yield Button(Text(f"No ({self.keys.label('confirm.no')})"), id="no", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
