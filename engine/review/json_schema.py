"""A small JSON Schema subset, enough to check a reviewer's edited tool arguments against
the schema pydantic generates for the tool, without adding a jsonschema dependency.

Checked: type, properties, required, additionalProperties, enum, const, minimum, maximum,
exclusiveMinimum, exclusiveMaximum, minLength, maxLength, items, minItems, maxItems,
anyOf / oneOf (both as "any branch matches": pydantic uses oneOf for tagged unions, where
at most one branch can match anyway), allOf, and local `$ref` (`#/$defs/...`).
Any other keyword is ignored, as JSON Schema requires of unknown keywords, so the subset
errs towards accepting; the tool's own validation still runs when it is called.
"""

from __future__ import annotations

from typing import Any

_TYPE_CHECKS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, (list, tuple)),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    # JSON has no bool/int overlap, Python does: True must not pass as 1.
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    # JSON Schema counts 3.0 as an integer.
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


def schema_errors(instance: Any, schema: Any, path: str = "args") -> list[str]:
    """Every way `instance` breaks `schema`, each as "<path>: <what is wrong>"; [] if valid."""
    try:
        return _check(instance, schema, path, root=schema)
    except RecursionError:
        return [f"{path}: nested too deeply to check; flatten the value"]
    except TypeError:
        # A schema we cannot read (a program's hand-written garbage) constrains nothing,
        # like an unknown keyword; the tool still validates its own arguments.
        return []


def json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for messages."""
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPE_CHECKS[name](value) and not (name == "integer" and isinstance(value, float)):
            return name
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _described(value: Any) -> str:
    return f"{json_type(value)} {_show(value)}"


def _same(a: Any, b: Any) -> bool:
    # Python says True == 1; JSON says they differ.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _resolve(schema: Any, root: Any) -> Any:
    """Follow local `$ref`s; an unresolvable one constrains nothing."""
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 32:
        ref = schema["$ref"]
        if not ref.startswith("#"):
            return {}
        target: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return {}
            target = target[part]
        schema, seen = target, seen + 1
    return schema


def _type_matches(instance: Any, schema: Any) -> bool:
    wanted = schema.get("type") if isinstance(schema, dict) else None
    names = [n for n in (wanted if isinstance(wanted, list) else [wanted]) if n in _TYPE_CHECKS]
    # No type, or only names we don't know: constrains nothing.
    return not names or any(_TYPE_CHECKS[name](instance) for name in names)


def _check(instance: Any, schema: Any, path: str, root: Any) -> list[str]:
    schema = _resolve(schema, root)
    if schema is False:
        return [f"{path}: no value is allowed here"]
    if not isinstance(schema, dict):
        return []  # `true` or garbage: constrains nothing

    if "type" in schema and not _type_matches(instance, schema):
        wanted = schema["type"]
        wanted = " or ".join(map(str, wanted)) if isinstance(wanted, list) else wanted
        return [f"{path}: expected {wanted}, got {_described(instance)}"]

    errors: list[str] = []
    if "enum" in schema and isinstance(schema["enum"], list):
        if not any(_same(instance, option) for option in schema["enum"]):
            options = ", ".join(_show(option) for option in schema["enum"])
            errors.append(f"{path}: must be one of {options} (enum); got {_show(instance)}")
    if "const" in schema and not _same(instance, schema["const"]):
        errors.append(f"{path}: must be {_show(schema['const'])} (const); got {_show(instance)}")

    for keyword in ("anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list):
            errors += _check_any_of(instance, schema[keyword], path, root)
    for branch in schema.get("allOf", []) if isinstance(schema.get("allOf"), list) else []:
        errors += _check(instance, branch, path, root)

    if _TYPE_CHECKS["number"](instance):
        errors += _check_number(instance, schema, path)
    elif isinstance(instance, str):
        errors += _check_string(instance, schema, path)
    elif isinstance(instance, (list, tuple)):
        errors += _check_array(instance, schema, path, root)
    elif isinstance(instance, dict):
        errors += _check_object(instance, schema, path, root)
    return errors


def _check_any_of(instance: Any, branches: list, path: str, root: Any) -> list[str]:
    results = [(_resolve(b, root), _check(instance, b, path, root)) for b in branches]
    if not results or any(not errs for _, errs in results):
        return []
    # Report the closest branch: one whose type fits, so `Optional[int]` given -1 with
    # `minimum: 0` says "must be >= 0", not "expected integer or null".
    for branch, errs in results:
        if isinstance(branch, dict) and "type" in branch and _type_matches(instance, branch):
            return errs
    kinds = [b["type"] for b, _ in results if isinstance(b, dict) and isinstance(b.get("type"), str)]
    if len(kinds) == len(results):
        return [f"{path}: expected {' or '.join(kinds)}, got {_described(instance)}"]
    return results[0][1]


def _check_number(value: float, schema: dict, path: str) -> list[str]:
    errors = []
    rules = (("minimum", ">=", lambda v, b: v >= b), ("maximum", "<=", lambda v, b: v <= b),
             ("exclusiveMinimum", ">", lambda v, b: v > b), ("exclusiveMaximum", "<", lambda v, b: v < b))
    for keyword, sign, holds in rules:
        bound = schema.get(keyword)
        if _TYPE_CHECKS["number"](bound) and not holds(value, bound):
            errors.append(f"{path}: must be {sign} {bound} ({keyword}); got {_show(value)}")
    return errors


def _check_string(value: str, schema: dict, path: str) -> list[str]:
    errors = []
    low, high = schema.get("minLength"), schema.get("maxLength")
    if isinstance(low, int) and len(value) < low:
        errors.append(f"{path}: must be at least {low} characters (minLength); got {len(value)}")
    if isinstance(high, int) and len(value) > high:
        errors.append(f"{path}: must be at most {high} characters (maxLength); got {len(value)}")
    return errors


def _check_array(value: list, schema: dict, path: str, root: Any) -> list[str]:
    errors = []
    low, high = schema.get("minItems"), schema.get("maxItems")
    if isinstance(low, int) and len(value) < low:
        errors.append(f"{path}: must have at least {low} items (minItems); got {len(value)}")
    if isinstance(high, int) and len(value) > high:
        errors.append(f"{path}: must have at most {high} items (maxItems); got {len(value)}")
    items = schema.get("items")
    if isinstance(items, (dict, bool)):
        for i, item in enumerate(value):
            errors += _check(item, items, f"{path}[{i}]", root)
    return errors


def _check_object(value: dict, schema: dict, path: str, root: Any) -> list[str]:
    errors = []
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    for name in schema.get("required", []) if isinstance(schema.get("required"), list) else []:
        if isinstance(name, str) and name not in value:
            errors.append(f"{path}: missing required property '{name}' (required)")
    extra_rule = schema.get("additionalProperties", True)
    for key, item in value.items():
        where = f"{path}.{key}"
        if key in properties:
            errors += _check(item, properties[key], where, root)
        elif extra_rule is False:
            known = ", ".join(properties) or "none"
            errors.append(f"{path}: unexpected property '{key}' (additionalProperties); allowed: {known}")
        elif isinstance(extra_rule, dict):
            errors += _check(item, extra_rule, where, root)
    return errors
