"""Seed 001, "Get Interrupt Status".

The seed's snippet is a fragment: it inspects `app.get_state(config)` of a paused run.
Completed with the graph of seed 001's "Basic Interrupt" (see review_draft.py), run up
to its interrupt; the seed's status check is kept as it is. After resuming, the
thread's `next` is printed to show that nothing is pending any more.
"""

from typing import TypedDict

from engine.constants import START, END
from engine.graph import StateGraph
from engine.types import interrupt, Command
from engine.checkpoint.memory import MemorySaver


# --- completion: a paused run (the graph of seed 001's "Basic Interrupt") ---
class State(TypedDict):
    draft: str
    status: str


def human_review(state: State):
    approval = interrupt({"message": "Review this draft", "draft": state["draft"]})
    if approval["approved"]:
        return {"status": "approved"}
    else:
        return {"status": "rejected"}


builder = StateGraph(State)
builder.add_node("human_review", human_review)
builder.add_edge(START, "human_review")
builder.add_edge("human_review", END)
app = builder.compile(checkpointer=MemorySaver())
config = {"configurable": {"thread_id": "1"}}
app.invoke({"draft": "Hi team, the launch moves to Friday."}, config)
# --- end of completion ---

state = app.get_state(config)
if state.next:  # Has next nodes to execute
    print("Execution paused")
    print(f"Next nodes: {state.next}")

# Check for interrupts
for task in state.tasks:
    if task.interrupts:
        print(f"Interrupt data: {task.interrupts}")

# completion: once resumed, nothing is pending
app.invoke(Command(resume={"approved": False}), config)
print(app.get_state(config).next)
