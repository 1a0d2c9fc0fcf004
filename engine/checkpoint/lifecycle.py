"""Opening and closing a saver, the same way for every store: the sync twins of `asetup` and
`aclose`, `async with saver` / `with saver`, and what `from_conn_string` returns. A saver class
inherits `OpenClose` and implements `asetup` and `aclose`."""

from __future__ import annotations

from typing import Any

from engine._internal.sync import run_sync


class OpenClose:
    """`setup`/`close` and both context-manager forms, built on the saver's `asetup`/`aclose`."""

    def setup(self) -> None:
        run_sync(self.asetup(), "saver.setup()")

    def close(self) -> None:
        run_sync(self.aclose(), "saver.close()")

    async def __aenter__(self):
        await self.asetup()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    def __enter__(self):
        self.setup()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class SaverContext:
    """What a saver's `from_conn_string` returns: usable with `async with` and with `with`;
    opens the saver on entry and closes it on exit."""

    def __init__(self, cls: type, target: Any, options: dict) -> None:
        self._saver = cls(target, **options)

    async def __aenter__(self):
        return await self._saver.__aenter__()

    async def __aexit__(self, *exc_info) -> None:
        await self._saver.aclose()

    def __enter__(self):
        return self._saver.__enter__()

    def __exit__(self, *exc_info) -> None:
        self._saver.close()


__all__ = ["OpenClose", "SaverContext"]
