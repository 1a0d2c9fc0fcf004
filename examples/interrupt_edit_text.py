"""Seed 002, "Pause using `interrupt`" -> "Extended example: using `interrupt`".

The same graph is shown in seed 000 ("Extended example: using `interrupt`"), where it is
run through the LangGraph API server; this is the seed 002 version, which runs locally
with an InMemorySaver. Ported unchanged apart from the import prefix.
"""

from typing import TypedDict
import uuid
from engine.checkpoint.memory import InMemorySaver
from engine.constants import START
from engine.graph import StateGraph

# highlight-next-line
from engine.types import interrupt, Command


class State(TypedDict):
    some_text: str


def human_node(state: State):
    # highlight-next-line
    value = interrupt(  # (1)!
        {
            "text_to_revise": state["some_text"]  # (2)!
        }
    )
    return {
        "some_text": value  # (3)!
    }


# Build the graph
graph_builder = StateGraph(State)
graph_builder.add_node("human_node", human_node)
graph_builder.add_edge(START, "human_node")
checkpointer = InMemorySaver()  # (4)!
graph = graph_builder.compile(checkpointer=checkpointer)
# Pass a thread ID to the graph to run it.
config = {"configurable": {"thread_id": uuid.uuid4()}}
# Run the graph until the interrupt is hit.
result = graph.invoke({"some_text": "original text"}, config=config)  # (5)!

print(result["__interrupt__"])  # (6)!
# > [Interrupt(value={'text_to_revise': 'original text'}, id='6d7c4048049254c83195429a3659661d')]

# highlight-next-line
print(graph.invoke(Command(resume="Edited text"), config=config))  # (7)!
# > {'some_text': 'Edited text'}
