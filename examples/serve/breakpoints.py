"""Seed 004's static-breakpoint graph (node_a -> node_b -> node_c), for run-time
`interrupt_before` / `interrupt_after` over HTTP. Served as "breakpoints"."""

import operator
from typing import Annotated, TypedDict

from engine.constants import START
from engine.graph import StateGraph


class State(TypedDict):
    visited: Annotated[list[str], operator.add]


def node_a(state: State):
    return {"visited": ["node_a"]}


def node_b(state: State):
    return {"visited": ["node_b"]}


def node_c(state: State):
    return {"visited": ["node_c"]}


graph = (StateGraph(State).add_node("node_a", node_a).add_node("node_b", node_b).add_node("node_c", node_c)
         .add_edge(START, "node_a").add_edge("node_a", "node_b").add_edge("node_b", "node_c").compile())
