"""Wake-ups from other processes: one connection per saver LISTENs on `engine_events` (and
`engine_rules`) and tells this process when another process commits events (events.py sends
the NOTIFY in the same transaction) or changes a rule (rules_store.py). It runs on its own
thread, so it never depends on which event loop a subscriber uses, and reconnects (with a
short backoff) after the server restarts or the connection drops; subscribers keep polling
meanwhile, so nothing is missed, only later. Whoever caches what a NOTIFY invalidates hears
`on_listening(True)` once LISTEN is in place and `on_listening(False)` when it is not."""

from __future__ import annotations

import threading
import time
from typing import Callable

import psycopg

from engine.checkpoint.postgres.events import CHANNEL
from engine.checkpoint.postgres.rules_store import RULES_CHANNEL


class Listener:
    def __init__(self, dsn: str, wake: Callable[[], None], *, on_rules: Callable[[], None] = lambda: None,
                 on_listening: Callable[[bool], None] = lambda listening: None) -> None:
        self.dsn = dsn
        self._wake = wake
        self._on_rules = on_rules
        self._on_listening = on_listening
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._events_wanted = False
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def ensure_started(self, *, events: bool = False) -> None:
        """Listen for rule changes, and for events too once `events` was asked for: a commit
        of this process wakes its own listener only when someone subscribes (a wake-up takes
        the GIL from the event loop at the moment the commit's answer arrives)."""
        with self._lock:
            if events:
                self._events_wanted = True
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="engine-postgres-listen", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    self._conn = conn
                    conn.execute(f"LISTEN {RULES_CHANNEL}")
                    listening_to_events = False
                    backoff = 0.05
                    self._on_listening(True)
                    while not self._stop.is_set():
                        if self._events_wanted and not listening_to_events:
                            conn.execute(f"LISTEN {CHANNEL}")
                            listening_to_events = True
                            self._wake()  # events may have been committed while not listening
                        for notify in conn.notifies(timeout=0.1 if not listening_to_events else 0.5, stop_after=1):
                            if notify.channel == RULES_CHANNEL:
                                self._on_rules()
                            else:
                                self._wake()
            except Exception:
                if self._stop.is_set():
                    return
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                self._on_listening(False)
                self._conn = None

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=2)


__all__ = ["Listener"]
