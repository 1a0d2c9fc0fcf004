"""A durable saver in PostgreSQL: `PostgresSaver` (also `AsyncPostgresSaver`, LangGraph's name),
for agents, workers, servers and reviewers on many machines sharing one database. Needs the
`[postgres]` extra (psycopg 3 and psycopg-pool).

One job per module:
    saver.py         PostgresSaver: opening and closing, the saver protocol, delegation
    transactions.py  pooled connections (one pool per event loop), transactions, queued work
                     sent with the commit as one pipeline, retry of reads after a drop
    schema.py        the tables and their migrations (one transaction, advisory lock)
    checkpoints.py   checkpoints and pending writes (rows <-> CheckpointTuples)
    packed.py        the JSON texts SQL never searches, stored deflated (bytea)
    events.py        the events table, ordered for every reader; how events update the index
    listener.py      LISTEN/NOTIFY wake-ups from other processes (events; rule changes)
    queries.py       the inbox's queries and exactly-once decisions (the store protocol)
    ownership.py     run-ownership leases (taken in a run's first commit), claims, recovery
    rules_store.py   rules, cached between steps, applied to the requests a step raises
    audit_log.py     the hash-chained audit log
    api_records.py   `inbox serve`'s threads and runs, its thread search, the batch head read
                     (engine/checkpoint/api_store.py), shared by every replica
    ledger.py        the reviewed-tool ledger (a sync connection: tools call it synchronously)
    records.py       rows -> InterruptRecord / ThreadRecord
    dsn.py           Postgres URLs, and keeping their passwords out of every message
"""

from engine.checkpoint.postgres.dsn import is_postgres_url, redact
from engine.checkpoint.postgres.saver import AsyncPostgresSaver, PostgresSaver
from engine.checkpoint.postgres.schema import SCHEMA_VERSION

__all__ = ["PostgresSaver", "AsyncPostgresSaver", "SCHEMA_VERSION", "is_postgres_url", "redact"]
