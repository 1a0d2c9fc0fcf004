"""Seed 002, "Considerations" -> "Using with code with side-effects", tab "Side effects
in a separate node".

The seed's snippet is a fragment: `State`, `question`, `api_call` and the graph are not
defined, and `api_call(...)` has a placeholder argument. Completed minimally: `api_call`
prints its argument and is called with the answer from the state; the graph is
human_node -> api_call_node. The side effect runs once, after the resume.
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
    
    return {
        "answer": answer
    }

def api_call_node(state: State):
    api_call(state["answer"]) # OK as it's in a separate node  (seed: `api_call(...)`)


# --- completion: graph and runs ---
builder = StateGraph(State)
builder.add_node("human_node", human_node)
builder.add_node("api_call_node", api_call_node)
builder.add_edge(START, "human_node")
builder.add_edge("human_node", "api_call_node")
builder.add_edge("api_call_node", END)
graph = builder.compile(checkpointer=InMemorySaver())

config = {"configurable": {"thread_id": "1"}}
print(graph.invoke({"answer": ""}, config))
print(graph.invoke(Command(resume="Alice"), config))
