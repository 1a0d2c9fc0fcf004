"""What a remote backend says when a decision did not go through: not delivered
(DecisionNotSent), or someone else's decision came first (DecidedElsewhere, an AlreadyResolved,
so every caller that handles a lost race handles it). Kept out of the protocol module
(backends/__init__.py), which imports nothing from the engine."""

from __future__ import annotations

from engine.errors import AlreadyResolved, EngineError


class DecidedElsewhere(AlreadyResolved):
    """Someone else decided this interrupt first (a remote server that cannot say who):
    our answer was not applied, and it is never sent again."""

    def __init__(self, interrupt_id: str, by: str | None = None, at: str | None = None, *, url: str = ""):
        super().__init__(interrupt_id, by, at)
        who = by or "someone else"
        when = f" at {at}" if at else ""
        self.args = (f"someone else decided first: interrupt {interrupt_id} was decided by {who}{when}"
                     f"{' on ' + url if url else ''}; your answer was not applied. Refresh to see its outcome.",)

    def __str__(self) -> str:
        return self.args[0]


class DecisionNotSent(EngineError, ConnectionError):
    """A remote backend could not deliver a decision; nothing was applied (or, with `maybe`,
    it may have arrived: the message says what was seen). Never retried by itself."""

    def __init__(self, message: str, *, maybe: bool = False):
        self.maybe = maybe
        super().__init__(message)


__all__ = ["DecisionNotSent", "DecidedElsewhere"]
