"""A yes/no question before anything irreversible happens to several requests at once."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from inbox import styles
from inbox.keymap import Keys
from inbox.text import literal


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
