"""Graph-wide names, spelled as LangGraph spells them so ported programs keep working."""

START = "__start__"
END = "__end__"

# Keys of the special writes a task records against a checkpoint.
INTERRUPT = "__interrupt__"
RESUME = "__resume__"
ERROR = "__error__"

__all__ = ["START", "END", "INTERRUPT", "RESUME", "ERROR"]
