"""Seed 002, "Debug with interrupts" -> "Setting static breakpoints".

A three-step graph compiled with `interrupt_before=["step_3"]`, streamed in "values"
mode up to the breakpoint and then resumed with `None`.

Changes from the seed:
- the IPython `display(Image(graph.get_graph().draw_mermaid_png()))` line and its import
  are dropped (no notebook, no rendering);
- `print(graph.get_state(config))` uses `thread`: `config` is undefined in the seed;
- instead of the whole `StateSnapshot` (whose repr holds timestamps and checkpoint ids)
  its `.next` and `.values` are printed, so the output is deterministic.
"""

from typing_extensions import TypedDict

from engine.checkpoint.memory import InMemorySaver 
from engine.graph import StateGraph, START, END


class State(TypedDict):
    input: str


def step_1(state):
    print("---Step 1---")
    pass


def step_2(state):
    print("---Step 2---")
    pass


def step_3(state):
    print("---Step 3---")
    pass


builder = StateGraph(State)
builder.add_node("step_1", step_1)
builder.add_node("step_2", step_2)
builder.add_node("step_3", step_3)
builder.add_edge(START, "step_1")
builder.add_edge("step_1", "step_2")
builder.add_edge("step_2", "step_3")
builder.add_edge("step_3", END)

# Set up a checkpointer 
checkpointer = InMemorySaver() # (1)!

graph = builder.compile(
    checkpointer=checkpointer, # (2)!
    interrupt_before=["step_3"] # (3)!
)


# Input
initial_input = {"input": "hello world"}

# Thread
thread = {"configurable": {"thread_id": "1"}}

# Run the graph until the first interruption
for event in graph.stream(initial_input, thread, stream_mode="values"):
    print(event)
    
# This will run until the breakpoint
# You can get the state of the graph at this point
# seed: print(graph.get_state(config)) -- `config` is undefined there, and the full
# snapshot repr is not deterministic, so print its `next` and `values`.
print(graph.get_state(thread).next)
print(graph.get_state(thread).values)

# You can continue the graph execution by passing in `None` for the input
for event in graph.stream(None, thread, stream_mode="values"):
    print(event)
