"""Seed 002, "Using multiple interrupts in a single node" -> "Extended example: incorrect
code that introduces non-determinism".

Resuming with `Command(resume=..., update=...)` changes the state the node branches on,
so the resume value meant for the "name" interrupt is matched (by index) to the "age"
interrupt. Ported unchanged apart from the import prefix.
"""

import uuid
from typing import TypedDict, Optional

from engine.graph import StateGraph
from engine.constants import START 
from engine.types import interrupt, Command
from engine.checkpoint.memory import InMemorySaver


class State(TypedDict):
    """The graph state."""

    age: Optional[str]
    name: Optional[str]


def human_node(state: State):
    if not state.get('name'):
        name = interrupt("what is your name?")
    else:
        name = "N/A"

    if not state.get('age'):
        age = interrupt("what is your age?")
    else:
        age = "N/A"
        
    print(f"Name: {name}. Age: {age}")
    
    return {
        "age": age,
        "name": name,
    }


builder = StateGraph(State)
builder.add_node("human_node", human_node)
builder.add_edge(START, "human_node")

# A checkpointer must be enabled for interrupts to work!
checkpointer = InMemorySaver()
graph = builder.compile(checkpointer=checkpointer)

config = {
    "configurable": {
        "thread_id": uuid.uuid4(),
    }
}

for chunk in graph.stream({"age": None, "name": None}, config):
    print(chunk)

for chunk in graph.stream(Command(resume="John", update={"name": "foo"}), config):
    print(chunk)
