"""A durable saver in a PostgreSQL database, on psycopg 3 and psycopg-pool.

    async with PostgresSaver.from_conn_string("postgresql://app@db/inbox") as saver:  # async code
        graph = builder.compile(checkpointer=saver)
    with PostgresSaver.from_conn_string(url) as saver:                                # sync code
        ...

What SqliteSaver is for one host, this is for many: the same saver protocol, the same store
protocol (the pending-interrupt index, the audit log, exactly-once decisions, leases, events),
checked by the same conformance suite, with workers, servers and reviewers on any number of
machines sharing one database.

- Schema: created and migrated on open, in one transaction under an advisory lock (schema.py).
- Connections: a pool per event loop, no process-wide lock (transactions.py); prepared
  statements off by default, so PgBouncer in transaction mode works (`prepare_threshold=`).
  Reads are retried once after a dropped connection or a server restart; a transaction that
  fails is rolled back and raised.
- One transaction per superstep, sent as one message with its commit (transactions.py), that
  message one statement: `SELECT engine_step(...)`, a PL/pgSQL function applying the step's
  writes (step.py, schema.py). A run of bench/compare.py's approval graph costs 4 round trips
  (load, three steps), a resume 3 (load, two steps: the claim goes with the first);
  bench/postgres_profile.py counts them and the server's CPU per call.
- Events ordered for every reader despite concurrent writers, with LISTEN/NOTIFY wake-ups
  (events.py, listener.py).
- Large reads (a listing of every pending interrupt) on a plain sync connection on a worker
  thread, the rows decoded chunk by chunk as they arrive (bulk.py).
- Leases and claims (ownership.py); the reviewed-tool ledger on a sync connection (ledger.py).
- The Agent Server API's threads and runs, for `inbox serve` and its replicas (api_records.py).
- The hash-chained audit log, one row per decision in the decision's transaction
  (audit_log.py), and rules applied when a request is raised (rules_store.py).

The connection string's password never appears in a message: `repr()`, errors and logs use
the redacted form (dsn.py).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable, Sequence

import psycopg

from engine._internal.sync import run_sync
from engine.checkpoint.lifecycle import OpenClose, SaverContext
from engine.checkpoint.base import BaseCheckpointSaver, CheckpointTuple, Commit
from engine.checkpoint.postgres.api_records import PostgresApiRecords
from engine.checkpoint.postgres.checkpoints import CheckpointRows
from engine.checkpoint.postgres.dsn import is_postgres_url, redact, redact_text
from engine.checkpoint.postgres.events import EventLog
from engine.checkpoint.postgres.ledger import PostgresLedger
from engine.checkpoint.postgres.listener import Listener
from engine.checkpoint.postgres.ownership import CLAIMED_OTHERWISE, LEASE_BUSY, LEASE_LOST, MOVED_ON, Ownership
from engine.checkpoint.postgres.queries import Queries
from engine.checkpoint.postgres.rules_store import RulesCache
from engine.checkpoint.postgres.schema import SCHEMA_VERSION, ensure_schema
from engine.checkpoint.postgres.transactions import Connections
from engine.checkpoint.sqlite.times import normalize_ts, utc_iso
from engine.errors import LeaseLost, StorageError
from engine.events import Event


def _delegate(component: str, name: str) -> Callable:
    method = getattr({"_queries": Queries, "_ownership": Ownership, "_api": PostgresApiRecords}[component], name)
    import functools
    import inspect

    if inspect.iscoroutinefunction(method):
        @functools.wraps(method)
        async def call(self, *args: Any, **kwargs: Any) -> Any:
            return await getattr(getattr(self, component), name)(*args, **kwargs)
    else:
        @functools.wraps(method)
        def call(self, *args: Any, **kwargs: Any) -> Any:
            return getattr(getattr(self, component), name)(*args, **kwargs)
    return call


class PostgresSaver(OpenClose, BaseCheckpointSaver):
    """Checkpoints, pending writes, threads, the pending-interrupt index, leases and events in
    one PostgreSQL database. See the module docstring."""

    def __init__(self, conninfo: str, *, pool_size: int = 8, min_pool_size: int = 1,
                 prepare_threshold: int | None = None, connect_timeout: float = 30.0,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        if not isinstance(conninfo, str) or not conninfo.strip():
            raise ValueError("PostgresSaver needs a connection string, e.g. postgresql://user@host:5432/dbname")
        if pool_size < 1 or min_pool_size < 0 or min_pool_size > pool_size:
            raise ValueError(f"pool_size must be at least 1 and min_pool_size between 0 and pool_size "
                             f"(got pool_size={pool_size}, min_pool_size={min_pool_size})")
        self.conninfo = conninfo
        self.where = redact(conninfo)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._db = Connections(conninfo, min_size=min_pool_size, max_size=pool_size,
                               prepare_threshold=prepare_threshold, timeout=connect_timeout,
                               write_events=EventLog.commit_rows)
        self._rows = CheckpointRows(self._db, self._now)
        self._listener = Listener(conninfo, self._notify_subscribers, on_rules=self._forget_rules,
                                  on_listening=self._rules_listening)
        self._rules = RulesCache(self._listener.ensure_started)
        self._events = EventLog(self._db, self._rules)
        self._queries = Queries(self._db, self._when, self.where, on_rules_changed=self._rules.invalidate)
        self._ownership = Ownership(self._db, self._now)
        self._api = PostgresApiRecords(self._db, self._now)  # `inbox serve`'s records (api_store.py)
        self._file_ledger = PostgresLedger(conninfo, prepare_threshold)
        self._migrated = False

    def __repr__(self) -> str:
        return f"PostgresSaver({self.where!r})"

    @property
    def path(self) -> str:
        """Where the data is, for messages (the redacted connection string)."""
        return self.where

    # --- opening and closing --------------------------------------------------------------------
    @classmethod
    def from_conn_string(cls, conninfo: str, **options: Any) -> "SaverContext":
        return SaverContext(cls, conninfo, options)

    @classmethod
    async def aopen(cls, conninfo: str, **options: Any) -> "PostgresSaver":
        saver = cls(conninfo, **options)
        await saver.asetup()
        return saver

    @classmethod
    def open(cls, conninfo: str, **options: Any) -> "PostgresSaver":
        saver = cls(conninfo, **options)
        saver.setup()
        return saver

    async def asetup(self) -> None:
        """Connect and bring the schema up to date (StorageError for a newer one)."""
        if self._migrated:
            await self._db.pool()
            return
        try:
            async with await psycopg.AsyncConnection.connect(self.conninfo, **self._db.connect_kwargs()) as conn:
                await ensure_schema(conn, self.where)
        except psycopg.Error as exc:
            raise self._db.error(exc, "opening the database") from None
        self._migrated = True
        await self._db.pool()

    async def aclose(self) -> None:
        if self._db.current.get() is not None:
            raise RuntimeError("aclose() was called inside this saver's transaction; close it "
                               "after the `async with saver.transaction():` block.")
        self._listener.stop()
        self._file_ledger.close()
        await self._db.close()
        self._notify_subscribers()

    async def _ensure_open(self) -> None:
        if not self._migrated:
            await self.asetup()

    # --- transactions ------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self, *, wait: bool = True, after: Commit | None = None,
                          carry: bool = False) -> AsyncIterator[Commit]:
        """Everything awaited inside commits in one transaction, or is rolled back if the
        block raises; nested blocks are savepoints. Work that needs no answer before the commit
        is sent with it, in one pipeline. Commits are always made before the block returns
        (`wait=False` and `carry` are satisfied by committing at once; `after` is checked)."""
        if after is not None:
            await after.wait()
        await self._ensure_open()
        outer = self._db.current.get() is None
        try:
            async with self._db.transaction() as commit:
                yield commit
        except psycopg.Error as exc:
            if getattr(exc, "sqlstate", None) == LEASE_LOST:
                raise await self._lease_lost(exc) from None
            if getattr(exc, "sqlstate", None) in (LEASE_BUSY, MOVED_ON):  # a queued take of the lease
                raise await self._ownership.take_failed(exc) from None
            if getattr(exc, "sqlstate", None) == CLAIMED_OTHERWISE:  # a queued claim of a run's answers
                raise await self._ownership.claim_failed(exc) from None
            raise StorageError(redact_text(f"PostgreSQL {self.conninfo}: the transaction failed and was rolled "
                                           f"back: {exc}", self.conninfo)) from None
        if outer:
            self._notify_subscribers()

    def _forget_rules(self) -> None:
        self._rules.invalidate()

    def _rules_listening(self, listening: bool) -> None:
        self._rules.listening(listening)

    async def _lease_lost(self, exc: psycopg.Error) -> LeaseLost:
        text = str(exc)  # "lease on thread T is not held by O"
        thread, _, owner = text.partition("lease on thread ")[2].partition(" is not held by ")
        return await self._ownership.lease_lost(thread, owner.splitlines()[0] if owner else "")

    def _now(self) -> str:
        return utc_iso(self._clock())

    def _when(self, at: datetime | str | None) -> str:
        if at is None:
            return self._now()
        return utc_iso(at) if isinstance(at, datetime) else normalize_ts(at)

    # --- events -------------------------------------------------------------------------------------
    async def _astore_events(self, events: list[Event]) -> list[Event]:
        await self._ensure_open()
        return await self._events.store(events)

    async def aqueue_events(self, events: list[Event]) -> None:
        """Inside a transaction, the events are applied with its queued work and appended at
        its commit (one pipeline); outside, the same as `aput_events`."""
        if not events:
            return
        if self._db.current.get() is None:
            await self.aput_events(events)
            return
        await self._events.queue(events)

    async def aread_events(self, since: int | None = None, limit: int | None = None) -> list[Event]:
        await self._ensure_open()
        return await self._events.read(since, limit)

    async def alast_event_seq(self) -> int:
        await self._ensure_open()
        return await self._events.last_seq()

    def last_event_seq(self) -> int:
        return run_sync(self.alast_event_seq(), "saver.last_event_seq()")

    def put_events(self, events: list[Event]) -> list[Event]:
        return run_sync(self.aput_events(events), "saver.put_events()")

    async def subscribe(self, since: int | None = None, *, poll_interval: float = 0.05) -> AsyncIterator[Event]:
        """As BaseCheckpointSaver.subscribe; other processes' commits wake it through
        LISTEN/NOTIFY at once, polling every `poll_interval` (at most 100 ms) is the fallback."""
        await self._ensure_open()
        self._listener.ensure_started(events=True)
        async for event in super().subscribe(since, poll_interval=poll_interval):
            yield event

    def _poll_timeout(self, poll_interval: float) -> float | None:
        return min(poll_interval, 0.1)

    # --- the inbox's queries and decisions (queries.py) and run ownership (ownership.py) --------------
    for _name in ("alist_pending", "acount_by_status", "aget_interrupt", "afind_interrupt_ids", "aaudit_log",
                  "aput_rule", "alist_rules", "alist_threads", "aget_thread",
                  "adecisions", "alist_claimed_unapplied", "alist_due", "aresolve", "aexpire", "aexpire_due",
                  "list_pending", "count_by_status", "get_interrupt", "list_threads", "get_thread", "decisions",
                  "list_claimed_unapplied", "list_due", "resolve", "expire", "expire_due"):
        locals()[_name] = _delegate("_queries", _name)
    for _name in ("alease_acquire", "alease_renew", "alease_release", "alease_holder", "aclaim_answers",
                  "aclaim_token", "amark_applied", "alist_recoverable"):
        locals()[_name] = _delegate("_ownership", _name)
    for _name in ("acreate_api_thread", "amerge_api_thread_metadata", "aget_api_thread", "asearch_api_threads",
                  "alatest_checkpoints", "aput_api_run", "aset_api_run_status", "aget_api_run", "alist_api_runs",
                  "alist_unfinished_api_runs", "aheartbeat_api_runs", "aclaim_api_run"):
        locals()[_name] = _delegate("_api", _name)
    del _name

    def tool_call(self, key: str, action: str, **fields: Any):
        """Advance a reviewed tool call in the ledger, in this database (ledger.py)."""
        return self._file_ledger.apply(key, action, (fields["new"]["thread_id"], fields["owner"]), **fields)

    # --- the saver protocol ---------------------------------------------------------------------------
    async def aget_tuple(self, config: dict) -> CheckpointTuple | None:
        await self._ensure_open()
        return await self._rows.get_tuple(config)

    async def alist(self, config: dict | None, *, filter: dict | None = None, before: dict | None = None,
                    limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        await self._ensure_open()
        async for item in self._rows.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config: dict, checkpoint: dict, metadata: dict, new_versions: dict) -> dict:
        await self._ensure_open()
        return await self._rows.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: dict, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        await self._ensure_open()
        await self._rows.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints, pending writes and threads row. Its interrupt rows
        stay (the audit log); pending or claimed-but-unapplied ones become cancelled."""
        await self._ensure_open()
        await self._rows.delete_thread(str(thread_id))


AsyncPostgresSaver = PostgresSaver  # LangGraph's async saver name: one class serves both here

__all__ = ["PostgresSaver", "AsyncPostgresSaver", "SCHEMA_VERSION", "is_postgres_url"]
