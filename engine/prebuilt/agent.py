"""A minimal tool-calling agent (what `create_react_agent` is in the seed documents) with a
pluggable model, and `ScriptedModel`, a model that replays a script (tests, the demo).

Messages are plain dicts: {"role": "user" | "assistant" | "tool" | "system", "content": str,
"tool_calls": [{"id", "name", "args"}], "tool_call_id": str, "name": str, "id": str}, merged by
`add_messages` (engine/graph/message.py), which gives each an id; a model may return LangChain
messages instead when langchain-core is installed.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections import deque
from typing import Any, Callable, Sequence

from engine._internal.sync import loop_is_owned
from engine.config import get_message_writer
from engine.constants import END, START
from engine.graph import StateGraph
from engine.graph.message import MessagesState, add_messages
from engine.prebuilt.tool_review import ReviewedTool
from engine.runtime.node import call_sync
from engine.types import Send


#: the agent's state: a message list reduced by add_messages (ids, merge by id, RemoveMessage)
AgentState = MessagesState


class ScriptedModel:
    """Replays `script`, one reply per call. An entry is an assistant message dict, a string
    (a plain answer), or a callable `messages -> message` for replies that depend on what the
    agent saw (e.g. a tool's result). Like a streaming model, it emits its text word by word
    for stream_mode "messages"."""

    def __init__(self, script: Sequence[Any]):
        self.script = list(script)
        self.calls: deque[list[dict]] = deque(maxlen=100)  # the latest prompts, for tests to inspect

    def __call__(self, messages: list[dict]) -> dict:
        # A resumed agent replays its history; index by the assistant turns already taken so the
        # model stays deterministic however often the node re-runs.
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        self.calls.append(list(messages))
        if turn >= len(self.script):
            raise RuntimeError(
                f"ScriptedModel ran out of replies: the script has {len(self.script)} and reply "
                f"{turn + 1} was asked for. Add a final answer without tool calls to the script."
            )
        entry = self.script[turn]
        reply = entry(messages) if callable(entry) else entry
        if isinstance(reply, str):
            reply = {"role": "assistant", "content": reply}
        reply = {"role": "assistant", "content": "", **reply}
        emit = get_message_writer()  # falsy unless the run is streamed with stream_mode "messages"
        if reply["content"] and emit:
            # what a streaming model does (README, "Streaming"): its text as message chunks,
            # here word by word, under the id of the message it returns
            reply.setdefault("id", str(uuid.uuid4()))
            for word in re.findall(r"\S+\s*", reply["content"]):
                emit({"role": "assistant", "content": word, "id": reply["id"]})
        return reply


def _tool_name(tool: Any) -> str:
    return tool.name if isinstance(tool, ReviewedTool) else getattr(tool, "__name__", repr(tool))


def _is_async(tool: Callable) -> bool:
    return bool(getattr(tool, "is_async", False)) or inspect.iscoroutinefunction(tool) \
        or inspect.iscoroutinefunction(getattr(tool, "__call__", None))


def create_tool_agent(model: Callable, tools: Sequence[Callable], *, checkpointer: Any = None,
                      name: str = "agent", system_prompt: str | None = None, **compile_kwargs: Any):
    """A graph `agent -> tools -> agent ...` that ends when the model answers without tool calls.

    Each tool call runs as its own task, so when several reviewed tools ask at once each is a
    separate pending interrupt and a decided call is never run twice.
    """
    by_name = {_tool_name(t): t for t in tools}
    if len(by_name) != len(tools):
        raise ValueError("create_tool_agent(): two tools have the same name; tool names must be unique.")

    async def agent(state: AgentState) -> dict:
        messages = list(state["messages"])
        if system_prompt:
            messages = [{"role": "system", "content": system_prompt}] + messages
        reply = model(messages)
        if inspect.isawaitable(reply):
            reply = await reply
        return {"messages": [reply]}

    def route(state: AgentState):
        last = state["messages"][-1]
        # a dict message, or a LangChain AIMessage when the model returns those
        calls = (last.get("tool_calls") if isinstance(last, dict) else getattr(last, "tool_calls", None)) or []
        return [Send("tools", call) for call in calls] if calls else END

    async def run_tool(call: dict) -> dict:
        tool = by_name.get(call.get("name"))
        message = {"role": "tool", "tool_call_id": call.get("id"), "name": call.get("name")}
        if tool is None:
            return {"messages": [{**message, "content": f"Error: there is no tool named {call.get('name')!r}; "
                                                        f"available: {', '.join(by_name)}."}]}
        try:
            if _is_async(tool):
                result = await tool(**(call.get("args") or {}))
            else:
                # A sync tool (an HTTP call, an email sent) must not block a loop that other runs,
                # a server or the TUI share: it runs on a thread unless the engine owns the loop.
                result = await call_sync(tool, inline=loop_is_owned(), **(call.get("args") or {}))
            if inspect.isawaitable(result):
                result = await result
        except (TypeError, ValueError) as error:
            # Bad arguments from the model go back to the model, which can correct them.
            return {"messages": [{**message, "content": f"Error: {error}", "status": "error"}]}
        return {"messages": [{**message, "content": result if isinstance(result, str) else str(result)}]}

    return (StateGraph(AgentState)
            .add_node("agent", agent)
            .add_node("tools", run_tool)
            .add_edge(START, "agent")
            .add_conditional_edges("agent", route, ["tools", END])
            .add_edge("tools", "agent")
            .compile(checkpointer=checkpointer, name=name, **compile_kwargs))


__all__ = ["create_tool_agent", "ScriptedModel", "AgentState", "add_messages"]
