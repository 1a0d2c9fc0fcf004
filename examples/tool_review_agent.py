"""Seed 002, "Add interrupts to any tool": gate a tool behind a human review in one line.

Ported to `engine.prebuilt`: the seed's `create_react_agent(model="anthropic:...")` becomes
`create_tool_agent(model, ...)` with a `ScriptedModel` standing in for the LLM (no network),
and the seed's hand-written `add_human_in_the_loop` wrapper is the engine's own. The agent is
run twice: once accepted, once edited (the seed's commented-out alternative).
"""

from engine.checkpoint.memory import InMemorySaver
from engine.prebuilt import ScriptedModel, add_human_in_the_loop, create_tool_agent
from engine.types import Command


def book_hotel(hotel_name: str):
    """Book a hotel"""
    return f"Successfully booked a stay at {hotel_name}."


def make_agent():
    # What an LLM would do: call the tool, then answer with what the tool said.
    model = ScriptedModel([
        {"content": "", "tool_calls": [{"id": "call_1", "name": "book_hotel",
                                        "args": {"hotel_name": "McKittrick hotel"}}]},
        lambda messages: messages[-1]["content"],
    ])
    return create_tool_agent(model, tools=[add_human_in_the_loop(book_hotel)], checkpointer=InMemorySaver())


for name, answer in (("accept", [{"type": "accept"}]),
                     ("edit", [{"type": "edit", "args": {"args": {"hotel_name": "McKittrick Hotel"}}}])):
    agent = make_agent()
    config = {"configurable": {"thread_id": name}}
    print(f"--- {name} ---")
    for chunk in agent.stream({"messages": [{"role": "user", "content": "book a stay at McKittrick hotel"}]}, config):
        if "__interrupt__" in chunk:
            [request] = chunk["__interrupt__"][0].value
            print("review requested:", request["action_request"])
        else:
            print(chunk)
    for chunk in agent.stream(Command(resume=answer), config):
        print(chunk)
