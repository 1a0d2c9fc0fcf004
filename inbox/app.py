"""The approval inbox: a keyboard-first Textual app over the engine's pending-interrupt index.

A thin App (Posting's shape): the settings, the effective keys (refusing a bad remap before
anything starts), the CSS and theme, the command palette, and the error boundary. The list and
everything done to it live in InboxScreen (inbox/screens/inbox.py), the default screen; every
command is declared once in inbox/actions.py.

One error boundary (`report_failure`): a worker that fails (every worker runs with
`exit_on_error=False`), an action that raises (every key and palette command goes through
`run_action`), a screen's message handler that raises, and anything else Textual would end
the app for (`_handle_exception`) become a status line and a toast; the app keeps running and
`R` tries again.

Agent text reaches the screen only as `Text` from inbox.text (never parsed as markup, controls
made visible); toasts go through `notify`, which turns markup off for every caller.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from textual.app import App, SystemCommand
from textual.message import Message
from textual.worker import Worker, WorkerState

from inbox import gc_pauses
from inbox.actions import bindings, palette_entries
from inbox.config import InboxSettings
from inbox.keymap import Keys, effective_keys
from inbox.dialog_keys import DIALOG_BINDINGS
from inbox.review import ReviewService
from inbox.screens.inbox import InboxScreen
from inbox.text import defang, one_line


class InboxApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "Agent Inbox"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = bindings("app")  # the palette key; the list's keys are InboxScreen's

    def __init__(self, service: ReviewService, *, settings: InboxSettings | None = None, source: str = "",
                 clock: Callable[[], datetime] | None = None, live: bool = True, expire_every: float = 5.0):
        self.settings = settings or InboxSettings(reviewer=service.reviewer)
        self.keys = self.key_map(self.settings.keys)  # refuses a colliding remap before anything starts
        super().__init__()
        self.service = service
        self.NOTIFICATION_TIMEOUT = self.settings.toast_seconds  # every toast, not only some
        self.theme = self.settings.theme  # app.tcss and the widgets use its variables ($accent, $panel…)
        self.source = source
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.live = live
        self.expire_every = expire_every
        self._inbox: InboxScreen | None = None
        self._gc_thresholds: tuple[int, int, int] | None = None  # while running (inbox/gc_pauses.py)
        self.failures: list[tuple[str, BaseException]] = []  # what the error boundary reported

    @classmethod
    def key_map(cls, remap: dict[str, str]) -> Keys:
        """The effective keys of every binding id with `remap` applied (SettingsError if refused)."""
        # The dialogs' keys come from their table (inbox/dialog_keys.py), so checking a remap
        # does not import every screen before the first one is painted.
        return effective_keys({"the list": [*cls.BINDINGS, *InboxScreen.BINDINGS],
                               **{where: keys for where, keys in DIALOG_BINDINGS.values()}}, remap)

    # --- the main screen ---------------------------------------------------------------------------
    @property
    def inbox(self) -> InboxScreen:
        """The main screen: the list, its filter, the detail pane and the decisions."""
        if self._inbox is None:
            self._inbox = InboxScreen(self.service, self.keys, self.settings, source=self.source, clock=self.clock,
                                      live=self.live, expire_every=self.expire_every)
        return self._inbox

    def get_default_screen(self) -> InboxScreen:
        return self.inbox

    def on_load(self) -> None:
        self._gc_thresholds = gc_pauses.calm()  # undone in on_unmount
        # Before the screen is composed: the first page's read overlaps Textual's start.
        self.inbox.prefetch_first_page()

    def on_unmount(self) -> None:
        if self._gc_thresholds is not None:
            gc_pauses.restore(self._gc_thresholds)
            self._gc_thresholds = None

    def on_mount(self) -> None:
        if self.settings.keys:
            self.set_keymap(self.settings.keys)

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        for action in palette_entries():
            # Through run_action, so a command that fails meets the error boundary like its key.
            yield SystemCommand(action.palette, action.palette_help or
                                f"Same as its key ({self.keys.labels(action.id) or 'no key'})",
                                lambda a=action.action: self.run_action(a, self.inbox))

    def notify(self, message: str, *, title: str = "", severity: str = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every toast, the app's and the dialogs': shown literally (no markup, controls made
        visible), whatever the caller passed, because toasts often quote agent text."""
        super().notify(defang(str(message)), title=one_line(title, 80), severity=severity, timeout=timeout,
                       markup=False)

    # --- the error boundary ---------------------------------------------------------------------------
    def report_failure(self, task: str, error: BaseException) -> None:
        """The one place failures end: a status line and a toast; the app keeps running."""
        self.failures.append((task, error))
        self.log.error(task, repr(error))
        reason = self.service.explain(error) or f"{type(error).__name__}: {error}"
        self.inbox.set_status(f"✗ {task} failed: {one_line(reason, 160)}", "error")
        self.notify(one_line(reason, 300), title=f"{task} failed", severity="error",
                    timeout=self.settings.toast_seconds * 2)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The screen's workers are reported by the screen (it knows what each was doing).
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.report_failure(event.worker.name or "A background task",
                                event.worker.error)

    async def run_action(self, action, default_namespace=None, namespaces=None) -> bool:
        """Every key and palette command runs here: one that raises is reported, not fatal."""
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except Exception as error:  # noqa: BLE001 - the boundary
            self.report_failure(f"'{action if isinstance(action, str) else action[1]}'", error)
            return True

    async def _dispatch_message(self, message: Message) -> None:
        # The app's own message handlers (dialogs' callbacks run on the screen): Textual
        # would stop the app's message loop after an exception in one, so catch it here.
        try:
            await super()._dispatch_message(message)
        except Exception as error:  # noqa: BLE001 - the boundary
            self.report_failure(f"Handling {type(message).__name__}", error)

    def _handle_exception(self, error: Exception) -> None:
        # Textual's last resort (timers, dialogs' handlers) ends the app. Once the main screen
        # is up, report instead; before that (or for KeyboardInterrupt etc.) keep Textual's way.
        if isinstance(error, Exception) and self.is_running and self._inbox is not None and self._inbox.is_mounted:
            try:
                self.report_failure("The inbox", error)
                return
            except Exception:  # noqa: BLE001 - reporting failed too: fall back to Textual's exit
                pass
        super()._handle_exception(error)
