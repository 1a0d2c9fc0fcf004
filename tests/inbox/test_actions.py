"""The one action table (inbox/actions.py) against what is generated from it and what documents it."""

from __future__ import annotations

import re
from pathlib import Path

from inbox.actions import ACTIONS, BY_ID, bindings, help_rows
from inbox.keymap import key_name, split_keys

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_keys_table() -> list[tuple[list[str], str]]:
    """(keys as written, binding id) for each row of README.md's "## Keys" table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Keys\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or set(cells[0]) <= {"-"} or cells[0] == "Key":
            continue
        rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[1].strip("`")))
    return rows


def test_every_key_in_the_readme_does_what_the_table_says():
    rows = readme_keys_table()
    assert rows, "README.md has no ## Keys table"
    for keys, action_id in rows:
        assert action_id in BY_ID, f"README.md names {action_id!r}, which the action table does not have"
        defaults = {key_name(k) for k in split_keys(BY_ID[action_id].keys)}
        for key in keys:
            assert key in defaults, f"README.md: {key!r} for {action_id}, but its keys are {sorted(defaults)}"


def test_every_footer_and_decision_action_is_in_the_readme():
    documented = {action_id for _keys, action_id in readme_keys_table()}
    for action in ACTIONS:
        if action.footer or action.decision:
            assert action.id in documented, f"{action.id} is in the footer or decides, but README.md omits it"


def test_bindings_help_and_palette_come_from_the_table():
    assert [b.id for b in bindings()] == [a.id for a in ACTIONS]
    assert [b.id for b in bindings() if b.show] == [a.id for a in ACTIONS if a.footer]
    rows = help_rows(lambda i: BY_ID[i].keys if i in BY_ID else i, lambda i: i)
    assert [r[2] for r in rows[:len(ACTIONS)]] == [a.id for a in ACTIONS]
