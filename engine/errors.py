"""Every error a user of the engine can see. Each message says what was wrong and how to fix it."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of the engine's own errors."""


class GraphBuildError(EngineError, ValueError):
    """The graph definition is invalid (raised while building or compiling)."""


class InvalidUpdateError(EngineError, ValueError):
    """A node or a caller wrote an update the state schema cannot take."""


class GraphConfigError(EngineError, ValueError):
    """The call's configuration is missing something the run needs (thread id, checkpointer)."""


class InvalidResumeError(EngineError, ValueError):
    """A `Command(resume=...)` does not match what the thread is waiting for."""


class NothingToResumeError(InvalidResumeError):
    """`Command(resume=...)` or `invoke(None)` on a thread with nothing to continue."""


class EmptyCommandError(EngineError, ValueError):
    """`Command()` with neither resume, update nor goto."""


class InterruptPayloadError(EngineError, TypeError):
    """`interrupt(value)` got a value that cannot be stored as JSON."""


class GraphRecursionError(EngineError, RecursionError):
    """The run took more supersteps than `recursion_limit` allows."""


class AlreadyResolved(EngineError):
    """Someone else decided this interrupt first."""

    def __init__(self, interrupt_id: str, by: str | None, at: str | None, response=None):
        self.interrupt_id = interrupt_id
        self.by = by
        self.at = at
        self.response = response
        super().__init__(
            f"interrupt {interrupt_id} was already resolved by {by or 'someone'} at {at or 'an unknown time'}; "
            "nothing was sent. Refresh the inbox to see its outcome."
        )


class StorageError(EngineError):
    """The checkpoint store cannot be used (not ours, corrupt, newer schema)."""


class GraphInterrupt(BaseException):
    """Raised inside a node by `interrupt()` to pause the run.

    A BaseException, like asyncio.CancelledError, so that a node's broad
    `except Exception:` cannot swallow it and silently lose the pause.
    """

    def __init__(self, interrupts):
        self.interrupts = list(interrupts)
        super().__init__(self.interrupts)


class ParentCommand(BaseException):
    """Carries a `Command(graph=Command.PARENT)` from a subgraph node up to the parent graph."""

    def __init__(self, command):
        self.command = command
        super().__init__(command)
