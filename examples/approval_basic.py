"""Seed 003, "Basic Interrupt + Resume": the fluent builder, one approval node.

The seed's text lost its imports and code formatting (and the underscores of
`result["__interrupt__"]`); the program is restored with the imports it uses. Its
calls and prints are kept.
"""

from typing import TypedDict

from engine.checkpoint.memory import InMemorySaver
from engine.graph import START, END, StateGraph
from engine.types import Command, interrupt


class State(TypedDict):
    approved: bool


def approval_node(state: State):
    # Pause and ask for approval
    approved = interrupt("Do you approve this action?")
    # When resumed, Command(resume=...) returns that value here
    return {"approved": approved}


checkpointer = InMemorySaver()
graph = (
    StateGraph(State)
    .add_node("approval", approval_node)
    .add_edge(START, "approval")
    .add_edge("approval", END)
    .compile(checkpointer=checkpointer)
)

config = {"configurable": {"thread_id": "thread-1"}}

# Initial run — hits interrupt and pauses
result = graph.invoke({"approved": False}, config)
print(result["__interrupt__"])
# [Interrupt(value='Do you approve this action?')]

# Resume with the human's response
result = graph.invoke(Command(resume=True), config)
print(result["approved"])  # True
