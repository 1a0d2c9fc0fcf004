"""Seed 002, "Common patterns" -> "Review and edit state" (the short snippet).

The seed's snippet is a fragment: `State`, `graph_builder`, `checkpointer`, the node
that produces `llm_generated_summary` and the first run up to the interrupt are elided
(`...`). They are filled in minimally here; the seed's `human_editing` node (including
its `...` placeholder line, a no-op) and its resume call are kept, and results printed.
"""

from typing import TypedDict

from engine.checkpoint.memory import InMemorySaver
from engine.constants import START, END
from engine.graph import StateGraph
from engine.types import interrupt, Command


# --- completion: state, graph builder, checkpointer and the summarising node ---
class State(TypedDict):
    llm_generated_summary: str


def summarize(state: State):
    return {"llm_generated_summary": "The original summary."}


graph_builder = StateGraph(State)
graph_builder.add_node("summarize", summarize)
checkpointer = InMemorySaver()
# --- end of completion ---


def human_editing(state: State):
    ...
    result = interrupt(
        # Interrupt information to surface to the client.
        # Can be any JSON serializable value.
        {
            "task": "Review the output from the LLM and make any necessary edits.",
            "llm_generated_summary": state["llm_generated_summary"]
        }
    )

    # Update the state with the edited text
    return {
        "llm_generated_summary": result["edited_text"] 
    }

# Add the node to the graph in an appropriate location
# and connect it to the relevant nodes.
graph_builder.add_node("human_editing", human_editing)
graph_builder.add_edge(START, "summarize")  # completion: the connections
graph_builder.add_edge("summarize", "human_editing")
graph_builder.add_edge("human_editing", END)
graph = graph_builder.compile(checkpointer=checkpointer)

thread_config = {"configurable": {"thread_id": "some_id"}}
print(graph.invoke({}, config=thread_config))  # completion: the run the seed elides with `...`

# After running the graph and hitting the interrupt, the graph will pause.
# Resume it with the edited text.
print(graph.invoke(
    Command(resume={"edited_text": "The edited text"}), 
    config=thread_config
))
