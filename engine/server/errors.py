"""HTTP errors of the Agent Server API: one exception type carrying the status and the
`detail` text, turned into `{"detail": ...}` JSON in one place (app.py), as the real server
answers. Engine errors a request can cause map to statuses here, so routes raise, never format."""

from __future__ import annotations

from typing import Any

from engine.errors import (AlreadyResolved, EmptyCommandError, GraphBuildError, GraphConfigError,
                           InvalidResumeError, InvalidUpdateError, ThreadBusy)


class ApiError(Exception):
    """An answer other than 2xx: `status` and the `detail` that says what is wrong and how to fix it."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def not_found(what: str = "Thread or assistant not found.") -> ApiError:
    return ApiError(404, what)


def already_decided(error: AlreadyResolved) -> ApiError:
    """409: the interrupt was decided by someone else first; says who and when."""
    return ApiError(409, {"message": str(error), "interrupt_id": error.interrupt_id,
                          "decided_by": error.by, "decided_at": error.at})


def decided_by_record(record: Any) -> ApiError:
    """409 for a decided interrupt's store record (engine.checkpoint.store.InterruptRecord)."""
    return already_decided(AlreadyResolved(record.id, record.resolved_by or record.status, record.resolved_at,
                                           record.response))


def from_engine(error: Exception) -> ApiError | None:
    """The HTTP answer for an engine error a request caused, or None (a graph failure)."""
    if isinstance(error, AlreadyResolved):
        return already_decided(error)
    if isinstance(error, ThreadBusy):
        return ApiError(409, str(error))
    if isinstance(error, (InvalidResumeError, EmptyCommandError, GraphBuildError, GraphConfigError)):
        return ApiError(422, str(error))
    if isinstance(error, InvalidUpdateError) and "the graph input" in str(error):
        return ApiError(422, str(error))
    return None


__all__ = ["ApiError", "not_found", "already_decided", "from_engine"]
