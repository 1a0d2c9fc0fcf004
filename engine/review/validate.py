"""Turn any interrupt value into items a reviewer can decide, and check a reviewer's answer
against what the request allows before it is sent as `Command(resume=...)`.

Three shapes, told apart by their keys and then validated:
- `human_interrupt`: a HumanInterrupt or a list of them (Agent Inbox); resumed with a list
  of HumanResponse dicts, one per request, in order.
- `hitl`: a HITLRequest; resumed with `{"decisions": [...]}`, one per action, in order.
- a ToolApprovalRequest (`{"type": "tool_approval", ...}`): one call, shown and decided as a
  one-action `hitl` item, answered with one bare decision (`{"decisions": [d]}` is accepted
  and unwrapped).
- `question`: anything else (a prompt string, a dict, a half-formed request); the reviewer
  answers with any JSON value, which the program receives as is.

Every item from one value is decided together: the resume answers them all at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from engine.errors import InvalidResumeError
from engine.review.interrupt import (
    DECISION_MODELS,
    ActionItem,
    ToolApprovalModel,
    DECISION_TYPES,
    RESPONSE_TYPES,
    HITLRequest,
    HITLResponse,
    HumanInterruptModel,
    HumanResponseModel,
    ReviewConfig,
)
from engine.review.json_schema import json_type, schema_errors

ReviewKind = Literal["human_interrupt", "hitl", "question"]

_HUMAN_INTERRUPT_KEYS = {"action_request", "config"}
_HITL_KEYS = {"action_requests", "review_configs"}
_DECISION_EXAMPLES = {
    "approve": "{{'type': 'approve'}}",
    "edit": "{{'type': 'edit', 'edited_action': {{'name': '{name}', 'args': {{...}}}}}}",
    "reject": "{{'type': 'reject', 'message': 'why (optional)'}}",
    "respond": "{{'type': 'respond', 'message': 'your reply'}}",
}


class InvalidResponse(InvalidResumeError):
    """A reviewer's answer breaks what the request allows. The message says what and how to fix it."""


@dataclass(frozen=True)
class ReviewItem:
    """One thing a reviewer decides, whatever shape the program sent."""

    kind: ReviewKind
    index: int                  # position in the request; the resume answers items in this order
    count: int                  # items in the request, all decided together in one resume
    action: str | None          # tool name; None for a question
    args: dict | None           # the call's arguments; None for a question
    description: str | None     # markdown written by the program, to be shown literally
    allowed: frozenset[str]     # HumanResponse types, hitl decision types, or {"response"}
    args_schema: dict | None    # JSON Schema that edited args must satisfy, when known
    raw: Any                    # the item as the program sent it (the whole value for a question)
    problem: str | None = None  # why the value is shown raw, or why no answer is possible


@dataclass(frozen=True)
class _Parsed:
    kind: ReviewKind
    interrupts: list[HumanInterruptModel] | None = None
    hitl: HITLRequest | None = None
    configs: list[ReviewConfig] | None = None
    raws: list[Any] | None = None
    problem: str | None = None
    in_list: bool = True  # a bare HumanInterrupt (not in a list) is answered with a bare response
    single_decision: bool = False  # a ToolApprovalRequest: answered with one bare decision


# ---- Normalizing ---------------------------------------------------------------------------


def review_items(value: Any) -> list[ReviewItem]:
    """The items a reviewer sees for one interrupt value. Never raises: a shape we cannot
    read becomes a question item carrying the raw value and the reason in `problem`."""
    parsed = _parse(value)
    if parsed.kind == "human_interrupt":
        return [_human_interrupt_item(i, len(parsed.interrupts), request, raw)
                for i, (request, raw) in enumerate(zip(parsed.interrupts, parsed.raws))]
    if parsed.kind == "hitl":
        actions = parsed.hitl.action_requests
        return [_hitl_item(i, len(actions), action, config, raw)
                for i, (action, config, raw) in enumerate(zip(actions, parsed.configs, parsed.raws))]
    return [ReviewItem(kind="question", index=0, count=1, action=None, args=None,
                       description=value if isinstance(value, str) else None,
                       allowed=frozenset({"response"}), args_schema=None, raw=value,
                       problem=parsed.problem)]


def _human_interrupt_item(index: int, count: int, request: HumanInterruptModel, raw: Any) -> ReviewItem:
    allowed = request.config.allowed_types()
    problem = None if allowed else (
        "the request's config allows no response (every allow_* is false), so it cannot be "
        "answered here; fix the program's HumanInterruptConfig")
    return ReviewItem(kind="human_interrupt", index=index, count=count,
                      action=request.action_request.action, args=request.action_request.args,
                      description=request.description, allowed=allowed,
                      args_schema=request.args_schema, raw=raw, problem=problem)


def _hitl_item(index: int, count: int, action, config: ReviewConfig, raw: Any) -> ReviewItem:
    allowed = frozenset(config.allowed_decisions)
    problem = None if allowed else (
        f"the review config for '{action.name}' allows no decision (allowed_decisions is empty); "
        "fix the program's ReviewConfig")
    return ReviewItem(kind="hitl", index=index, count=count, action=action.name, args=action.args,
                      description=action.description, allowed=allowed,
                      args_schema=config.args_schema, raw=raw, problem=problem)


def _parse(value: Any) -> _Parsed:
    """Decide the shape by its keys, then validate it; a failed validation is a question."""
    if isinstance(value, (HumanInterruptModel, HITLRequest)):
        value = value.model_dump(mode="json")
    if isinstance(value, list) and any(isinstance(v, HumanInterruptModel) for v in value):
        value = [v.model_dump(mode="json") if isinstance(v, HumanInterruptModel) else v for v in value]

    if _looks_like(value, _HUMAN_INTERRUPT_KEYS):
        return _parse_human_interrupts([value], in_list=False)
    if isinstance(value, list) and value and any(_looks_like(v, _HUMAN_INTERRUPT_KEYS) for v in value):
        return _parse_human_interrupts(value, in_list=True)
    if _looks_like(value, _HITL_KEYS):
        return _parse_hitl(value)
    if isinstance(value, dict) and value.get("type") == "tool_approval":
        return _parse_tool_approval(value)
    return _Parsed(kind="question")


def _parse_tool_approval(value: dict) -> _Parsed:
    """A per-call request, read as a one-action multi-action request."""
    try:
        request = ToolApprovalModel.model_validate(value)
    except ValidationError as error:
        return _Parsed(kind="question", problem=(
            f"looks like a ToolApprovalRequest but is not one, so it is shown raw: {_summary(error)}"))
    hitl = HITLRequest(action_requests=[ActionItem(name=request.name, args=request.args,
                                                   description=request.description)],
                       review_configs=[ReviewConfig(action_name=request.name,
                                                    allowed_decisions=request.allowed_decisions,
                                                    args_schema=request.args_schema)])
    return _Parsed(kind="hitl", hitl=hitl, configs=list(hitl.review_configs), raws=[value],
                   single_decision=True)


def _looks_like(value: Any, keys: set[str]) -> bool:
    return isinstance(value, dict) and any(key in value for key in keys)


def _parse_human_interrupts(values: list, in_list: bool) -> _Parsed:
    requests = []
    for i, raw in enumerate(values):
        try:
            requests.append(HumanInterruptModel.model_validate(raw))
        except ValidationError as error:
            shape, where = ("a list of HumanInterrupts", f"item {i}: ") if in_list else ("a HumanInterrupt", "")
            return _Parsed(kind="question", problem=(
                f"looks like {shape} but is not one, so it is shown raw: {where}{_summary(error)}"))
    return _Parsed(kind="human_interrupt", interrupts=requests, raws=list(values), in_list=in_list)


def _parse_hitl(value: dict) -> _Parsed:
    try:
        request = HITLRequest.model_validate(value)
    except ValidationError as error:
        return _Parsed(kind="question", problem=(
            f"looks like a HITLRequest but is not one, so it is shown raw: {_summary(error)}"))
    configs = []
    for i, action in enumerate(request.action_requests):
        config = _config_for(i, action.name, request.review_configs)
        if config is None:
            return _Parsed(kind="question", problem=(
                f"HITLRequest action {i} ('{action.name}') has no review_config with "
                f"action_name '{action.name}', so it is shown raw; add one to review_configs"))
        configs.append(config)
    return _Parsed(kind="hitl", hitl=request, configs=configs, raws=list(value["action_requests"]))


def _config_for(index: int, name: str, configs: list[ReviewConfig]) -> ReviewConfig | None:
    # Configs usually line up with actions one to one; some programs list one per tool name.
    if index < len(configs) and configs[index].action_name == name:
        return configs[index]
    return next((config for config in configs if config.action_name == name), None)


def _summary(error: ValidationError, limit: int = 3) -> str:
    """Where and what, without echoing the (possibly huge) input back."""
    parts = []
    for detail in error.errors()[:limit]:
        where = ".".join(str(part) for part in detail["loc"]) or "value"
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            parts.append(f"unexpected key '{where}'; remove it")
        else:
            parts.append(f"{where}: {message}" if detail["loc"] else message)
    more = error.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


# ---- Validating answers --------------------------------------------------------------------


def is_review_request(value: Any) -> bool:
    """Whether `value` is a well-formed review request (HumanInterrupt(s) or multi-action),
    as opposed to a plain question that takes any answer."""
    return _parse(value).kind != "question"


def validate_response(value: Any, response: Any) -> Any:
    """Check `response` against the request in `value` and return the JSON resume value.

    human_interrupt: a list of HumanResponse dicts, one per request (a single dict is accepted
    for a single request); a bare HumanInterrupt, not sent in a list, gets one bare dict.
    hitl: `{"decisions": [...]}` (a bare list of decisions,
    or one decision for a one-action request, is wrapped). question: any JSON value.
    Raises InvalidResponse naming what is wrong and how to fix it.
    """
    return _validated(_parse(value), response)


def _validated(parsed: _Parsed, response: Any) -> Any:
    """`validate_response` for a request parsed already."""
    if parsed.kind == "human_interrupt":
        responses = _validate_human_responses(parsed.interrupts, response)
        # interrupt([request])[0] reads a list; interrupt(request)["type"] reads one response.
        return responses if parsed.in_list else responses[0]
    if parsed.kind == "hitl":
        checked = _validate_decisions(parsed.hitl, parsed.configs, response)
        return checked["decisions"][0] if parsed.single_decision else checked
    return _validate_answer(response)


def check_answer(value: Any, response: Any, response_schema: dict | None = None, *,
                 any_answer: bool = False) -> Any:
    """The resume value for an interrupt's answer: checked against its request (see
    `validate_response`; with `any_answer`, a plain question's answer is taken as it is, as a
    program's own `Command(resume=...)` is) and then against the interrupt's `response_schema`
    when it has one. Raises InvalidResponse naming what is wrong and how to fix it."""
    parsed = _parse(value)  # once: parsing a request validates its models
    if any_answer and parsed.kind == "question":
        answer = response
    else:
        answer = _validated(parsed, response)
    if response_schema is not None:
        problems = schema_errors(answer, response_schema, "answer")
        if problems:
            raise InvalidResponse("the answer breaks the interrupt's response_schema: " + "; ".join(problems)
                                  + ". Fix these values and answer again.")
    return answer


def _validate_answer(response: Any) -> Any:
    if isinstance(response, BaseModel):
        response = response.model_dump(mode="json")
    if response is None:
        raise InvalidResponse("an answer of null cannot be sent: Command(resume=None) means "
                              "'no answer'. Send text or another JSON value instead.")
    try:
        json.dumps(response, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidResponse(f"the answer must be plain JSON (text, number, true/false, list, "
                              f"or object with string keys); it is not: {error}") from None
    return response


def _validate_human_responses(requests: list[HumanInterruptModel], response: Any) -> list[dict]:
    count = len(requests)
    if isinstance(response, BaseModel):
        response = response.model_dump(mode="json")
    if isinstance(response, tuple):
        response = list(response)
    if isinstance(response, dict):
        if count != 1:
            raise InvalidResponse(f"got one response for {count} requests; send a list of {count} "
                                  "responses, one per request, in order")
        response = [response]
    if not isinstance(response, list):
        raise InvalidResponse(f"expected a list of {count} response(s) like [{{'type': 'accept'}}], "
                              f"one per request, in order; got {json_type(response)}")
    if len(response) != count:
        raise InvalidResponse(f"expected {count} response(s), one per request in order "
                              f"({_names(r.action_request.action for r in requests)}); got {len(response)}")
    return [_validate_human_response(request, answer, _label(i, count, request.action_request.action))
            for i, (request, answer) in enumerate(zip(requests, response))]


def _validate_human_response(request: HumanInterruptModel, answer: Any, label: str) -> dict:
    if isinstance(answer, BaseModel):
        answer = answer.model_dump(mode="json")
    if not isinstance(answer, dict):
        raise InvalidResponse(f"{label}: expected a response dict like {{'type': 'accept'}}, "
                              f"got {json_type(answer)}")
    allowed = request.config.allowed_types()
    kind = answer.get("type")
    if kind not in RESPONSE_TYPES or kind not in allowed:
        raise InvalidResponse(f"{label}: type {kind!r} is not allowed; {_allowed_text(allowed, 'type')}"
                              + _config_hint(kind))
    if kind == "edit" and isinstance(answer.get("args"), dict) and "action" not in answer["args"]:
        # The LangGraph docs resume edits with {"args": {"args": {...}}}; the action is implied.
        answer = {**answer, "args": {"action": request.action_request.action, **answer["args"]}}
    try:
        parsed = HumanResponseModel.model_validate(answer)
    except ValidationError as error:
        raise InvalidResponse(f"{label}: {_summary(error)}") from None
    if kind == "edit":
        _check_edit(label, request.action_request.action, parsed.args.action,
                    parsed.args.args, request.args_schema)
    return parsed.model_dump(mode="json")


def _validate_decisions(request: HITLRequest, configs: list[ReviewConfig], response: Any) -> dict:
    actions = request.action_requests
    count = len(actions)
    if isinstance(response, BaseModel):
        response = response.model_dump(mode="json")
    if isinstance(response, (list, tuple)):
        response = {"decisions": list(response)}
    elif isinstance(response, dict) and "type" in response and "decisions" not in response:
        if count != 1:
            raise InvalidResponse(f"got one decision for {count} actions; send "
                                  f"{{'decisions': [...]}} with {count} decisions, one per action, in order")
        response = {"decisions": [response]}
    if not isinstance(response, dict) or not isinstance(response.get("decisions"), list):
        raise InvalidResponse(f"expected {{'decisions': [...]}} with {count} decision(s), one per action "
                              f"in order; got {json_type(response)}")
    unknown = sorted(str(key) for key in response if key != "decisions")
    if unknown:
        raise InvalidResponse(f"unexpected key(s) {', '.join(unknown)}; the answer holds only 'decisions'")
    decisions = response["decisions"]
    if len(decisions) != count:
        raise InvalidResponse(f"expected {count} decision(s), one per action in order "
                              f"({_names(a.name for a in actions)}); got {len(decisions)}")
    checked = [_validate_decision(action, config, decision, _label(i, count, action.name, "decision"))
               for i, (action, config, decision) in enumerate(zip(actions, configs, decisions))]
    return HITLResponse(decisions=checked).model_dump(mode="json")


def _validate_decision(action, config: ReviewConfig, decision: Any, label: str):
    if isinstance(decision, BaseModel):
        decision = decision.model_dump(mode="json")
    if not isinstance(decision, dict):
        raise InvalidResponse(f"{label}: expected a decision dict like {{'type': 'approve'}}, "
                              f"got {json_type(decision)}")
    allowed = frozenset(config.allowed_decisions)
    kind = decision.get("type")
    if kind not in DECISION_TYPES or kind not in allowed:
        raise InvalidResponse(f"{label}: decision {kind!r} is not allowed; {_allowed_text(allowed, 'decision')}"
                              + _decision_hint(kind))
    try:
        # The model for this type, not the tagged union, so errors don't carry the tag in their path.
        parsed = DECISION_MODELS[kind].model_validate(decision)
    except ValidationError as error:
        raise InvalidResponse(f"{label}: {_summary(error)}; expected e.g. "
                              f"{_DECISION_EXAMPLES[kind].format(name=action.name)}") from None
    if kind == "edit":
        edited = parsed.edited_action
        _check_edit(label, action.name, edited.name, edited.args, config.args_schema)
    return parsed


def _check_edit(label: str, expected: str, named: str, args: dict, args_schema: dict | None) -> None:
    if named != expected:
        raise InvalidResponse(f"{label}: the edit names action '{named}' but the request is for "
                              f"'{expected}'; keep the action name and change only its args")
    if args_schema is None:
        return
    problems = schema_errors(args, args_schema)
    if problems:
        raise InvalidResponse(f"{label}: the edited args break the tool's schema: "
                              + "; ".join(problems) + ". Fix these values and send the edit again.")


def _label(index: int, count: int, action: str, noun: str = "response") -> str:
    return f"{noun} {index + 1} of {count} ('{action}')" if count > 1 else f"{noun} for '{action}'"


def _names(names) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _allowed_text(allowed: frozenset[str], noun: str) -> str:
    if not allowed:
        return "the request allows none, so it cannot be answered here; fix the program's config"
    order = RESPONSE_TYPES if noun == "type" else DECISION_TYPES
    return f"allowed {noun}s: " + ", ".join(repr(k) for k in order if k in allowed)


def _config_hint(kind: Any) -> str:
    if not isinstance(kind, str):
        return ""
    flag = {"accept": "allow_accept", "edit": "allow_edit",
            "response": "allow_respond", "ignore": "allow_ignore"}.get(kind)
    if flag:
        return f" (the request's config sets {flag}=False)"
    # Names from the other format are the likeliest mix-up.
    other = {"approve": "accept", "respond": "response", "reject": "ignore"}.get(kind)
    return f" (in this format, did you mean {other!r}?)" if other else ""


def _decision_hint(kind: Any) -> str:
    other = {"accept": "approve", "response": "respond", "ignore": "reject"}.get(kind) \
        if isinstance(kind, str) else None
    return f" (in this format, did you mean {other!r}?)" if other else ""
