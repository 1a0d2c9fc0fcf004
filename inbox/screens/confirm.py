"""A yes/no question before anything irreversible happens: several requests decided at once, or
typed or decided work thrown away by `esc` (`ask_before_discarding`, used by every dialog, so
`esc` means the same everywhere: close, and ask first when something would be lost)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

from inbox import styles
from inbox.keymap import Keys
from inbox.text import literal


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
    BINDINGS = [
        Binding("y", "yes", "Yes", id="confirm.yes"),
        Binding("n,escape", "no", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, detail: str, keys: Keys):
        super().__init__()
        self.keys = keys
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="confirm-dialog"):
            yield Static(literal(self.question, styles.STRONG), classes="dialog-title")
            if self.detail:
                yield Static(literal(self.detail))
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
