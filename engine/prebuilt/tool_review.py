"""Gate any tool behind a human review in one line: `add_human_in_the_loop(fn)`.

The wrapped tool, called inside a node (`tool(hotel_name="X", nights=2)`), asks for a review
with `interrupt([HumanInterrupt])` in the Agent Inbox format, then acts on the answer:
accept runs the tool with the original args, edit with the edited args (checked against the
tool's signature first), response sends the reviewer's text back instead of running it, and
ignore skips it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import ValidationError, create_model

from engine.prebuilt.interrupt import HumanInterruptConfig
from engine.prebuilt.review import InvalidResponse, validate_response
from engine.types import interrupt

DEFAULT_CONFIG = HumanInterruptConfig(allow_accept=True, allow_edit=True, allow_respond=True, allow_ignore=False)
_SKIP_PARAMS = {"self", "config", "state"}


@dataclass(frozen=True)
class ToolSkipped:
    """What a reviewed tool returns when the reviewer ignored the call: it did not run."""

    tool: str

    def __str__(self) -> str:
        return f"The reviewer ignored the call to {self.tool}; it was not run."


@dataclass(frozen=True)
class ReviewerReply:
    """What a reviewed tool returns when the reviewer answered with text instead of running it."""

    tool: str
    text: str

    def __str__(self) -> str:
        return self.text


def _args_model(fn: Callable, name: str):
    signature = inspect.signature(fn)
    fields: dict[str, Any] = {}
    for param in signature.parameters.values():
        if param.name in _SKIP_PARAMS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = param.annotation if param.annotation is not param.empty else Any
        default = param.default if param.default is not param.empty else ...
        fields[param.name] = (annotation, default)
    return create_model(f"{name}_args", __config__={"extra": "forbid"}, **fields)


class ReviewedTool:
    """A tool whose every call waits for a human decision."""

    def __init__(self, fn: Callable, *, interrupt_config: HumanInterruptConfig | dict | None = None,
                 description: str | Callable[..., str] | None = None, name: str | None = None):
        if not callable(fn):
            raise TypeError(f"add_human_in_the_loop() needs a function, got {fn!r}.")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        self.tool_description = inspect.getdoc(fn) or ""
        self.review_description = description
        config = interrupt_config if interrupt_config is not None else DEFAULT_CONFIG
        self.interrupt_config = HumanInterruptConfig.model_validate(
            config.model_dump() if hasattr(config, "model_dump") else config)
        self.args_model = _args_model(fn, self.name)
        self.args_schema = self.args_model.model_json_schema()
        self.is_async = inspect.iscoroutinefunction(fn)

    def __repr__(self) -> str:
        return f"<ReviewedTool {self.name}>"

    def request(self, args: dict) -> dict:
        """The HumanInterrupt this call shows the reviewer."""
        if callable(self.review_description):  # written per call, e.g. "Wire €12,400 to DE89…"
            description = self.review_description(**args)
        else:
            description = self.review_description or (
                f"**{self.name}** wants to run with the arguments below.\n\n{self.tool_description}".strip())
        return {
            "action_request": {"action": self.name, "args": args},
            "config": self.interrupt_config.model_dump(),
            "description": description,
            "args_schema": self.args_schema,
        }

    def check_args(self, args: dict) -> dict:
        try:
            return self.args_model.model_validate(args).model_dump()
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            raise InvalidResponse(f"arguments for {self.name} do not fit its signature: {problems}") from None

    def _decide(self, args: dict) -> tuple[str, Any]:
        request = self.request(args)
        answer = interrupt([request])
        # The answer was checked before resuming when it came through the inbox; a program
        # resuming by hand gets the same check here, with the same message.
        [response] = validate_response([request], answer)
        kind = response["type"]
        if kind == "accept":
            return "run", args
        if kind == "edit":
            return "run", self.check_args(response["args"]["args"])
        if kind == "response":
            return "reply", ReviewerReply(self.name, str(response["args"]))
        return "skip", ToolSkipped(self.name)

    def __call__(self, **kwargs: Any) -> Any:
        if self.is_async:
            return self.acall(**kwargs)
        verdict, value = self._decide(kwargs)
        return self.fn(**value) if verdict == "run" else value

    async def acall(self, **kwargs: Any) -> Any:
        verdict, value = self._decide(kwargs)
        if verdict != "run":
            return value
        result = self.fn(**value)
        return await result if inspect.isawaitable(result) else result


def add_human_in_the_loop(fn: Callable, *, interrupt_config: HumanInterruptConfig | dict | None = None,
                          description: str | Callable[..., str] | None = None) -> ReviewedTool:
    """Wrap `fn` so every call waits for a human's accept, edit, response or ignore.

    By default the reviewer may accept, edit or respond (as in the seed documents); pass
    `interrupt_config` to change that, and `description` (Markdown) to say what to check: a
    string, or a function of the call's arguments returning one."""
    return ReviewedTool(fn, interrupt_config=interrupt_config, description=description)


def tool_schema(fn: Callable) -> dict:
    """The JSON Schema of a plain function's arguments (what the model is told it may pass)."""
    target = fn.fn if isinstance(fn, ReviewedTool) else fn
    return _args_model(target, getattr(target, "__name__", "tool")).model_json_schema()


__all__ = ["add_human_in_the_loop", "ReviewedTool", "ToolSkipped", "ReviewerReply", "tool_schema"]
