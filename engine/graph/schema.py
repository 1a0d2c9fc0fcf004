"""The state schema: which keys a graph has, how each key merges writes, and how state is
handed to nodes. TypedDict, pydantic BaseModel and dataclass schemas are accepted."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Callable, get_args, get_origin, get_type_hints

from engine.errors import GraphBuildError, InvalidUpdateError

_MISSING = object()


@dataclass(frozen=True)
class Channel:
    """One state key: its type and, when annotated `Annotated[T, reducer]`, its reducer."""

    name: str
    annotation: Any
    reducer: Callable[[Any, Any], Any] | None

    def empty_value(self) -> Any:
        """What a reducer starts from when the key has no value yet (list() for a list, ...)."""
        origin = get_origin(self.annotation) or self.annotation
        if isinstance(origin, type) and origin in (list, dict, set, tuple, int, float, str):
            return origin()
        return _MISSING


def _type_name(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")


def _reducer_of(annotation: Any) -> tuple[Any, Callable | None]:
    if get_origin(annotation) is typing.Annotated:
        base, *extras = get_args(annotation)
        reducers = [e for e in extras if callable(e) and not isinstance(e, type)]
        return base, (reducers[-1] if reducers else None)
    return annotation, None


class StateSchema:
    def __init__(self, schema: Any):
        self.schema = schema
        self.kind = self._kind(schema)
        try:
            hints = get_type_hints(schema, include_extras=True)
        except Exception as exc:  # a forward reference that cannot be resolved
            raise GraphBuildError(f"cannot read the type hints of state schema {schema!r}: {exc}") from exc
        if self.kind == "pydantic":
            hints = {name: hints.get(name, field.annotation) for name, field in schema.model_fields.items()}
        self.channels: dict[str, Channel] = {}
        for name, annotation in hints.items():
            if name.startswith("__") or get_origin(annotation) is typing.ClassVar:
                continue
            base, reducer = _reducer_of(annotation)
            self.channels[name] = Channel(name, base, reducer)

    @staticmethod
    def _kind(schema: Any) -> str:
        if isinstance(schema, type) and hasattr(schema, "model_fields") and hasattr(schema, "model_validate"):
            return "pydantic"
        if dataclasses.is_dataclass(schema):
            return "dataclass"
        if isinstance(schema, type) and (typing.is_typeddict(schema) or issubclass(schema, dict)):
            return "typeddict"
        raise GraphBuildError(
            f"StateGraph needs a state schema class (a TypedDict, a pydantic BaseModel or a dataclass), "
            f"got {schema!r}."
        )

    # --- converting between stored values (plain dicts) and what nodes see -------------------
    def to_node_input(self, values: dict) -> Any:
        if self.kind == "typeddict":
            return dict(values)
        if self.kind == "pydantic":
            return self.schema.model_validate(values)
        known = {f.name for f in dataclasses.fields(self.schema)}
        return self.schema(**{k: v for k, v in values.items() if k in known})

    def as_update(self, value: Any, source: str) -> dict | None:
        """A node's return value (or a graph input) as a dict of key -> value, or None."""
        if value is None:
            return None
        if isinstance(value, dict):
            return value
        if hasattr(value, "model_dump") and hasattr(type(value), "model_fields"):
            return {name: getattr(value, name) for name in type(value).model_fields}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        raise InvalidUpdateError(
            f"{source} returned {type(value).__name__} ({value!r:.80}); a node must return a dict of "
            f"state updates (keys: {', '.join(self.channels)}), None, or a Command."
        )

    def defaults(self) -> dict:
        """Initial values for schemas that declare defaults (pydantic fields, dataclass fields)."""
        out: dict = {}
        if self.kind == "pydantic":
            for name, field in self.schema.model_fields.items():
                if not field.is_required():
                    out[name] = field.get_default(call_default_factory=True)
        elif self.kind == "dataclass":
            for f in dataclasses.fields(self.schema):
                if f.default is not dataclasses.MISSING:
                    out[f.name] = f.default
                elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                    out[f.name] = f.default_factory()  # type: ignore[misc]
        # As LangGraph's reducer channels: a key with a reducer starts from its type's empty
        # value (list() for a list), so it is in the state before anything writes it.
        for name, channel in self.channels.items():
            if name not in out and channel.reducer is not None:
                empty = channel.empty_value()
                if empty is not _MISSING:
                    out[name] = empty
        return out

    # --- applying writes ------------------------------------------------------------------------
    def apply(self, values: dict, writes: list[tuple[str, str, Any]]) -> set[str]:
        """Apply `(source, key, value)` writes of one superstep to `values` in place.

        Writes to a key with a reducer are folded in order; a key without one takes the single
        value written. Returns the keys that changed."""
        by_key: dict[str, list[tuple[str, Any]]] = {}
        for source, key, value in writes:
            if key not in self.channels:
                raise InvalidUpdateError(
                    f"{source} wrote to '{key}', which is not a key of the state schema "
                    f"{getattr(self.schema, '__name__', self.schema)} (keys: {', '.join(self.channels) or 'none'}). "
                    f"Add '{key}' to the schema or stop writing it."
                )
            by_key.setdefault(key, []).append((source, value))
        changed: set[str] = set()
        for key, items in by_key.items():
            channel = self.channels[key]
            if channel.reducer is None:
                if len(items) > 1:
                    sources = ", ".join(sorted({s for s, _ in items}))
                    raise InvalidUpdateError(
                        f"'{key}' received {len(items)} values in one step (from {sources}) but has no "
                        f"reducer to merge them. Write it from one node per step, or declare it as "
                        f"Annotated[{_type_name(channel.annotation)}, reducer] (e.g. operator.add)."
                    )
                values[key] = items[0][1]
            else:
                current = values.get(key, _MISSING)
                if current is _MISSING:
                    current = channel.empty_value()
                for _source, value in items:
                    current = value if current is _MISSING else channel.reducer(current, value)
                values[key] = current
            changed.add(key)
        return changed
