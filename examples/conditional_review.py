"""Seed 001, "Conditional Interrupts": interrupt only when confidence is low.

The seed's snippet is a fragment: only the node is shown. Completed minimally with a
one-node graph run twice, on two threads: with confidence 0.9 (no interrupt, approved)
and with 0.5 (interrupt, then resumed with `{"proceed": False}`, rejected).
"""

from typing import TypedDict

from engine.constants import START, END
from engine.graph import StateGraph
from engine.types import interrupt, Command
from engine.checkpoint.memory import MemorySaver


class State(TypedDict):  # completion
    confidence: float
    status: str


def conditional_review(state: State):
    if state["confidence"] < 0.8:
        approval = interrupt({"message": "Low confidence, review?"})
        if not approval["proceed"]:
            return {"status": "rejected"}
    return {"status": "approved"}


# --- completion: graph and runs ---
builder = StateGraph(State)
builder.add_node("conditional_review", conditional_review)
builder.add_edge(START, "conditional_review")
builder.add_edge("conditional_review", END)
app = builder.compile(checkpointer=MemorySaver())

config = {"configurable": {"thread_id": "high-confidence"}}
print(app.invoke({"confidence": 0.9}, config))

config = {"configurable": {"thread_id": "low-confidence"}}
print(app.invoke({"confidence": 0.5}, config))
print(app.invoke(Command(resume={"proceed": False}), config))
