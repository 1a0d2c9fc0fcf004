"""Assistants: one per served graph, addressed by the graph's name or by a stable UUID.

The UUID is uuid5 of the graph name in the namespace LangGraph's server uses, so an assistant
id a client saved from `langgraph dev` (e.g. Agent Inbox's configured id) names the same graph
here. Assistants are not created or versioned: each graph is its own, as with `langgraph dev`."""

from __future__ import annotations

import uuid
from typing import Any, Mapping

from engine.server.errors import ApiError

# The namespace langgraph-api derives system assistant ids from (uuid5(NS, graph_id)).
ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def assistant_uuid(graph_id: str) -> str:
    return str(uuid.uuid5(ASSISTANT_NAMESPACE, graph_id))


class Assistants:
    """The served graphs by name and by assistant id."""

    def __init__(self, graphs: Mapping[str, Any], created_at: str) -> None:
        self.graphs = dict(graphs)
        self.created_at = created_at
        self.by_uuid = {assistant_uuid(name): name for name in self.graphs}

    def resolve(self, assistant_id: Any) -> tuple[str, str, Any]:
        """(graph id, assistant uuid, graph) for an assistant id or graph name, else 422."""
        if isinstance(assistant_id, str):
            name = assistant_id if assistant_id in self.graphs else self.by_uuid.get(assistant_id.lower())
            if name is not None:
                return name, assistant_uuid(name), self.graphs[name]
        registered = ", ".join(self.graphs)
        raise ApiError(422, f"Invalid assistant: {assistant_id!r}. Must be either:\n- A valid assistant UUID, or\n"
                            f"- One of the registered graphs: {registered}")

    def describe(self, name: str) -> dict:
        return {"assistant_id": assistant_uuid(name), "graph_id": name, "config": {}, "context": {},
                "metadata": {"created_by": "system"}, "name": name, "created_at": self.created_at,
                "updated_at": self.created_at, "version": 1, "description": None}

    def all(self) -> list[dict]:
        return [self.describe(name) for name in self.graphs]


__all__ = ["Assistants", "assistant_uuid", "ASSISTANT_NAMESPACE"]
