"""`t` / enter: one thread in full: its state values, messages, checkpoint history and the
decisions taken on it."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from inbox import styles
from inbox.dialog_keys import dialog_bindings
from inbox.keymap import Keys
from inbox.review import ThreadView, describe_decision, short_id
from inbox.text import literal, one_line, pretty_json, timestamp
from inbox.widgets.detail import messages_text


def _history_table(view: ThreadView) -> Table:
    table = Table(show_edge=False, pad_edge=False, expand=True)
    for name in ("step", "source", "next", "created", "checkpoint"):
        table.add_column(name, style=styles.MUTED if name == "checkpoint" else "")
    for entry in view.history:
        # Every cell a Text: a Table parses str cells as markup, and these come from the store.
        table.add_row(literal(entry["step"]), literal(entry["source"]), literal(", ".join(entry["next"]) or "—"),
                      literal(timestamp(entry["created"])),
                      literal("…" + str(entry["checkpoint_id"])[-12:]))
    return table


def _decisions_table(view: ThreadView) -> Table | Text:
    if not view.decisions:
        return Text("No decisions yet.", style=styles.MUTED)
    table = Table(show_edge=False, pad_edge=False, expand=True)
    for name in ("when", "status", "by", "response", "interrupt"):
        table.add_column(name)
    for record in view.decisions:
        table.add_row(literal(timestamp(record.resolved_at)), literal(record.status),
                      literal(one_line(record.resolved_by or "?", 20)),
                      literal(one_line(describe_decision(record), 120)),
                      literal(short_id(record.id), styles.MUTED))
    return table


class ThreadScreen(ModalScreen[None]):
    BINDINGS = dialog_bindings("thread")  # inbox/dialog_keys.py

    def __init__(self, view: ThreadView, keys: Keys):
        super().__init__()
        self.view = view
        self.keys = keys

    def compose(self) -> ComposeResult:
        view = self.view
        record = view.record
        status = (f"{record.status} · graph {record.graph} · updated {timestamp(record.updated_at)}"
                  if record else "unknown thread")
        values = {k: v for k, v in view.values.items() if k != "messages"}
        with VerticalScroll(id="dialog", classes="thread-dialog"):
            yield Static(Text.assemble(("Thread ", styles.STRONG), literal(one_line(view.thread_id, 60), styles.STRONG),
                                       literal(f"   {one_line(status, 90)}   {self.keys.label('thread.close')} back", styles.MUTED)),
                         classes="dialog-title")
            if view.error:
                yield Static(Text.assemble(("Last run failed: ", styles.ERROR_STRONG), literal(view.error, styles.ERROR)))
            yield Static("Messages", classes="section-title")
            messages = view.values.get("messages") if isinstance(view.values.get("messages"), list) else []
            yield Static(messages_text(messages) if messages else
                         Text("No messages in this thread's state.", style=styles.MUTED))
            yield Static("State values", classes="section-title")
            yield Static(literal(pretty_json(values, 6000)[0]) if values else
                         Text("Nothing besides the messages.", style=styles.MUTED))
            yield Static("Decisions", classes="section-title")
            yield Static(_decisions_table(view))
            yield Static("Checkpoint history (newest first)", classes="section-title")
            yield Static(_history_table(view))

    def action_close(self) -> None:
        self.dismiss(None)
