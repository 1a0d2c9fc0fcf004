"""A durable saver in one SQLite file: `SqliteSaver` (also `AsyncSqliteSaver`, LangGraph's name).

One job per module:
    saver.py       SqliteSaver: opening and closing, LangGraph's saver protocol, and the
                   components below it delegates to
    transactions.py  running each call's work on the connection thread, in the caller's
                   transaction or its own: the write lock, savepoints, background commits
    checkpoints.py checkpoints, pending writes and channel value blobs (rows <-> CheckpointTuples)
    connection.py  aiosqlite connections: the one place its private internals are used
    schema.py      the schema, its append-only migrations, and the checks that refuse a
                   foreign, corrupt or newer file before anything is written to it
    events.py      the events table and how each event updates `threads` and `interrupts`
    queries.py     the inbox's queries and exactly-once decisions (the store protocol)
    api_records.py the Agent Server API's threads and runs, and its thread search (api_store.py)
    runner.py      the narrow interface events, queries and ownership run their work through
    ownership.py   run-ownership leases, claims of answers, recovery
    ledger.py      the reviewed-tool ledger (a plain sqlite3 connection: tools call it synchronously)
    interrupt_writes.py  pending interrupt writes in their short form, with the database at hand
    records.py     the columns the queries read and fast decoders of their rows into records
    packing.py     the stored form of JSON text (raw, deflated, deflated against a related text)
    compaction.py  short forms of checkpoints and interrupt writes
    blobs.py       append deltas of list values and the cache of recent ones
    times.py       the time formats rows store and records carry
    locks.py       a lock for coroutines on any event loop
    batching.py    id lists split for `IN (...)`

The record types and the store protocol live in engine/checkpoint/store.py; they are
re-exported here so `from engine.checkpoint.sqlite import InterruptRecord` keeps working.
"""

from engine.checkpoint.sqlite.saver import AsyncSqliteSaver, SqliteSaver
from engine.checkpoint.sqlite.schema import APPLICATION_ID, SCHEMA_VERSION
from engine.checkpoint.store import InterruptNotFound, InterruptRecord, ThreadRecord

__all__ = ["SqliteSaver", "AsyncSqliteSaver", "InterruptRecord", "ThreadRecord", "InterruptNotFound",
           "APPLICATION_ID", "SCHEMA_VERSION"]
