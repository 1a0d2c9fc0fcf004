"""The list of requests: a DataTable (renders only the visible rows), one row per interrupt.

Rows are keyed by interrupt id. A live refresh changes rows in place: new requests are
appended, and a request someone decided keeps its row with its new status until the next
full reload, so the reviewer sees what happened to it instead of a row vanishing.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from inbox.review import RESPONSE_LETTERS, InboxItem
from inbox.text import literal, one_line, summary

COLUMNS = (("mark", " "), ("status", "Status"), ("action", "Action"), ("thread", "Thread"),
           ("allowed", "Keys"), ("age", "Age"), ("description", "Description"))
ALL_RESPONSES = ("accept", "edit", "response", "ignore")


def age_text(created: str, now: datetime) -> str:
    try:
        seconds = (now - datetime.fromisoformat(created)).total_seconds()
    except ValueError:
        return "?"
    if seconds < 60:
        return f"{max(int(seconds), 0)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def allowed_cell(item: InboxItem) -> Text:
    """Letters of the allowed responses; disallowed ones as a dim dot, in fixed positions."""
    text = Text()
    if item.kind == "question":
        return Text("r (answer)", style="green")
    if item.kind == "hitl":
        names = ("approve", "edit", "reject", "respond")
    else:
        names = ALL_RESPONSES
    for name in names:
        letter = RESPONSE_LETTERS[name]
        text.append(letter if name in item.allowed else "·", style="green" if name in item.allowed else "dim")
        text.append(" ")
    return text


def status_cell(item: InboxItem) -> Text:
    record = item.record
    if item.error:
        return Text("✗ run failed", style="bold red")
    if record.status == "pending":
        return Text("⚠ overdue", style="bold yellow") if record.overdue else Text("pending", style="cyan")
    who = one_line(record.resolved_by or "?", 12)
    when = (record.resolved_at or "")[11:16]
    style = {"resolved": "green", "expired": "yellow", "cancelled": "dim"}.get(record.status, "")
    label = {"resolved": "✓", "expired": "⌛", "cancelled": "✗"}.get(record.status, "")
    return Text(f"{label} {who} {when}".strip(), style=style)


class ItemTable(DataTable):
    """Requests, one row each; `marked` holds the ids marked with space."""

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.items: dict[str, InboxItem] = {}
        self.marked: set[str] = set()

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def _cells(self, item: InboxItem, now: datetime) -> tuple:
        mark = Text("●", style="bold magenta") if item.id in self.marked else Text(" ")
        age = age_text(item.record.created_at, now)
        description = item.error if item.error else summary(item.description)
        return (mark, status_cell(item), literal(one_line(item.action, 24), "bold"),
                literal(one_line(item.record.thread_id, 26)), allowed_cell(item),
                Text(age, style="bold yellow" if item.record.overdue else ""),
                literal(one_line(description, 70), "red" if item.error else ""))

    def load(self, items: list[InboxItem], now: datetime) -> None:
        """Replace every row (a tab switch, a filter, a manual refresh), keeping the cursor's item."""
        current = self.current_id
        self.clear()
        self.items = {item.id: item for item in items}
        self.marked &= set(self.items)
        for item in items:
            self.add_row(*self._cells(item, now), key=item.id)
        if current in self.items:
            self.move_cursor(row=self.get_row_index(current))

    def merge(self, fresh: list[InboxItem], gone: list[InboxItem], now: datetime) -> int:
        """A live update: append new requests, restyle decided ones in place. Returns how many were new."""
        added = 0
        for item in fresh:
            if item.id in self.items:
                continue
            self.items[item.id] = item
            self.add_row(*self._cells(item, now), key=item.id)
            added += 1
        for item in gone:
            if item.id in self.items:
                self.items[item.id] = item
                self.update_cell(item.id, "status", status_cell(item))
                self.marked.discard(item.id)
                self.update_cell(item.id, "mark", Text(" "))
        return added

    def replace_item(self, item: InboxItem) -> None:
        if item.id in self.items:
            self.items[item.id] = item
            self.update_cell(item.id, "status", status_cell(item))

    def toggle_mark(self) -> None:
        item_id = self.current_id
        if item_id is None:
            return
        if item_id in self.marked:
            self.marked.discard(item_id)
        elif self.items[item_id].record.status == "pending":
            self.marked.add(item_id)
        mark = Text("●", style="bold magenta") if item_id in self.marked else Text(" ")
        self.update_cell(item_id, "mark", mark)

    @property
    def current_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # cursor outside the rows while the table is being rebuilt
            return None

    @property
    def current(self) -> InboxItem | None:
        item_id = self.current_id
        return self.items.get(item_id) if item_id is not None else None
