"""Human-in-the-loop request and response shapes, under LangGraph's names.

Programs build these as plain dicts and read plain dicts back. `HumanInterrupt`,
`ActionRequest`, `HumanInterruptConfig` and `HumanResponse` are TypedDicts, as in
`langgraph.prebuilt.interrupt`: calling one gives a plain dict, which `interrupt()` stores as
it is and a program reads back as `value[0]["description"]`. The pydantic `*Model` classes
validate what crosses the boundary (engine/review/validate.py) and dump JSON for
`Command(resume=...)`, so a graph written for the Agent Inbox format runs unchanged.

Two formats:
- Agent Inbox (`langgraph.prebuilt.interrupt`): `interrupt([HumanInterrupt, ...])`,
  resumed with a list of `HumanResponse`, one per request, in order.
- Multi-action (LangChain's human-in-the-loop middleware): `interrupt(HITLRequest)`,
  resumed with `{"decisions": [...]}`, one decision per action, in order.
- Per call (LangChain v1's per-call review): `interrupt(ToolApprovalRequest)`, one interrupt
  per gated tool call, each answered with one decision (the multi-action vocabulary: approve,
  edit, reject, respond), several at once keyed by interrupt id:
  `Command(resume={interrupt_id: {"type": "approve"}, ...})`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from typing_extensions import NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from engine.review.json_schema import json_type

ResponseType = Literal["accept", "ignore", "response", "edit"]
RESPONSE_TYPES: tuple[str, ...] = ("accept", "edit", "response", "ignore")

DecisionType = Literal["approve", "edit", "reject", "respond"]
DECISION_TYPES: tuple[str, ...] = ("approve", "edit", "reject", "respond")


class _Request(BaseModel):
    # Requests come from programs: tolerate keys we don't know (a newer client's fields)
    # rather than refusing to show the request at all.
    model_config = ConfigDict(extra="ignore")

    @model_serializer(mode="wrap")
    def _omit_missing_schema(self, handler):
        # `args_schema` is our extension; leave it out when unset so dumps match LangGraph's.
        data = handler(self)
        if isinstance(data, dict) and data.get("args_schema", 0) is None:
            del data["args_schema"]
        return data


class _Response(BaseModel):
    # Responses come from reviewers: an unknown key is a typo whose meaning would be lost.
    model_config = ConfigDict(extra="forbid")


# ---- Agent Inbox format -------------------------------------------------------------------
# What programs build and read (LangGraph's TypedDicts), then the models that validate them.


class HumanInterruptConfig(TypedDict):
    """Which responses the reviewer may give (a missing flag counts as false)."""

    allow_ignore: bool
    allow_respond: bool
    allow_edit: bool
    allow_accept: bool


class ActionRequest(TypedDict):
    """A tool call awaiting review: the tool's name and the arguments it would run with."""

    action: str
    args: dict


class HumanInterrupt(TypedDict):
    """One review request. `args_schema` (our extension, optional) is the JSON Schema of
    `args`, so an edited call can be checked before the tool runs with it."""

    action_request: ActionRequest
    config: HumanInterruptConfig
    description: str | None
    args_schema: NotRequired[dict]


class HumanResponse(TypedDict):
    """The reviewer's answer to one `HumanInterrupt`: `args` is None for accept/ignore, the
    reply text for response, the edited `ActionRequest` for edit."""

    type: Literal["accept", "ignore", "response", "edit"]
    args: None | str | ActionRequest


def allowed_types(config: Any) -> frozenset[str]:
    """The `HumanResponse` types a `HumanInterruptConfig` (a dict, or its model) permits."""
    return HumanInterruptConfigModel.model_validate(
        config.model_dump() if isinstance(config, BaseModel) else config).allowed_types()


class HumanInterruptConfigModel(_Request):
    """Validates a HumanInterruptConfig. Everything defaults to off: a program must opt in to
    each power it hands the reviewer."""

    allow_ignore: bool = False
    allow_respond: bool = False
    allow_edit: bool = False
    allow_accept: bool = False

    def allowed_types(self) -> frozenset[str]:
        """The `HumanResponseModel.type` values this config permits."""
        flags = {"accept": self.allow_accept, "edit": self.allow_edit,
                 "response": self.allow_respond, "ignore": self.allow_ignore}
        return frozenset(kind for kind, allowed in flags.items() if allowed)


class ActionRequestModel(_Request):
    """Validates an ActionRequest."""

    action: str
    args: dict[str, Any]


class HumanInterruptModel(_Request):
    """Validates a HumanInterrupt (see the TypedDict above)."""

    action_request: ActionRequestModel
    config: HumanInterruptConfigModel
    description: str | None = None
    args_schema: dict[str, Any] | None = None


class HumanResponseModel(_Response):
    """Validates a reviewer's HumanResponse to one `HumanInterrupt`.

    `args` depends on `type`: None for accept/ignore, the reply text for response,
    the full `ActionRequestModel` (action and edited args) for edit.
    """

    type: ResponseType
    args: None | str | ActionRequestModel = None

    @model_validator(mode="before")
    @classmethod
    def _args_fit_type(cls, data: Any) -> Any:
        # Checked before field validation so a mismatch gets one plain message instead of
        # pydantic's per-union-member errors.
        if not isinstance(data, dict):
            return data
        kind, args = data.get("type"), data.get("args")
        if kind in ("accept", "ignore") and args is not None:
            hint = " To change the arguments, send type 'edit'." if kind == "accept" else ""
            raise ValueError(f"type '{kind}' takes no args (args must be null).{hint}")
        if kind == "response" and not isinstance(args, str):
            raise ValueError("type 'response' needs args to be the reply text, "
                             "e.g. {'type': 'response', 'args': 'use the other hotel'}")
        if kind == "edit":
            problem = _edit_args_problem(args)
            if problem:
                raise ValueError("type 'edit' needs args to be the edited call, e.g. {'type': 'edit', "
                                 f"'args': {{'action': 'book_hotel', 'args': {{...}}}}}}; {problem}")
        return data


def _edit_args_problem(args: Any) -> str | None:
    if isinstance(args, ActionRequestModel):
        return None
    if not isinstance(args, dict):
        return f"got {json_type(args)}"
    if not isinstance(args.get("action"), str):
        return "args.action must be the tool name"
    if not isinstance(args.get("args"), dict):
        return "args.args must be an object of the tool's arguments"
    return None


# ---- Multi-action format ------------------------------------------------------------------


class ActionItem(_Request):
    """One tool call in a multi-action request."""

    name: str
    args: dict[str, Any]
    description: str | None = None


class ReviewConfig(_Request):
    """What the reviewer may decide for calls to `action_name`."""

    action_name: str
    allowed_decisions: list[DecisionType]
    args_schema: dict[str, Any] | None = None


class HITLRequest(_Request):
    """Several tool calls reviewed together; the resume holds one decision per action."""

    # An empty request has nothing to decide; treating it as malformed shows it raw.
    action_requests: list[ActionItem] = Field(min_length=1)
    review_configs: list[ReviewConfig]


class ToolApprovalRequest(TypedDict):
    """One gated tool call awaiting a decision (`type` is always "tool_approval").
    `allowed_decisions` (default approve, edit, reject) and `args_schema` are optional."""

    type: Literal["tool_approval"]
    tool_call_id: str
    name: str
    args: dict
    description: NotRequired[str | None]
    allowed_decisions: NotRequired[list[DecisionType]]
    args_schema: NotRequired[dict]


#: what a ToolApprovalRequest allows when it does not say (LangChain's interrupt_on default)
DEFAULT_TOOL_DECISIONS: tuple[str, ...] = ("approve", "edit", "reject")


class ToolApprovalModel(_Request):
    """Validates a ToolApprovalRequest."""

    type: Literal["tool_approval"]
    tool_call_id: str
    name: str
    args: dict[str, Any]
    description: str | None = None
    allowed_decisions: list[DecisionType] = Field(default_factory=lambda: list(DEFAULT_TOOL_DECISIONS))
    args_schema: dict[str, Any] | None = None


def tool_approval_request(tool_call: dict, *, description: str | None = None,
                          allowed_decisions: list[str] | None = None, args_schema: dict | None = None) -> dict:
    """The ToolApprovalRequest for a model's tool call ({"id", "name", "args"})."""
    request: dict = {"type": "tool_approval", "tool_call_id": tool_call["id"], "name": tool_call["name"],
                     "args": dict(tool_call.get("args") or {}), "description": description}
    if allowed_decisions is not None:
        request["allowed_decisions"] = list(allowed_decisions)
    if args_schema is not None:
        request["args_schema"] = args_schema
    return ToolApprovalModel.model_validate(request).model_dump(mode="json", exclude_none=True) | {
        "description": description}


class EditedAction(_Response):
    name: str
    args: dict[str, Any]


class ApproveDecision(_Response):
    type: Literal["approve"] = "approve"


class EditDecision(_Response):
    type: Literal["edit"] = "edit"
    edited_action: EditedAction


class RejectDecision(_Response):
    type: Literal["reject"] = "reject"
    message: str | None = None


class RespondDecision(_Response):
    type: Literal["respond"] = "respond"
    message: str


Decision = Annotated[Union[ApproveDecision, EditDecision, RejectDecision, RespondDecision],
                     Field(discriminator="type")]


DECISION_MODELS: dict[str, type[BaseModel]] = {
    "approve": ApproveDecision, "edit": EditDecision, "reject": RejectDecision, "respond": RespondDecision}


class HITLResponse(_Response):
    decisions: list[Decision]


# ---- Builders: plain JSON, ready for Command(resume=...) ---------------------------------


def accept() -> dict:
    return HumanResponseModel(type="accept").model_dump(mode="json")


def ignore() -> dict:
    return HumanResponseModel(type="ignore").model_dump(mode="json")


def respond(text: str) -> dict:
    return HumanResponseModel(type="response", args=text).model_dump(mode="json")


def edit(action: str, args: dict) -> dict:
    return HumanResponseModel(type="edit", args=ActionRequestModel(action=action, args=args)).model_dump(mode="json")


def approve() -> dict:
    return ApproveDecision().model_dump(mode="json")


def reject(message: str | None = None) -> dict:
    return RejectDecision(message=message).model_dump(mode="json")


def edit_decision(name: str, args: dict) -> dict:
    return EditDecision(edited_action=EditedAction(name=name, args=args)).model_dump(mode="json")


def respond_decision(message: str) -> dict:
    return RespondDecision(message=message).model_dump(mode="json")
