"""Whether any process committed to a SQLite file since the last look, without a query.

In WAL mode every commit rewrites the header of the wal-index, the `-shm` file beside the
database: its change counter and last frame grow, and a log that starts over gets new salts.
Reading those 48 bytes costs a few microseconds, against about a millisecond for a query
through aiosqlite's thread, so a subscriber that polls every 50 ms for other processes' events
(an idle inbox: 20 polls a second) queries only after a commit. A torn read only gives one
poll too many. As a safety net the probe still says yes at least every FULL_READ_SECONDS.
"""

from __future__ import annotations

import os
import time
from typing import Callable

HEADER_BYTES = 48  # the first copy of the wal-index header (WalIndexHdr)
FULL_READ_SECONDS = 1.0


def commit_probe(path: str) -> Callable[[], bool]:
    """A function answering whether `path` may have a commit its previous call did not see."""
    shm = path + "-shm"
    seen: bytes | None = None
    said_yes = 0.0

    def committed() -> bool:
        nonlocal seen, said_yes
        try:
            fd = os.open(shm, os.O_RDONLY)
        except OSError:
            return True  # no index to look at (yet): poll as before
        try:
            header = os.pread(fd, HEADER_BYTES, 0)
        finally:
            os.close(fd)
        now = time.monotonic()
        if header == seen and now - said_yes < FULL_READ_SECONDS:
            return False
        seen, said_yes = header, now
        return True

    return committed
