"""Nothing accepted and ignored: what to do with a keyword the engine does not implement.

LangGraph's signatures take many keywords (caching, a store, context schemas, print modes...).
A program ported to the engine that passes one must learn at once that it has no effect here,
so each public entry point hands its leftover keywords to `refuse`: a keyword LangGraph accepts
raises NotImplementedError naming it and the call; any other raises TypeError, as Python would.
A keyword's default value (None, False, or what LangGraph defaults it to) is not a use of it.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

# Keywords LangGraph 1.2 accepts that the engine does not implement, per call.
NOT_IMPLEMENTED: dict[str, frozenset[str]] = {
    "StateGraph()": frozenset({"context_schema", "config_schema"}),
    "add_node()": frozenset({"defer", "input_schema", "cache_policy", "error_handler", "timeout", "trace_policy"}),
    "compile()": frozenset({"cache", "store", "debug", "transformers"}),
    "invoke()": frozenset({"context", "stream_mode", "print_mode", "output_keys", "control", "version", "debug"}),
    "stream()": frozenset({"context", "print_mode", "output_keys", "control", "version", "debug"}),
    "update_state()": frozenset({"task_id"}),
}

# Values that mean "not used" besides None: a keyword given with its LangGraph default.
_DEFAULTS: dict[str, tuple] = {"stream_mode": ("values",), "version": ("v1",), "debug": (False,), "defer": (False,)}


def _unused(name: str, value: Any) -> bool:
    return value is None or any(type(value) is type(d) and value == d for d in _DEFAULTS.get(name, ()))


def refuse(call: str, given: Mapping[str, Any], *, handled_elsewhere: Iterable[str] = ()) -> None:
    """Raise for the first keyword of `given` (a call's leftover **kwargs) that is used.

    `handled_elsewhere`: keywords another part of the engine implements (left alone here)."""
    skip = set(handled_elsewhere)
    for name, value in given.items():
        if name in skip or _unused(name, value):
            continue
        if name in NOT_IMPLEMENTED.get(call, ()):
            raise NotImplementedError(
                f"{call}: the keyword {name}= is accepted by LangGraph but not implemented by this engine; "
                f"remove it (the README's port table lists what is supported)."
            )
        raise TypeError(f"{call} got an unexpected keyword argument {name!r}.")


__all__ = ["refuse", "NOT_IMPLEMENTED"]
