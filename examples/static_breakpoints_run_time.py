"""Seed 002, "Debug with interrupts" -> "Run time" tab.

The seed's snippet is a fragment with a syntax error (no comma after
`interrupt_after=["node_b", "node_c"]`); the comma is added. The graph and `inputs` are
completed as in static_breakpoints_compile_time.py, but compiled with only a checkpointer:
the breakpoints are given to the first `invoke` call. The seed's three calls are kept and
their results printed, with the node(s) the thread is paused before after each.

Note what the seed's calls actually do: only the first call has breakpoints, so it pauses
before node_a; the second call passes `inputs` again, which starts a new run on the thread
(instead of resuming) and, with no breakpoints, runs to the end; the third call, with
`None`, has nothing left to run.
"""

import operator
from typing import Annotated, TypedDict

from engine.checkpoint.memory import InMemorySaver
from engine.constants import START, END
from engine.graph import StateGraph


# --- completion: the graph the seed's calls refer to ---
class State(TypedDict):
    visited: Annotated[list[str], operator.add]


def node_a(state: State):
    return {"visited": ["node_a"]}


def node_b(state: State):
    return {"visited": ["node_b"]}


def node_c(state: State):
    return {"visited": ["node_c"]}


graph_builder = StateGraph(State)
graph_builder.add_node("node_a", node_a)
graph_builder.add_node("node_b", node_b)
graph_builder.add_node("node_c", node_c)
graph_builder.add_edge(START, "node_a")
graph_builder.add_edge("node_a", "node_b")
graph_builder.add_edge("node_b", "node_c")
graph_builder.add_edge("node_c", END)
graph = graph_builder.compile(checkpointer=InMemorySaver())
inputs = {"visited": []}
# --- end of completion ---

# highlight-next-line
print(graph.invoke( # (1)!
    inputs, 
    # highlight-next-line
    interrupt_before=["node_a"], # (2)!
    # highlight-next-line
    interrupt_after=["node_b", "node_c"], # (3)!  (seed: the comma is missing)
    config={
        "configurable": {"thread_id": "some_thread"}
    }, 
))

config = {
    "configurable": {
        "thread_id": "some_thread"
    }
}
print(graph.get_state(config).next)

# Run the graph until the breakpoint
print(graph.invoke(inputs, config=config)) # (4)!
print(graph.get_state(config).next)

# Resume the graph
print(graph.invoke(None, config=config)) # (5)!
print(graph.get_state(config).next)
