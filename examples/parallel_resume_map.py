"""Seed 002, "Resuming Multiple interrupts": two nodes run in parallel from START, each
calls interrupt(), and both are resumed at once with a map of interrupt id -> value.

Changes from the seed: `from langchain_core.runnables import RunnableConfig` is dropped
(LangChain is not a dependency) and with it the `config: RunnableConfig` annotation.
"""

from typing import TypedDict
import uuid
from engine.checkpoint.memory import InMemorySaver
from engine.constants import START
from engine.graph import StateGraph
from engine.types import interrupt, Command


class State(TypedDict):
    text_1: str
    text_2: str


def human_node_1(state: State):
    value = interrupt({"text_to_revise": state["text_1"]})
    return {"text_1": value}


def human_node_2(state: State):
    value = interrupt({"text_to_revise": state["text_2"]})
    return {"text_2": value}


graph_builder = StateGraph(State)
graph_builder.add_node("human_node_1", human_node_1)
graph_builder.add_node("human_node_2", human_node_2)

# Add both nodes in parallel from START
graph_builder.add_edge(START, "human_node_1")
graph_builder.add_edge(START, "human_node_2")

checkpointer = InMemorySaver()
graph = graph_builder.compile(checkpointer=checkpointer)

thread_id = str(uuid.uuid4())
config = {"configurable": {"thread_id": thread_id}}  # seed: `config: RunnableConfig = ...`
result = graph.invoke(
    {"text_1": "original text 1", "text_2": "original text 2"}, config=config
)

# Resume with mapping of interrupt IDs to values
resume_map = {
    i.id: f"edited text for {i.value['text_to_revise']}"
    for i in result["__interrupt__"]
}
print(graph.invoke(Command(resume=resume_map), config=config))
# > {'text_1': 'edited text for original text 1', 'text_2': 'edited text for original text 2'}
