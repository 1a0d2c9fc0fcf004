"""One way from a `--db` value to a store: a SQLite file path, or a Postgres URL
(`postgresql://...` / `postgres://...`). The CLI, the TUI, `inbox worker`, `inbox demo` and
`inbox serve` all open their store here, so each accepts both, and each names it in messages
the same way (`describe`: a Postgres URL with its password replaced by `***`).

    saver = open_store("runs.sqlite")                    # or a URL; opened, sync
    saver = await aopen_store("postgresql://app@db/inbox")  # opened, async
    async with store_for(value) as saver: ...            # opened on entry, closed on exit

The Postgres saver needs the `[postgres]` extra; without it a URL is refused with the install
command, not a bare ImportError.
"""

from __future__ import annotations

import os
from typing import Any

from engine.errors import StorageError

ENV_VARS = ("INBOX_DB", "DATABASE_URL")


def is_postgres(target: Any) -> bool:
    return isinstance(target, str) and target.strip().lower().startswith(("postgresql://", "postgres://"))


def describe(target: Any) -> str:
    """`target` as it may be shown: a Postgres URL without its password, a path as given."""
    if is_postgres(target):
        from engine.checkpoint.postgres.dsn import redact

        return redact(target)
    return os.fspath(target) if isinstance(target, os.PathLike) else str(target)


def default_target() -> str | None:
    """The store named by the environment: INBOX_DB, else DATABASE_URL (None if neither)."""
    for name in ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def store_for(target: Any, *, readonly: bool = False, **options: Any):
    """The saver for `target`, not opened yet (`with`/`async with` it, or call setup()).
    `readonly` (readers such as `inbox list`): a SQLite path that is not an inbox database
    yet is refused instead of becoming one; a Postgres database is migrated either way (the
    schema is created in one transaction, never half)."""
    if is_postgres(target):
        try:
            from engine.checkpoint.postgres import PostgresSaver
        except ImportError as exc:
            raise StorageError(f"{describe(target)} is a PostgreSQL database, which needs the postgres extra: "
                               f"pip install 'agent-inbox-tui[postgres]' ({exc}).") from None
        return PostgresSaver(target.strip(), **options)
    from engine.checkpoint.sqlite import SqliteSaver

    return SqliteSaver(target, adopt_empty=not readonly, **options)


def open_store(target: Any, *, readonly: bool = False, **options: Any):
    """The saver for `target`, opened (sync code)."""
    saver = store_for(target, readonly=readonly, **options)
    saver.setup()
    return saver


async def aopen_store(target: Any, *, readonly: bool = False, **options: Any):
    """The saver for `target`, opened (async code)."""
    saver = store_for(target, readonly=readonly, **options)
    await saver.asetup()
    return saver


__all__ = ["open_store", "aopen_store", "store_for", "describe", "is_postgres", "default_target", "ENV_VARS"]
