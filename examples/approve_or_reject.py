"""Seed 002, "Common patterns" -> "Approve or reject" (the short snippet).

The seed's snippet is a fragment: `State`, `graph_builder`, `checkpointer`, the nodes
`some_node` / `another_node` and the first run up to the interrupt are not shown. They
are filled in minimally here (a node producing `llm_output`, two end nodes that record
which way the graph went, and a first `invoke` that stops at the interrupt). The seed's
`human_approval` node and its calls are kept as they are; the results are printed.
"""

from typing import Literal, TypedDict

from engine.checkpoint.memory import InMemorySaver
from engine.constants import START, END
from engine.graph import StateGraph
from engine.types import interrupt, Command


# --- completion: state, graph builder, checkpointer and the surrounding nodes ---
class State(TypedDict):
    llm_output: str
    decision: str


def generate_llm_output(state: State):
    return {"llm_output": "Paris is the capital of France."}


def some_node(state: State):
    return {"decision": "approved: ran some_node"}


def another_node(state: State):
    return {"decision": "rejected: ran another_node"}


graph_builder = StateGraph(State)
graph_builder.add_node("generate_llm_output", generate_llm_output)
graph_builder.add_node("some_node", some_node)
graph_builder.add_node("another_node", another_node)
checkpointer = InMemorySaver()
# --- end of completion ---


def human_approval(state: State) -> Command[Literal["some_node", "another_node"]]:
    is_approved = interrupt(
        {
            "question": "Is this correct?",
            # Surface the output that should be
            # reviewed and approved by the human.
            "llm_output": state["llm_output"]
        }
    )

    if is_approved:
        return Command(goto="some_node")
    else:
        return Command(goto="another_node")

# Add the node to the graph in an appropriate location
# and connect it to the relevant nodes.
graph_builder.add_node("human_approval", human_approval)
graph_builder.add_edge(START, "generate_llm_output")  # completion: the connections
graph_builder.add_edge("generate_llm_output", "human_approval")
graph_builder.add_edge("some_node", END)
graph_builder.add_edge("another_node", END)
graph = graph_builder.compile(checkpointer=checkpointer)

# After running the graph and hitting the interrupt, the graph will pause.
thread_config = {"configurable": {"thread_id": "some_id"}}
print(graph.invoke({}, config=thread_config))  # completion: the run up to the interrupt

# Resume it with either an approval or rejection.
print(graph.invoke(Command(resume=True), config=thread_config))
