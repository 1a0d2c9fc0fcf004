"""Seed 001, "Using Interrupts" -> "Basic Interrupt".

The seed's snippet is a fragment: `State`, `builder` and `inputs` are not defined.
Completed minimally (a draft in the state, a one-node graph, an input draft); the
seed's node, compile call, config and calls are kept, and the final result is printed.
"""

from typing import TypedDict

from engine.constants import START, END
from engine.graph import StateGraph
from engine.types import interrupt, Command
from engine.checkpoint.memory import MemorySaver


class State(TypedDict):  # completion
    draft: str
    status: str


def human_review(state: State):
    # Pause and wait for approval
    approval = interrupt({"message": "Review this draft", "draft": state["draft"]})
    if approval["approved"]:
        return {"status": "approved"}
    else:
        return {"status": "rejected"}


# completion: the graph and its input
builder = StateGraph(State)
builder.add_node("human_review", human_review)
builder.add_edge(START, "human_review")
builder.add_edge("human_review", END)
inputs = {"draft": "Hi team, the launch moves to Friday."}

# Compile with checkpointer
app = builder.compile(checkpointer=MemorySaver())

# First invocation hits interrupt
config = {"configurable": {"thread_id": "1"}}
result = app.invoke(inputs, config)
print(result["__interrupt__"])  # Shows interrupt data

# Resume with human input
result = app.invoke(
    Command(resume={"approved": True}),
    config
)
print(result)  # completion
