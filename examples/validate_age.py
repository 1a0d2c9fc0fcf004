"""Seed 002, "Common patterns" -> "Validate human input" (the short snippet).

The seed's snippet is a fragment: only the `human_node` is shown. `State`, the graph and
the runs are filled in minimally; the node is kept as it is (including the seed's stray
quote in "'{answer} is not a valid age..."). The human answers a string first, which
fails the `isinstance(answer, int)` check, then a valid int. Results are printed.
"""

from typing import TypedDict

from engine.checkpoint.memory import InMemorySaver
from engine.constants import START, END
from engine.graph import StateGraph
from engine.types import interrupt, Command


class State(TypedDict):  # completion
    age: int


def human_node(state: State):
    """Human node with validation."""
    question = "What is your age?"

    while True:
        answer = interrupt(question)

        # Validate answer, if the answer isn't valid ask for input again.
        if not isinstance(answer, int) or answer < 0:
            question = f"'{answer} is not a valid age. What is your age?"
            answer = None
            continue
        else:
            # If the answer is valid, we can proceed.
            break
            
    print(f"The human in the loop is {answer} years old.")
    return {
        "age": answer
    }


# --- completion: graph and runs ---
builder = StateGraph(State)
builder.add_node("human_node", human_node)
builder.add_edge(START, "human_node")
builder.add_edge("human_node", END)
graph = builder.compile(checkpointer=InMemorySaver())

thread_config = {"configurable": {"thread_id": "1"}}
print(graph.invoke({}, thread_config))
print(graph.invoke(Command(resume="twenty-five"), thread_config))
print(graph.invoke(Command(resume=-1), thread_config))
print(graph.invoke(Command(resume=25), thread_config))
