"""Message lists as state: `add_messages`, `MessagesState`, `RemoveMessage` and
`REMOVE_ALL_MESSAGES`, mirroring `langgraph.graph.message`.

A message is an OpenAI-style dict ({"role", "content", "tool_calls", "tool_call_id", "id"}),
so the engine needs no LangChain. When langchain-core is installed its message objects work
too (they are recognised by duck typing and only converted with langchain-core's own helpers,
imported when such a message shows up). Dicts stay dicts and objects stay objects: LangGraph
turns every dict into a LangChain object, which the engine cannot do without LangChain.

The merge is LangGraph's: a message without an id gets one (a uuid4), a message whose id is
already in the list replaces it in place, a `RemoveMessage(id)` deletes that message (an id
that is not there is an error), and `RemoveMessage(REMOVE_ALL_MESSAGES)` drops everything
before it.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any, TypedDict

#: `RemoveMessage(id=REMOVE_ALL_MESSAGES)` clears the list (LangGraph's value)
REMOVE_ALL_MESSAGES = "__remove_all__"

_ROLES = ("user", "assistant", "system", "tool", "developer", "human", "ai", "function", "remove")


class RemoveMessage(dict):
    """Delete the message with this id (or all of them, with REMOVE_ALL_MESSAGES) when written
    to a key reduced by `add_messages`. A plain dict underneath, so it is stored as JSON and a
    stored one ({"role": "remove", "id": ...}) still removes when it is read back."""

    def __init__(self, id: str, **extra: Any) -> None:
        if not isinstance(id, str) or not id:
            raise ValueError(f"RemoveMessage(id=...) needs the id of the message to remove, got {id!r}.")
        super().__init__({"role": "remove", "content": "", **extra, "id": id})

    @property
    def id(self) -> str:
        return self["id"]


def _is_lc_message(message: Any) -> bool:
    # A LangChain BaseMessage, recognised without importing langchain-core (it may be absent).
    return any(cls.__module__.startswith("langchain_core.") and cls.__name__ == "BaseMessage"
               for cls in type(message).__mro__)


def _coerce(message: Any, where: str) -> Any:
    if isinstance(message, dict):
        role = message.get("role", message.get("type"))
        if role not in _ROLES:
            raise ValueError(
                f"{where}: a message dict needs a 'role' ({', '.join(_ROLES[:5])}), got {message!r}. "
                "Write e.g. {'role': 'user', 'content': 'hi'}.")
        return message
    if isinstance(message, str):
        return {"role": "user", "content": message}
    if isinstance(message, (tuple, list)) and len(message) == 2 and isinstance(message[0], str):
        return _coerce({"role": message[0], "content": message[1]}, where)
    if _is_lc_message(message):
        from langchain_core.messages import BaseMessageChunk, message_chunk_to_message

        return message_chunk_to_message(message) if isinstance(message, BaseMessageChunk) else message
    raise ValueError(
        f"{where}: {type(message).__name__} is not a message. Pass OpenAI-style dicts "
        "({'role': ..., 'content': ...}), (role, content) tuples, strings or LangChain messages.")


def message_id(message: Any) -> str | None:
    return message.get("id") if isinstance(message, dict) else getattr(message, "id", None)


def _with_id(message: Any) -> Any:
    if message_id(message) is not None:
        return message
    if isinstance(message, dict):
        return {**message, "id": str(uuid.uuid4())}  # a copy: the caller's dict is left as it was
    message.id = str(uuid.uuid4())  # LangChain messages get theirs in place, as LangGraph does
    return message


def _is_remove(message: Any) -> bool:
    if isinstance(message, dict):
        return message.get("role", message.get("type")) == "remove"
    return type(message).__name__ == "RemoveMessage" and _is_lc_message(message)


def _merge(left: Any, right: Any, *, format: str | None = None) -> list:
    if format is not None and format != "langchain-openai":
        raise ValueError(f"add_messages(format={format!r}): expected 'langchain-openai' or None.")
    left = left if isinstance(left, list) else [left]
    right = right if isinstance(right, list) else [right]
    left = [_with_id(_coerce(m, "add_messages (the current list)")) for m in left]
    right = [_with_id(_coerce(m, "add_messages (the update)")) for m in right]
    for index in range(len(right) - 1, -1, -1):
        if _is_remove(right[index]) and message_id(right[index]) == REMOVE_ALL_MESSAGES:
            merged = right[index + 1:]
            break
    else:
        merged = list(left)
        positions = {message_id(m): i for i, m in enumerate(merged)}
        to_remove: set = set()
        for message in right:
            key = message_id(message)
            existing = positions.get(key)
            if existing is not None:
                if _is_remove(message):
                    to_remove.add(key)
                else:
                    to_remove.discard(key)
                    merged[existing] = message
            elif _is_remove(message):
                raise ValueError(f"Attempting to delete a message with an ID that doesn't exist ('{key}')")
            else:
                positions[key] = len(merged)
                merged.append(message)
        if to_remove:
            merged = [m for m in merged if message_id(m) not in to_remove]
    if format == "langchain-openai":
        merged = _format_openai(merged)
    return merged


def _format_openai(messages: list) -> list:
    try:
        from langchain_core.messages import convert_to_messages, convert_to_openai_messages
    except ImportError:
        raise ImportError("add_messages(format='langchain-openai') formats LangChain messages: "
                          "install langchain-core, or leave format unset to keep dict messages.") from None
    return list(convert_to_messages(convert_to_openai_messages(messages)))


def add_messages(left: Any = None, right: Any = None, **kwargs: Any) -> Any:
    """Reducer for message lists: append, replace by id, remove by id (see the module docstring).

    `add_messages(format="langchain-openai")` (no lists) returns the reducer with that option,
    as in LangGraph."""
    if left is not None and right is not None:
        return _merge(left, right, **kwargs)
    if left is not None or right is not None:
        raise ValueError(
            f"Must specify non-null arguments for both 'left' and 'right'. Only received: "
            f"'{'left' if left is not None else 'right'}'.")
    return partial(_merge, **kwargs)


class MessagesState(TypedDict):
    messages: Annotated[list, add_messages]


__all__ = ["add_messages", "MessagesState", "RemoveMessage", "REMOVE_ALL_MESSAGES", "message_id"]
