"""The list of requests: a DataTable (renders only the visible rows), one row per interrupt.

Rows are keyed by interrupt id. A live refresh changes rows in place: new requests are
appended, and a request someone decided keeps its row with its new status until the next
full reload, so the reviewer sees what happened to it instead of a row vanishing.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from inbox import styles
from inbox.keymap import Keys
from inbox.review import InboxItem, describe_response
from inbox.text import literal, one_line, summary

# (key, label, width): fixed widths, so columns do not jump between tabs or after an update.
COLUMNS = (("mark", " ", 1), ("status", " ", 1), ("action", "Action", 16), ("thread", "Thread", 20),
           ("allowed", "Keys", 7), ("age", "Age", 4), ("description", "Description / outcome", 60))
ALL_RESPONSES = ("accept", "edit", "response", "ignore")
# The binding whose key answers with each response, in the list. A multi-action request's
# "reject" is the respond key's answer only when "respond" itself is not allowed.
RESPONSE_BINDINGS = {"accept": "accept", "approve": "accept", "edit": "edit", "response": "respond",
                     "respond": "respond", "ignore": "ignore"}


def response_key(keys: Keys, name: str, allowed: frozenset[str], letter: bool = False) -> str:
    """The key (as shown) that answers `name` in the list, or "" when no key does."""
    binding = RESPONSE_BINDINGS.get(name) or ("respond" if name == "reject" and "respond" not in allowed else None)
    if binding is None:
        return ""
    return keys.letter(binding) if letter else keys.label(binding)


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


def allowed_cell(item: InboxItem, keys: Keys) -> Text:
    """The keys of the allowed responses; disallowed ones as a dim dot, in fixed positions."""
    return _allowed_cell(item.kind, item.allowed, keys).copy()


@functools.lru_cache(maxsize=64)
def _allowed_cell(kind: str, allowed: frozenset[str], keys: Keys) -> Text:
    text = Text()
    if kind == "question":
        return Text.assemble((keys.letter("respond"), styles.OK), (" text", styles.MUTED))
    # A multi-action request's respond key sends "respond", or "reject" where only that is allowed.
    names = ("approve", "edit", "respond") if kind == "hitl" else ALL_RESPONSES
    for name in names:
        letter = response_key(keys, name, allowed, letter=True)
        usable = letter and (name in allowed or (kind == "hitl" and name == "respond" and "reject" in allowed))
        text.append(letter if usable else "·", style=styles.OK if usable else styles.MUTED)
        text.append(" ")
    return text


def status_cell(item: InboxItem) -> Text:
    """One symbol: ⚠ overdue, ✓ resolved, ⌛ expired, ✗ cancelled or failed; blank while pending."""
    record = item.record
    if item.error:
        return Text("✗", style=styles.ERROR_STRONG)
    if record.status == "pending":
        return Text("⚠", style=styles.WARNING_STRONG) if record.overdue else Text(" ")
    style = styles.STATUS.get(record.status, "")
    return Text({"resolved": "✓", "expired": "⌛", "cancelled": "✗"}.get(record.status, "?"), style=style)


def outcome_cell(item: InboxItem) -> Text:
    """The description while pending; what happened, by whom and when, once decided."""
    record = item.record
    if item.error:
        return literal(one_line(f"run failed: {item.error}", 90), styles.ERROR)
    if record.status == "pending":
        text = literal(one_line(summary(item.description), 90))
        if record.overdue:
            text = Text.assemble(("OVERDUE ", styles.WARNING_STRONG), text)
        return text
    when = (record.resolved_at or "")[11:16]
    who = one_line(record.resolved_by or "?", 16)
    verb = {"resolved": f"{describe_response(record.response)} by {who}", "expired": "expired at deadline",
            "cancelled": f"cancelled ({record.reason or 'the run moved on'})"}.get(record.status, record.status)
    style = styles.STATUS.get(record.status, "")
    return literal(one_line(f"{verb} at {when} UTC", 90), style)


class ItemTable(DataTable):
    """Requests, one row each; `marked` holds the ids marked with space."""

    def __init__(self, keys: Keys, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.keys = keys
        self.items: dict[str, InboxItem] = {}
        self.marked: set[str] = set()
        self.complete = True  # every item of the current list is loaded

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def on_resize(self, event) -> None:
        """The description takes whatever width the fixed columns leave (at least 20)."""
        fixed = sum(width + 2 * self.cell_padding for key, _label, width in COLUMNS if key != "description")
        available = max(20, event.size.width - fixed - 2 * self.cell_padding - 3)
        column = self.columns.get(ColumnKey("description"))
        if column is not None and column.width != available:
            column.width = available
            self._require_update_dimensions = True
            self.refresh()

    def _cells(self, item: InboxItem, now: datetime) -> tuple:
        mark = Text("●", style=styles.MARK) if item.id in self.marked else Text(" ")
        age = age_text(item.record.created_at, now)
        pending = item.record.status == "pending" and not item.error
        return (mark, status_cell(item), literal(one_line(item.action, 16), styles.STRONG if pending else styles.MUTED),
                literal(one_line(item.record.thread_id, 20)), allowed_cell(item, self.keys) if pending else Text(""),
                Text(age, style=styles.WARNING_STRONG if item.record.overdue else ""), outcome_cell(item))

    def load(self, items: list[InboxItem], now: datetime, complete: bool = True) -> None:
        """Replace every row (a tab switch, a filter, a manual refresh), keeping the cursor's item.
        `complete`: no more items follow these (else `append` pages them in)."""
        current = self.current_id
        self.clear()
        self.items = {}
        self.append(items, now, complete)
        self.marked &= set(self.items)
        if current in self.items:
            self.move_cursor(row=self.get_row_index(current))

    def append(self, items: list[InboxItem], now: datetime, complete: bool) -> None:
        for item in items:
            if item.id not in self.items:
                self.items[item.id] = item
                self.add_row(*self._cells(item, now), key=item.id)
        self.complete = complete

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
                self.marked.discard(item.id)
                self.replace_item(item)
        return added

    def replace_item(self, item: InboxItem, now: datetime | None = None) -> None:
        """Restyle one row in place (decided by us or someone else)."""
        if item.id in self.items:
            self.items[item.id] = item
            for (key, _label, _width), cell in zip(COLUMNS, self._cells(item, now or datetime.now(timezone.utc))):
                if key != "age":
                    self.update_cell(item.id, key, cell)

    def toggle_mark(self) -> None:
        item_id = self.current_id
        if item_id is None:
            return
        if item_id in self.marked:
            self.marked.discard(item_id)
        elif self.items[item_id].record.status == "pending":
            self.marked.add(item_id)
        mark = Text("●", style=styles.MARK) if item_id in self.marked else Text(" ")
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
