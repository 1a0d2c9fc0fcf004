"""Server-sent events: the wire format, and the `events` stream mode.

Wire format as the real server writes it: `event: NAME\\r\\ndata: JSON\\r\\n\\r\\n`, starting
with `event: metadata` `{run_id, attempt}`.

The `events` mode (LangChain's astream_events v2) is what the Agent Inbox web app asks for;
it reads `on_chain_start` events' `metadata.langgraph_node`, and the run's end. The engine has
no callback system, so this module derives them from the run's `updates`: the graph's
on_chain_start first, an on_chain_start / on_chain_end pair per node update (so a node is
reported when its step has finished, not when it begins), and the graph's on_chain_end with
the final values. Nothing else of astream_events is produced."""

from __future__ import annotations

import json
from typing import Any

from engine.server.shapes import jsonable


def sse(event: str, data: Any) -> bytes:
    text = json.dumps(jsonable(data), separators=(",", ":"), ensure_ascii=False)
    return f"event: {event}\r\ndata: {text}\r\n\r\n".encode()


class EventsMode:
    """Turns one run's lifecycle into astream_events-shaped dicts."""

    def __init__(self, run: dict, graph_name: str) -> None:
        self.run = run
        self.graph_name = graph_name
        self.step = 0
        self.base = {"graph_id": run["graph_id"], "assistant_id": run["assistant_id"], "run_id": run["run_id"],
                     "thread_id": run["thread_id"], **(run["metadata"] or {})}

    def start(self, run_input: Any) -> dict:
        return {"event": "on_chain_start", "data": {"input": jsonable(run_input)}, "name": self.graph_name,
                "tags": [], "run_id": self.run["run_id"], "metadata": dict(self.base), "parent_ids": []}

    def updates(self, chunk: dict) -> list[dict]:
        out = []
        for node, update in chunk.items():
            if node.startswith("__"):
                continue
            self.step += 1
            metadata = {**self.base, "langgraph_step": self.step, "langgraph_node": node,
                        "langgraph_path": ["__pregel_pull", node]}
            common = {"name": node, "tags": [f"graph:step:{self.step}"], "run_id": f"{self.run['run_id']}:{node}:{self.step}",
                      "metadata": metadata, "parent_ids": [self.run["run_id"]]}
            out.append({"event": "on_chain_start", "data": {}, **common})
            out.append({"event": "on_chain_end", "data": {"output": jsonable(update)}, **common})
        return out

    def end(self, output: Any) -> dict:
        return {"event": "on_chain_end", "data": {"output": jsonable(output)}, "run_id": self.run["run_id"],
                "name": self.graph_name, "tags": [], "metadata": dict(self.base), "parent_ids": []}


__all__ = ["sse", "EventsMode"]
