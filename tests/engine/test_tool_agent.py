"""add_human_in_the_loop and create_tool_agent end to end, with ScriptedModel, on each saver."""

import uuid

import pytest

from engine.errors import InvalidResumeError
from engine.prebuilt import (InvalidResponse, ScriptedModel, add_human_in_the_loop, create_tool_agent,
                             review_items, validate_response)
from engine.types import Command


def cfg():
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


def hotel_setup(saver, *, async_tool=False, **wrap_kwargs):
    booked = []

    if async_tool:
        async def book_hotel(hotel_name: str, nights: int = 1):
            """Book a hotel"""
            booked.append((hotel_name, nights))
            return f"Successfully booked {nights} night(s) at {hotel_name}."
    else:
        def book_hotel(hotel_name: str, nights: int = 1):
            """Book a hotel"""
            booked.append((hotel_name, nights))
            return f"Successfully booked {nights} night(s) at {hotel_name}."

    model = ScriptedModel([
        {"content": "", "tool_calls": [{"id": "call_1", "name": "book_hotel",
                                        "args": {"hotel_name": "McKittrick Hotel", "nights": 2}}]},
        lambda messages: f"Done: {messages[-1]['content']}",
    ])
    agent = create_tool_agent(model, [add_human_in_the_loop(book_hotel, **wrap_kwargs)], checkpointer=saver)
    return agent, booked, model


def start(agent):
    config = cfg()
    out = agent.invoke({"messages": [{"role": "user", "content": "book a stay at McKittrick hotel"}]}, config)
    return config, out


@pytest.mark.parametrize("async_tool", [False, True], ids=["sync-tool", "async-tool"])
def test_accept_runs_the_tool_with_the_original_args(saver, async_tool):
    agent, booked, _ = hotel_setup(saver, async_tool=async_tool)
    config, out = start(agent)
    [pending] = out["__interrupt__"]
    [request] = pending.value
    assert request["action_request"] == {"action": "book_hotel",
                                         "args": {"hotel_name": "McKittrick Hotel", "nights": 2}}
    assert request["config"] == {"allow_ignore": False, "allow_respond": True, "allow_edit": True,
                                 "allow_accept": True}
    assert request["args_schema"]["required"] == ["hotel_name"]
    assert booked == []
    final = agent.invoke(Command(resume=[{"type": "accept"}]), config)
    assert booked == [("McKittrick Hotel", 2)]
    tool_message = dict(final["messages"][-2])
    assert tool_message.pop("id")  # add_messages gives every message an id
    assert tool_message == {"role": "tool", "tool_call_id": "call_1", "name": "book_hotel",
                            "content": "Successfully booked 2 night(s) at McKittrick Hotel."}
    assert final["messages"][-1]["content"] == "Done: Successfully booked 2 night(s) at McKittrick Hotel."


def test_edit_runs_the_tool_with_the_edited_args_in_both_edit_shapes(saver):
    for answer in ({"type": "edit", "args": {"args": {"hotel_name": "The Plaza", "nights": 3}}},
                   {"type": "edit", "args": {"action": "book_hotel", "args": {"hotel_name": "The Plaza", "nights": 3}}}):
        agent, booked, _ = hotel_setup(saver)
        config, _ = start(agent)
        final = agent.invoke(Command(resume=[answer]), config)
        assert booked == [("The Plaza", 3)]
        assert final["messages"][-2]["content"] == "Successfully booked 3 night(s) at The Plaza."


def test_response_sends_the_text_back_and_the_tool_does_not_run(saver):
    agent, booked, model = hotel_setup(saver)
    config, _ = start(agent)
    final = agent.invoke(Command(resume=[{"type": "response", "args": "Too pricey, pick something cheaper"}]), config)
    assert booked == []
    assert final["messages"][-2]["content"] == "Too pricey, pick something cheaper"
    # The agent (the model) saw the reviewer's words as the tool result.
    assert model.calls[-1][-1]["content"] == "Too pricey, pick something cheaper"


def test_ignore_skips_the_tool_when_allowed(saver):
    agent, booked, _ = hotel_setup(saver, interrupt_config={"allow_ignore": True, "allow_accept": True})
    config, _ = start(agent)
    final = agent.invoke(Command(resume=[{"type": "ignore"}]), config)
    assert booked == [] and "ignored the call to book_hotel" in final["messages"][-2]["content"]


def test_a_disallowed_response_is_refused_and_nothing_runs(saver):
    agent, booked, _ = hotel_setup(saver, interrupt_config={"allow_accept": True})
    config, out = start(agent)
    with pytest.raises(InvalidResponse, match="type 'edit' is not allowed.*'accept'"):
        agent.invoke(Command(resume=[{"type": "edit", "args": {"args": {"hotel_name": "X"}}}]), config)
    assert booked == []
    # The thread is still waiting for a valid answer.
    assert agent.get_state(config).interrupts[0].id == out["__interrupt__"][0].id


def test_edited_args_that_break_the_schema_are_refused_before_resuming(saver):
    agent, booked, _ = hotel_setup(saver)
    config, out = start(agent)
    request = out["__interrupt__"][0].value
    with pytest.raises(InvalidResponse, match="nights"):
        validate_response(request, [{"type": "edit", "args": {"args": {"hotel_name": "X", "nights": "many"}}}])
    assert isinstance(InvalidResponse("x"), InvalidResumeError)
    assert booked == []


def test_a_description_can_be_written_from_the_call_arguments(saver):
    agent, _, _ = hotel_setup(saver, description=lambda hotel_name, nights: f"Book **{nights}** nights at {hotel_name}")
    _, out = start(agent)
    assert out["__interrupt__"][0].value[0]["description"] == "Book **2** nights at McKittrick Hotel"


def test_review_items_show_the_tool_request(saver):
    agent, _, _ = hotel_setup(saver, description="Check the **dates** first.")
    _, out = start(agent)
    [item] = review_items(out["__interrupt__"][0].value)
    assert item.kind == "human_interrupt" and item.action == "book_hotel"
    assert item.description == "Check the **dates** first."
    assert item.allowed == frozenset({"accept", "edit", "response"})


def test_two_reviewed_calls_at_once_are_two_interrupts_and_each_runs_once(saver):
    sent = []

    def send_email(to: str, body: str):
        sent.append((to, body))
        return f"sent to {to}"

    model = ScriptedModel([
        {"tool_calls": [{"id": "c1", "name": "send_email", "args": {"to": "a@x.io", "body": "hi"}},
                        {"id": "c2", "name": "send_email", "args": {"to": "b@x.io", "body": "yo"}}]},
        "All sent.",
    ])
    agent = create_tool_agent(model, [add_human_in_the_loop(send_email)], checkpointer=saver)
    config = cfg()
    out = agent.invoke({"messages": [{"role": "user", "content": "email both"}]}, config)
    first, second = out["__interrupt__"]
    out = agent.invoke(Command(resume={first.id: [{"type": "accept"}]}), config)
    assert sent == [("a@x.io", "hi")] and [i.id for i in out["__interrupt__"]] == [second.id]
    final = agent.invoke(Command(resume={second.id: [{"type": "accept"}]}), config)
    assert sent == [("a@x.io", "hi"), ("b@x.io", "yo")]
    assert final["messages"][-1]["content"] == "All sent."


def test_a_bare_human_interrupt_gets_a_bare_response():
    request = {"action_request": {"action": "deploy", "args": {}}, "config": {"allow_accept": True}}
    assert validate_response(request, {"type": "accept"}) == {"type": "accept", "args": None}
    assert validate_response([request], {"type": "accept"}) == [{"type": "accept", "args": None}]


def test_scripted_model_says_when_it_runs_out():
    model = ScriptedModel(["only answer"])
    assert model([{"role": "user", "content": "q"}])["content"] == "only answer"
    with pytest.raises(RuntimeError, match="ran out of replies.*final answer"):
        model([{"role": "user", "content": "q"}, {"role": "assistant", "content": "only answer"}])


def test_an_unknown_tool_name_goes_back_to_the_model(saver):
    model = ScriptedModel([{"tool_calls": [{"id": "c1", "name": "nope", "args": {}}]}, "ok"])
    agent = create_tool_agent(model, [], checkpointer=saver)
    out = agent.invoke({"messages": [{"role": "user", "content": "q"}]}, cfg())
    assert "no tool named 'nope'" in out["messages"][-2]["content"]
