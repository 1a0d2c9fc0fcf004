"""The main screen: the list of requests, its filter and tabs, the detail pane, deciding, and
the workers behind them.

Database reads run in async workers; decisions (which resume agents' graphs) run in thread
workers on the engine's loop, so the screen never waits on an agent. Results come back as
messages or `call_from_thread`. The store's events (ReviewService.events) keep the list live;
a burst of them is coalesced into one refresh. Everything goes through `ReviewService`.

Failures go to the app's error boundary (InboxApp.report_failure): every worker runs with
`exit_on_error=False` and a failed one is reported by what it was doing (WORKER_TASKS); a
message handler of this screen that raises is reported too, and the screen keeps running.

The dialogs and other screens (inbox/screens/*) are imported where they are opened, not with
this module: the first screen does not wait for modules it does not show.

Agent text reaches the screen only as `Text` from inbox.text (never parsed as markup, controls
made visible); toasts go through the app's `notify`, which turns markup off for every caller.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, replace
from functools import partial
from datetime import datetime
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container, Horizontal
from textual.widget import Widget
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static, Tab, Tabs
from textual.worker import Worker, WorkerState

from inbox import styles
from inbox.actions import DECISIONS as DECISION_ACTIONS, TABS, bindings, help_rows
from inbox.config import InboxSettings
from inbox.keymap import Keys
from inbox.review import (AlreadyResolved, Applied, DecisionNotSent, InboxItem, InvalidResponse, NeedsStore, ReviewService,
                          blocking, build_response, describe_rule)
from inbox.attention import notify_desktop
from inbox.search import Query, QueryError, matches, narrows, parse_query
from inbox.text import literal, one_line, summary, timestamp
from inbox.widgets.filter_input import FilterInput
from inbox.widgets.detail import DetailPane
from inbox.widgets.item_table import GROUPS, SORTS, ItemTable, age_text
from inbox.widgets.instant_tabs import InstantTabs
from inbox.widgets.key_footer import KeyFooter

# Loading a long list: a screenful first (shown at once), then pages in the background up to
# PRELOAD rows, then a page at a time as the cursor nears the end. Rows cost memory (~10 KB a
# request with its table row) and appending them costs the event loop, so 100,000 pending
# requests are not all loaded; the status bar says how many are ("1000 of 100000 loaded").
FIRST_PAGE = 50  # rows in the first read: more than a tall terminal shows
PAGE = 200  # rows per later read
PRELOAD = 1000  # rows loaded in the background after the first screen
APPEND_SLICE = 50  # rows appended between yields to the event loop (keys and frames go first)
LOADING = "Loading…"  # the status line until the first screen is loaded
DETAIL_DELAY = 0.06
MESSAGES_KEPT = 64  # threads whose messages are kept for the detail pane (until the store changes)
MESSAGES_WAIT = 0.05  # the detail pane waits this long for a thread's messages before drawing without them
NARROW = 140  # columns: below this the description column would be too narrow beside the detail pane
FILTER_DELAY = 0.15
SEARCH_WINDOW = 2000  # pending requests a query searches (the list shows its first PAGE matches)
AGE_TICK = 15.0  # seconds between recomputing the Age column
# A read that failed on a remote server is tried again after this long (reload), until one
# succeeds; the event stream's own reconnecting cannot be relied on for it, since the stream
# may never have dropped (a 5xx on one search).
RETRY_SECONDS = 5.0
STATUS_TONES = ("ok", "error", "busy")  # the status line's classes (-ok, -error, -busy) in app.tcss
# What a failed worker was doing, for the status line and the toast.
WORKER_TASKS = {"reload": "Loading the list", "live_update": "Updating the list", "load_more": "Loading more requests",
                "load_messages": "Loading the thread's messages",
                "prefetch_messages": "Loading the messages of the requests next to the cursor", "open_thread": "Opening the thread",
                "_decide": "Sending the decision", "expire_overdue": "Expiring overdue requests",
                "refresh_item": "Refreshing the request", "open_full_view": "Opening the full view",
                "watch_events": "Watching for new requests (live updates stopped; R refreshes)"}


@dataclass
class Held:
    """A decision in its undo window: claimed (exactly once, as always) only when `due` passes."""

    item: InboxItem
    response: Any
    verb: str
    due: float  # time.monotonic()


def countdown(seconds: float) -> str:
    """Whole seconds, rounded up (never "0 s" while it has not been sent); minutes past 99 s."""
    return f"{math.ceil(seconds)} s" if seconds <= 99 else f"{math.ceil(seconds / 60)} min"


class InboxChanged(Message):
    """The store changed (an engine event). Many in a row collapse into one."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, InboxChanged)


def source_label(source: str, width: int) -> str:
    """The source on one line in `width` characters: a long server URL is cut, never the
    server kind after it ("https://… · LangGraph server")."""
    head, sep, kind = source.rpartition(" · ")
    if not sep or len(source) <= width or len(kind) > width // 2:
        return one_line(source, width)
    return f"{one_line(head, width - len(kind) - len(sep))}{sep}{one_line(kind, len(kind))}"


class TabList(ItemTable):
    """A tab's list: ItemTable that keeps its rendered rows when the focus comes or goes.

    DataTable voids every rendered cell, row and line on any style update, and the focus moving
    to the list shown at a tab switch is one: the switch drew every visible row again (60-100 ms
    of CPU; bench/README.md, session 7). Those caches are keyed by the focus (the pseudo-class
    state) already, so they stay while the theme is the one they were drawn in; the styles of
    the widget itself (its tint, the cursor's colours) are recomputed as DataTable does.
    (The list widget's own business, done here until ItemTable offers it.)"""

    _drawn_in: tuple | None = None  # the theme the kept rows were drawn in

    def notify_style_update(self) -> None:
        theme = (self.app.theme, self.app.ansi_color)
        keeps = self._drawn_in == theme and hasattr(self, "_get_styles_to_render_cell")
        self._drawn_in = theme
        if not keeps:
            return super().notify_style_update()
        super(DataTable, self).notify_style_update()  # the widget's own, without DataTable's clearing
        self._styles_cache.clear()
        self._get_styles_to_render_cell.cache_clear()
        self.refresh()


class StackedLists(Container):
    """The tabs' lists, stacked one box tall each, the box scrolled to the one shown (see
    InboxScreen.table). Its height changes (the filter box opening or closing, a resize) move
    the lists: it scrolls to the one shown again."""

    shown: Widget | None = None

    def show(self, widget: Widget) -> None:
        self.shown = widget
        self._scroll()

    def _scroll(self) -> None:
        if self.shown is not None and self.scroll_y != self.shown.virtual_region.y:
            # overflow hidden: nothing but this scrolls it
            self.scroll_to(y=self.shown.virtual_region.y, animate=False, immediate=True, force=True)

    def on_resize(self, event) -> None:
        self.call_after_refresh(self._scroll)  # once the lists are laid out at the new height


class InboxScreen(Screen):
    BINDINGS = bindings("screen")  # from the one action table (inbox/actions.py)

    def __init__(self, service: ReviewService, keys: Keys, settings: InboxSettings, *, source: str,
                 clock: Callable[[], datetime], live: bool, expire_every: float):
        super().__init__()
        self.service = service
        self.keys = keys
        self.settings = settings
        self.source = source
        self.clock = clock
        self.live = live
        self.expire_every = expire_every
        self.tab = "pending"
        self.filter_text = ""
        self.search_query = Query()  # filter_text parsed (inbox/search.py)
        self.expanded = False
        self.counts: dict[str, int] = {}
        self._raised: dict[str, InboxItem] = {}  # from events, not yet on screen
        self._changed: set[str] = set()  # decided, cancelled or expired, not yet restyled
        self._follow_ups: set[str] = set()  # requests our own decisions' runs raised, not yet shown
        self._drafts: dict[str, dict] = {}  # edited args not (yet) sent: `e` reopens the editor on them
        self._held: dict[str, Held] = {}  # decisions in their undo window, oldest first
        self._streak: tuple[str | None, int] = (None, 0)  # (tool, accepts of it in a row)
        self._unseen: set[str] = set()  # raised while the inbox was open, not yet selected
        self._waiting: dict[str, int] = {}  # graph -> decisions recorded for a worker (not run here)
        self._countdown_timer = None
        self.monotonic: Callable[[], float] = time.monotonic
        self._refresh_scheduled = False
        self._detail_timer = None
        self._detail_shown = 0  # times the detail pane was shown (a scheduled one checks it)
        self._last_move = 0.0  # time.monotonic() of the cursor's last move
        self._messages: dict[str, list] = {}  # thread id -> its messages, until the store changes
        self._window: asyncio.Future | None = None  # the pending requests a query searches (_search_window)
        self._last_search: tuple | None = None  # (window, query, its matches): a narrower query searches those
        self._filter_timer = None
        self._last_letter = 0.0  # time.monotonic() of the filter's last change
        self._loaded_once = False
        self._first_page: asyncio.Future | None = None  # read ahead while Textual starts (prefetch_first_page)
        self._retry_timer = None  # set while a failed remote read waits to be tried again
        self._loading_rest: object | None = None  # the loader reading pages now (background or on demand)
        self._showing_hint = True  # the status line shows the hint (not a message to read)
        self._status_message: str | Text = ""  # what set_status showed last
        self.unreachable: str | None = None  # a remote server's fault while it does not answer
        # One list per tab, kept mounted (see `table`): the query each was loaded with (a tab
        # not in it was never loaded), the tabs the store changed under since, and the marks and
        # countdowns each showed when it was hidden.
        self._tables: dict[str, ItemTable] = {}
        self._loaded_for: dict[str, str] = {}
        self._stale: set[str] = set()
        self._hidden_with: dict[str, tuple[frozenset, dict]] = {}
        self._unarranged: set[str] = set()  # hidden lists sorted or grouped differently from the shown one

    # --- layout -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="topbar")
        yield InstantTabs(*(Tab(label, id=f"tab-{key}") for key, label in TABS), id="tabs")
        yield FilterInput(placeholder="search: words, graph:NAME action:NAME thread:ID status:overdue — enter keeps it, "
                                f"{self.keys.label('clear_filter')} clears", id="filter")
        with Horizontal(id="main"):
            marked: dict[str, InboxItem] = {}  # one set of marks, whichever tab they were made on
            held: dict[str, str] = {}  # and of countdowns
            for key, _label in TABS:
                table = self._tables[key] = TabList(self.keys, id=f"items-{key}", classes="items",
                                                    columns=self.settings.columns)
                table.marked, table.held = marked, held
                table.remove_decided = key == "pending"
                table.can_focus = key == self.tab
            with StackedLists(id="lists"):  # scrolled to the one shown (`table`)
                yield from self._tables.values()
            yield DetailPane(self.keys, id="detail")
        yield Static(id="statusline")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self._fit(self.app.size.width)
        self._topbar()
        self.set_status(LOADING)
        self.table.focus()
        self.reload()
        self.set_interval(AGE_TICK, self._tick_ages)
        if self.live:
            self.watch_events()
            if self.expire_every:
                self.set_interval(self.expire_every, self.expire_overdue)

    @property
    def table(self) -> ItemTable:
        """The list on screen: the current tab's.

        Each tab keeps its own list mounted: switching to a tab shows rows already built
        instead of reading and building them again (a switch cost 60-550 ms of CPU that way;
        bench/README.md, session 7). The Pending list follows the store's events while
        hidden; another tab's list is read again when it is shown after the store changed
        (`_stale`), or with another query.
        The lists are stacked in a box as tall as one (#lists, overflow hidden), in the tabs'
        order, and the box is scrolled to the one shown (`StackedLists`): the others are
        laid out at the same size but clipped, so never drawn. Hiding them (display: none)
        would be simpler, but a list shown again gets a resize event, which voids every
        rendered cell of a DataTable, and showing it lays out the whole screen: the switch
        would render everything again. Scrolling repaints the box only.
        (`query_one(ItemTable)` finds the Pending list: use this property for the one shown.)"""
        return self._tables[self.tab]

    # --- failures go to the app's error boundary ------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        event.stop()
        if event.state == WorkerState.ERROR and isinstance(event.worker.error, ConnectionError):
            # A remote server that does not answer: one steady state, not a toast per worker;
            # its event stream retries and reloads when it answers again.
            self._connection(False, getattr(event.worker.error, "reason", str(event.worker.error)))
            if self._retry_timer is None:
                self._retry_timer = self.set_timer(RETRY_SECONDS, self._retry)
        elif event.state == WorkerState.ERROR and event.worker.error is not None:
            self.app.report_failure(WORKER_TASKS.get(event.worker.name, event.worker.name or "A background task"),
                                    event.worker.error)

    async def _dispatch_message(self, message: Message) -> None:
        # This screen's handlers (row highlighted, tab activated, callbacks): Textual would stop
        # the screen's message loop after an exception in one, so report it instead.
        try:
            await super()._dispatch_message(message)
        except Exception as error:  # noqa: BLE001 - the boundary
            self.app.report_failure(f"Handling {type(message).__name__}", error)

    def on_resize(self, event) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        # Below 140 columns the detail pane goes under the list instead of beside it, the list
        # leads with the description, and so does the detail pane.
        narrow = width < NARROW
        self.query_one("#main").set_class(narrow, "narrow")
        for table in self._tables.values():  # hidden ones too (each rebuilds its rows: only when crossing NARROW)
            table.set_narrow(narrow)
        self.query_one(DetailPane).set_narrow(narrow)

    def _topbar(self) -> None:
        """The status bar: what waits (pending, new since you looked, overdue, in doubt), which
        graphs have decisions waiting for a worker, who you are and where."""
        text = Text()
        text.append(" Agent Inbox ", style=styles.BRAND)
        if self.counts:
            table = self.table
            shown = [i for i in table.items.values() if i.record.status == "pending"] if self.tab == "pending" else []
            overdue = sum(1 for i in shown if i.record.overdue)
            in_doubt = sum(1 for i in shown if i.in_doubt)
            text.append(f" {self._pending_count()} pending", style=styles.STRONG)
            loaded = self._loaded_note()
            if loaded:
                text.append(f" · {loaded}", style=styles.MUTED)
            if self._unseen:
                text.append(f" · {len(self._unseen)} new", style=styles.OK_STRONG)
            if overdue:
                text.append(f" · {overdue} overdue", style=styles.WARNING_STRONG)
            if in_doubt:
                text.append(f" · {in_doubt} in doubt", style=styles.ERROR_STRONG)
            for graph, count in sorted(self._waiting.items()):
                text.append(f" · {one_line(graph or '?', 24)}: {count} recorded, no worker running here",
                            style=styles.WARNING)
        # A server's URL and kind get more room than a file path: the URL is what an operator
        # checks before deciding against production.
        text.append(f"  {source_label(self.source, 60 if ' · ' in self.source else 40)}", style=styles.MUTED)
        text.append(f"  reviewer: {one_line(self.service.reviewer, 24)}", style=styles.MUTED)
        if not self.service.runs() and not self._waiting:
            text.append("  decisions are recorded; `inbox worker` continues the runs", style=styles.WARNING)
        if self.unreachable is not None:
            text.append("  ● server unreachable, retrying", style=styles.ERROR_STRONG)
        self.query_one("#topbar", Static).update(text, layout=False)  # one row: its size never changes

    def _pending_count(self) -> str:
        """The pending count as shown: "10000+" when it is a lower bound (a remote server counts
        interrupted threads, and a thread may wait on several requests, until all are read)."""
        count = self.counts.get("pending", 0)
        return f"{count}+" if not self.service.pending_count_exact() else str(count)

    def _loaded_note(self) -> str:
        """How much of a long Pending list is loaded, while not all of it is: never a list that
        looks complete when it is not."""
        table = self.table
        if self.tab != "pending" or not self.search_query.empty or table.complete:
            return ""
        of = f" of {self._pending_count()}" if self.counts else ""
        if self._loading_rest is not None:
            return f"loading… {table.row_count}{of} loaded"
        return f"{table.row_count}{of} loaded, more as you scroll"

    def _attention(self, what: str) -> None:
        """Bell and/or desktop notification (the config's `notify`) for new or overdue requests."""
        if "bell" in self.settings.notify:
            self.app.bell()
        driver = getattr(self.app, "_driver", None)  # Textual has no public raw write
        if "desktop" in self.settings.notify and driver is not None and not self.app.is_headless:
            notify_desktop("Agent Inbox", what, driver.write)

    def set_status(self, message: str | Text, tone: str = "", *, hint: bool = False) -> None:
        """A string is shown literally, on one line (it may hold thread ids, actions, errors); a Text as built.
        `tone` (ok, error, busy, or plain) is a class of the status line: app.tcss colours it from the theme.
        A message stays until the reviewer moves; then the hint (`_hint`) takes its place again."""
        self._showing_hint = hint
        self._status_message = message
        if isinstance(message, str):
            message = literal(message.replace("\n", " "))
        line = self.query_one("#statusline", Static)
        for name in STATUS_TONES:
            line.set_class(name == tone, f"-{name}")
        line.update(message, layout=False)  # one row: its size never changes

    def _tick_ages(self) -> None:
        now = self.clock()
        for table in self._tables.values():  # hidden ones too: a switch shows them as they are
            table.tick(now)

    def _update_tab_labels(self) -> None:
        for key, label in TABS:
            count = self.counts.get(key)
            if key == "pending" and count is not None:
                count = self._pending_count()
            tab = self.query_one(f"#tab-{key}", Tab)
            text = f"{label} {count}" if count is not None else label
            if tab.label_text != text:  # a new label relayouts the tabs
                tab.label = text
        self._refresh_hint()
        self._topbar()

    def _refresh_hint(self) -> None:
        """Put the hint back when the status line shows one (never over a message not yet read)."""
        if self._showing_hint and self.counts:
            self.set_status(self._hint(), hint=True)

    def _hint(self) -> Text:
        """What is waiting (from the same counts as the tabs, so it never contradicts them) and
        the keys that work on the selected request: only those its config allows. With a
        query: which match the cursor is on, of how many."""
        pending = self.counts.get("pending", 0)
        shown_count = self._pending_count()
        item = self.current
        key = self.keys.label
        table = self.table
        if not self.search_query.empty:
            found = table.row_count
            more = "+" if not table.complete else ""
            text = Text(f"“{one_line(self.filter_text, 40)}”: " + (
                f"{table.cursor_row + 1} of {found}{more} · {key('search_next')}/{key('search_previous')} "
                f"next/previous · {key('clear_filter')} clears" if found else "no match"))
            if pending > SEARCH_WINDOW and self.tab in ("pending", "all"):  # say what was not searched
                text.append(f" · searched the oldest {SEARCH_WINDOW:,} of {pending:,} pending", style=styles.WARNING)
            if item is None:
                return text
        else:
            text = Text(f"{shown_count} request{'s' if pending != 1 else ''} waiting" if pending else
                        "Nothing is waiting for you. New requests appear here as agents raise them.")
        if item is None:
            if pending and self.tab != "pending":
                text.append(f" · {key('tab_pending')} shows them")
        elif item.record.status != "pending" or item.error:
            text.append(f" · this one is {item.record.status if not item.error else 'failed'}: nothing to decide · "
                        f"{key('open_thread')} thread")
        elif item.needs_stepper:
            text.append(f" · {len(item.items)} actions: enter decides each")
        else:
            words = (("accept", "accept"), ("edit", "edit"), ("respond", "answer" if item.kind == "question"
                                                               else "respond"),
                     ("ignore", "reject" if item.kind == "hitl" else "ignore"))
            usable = [f"{key(action)} {word}" for action, word in words if self._allows(item, action)]
            text.append(" · " + " · ".join(usable) if usable else " · nothing is allowed on this request")
        text.append(f" · {key('help')} all keys", style=styles.MUTED)
        return text

    # --- loading ----------------------------------------------------------------------------------
    async def _fetch(self, tab: str, offset: int = 0, limit: int | None = None) -> list[InboxItem]:
        """Up to `limit` + 1 of `tab`'s items from `offset` (the extra one tells whether more
        follow). With a query, up to SEARCH_WINDOW pending requests are searched (words match
        thread ids and graphs too, which the store's payload search does not see). The other
        tabs show their newest PAGE items."""
        limit = PAGE if limit is None else limit
        if tab == "pending":
            if self.search_query.empty:
                return await self.service.pending(limit=limit + 1, offset=offset)
            return [] if offset else await self._window_matches()
        if offset:
            return []  # the other tabs show their newest PAGE items
        if tab == "resolved":
            return self._filtered(await self.service.resolved(limit=PAGE))
        if tab == "errors":
            return self._filtered(await self.service.errors())
        pending = (await self.service.pending(limit=PAGE) if self.search_query.empty else
                   (await self._window_matches())[:PAGE])
        # All: pending first, then decided ones. Unfiltered, only as many as fill the page (and
        # one more: there are more); a query searches the newest PAGE decided ones, as before.
        decided = PAGE if not self.search_query.empty else max(PAGE - len(pending), 1)
        return pending + self._filtered(await self.service.resolved(limit=decided))

    def prefetch_first_page(self) -> None:
        """Start reading the first screen's rows now, before the screen is composed: Textual's
        start (CSS, compose, the first frames: 60-100 ms) and the read (a round trip to a remote
        server) then overlap instead of following each other. The first reload takes it."""
        if self._first_page is None and not self._loaded_once:
            self._first_page = asyncio.ensure_future(self.service.pending(limit=FIRST_PAGE + 1))
            # A failure is reported by the reload that awaits it; one nobody awaited is dropped.
            self._first_page.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def _first_read(self, tab: str, first: int) -> list[InboxItem]:
        read, self._first_page = self._first_page, None
        if read is not None and first == FIRST_PAGE and tab == "pending" and self.search_query.empty:
            return await read
        if read is not None:
            read.cancel()  # the first reload is for another tab or a query: not these rows
        return await self._fetch(tab, limit=first)

    async def _search_window(self) -> list[InboxItem]:
        """The pending requests a query searches, read once for all the letters typed (and
        started when the filter box opens); read again after the store changes."""
        window = self._read_window()
        try:
            return await asyncio.shield(window)  # a reload cancelled by the next letter leaves it loading
        except Exception:
            if self._window is window:
                self._window = None  # failed: the next letter reads again
            raise

    async def _window_matches(self) -> list[InboxItem]:
        """The window's requests matching the query. A query that narrows the last one (a
        letter added, a word or field added) searches the last one's matches, not the window."""
        window = await self._search_window()
        query = self.search_query
        last = self._last_search
        searched = last[2] if last is not None and last[0] is window and narrows(query, last[1]) else window
        found = [i for i in searched if matches(i, query)]
        self._last_search = (window, query, found)
        return found

    def _read_window(self) -> asyncio.Future:
        if self._window is None:
            self._window = asyncio.ensure_future(self._read_and_index())
            # A failure is reported by the reload that awaits it; one nobody awaited is dropped.
            self._window.add_done_callback(lambda done: done.cancelled() or done.exception())
        return self._window

    async def _read_and_index(self) -> list[InboxItem]:
        """The window, each request's search text built as it is read (tens of µs a request,
        a page at a time between yields), so the first letter typed does not build 2,000 of them."""
        items = await self.service.pending(limit=SEARCH_WINDOW)
        for start in range(0, len(items), PAGE):
            for item in items[start:start + PAGE]:
                item.search_text  # noqa: B018 - a cached property: built now, kept with the item
            await asyncio.sleep(0)
        return items

    def _filtered(self, items: list[InboxItem]) -> list[InboxItem]:
        if self.search_query.empty:
            return items
        return [i for i in items if matches(i, self.search_query)]

    @work(exit_on_error=False, exclusive=True, group="load")
    async def reload(self, counts: bool = True) -> None:
        """The list from the top: a screenful first, on screen before anything else is read
        (counts, the rest of the list), then the rest in the background (_load_rest). A new
        reload (a tab switch, a filter) cancels this one, background pages included.
        `counts=False` keeps the counts (and the graphs waiting for a worker) as the live
        updates left them: a tab switch or a filter changes which items are listed, not how
        many wait.
        The list reloaded is the current tab's; it goes on loading its background pages when
        another tab, whose list needs no reload, is shown meanwhile."""
        tab, table, query = self.tab, self.table, self.filter_text
        token = self._loading_rest = object()  # load_more (the cursor near the end) waits for this loader
        try:
            # Only the unfiltered Pending list pages; the others show their PAGE items at once.
            first = FIRST_PAGE if tab == "pending" and self.search_query.empty else PAGE
            self._stale.discard(tab)  # an event from now on makes it stale again
            self._loaded_for.pop(tab, None)  # until the new rows are in
            items = await self._first_read(tab, first)
            self._reachable_again()  # a read after a failed one (the retry timer, R): the server answers
            # A screenful of rows first (a tab switch, a filter), the rest once it is painted:
            # adding a row costs ~0.2 ms, and only the first screenful is seen at once.
            shown = items[:first]
            head, rest = (shown, []) if table.arranged else (shown[:FIRST_PAGE], shown[FIRST_PAGE:])
            table.highlight = self.search_query.words
            table.load(head, self.clock(), complete=not rest and len(items) <= first)
            self._loaded_for[tab] = query
            self._unarranged.discard(tab)  # load() arranges in the table's sort and grouping
            if table is self.table:
                self._show_current()
            self._topbar()
            if rest:
                listing = table.items
                await self._painted(table)
                if table.items is not listing:
                    return  # a newer reload replaced the list
                await self._append(table, rest, complete=len(items) <= first)
            if counts or not self.counts:
                self._waiting = await self.service.waiting_for_a_worker()
                self.counts = await self.service.counts()
            self._update_tab_labels()
            if not self._loaded_once:
                self._loaded_once = True
                if self._status_message == LOADING:  # not a message the reviewer caused meanwhile
                    self.set_status(self._hint(), hint=True)
            await self._load_rest(tab, table)
        finally:
            if self._loading_rest is token:  # not a newer reload's
                self._loading_rest = None
        if not self.service.pending_count_exact() and table.complete and self.search_query.empty and tab == "pending":
            self.counts = await self.service.counts()  # every interrupt was read: now exact
        self._update_tab_labels()

    async def _load_rest(self, tab: str, table: ItemTable) -> None:
        """Pages after the first screen, in the background, up to PRELOAD rows (then load_more
        pages as the cursor nears the end). The status bar shows how many are loaded meanwhile."""
        while not table.complete and table.row_count < PRELOAD:
            self._topbar()
            await self._painted(table)  # the screen shows what is loaded before more is read
            listing = table.items  # a reload replaces it: then these pages are not for it
            items = await self._fetch(tab, offset=table.row_count, limit=PAGE)
            if table.items is not listing:
                return  # a newer reload replaced the list
            await self._append(table, items[:PAGE], complete=len(items) <= PAGE)

    async def _painted(self, table: ItemTable) -> None:
        """Return once the screen has been refreshed with what is loaded so far."""
        await asyncio.sleep(0)  # the table's own idle step lays out the new rows first
        await table.wait_for_refresh()

    async def _append(self, table: ItemTable, items: list[InboxItem], complete: bool) -> None:
        """Append a page a slice at a time, yielding between slices: appending a row costs
        ~0.2-0.4 ms, and a key pressed meanwhile should not wait for a whole page."""
        for start in range(0, len(items), APPEND_SLICE):
            last = start + APPEND_SLICE >= len(items)
            table.append(items[start:start + APPEND_SLICE], self.clock(), complete=complete if last else False)
            if not last:
                await asyncio.sleep(0)
        if not items:
            table.complete = complete

    @work(exit_on_error=False, exclusive=True, group="events")
    async def watch_events(self) -> None:
        async for update in self.service.events():
            if update.kind == "connection":
                self._connection(update.online, update.reason)
                continue
            if update.kind == "raised":
                self._raised[update.interrupt_id] = update.item
            elif update.kind == "changed":
                self._changed.add(update.interrupt_id)
            self.post_message(InboxChanged())

    def _connection(self, online: bool, reason: str) -> None:
        """A remote server stopped answering (shown until it is back), or is back (reload)."""
        if online:
            self._reachable_again()
            self._stale.update(self._tables)  # events may have been missed while it was away
            self.reload()
            return
        self.unreachable = reason or "no answer"
        self._topbar()
        self.set_status(f"✗ Server unreachable ({one_line(reason, 80)}), retrying… "
                        "Decisions cannot be sent until it answers.", "error")

    def _reachable_again(self) -> None:
        if self.unreachable is None:
            return
        self.unreachable = None
        self._topbar()
        self.set_status("✓ Server reachable again; the list is up to date.", "ok")

    def _retry(self) -> None:
        self._retry_timer = None
        if self.unreachable is not None:
            self.reload()

    def on_inbox_changed(self, message: InboxChanged) -> None:
        self._messages.clear()  # a run went on somewhere: its thread's messages may have changed
        self._window = None  # and the pending requests changed
        self._stale.update(tab for tab in self._tables if tab != "pending")  # live_update keeps Pending's
        if not self._refresh_scheduled:
            self._refresh_scheduled = True
            self.set_timer(0.05, self.live_update)

    @work(exit_on_error=False, exclusive=True, group="live")
    async def live_update(self) -> None:
        """Apply what the events said, without re-reading the whole list: new requests come
        from the events themselves; only requests someone decided are read back. The Pending
        list follows them whether it is shown or not; another tab's list shown is read again,
        one hidden when it is shown next (on_inbox_changed marked it stale)."""
        self._refresh_scheduled = False
        raised, self._raised = self._raised, {}
        changed, self._changed = self._changed, set()
        follow_ups, self._follow_ups = self._follow_ups, set()
        try:
            await self._follow(raised, changed, follow_ups)
        except asyncio.CancelledError:
            # A newer update cancelled this one (exclusive) before it merged what it took: give
            # it back, or the hidden Pending list (nothing re-reads it) would miss it for good.
            self._raised = {**raised, **self._raised}
            self._changed |= changed
            self._follow_ups |= follow_ups
            self.post_message(InboxChanged())
            raise

    async def _follow(self, raised: dict[str, InboxItem], changed: set[str], follow_ups: set[str]) -> None:
        table = self._tables["pending"]
        new_requests = len(raised)
        if self.tab != "pending":
            await self._reload_now()
        if self.tab != "pending" and self._loaded_for.get("pending") != self.filter_text:
            self._stale.add("pending")  # loaded for another query (or never): read when shown
        else:
            raised = dict(raised)  # given back as it was when cancelled
            for interrupt_id in follow_ups | set(raised):  # read back: a rule may have answered them
                item = await self.service.item(interrupt_id)
                if item.record.status == "pending":
                    raised[interrupt_id] = item
                else:
                    raised.pop(interrupt_id, None)
            fresh = [i for i in raised.values() if i.id not in changed and matches(i, self.search_query)]
            gone = [await self.service.item(i) for i in changed if i in table.items]
            newly_overdue = sum(1 for i in gone if i.record.status == "pending" and i.record.overdue
                                and not table.items[i.id].record.overdue)
            if newly_overdue:
                self._attention(f"{newly_overdue} request{'s' if newly_overdue != 1 else ''} overdue")
            self._waiting = await self.service.waiting_for_a_worker()
            self.counts = await self.service.counts()
            if not table.complete:
                fresh = []  # older requests are still to be paged in: new ones come after them
            table.merge(fresh, gone, self.clock())  # rows and counts change in the same refresh
            self._update_tab_labels()
            if table is self.table:
                self._show_current()
        self._unseen |= {i for i in raised if i in table.items} - set(follow_ups)
        self._topbar()
        if new_requests:
            self._attention(f"{new_requests} new request{'s' if new_requests != 1 else ''} to review")
            self.notify(f"{new_requests} new request{'s' if new_requests != 1 else ''} to review",
                        title="New work", timeout=self.settings.toast_seconds)

    async def _reload_now(self) -> None:
        tab, table, query = self.tab, self.table, self.filter_text
        self._stale.discard(tab)
        items = await self._fetch(tab)  # not the Pending tab: its newest PAGE items
        self.counts = await self.service.counts()
        table.load(items[:PAGE], self.clock(), complete=len(items) <= PAGE)
        self._loaded_for[tab] = query
        self._update_tab_labels()
        self._show_current()

    @work(exit_on_error=False, exclusive=True, group="expire", thread=True)
    def expire_overdue(self) -> None:
        for applied in blocking(self.service.expire()):
            self.app.call_from_thread(self._report, None, applied, "deadline passed: expired a")
        if self.service.runs():  # continue runs a rule answered (recorded, like any decision)
            for applied in blocking(self.service.recover()):
                self.app.call_from_thread(self._report, None, applied, "a rule accepted a")

    # --- selection and detail -------------------------------------------------------------------------
    @property
    def current(self) -> InboxItem | None:
        return self.table.current

    def _show_current(self) -> None:
        self._detail_shown += 1  # a detail pane still scheduled for an earlier move is not needed now
        item = self.current
        detail = self.query_one(DetailPane)
        self.refresh_bindings()
        self._refresh_hint()
        if item is not None and item.id in self._unseen:
            self._unseen.discard(item.id)
            self._topbar()
        if item is None:
            detail.show(None)
            return
        age = age_text(item.record.created_at, self.clock())
        messages = self._messages.get(item.record.thread_id)
        if messages is not None:
            detail.show(item, age, self.expanded, messages)
            self.call_after_refresh(self._prepare_neighbours, self._last_move)
        else:
            self.load_messages(item, age, self.expanded)

    def _prepare_neighbours(self, moved: float) -> None:
        """Once the selected request is on screen and the cursor rests, render the requests
        above and below it into the detail pane's kept lines and read their threads' messages,
        so moving to either shows it without rendering behind the key (bench/README.md)."""
        if moved != self._last_move:
            return  # the cursor moved on since: its new place gets its own neighbours
        table = self.table
        detail = self.query_one(DetailPane)
        now = self.clock()
        threads = []
        for index in (table.cursor_row + 1, table.cursor_row - 1):
            item = table.item_at(index)
            if item is None:
                continue
            detail.prepare(item, age_text(item.record.created_at, now))
            thread_id = item.record.thread_id
            if thread_id and thread_id not in self._messages and thread_id not in threads:
                threads.append(thread_id)
        if threads:
            self.prefetch_messages(threads)

    @work(exit_on_error=False, exclusive=True, group="prefetch")
    async def prefetch_messages(self, thread_ids: list[str]) -> None:
        """The messages of the threads next to the cursor, kept as load_messages keeps them."""
        for thread_id in thread_ids:
            if thread_id not in self._messages:
                self._keep_messages(thread_id, await self.service.messages(thread_id))

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is not self.table:
            return  # a hidden tab's list, loading in the background
        self.expanded = False
        # The row moves at once; the detail pane (and the footer's enabled keys, and the hint)
        # follow right after that frame when the cursor had been resting, and otherwise once
        # it rests: holding j does not render every request it passes.
        now = time.monotonic()
        resting = now - self._last_move >= DETAIL_DELAY
        self._last_move = now
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        if resting:
            self.call_after_refresh(self._show_current_unless_shown, self._detail_shown)
        else:
            self._detail_timer = self.set_timer(DETAIL_DELAY, partial(self._show_current_unless_shown,
                                                                      self._detail_shown))
        table = self.table
        if not table.complete and event.cursor_row >= table.row_count - 25:
            self.load_more()

    def _show_current_unless_shown(self, shown: int) -> None:
        """`_show_current`, unless it ran since this was scheduled (`shown`: its count then)."""
        if shown == self._detail_shown:
            self._show_current()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        """enter: a request with several actions opens its stepper; any other opens its thread."""
        if event.data_table is not self.table:
            return
        item = self.current
        if item is not None and item.needs_stepper and item.record.status == "pending":
            self._stepper(item)
        else:
            self.action_open_thread()

    @work(exit_on_error=False, exclusive=True, group="more")
    async def load_more(self) -> None:
        table = self.table
        if table.complete or self._loading_rest is not None:  # the background pages get there first
            return
        token = self._loading_rest = object()
        try:
            listing = table.items
            items = await self._fetch(self.tab, offset=table.row_count)
            if table.items is listing:  # not reloaded meanwhile (a tab switch, a filter)
                await self._append(table, items[:PAGE], complete=len(items) <= PAGE)
        finally:
            if self._loading_rest is token:
                self._loading_rest = None
        self._topbar()

    @work(exit_on_error=False, exclusive=True, group="messages")
    async def load_messages(self, item: InboxItem, age: str, expanded: bool) -> None:
        """Show `item` with its thread's messages: drawn once when they come within MESSAGES_WAIT
        (a local store), else drawn now and again when they come (a slow server)."""
        thread_id = item.record.thread_id
        loading = asyncio.ensure_future(self.service.messages(thread_id))
        try:
            done, _pending = await asyncio.wait({loading}, timeout=MESSAGES_WAIT)
            detail = self.query_one(DetailPane)
            if not done and self._still_current(item):
                detail.show(item, age, expanded)
            messages = await loading
        finally:
            loading.cancel()  # the cursor moved on (this worker was cancelled): nobody waits for it
        self._keep_messages(thread_id, messages)
        if self._still_current(item):
            if done:
                detail.show(item, age, expanded, messages)
            else:
                detail.show_messages(messages)
            self.call_after_refresh(self._prepare_neighbours, self._last_move)

    def _keep_messages(self, thread_id: str, messages: list) -> None:
        self._messages[thread_id] = messages
        if len(self._messages) > MESSAGES_KEPT:
            del self._messages[next(iter(self._messages))]  # the oldest

    def _still_current(self, item: InboxItem) -> bool:
        """The cursor is still on `item` (it may have moved to a request shown from the kept messages)."""
        return self.current is not None and self.current.id == item.id

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Decision keys are shown disabled when the selected request does not allow them."""
        if action not in DECISION_ACTIONS:
            return True
        item = self.current
        if item is None or item.record.status != "pending":
            return None
        return True if self._allows(item, action) else None

    @staticmethod
    def _allows(item: InboxItem, action: str) -> bool:
        if item.needs_stepper:
            return True  # decided action by action in the stepper
        if item.kind == "question":
            return action == "respond"
        names = {"accept": ("accept", "approve"), "edit": ("edit",), "respond": ("response", "respond", "reject"),
                 "ignore": ("ignore", "reject")}[action]
        return any(n in item.allowed for n in names)

    def on_key(self, event) -> None:
        # A disabled decision key does nothing by itself; say why instead of staying silent.
        binding = self.active_bindings.get(event.key)
        if binding is not None and not binding.enabled and binding.binding.action in DECISION_ACTIONS:
            item = self.current
            if item is None:
                self.notify("Select a request first.", severity="warning")
            elif item.record.status != "pending":
                self.notify(f"Already {item.record.status} by {item.record.resolved_by}; nothing to decide.",
                            severity="warning")
            else:
                self.notify(f"'{binding.binding.description}' is not allowed for {item.action}: its request's "
                            "config forbids it (see Responses in the detail pane).", severity="warning")

    # --- moving -----------------------------------------------------------------------------------
    # Moving means the last message was read: the hint for the new request takes its place.
    def action_cursor_down(self) -> None:
        self._showing_hint = True
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self._showing_hint = True
        self.table.action_cursor_up()

    def action_cursor_top(self) -> None:
        self._showing_hint = True
        self.table.move_cursor(row=0)

    def action_cursor_bottom(self) -> None:
        self._showing_hint = True
        table = self.table
        table.move_cursor(row=max(table.row_count - 1, 0))

    def action_sort(self) -> None:
        table = self.table
        self._arrange_all(sort_key=SORTS[(SORTS.index(table.sort_key) + 1) % len(SORTS)])
        self.set_status(f"Sorted by {table.sort_key}" + (f", grouped by {table.group}" if table.group != "none" else "")
                        + f" — {self.keys.label('sort')} changes the order, {self.keys.label('group')} the grouping.")

    def action_group(self) -> None:
        table = self.table
        self._arrange_all(group=GROUPS[(GROUPS.index(table.group) + 1) % len(GROUPS)])
        self.set_status((f"Grouped by {table.group}" if table.group != "none" else "Not grouped")
                        + f", sorted by {table.sort_key} — {self.keys.label('group')} changes the grouping.")

    def _arrange_all(self, **order: str) -> None:
        """Sort or group every tab's list: the one shown now, the hidden ones when shown."""
        for tab, table in self._tables.items():
            for name, value in order.items():
                setattr(table, name, value)
            if table is not self.table:
                self._unarranged.add(tab)
        self.table.arrange()

    def action_search_next(self) -> None:
        self._jump(1)

    def action_search_previous(self) -> None:
        self._jump(-1)

    def _jump(self, step: int) -> None:
        """n/N: the next/previous match (every row of a searched list is one), wrapping around."""
        table = self.table
        if self.search_query.empty:
            self.notify(f"Search first with {self.keys.label('filter')}; then {self.keys.label('search_next')} and "
                        f"{self.keys.label('search_previous')} move between the matches.", severity="warning")
            return
        if table.row_count:
            self._showing_hint = True
            table.move_cursor(row=(table.cursor_row + step) % table.row_count)

    def action_tab(self, key: str) -> None:
        self.query_one(Tabs).active = f"tab-{key}"

    @on(Tabs.TabActivated)
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        tab = event.tab.id.removeprefix("tab-")
        if tab != self.tab:  # the Tabs' first activation, as they mount, is the tab on_mount already loads
            # After the frame that moves the tabs' underline: the key is answered at once, and
            # the list follows in the next frame.
            self.call_after_refresh(self._show_tab, tab)

    def _show_tab(self, tab: str) -> None:
        """Show `tab`'s list in place of the current one: as it was left when it is up to date
        (loaded for this query, and the store has not changed since, or it is the Pending list,
        which follows the events while hidden); else shown and read again at once."""
        if tab == self.tab or self.query_one(Tabs).active != f"tab-{tab}":
            return  # another switch came first (two tab keys within a frame)
        hidden = self.table
        self._hidden_with[self.tab] = (frozenset(hidden.marked), dict(hidden.held))
        self.tab = tab
        table = self.table
        if tab in self._unarranged:
            self._unarranged.discard(tab)
            table.arrange()
        self._catch_up(tab, table)
        self.query_one(StackedLists).show(table)
        hidden.can_focus, table.can_focus = False, True
        table.focus(scroll_visible=False)
        if not self.live or tab in self._stale or self._loaded_for.get(tab) != self.filter_text:
            self.reload(counts=not self.live)
        else:
            self._show_current()
            self._update_tab_labels()  # the hint and the top bar, for this tab

    def _catch_up(self, tab: str, table: ItemTable) -> None:
        """Restyle the rows whose mark or undo countdown changed while `tab`'s list was hidden
        (both are shared by the lists; a row shows them as they were when it was built)."""
        marks, held = self._hidden_with.pop(tab, (frozenset(), {}))
        changed = (marks ^ table.marked.keys()) | {i for i in held.keys() | table.held.keys()
                                                   if held.get(i) != table.held.get(i)}
        for item_id in changed & table.items.keys():
            table.replace_item(table.items[item_id], self.clock())

    def action_reload(self) -> None:
        self._messages.clear()
        self._window = None
        self._stale.update(self._tables)  # the hidden lists are read again when shown
        self.set_status("Refreshed.")
        self.reload()

    def action_expand(self) -> None:
        self.expanded = not self.expanded
        self._show_current()

    # --- filter -------------------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()
        if self.tab in ("pending", "all"):
            self._read_window()  # read while the first letter is typed

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        try:
            self.search_query = parse_query(self.filter_text)
        except QueryError as error:
            self.set_status(f"✗ {error}", "error")
            return
        self.table.highlight = self.search_query.words
        # Typing "refund" is one query, not six: a letter typed within FILTER_DELAY of the one
        # before waits until the typing pauses. A letter after a pause (the first, or one typed
        # while looking at the list) is searched at once.
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        now = time.monotonic()
        typing, self._last_letter = now - self._last_letter < FILTER_DELAY, now
        if typing:
            self._filter_timer = self.set_timer(FILTER_DELAY, partial(self.reload, counts=not self.live))
        else:
            self.reload(counts=not self.live)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()
        if self.filter_text:
            self._showing_hint = True
            self._refresh_hint()
        else:
            event.input.display = False

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display or self.filter_text:
            box.value = ""
            box.display = False
            self.filter_text = ""
            self.search_query = Query()
            self._window = None
            self.table.highlight = ()
            self.table.focus()
            self.set_status("Filter cleared.")
            self.reload()

    # --- deciding ---------------------------------------------------------------------------------
    def _pending_or_explain(self) -> InboxItem | None:
        item = self.current
        if item is None:
            self.notify("Nothing selected.", severity="warning")
            return None
        if item.record.status != "pending":
            self.notify(f"Already {item.record.status} by {item.record.resolved_by}; nothing to decide.",
                        severity="warning")
            return None
        if item.id in self._held:
            self.notify(f"Already decided ({self._held[item.id].verb}); it is sent when its countdown ends. "
                        f"{self.keys.label('undo')} takes it back.", severity="warning")
            return None
        return item

    def _stepper(self, item: InboxItem) -> None:
        from inbox.screens.stepper import StepperScreen

        def done(response: Any) -> None:
            if response is not None:
                self.submit(item, response, "decided")
        self.app.push_screen(StepperScreen(item, self.keys, reject_reasons=self.settings.reject_reasons), done)

    def action_accept(self) -> None:
        item = self._pending_or_explain()
        if item is None:
            return
        if item.needs_stepper:
            return self._stepper(item)
        verb = "approve" if item.kind == "hitl" else "accept"
        self.submit(item, build_response(item, verb), "accepted")

    def action_ignore(self) -> None:
        from inbox.screens.respond import RespondScreen

        item = self._pending_or_explain()
        if item is None:
            return
        if item.needs_stepper:
            return self._stepper(item)
        if item.kind != "hitl":
            return self.submit(item, build_response(item, "ignore"), "ignored")

        def reasoned(reason: Any) -> None:  # "" rejects without a reason
            if reason is None:
                self.set_status("Reject cancelled; nothing was sent.")
            else:
                self.submit(item, build_response(item, "reject", text=reason or None), "rejected")
        self.app.push_screen(RespondScreen(
            f"Reject {item.action}", f"{one_line(summary(item.description), 150)}\nThe tool does not run; the agent "
            "gets your reason (optional: send nothing to reject without one).", allow_json=False, keys=self.keys,
            presets=self.settings.reject_reasons, allow_empty=True), reasoned)

    def action_edit(self) -> None:
        from inbox.screens.edit import EditArgsScreen

        item = self._pending_or_explain()
        if item is None:
            return
        if item.needs_stepper:
            return self._stepper(item)
        entry = item.items[0]

        def edited(args: dict | None) -> None:
            if args is not None:
                self._drafts[item.id] = args  # kept until the decision is claimed
                self.submit(item, build_response(item, "edit", args=args), "edited")
            else:
                self.set_status("Edit cancelled; nothing was sent.")
        self.app.push_screen(EditArgsScreen(entry.action, entry.args, entry.args_schema, self.keys,
                                            start=self._drafts.get(item.id)), edited)

    def action_respond(self) -> None:
        from inbox.screens.respond import RespondScreen

        item = self._pending_or_explain()
        if item is None:
            return
        if item.needs_stepper:
            return self._stepper(item)
        question = item.kind == "question"
        verb = "respond" if item.kind == "hitl" and "respond" in item.allowed else (
            "reject" if item.kind == "hitl" else "response")

        def answered(text: Any) -> None:
            if text is not None:
                self.submit(item, build_response(item, verb, text=text), "answered" if question else "responded")
            else:
                self.set_status("Response cancelled; nothing was sent.")
        asked = one_line(item.items[0].description or item.record.payload, 200)
        prompt = (f"The agent asks: {asked}\nType the answer it is waiting for." if question else
                  f"{one_line(summary(item.description), 150)}\nYour words go back to the agent; the tool does not run.")
        self.app.push_screen(RespondScreen(f"{'Answer' if question else 'Respond to'} {item.action}", prompt,
                                       allow_json=question, keys=self.keys,
                                       schema=item.record.response_schema if question else None), answered)

    def action_mark(self) -> None:
        table = self.table
        table.toggle_mark()
        marked = len(table.marked)
        self.set_status(f"{marked} marked — {self.keys.label('accept_marked')} accepts them all (after a confirm)."
                        if marked else "No requests marked.")
        table.action_cursor_down()

    def action_accept_marked(self) -> None:
        from inbox.screens.confirm import ConfirmScreen, bulk_listing

        table = self.table
        items = list(table.marked.values())  # marks survive tab switches: not only this tab's rows
        if not items:
            self.notify(f"Mark requests with {self.keys.label('mark')} first, then press "
                        f"{self.keys.label('accept_marked')}.", severity="warning")
            return
        acceptable = [i for i in items if self._left_out(i) is None]
        detail = bulk_listing(items, self._left_out)

        def confirmed(yes: bool) -> None:
            if not yes:
                self.set_status("Nothing was accepted.")
                return
            for item in acceptable:
                table.marked.pop(item.id, None)
                verb = "approve" if item.kind == "hitl" else "accept"
                self.submit(item, build_response(item, verb), "accepted")
        self.app.push_screen(ConfirmScreen(f"Accept {len(acceptable)} marked request{'s' if len(acceptable) != 1 else ''}?",
                                       detail, self.keys), confirmed)

    def _left_out(self, item: InboxItem) -> str | None:
        """Why bulk accept leaves a marked request out, or None when it accepts it."""
        if item.record.status != "pending":
            return f"already {item.record.status} by {item.record.resolved_by or '?'}"
        if item.needs_stepper:
            return f"{len(item.items)} actions: decide each in its stepper"
        if item.kind == "question":
            return "a question: it needs an answer"
        if not self._allows(item, "accept"):
            return "its config forbids accept"
        return None

    def submit(self, item: InboxItem, response: Any, verb: str) -> None:
        """Decide: at once when the undo window is off; otherwise the decision waits out the window
        on its row (a countdown), the cursor moves on, and `u` takes it back before it is sent."""
        window = self.settings.undo_seconds
        if window <= 0:
            return self._send(item, response, verb)
        table = self.table
        on_it = table.current_id == item.id
        self._held[item.id] = Held(item, response, verb, self.monotonic() + window)
        table.set_held(item.id, f"{verb}: sends in {countdown(window)} · {self.keys.label('undo')} undoes")
        if on_it:
            following = table.next_pending_row(table.cursor_row)
            if following is not None:
                table.move_cursor(row=following)
        if self._countdown_timer is None:
            self._countdown_timer = self.set_interval(0.25, self._countdown_tick)
        self._countdown_tick()

    def _countdown_tick(self) -> None:
        """Send what is due; show what is left (on each row, and the newest on the status line)."""
        now = self.monotonic()
        table = self.table
        undo = self.keys.label("undo")
        for item_id, held in list(self._held.items()):
            left = held.due - now
            if left <= 0:
                del self._held[item_id]
                table.set_held(item_id, None)
                self._send(held.item, held.response, held.verb)
            else:
                table.set_held(item_id, f"{held.verb}: sends in {countdown(left)} · {undo} undoes")
        if self._held:
            newest = list(self._held.values())[-1]
            more = f" ({len(self._held) - 1} more waiting)" if len(self._held) > 1 else ""
            self.set_status(self._said("⏳", newest.verb, newest.item, f"sends in {countdown(newest.due - now)}; "
                                       f"{undo} takes it back{more}"), "busy")
        elif self._countdown_timer is not None:
            self._countdown_timer.stop()
            self._countdown_timer = None

    def action_undo(self) -> None:
        """Take back the decision under the cursor if it is waiting, else the newest one."""
        if not self._held:
            why = ("the undo window is off (undo_seconds = 0)" if self.settings.undo_seconds <= 0 else
                   "decisions are sent when their countdown ends, and none is waiting")
            self.notify(f"Nothing to undo: {why}.", severity="warning")
            return
        table = self.table
        item_id = table.current_id if table.current_id in self._held else list(self._held)[-1]
        held = self._held.pop(item_id)
        table.set_held(item_id, None)
        if item_id in table.items:
            table.move_cursor(row=table.get_row_index(item_id))
        self.set_status(self._said("↶", "undone:", held.item, "nothing was sent; decide again."), "ok")
        self._show_current()

    def action_quit(self) -> None:
        """Quit; with decisions still in their undo window, ask (quitting drops them unsent)."""
        from inbox.screens.confirm import ConfirmScreen

        if not self._held:
            self.app.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.exit()
        count = len(self._held)
        self.app.push_screen(ConfirmScreen(
            f"Quit and drop {count} decision{'s' if count != 1 else ''} not sent yet?",
            f"They are still in their undo window, so nothing was sent. {self.keys.label('confirm.no')} stays "
            "and lets them be sent.", self.keys), answered)

    def _send(self, item: InboxItem, response: Any, verb: str) -> None:
        self.set_status(self._said("…", verb, item, "sending…"), "busy")
        self._decide(item, response, verb)

    @work(exit_on_error=False, thread=True, group="decide")
    def _decide(self, item: InboxItem, response: Any, verb: str) -> None:
        try:
            record = blocking(self.service.claim(item.id, response))
        except AlreadyResolved as lost:
            self.app.call_from_thread(self._lost, item, lost)
            return
        except (InvalidResponse, LookupError) as refused:
            self.app.call_from_thread(self._refused, item, refused)
            return
        except DecisionNotSent as failed:
            self.app.call_from_thread(self._not_delivered, item, failed)
            return
        self.app.call_from_thread(self._claimed, item, record, verb)
        applied = blocking(self.service.apply(record))
        self.app.call_from_thread(self._report, item, applied, verb)

    def _claimed(self, item: InboxItem, record: Any, verb: str) -> None:
        """The decision is ours: the request leaves the Pending list (the tab's count with it) and
        the cursor moves on to the next pending request."""
        updated = replace(item, record=record)
        self._drafts.pop(item.id, None)
        self._suggest_rule(item, verb)
        table = self.table
        was_current = self.current is not None and self.current.id == item.id
        self._tables["pending"].remove_item(item.id)  # shown or not
        if item.id in table.items and table is not self._tables["pending"]:
            table.replace_item(updated, self.clock())
            if was_current:
                following = table.next_pending_row(table.cursor_row)
                if following is not None:
                    table.move_cursor(row=following)
        table.marked.pop(item.id, None)
        if self.counts:
            self.counts["pending"] = max(0, self.counts.get("pending", 0) - 1)
            self.counts["resolved"] = self.counts.get("resolved", 0) + 1
            self._update_tab_labels()
        self._show_current()
        running = "the run continues…" if self.service.runs(record.graph) else "recorded for `inbox worker`"
        self.set_status(self._said("✓", verb, item, running), "ok")

    @staticmethod
    def _said(mark: str, verb: str, item: InboxItem | None, what: str, thread: str = "") -> str:
        """Every message about one decision has one shape, from sending to the run's end:
        `✓ accepted send_email on email-assistant-0001: the run finished.`"""
        action = item.action if item is not None else "request"
        thread = item.record.thread_id if item is not None and item.record.thread_id else thread
        return f"{mark} {verb} {action} on {thread}: {what}"

    def _report(self, item: InboxItem | None, applied: Applied, verb: str) -> None:
        thread = applied.thread_id
        if applied.status == "done":
            self.set_status(self._said("✓", verb, item, "the run finished.", thread), "ok")
        elif applied.status == "interrupted":
            self._follow_ups.update(i.id for i in applied.interrupts)
            asks = ", ".join(InboxItem.of_interrupt(i).action for i in applied.interrupts) or "input"
            self.set_status(self._said("✓", verb, item, f"the agent now asks: {asks} (its new request is where "
                                       "this one was).", thread), "ok")
        elif applied.status == "error":
            self.set_status(self._said("✗", verb, item, f"the run failed after your decision: "
                                       f"{one_line(applied.error or '', 150)} (see Errors, "
                                       f"{self.keys.label('tab_errors')}).", thread), "error")
            self.notify(one_line(applied.error or "", 200), title=f"Run failed: {thread}", severity="error",
                        timeout=self.settings.toast_seconds * 2)
        elif applied.status == "busy":
            self.set_status(self._said("✓", verb, item, f"recorded; {one_line(applied.owner or 'another process', 60)} "
                                       "is running this thread and continues it with your decision.", thread), "ok")
        elif applied.status == "applied":
            self.set_status(self._said("✓", verb, item, "already applied by the process running the thread.",
                                       thread), "ok")
        else:
            self.set_status(self._said("✓", verb, item, "recorded; `inbox worker` continues the run.", thread), "ok")
        self.post_message(InboxChanged())

    def _lost(self, item: InboxItem, lost: AlreadyResolved) -> None:
        when = timestamp(lost.at)
        self.notify(f"{item.action} on {item.record.thread_id} was already resolved by {lost.by} at {when}. "
                    "Your decision was not sent.", title="Someone else decided first", severity="error",
                    timeout=self.settings.toast_seconds * 2)
        self.set_status(f"✗ Not sent: resolved by {lost.by} at {when}.", "error")
        self.refresh_item(item.id)

    def _not_delivered(self, item: InboxItem, failed: DecisionNotSent) -> None:
        """A remote server did not get the decision (or we cannot tell): said, never resent."""
        title = "Maybe not delivered — not sent again" if failed.maybe else "Not sent — the server did not answer"
        self.notify(str(failed), title=title, severity="error", timeout=self.settings.toast_seconds * 2)
        self.set_status(f"✗ Not sent: {one_line(str(failed), 120)}", "error")

    def _refused(self, item: InboxItem, refused: Exception) -> None:
        self.notify(str(refused), title="Decision refused — nothing was sent", severity="error",
                    timeout=self.settings.toast_seconds * 2)
        self.set_status(f"✗ Not sent: {one_line(str(refused), 100)}", "error")

    @work(exit_on_error=False, group="load")
    async def refresh_item(self, item_id: str) -> None:
        self.table.merge([], [await self.service.item(item_id)], self.clock())
        self.counts = await self.service.counts()
        self._update_tab_labels()
        self._show_current()

    # --- other screens ------------------------------------------------------------------------------
    def action_open_thread(self) -> None:
        item = self.current
        if item is None:
            self.notify("Nothing selected.", severity="warning")
            return
        self.open_thread(item.record.thread_id)

    @work(exit_on_error=False, group="thread")
    async def open_thread(self, thread_id: str) -> None:
        from inbox.screens.thread import ThreadScreen

        view = await self.service.thread(thread_id)
        self.app.push_screen(ThreadScreen(view, self.keys))

    def action_full_view(self) -> None:
        item = self.current
        if item is None:
            self.notify("Nothing selected.", severity="warning")
            return
        self.open_full_view(item)

    @work(exit_on_error=False, group="thread")
    async def open_full_view(self, item: InboxItem) -> None:
        from inbox.screens.full import FullViewScreen

        messages = await self.service.messages(item.record.thread_id) if item.record.thread_id else []
        self.app.push_screen(FullViewScreen(item, messages, self.keys))

    def _suggest_rule(self, item: InboxItem, verb: str) -> None:
        """N accepts in a row of one tool: suggest a rule (once per streak)."""
        tool = item.items[0].action if len(item.items) == 1 and item.kind != "question" else None
        if verb != "accepted" or tool is None:
            self._streak = (None, 0)
            return
        count = self._streak[1] + 1 if self._streak[0] == tool else 1
        self._streak = (tool, count)
        if count == self.settings.suggest_rule_after:
            self.notify(f"You accepted {tool} {count} times in a row. {self.keys.label('propose_rule')} on one of its "
                        "requests proposes a rule that accepts such requests for you (audited).",
                        title="A rule?", timeout=self.settings.toast_seconds * 2)

    def action_rules(self) -> None:
        from inbox.screens.rules import RulesScreen

        self.app.push_screen(RulesScreen(self.service, self.keys))

    def action_propose_rule(self) -> None:
        """`p`: "always accept this" from the selected request (only one a person could accept)."""
        from inbox.screens.rules import ProposeRuleScreen

        item = self._pending_or_explain()
        if item is None:
            return
        if item.needs_stepper or item.kind == "question":
            self.notify("A rule accepts one tool's requests; this one is a question or has several actions.",
                        severity="warning")
            return
        if not self._allows(item, "accept"):
            self.notify(f"{item.action}'s request config forbids accept, so no rule may accept it.",
                        severity="warning")
            return

        def proposed(values: dict | None) -> None:
            if values is not None:
                self.add_rule(item, values)
        self.app.push_screen(ProposeRuleScreen(item, self.keys), proposed)

    @work(exit_on_error=False, group="rules")
    async def add_rule(self, item: InboxItem, values: dict) -> None:
        from datetime import timedelta
        expires = (self.clock() + timedelta(hours=values["hours"])).isoformat() if values["hours"] else None
        try:
            rule = await self.service.add_rule(item.items[0].action, arg=values["arg"], op=values["op"],
                                               value=values["value"], thread_id=values["thread_id"],
                                               expires_at=expires)
        except (ValueError, NeedsStore) as error:
            self.set_status(f"✗ Rule not added: {one_line(str(error), 150)}", "error")
            return
        self.set_status(f"✓ Rule {rule['id']} added: {describe_rule(rule)}. It accepts new requests as they are "
                        f"raised; this one still waits for you. {self.keys.label('rules')} lists the rules.", "ok")

    def action_help(self) -> None:
        from inbox.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(help_rows(self.keys.labels, self.keys.label), self.keys))
