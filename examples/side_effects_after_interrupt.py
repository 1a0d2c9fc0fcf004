"""Seed 002, "Considerations" -> "Using with code with side-effects", tab "Side effects
after interrupt".

The seed's snippet is a fragment: `State`, `question`, `api_call` and the graph are not
defined. Completed minimally: `api_call` prints its argument, so the output shows that a
side effect placed after `interrupt()` runs once, on resume only. The node is kept as in
the seed (it returns nothing).
"""

from typing import TypedDict

from engine.checkpoint.memory import InMemorySaver
from engine.constants import START, END
from engine.graph import StateGraph
from engine.types import interrupt, Command


# --- completion ---
class State(TypedDict):
    answer: str


question = "What is your name?"


def api_call(answer):
    print(f"api_call({answer!r})")
# --- end of completion ---


def human_node(state: State):
    """Human node with validation."""
    
    answer = interrupt(question)
    
    api_call(answer) # OK as it's after the interrupt


# --- completion: graph and runs ---
builder = StateGraph(State)
builder.add_node("human_node", human_node)
builder.add_edge(START, "human_node")
builder.add_edge("human_node", END)
graph = builder.compile(checkpointer=InMemorySaver())

config = {"configurable": {"thread_id": "1"}}
print(graph.invoke({"answer": ""}, config))
print(graph.invoke(Command(resume="Alice"), config))
