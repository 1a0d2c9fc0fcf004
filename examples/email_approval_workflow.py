"""Seed 003, "Approval Workflow": interrupt to show a draft reply, then route on the
human's decision (send the possibly edited reply, or end).

The seed's snippet is a fragment: only the state and the `human_review` node are shown.
Completed minimally with the imports, a `send_reply` node that prints the reply, the
graph, and two threads: one approved with an edited response, one rejected. The node's
return annotation `Literal["send_reply", "end"]` is changed to `"__end__"` (the value of
END): LangGraph reads it as the node's destinations and refuses the unknown node "end".
"""

from typing import Literal, TypedDict

from engine.checkpoint.memory import InMemorySaver
from engine.graph import START, END, StateGraph
from engine.types import Command, interrupt


class EmailAgentState(TypedDict):
    email_content: str
    draft_response: str
    classification: dict


# seed: Command[Literal["send_reply", "end"]] -- LangGraph reads this annotation as the
# node's possible destinations and rejects "end" at compile ("Found edge ending at
# unknown node `end`"); END is spelled "__end__".
def human_review(state: EmailAgentState) -> Command[Literal["send_reply", "__end__"]]:
    """Pause for human review using interrupt and route based on decision."""
    classification = state.get("classification", {})

    # interrupt() must come first — any code before it will re-run on resume
    human_decision = interrupt({
        "email_id": state.get("email_content", ""),
        "draft_response": state.get("draft_response", ""),
        "urgency": classification.get("urgency"),
        "action": "Please review and approve/edit this response"
    })

    # Process the human's decision
    if human_decision.get("approved"):
        return Command(
            update={"draft_response": human_decision.get("edited_response", state.get("draft_response", ""))},
            goto="send_reply"
        )
    else:
        # Rejection — human will handle directly
        return Command(update={}, goto=END)


# --- completion: the send step, the graph and two runs ---
def send_reply(state: EmailAgentState):
    print(f"Sending reply: {state['draft_response']}")
    return {}


graph = (
    StateGraph(EmailAgentState)
    .add_node("human_review", human_review)
    .add_node("send_reply", send_reply)
    .add_edge(START, "human_review")
    .add_edge("send_reply", END)
    .compile(checkpointer=InMemorySaver())
)

email = {
    "email_content": "Can you reset my password?",
    "draft_response": "Sure, done.",
    "classification": {"urgency": "high"},
}

config = {"configurable": {"thread_id": "email-approved"}}
result = graph.invoke(email, config)
print(result["__interrupt__"])
result = graph.invoke(
    Command(resume={"approved": True, "edited_response": "Your password has been reset."}), config
)
print(result)

config = {"configurable": {"thread_id": "email-rejected"}}
result = graph.invoke(email, config)
print(result["__interrupt__"])
result = graph.invoke(Command(resume={"approved": False}), config)
print(result)
