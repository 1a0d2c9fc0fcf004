"""Edit a request's arguments as JSON, checked as you type (syntax, then the tool's schema).
Submitting is disabled while the text is invalid. `esc` closes it, asking first when the text
was changed (nothing typed is lost silently); it is a priority binding, so the editor does not
take the first `esc` for itself."""

from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult, SuspendNotSupported
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from inbox import styles
from inbox.dialog_keys import dialog_bindings
from inbox.keymap import Keys
from inbox.edits import diff_summary
from inbox.external_editor import EditorError, edit_text
from inbox.review import schema_errors
from inbox.screens.confirm import ask_before_discarding
from inbox.text import defang, json_text, literal, one_line


def check_args(text: str, schema: dict | None) -> tuple[dict | None, list[str]]:
    """Parsed args and the problems with them (empty when valid)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return None, [f"JSON syntax: {error.msg} at line {error.lineno}, column {error.colno}"]
    if not isinstance(value, dict):
        return None, ["the arguments must be a JSON object, e.g. {\"key\": \"value\"}"]
    problems = schema_errors(value, schema) if schema else []
    return value, problems


class EditArgsScreen(ModalScreen[dict | None]):
    """Returns the edited args, or None when cancelled."""

    BINDINGS = dialog_bindings("edit")  # inbox/dialog_keys.py

    def __init__(self, action: str, args: dict, schema: dict | None, keys: Keys, *, start: dict | None = None):
        """`args`: what the agent asked for; `start`: where editing begins (the reviewer's earlier
        edit, when there is one: reopening the editor never throws it away)."""
        super().__init__()
        self.keys = keys
        self.action_name = action
        self.original = args
        self.start = args if start is None else start
        self.schema = schema
        self.valid_args: dict | None = self.start

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="edit-dialog"):
            submit, cancel = self.keys.label("edit.submit"), self.keys.label("edit.cancel")
            external = self.keys.label("edit.external")
            yield Static(Text.assemble(("Edit arguments of ", ""), literal(one_line(self.action_name, 50), styles.STRONG),
                                       (f"  {submit} submit · {external} $EDITOR · {cancel} cancel", styles.MUTED)),
                         classes="dialog-title")
            # JSON escapes for controls and bidi overrides: visible, and they parse back exactly.
            yield TextArea(json_text(self.start), id="args-editor",
                           soft_wrap=True, show_line_numbers=True, tab_behavior="indent")
            yield Static(id="edit-status")
            yield Button(Text(f"Submit ({submit})"), id="submit", variant="success")

    def on_mount(self) -> None:
        editor = self.query_one("#args-editor", TextArea)
        editor.focus()
        self._validate(editor.text)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._validate(event.text_area.text)

    def _validate(self, text: str) -> None:
        value, problems = check_args(text, self.schema)
        status = self.query_one("#edit-status", Static)
        button = self.query_one("#submit", Button)
        status.set_class(bool(problems), "-error")  # app.tcss colours them from the theme
        status.set_class(not problems, "-ok")
        if problems:
            self.valid_args = None
            status.update(Text("✗ " + "\n✗ ".join(defang(p) for p in problems[:6])))
            button.disabled = True
        else:
            self.valid_args = value
            checked = "matches the tool's schema" if self.schema else "valid JSON (this tool sent no schema)"
            changed = (f" · changes: {diff_summary(self.original, value, 30)}" if value != self.original
                       else " · unchanged")
            status.update(Text(defang(f"✓ {checked}{changed}")))
            button.disabled = False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()

    def action_submit(self) -> None:
        if self.valid_args is None:
            self.notify("Fix the arguments first: the problems are listed under the editor.",
                        severity="warning")
            return
        self.dismiss(self.valid_args)

    def action_external_editor(self) -> None:
        """The text in the reviewer's own editor; it comes back into the dialog, checked."""
        editor = self.query_one("#args-editor", TextArea)
        try:
            with self.app.suspend():
                text = edit_text(editor.text)
        except SuspendNotSupported:
            self.notify("This terminal cannot hand over to an editor; edit here instead.", severity="warning")
            return
        except EditorError as error:
            self.notify(str(error), title="Editor", severity="warning")
            return
        editor.text = text  # on_text_area_changed checks it

    def action_cancel(self) -> None:
        if self.query_one("#args-editor", TextArea).text != json_text(self.start):
            ask_before_discarding(self, "your edit", self.keys)
        else:
            self.dismiss(None)
