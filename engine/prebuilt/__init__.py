"""Ready-made human-in-the-loop pieces: the request/response shapes (`interrupt`), the
reviewer-side normalizer and answer checks (`review`), the tool-review wrapper, per-call tool
approval (`tool_approval`) and a tool-calling agent."""

from engine.prebuilt.interrupt import (
    ActionItem,
    ActionRequest,
    ApproveDecision,
    Decision,
    EditDecision,
    EditedAction,
    HITLRequest,
    HITLResponse,
    HumanInterrupt,
    HumanInterruptConfig,
    HumanResponse,
    RejectDecision,
    RespondDecision,
    ReviewConfig,
    accept,
    approve,
    edit,
    edit_decision,
    ignore,
    reject,
    respond,
    respond_decision,
)
from engine.prebuilt.json_schema import schema_errors
from engine.prebuilt.tool_approval import ToolApprovalRequest, review_tool_call, tool_approval_request
from engine.prebuilt.review import InvalidResponse, ReviewItem, review_items, validate_response
from engine.prebuilt.tool_review import ReviewedTool, ReviewerReply, ToolSkipped, add_human_in_the_loop, tool_schema
from engine.prebuilt.agent import AgentState, ScriptedModel, add_messages, create_tool_agent

__all__ = [
    "ActionItem", "ActionRequest", "ApproveDecision", "Decision", "EditDecision", "EditedAction",
    "HITLRequest", "HITLResponse", "HumanInterrupt", "HumanInterruptConfig", "HumanResponse",
    "RejectDecision", "RespondDecision", "ReviewConfig",
    "accept", "approve", "edit", "edit_decision", "ignore", "reject", "respond", "respond_decision",
    "schema_errors", "InvalidResponse", "ReviewItem", "review_items", "validate_response",
    "ReviewedTool", "ReviewerReply", "ToolSkipped", "add_human_in_the_loop", "tool_schema",
    "AgentState", "ScriptedModel", "add_messages", "create_tool_agent",
    "ToolApprovalRequest", "review_tool_call", "tool_approval_request",
]
