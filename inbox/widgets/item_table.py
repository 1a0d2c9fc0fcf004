"""The list of requests: a DataTable (renders only the visible rows), one row per interrupt.

Rows are keyed by interrupt id. A live refresh changes rows in place. On the Pending tab a
decided request leaves the list (`remove_item`): the cursor stays at its index, which is the
next request, and the index is remembered for its thread, so the thread's follow-up request
(the agent asking again) is put where its predecessor was rather than at the bottom. On the
other tabs a decided row is restyled in place.

Marks are kept by id across tab switches and reloads (a marked request leaves the marks only
when it is decided); ages are recomputed by `tick` (the screen calls it on a timer).
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone

from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

from inbox import styles
from inbox.keymap import Keys
from inbox.review import InboxItem, describe_decision, outcome
from inbox.search import highlight
from inbox.text import literal, one_line, summary, timestamp
from inbox.widgets.scroll_size import set_scroll_size

# (key, label, width): fixed widths, so columns do not jump between tabs or after an update.
COLUMNS = (("mark", " ", 1), ("status", " ", 1), ("action", "Action", 16), ("thread", "Thread", 20),
           ("allowed", "Keys", 7), ("age", "Age", 4), ("description", "Description / outcome", 60))
# A narrow terminal (under 140 columns): the description first, with the room the others leave;
# the thread and the keys are in the detail pane under the list.
OPTIONAL_COLUMNS = ("action", "thread", "allowed", "age")  # the config's `columns` picks from these
SORTS = ("age", "graph", "deadline", "action")  # `s` cycles; age is the store's order (oldest first)
GROUPS = ("none", "thread", "graph")            # `z` cycles; a group keeps its rows together
NARROW_COLUMNS = (("mark", " ", 1), ("status", " ", 1), ("description", "Description / outcome", 40),
                  ("age", "Age", 4), ("action", "Action", 14))
ALL_RESPONSES = ("accept", "edit", "response", "ignore")
# The binding whose key answers with each response, in the list. A multi-action request's
# "reject" is the respond key's answer only when "respond" itself is not allowed.
# A multi-action request's "reject" (with a reason) is the ignore key's: it skips the tool too.
RESPONSE_BINDINGS = {"accept": "accept", "approve": "accept", "edit": "edit", "response": "respond",
                     "respond": "respond", "ignore": "ignore", "reject": "ignore"}


def response_key(keys: Keys, name: str, allowed: frozenset[str], letter: bool = False) -> str:
    """The key (as shown) that answers `name` in the list, or "" when no key does."""
    binding = RESPONSE_BINDINGS.get(name)
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
    # A multi-action request: the respond key sends "respond" (or a reject with your words where
    # only that is allowed), the ignore key a reject with a reason.
    names = ("approve", "edit", "respond", "reject") if kind == "hitl" else ALL_RESPONSES
    for name in names:
        letter = response_key(keys, name, allowed, letter=True)
        usable = letter and (name in allowed or (kind == "hitl" and name == "respond" and "reject" in allowed))
        text.append(letter if usable else "·", style=styles.OK if usable else styles.MUTED)
        text.append(" ")
    return text


# One mark per outcome, never shared: the help screen and README list them (MARK_MEANINGS).
OUTCOME_MARKS = {"accepted": "✓", "edited": "✎", "responded": "↩", "answered": "↩", "ignored": "⊘", "mixed": "±"}
MARK_MEANINGS = (("⚠", "pending, overdue"), ("✓", "accepted"), ("✎", "edited, then run"),
                 ("↩", "responded / answered"), ("⊘", "ignored or rejected"), ("±", "several actions, decided differently"),
                 ("⌛", "expired at its deadline"), ("–", "cancelled (the run moved on)"), ("✗", "the run failed"))


def status_cell(item: InboxItem) -> Text:
    """One mark per outcome (OUTCOME_MARKS); ⚠ overdue, blank while pending."""
    record = item.record
    if item.error:
        return Text("✗", style=styles.ERROR_STRONG)
    if record.status == "pending":
        return Text("⚠", style=styles.WARNING_STRONG) if record.overdue else Text(" ")
    style = styles.STATUS.get(record.status, "")
    if record.status == "resolved":
        return Text(OUTCOME_MARKS.get(outcome(record.response), "?"), style=style)
    return Text({"expired": "⌛", "cancelled": "–"}.get(record.status, "?"), style=style)


def outcome_cell(item: InboxItem) -> Text:
    """The description while pending; what happened, by whom and when, once decided."""
    record = item.record
    if item.error:
        blame = ("a new run on this thread (its id reused) failed at its start" if item.fresh_run
                 else "the run failed after this decision")
        return literal(one_line(f"{blame}: {item.error}", 200), styles.ERROR)
    if record.status == "pending":
        text = literal(one_line(summary(item.description), 90))
        if record.overdue:
            text = Text.assemble(("OVERDUE ", styles.WARNING_STRONG), text)
        return text
    who = one_line(record.resolved_by or "?", 16)
    verb = {"resolved": f"{describe_decision(record)} by {who}", "expired": "expired at deadline",
            "cancelled": f"cancelled ({record.reason or 'the run moved on'})"}.get(record.status, record.status)
    style = styles.STATUS.get(record.status, "")
    return literal(one_line(f"{verb} at {timestamp(record.resolved_at)}", 200), style)


class ItemTable(DataTable):
    """Requests, one row each; `marked` holds the ids marked with space."""

    def __init__(self, keys: Keys, columns: list[str] | None = None, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.keys = keys
        self.items: dict[str, InboxItem] = {}
        self.marked: dict[str, InboxItem] = {}  # marked requests by id, also those not on this tab
        self.complete = True  # every item of the current list is loaded
        self._now: datetime | None = None  # the clock's last reading, for a relayout
        self.remove_decided = True  # the Pending tab: a decided row leaves the list
        self.narrow = False  # NARROW_COLUMNS instead of COLUMNS
        self.shown_columns: tuple[str, ...] = tuple(columns) if columns is not None else OPTIONAL_COLUMNS
        self.sort_key = "age"
        self.group = "none"
        self.highlight: tuple[str, ...] = ()  # the `/` query's words, highlighted where they match
        self.held: dict[str, str] = {}  # decisions in their undo window: id -> the countdown shown
        self._slots: dict[str, int] = {}  # thread id -> the row its decided request left
        self._ages: dict[str, str] = {}  # id -> the age shown, so `tick` touches only rows whose age changed
        self._row_versions: dict[RowKey, int] = {}  # row -> how many times set_cells changed it (in cache keys)

    def _update_dimensions(self, new_rows) -> None:
        # Textual measures every cell of every new row, for the columns that size to their
        # content, and renders rows of automatic height. Here every column has a fixed width and
        # every row one line, so that would find nothing to change: it was a third of the CPU of
        # loading a page of rows (a tab switch, a filter). Only the scroll size is left to set.
        if any(column.auto_width for column in self.columns.values()) or any(
                (row := self.rows.get(key)) is not None and (row.auto_height or row.label is not None)
                for key in new_rows):
            return super()._update_dimensions(new_rows)
        header_height = self.header_height if self.show_header else 0
        width = sum(column.get_render_width(self) for column in self.columns.values()) + self._row_label_column_width
        size, before = Size(width, self._total_row_height + header_height), self.virtual_size
        if size.width != before.width or size.height < before.height:
            self.virtual_size = size
        elif not set_scroll_size(self, size) and before.height < self.scroll_y + self.scrollable_content_region.height:
            # Rows appended (a page in the background): the list is repainted only when some
            # of them are in view; below it only the scroll bar changes.
            self.refresh()

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False):
        # DataTable renders each cell through Rich (Styled(Padding(cell)) into render_lines):
        # ~0.15 ms a cell, ~1.5 ms a visible row, most of a tab switch's or a filter's frame.
        # Every cell here is a one-line Text in a fixed-width column, so its line is built
        # directly: the same segments and styles, without Rich's wrapping and measuring.
        # Anything else (the header, a multi-line or justified cell) is rendered as DataTable does.
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        version = self._row_versions.get(row_key, 0)  # set_cells changed the row
        cache_key = (row_key, column_key, base_style, cursor, hover, self._show_hover_cursor, self._update_count,
                     self._pseudo_class_state, version)
        lines = self._cell_render_cache.get(cache_key)
        if lines is not None:
            return lines
        # The cell's own segments do not depend on the cursor: built once, styled per state.
        segments_key = ("segments", row_key, column_key, width, self._update_count, version)
        segments = self._cell_render_cache.get(segments_key)
        if segments is None:
            segments = self._cell_segments(row_index, column_index, row_key, width)
            if segments is None:
                return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._cell_render_cache[segments_key] = segments
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
        lines = [list(Segment.apply_style(segments, pre_style, post_style))]
        self._cell_render_cache[cache_key] = lines
        return lines

    def _cell_segments(self, row_index: int, column_index: int, row_key, width: int) -> list[Segment] | None:
        """A one-line Text cell's segments, padded to `width`, unstyled by the table; None for
        any other cell (DataTable renders those)."""
        cell = self._get_row_renderables(row_index).cells[column_index]
        row = self.rows[row_key]
        plain = cell.plain if isinstance(cell, Text) else ""
        if (not isinstance(cell, Text) or row.height != 1 or row.auto_height or self.fixed_rows or self.fixed_columns
                or cell.justify not in (None, "default") or "\n" in plain or "\t" in plain):
            return None
        pad = self.cell_padding
        inner = max(width - 2 * pad, 0)
        if cell.cell_len > inner:  # cut as Rich would: the cell's overflow, else "fold" (a cut)
            cell = cell.copy()
            cell.truncate(inner, overflow=cell.overflow or "fold")
        if cell.style:  # Rich draws a Text's own style as a span under the others (Text.join)
            cell = Text(cell.plain, spans=[Span(0, len(cell.plain), cell.style), *cell.spans])
        console = self.app.console
        segments = [Segment(" " * pad), *cell.render(console)] if pad else list(cell.render(console))
        room = inner - cell.cell_len
        if room > 0:
            segments.append(Segment(" " * room))
        if pad:
            segments.append(Segment(" " * pad))
        return segments

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style):
        # DataTable keys its rendered lines (and rows) by where the cursor is, so a move voids
        # every one: the row the cursor left and the row it reached are built again from their
        # cells, ~1–2 ms a row. With a row cursor a row's line depends only on whether the
        # cursor (or the mouse) is on that row, so it is kept under that: the row left is drawn
        # as it was before the cursor came, and a row visited before is drawn as it was then.
        # Kept in DataTable's own line cache, so whatever clears that clears these.
        if self.cursor_type != "row" or self.fixed_columns or self.fixed_rows or self._labelled_row_exists:
            return super()._render_line(y, x1, x2, base_style)
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        row_index = self._row_locations.get(row_key) if row_key in self._row_locations else None
        if row_index is None or line_no:  # the header, or a row of several lines
            return super()._render_line(y, x1, x2, base_style)
        key = ("row", row_key, row_index, x1, x2, self.size.width, self.cursor_coordinate.row == row_index,
               self.hover_coordinate.row == row_index, base_style, self.show_cursor, self._show_hover_cursor,
               self._update_count, self._pseudo_class_state, self._row_versions.get(row_key, 0))
        strip = self._line_cache.get(key)
        if strip is None:
            strip = self._line_cache[key] = super()._render_line(y, x1, x2, base_style)
        return strip

    @property
    def layout_columns(self) -> tuple:
        columns = NARROW_COLUMNS if self.narrow else COLUMNS
        return tuple(c for c in columns if c[0] not in OPTIONAL_COLUMNS or c[0] in self.shown_columns)

    def _order_key(self, item: InboxItem) -> tuple:
        record = item.record
        group = {"none": "", "thread": record.thread_id, "graph": record.graph}[self.group]
        by = {"age": (record.created_at,), "graph": (record.graph, record.created_at),
              "deadline": (record.deadline is None, record.deadline or "", record.created_at),
              "action": (item.action, record.created_at)}[self.sort_key]
        return (group, *by)

    def arrange(self) -> None:
        """Lay the rows out in the chosen sort and grouping, keeping the cursor on its request."""
        current = self.current_id
        order = sorted(self.items.values(), key=self._order_key)
        self.clear()
        now = datetime.now(timezone.utc) if self._now is None else self._now
        for item in order:
            self.add_row(*self._cells(item, now), key=item.id)
        if current in self.items:
            self.move_cursor(row=self.get_row_index(current), animate=False)

    @property
    def arranged(self) -> bool:
        return self.sort_key != "age" or self.group != "none"

    def on_mount(self) -> None:
        for key, label, width in self.layout_columns:
            self.add_column(label, key=key, width=width)

    def set_narrow(self, narrow: bool) -> None:
        """Switch between the wide and the narrow columns, keeping rows, marks and the cursor."""
        if narrow == self.narrow:
            return
        self.narrow = narrow
        if not self.is_mounted:
            return
        current = self.current_id
        order = [row.key.value for row in self.ordered_rows]
        self.clear(columns=True)
        self.on_mount()
        now = datetime.now(timezone.utc) if self._now is None else self._now
        for item_id in order:
            self.add_row(*self._cells(self.items[item_id], now), key=item_id)
        self._fit_description(self.size.width)
        if current in self.items:
            self.move_cursor(row=self.get_row_index(current), animate=False)

    def on_resize(self, event) -> None:
        self._fit_description(event.size.width)

    def _fit_description(self, width: int) -> None:
        """The description takes whatever width the fixed columns leave (at least 20)."""
        fixed = sum(w + 2 * self.cell_padding for key, _label, w in self.layout_columns if key != "description")
        available = max(20, width - fixed - 2 * self.cell_padding - 3)
        column = self.columns.get(ColumnKey("description"))
        if column is not None and column.width != available:
            column.width = available
            self._require_update_dimensions = True
            self.refresh()

    def _cells(self, item: InboxItem, now: datetime) -> tuple:
        """The row's cells in the current layout's column order."""
        self._now = now
        mark = Text("●", style=styles.MARK) if item.id in self.marked else Text(" ")
        age = self._ages[item.id] = age_text(item.record.created_at, now)
        pending = item.record.status == "pending" and not item.error
        width = dict((k, w) for k, _l, w in self.layout_columns).get("action", 16)
        description = outcome_cell(item)
        status = status_cell(item)
        if item.id in self.held:  # decided, not sent yet: the countdown instead of the description
            description, status = Text(self.held[item.id], style=styles.WARNING_STRONG), Text("⏳", styles.WARNING)
        # Cut at the column's edge with an ellipsis, never silently.
        description.no_wrap, description.overflow = True, "ellipsis"
        cells = {"mark": mark, "status": status,
                 "action": literal(one_line(item.action, width), styles.STRONG if pending else styles.MUTED),
                 "thread": literal(one_line(item.record.thread_id, 20)),
                 "allowed": allowed_cell(item, self.keys) if pending else Text(""),
                 "age": Text(age, style=styles.WARNING_STRONG if item.record.overdue else ""),
                 "description": description}
        if self.highlight:
            for key in ("action", "thread", "description"):
                highlight(cells[key], self.highlight, styles.SEARCH_MATCH)
        return tuple(cells[key] for key, _label, _width in self.layout_columns)

    def load(self, items: list[InboxItem], now: datetime, complete: bool = True) -> None:
        """Replace every row (a tab switch, a filter, a manual refresh), keeping the cursor's item.
        `complete`: no more items follow these (else `append` pages them in)."""
        current = self.current_id
        self.clear()
        self.items = {}
        self._slots = {}
        self._ages = {}
        self.append(items, now, complete)
        if self.arranged:
            self.arrange()
        for item in items:  # a marked request that is no longer pending leaves the marks
            if item.id in self.marked and item.record.status != "pending":
                del self.marked[item.id]
        if current in self.items:
            self.move_cursor(row=self.get_row_index(current))

    def append(self, items: list[InboxItem], now: datetime, complete: bool) -> None:
        # DataTable counts every added row as a change that voids its rendered cells and lines,
        # so each page appended in the background re-rendered every visible row. Rows added at
        # the end change no row already shown: its caches stay (only the line offsets, cached
        # by the same count, are recomputed).
        count = self._update_count
        added = False
        for item in items:
            if item.id not in self.items:
                self.items[item.id] = item
                self.add_row(*self._cells(item, now), key=item.id)
                added = True
        if added and count:
            self._update_count = count
            self._offset_cache.clear()
        self.complete = complete

    def merge(self, fresh: list[InboxItem], gone: list[InboxItem], now: datetime) -> int:
        """A live update: add new requests (a thread's follow-up where its predecessor was, others
        at the end), and take decided ones out (Pending) or restyle them. Returns how many were new."""
        for item in gone:
            if item.id in self.items:
                self.marked.pop(item.id, None)
                if self.remove_decided and item.record.status != "pending":
                    self.remove_item(item.id)
                else:
                    self.replace_item(item, now)
        added = 0
        placed: list[tuple[int, InboxItem]] = []
        for item in fresh:
            if item.id in self.items:
                continue
            slot = self._slots.pop(item.record.thread_id, None)
            if slot is not None and slot < self.row_count:
                placed.append((slot, item))
            else:
                self.items[item.id] = item
                self.add_row(*self._cells(item, now), key=item.id)
            added += 1
        if placed:
            self._insert(placed, now)
        if added and self.arranged:
            self.arrange()
        return added

    def _insert(self, placed: list[tuple[int, InboxItem]], now: datetime) -> None:
        """Put items at given row indexes: DataTable only appends, so the rows are laid out again
        in the new order (a few hundred rows at most), keeping the cursor on its request."""
        current = self.current_id
        order = [row.key.value for row in self.ordered_rows]
        for slot, item in sorted(placed, key=lambda p: p[0], reverse=True):
            self.items[item.id] = item
            order.insert(slot, item.id)
        self.clear()
        for item_id in order:
            self.add_row(*self._cells(self.items[item_id], now), key=item_id)
        if current in self.items:
            self.move_cursor(row=self.get_row_index(current), animate=False)

    def remove_item(self, item_id: str) -> None:
        """Take a decided request out of the list. The cursor stays on its request, or, when it
        was on the removed row, on the row that takes its place: the next request."""
        if item_id not in self.items:
            return
        index = self.get_row_index(item_id)
        cursor = self.cursor_row
        item = self.items.pop(item_id)
        self.marked.pop(item_id, None)
        self._slots[item.record.thread_id] = index
        self.remove_row(item_id)
        if self.row_count:
            target = cursor - 1 if index < cursor else cursor
            self.move_cursor(row=max(0, min(target, self.row_count - 1)), animate=False)

    def next_pending_row(self, after: int) -> int | None:
        """The first pending row below `after` that is not in its undo window (wrapping to the top)."""
        keys = [row.key.value for row in self.ordered_rows]
        for index in [*range(after + 1, len(keys)), *range(0, after)]:
            item = self.items.get(keys[index])
            if item is not None and item.record.status == "pending" and not item.error and item.id not in self.held:
                return index
        return None

    def set_held(self, item_id: str, countdown: str | None) -> None:
        """Show a decision's countdown on its row (None: back to the request as it was)."""
        if countdown is None:
            self.held.pop(item_id, None)
        else:
            self.held[item_id] = countdown
        if item_id in self.items:
            self.replace_item(self.items[item_id], self._now)

    def tick(self, now: datetime) -> None:
        """Recompute every row's age; only rows whose age reads differently are updated (a
        thousand rows a few days old change once a day, not at every tick)."""
        if "age" not in self.shown_columns:
            return
        changes = []
        for item_id, item in self.items.items():
            age = age_text(item.record.created_at, now)
            if self._ages.get(item_id) != age:
                self._ages[item_id] = age
                changes.append((item_id, "age", Text(age, style=styles.WARNING_STRONG if item.record.overdue else "")))
        self.set_cells(changes)

    def set_cells(self, changes: list[tuple[str, str, Text]]) -> None:
        """Set cells (row key, column key, value) and repaint only their rows. DataTable's
        `update_cell` counts each as a change to the whole table, which voids every row's
        rendered cells and lines: an age tick that changed a few rows re-rendered the whole
        list (~1.5 ms a row), landing in whichever key was being handled (bench/README.md,
        session 7). Here the changed rows get a new version, which _render_cell and _render_line
        key their renderings by, and only DataTable's own per-row caches (≤ 1,000 entries) are
        searched for them."""
        if not changes:
            return
        rows: set[RowKey] = set()
        simple = True
        for row_key, column_key, value in changes:
            row, column = RowKey(row_key), ColumnKey(column_key)
            if row not in self._row_locations or column not in self._column_locations:
                raise CellDoesNotExist(f"No cell exists for row_key={row_key!r}, column_key={column_key!r}.")
            self._data[row][column] = value
            rows.add(row)
            simple = (simple and isinstance(value, Text) and value.justify in (None, "default")
                      and "\n" not in value.plain and "\t" not in value.plain)
        if not simple:  # a cell DataTable renders itself (keyed without the version): as update_cell does
            self._update_count += 1
            self.refresh()
            return
        for row in rows:
            self._row_versions[row] = self._row_versions.get(row, 0) + 1
        indexes = {self._row_locations.get(row) for row in rows}
        drops = ((self._row_renderable_cache, lambda key: key[1] in indexes),  # (count, row index)
                 (self._row_render_cache, lambda key: key[0] in rows),  # (row key, ...)
                 (self._line_cache, lambda key: key[0] != "row"))  # DataTable's, by y: not these rows'
        for cache, dropped in drops:
            for key in [key for key in cache.keys() if dropped(key)]:
                cache.discard(key)
        for index in indexes:
            self.refresh_row(index)

    def replace_item(self, item: InboxItem, now: datetime | None = None) -> None:
        """Restyle one row in place (decided by us or someone else)."""
        if item.id in self.items:
            self.items[item.id] = item
            shown_age = self._ages.get(item.id)  # the age cell is left as it is: so is its record
            self.set_cells([(item.id, key, cell) for (key, _label, _width), cell
                            in zip(self.layout_columns, self._cells(item, now or datetime.now(timezone.utc)))
                            if key != "age"])
            if shown_age is not None:
                self._ages[item.id] = shown_age

    def toggle_mark(self) -> None:
        item_id = self.current_id
        if item_id is None:
            return
        if item_id in self.marked:
            del self.marked[item_id]
        elif self.items[item_id].record.status == "pending":
            self.marked[item_id] = self.items[item_id]
        mark = Text("●", style=styles.MARK) if item_id in self.marked else Text(" ")
        self.set_cells([(item_id, "mark", mark)])

    @property
    def current_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # cursor outside the rows while the table is being rebuilt
            return None

    def item_at(self, index: int) -> InboxItem | None:
        """The request on row `index`, or None when there is no such row."""
        if not 0 <= index < self.row_count:
            return None
        return self.items.get(self.ordered_rows[index].key.value)

    @property
    def current(self) -> InboxItem | None:
        item_id = self.current_id
        return self.items.get(item_id) if item_id is not None else None
