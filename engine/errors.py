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


class ThreadBusy(EngineError):
    """Another executor holds the thread's lease: it is running the thread now."""

    def __init__(self, thread_id: str, owner: str, expires_in: float):
        self.thread_id = thread_id
        self.owner = owner
        self.expires_in = expires_in
        super().__init__(
            f"thread '{thread_id}' is being run by {owner} right now (its lease runs for another "
            f"{max(expires_in, 0):.1f}s and is renewed while it works); nothing was run here. That run "
            "continues it; if its process died, the lease expires and the next resume or `inbox worker` "
            "takes over.")


class ThreadMovedOn(EngineError):
    """The thread's latest checkpoint changed after the run loaded it (someone else ran it)."""

    def __init__(self, thread_id: str):
        self.thread_id = thread_id
        super().__init__(f"thread '{thread_id}' was run by someone else meanwhile; reload it and decide again.")


class LeaseLost(EngineError):
    """A run's lease on its thread expired and someone else took it over: the run stops
    without committing anything more."""

    def __init__(self, thread_id: str, owner: str, holder: str | None):
        self.thread_id = thread_id
        self.owner = owner
        self.holder = holder
        taken = f"{holder} holds it now" if holder else "nobody holds it now"
        super().__init__(
            f"the run on thread '{thread_id}' lost its lease (it was stalled longer than the lease "
            f"lasts; {taken}), so it stopped without saving anything more. The thread continues "
            "from its last saved step.")


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
