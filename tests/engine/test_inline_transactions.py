"""Inline-first transactions (engine/checkpoint/sqlite/transactions.py): a transaction runs on
the caller's thread when the write lock is free, and goes to aiosqlite's thread, without
blocking the event loop, when another process holds the lock or a background commit of this
process is still queued. Real SQLite files; the other process is a second connection."""

import asyncio
import sqlite3

from engine.checkpoint.sqlite import SqliteSaver

from tests.engine.saver_helpers import cfg


def a_checkpoint(n: int) -> dict:
    return {"v": 1, "id": f"1ef00000-0000-6000-8000-{n:012d}", "ts": "2026-11-30T00:00:00+00:00",
            "channel_values": {"x": n}, "channel_versions": {"x": n + 1}, "versions_seen": {}}


async def test_a_transaction_runs_inline_when_the_write_lock_is_free(tmp_path):
    async with SqliteSaver.from_conn_string(tmp_path / "inbox.sqlite") as saver:
        async with saver.transaction():
            await saver.aput(cfg("t1"), a_checkpoint(0), {}, {"x": 1})
            await saver.aget_tuple(cfg("t1"))  # a read inside: joins the transaction
            assert saver._current_txn().inline
        assert (await saver.aget_tuple(cfg("t1"))).checkpoint["channel_values"] == {"x": 0}


async def test_another_writer_makes_the_transaction_wait_on_the_connection_thread_not_the_loop(tmp_path):
    path = tmp_path / "inbox.sqlite"
    async with SqliteSaver.from_conn_string(path, busy_timeout=10) as saver:
        await saver.aput(cfg("t0"), a_checkpoint(0), {}, {"x": 1})  # the file exists, schema set up
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(ticker())

        async def write():
            async with saver.transaction():
                await saver.aput(cfg("t1"), a_checkpoint(1), {}, {"x": 1})
                await saver.aget_tuple(cfg("t1"))
                assert not saver._current_txn().inline  # it waits on aiosqlite's thread

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done()
        assert ticks >= 10, "the event loop was blocked while the file was locked"
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(writing, 5)
        ticking.cancel()
        assert (await saver.aget_tuple(cfg("t1"))) is not None


async def test_a_background_commit_still_queued_keeps_later_transactions_in_order(tmp_path):
    path = tmp_path / "inbox.sqlite"
    async with SqliteSaver.from_conn_string(path) as saver:
        await saver.aput(cfg("t0"), a_checkpoint(0), {}, {"x": 1})
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        async with saver.transaction(wait=False) as first:  # busy: handed to the thread, queued
            await saver.aput(cfg("t1"), a_checkpoint(1), {}, {"x": 1})
        assert saver._txns.inflight
        other.execute("COMMIT")
        other.close()
        async with saver.transaction():  # must not overtake `first`: goes behind it
            await saver.aput(cfg("t1"), a_checkpoint(2), {"parent": True}, {"x": 1})
            assert not saver._current_txn().inline
        await first.wait()
        ids = [t.checkpoint["id"] async for t in saver.alist(cfg("t1"))]
        assert ids == [a_checkpoint(2)["id"], a_checkpoint(1)["id"]]
