"""Seed 000's "Extended example: using `interrupt`", as it is deployed on an Agent Server:
compiled without a checkpointer (`inbox serve` runs it on its own store). Served by
`inbox serve --db agents.sqlite --config examples/serve/langgraph.json` as "agent"."""

from typing import TypedDict

from engine.constants import START
from engine.graph import StateGraph
from engine.types import interrupt


class State(TypedDict):
    some_text: str


def human_node(state: State):
    value = interrupt({"text_to_revise": state["some_text"]})
    return {"some_text": value}


graph_builder = StateGraph(State)
graph_builder.add_node("human_node", human_node)
graph_builder.add_edge(START, "human_node")

graph = graph_builder.compile()
