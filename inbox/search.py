"""The `/` query: free words plus field filters, and what matches it.

    wire eur graph:payments action:wire_transfer thread:0001 status:overdue

Words match (case-insensitively, all of them) the action, description, thread, graph and
arguments (InboxItem.search_text). A field filter matches a substring of that field;
`status:` takes a status (pending, resolved, expired, cancelled), an outcome (accepted,
edited, responded, answered, ignored, mixed), or overdue, failed, in-doubt. A token with a
colon whose name is not a field (`10:30`, `https://…`) is an ordinary word. The words are
also what the list and the detail pane highlight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.text import Text

from inbox.review import InboxItem, outcome

FIELDS = ("graph", "action", "thread", "status")
STATUS_WORDS = ("pending", "resolved", "expired", "cancelled", "accepted", "edited", "responded", "answered",
                "ignored", "mixed", "overdue", "failed", "in-doubt")


class QueryError(ValueError):
    """A field filter that cannot match anything (e.g. an unknown status)."""


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.words and not self.fields

    @property
    def text(self) -> str:
        """The free words, for the store's own text search (a narrower first pass)."""
        return " ".join(self.words)


def parse_query(text: str) -> Query:
    words, fields = [], {}
    for token in text.split():
        name, colon, value = token.partition(":")
        if colon and name.lower() in FIELDS and value:
            fields[name.lower()] = value.lower()
        else:
            words.append(token.lower())
    status = fields.get("status")
    if status is not None and status not in STATUS_WORDS:
        raise QueryError(f"status:{status} matches nothing; use one of {', '.join(STATUS_WORDS)}")
    return Query(tuple(words), fields)


def _status_matches(item: InboxItem, wanted: str) -> bool:
    record = item.record
    if wanted == "overdue":
        return record.status == "pending" and record.overdue
    if wanted == "failed":
        return bool(item.error)
    if wanted == "in-doubt":
        return item.in_doubt
    if wanted == record.status:
        return True
    return record.status == "resolved" and outcome(record.response) == wanted


def matches(item: InboxItem, query: Query) -> bool:
    text = item.search_text
    if any(word not in text for word in query.words):
        return False
    record = item.record
    for name, value in query.fields.items():
        if name == "status":
            if not _status_matches(item, value):
                return False
        elif value not in {"graph": record.graph, "action": item.action, "thread": record.thread_id}[name].lower():
            return False
    return True


def narrows(query: Query, than: Query) -> bool:
    """Whether everything `query` matches is matched by `than` too (a letter or a word added,
    a field added or made longer): then `query` need only search `than`'s matches."""
    if not all(any(old in new for new in query.words) for old in than.words):
        return False
    for name, value in than.fields.items():
        new = query.fields.get(name)
        if new is None or (new != value if name == "status" else value not in new):
            return False
    return True


def highlight(text: Text, words: tuple[str, ...], style: str) -> Text:
    """`text` with every occurrence of the words styled (case-insensitive); the words are
    matched literally, never as patterns."""
    for word in words:
        text.highlight_regex(re.compile(re.escape(word), re.IGNORECASE), style)
    return text
