"""Rules that answer a request before it reaches a person: "always allow this".

A rule accepts requests for one tool, optionally only when one argument matches (`prefix`: a
string argument starts with the value, e.g. a path; `below`: a number is under the value,
e.g. an amount; `equals`), optionally only on one thread, until it expires or is revoked.
The store applies active rules when a request is raised, in the same transaction (the
decision is recorded as by `rule:<id>` and audited like any other); a rule never answers a
request whose config forbids accept, nor a question, nor a request with several actions.
Pure functions over plain dicts, shared by every store.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from engine.review.validate import InvalidResponse, review_items, validate_response

OPS = ("prefix", "below", "equals")
RULE_FIELDS = ("id", "tool", "arg", "op", "value", "thread_id", "expires_at", "created_by", "created_at",
               "revoked_at", "revoked_by")


def check_rule(rule: dict) -> dict:
    """The rule with every field present, or ValueError naming what is wrong and how to fix it."""
    if not isinstance(rule.get("tool"), str) or not rule["tool"]:
        raise ValueError("a rule needs the tool it allows, e.g. tool='delete_files'")
    arg, op, value = rule.get("arg"), rule.get("op"), rule.get("value")
    if (arg is None) != (op is None):
        raise ValueError("a rule's argument pattern needs both arg and op, e.g. arg='path', op='prefix', "
                         "value='/tmp/'")
    if op is not None and op not in OPS:
        raise ValueError(f"unknown op {op!r}; use one of {', '.join(OPS)}")
    if op == "prefix" and not isinstance(value, str):
        raise ValueError("op 'prefix' needs a string value, e.g. value='/tmp/'")
    if op == "below" and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise ValueError("op 'below' needs a number, e.g. value=100")
    if rule.get("expires_at") is not None:
        try:
            datetime.fromisoformat(rule["expires_at"])
        except (TypeError, ValueError):
            raise ValueError(f"expires_at {rule['expires_at']!r} is not an ISO 8601 time") from None
    return {name: rule.get(name) for name in RULE_FIELDS}


def new_rule(rule: dict, now: str) -> dict:
    """`check_rule`, then what a store gives a rule it stores: an id (if new) and created_at.
    ValueError without created_by (the audit log names who made a rule)."""
    rule = check_rule(rule)
    rule["id"] = rule["id"] or uuid.uuid4().hex[:12]
    rule["created_at"] = rule["created_at"] or now
    if not rule.get("created_by"):
        raise ValueError("a rule needs created_by=<who made it>; it goes into the audit log")
    return rule


def active(rule: dict, now: str) -> bool:
    if rule.get("revoked_at"):
        return False
    expires = rule.get("expires_at")
    return not expires or datetime.fromisoformat(expires) > datetime.fromisoformat(now)


def rule_answer(rule: dict, payload: Any, thread_id: str, now: str) -> Any | None:
    """The accept `rule` gives the request `payload` raised on `thread_id` at `now` (normalized,
    as resolve() stores it), or None when the rule does not answer it."""
    if not active(rule, now) or (rule.get("thread_id") and rule["thread_id"] != thread_id):
        return None
    items = review_items(payload)
    if len(items) != 1 or items[0].kind == "question":
        return None
    item = items[0]
    if item.action != rule["tool"]:
        return None
    accept = "approve" if item.kind == "hitl" else "accept"
    if accept not in item.allowed:
        return None  # the request's config forbids accept: a rule never overrides that
    if rule.get("op") is not None:
        got = (item.args or {}).get(rule["arg"])
        op, value = rule["op"], rule["value"]
        if op == "prefix" and not (isinstance(got, str) and got.startswith(value)):
            return None
        if op == "below" and not (isinstance(got, (int, float)) and not isinstance(got, bool) and got < value):
            return None
        if op == "equals" and got != value:
            return None
    response = {"decisions": [{"type": "approve"}]} if item.kind == "hitl" else [{"type": "accept", "args": None}]
    try:
        return validate_response(payload, response)
    except InvalidResponse:
        return None


def describe_rule(rule: dict) -> str:
    """`delete_files where path starts with "/tmp/" on any thread, until 2025-03-11T00:00+00:00`."""
    import json
    text = rule["tool"]
    if rule.get("op") == "prefix":
        text += f" where {rule['arg']} starts with {json.dumps(rule['value'], ensure_ascii=False)}"
    elif rule.get("op") == "below":
        text += f" where {rule['arg']} < {rule['value']}"
    elif rule.get("op") == "equals":
        text += f" where {rule['arg']} = {json.dumps(rule['value'], ensure_ascii=False)}"
    text += f" on thread {rule['thread_id']}" if rule.get("thread_id") else " on any thread"
    if rule.get("expires_at"):
        text += f", until {rule['expires_at']}"
    return text


__all__ = ["OPS", "RULE_FIELDS", "check_rule", "new_rule", "active", "rule_answer", "describe_rule"]
