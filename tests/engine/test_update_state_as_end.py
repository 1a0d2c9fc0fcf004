"""update_state(as_node=END): LangGraph's "finish the run here" (Agent Inbox's "mark as
resolved" sends it over HTTP): nothing runs next, pending interrupts are cancelled, and the
thread is no longer listed as waiting."""

from typing import TypedDict

from engine.constants import END, START
from engine.graph import StateGraph
from engine.types import interrupt


class State(TypedDict):
    text: str


def ask(state: State):
    return {"text": interrupt({"question": state["text"]})}


def test_as_end_finishes_the_thread(saver):
    graph = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t-end"}}
    assert graph.invoke({"text": "q"}, config)["__interrupt__"]
    graph.update_state(config, None, as_node=END)
    state = graph.get_state(config)
    assert state.next == () and state.interrupts == () and state.values == {"text": "q"}
    if hasattr(saver, "list_pending"):
        assert saver.list_pending(thread_id="t-end") == []
        assert saver.get_thread("t-end").status in ("idle", "done")
