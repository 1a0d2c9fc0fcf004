"""What a remote backend says when a decision did not go through: not delivered
(DecisionNotSent), or someone else's decision came first (DecidedElsewhere, an AlreadyResolved,
so every caller that handles a lost race handles it); and what only a local store has (NeedsStore:
the audit log, rules). Kept out of the protocol module
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


class NeedsStore(EngineError):
    """A feature kept only in the inbox's own database (the audit log, rules), asked of a
    remote backend: an Agent Server's API does not expose it. Raised, never a crash."""

    def __init__(self, feature: str, url: str = ""):
        self.feature = feature
        where = f" (not --url {url})" if url else ""
        verb = "are" if feature.endswith("s") else "is"  # "Rules are", "The audit log is"
        super().__init__(f"{feature} {verb} kept in the inbox's database, which an Agent Server's API does not "
                         f"expose: open the database file `inbox serve` runs on with --db PATH{where}.")


__all__ = ["DecisionNotSent", "DecidedElsewhere", "NeedsStore"]
