"""What every demo scenario shares: the outbox its tools write to instead of the outside world,
reviewed tools whose review text is written per call, and small helpers for scripted models
and realistic values (money, IBANs, stable reference numbers)."""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from typing import Any, Callable

from engine.prebuilt import HumanInterruptConfig, ReviewedTool, ScriptedModel


@dataclass(frozen=True)
class Effect:
    """One thing a demo tool did: which tool, with exactly which arguments, and what it said."""

    tool: str
    args: dict
    result: str


class Outbox(list):
    """The demo's outside world: each tool appends an `Effect` here instead of sending, paying,
    deleting or deploying anything. A test (or the TUI) reads it to see what really ran."""

    def record(self, tool: str, args: dict, result: str) -> str:
        self.append(Effect(tool, dict(args), result))
        return result

    def calls(self, tool: str | None = None) -> list[dict]:
        """The arguments of every call (to `tool`, when given), in the order they ran."""
        return [effect.args for effect in self if tool is None or effect.tool == tool]


class DescribedTool(ReviewedTool):
    """A reviewed tool whose Markdown description is written from the call's arguments, so the
    reviewer reads "wire €12,400.00 to DE89 …" rather than a generic line.

    `add_human_in_the_loop(description=...)` only takes one fixed text per tool; the demo's
    tools need one per call, hence this subclass."""

    def __init__(self, fn: Callable, *, interrupt_config: HumanInterruptConfig | dict,
                 describe: Callable[[dict], str]):
        super().__init__(fn, interrupt_config=interrupt_config)
        self.describe = describe

    def request(self, args: dict) -> dict:
        request = super().request(args)
        try:
            request["description"] = self.describe(args)
        except (AttributeError, KeyError, TypeError, ValueError):
            # A model can propose any arguments; a call we cannot describe keeps the generic text.
            pass
        return request


def reviewed(fn: Callable, *, describe: Callable[[dict], str], accept: bool = True, edit: bool = True,
             respond: bool = True, ignore: bool = False) -> DescribedTool:
    """`fn` behind a human review allowing exactly the listed response types."""
    config = HumanInterruptConfig(allow_accept=accept, allow_edit=edit, allow_respond=respond,
                                  allow_ignore=ignore)
    return DescribedTool(fn, interrupt_config=config, describe=describe)


# ---- scripted models ---------------------------------------------------------------------------


def intent(messages: list[dict]) -> dict:
    """What the user asked for, as structured data. A real model would read it from the text;
    the demo's scripted models read the `intent` the demo put on the first user message."""
    for message in messages:
        if message.get("role") == "user" and isinstance(message.get("intent"), dict):
            return message["intent"]
    raise ValueError("the demo agent needs a user message carrying an 'intent' dict; "
                     "start it with inbox.demo.initial_input(name, index)")


def user_message(text: str, **request: Any) -> dict:
    return {"role": "user", "content": text, "intent": request}


def tool_call(call_id: str, name: str, args: dict) -> dict:
    return {"id": call_id, "name": name, "args": args}


def last_tool_result(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "tool":
            return str(message.get("content", ""))
    return ""


# ---- realistic values --------------------------------------------------------------------------


def eur(amount: float) -> str:
    return f"€{amount:,.2f}"


def reference(prefix: str, *parts: Any, digits: int = 6) -> str:
    """A stable id for something a tool "created" (a booking, a transfer), derived from its
    arguments so a replayed demo makes the same ids."""
    digest = hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()
    return f"{prefix}-{int(digest[:12], 16) % 10**digits:0{digits}d}"


def stable_count(*parts: Any, low: int = 1, high: int = 5000) -> int:
    digest = hashlib.sha256("\x00".join(map(str, parts)).encode()).digest()
    return low + int.from_bytes(digest[:4], "big") % (high - low + 1)


def iban(country: str, bban: str) -> str:
    """A valid IBAN (ISO 13616 mod-97 check digits) for `bban`, grouped in fours as printed."""
    digits = "".join(str(string.ascii_uppercase.index(c) + 10) if c.isalpha() else c
                     for c in (bban + country + "00").upper())
    check = 98 - int(digits) % 97
    raw = f"{country}{check:02d}{bban}"
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def iban_is_valid(value: str) -> bool:
    raw = value.replace(" ", "").upper()
    if len(raw) < 15 or not raw[:2].isalpha() or not raw[2:4].isdigit():
        return False
    moved = raw[4:] + raw[:4]
    digits = "".join(str(string.ascii_uppercase.index(c) + 10) if c.isalpha() else c for c in moved)
    return digits.isdigit() and int(digits) % 97 == 1


def one_call_model(tool_name: str, *, intro: str, ran_prefix: str):
    """A scripted model that proposes one call to `tool_name` with the arguments in the user's
    intent, then reports what happened: the tool's result if it ran, the reviewer's word if not."""
    def propose(messages: list[dict]) -> dict:
        return {"content": intro,
                "tool_calls": [tool_call(f"call_{tool_name}", tool_name, intent(messages)[tool_name])]}

    def report(messages: list[dict]) -> str:
        result = last_tool_result(messages)
        if result.startswith(ran_prefix):
            return f"Done. {result}"
        return f"Understood: {tool_name} was not run. Reviewer: {result}"

    return ScriptedModel([propose, report])
