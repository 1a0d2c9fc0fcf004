"""Gate any tool behind a human review in one line: `add_human_in_the_loop(fn)`.

The wrapped tool, called inside a node (`tool(hotel_name="X", nights=2)`), asks for a review
with `interrupt([HumanInterrupt])` in the Agent Inbox format, then acts on the answer:
accept runs the tool with the original args, edit with the edited args (checked against the
tool's signature first), response sends the reviewer's text back instead of running it, and
ignore skips it.

A call that runs is recorded in the saver's tool-call ledger (engine/checkpoint/tool_ledger.py)
as started before the function is called and as done after, keyed by its decision. When the
node runs again (a crash, or a later step failed) a done call returns its recorded result
instead of running twice, and a call that started but never finished is *in doubt*: the
wrapper asks the reviewer again ("send_email may have run: retry, or mark it done") rather than
guess. A function with an `idempotency_key` parameter gets the decision's key, the same on
every attempt, so a service that honours it can make a retry safe.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import ValidationError, create_model

from engine.checkpoint.serde import to_jsonable
from engine.checkpoint.tool_ledger import ToolCall
from engine.review.interrupt import HumanInterruptConfig, HumanInterruptConfigModel
from engine.review.validate import InvalidResponse, validate_response
from engine._internal.context import TaskContext, current_task
from engine.types import interrupt, interrupt_id

DEFAULT_CONFIG = HumanInterruptConfig(allow_accept=True, allow_edit=True, allow_respond=True, allow_ignore=False)
_SKIP_PARAMS = {"self", "config", "state", "idempotency_key"}
IN_DOUBT_CONFIG = HumanInterruptConfig(allow_accept=True, allow_edit=False, allow_respond=True, allow_ignore=False)


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
        # a HumanInterruptConfig is a plain dict (a TypedDict, as LangGraph's); checked here
        self.interrupt_config = HumanInterruptConfigModel.model_validate(
            config.model_dump() if hasattr(config, "model_dump") else config)
        self.args_model = _args_model(fn, self.name)
        self.args_schema = self.args_model.model_json_schema()
        self.is_async = inspect.iscoroutinefunction(fn)
        self.takes_key = "idempotency_key" in inspect.signature(fn).parameters

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

    def _decide(self, args: dict) -> tuple[str, Any, "_Ledger | None"]:
        task = current_task()
        # the review interrupt's id keys the call in the ledger: one key per decision
        key = interrupt_id(task.thread_id, task.ns, task.interrupt_count) if task is not None else None
        request = self.request(args)
        answer = interrupt([request])
        # The answer was checked before resuming when it came through the inbox; a program
        # resuming by hand gets the same check here, with the same message.
        [response] = validate_response([request], answer)
        kind = response["type"]
        if kind == "accept":
            return "run", args, _Ledger.of(task, key, self, args)
        if kind == "edit":
            edited = self.check_args(response["args"]["args"])
            return "run", edited, _Ledger.of(task, key, self, edited)
        if kind == "response":
            return "reply", ReviewerReply(self.name, str(response["args"])), None
        return "skip", ToolSkipped(self.name), None

    def in_doubt_request(self, args: dict, call: ToolCall) -> dict:
        """What the reviewer is asked when a call may or may not have happened."""
        return {
            "action_request": {"action": f"{self.name} (in doubt)", "args": args},
            "config": dict(IN_DOUBT_CONFIG),
            "description": (
                f"**{self.name} may have run.** The process running it stopped during the call "
                f"(attempt {call.attempt}, started {call.started_at}, by {call.owner}), so whether it "
                "took effect is unknown. Check, then **accept** to run it again (retry), or **respond** "
                "to mark it done: your text is the result the agent sees."),
        }

    def _call_args(self, args: dict, ledger: "_Ledger | None") -> dict:
        if self.takes_key and ledger is not None:
            return {**args, "idempotency_key": ledger.key}
        return args

    def _after_doubt(self, args: dict, ledger: "_Ledger", call: ToolCall) -> ToolCall:
        """Ask about an in-doubt call; the answer retries it or settles it."""
        request = self.in_doubt_request(args, call)
        [answer] = validate_response([request], interrupt([request]))
        if answer["type"] == "accept":
            return ledger.apply("retry", call.attempt)
        return ledger.apply("settle", call.attempt, result=str(answer["args"]))

    def __call__(self, **kwargs: Any) -> Any:
        if self.is_async:
            return self.acall(**kwargs)
        verdict, value, ledger = self._decide(kwargs)
        if verdict != "run":
            return value
        if ledger is None:
            return self.fn(**self._call_args(value, None))
        call = ledger.apply("begin")
        while call.status == "started":
            call = self._after_doubt(value, ledger, call)
        if call.status != "run":
            return call.result
        try:
            result = self.fn(**self._call_args(value, ledger))
        except BaseException as error:
            ledger.apply("fail", call.attempt, result=f"{type(error).__name__}: {error}")
            raise
        ledger.apply("finish", call.attempt, result=_storable(result))
        return result

    async def acall(self, **kwargs: Any) -> Any:
        verdict, value, ledger = self._decide(kwargs)
        if verdict != "run":
            return value
        call = ledger.apply("begin") if ledger is not None else None
        while call is not None and call.status == "started":
            call = self._after_doubt(value, ledger, call)
        if call is not None and call.status != "run":
            return call.result
        try:
            result = self.fn(**self._call_args(value, ledger))
            result = await result if inspect.isawaitable(result) else result
        except BaseException as error:
            if ledger is not None:
                ledger.apply("fail", call.attempt, result=f"{type(error).__name__}: {error}")
            raise
        if ledger is not None:
            ledger.apply("finish", call.attempt, result=_storable(result))
        return result


def _storable(result: Any) -> Any:
    """The result as the ledger keeps it: itself when it is JSON, else its text."""
    try:
        return to_jsonable(result)
    except (TypeError, ValueError):
        return str(result)


class _Ledger:
    """One reviewed call's entries in the saver's ledger."""

    def __init__(self, task: TaskContext, key: str, tool: ReviewedTool, args: dict) -> None:
        self.saver = task.checkpointer
        self.key = key
        self.owner = task.owner or ""
        self.by = (task.config.get("configurable") or {}).get("decided_by")
        self.new = {"key": key, "thread_id": task.thread_id, "graph": task.graph, "interrupt_id": key,
                    "tool": tool.name, "args": _json_text(args)}

    @classmethod
    def of(cls, task: TaskContext | None, key: str | None, tool: ReviewedTool, args: dict) -> "_Ledger | None":
        if task is None or key is None or task.checkpointer is None or not hasattr(task.checkpointer, "tool_call"):
            return None
        return cls(task, key, tool, args)

    def apply(self, action: str, attempt: int = 0, *, result: Any = None) -> ToolCall:
        from datetime import datetime, timezone

        return self.saver.tool_call(self.key, action, new=self.new, attempt=attempt, owner=self.owner,
                                    now=datetime.now(timezone.utc).isoformat(), result=result, by=self.by)


def _json_text(value: Any) -> str:
    from engine.checkpoint.serde import dumps

    return dumps(_storable(value))


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
