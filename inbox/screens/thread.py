"""`t` / enter: one thread in full: its state values, messages, checkpoint history and the
decisions taken on it."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from inbox.review import ThreadView, describe_response
from inbox.text import literal, one_line, pretty_json
from inbox.widgets.detail import messages_text


def _history_table(view: ThreadView) -> Table:
    table = Table(show_edge=False, pad_edge=False, expand=True)
    for name in ("step", "source", "next", "created", "checkpoint"):
        table.add_column(name, style="dim" if name == "checkpoint" else "")
    for entry in view.history:
        table.add_row(str(entry["step"]), str(entry["source"]), literal(", ".join(entry["next"]) or "—"),
                      (entry["created"] or "")[:19].replace("T", " "), "…" + entry["checkpoint_id"][-12:])
    return table


def _decisions_table(view: ThreadView) -> Table | Text:
    if not view.decisions:
        return Text("No decisions yet.", style="dim")
    table = Table(show_edge=False, pad_edge=False, expand=True)
    for name in ("when", "status", "by", "response", "interrupt"):
        table.add_column(name)
    for record in view.decisions:
        table.add_row((record.resolved_at or "")[:19].replace("T", " "), record.status,
                      literal(one_line(record.resolved_by or "?", 20)),
                      literal(one_line(describe_response(record.response), 50)),
                      Text(record.id[:10], style="dim"))
    return table


class ThreadScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,t", "close", "Back", id="thread.close")]

    def __init__(self, view: ThreadView):
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        view = self.view
        record = view.record
        status = f"{record.status} · graph {record.graph} · updated {record.updated_at[:19].replace('T', ' ')}" \
            if record else "unknown thread"
        values = {k: v for k, v in view.values.items() if k != "messages"}
        with VerticalScroll(id="dialog", classes="thread-dialog"):
            yield Static(Text.assemble(("Thread ", "bold"), literal(one_line(view.thread_id, 60), "bold"),
                                       (f"   {status}   esc back", "dim")), classes="dialog-title")
            if view.error:
                yield Static(Text.assemble(("Last run failed: ", "bold red"), literal(view.error, "red")))
            yield Static("Messages", classes="section-title")
            messages = view.values.get("messages") if isinstance(view.values.get("messages"), list) else []
            yield Static(messages_text(messages) if messages else
                         Text("No messages in this thread's state.", style="dim"))
            yield Static("State values", classes="section-title")
            yield Static(literal(pretty_json(values, 6000)[0]) if values else
                         Text("Nothing besides the messages.", style="dim"))
            yield Static("Decisions", classes="section-title")
            yield Static(_decisions_table(view))
            yield Static("Checkpoint history (newest first)", classes="section-title")
            yield Static(_history_table(view))

    def action_close(self) -> None:
        self.dismiss(None)
