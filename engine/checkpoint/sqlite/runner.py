"""What the saver's components (events.py, queries.py, ownership.py) need to run their work: the
narrow interface they are given, instead of inheriting the whole saver and calling back into it.

Work is a plain function `fn(db, txn, *args)` run on the connection thread in one round trip
(`db` the sqlite3 connection, `txn` the transaction's state). `write` runs it in the caller's
transaction or in its own committed one (with `defer`, inside a transaction, it waits for the
transaction's next round trip); `read` runs it in one consistent snapshot. The saver
(saver.py) owns the connections, runs the work through its `Transactions` (transactions.py) and
hands each component a `SaverRunner`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

if TYPE_CHECKING:
    from engine.checkpoint.sqlite.saver import SqliteSaver


class Runner(Protocol):
    path: str

    async def write(self, fn: Callable, *args: Any, defer: bool = False) -> Any: ...

    async def read(self, fn: Callable, *args: Any) -> Any: ...

    async def query(self, sql: str, params: Sequence | dict = ()) -> list: ...

    def in_transaction(self) -> bool: ...

    def now(self) -> str:
        """The saver's clock, as the text rows store."""
        ...

    def when(self, at: datetime | str | None) -> str:
        """`at` (default: now) as the text rows store."""
        ...


class SaverRunner:
    """A `Runner` over one SqliteSaver's connections and transactions. `write`, `read` and
    `query` are the saver's own (its `Transactions`' bound methods: no extra call per statement batch)."""

    __slots__ = ("_saver", "write", "read", "query")

    def __init__(self, saver: "SqliteSaver") -> None:
        self._saver = saver
        self.write = saver._write
        self.read = saver._read
        self.query = saver._query

    @property
    def path(self) -> str:
        return self._saver.path

    def in_transaction(self) -> bool:
        return self._saver._current_txn() is not None

    def now(self) -> str:
        return self._saver._now()

    def when(self, at: datetime | str | None) -> str:
        return self._saver._when(at)


__all__ = ["Runner", "SaverRunner"]
