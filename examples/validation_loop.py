"""Seed 003, "Validation Loop": re-prompt with interrupt() until the answer is valid.

The seed's snippet is a fragment: the node and the calls are shown, the state, imports
and graph are not. Completed minimally; the seed's calls are kept and what its comments
describe (`__interrupt__` of the first two calls, `final["age"]`) is printed.
"""

from typing import Optional, TypedDict

from engine.checkpoint.memory import InMemorySaver
from engine.graph import START, END, StateGraph
from engine.types import Command, interrupt


class State(TypedDict):  # completion
    age: Optional[int]


def get_age_node(state):
    prompt = "What is your age?"

    while True:
        answer = interrupt(prompt)

        # Validate the input
        if isinstance(answer, int) and answer > 0:
            break
        else:
            # Invalid input — ask again with a more specific prompt
            prompt = f"'{answer}' is not a valid age. Please enter a positive number."

    return {"age": answer}


# completion: the graph
graph = (
    StateGraph(State)
    .add_node("get_age", get_age_node)
    .add_edge(START, "get_age")
    .add_edge("get_age", END)
    .compile(checkpointer=InMemorySaver())
)

config = {"configurable": {"thread_id": "form-1"}}
first = graph.invoke({"age": None}, config)
print(first["__interrupt__"])
# __interrupt__: "What is your age?"
retry = graph.invoke(Command(resume="thirty"), config)
print(retry["__interrupt__"])
# __interrupt__: "'thirty' is not a valid age..."
final = graph.invoke(Command(resume=30), config)
print(final["age"]) # 30
