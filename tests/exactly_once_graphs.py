"""Graphs for tests/test_exactly_once.py (`--graph NAME=exactly_once_graphs:ATTR`).

The subprocesses import this module through PYTHONPATH (tests/ is put on it). Not a test
module: pytest does not collect it.

The one tool, `act`, is a real reviewed tool (`add_human_in_the_loop`), so every run goes
through the tool-call ledger. Each execution appends one line to the file named by
$EO_EFFECTS, written and flushed before anything else the tool does:

    <thread id> <item> <idempotency key> <pid> <OS thread id>

then sleeps $EO_TOOL_SLEEP seconds (default 0), so a test can kill the process inside it.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from typing import TypedDict

from engine.graph import END, START, StateGraph
from engine.prebuilt import ScriptedModel, add_human_in_the_loop, create_tool_agent
from engine._internal.context import current_task

AGENT = "eo-agent"
DEADLINE = "eo-deadline"
TIMEOUT_ITEM = "timeout"


def act(item: str, idempotency_key: str) -> str:
    """Do the one thing (append a line to the effects file)."""
    task = current_task()
    line = f"{task.thread_id if task else '-'} {item} {idempotency_key} {os.getpid()} {threading.get_ident()}\n"
    fd = os.open(os.environ["EO_EFFECTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    pause = float(os.environ.get("EO_TOOL_SLEEP") or 0)
    if pause:
        time.sleep(pause)
    return f"did {item}"


def _calls(messages: list[dict]) -> dict:
    items = messages[0]["intent"]["items"]
    return {"content": "", "tool_calls": [{"id": f"c{i}", "name": "act", "args": {"item": item}}
                                          for i, item in enumerate(items)]}


def _final(messages: list[dict]) -> str:
    results = sorted(str(m.get("content")) for m in messages if m.get("role") == "tool")
    return "finished: " + ", ".join(results)


def build_agent(checkpointer):
    """agent -> tools (one reviewed `act` call per item, in parallel) -> agent -> end."""
    model = ScriptedModel([_calls, _final])
    return create_tool_agent(model, [add_human_in_the_loop(act)], checkpointer=checkpointer, name=AGENT)


def agent_input(*items: str) -> dict:
    return {"messages": [{"role": "user", "content": "act on " + ", ".join(items), "intent": {"items": list(items)}}]}


class DeadlineState(TypedDict):
    item: str
    result: str


def build_deadline(checkpointer, timeout: float = 3600.0):
    """One node calling the reviewed tool; its review has a deadline, after which the run goes
    on with an edit to item "timeout" (so the effects file says who won: the human's accept
    runs the thread's own item)."""
    tool = add_human_in_the_loop(act)

    def work(state: DeadlineState) -> dict:
        return {"result": str(tool(item=state["item"]))}

    return (StateGraph(DeadlineState).add_node("work", work).add_edge(START, "work").add_edge("work", END)
            .compile(checkpointer=checkpointer, name=DEADLINE, interrupt_timeout=timedelta(seconds=timeout),
                     interrupt_on_timeout=[{"type": "edit", "args": {"args": {"item": TIMEOUT_ITEM}}}]))
