"""Rules: the Rules screen (every active rule, `d` revokes one after a confirm) and the dialog
that proposes "always accept this" from a request (`p`): scoped by tool, an optional argument
pattern (`path prefix /tmp/`, `amount below 100`, `region equals eu-west-1`), this thread or
everywhere, and an optional expiry. The store applies rules when a request is raised
(engine/checkpoint/rules.py); the dialog only builds one, through ReviewService."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static, Switch

from inbox import styles
from inbox.dialog_keys import dialog_bindings
from inbox.keymap import Keys
from inbox.review import InboxItem, NeedsStore, ReviewService, describe_rule
from inbox.screens.confirm import ConfirmScreen, ask_before_discarding
from inbox.text import literal, one_line, timestamp

PATTERN_OPS = ("prefix", "below", "equals")


def suggest_pattern(args: dict | None) -> str:
    """A starting pattern from the request's first argument: a path's folder, an amount's
    next round limit, or the value itself."""
    for name, value in (args or {}).items():
        if isinstance(value, str) and "/" in value:
            return f"{name} prefix {value[: value.rfind('/') + 1]}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            limit = 10 ** len(str(int(abs(value))))
            return f"{name} below {limit}"
        if isinstance(value, str):
            return f"{name} equals {value}"
    return ""


def parse_pattern(text: str) -> tuple[str | None, str | None, Any]:
    """`ARG OP VALUE` -> (arg, op, value); "" -> no pattern. ValueError says how to write one."""
    text = text.strip()
    if not text:
        return None, None, None
    parts = text.split(None, 2)
    if len(parts) != 3 or parts[1] not in PATTERN_OPS:
        raise ValueError("write the pattern as ARG OP VALUE with OP one of prefix, below, equals "
                         "(e.g. path prefix /tmp/, amount below 100), or leave it empty")
    arg, op, raw = parts
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return arg, op, value


class ProposeRuleScreen(ModalScreen[dict | None]):
    """Returns {"arg", "op", "value", "thread_id", "hours"} for a new rule, or None."""

    BINDINGS = dialog_bindings("rule")  # inbox/dialog_keys.py

    def __init__(self, item: InboxItem, keys: Keys):
        super().__init__()
        self.item = item
        self.keys = keys
        self.suggested = suggest_pattern(item.items[0].args)

    def compose(self) -> ComposeResult:
        entry = self.item.items[0]
        with Vertical(id="dialog", classes="rule-dialog"):
            yield Static(Text.assemble(("Always accept ", styles.STRONG), literal(one_line(entry.action, 40), styles.STRONG),
                                       (f"  {self.keys.label('rule.submit')} add · {self.keys.label('rule.cancel')} "
                                        "cancel", styles.MUTED)), classes="dialog-title")
            yield Static(Text("Requests for this tool that match are accepted when they are raised, before anyone "
                              "sees them; each is audited as decided by the rule. A request whose config forbids "
                              "accept is never answered by a rule.", style=styles.MUTED))
            yield Static("Argument pattern (ARG prefix|below|equals VALUE; empty: any arguments)")
            yield Input(self.suggested, id="rule-pattern")
            with Horizontal(classes="json-row"):
                yield Switch(value=False, id="rule-thread")
                yield Static(literal(f"only on thread {one_line(self.item.record.thread_id, 40)} (off: everywhere)"))
            yield Static("Expires after hours (empty: never)")
            yield Input("", id="rule-hours", placeholder="e.g. 8")
            yield Static(id="rule-status")

    def on_mount(self) -> None:
        self.query_one("#rule-pattern", Input).focus()

    def _values(self) -> dict:
        arg, op, value = parse_pattern(self.query_one("#rule-pattern", Input).value)
        hours_text = self.query_one("#rule-hours", Input).value.strip()
        hours = None
        if hours_text:
            try:
                hours = float(hours_text)
            except ValueError:
                raise ValueError(f"expiry {hours_text!r} is not a number of hours") from None
            if hours <= 0:
                raise ValueError("the expiry must be more than 0 hours (or empty: never)")
        return {"arg": arg, "op": op, "value": value, "hours": hours,
                "thread_id": self.item.record.thread_id if self.query_one("#rule-thread", Switch).value else None}

    def action_submit(self) -> None:
        try:
            values = self._values()
        except ValueError as error:
            status = self.query_one("#rule-status", Static)
            status.set_class(True, "-error")
            status.update(Text(f"✗ {error}"))
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        typed = (self.query_one("#rule-pattern", Input).value != self.suggested
                 or self.query_one("#rule-hours", Input).value.strip())
        if typed:
            ask_before_discarding(self, "this rule", self.keys)
        else:
            self.dismiss(None)


class RulesScreen(ModalScreen[None]):
    """The active rules; `d` revokes the selected one after a confirm."""

    BINDINGS = dialog_bindings("rules")

    def __init__(self, service: ReviewService, keys: Keys):
        super().__init__()
        self.service = service
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="rules-dialog"):
            yield Static(Text.assemble(("Rules", styles.STRONG), (
                f"  ·  {self.keys.label('rules.revoke')} revokes the selected one · {self.keys.label('rules.close')} "
                "closes · add one from a request with p, or `inbox rules add`", styles.MUTED)), classes="dialog-title")
            yield DataTable(id="rules-table", cursor_type="row")
            yield Static(id="rules-empty")

    def on_mount(self) -> None:
        table = self.query_one("#rules-table", DataTable)
        for label in ("Id", "By", "Since", "Accepts"):  # the long one last: nothing pushed out of sight
            table.add_column(label)
        self.load()

    @work(exit_on_error=False, exclusive=True, group="rules")
    async def load(self) -> None:
        try:
            rules = await self.service.rules()
        except NeedsStore as error:  # a remote inbox: rules live in the server's database
            self.query_one("#rules-empty", Static).update(Text(str(error), style=styles.MUTED))
            return
        table = self.query_one("#rules-table", DataTable)
        table.clear()
        for rule in rules:
            table.add_row(literal(rule["id"]), literal(one_line(rule["created_by"], 20)),
                          literal(timestamp(rule["created_at"])), literal(describe_rule(rule)), key=rule["id"])
        self.query_one("#rules-empty", Static).update(Text("No rules: every request waits for a person.",
                                                           style=styles.MUTED) if not rules else "")
        table.focus()

    def action_revoke(self) -> None:
        table = self.query_one("#rules-table", DataTable)
        if not table.row_count:
            self.notify("No rule to revoke.", severity="warning")
            return
        rule_id = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

        def answered(yes: bool | None) -> None:
            if yes:
                self.revoke(rule_id)
        self.app.push_screen(ConfirmScreen(f"Revoke rule {rule_id}?", "Requests it would accept wait for a person "
                                           "again. The rule stays in the log, marked revoked by you.", self.keys),
                             answered)

    @work(exit_on_error=False, group="rules")
    async def revoke(self, rule_id: str) -> None:
        rule = await self.service.revoke_rule(rule_id)
        self.notify(f"Revoked {rule['id']}: {describe_rule(rule)}")
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
