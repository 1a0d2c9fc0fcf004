"""Seed 003, "Multiple Interrupts": two parallel branches interrupt, a list reducer
collects their answers, and both are resumed at once with a map of id -> value.

Complete in the seed except for output: what its comments describe is printed (the
values of the pending interrupts, sorted, and the final `vals`).
"""

from typing import Annotated, TypedDict
import operator
from engine.checkpoint.memory import InMemorySaver
from engine.graph import START, END, StateGraph
from engine.types import Command, interrupt


class State(TypedDict):
    vals: Annotated[list[str], operator.add]


def node_a(state):
    answer = interrupt("question_a")
    return {"vals": [f"a:{answer}"]}


def node_b(state):
    answer = interrupt("question_b")
    return {"vals": [f"b:{answer}"]}


graph = (
    StateGraph(State)
    .add_node("a", node_a)
    .add_node("b", node_b)
    .add_edge(START, "a")
    .add_edge(START, "b")
    .add_edge("a", END)
    .add_edge("b", END)
    .compile(checkpointer=InMemorySaver())
)

config = {"configurable": {"thread_id": "1"}}
# Both parallel nodes hit interrupt() and pause
result = graph.invoke({"vals": []}, config)
# result["__interrupt__"] contains both Interrupt objects with IDs
print(sorted(i.value for i in result["__interrupt__"]))  # added

# Resume all pending interrupts at once using a map of id -> value
resume_map = {
    i.id: f"answer for {i.value}"
    for i in result["__interrupt__"]
}
result = graph.invoke(Command(resume=resume_map), config)
# result["vals"] = ["a:answer for question_a", "b:answer for question_b"]
print(result["vals"])  # added
