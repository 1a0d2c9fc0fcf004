"""`PRAGMA quick_check` runs when a file may have changed since it last passed, not at every
open (engine/checkpoint/sqlite/checked_files.py), and a corrupt file is still refused before
anything is written to it: real SQLite files, real savers, the real cache directory (in tmp)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from pathlib import Path

import pytest

from engine.checkpoint.sqlite import SqliteSaver, checked_files, schema
from engine.errors import StorageError

from saver_helpers import cfg  # noqa: E402  (tests/engine is on sys.path)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.setattr(checked_files, "RACY_SECONDS", 0.05)  # the tests wait this long, not 2 s
    return folder


@pytest.fixture
def checks(monkeypatch) -> list[str]:
    """The paths quick_check read, in order."""
    seen: list[str] = []
    real = schema.check_file

    def counting(path: str) -> None:
        seen.append(path)
        real(path)
    monkeypatch.setattr(schema, "check_file", counting)
    return seen


def written(path: Path, value: int) -> None:
    with SqliteSaver.from_conn_string(str(path)) as saver:
        checkpoint = {"v": 1, "id": f"{value:04d}", "ts": "2026-01-01T00:00:00+00:00",
                      "channel_values": {"a": value}, "channel_versions": {"a": value}, "versions_seen": {}}
        saver.put(cfg(), checkpoint, {}, {"a": value})


def opened(path: Path) -> None:
    with SqliteSaver.from_conn_string(str(path)) as saver:
        saver.list_pending()


def folder_state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def corrupt_page(db: Path) -> None:
    """Overwrite the b-tree header of the checkpoints table's root page (not page 1): same size."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'checkpoints'").fetchone()
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * 8)


def test_an_unchanged_file_is_checked_once_and_a_changed_one_again(tmp_path, checks):
    db = tmp_path / "inbox.sqlite"
    written(db, 1)
    time.sleep(0.1)  # older than the racy window
    opened(db)
    opened(db)
    opened(db)
    assert checks == [str(db)], "an unchanged file is not read again"
    written(db, 2)  # a write, checkpointed into the file at close
    time.sleep(0.1)
    opened(db)
    opened(db)
    assert checks == [str(db)] * 2


def test_a_file_changed_within_the_racy_window_is_not_remembered(tmp_path, checks):
    db = tmp_path / "inbox.sqlite"
    written(db, 1)
    opened(db)  # at once: same timestamp tick as the write is possible, so no record
    opened(db)
    assert len(checks) == 2


def test_a_corrupt_page_after_a_passed_check_is_still_refused_before_any_write(tmp_path, checks):
    db = tmp_path / "inbox.sqlite"
    written(db, 1)
    time.sleep(0.1)
    opened(db)  # passed, remembered
    assert os.listdir(checked_files.cache_dir())
    corrupt_page(db)  # same size, same inode: only its timestamps say it changed
    before = folder_state(tmp_path)
    with pytest.raises(StorageError, match="is corrupt"):
        SqliteSaver.open(str(db))
    assert folder_state(tmp_path) == before, "nothing is written to (or created next to) a refused file"
    assert checks == [str(db)] * 2


def test_a_corrupt_file_is_never_remembered(tmp_path, cache):
    db = tmp_path / "inbox.sqlite"
    written(db, 1)
    corrupt_page(db)
    time.sleep(0.1)
    for _ in range(2):
        with pytest.raises(StorageError, match="is corrupt"):
            SqliteSaver.open(str(db))
    assert not (cache / "agent-inbox" / "checked").exists() or not os.listdir(cache / "agent-inbox" / "checked")


def test_an_unwritable_cache_only_means_checking_every_time(tmp_path, cache, checks):
    cache.mkdir()
    (cache / "agent-inbox").write_text("not a directory")  # the record cannot be written
    db = tmp_path / "inbox.sqlite"
    written(db, 1)
    time.sleep(0.1)
    opened(db)
    opened(db)
    assert len(checks) == 2


def test_records_do_not_pile_up(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(checked_files, "MAX_RECORDS", 4)
    files = []
    for n in range(6):
        db = tmp_path / f"db{n}.sqlite"
        written(db, 1)
        files.append(db)
    time.sleep(0.1)
    for db in files:
        opened(db)
    assert 0 < len(os.listdir(cache / "agent-inbox" / "checked")) <= 4
