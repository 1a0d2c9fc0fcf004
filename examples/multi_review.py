"""Seed 001, "Multiple Interrupts": two interrupts in sequence in one node.

The seed's snippet is a fragment: `State`, the graph, the first run and `config` are not
defined, and the resume values are placeholders (`"..."`). Completed minimally; the
placeholders are replaced with "Edited draft" / "Approved draft" so the output shows
which answer went where. The interrupts of each call and the final result are printed.
"""

from typing import TypedDict

from engine.constants import START, END
from engine.graph import StateGraph
from engine.types import interrupt, Command
from engine.checkpoint.memory import MemorySaver


class State(TypedDict):  # completion
    draft: str
    final_draft: str


def multi_review(state: State):
    # First interrupt
    draft = interrupt({"message": "Review draft", "draft": state["draft"]})
    # Second interrupt
    final = interrupt({"message": "Final approval", "draft": draft["edited_draft"]})
    return {"final_draft": final["approved_draft"]}


# --- completion: graph and first run ---
builder = StateGraph(State)
builder.add_node("multi_review", multi_review)
builder.add_edge(START, "multi_review")
builder.add_edge("multi_review", END)
app = builder.compile(checkpointer=MemorySaver())
config = {"configurable": {"thread_id": "1"}}
result = app.invoke({"draft": "First draft"}, config)
print(result["__interrupt__"])
# --- end of completion ---

# Resume first interrupt
result = app.invoke(Command(resume={"edited_draft": "Edited draft"}), config)  # seed: "..."
print(result["__interrupt__"])
# Resume second interrupt
result = app.invoke(Command(resume={"approved_draft": "Approved draft"}), config)  # seed: "..."
print(result)
