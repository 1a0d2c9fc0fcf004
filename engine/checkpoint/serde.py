"""JSON serialization for everything the engine stores. Never pickle: a stored value must not
be able to execute code when it is loaded.

Plain JSON types round-trip as they are. A few common non-JSON values are tagged so they come
back as the same type: tuples, sets, bytes, datetimes, pydantic models (as their dumped dict),
dataclasses (as dicts), `Interrupt`/`Command`/`Send` objects and LangChain messages (when
langchain-core is installed: by its own dict form, back as the same message class).

Nesting is limited to `MAX_DEPTH` levels of lists, dicts and tagged values: a deeper value (or
one that contains itself) raises `TooDeep`, a TypeError like every other value that cannot be
stored, so callers that name whose value it was (the runtime, `interrupt()`) report it the same
way. Without the limit a deep value raised RecursionError from deep inside the walk. 400 is far
above what agents' data needs (a message history's tool arguments sit about 6 levels down),
below SQLite's JSON depth limit (1000; the inbox's queries read payloads with json_each), and
leaves room on Python's stack (limit 1000 frames): the walk costs one frame per list or dict
level, two per tagged value, and json's C encoder and decoder one each.

`require_plain_json` is the stricter check for what a person reads as JSON (interrupt payloads):
no value that only round-trips through the tags (sets, bytes, datetimes).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import date, datetime
from typing import Any, Sequence

try:  # optional: a faster parser for untagged texts (see `loads_many`)
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

_TAG = "__engine_type__"

#: deepest nesting of lists, dicts and tagged values that can be stored (see the module docstring)
MAX_DEPTH = 400


class TooDeep(TypeError):
    """A value nested deeper than MAX_DEPTH (or containing itself) cannot be stored."""

    def __init__(self, how: str = f"more than {MAX_DEPTH} levels deep") -> None:
        super().__init__(
            f"it is nested {how} (or contains itself); flatten it or store the deep part as a "
            "JSON string")


def _encode(value: Any, depth: int) -> Any:
    # Late binding, on purpose: the tags name the engine's own vocabulary (engine.types), which
    # sits above the checkpoint package and imports this module; it is loaded by the time one
    # of its values is stored or read back (as LangGraph's serde finds its types when decoding).
    from engine.types import Command, Interrupt, Send

    if isinstance(value, Interrupt):
        # the fields are walked too: a payload holding a pydantic model is stored as its dict
        return {_TAG: "interrupt", "v": _walk(value.to_json(), depth)}
    if isinstance(value, Command):
        return {_TAG: "command", "v": {"graph": value.graph, "update": _walk(value.update, depth),
                                       "resume": _walk(value.resume, depth), "goto": _walk(value.goto, depth)}}
    if isinstance(value, Send):
        return {_TAG: "send", "v": {"node": value.node, "arg": _walk(value.arg, depth)}}
    if isinstance(value, tuple):
        return {_TAG: "tuple", "v": [_walk(v, depth) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {_TAG: "set", "v": [_walk(v, depth) for v in value]}
    if isinstance(value, (bytes, bytearray)):
        return {_TAG: "bytes", "v": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "v": value.isoformat()}
    if _is_langchain_message(value):
        # Stored by langchain-core's own dict form, so a message list comes back as messages
        # (add_messages state, engine/graph/message.py), not as the dicts model_dump gives.
        from langchain_core.messages import message_to_dict

        return {_TAG: "lc_message", "v": _walk(message_to_dict(value), depth)}
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return _walk(value.model_dump(mode="json"), depth)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _walk({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, depth)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _is_langchain_message(value: Any) -> bool:
    # Without importing langchain-core, which the engine does not depend on.
    return any(cls.__name__ == "BaseMessage" and cls.__module__.startswith("langchain_core.")
               for cls in type(value).__mro__)


def _walk(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    depth += 1
    if depth > MAX_DEPTH:
        raise TooDeep()
    if isinstance(value, list):
        out_list = []
        for item in value:  # a loop, not a comprehension: one stack frame per level, not two
            out_list.append(_walk(item, depth))
        return out_list
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"dict keys must be strings to store as JSON, got {type(key).__name__}")
            out[key] = _walk(item, depth)
        return out
    return _encode(value, depth)


def _walked(value: Any) -> Any:
    try:
        return _walk(value)
    except RecursionError:  # the caller's own stack was already deep: the same answer, not a crash
        raise TooDeep("too deeply for the stack it is stored from") from None


_PLAIN_SCALARS = frozenset((str, int, bool, type(None)))  # floats are checked: no NaN or infinity


def _shared(value: Any, depth: int = 0) -> Any:
    """`_walk` for a value about to be encoded at once (dumps): what needs no change (plain
    lists, dicts and scalars, by exact type) is returned as it is instead of copied, which is
    most of every stored value. Anything else takes `_walk`'s path."""
    cls = type(value)
    if cls in _PLAIN_SCALARS:
        return value
    if cls is float:
        if value - value != 0:  # NaN or an infinity: JSON has neither
            raise TypeError(f"the number {value!r} cannot be stored as JSON (it has no NaN or "
                            "infinity); use None or a string")
        return value
    depth += 1
    if depth > MAX_DEPTH:
        raise TooDeep()
    if cls is dict:
        out = None
        for key, item in value.items():
            if type(key) is not str:
                return _walk(value, depth - 1)  # its error message
            new = item if type(item) in _PLAIN_SCALARS else _shared(item, depth)
            if new is not item and out is None:
                out = dict(value)
            if out is not None:
                out[key] = new
        return value if out is None else out
    if cls is list:
        out_list = None
        for index, item in enumerate(value):
            new = item if type(item) in _PLAIN_SCALARS else _shared(item, depth)
            if new is not item and out_list is None:
                out_list = list(value)
            if out_list is not None:
                out_list[index] = new
        return value if out_list is None else out_list
    return _walk(value, depth - 1)


def _decode(obj: dict) -> Any:
    tag = obj.get(_TAG)
    if tag is None:
        return obj
    v = obj["v"]
    if tag == "tuple":
        return tuple(v)
    if tag == "set":
        return set(v)
    if tag == "bytes":
        return base64.b64decode(v)
    if tag == "datetime":
        return datetime.fromisoformat(v)
    if tag == "date":
        return date.fromisoformat(v)
    if tag == "interrupt":
        from engine.types import Interrupt
        return Interrupt.from_json(v)
    if tag == "command":
        from engine.types import Command
        return Command(**v)
    if tag == "lc_message":
        # Only stored when langchain-core was there; builds one of its message classes by type
        # name (no code runs from the stored text).
        from langchain_core.messages import messages_from_dict

        return messages_from_dict([v])[0]
    if tag == "send":
        from engine.types import Send
        return Send(**v)
    return obj


def to_jsonable(value: Any) -> Any:
    """The JSON-ready form of `value` (raises TypeError for what cannot be stored), a copy."""
    return _walked(value)


def json_fallback(value: Any) -> Any:
    """`default=` for json.dumps where people read the output (audit rows, the CLI): a set prints
    as a sorted list (state and answers may hold sets, as in LangGraph), anything else unknown
    as its str()."""
    if isinstance(value, (set, frozenset)):
        try:
            return sorted(value)
        except TypeError:  # mixed types
            return list(value)
    return str(value)


def check_storable(value: Any) -> None:
    """Raise TypeError (or ValueError, for NaN and infinities) unless `value` can be stored;
    cheaper than `to_jsonable` when the JSON form itself is not needed."""
    try:
        _shared(value)
    except RecursionError:  # as in _walked
        raise TooDeep("too deeply for the stack it is stored from") from None


_NOT_PLAIN = {set: "a set (use a list)", frozenset: "a set (use a list)",
              bytes: "bytes (decode them to text, or base64-encode them)",
              bytearray: "bytes (decode them to text, or base64-encode them)",
              datetime: "a datetime (use its .isoformat() text)", date: "a date (use its .isoformat() text)"}


def _all_plain(value: Any) -> bool:
    """Whether `value` is made only of dicts, lists and plain scalars (exact types)."""
    stack = [value]
    while stack:
        item = stack.pop()
        cls = type(item)
        if cls in _PLAIN_SCALARS or cls is float:
            continue
        if cls is dict:
            stack.extend(item.values())
        elif cls is list:
            stack.extend(item)
        else:
            return False
    return True


def require_plain_json(value: Any, name: str = "the value") -> None:
    """Raise TypeError unless `value` is storable (see `to_jsonable`) and reads back as plain
    JSON: the message names the first set, bytes or datetime found and where it is (a path
    starting with `name`, e.g. "the payload['files'][2]")."""
    check_storable(value)  # depth, cycles, unknown types, non-string keys
    if _all_plain(value):
        return  # the common case, without building a path for every item
    stack = [(value, "")]
    while stack:  # no recursion: the value is known to be at most MAX_DEPTH deep, but be cheap
        item, where = stack.pop()
        if hasattr(item, "model_dump") and callable(item.model_dump):
            continue  # dumped in JSON mode: plain by construction
        kind = _NOT_PLAIN.get(type(item)) or next(
            (text for cls, text in _NOT_PLAIN.items() if isinstance(item, cls)), None)
        if kind is not None:
            raise TypeError(f"{name}{where} is {kind}, which does not read back as JSON")
        if isinstance(item, dict):
            stack += [(v, f"{where}[{k!r}]") for k, v in reversed(item.items())]
        elif isinstance(item, (list, tuple)):
            stack += [(v, f"{where}[{i}]") for i, v in reversed(list(enumerate(item)))]
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack += [(getattr(item, f.name), f"{where}.{f.name}") for f in reversed(dataclasses.fields(item))]


def dumps(value: Any) -> str:
    try:
        shared = _shared(value)
    except RecursionError:  # as in _walked
        raise TooDeep("too deeply for the stack it is stored from") from None
    if _orjson is not None:
        # The same JSON, about three times faster. What orjson refuses (an integer beyond 64
        # bits, a lone surrogate, nesting past its limit) takes json's path, which stores it or
        # says what is wrong.
        try:
            return _orjson.dumps(shared).decode()
        except (_orjson.JSONEncodeError, TypeError):
            pass
    text = json.dumps(shared, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        text.encode("utf-8")  # what storing it will do; fail here, where the caller can say whose value
    except UnicodeEncodeError as exc:
        raise TypeError(
            f"a string holds {text[exc.start:exc.end]!r}, a lone surrogate, which is not text that can "
            "be stored (it usually comes from decoding bytes with errors='surrogateescape'); decode "
            "with errors='replace' or keep the bytes as bytes") from None
    return text


def loads(text: str | bytes) -> Any:
    # Most stored values hold no tagged type: skip the per-object hook for them (listing
    # thousands of pending interrupts decodes a payload each).
    if isinstance(text, str):
        if _TAG in text:
            return json.loads(text, object_hook=_decode)
        if _orjson is not None and _LONG_RUN not in text.encode("utf-8", "surrogatepass").translate(_DIGITS):
            try:  # the same value, about three times faster (see _loads_batch for when it is used)
                return _orjson.loads(text)
            except _orjson.JSONDecodeError:
                pass  # NaN, Infinity, a lone surrogate...: the standard parser decides
        return json.loads(text)
    if _TAG.encode() not in text:
        return json.loads(text)
    return json.loads(text, object_hook=_decode)


# `loads_many` --------------------------------------------------------------------------------------
# The standard library's scanner with the default settings `json.loads` uses: calling it per text
# skips `json.loads`'s per-call checks (a third of the time for small texts).
_scan_once = json.JSONDecoder().scan_once
# orjson parses an integer literal outside [-2**63, 2**64) as a float instead of an int. Such a
# literal has at least 19 digits in a row: texts with a run that long (anywhere, strings included)
# are left to the standard parser. Digits map to "0", everything else to " ".
_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_RUN = b"0" * 19


def _scan_plain(text: str) -> Any:
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:  # leading whitespace or not JSON: json.loads accepts or explains it
        return json.loads(text)
    if end != len(text):  # trailing whitespace or extra data
        return json.loads(text)
    return value


#: texts decoded together: enough to amortise the per-batch calls, few enough that the joined
#: text and its translation stay in the CPU cache (one 4 MB join for 10k texts was slower)
_BATCH = 128


def _loads_batch(texts: list) -> list:
    try:
        joined = "\n".join(texts)  # "\n" is neither a digit nor part of the tag
    except TypeError:  # bytes among them
        return [loads(text) for text in texts]
    if _TAG in joined:
        return [loads(text) for text in texts]
    if _orjson is not None and _LONG_RUN not in joined.encode("utf-8", "surrogatepass").translate(_DIGITS):
        try:
            return list(map(_orjson.loads, texts))
        except _orjson.JSONDecodeError:
            pass  # NaN, Infinity, a lone surrogate...: the standard parser decides, as in loads()
    return [_scan_plain(text) for text in texts]


def loads_many(texts: Sequence[str | bytes]) -> list:
    """`[loads(text) for text in texts]`, faster for many texts: texts without a tagged value skip
    the per-object hook and use orjson when it is installed (its result is the same: it is only
    used where it parses exactly as the standard library does)."""
    texts = list(texts)
    if len(texts) <= _BATCH:
        return _loads_batch(texts)
    out: list = []
    for start in range(0, len(texts), _BATCH):
        out += _loads_batch(texts[start:start + _BATCH])
    return out
