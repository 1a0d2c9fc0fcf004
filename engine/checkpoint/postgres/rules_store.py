"""PostgresSaver's rules (engine/checkpoint/rules.py): stored, listed, and applied to the
requests a step raises, in that step's transaction, as SQLite's rules_store.py does: a request
a rule answers never shows up as pending; its decision is by `rule:<id>`, unapplied (the
runtime continues the run as it does any recorded decision), and audited.

A step's raising statements are queued for its commit (transactions.py). The rules are kept
in a cache (`RulesCache`) that NOTIFY engine_rules drops, so a step that raises requests reads
them without a round trip; only when a rule is active are the queued statements sent and the
raised rows read back and answered (`apply_rules`). A step that raises nothing reads no rules."""

from __future__ import annotations

import json
import threading
from typing import Callable, Iterable

from engine.checkpoint.postgres.audit_log import append_audit
from engine.checkpoint.postgres.records import INTERRUPT_COLUMNS, interrupt_from_row
from engine.checkpoint.rules import RULE_FIELDS, active, new_rule, rule_answer
from engine.checkpoint.serde import dumps
from engine.checkpoint.sqlite.rules_store import rule_from_row
from engine.constants import SYSTEM_DECIDER_PREFIX

RULES_CHANNEL = "engine_rules"
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
    await conn.execute(f"SELECT pg_notify('{RULES_CHANNEL}', '')")  # drops every process's cache at the commit
    return rule


async def list_rules(conn, include_revoked: bool = False) -> list[dict]:
    where = "" if include_revoked else " WHERE revoked_at IS NULL"
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM engine_rules{where} ORDER BY created_at, row_no")
    return [rule_from_row(row) for row in await cur.fetchall()]


class RulesCache:
    """The unrevoked rules, kept between steps so that a step raising requests reads them
    without a round trip. Kept only while the saver's listener is LISTENing (listener.py): a
    rule changed by any process sends NOTIFY engine_rules in its transaction, which drops the
    cache here; one changed by this process drops it at once. Another process's rule applies
    here from the moment its NOTIFY arrives (milliseconds after its commit). `generation`
    keeps a read that raced an invalidation from being kept."""

    def __init__(self, start_listening: Callable[[], None]) -> None:
        self._start_listening = start_listening
        self._rules: list[dict] | None = None
        self._listening = False
        self._generation = 0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._rules = None

    def listening(self, listening: bool) -> None:
        with self._lock:
            self._listening = listening
            self._generation += 1
            self._rules = None

    async def rules(self, conn) -> list[dict]:
        with self._lock:
            if self._rules is not None:
                return self._rules
            generation, keep = self._generation, self._listening
        self._start_listening()
        rules = await list_rules(conn)
        with self._lock:
            if keep and generation == self._generation:
                self._rules = rules
        return rules

    async def rules_for(self, conn, raised: list[tuple[str, str]]) -> list[dict]:
        """The rules that may answer requests raised at the given times (not revoked, not expired)."""
        return [rule for rule in await self.rules(conn) if any(active(rule, at) for _id, at in raised)]


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


__all__ = ["put_rule", "list_rules", "RulesCache", "apply_rules", "RULES_CHANNEL"]
