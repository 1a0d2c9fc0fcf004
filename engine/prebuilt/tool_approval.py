"""LangChain v1's per-call review: each gated tool call pauses on its own
`interrupt(ToolApprovalRequest)` and is answered with one decision (approve, edit, reject,
respond), several calls at once keyed by interrupt id:
`Command(resume={interrupt_id: {"type": "approve"}, other_id: {"type": "reject", "message": "no"}})`.
The inbox shows each like a one-action multi-action request (engine/review/validate.py)."""

from __future__ import annotations

from typing import Any

from engine.review.interrupt import ToolApprovalRequest, tool_approval_request
from engine.review.validate import validate_response
from engine.types import interrupt


def review_tool_call(tool_call: dict, *, description: str | None = None, allowed_decisions: list[str] | None = None,
                     args_schema: dict | None = None) -> dict:
    """Pause for a decision on one tool call ({"id", "name", "args"}) and return it, checked
    against what the request allows: {"type": "approve"}, {"type": "edit", "edited_action":
    {"name", "args"}}, {"type": "reject", "message": ...} or {"type": "respond", "message": ...}."""
    request = tool_approval_request(tool_call, description=description, allowed_decisions=allowed_decisions,
                                    args_schema=args_schema)
    answer: Any = interrupt(request)
    return validate_response(request, answer)


__all__ = ["ToolApprovalRequest", "tool_approval_request", "review_tool_call"]
