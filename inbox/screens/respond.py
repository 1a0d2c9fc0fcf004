"""Answer with text: a response to the agent (the tool does not run), or the answer to a plain
question (which may also be JSON). When the question's interrupt has a `response_schema`, the
answer is checked against it as you type, and sending is disabled until it fits. `esc` closes
it, asking first when something was typed."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static, Switch, TextArea

from inbox import styles
from inbox.dialog_keys import dialog_bindings
from inbox.keymap import Keys
from inbox.review import schema_errors
from inbox.screens.confirm import ask_before_discarding
from inbox.text import defang, literal, one_line


class RespondScreen(ModalScreen[Any]):
    """Returns the answer (a string, or a JSON value when "send as JSON" is on), or None."""

    BINDINGS = dialog_bindings("respond")  # inbox/dialog_keys.py

    def __init__(self, title: str, prompt: str, allow_json: bool, keys: Keys, schema: dict | None = None, *,
                 presets: list[str] | None = None, allow_empty: bool = False):
        """`schema`: the interrupt's response_schema, which answers must fit; `presets`: reasons
        the reviewer can put in with one key (the config's reject_reasons); `allow_empty`:
        sending nothing is a valid answer (a reject without a reason): "" is returned."""
        super().__init__()
        self.keys = keys
        self.title_text = title
        self.prompt = prompt
        self.allow_json = allow_json
        self.presets = list(presets or [])
        self.allow_empty = allow_empty
        self._preset = -1
        self.schema = schema  # the interrupt's response_schema: answers must fit it

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="respond-dialog"):
            send, cancel = self.keys.label("respond.submit"), self.keys.label("respond.cancel")
            yield Static(Text.assemble(literal(one_line(self.title_text, 70), styles.STRONG),
                                       (f"  {send} send · {cancel} cancel", styles.MUTED)), classes="dialog-title")
            yield Static(literal(self.prompt, styles.MUTED))
            if self.presets:
                yield Static(Text.assemble((f"{self.keys.label('respond.preset')} puts in a preset reason: ", styles.MUTED),
                                           literal(" · ".join(self.presets))), id="presets")
            yield TextArea(id="answer", soft_wrap=True)
            if self.allow_json:
                with Horizontal(classes="json-row"):
                    # an answer the schema wants as something other than text starts as JSON
                    yield Switch(value=bool(self.schema) and self.schema.get("type") != "string", id="as-json")
                    yield Static(Text(f"send as JSON ({self.keys.label('respond.json')}) — "
                                      'e.g. 42, true, {"region": "eu-west-1"}'))
            yield Static(id="respond-status")
            yield Button(Text(f"Send ({send})"), id="submit", variant="success", disabled=not self.allow_empty)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def _as_json(self) -> bool:
        return self.allow_json and self.query_one("#as-json", Switch).value

    def _answer(self) -> tuple[Any, str | None]:
        text = self.query_one(TextArea).text
        if not text.strip():
            return ("", None) if self.allow_empty else (None, "write an answer first")
        if self._as_json():
            try:
                answer = json.loads(text)
            except json.JSONDecodeError as error:
                return None, f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        else:
            answer = text
        problems = schema_errors(answer, self.schema, "answer") if self.schema else []
        if problems:
            return None, "the answer does not fit the requested schema: " + "; ".join(problems[:4])
        return answer, None

    def _refresh_status(self) -> None:
        answer, problem = self._answer()
        self.query_one("#submit", Button).disabled = problem is not None
        status = self.query_one("#respond-status", Static)
        shown = bool(problem and answer is None and self.query_one(TextArea).text.strip())
        status.set_class(shown, "-error")  # app.tcss colours it from the theme
        if shown:
            status.update(Text(f"✗ {defang(problem)}"))
        elif self.schema and answer is not None:
            status.update(Text("✓ fits the requested schema"))
        else:
            status.update("")
        status.set_class(bool(self.schema) and not shown and answer is not None, "-ok")

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._refresh_status()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._refresh_status()

    def action_next_preset(self) -> None:
        if not self.presets:
            self.notify("No preset reasons: add reject_reasons = [\"...\"] to the config file.", severity="warning")
            return
        self._preset = (self._preset + 1) % len(self.presets)
        self.query_one(TextArea).text = self.presets[self._preset]

    def action_toggle_json(self) -> None:
        if self.allow_json:
            switch = self.query_one("#as-json", Switch)
            switch.value = not switch.value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()

    def action_submit(self) -> None:
        answer, problem = self._answer()
        if problem:
            self.notify(f"Not sent: {problem}.", severity="warning")
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        if self.query_one(TextArea).text.strip():
            ask_before_discarding(self, "your answer", self.keys)
        else:
            self.dismiss(None)
