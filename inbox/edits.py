"""What an edit changed: the arguments a decision sent, next to the ones the agent asked for.

An edited decision is shown as an argument diff everywhere it appears (the detail pane, the
outcome column, the thread's Decisions table, the stepper, `inbox show`), so a reviewer can see
what was actually sent, not only that something was. Pure functions over JSON values; no
engine, no Textual.
"""

from __future__ import annotations

import json
from typing import Any

MISSING = object()  # a key that is on one side only


def sent_args(response: Any) -> dict[int, dict]:
    """The edited arguments in a decision, by action index: a HumanInterrupt list
    (`{"type": "edit", "args": {"action", "args"}}`) or a multi-action `{"decisions": [...]}`
    (`{"type": "edit", "edited_action": {"name", "args"}}`). Empty when nothing was edited."""
    if isinstance(response, dict) and isinstance(response.get("decisions"), list):
        answers = response["decisions"]
    elif isinstance(response, list):
        answers = response
    else:
        return {}
    edited = {}
    for index, answer in enumerate(answers):
        if not isinstance(answer, dict) or answer.get("type") != "edit":
            continue
        action = answer.get("edited_action") if "edited_action" in answer else answer.get("args")
        if isinstance(action, dict) and isinstance(action.get("args"), dict):
            edited[index] = action["args"]
    return edited


def args_diff(before: dict, after: dict) -> list[tuple[str, Any, Any]]:
    """(key, old, new) for every top-level key whose value changed, in the order of `before`
    then the added keys; MISSING stands for a key that is on one side only."""
    changes = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key, MISSING), after.get(key, MISSING)
        if _canonical(old) != _canonical(new):
            changes.append((key, old, new))
    return changes


def _canonical(value: Any) -> str:
    return "\x00missing" if value is MISSING else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def show_value(value: Any, width: int = 40) -> str:
    """A value for a one-line diff: JSON, cut with an ellipsis (never silently)."""
    if value is MISSING:
        return "(absent)"
    text = " ".join(json.dumps(value, ensure_ascii=False, default=str).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def diff_summary(before: dict, after: dict, width: int = 40) -> str:
    """`cabin: "economy" → "premium_economy"; nights: 3 → 2`, or "no change"."""
    changes = args_diff(before, after)
    if not changes:
        return "no change"
    return "; ".join(f"{key}: {show_value(old, width)} → {show_value(new, width)}" for key, old, new in changes)
