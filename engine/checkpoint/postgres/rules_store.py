"""PostgresSaver's rules (engine/checkpoint/rules.py): stored, listed, and applied to the
requests a step raises, in that step's transaction, as SQLite's rules_store.py does: a request
a rule answers never shows up as pending; its decision is by `rule:<id>`, unapplied (the
runtime continues the run as it does any recorded decision), and audited.

A step's raising statements are queued for its commit (transactions.py), so applying rules
costs round trips: `rules_for` is one read (on the step's connection, without sending the
queued work), and only when a rule is active are the queued statements sent and the raised
rows read back and answered (`apply_rules`). A step that raises nothing reads no rules."""

from __future__ import annotations

import json
from typing import Iterable

from engine.checkpoint.postgres.audit_log import append_audit
from engine.checkpoint.postgres.records import INTERRUPT_COLUMNS, interrupt_from_row
from engine.checkpoint.rules import RULE_FIELDS, active, new_rule, rule_answer
from engine.checkpoint.serde import dumps
from engine.checkpoint.sqlite.rules_store import rule_from_row
from engine.constants import SYSTEM_DECIDER_PREFIX

_COLUMNS = ", ".join(RULE_FIELDS)
_PUT_SQL = (f"INSERT INTO engine_rules ({_COLUMNS}) VALUES ({', '.join(['%s'] * len(RULE_FIELDS))}) "
            "ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in RULE_FIELDS if name != "id"))


async def put_rule(conn, rule: dict, now: str) -> dict:
    """Insert a new rule (an id and created_at are given to it) or replace one (e.g. revoked)."""
    rule = new_rule(rule, now)
    values = [json.dumps(rule["value"]) if name == "value" and rule["value"] is not None else rule[name]
              for name in RULE_FIELDS]
    await conn.execute(_PUT_SQL, values)
    return rule


async def list_rules(conn, include_revoked: bool = False) -> list[dict]:
    where = "" if include_revoked else " WHERE revoked_at IS NULL"
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM engine_rules{where} ORDER BY created_at, row_no")
    return [rule_from_row(row) for row in await cur.fetchall()]


async def rules_for(conn, raised: list[tuple[str, str]]) -> list[dict]:
    """The rules that may answer requests raised at the given times (not revoked, not expired)."""
    return [rule for rule in await list_rules(conn) if any(active(rule, at) for _id, at in raised)]


async def apply_rules(conn, rules: list[dict], raised: Iterable[tuple[str, str]]) -> list[str]:
    """For each (interrupt id, raised at) still pending: the first of `rules` active then that
    answers it claims it, by `rule:<id>`. Returns the ids answered. `conn` is in the
    transaction that inserted the rows."""
    answered = []
    for interrupt_id, at in raised:
        cur = await conn.execute(f"SELECT {INTERRUPT_COLUMNS} FROM engine_interrupts WHERE id = %s "
                                 "AND status = 'pending' FOR UPDATE", (interrupt_id,))
        row = await cur.fetchone()
        if row is None:
            continue
        record = interrupt_from_row(row)
        for rule in rules:
            if not active(rule, at):
                continue
            response = rule_answer(rule, record.payload, record.thread_id, at)
            if response is None:
                continue
            cur = await conn.execute(
                "UPDATE engine_interrupts SET status = 'resolved', resolved_at = %s, resolved_by = %s, response = %s, "
                f"applied = false WHERE id = %s AND status = 'pending' RETURNING {INTERRUPT_COLUMNS}",
                (at, f"{SYSTEM_DECIDER_PREFIX}{rule['id']}", dumps(response), interrupt_id))
            await append_audit(conn, interrupt_from_row(await cur.fetchone()))
            answered.append(interrupt_id)
            break
    return answered


__all__ = ["put_rule", "list_rules", "rules_for", "apply_rules"]
