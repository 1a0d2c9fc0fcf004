"""`?`: every key, what it does, and the binding id to remap it in the config file."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from inbox import styles
from inbox.dialog_keys import dialog_bindings
from inbox.config import config_path
from inbox.keymap import Keys
from inbox.text import literal


def _home_relative(path) -> str:
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if home != "/" and text.startswith(home) else text


class HelpScreen(ModalScreen[None]):
    BINDINGS = dialog_bindings("help")  # inbox/dialog_keys.py

    def __init__(self, rows: list[tuple[str, str, str]], keys: Keys):
        super().__init__()
        self.rows = rows
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table(show_edge=False, pad_edge=False, expand=True)
        table.add_column("Key", style=styles.KEY_NAME, no_wrap=True)
        table.add_column("Does")
        table.add_column("Binding id (remap it)", style=styles.MUTED)
        for keys, description, binding_id in self.rows:
            # Text cells: a Table parses str cells as markup, and keys come from the config file.
            table.add_row(literal(keys), literal(description), literal(binding_id))
        with VerticalScroll(id="dialog", classes="help-dialog"):
            yield Static(Text(f"Keys  ·  {self.keys.label('help.close')} closes", style=styles.STRONG),
                         classes="dialog-title")
            yield Static(table)
            yield Static(Text(
                f"\nRemap any key in {_home_relative(config_path())} under [keys], e.g.  accept = \"y\"\n"
                "or with an environment variable, e.g.  INBOX_KEY_ACCEPT=y", style=styles.MUTED))

    def action_close(self) -> None:
        self.dismiss(None)
