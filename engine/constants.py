"""Graph-wide names, spelled as LangGraph spells them so ported programs keep working."""

START = "__start__"
END = "__end__"

# Keys of the special writes a task records against a checkpoint.
INTERRUPT = "__interrupt__"
RESUME = "__resume__"
ERROR = "__error__"

# Who decided, as the audit log records it when no person did: "deadline" (an expiry), "system"
# (a cancellation), "api" (a direct Command(resume=...)), "rule:<name>" (an automatic rule). A
# person's claimed reviewer name may not be one of these, so the log cannot be made to lie.
SYSTEM_DECIDERS = ("deadline", "system", "api")
SYSTEM_DECIDER_PREFIX = "rule:"


def reserved_decider(name: str) -> str | None:
    """Why `name` cannot be claimed by a person as who decided, or None when it can."""
    folded = name.strip().casefold()
    if folded in SYSTEM_DECIDERS or folded.startswith(SYSTEM_DECIDER_PREFIX):
        return (f"{name!r} is reserved for decisions the system makes ({', '.join(SYSTEM_DECIDERS)} and "
                f"names starting with {SYSTEM_DECIDER_PREFIX!r}); give the reviewer's own name")
    return None


__all__ = ["START", "END", "INTERRUPT", "RESUME", "ERROR", "SYSTEM_DECIDERS", "SYSTEM_DECIDER_PREFIX",
           "reserved_decider"]
