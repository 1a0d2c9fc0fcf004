"""The review request/response shapes and their validation: a leaf of the engine.

`interrupt` holds the human-in-the-loop request and answer shapes (Agent Inbox's HumanInterrupt
and LangChain's HITLRequest), `validate` turns any interrupt value into reviewable items and
checks an answer against what the request allows, and `json_schema` is the JSON Schema subset
both use. Nothing here imports more of the engine than `engine.errors`, so the checkpoint
package (which checks answers when it claims them) can use it without loading the runtime, the
graph builder or the prebuilt agent. `engine.prebuilt.interrupt`, `engine.prebuilt.review` and
`engine.prebuilt.json_schema` are the same modules under their older names.
"""

from engine.review.validate import InvalidResponse, ReviewItem, is_review_request, review_items, validate_response

__all__ = ["InvalidResponse", "ReviewItem", "is_review_request", "review_items", "validate_response"]
