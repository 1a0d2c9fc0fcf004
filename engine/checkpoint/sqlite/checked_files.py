"""Which database files passed `PRAGMA quick_check` as they are now: a side record per file, so
opening an unchanged file does not read every page again.

`check_file` (schema.py) reads every page of a file before the saver opens it, so a corrupt
page is refused before anything is written (~12 ms per 1,000 paused threads: 120-170 ms at
10,000, a tenth of the TUI's cold start). Most opens are of a file that has not changed since
the last one passed: the record says so, and the check is skipped only then.

"Unchanged" is the main file's identity: device, inode, size, mtime and ctime in nanoseconds,
and its 100-byte header (schema version, page count, change counter). Writing a page changes
the mtime and ctime, so any change to the main file (a corrupt page written by anything, a
WAL checkpoint, a restore from backup) makes the next open check it again. The WAL is not part
of the identity: SQLite checksums every WAL frame and stops reading at the first bad one, so
damage there cannot make a page look valid; its pages are checked when a checkpoint copies
them into the main file (the next open after that checks again).

Timestamps have a granularity (a few ms on ext4, 2 s on FAT): a page written in the same tick
as the check would leave the identity unchanged. So, as git does with its index, a file
changed less than RACY_SECONDS before its check is not recorded: its next open checks again.
A record is only written after a check passed, and never next to the database: in the user's cache directory
(`$XDG_CACHE_HOME/agent-inbox/checked/`, one small file per database path). When that
directory cannot be written, every open checks, as before.
"""

from __future__ import annotations

import hashlib
import os
import time

RECORD_VERSION = "1"
RACY_SECONDS = 2.0
MAX_RECORDS = 512  # then the older half is removed


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "agent-inbox", "checked")


def identity(path: str, st: os.stat_result, header: bytes) -> str:
    """What must be equal for an earlier check to still hold."""
    return " ".join([RECORD_VERSION, str(st.st_dev), str(st.st_ino), str(st.st_size), str(st.st_mtime_ns),
                     str(st.st_ctime_ns), header.hex()])


def _record_path(path: str) -> str:
    name = hashlib.sha256(os.path.realpath(path).encode("utf-8", "surrogateescape")).hexdigest()
    return os.path.join(cache_dir(), name)


def passed(path: str, ident: str) -> bool:
    """Whether the file, as `ident` describes it, passed the check before."""
    try:
        with open(_record_path(path), encoding="utf-8") as record:
            return record.read() == ident
    except (OSError, UnicodeDecodeError):
        return False


def remember(path: str, ident: str, st: os.stat_result) -> None:
    """Record that the file as `ident` (from `st`, taken before the check) describes it passed
    (best effort: a failure only means the next open checks again)."""
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_SECONDS * 1e9:
        return  # changed too recently to tell a later change apart by its timestamps
    target = _record_path(path)
    try:
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        scratch = f"{target}.{os.getpid()}"
        with open(scratch, "w", encoding="utf-8") as record:
            record.write(ident)
        os.replace(scratch, target)  # atomic: a reader sees the old record or the new one
        _prune(os.path.dirname(target))
    except OSError:
        pass


def _prune(folder: str) -> None:
    """Keep the `keep` most recent records (one per database path ever opened: temporary files
    would otherwise pile up); a pruned file is simply checked at its next open."""
    keep = MAX_RECORDS
    names = os.listdir(folder)
    if len(names) <= keep:
        return
    paths = sorted((os.path.join(folder, n) for n in names), key=lambda p: os.stat(p).st_mtime_ns)
    for stale in paths[:len(paths) - keep // 2]:
        try:
            os.remove(stale)
        except OSError:
            pass


__all__ = ["identity", "passed", "remember", "cache_dir"]
