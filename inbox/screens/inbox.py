"""The main screen: the list of requests, its filter and tabs, the detail pane, deciding, and
the workers behind them.

Database reads run in async workers; decisions (which resume agents' graphs) run in thread
workers on the engine's loop, so the screen never waits on an agent. Results come back as
messages or `call_from_thread`. The store's events (ReviewService.events) keep the list live;
a burst of them is coalesced into one refresh. Everything goes through `ReviewService`.

Failures go to the app's error boundary (InboxApp.report_failure): every worker runs with
`exit_on_error=False` and a failed one is reported by what it was doing (WORKER_TASKS); a
message handler of this screen that raises is reported too, and the screen keeps running.

Agent text reaches the screen only as `Text` from inbox.text (never parsed as markup, controls
made visible); toasts go through the app's `notify`, which turns markup off for every caller.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static, Tab, Tabs
from textual.worker import Worker, WorkerState

from inbox import styles
from inbox.actions import DECISIONS as DECISION_ACTIONS, TABS, bindings, help_rows
from inbox.config import InboxSettings
from inbox.keymap import Keys
from inbox.review import (AlreadyResolved, Applied, DecisionNotSent, InboxItem, InvalidResponse, ReviewService,
                          blocking, build_response)
from inbox.screens.confirm import ConfirmScreen
from inbox.screens.edit import EditArgsScreen
from inbox.screens.help import HelpScreen
from inbox.screens.respond import RespondScreen
from inbox.screens.stepper import StepperScreen
from inbox.screens.thread import ThreadScreen
from inbox.text import literal, one_line, summary
from inbox.widgets.detail import DetailPane
from inbox.widgets.item_table import ItemTable, age_text

PAGE = 200  # rows fetched at a time; more are paged in as the cursor nears the end
DETAIL_DELAY = 0.06
NARROW = 110  # columns
FILTER_DELAY = 0.15
STATUS_TONES = ("ok", "error", "busy")  # the status line's classes (-ok, -error, -busy) in app.tcss
# What a failed worker was doing, for the status line and the toast.
WORKER_TASKS = {"reload": "Loading the list", "live_update": "Updating the list", "load_more": "Loading more requests",
                "load_messages": "Loading the thread's messages", "open_thread": "Opening the thread",
                "_decide": "Sending the decision", "expire_overdue": "Expiring overdue requests",
                "refresh_item": "Refreshing the request",
                "watch_events": "Watching for new requests (live updates stopped; R refreshes)"}


class InboxChanged(Message):
    """The store changed (an engine event). Many in a row collapse into one."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, InboxChanged)


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
        self.expanded = False
        self.counts: dict[str, int] = {}
        self._raised: dict[str, InboxItem] = {}  # from events, not yet on screen
        self._changed: set[str] = set()  # decided, cancelled or expired, not yet restyled
        self._refresh_scheduled = False
        self._detail_timer = None
        self._filter_timer = None
        self._loaded_once = False
        self.unreachable: str | None = None  # a remote server's fault while it does not answer

    # --- layout -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="topbar")
        yield Tabs(*(Tab(label, id=f"tab-{key}") for key, label in TABS), id="tabs")
        yield Input(placeholder="filter: text in action, args or description — enter keeps it, "
                                f"{self.keys.label('clear_filter')} clears", id="filter")
        with Horizontal(id="main"):
            yield ItemTable(self.keys, id="items")
            yield DetailPane(self.keys, id="detail")
        yield Static(id="statusline")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self._fit(self.app.size.width)
        self._topbar()
        self.set_status("Loading…")
        self.query_one(ItemTable).focus()
        self.reload()
        if self.live:
            self.watch_events()
            if self.expire_every:
                self.set_interval(self.expire_every, self.expire_overdue)

    # --- failures go to the app's error boundary ------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        event.stop()
        if event.state == WorkerState.ERROR and isinstance(event.worker.error, ConnectionError):
            # A remote server that does not answer: one steady state, not a toast per worker;
            # its event stream retries and reloads when it answers again.
            self._connection(False, getattr(event.worker.error, "reason", str(event.worker.error)))
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
        # Below 110 columns the detail pane goes under the list instead of beside it.
        self.query_one("#main").set_class(width < NARROW, "narrow")

    def _topbar(self) -> None:
        text = Text()
        text.append(" Agent Inbox ", style=styles.BRAND)
        text.append(f"  {one_line(self.source, 60)}", style=styles.MUTED)
        text.append(f"   reviewer: {one_line(self.service.reviewer, 24)}", style=styles.MUTED)
        if not self.service.runs():
            text.append("   decisions are recorded; `inbox worker` continues the runs", style=styles.WARNING)
        if self.unreachable is not None:
            text.append("   ● server unreachable, retrying", style=styles.ERROR_STRONG)
        self.query_one("#topbar", Static).update(text)

    def set_status(self, message: str | Text, tone: str = "") -> None:
        """A string is shown literally, on one line (it may hold thread ids, actions, errors); a Text as built.
        `tone` (ok, error, busy, or plain) is a class of the status line: app.tcss colours it from the theme."""
        if isinstance(message, str):
            message = literal(message.replace("\n", " "))
        line = self.query_one("#statusline", Static)
        for name in STATUS_TONES:
            line.set_class(name == tone, f"-{name}")
        line.update(message)

    def _update_tab_labels(self) -> None:
        for key, label in TABS:
            count = self.counts.get(key)
            self.query_one(f"#tab-{key}", Tab).label = f"{label} {count}" if count is not None else label

    # --- loading ----------------------------------------------------------------------------------
    async def _fetch(self, offset: int = 0) -> list[InboxItem]:
        """Up to PAGE + 1 items from `offset` (the extra one tells whether more follow)."""
        text = self.filter_text or None
        if self.tab == "pending":
            return await self.service.pending(text=text, limit=PAGE + 1, offset=offset)
        if offset:
            return []  # the other tabs show their newest PAGE items
        if self.tab == "resolved":
            return self._filtered(await self.service.resolved(limit=PAGE))
        if self.tab == "errors":
            return self._filtered(await self.service.errors())
        pending = await self.service.pending(text=text, limit=PAGE)
        return pending + self._filtered(await self.service.resolved(limit=PAGE))

    def _filtered(self, items: list[InboxItem]) -> list[InboxItem]:
        if not self.filter_text:
            return items
        needle = self.filter_text.lower()
        return [i for i in items if needle in i.search_text]

    @work(exit_on_error=False, exclusive=True, group="load")
    async def reload(self) -> None:
        items = await self._fetch()
        self.counts = await self.service.counts()
        table = self.query_one(ItemTable)
        table.load(items[:PAGE], self.clock(), complete=len(items) <= PAGE)
        self._update_tab_labels()
        self._show_current()
        if not self._loaded_once:
            self._loaded_once = True
            pending = self.counts.get("pending", 0)
            keys = self.keys.label
            self.set_status(f"{pending} request{'s' if pending != 1 else ''} waiting. {keys('accept')} accept · "
                            f"{keys('edit')} edit · {keys('respond')} respond · {keys('ignore')} ignore · "
                            f"{keys('help')} all keys" if pending else
                            "Nothing is waiting for you. New requests appear here as agents raise them.")

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
        self.unreachable = None if online else (reason or "no answer")
        self._topbar()
        if online:
            self.set_status("✓ Server reachable again; the list is up to date.", "ok")
            self.reload()
        else:
            self.set_status(f"✗ Server unreachable ({one_line(reason, 80)}), retrying… "
                            "Decisions cannot be sent until it answers.", "error")

    def on_inbox_changed(self, message: InboxChanged) -> None:
        if not self._refresh_scheduled:
            self._refresh_scheduled = True
            self.set_timer(0.05, self.live_update)

    @work(exit_on_error=False, exclusive=True, group="live")
    async def live_update(self) -> None:
        """Apply what the events said, without re-reading the whole list: new requests come
        from the events themselves; only requests someone decided are read back."""
        self._refresh_scheduled = False
        table = self.query_one(ItemTable)
        raised, self._raised = self._raised, {}
        changed, self._changed = self._changed, set()
        new_requests = len(raised)
        if self.tab != "pending":
            await self._reload_now()
        else:
            needle = self.filter_text.lower()
            fresh = [i for i in raised.values() if i.id not in changed and (not needle or needle in i.search_text)]
            gone = [await self.service.item(i) for i in changed if i in table.items]
            self.counts = await self.service.counts()
            if not table.complete:
                fresh = []  # older requests are still to be paged in: new ones come after them
            table.merge(fresh, gone, self.clock())  # rows and counts change in the same refresh
            self._update_tab_labels()
            self._show_current()
        if new_requests:
            self.notify(f"{new_requests} new request{'s' if new_requests != 1 else ''} to review",
                        title="New work", timeout=self.settings.toast_seconds)

    async def _reload_now(self) -> None:
        items = await self._fetch()
        self.counts = await self.service.counts()
        self.query_one(ItemTable).load(items[:PAGE], self.clock(), complete=len(items) <= PAGE)
        self._update_tab_labels()
        self._show_current()

    @work(exit_on_error=False, exclusive=True, group="expire", thread=True)
    def expire_overdue(self) -> None:
        for applied in blocking(self.service.expire()):
            self.app.call_from_thread(self._report, None, applied, "expired (deadline)")

    # --- selection and detail -------------------------------------------------------------------------
    @property
    def current(self) -> InboxItem | None:
        return self.query_one(ItemTable).current

    def _show_current(self) -> None:
        item = self.current
        self.query_one(DetailPane).show(item, age_text(item.record.created_at, self.clock()) if item else "",
                                        self.expanded)
        self.refresh_bindings()
        if item is not None:
            self.load_messages(item.record.thread_id)
        else:
            self.query_one(DetailPane).show_messages([])

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.expanded = False
        self.refresh_bindings()
        # Holding j should not render every request it passes: show the one the cursor rests on.
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_DELAY, self._show_current)
        table = self.query_one(ItemTable)
        if not table.complete and event.cursor_row >= table.row_count - 25:
            self.load_more()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        """enter: a request with several actions opens its stepper; any other opens its thread."""
        item = self.current
        if item is not None and item.needs_stepper and item.record.status == "pending":
            self._stepper(item)
        else:
            self.action_open_thread()

    @work(exit_on_error=False, exclusive=True, group="more")
    async def load_more(self) -> None:
        table = self.query_one(ItemTable)
        if table.complete:
            return
        items = await self._fetch(offset=table.row_count)
        table.append(items[:PAGE], self.clock(), complete=len(items) <= PAGE)

    @work(exit_on_error=False, exclusive=True, group="messages")
    async def load_messages(self, thread_id: str) -> None:
        messages = await self.service.messages(thread_id)
        if self.current is not None and self.current.record.thread_id == thread_id:
            self.query_one(DetailPane).show_messages(messages)

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
                 "ignore": ("ignore",)}[action]
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
    def action_cursor_down(self) -> None:
        self.query_one(ItemTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(ItemTable).action_cursor_up()

    def action_cursor_top(self) -> None:
        self.query_one(ItemTable).move_cursor(row=0)

    def action_cursor_bottom(self) -> None:
        table = self.query_one(ItemTable)
        table.move_cursor(row=max(table.row_count - 1, 0))

    def action_tab(self, key: str) -> None:
        self.query_one(Tabs).active = f"tab-{key}"

    @on(Tabs.TabActivated)
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        self.tab = event.tab.id.removeprefix("tab-")
        self.query_one(ItemTable).focus()
        self.reload()

    def action_reload(self) -> None:
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

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        # Typing "refund" is one query, not six.
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self.reload)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.query_one(ItemTable).focus()
        if self.filter_text:
            self.set_status(f"Filtered by “{one_line(self.filter_text, 40)}” — {self.keys.label('filter')} to change, "
                            f"{self.keys.label('clear_filter')} to clear.")
        else:
            event.input.display = False

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display or self.filter_text:
            box.value = ""
            box.display = False
            self.filter_text = ""
            self.query_one(ItemTable).focus()
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
        return item

    def _stepper(self, item: InboxItem) -> None:
        def done(response: Any) -> None:
            if response is not None:
                self.submit(item, response, "decisions")
        self.app.push_screen(StepperScreen(item, self.keys), done)

    def action_accept(self) -> None:
        item = self._pending_or_explain()
        if item is None:
            return
        if item.needs_stepper:
            return self._stepper(item)
        verb = "approve" if item.kind == "hitl" else "accept"
        self.submit(item, build_response(item, verb), "accepted")

    def action_ignore(self) -> None:
        item = self._pending_or_explain()
        if item is None:
            return
        if item.needs_stepper:
            return self._stepper(item)
        self.submit(item, build_response(item, "ignore"), "ignored")

    def action_edit(self) -> None:
        item = self._pending_or_explain()
        if item is None:
            return
        if item.needs_stepper:
            return self._stepper(item)
        entry = item.items[0]

        def edited(args: dict | None) -> None:
            if args is not None:
                self.submit(item, build_response(item, "edit", args=args), "edited")
            else:
                self.set_status("Edit cancelled; nothing was sent.")
        self.app.push_screen(EditArgsScreen(entry.action, entry.args, entry.args_schema, self.keys), edited)

    def action_respond(self) -> None:
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
                                       allow_json=question, keys=self.keys), answered)

    def action_mark(self) -> None:
        table = self.query_one(ItemTable)
        table.toggle_mark()
        marked = len(table.marked)
        self.set_status(f"{marked} marked — {self.keys.label('accept_marked')} accepts them all (after a confirm)."
                        if marked else "No requests marked.")
        table.action_cursor_down()

    def action_accept_marked(self) -> None:
        table = self.query_one(ItemTable)
        items = [table.items[i] for i in table.marked if i in table.items]
        if not items:
            self.notify(f"Mark requests with {self.keys.label('mark')} first, then press "
                        f"{self.keys.label('accept_marked')}.", severity="warning")
            return
        acceptable = [i for i in items if not i.needs_stepper and self._allows(i, "accept")]
        skipped = len(items) - len(acceptable)
        detail = f"{skipped} marked request(s) cannot be accepted (config forbids it, or several actions) " \
                 "and will be left pending." if skipped else "Each run continues as soon as it is accepted."

        def confirmed(yes: bool) -> None:
            if not yes:
                self.set_status("Nothing was accepted.")
                return
            for item in acceptable:
                table.marked.discard(item.id)
                verb = "approve" if item.kind == "hitl" else "accept"
                self.submit(item, build_response(item, verb), "accepted")
        self.app.push_screen(ConfirmScreen(f"Accept {len(acceptable)} marked request{'s' if len(acceptable) != 1 else ''}?",
                                       detail, self.keys), confirmed)

    def submit(self, item: InboxItem, response: Any, verb: str) -> None:
        self.set_status(f"Sending: {verb} {item.action} on {item.record.thread_id}…", "busy")
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
        updated = replace(item, record=record)
        self.query_one(ItemTable).replace_item(updated, self.clock())
        if self.current is not None and self.current.id == item.id:
            self._show_current()
        running = "run continuing…" if self.service.runs(record.graph) else "recorded for `inbox worker`"
        self.set_status(f"✓ {verb.capitalize()} {item.action} on {item.record.thread_id} — {running}", "ok")

    def _report(self, item: InboxItem | None, applied: Applied, verb: str) -> None:
        thread = applied.thread_id
        if applied.status == "done":
            self.set_status(f"✓ {thread}: {verb}; the run finished.", "ok")
        elif applied.status == "interrupted":
            asks = ", ".join(InboxItem.of_interrupt(i).action for i in applied.interrupts) or "input"
            self.set_status(f"✓ {thread}: {verb}; the agent now asks: {asks} (new row below).", "ok")
        elif applied.status == "error":
            self.set_status(f"✗ {thread}: the run failed after your decision: {one_line(applied.error or '', 150)} "
                            f"(see Errors, {self.keys.label('tab_errors')}).",
                            "error")
            self.notify(one_line(applied.error or "", 200), title=f"Run failed: {thread}", severity="error",
                        timeout=self.settings.toast_seconds * 2)
        elif applied.status == "busy":
            self.set_status(f"✓ {thread}: {verb}; recorded — {one_line(applied.owner or 'another process', 60)} "
                            "is running this thread and continues it with your decision.", "ok")
        elif applied.status == "applied":
            self.set_status(f"✓ {thread}: {verb}; already applied by the process running the thread.", "ok")
        else:
            self.set_status(f"✓ {thread}: {verb}; recorded — `inbox worker` will continue the run.", "ok")
        self.post_message(InboxChanged())

    def _lost(self, item: InboxItem, lost: AlreadyResolved) -> None:
        when = (lost.at or "")[:19].replace("T", " ")
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
        self.query_one(ItemTable).replace_item(await self.service.item(item_id), self.clock())
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
        view = await self.service.thread(thread_id)
        self.app.push_screen(ThreadScreen(view, self.keys))

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(help_rows(self.keys.labels, self.keys.label), self.keys))
