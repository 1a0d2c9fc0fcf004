"""The write-ahead log is folded back into the database file on a thread of its own
(engine/checkpoint/sqlite/wal.py), not inside a superstep's COMMIT. Real SQLite files."""

import asyncio
import shutil
import sqlite3

from engine.checkpoint.sqlite import SqliteSaver

from tests.engine.saver_helpers import cfg


def a_checkpoint(n: int) -> dict:
    return {"v": 1, "id": f"1ef00000-0000-6000-8000-{n:012d}", "ts": "2026-11-30T00:00:00+00:00",
            "channel_values": {"x": n}, "channel_versions": {"x": n + 1}, "versions_seen": {}}


async def test_commits_no_longer_checkpoint_the_log_themselves(tmp_path):
    async with SqliteSaver.from_conn_string(tmp_path / "inbox.sqlite") as saver:
        await saver.aput(cfg("t1"), a_checkpoint(0), {}, {"x": 1})
        assert saver._txns.inline.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        assert await saver._txns.on(saver._conn, lambda db: db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]) == 0


async def test_the_background_thread_copies_committed_pages_into_the_main_file(tmp_path):
    path = tmp_path / "inbox.sqlite"
    async with SqliteSaver.from_conn_string(path) as saver:
        saver._txns.wal.every_commits = 5
        for n in range(20):
            await saver.aput(cfg(f"t{n}"), a_checkpoint(n), {}, {"x": n + 1})
        # The main file alone (no -wal beside it) holds what a checkpoint copied into it.
        copy = tmp_path / "copy.sqlite"
        for _ in range(200):
            shutil.copyfile(path, copy)
            found = sqlite3.connect(copy).execute("SELECT count(*) FROM checkpoints").fetchone()[0]
            if found >= 15:
                break
            await asyncio.sleep(0.01)
        assert found >= 15, f"only {found} checkpoints reached the main file"
        thread = saver._txns.wal._thread
        assert thread is not None and thread.is_alive()
    # Closing stops the thread; SQLite checkpoints the rest when the last connection closes.
    assert not thread.is_alive()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 20


async def test_a_checkpoint_blocked_by_a_reader_is_retried_and_loses_nothing(tmp_path):
    path = tmp_path / "inbox.sqlite"
    async with SqliteSaver.from_conn_string(path) as saver:
        saver._txns.wal.every_commits = 2
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM checkpoints").fetchone()  # holds an old snapshot
        for n in range(10):
            await saver.aput(cfg(f"t{n}"), a_checkpoint(n), {}, {"x": n + 1})
        reader.execute("COMMIT")
        for n in range(10, 14):
            await saver.aput(cfg(f"t{n}"), a_checkpoint(n), {}, {"x": n + 1})
        assert len(await saver.alist_threads()) == 14
    assert sqlite3.connect(path).execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 14
