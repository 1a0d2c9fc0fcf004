"""Folding the write-ahead log back into the database file on a thread of its own.

By default SQLite does this inside a COMMIT: the commit that takes the log past 1,000 pages
copies them into the file and, with `synchronous=NORMAL`, waits for two fsyncs. On these
machines that is 3–20 ms, paid by whichever superstep happens to commit then (measured: 1 %
of the commits took 60 % of the commit time). The saver turns that off on its write
connections (`PRAGMA wal_autocheckpoint = 0`) and counts its commits instead; every
`every_commits` commits, this thread runs `PRAGMA wal_checkpoint(PASSIVE)` on a connection of
its own. A PASSIVE checkpoint never blocks writers or readers, and durability does not change:
a commit is as durable as before, the copy into the main file just happens elsewhere.

Other processes' connections keep their own setting (a process that is not ours checkpoints
as SQLite does by default), and when the last connection closes SQLite checkpoints and removes
the log as usual.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

# About 1,000 log pages at ~10–30 pages per superstep commit: SQLite's own default threshold.
EVERY_COMMITS = 64


class WalCheckpointer:
    def __init__(self, path: str, every_commits: int = EVERY_COMMITS) -> None:
        self.path = path
        self.every_commits = every_commits
        self._commits = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        """Count one commit of this process (called on any thread, right after COMMIT)."""
        self._commits += 1  # a lost increment under a race only delays a checkpoint a little
        if self._commits >= self.every_commits and not self._stopping:
            self._commits = 0
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint",
                                                daemon=True)
                self._thread.start()
            self._wake.set()

    def close(self) -> None:
        """Stop the thread (a checkpoint it is running finishes first)."""
        self._stopping = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=10)

    def _run(self) -> None:
        db = None
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy or locked: the next wake-up tries again
                    log.debug("WAL checkpoint of %s skipped: %s", self.path, exc)
        except Exception:  # never take the process down; SQLite still checkpoints at close
            log.exception("WAL checkpoint thread for %s stopped", self.path)
        finally:
            if db is not None:
                db.close()


__all__ = ["WalCheckpointer", "EVERY_COMMITS"]
