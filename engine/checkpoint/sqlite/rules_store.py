"""The SQLite file's rules (engine/checkpoint/rules.py): stored, listed, and applied to the
requests a step raises, in that step's transaction, so a request a rule answers never shows
up as pending. Its decision is by `rule:<id>`, unapplied (the runtime continues the run as it
does any recorded decision: `inbox worker`, or an inbox with the graph), and audited."""

from __future__ import annotations

import json
from typing import Iterable

from engine.checkpoint.rules import RULE_FIELDS, active, new_rule, rule_answer
from engine.checkpoint.serde import dumps
from engine.checkpoint.sqlite.audit_log import append_audit
from engine.checkpoint.sqlite.records import INTERRUPT_COLUMNS, interrupt_from_row
from engine.constants import SYSTEM_DECIDER_PREFIX

_COLUMNS = ", ".join(RULE_FIELDS)


def rule_from_row(row: tuple) -> dict:
    rule = dict(zip(RULE_FIELDS, row))
    rule["value"] = json.loads(rule["value"]) if rule["value"] is not None else None
    return rule


def put_rule(db, rule: dict, now: str) -> dict:
    """Insert a new rule (an id and created_at are given to it) or replace one (e.g. revoked)."""
    rule = new_rule(rule, now)
    values = [json.dumps(rule["value"]) if name == "value" and rule["value"] is not None else rule[name]
              for name in RULE_FIELDS]
    db.execute(f"INSERT OR REPLACE INTO rules ({_COLUMNS}) VALUES ({', '.join('?' * len(RULE_FIELDS))})", values)
    return rule


def list_rules(db, include_revoked: bool = False) -> list[dict]:
    where = "" if include_revoked else " WHERE revoked_at IS NULL"
    return [rule_from_row(row) for row in db.execute(f"SELECT {_COLUMNS} FROM rules{where} ORDER BY created_at")]


def apply_rules(db, raised: Iterable[tuple[str, str]]) -> list[str]:
    """For each (interrupt id, raised at) still pending: the first active rule that answers it
    claims it, by `rule:<id>`. Returns the ids answered."""
    raised = list(raised)
    if not raised:
        return []
    rules = list_rules(db)
    if not rules:
        return []
    answered = []
    for interrupt_id, at in raised:
        row = db.execute(f"SELECT {INTERRUPT_COLUMNS} FROM interrupts WHERE id = ? AND status = 'pending'",
                         (interrupt_id,)).fetchone()
        if row is None:
            continue
        record = interrupt_from_row(row)
        for rule in rules:
            if not active(rule, at):
                continue
            response = rule_answer(rule, record.payload, record.thread_id, at)
            if response is None:
                continue
            db.execute("UPDATE interrupts SET status = 'resolved', resolved_at = ?, resolved_by = ?, response = ?, "
                       "applied = 0 WHERE id = ? AND status = 'pending'",
                       (at, f"{SYSTEM_DECIDER_PREFIX}{rule['id']}", dumps(response), interrupt_id))
            append_audit(db, interrupt_from_row(db.execute(
                f"SELECT {INTERRUPT_COLUMNS} FROM interrupts WHERE id = ?", (interrupt_id,)).fetchone()))
            answered.append(interrupt_id)
            break
    return answered


__all__ = ["put_rule", "list_rules", "apply_rules", "rule_from_row"]
