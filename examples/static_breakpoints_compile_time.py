"""Seed 002, "Debug with interrupts" -> "Compile time" tab (seed 004 shows the same
`compile(interrupt_before=..., interrupt_after=...)` call without the checkpointer).

The seed's snippet is a fragment: the graph, `inputs` and `thread_config` are not defined
(it defines `config` but calls with `thread_config`). Completed minimally with a chain
node_a -> node_b -> node_c whose nodes append their name to a list, and
`thread_config = config`. The seed's two calls are kept and their results printed,
together with the node(s) the thread is paused before (`get_state(...).next`).
"""

import operator
from typing import Annotated, TypedDict

from engine.checkpoint.memory import InMemorySaver
from engine.constants import START, END
from engine.graph import StateGraph


# --- completion: the graph the seed's compile call refers to ---
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
checkpointer = InMemorySaver()
inputs = {"visited": []}
# --- end of completion ---

# highlight-next-line
graph = graph_builder.compile( # (1)!
    # highlight-next-line
    interrupt_before=["node_a"], # (2)!
    # highlight-next-line
    interrupt_after=["node_b", "node_c"], # (3)!
    checkpointer=checkpointer, # (4)!
)

config = {
    "configurable": {
        "thread_id": "some_thread"
    }
}
thread_config = config  # completion: the seed calls with `thread_config`

# Run the graph until the breakpoint
print(graph.invoke(inputs, config=thread_config)) # (5)!
print(graph.get_state(thread_config).next)

# Resume the graph
print(graph.invoke(None, config=thread_config)) # (6)!
print(graph.get_state(thread_config).next)
