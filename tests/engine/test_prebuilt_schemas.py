"""The human-in-the-loop shapes (engine.prebuilt.interrupt), the normalizer and answer
checks (engine.prebuilt.review) and the JSON Schema subset (engine.prebuilt.json_schema)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Literal, Optional

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from engine.errors import InvalidResumeError
from engine.review.interrupt import (
    HumanInterruptConfigModel,
    HumanInterruptModel,
    HumanResponseModel,
    allowed_types,
)
from engine.prebuilt import (
    ActionItem,
    HITLRequest,
    HITLResponse,
    HumanInterrupt,
    HumanInterruptConfig,
    HumanResponse,
    InvalidResponse,
    ReviewConfig,
    accept,
    approve,
    edit,
    edit_decision,
    ignore,
    reject,
    respond,
    respond_decision,
    review_items,
    schema_errors,
    validate_response,
)


def book_hotel(hotel_name: str, nights: int = Field(1, ge=1, le=30),
               room: Literal["single", "double"] = "single", note: Optional[str] = None):
    """Book a hotel"""
    return f"Successfully booked a stay at {hotel_name}."


BOOK_HOTEL_SCHEMA = TypeAdapter(book_hotel).json_schema()

ALL_ALLOWED = {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True}


def hotel_request(config=None, schema=None, description="Please review the tool call"):
    request = {
        "action_request": {"action": "book_hotel", "args": {"hotel_name": "McKittrick"}},
        "config": ALL_ALLOWED if config is None else config,
        "description": description,
    }
    if schema is not None:
        request["args_schema"] = schema
    return request


def hitl_request(*actions, allowed=("approve", "edit", "reject", "respond"), schema=None):
    names = actions or ("send_email",)
    return {
        "action_requests": [{"name": n, "args": {"to": "a@b.c"}, "description": f"Call {n}?"} for n in names],
        "review_configs": [{"action_name": n, "allowed_decisions": list(allowed), "args_schema": schema}
                           for n in names],
    }


def refused(value, response) -> str:
    with pytest.raises(InvalidResponse) as caught:
        validate_response(value, response)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, InvalidResumeError)
    return str(caught.value)


# ---- Models: plain dicts in, plain JSON out ---------------------------------------------


def test_human_interrupt_round_trips_plain_dicts_and_omits_unset_schema():
    request = hotel_request(config={"allow_accept": True})
    model = HumanInterruptModel.model_validate(request)
    dumped = model.model_dump(mode="json")
    assert "args_schema" not in dumped
    assert dumped["action_request"] == request["action_request"]
    assert dumped["config"] == {"allow_ignore": False, "allow_respond": False,
                                "allow_edit": False, "allow_accept": True}
    assert HumanInterruptModel.model_validate(dumped) == model
    json.dumps(dumped)


def test_human_interrupt_keeps_args_schema_when_given():
    dumped = HumanInterruptModel.model_validate(hotel_request(schema=BOOK_HOTEL_SCHEMA)).model_dump(mode="json")
    assert dumped["args_schema"] == BOOK_HOTEL_SCHEMA


def test_config_defaults_allow_nothing():
    assert HumanInterruptConfigModel().allowed_types() == frozenset()
    assert allowed_types({}) == frozenset()
    assert allowed_types(HumanInterruptConfig(**ALL_ALLOWED)) == {"accept", "edit", "response", "ignore"}


def test_human_response_args_must_fit_type():
    assert HumanResponseModel(type="response", args="no").model_dump() == {"type": "response", "args": "no"}
    assert HumanResponse(type="response", args="no") == {"type": "response", "args": "no"}  # a TypedDict
    with pytest.raises(ValidationError, match="To change the arguments, send type 'edit'"):
        HumanResponseModel.model_validate({"type": "accept", "args": {"action": "x", "args": {}}})
    with pytest.raises(ValidationError, match="reply text"):
        HumanResponseModel.model_validate({"type": "response"})
    with pytest.raises(ValidationError, match="edited call"):
        HumanResponseModel.model_validate({"type": "edit", "args": "text"})
    with pytest.raises(ValidationError):
        HumanResponseModel.model_validate({"type": "accept", "typo": 1})


def test_builders_dump_agent_inbox_json():
    assert accept() == {"type": "accept", "args": None}
    assert ignore() == {"type": "ignore", "args": None}
    assert respond("too pricey") == {"type": "response", "args": "too pricey"}
    assert edit("book_hotel", {"hotel_name": "X"}) == {
        "type": "edit", "args": {"action": "book_hotel", "args": {"hotel_name": "X"}}}
    assert approve() == {"type": "approve"}
    assert reject() == {"type": "reject", "message": None}
    assert reject("no") == {"type": "reject", "message": "no"}
    assert edit_decision("send_email", {"to": "x"}) == {
        "type": "edit", "edited_action": {"name": "send_email", "args": {"to": "x"}}}
    assert respond_decision("why?") == {"type": "respond", "message": "why?"}


def test_hitl_models_round_trip():
    request = HITLRequest.model_validate(hitl_request("a", "b"))
    assert [a.name for a in request.action_requests] == ["a", "b"]
    assert isinstance(request.action_requests[0], ActionItem)
    assert isinstance(request.review_configs[0], ReviewConfig)
    response = HITLResponse.model_validate({"decisions": [approve(), edit_decision("b", {}), reject("x"),
                                                          respond_decision("hm")]})
    assert HITLResponse.model_validate(response.model_dump(mode="json")) == response
    with pytest.raises(ValidationError):
        HITLResponse.model_validate({"decisions": [{"type": "accept"}]})


# ---- The Agent Inbox format, end to end as the seed's wrapper reads it -------------------


def seed_tool_wrapper(resume_value, tool_input):
    """The body of the seed's `call_tool_with_interrupt`, with `interrupt()` returning resume_value."""
    response = resume_value[0]
    if response["type"] == "accept":
        return book_hotel(**tool_input)
    elif response["type"] == "edit":
        return book_hotel(**response["args"]["args"])
    elif response["type"] == "response":
        return response["args"]
    raise ValueError(f"Unsupported interrupt response type: {response['type']}")


@pytest.mark.parametrize("answer, expected", [
    ([{"type": "accept"}], "Successfully booked a stay at McKittrick."),
    ({"type": "accept"}, "Successfully booked a stay at McKittrick."),
    ([{"type": "edit", "args": {"args": {"hotel_name": "McKittrick Hotel"}}}],
     "Successfully booked a stay at McKittrick Hotel."),
    ([edit("book_hotel", {"hotel_name": "Plaza"})], "Successfully booked a stay at Plaza."),
    ([respond("Book the Plaza instead")], "Book the Plaza instead"),
    ([HumanResponse(type="accept")], "Successfully booked a stay at McKittrick."),
])
def test_agent_inbox_answers_run_the_seed_wrapper_unchanged(answer, expected):
    request = hotel_request(schema=BOOK_HOTEL_SCHEMA)
    resume = validate_response([request], answer)
    assert json.loads(json.dumps(resume)) == resume
    assert isinstance(resume, list) and len(resume) == 1
    assert seed_tool_wrapper(resume, request["action_request"]["args"]) == expected


def test_ignore_is_allowed_when_configured():
    assert validate_response([hotel_request()], [ignore()]) == [{"type": "ignore", "args": None}]


def test_several_human_interrupts_answered_in_order():
    first, second = hotel_request(), hotel_request(config={"allow_respond": True})
    resume = validate_response([first, second], [accept(), respond("no")])
    assert [r["type"] for r in resume] == ["accept", "response"]


# ---- Refusals in the Agent Inbox format ----------------------------------------------------


def test_refuses_type_the_config_disallows_and_names_allowed_ones():
    message = refused([hotel_request(config={"allow_accept": True, "allow_respond": True})], [edit("book_hotel", {})])
    assert "'edit' is not allowed" in message
    assert "allowed types: 'accept', 'response'" in message
    assert "allow_edit=False" in message


def test_refuses_unknown_type_and_suggests_this_formats_name():
    message = refused([hotel_request()], [{"type": "approve"}])
    assert "allowed types: 'accept', 'edit', 'response', 'ignore'" in message
    assert "did you mean 'accept'" in message
    assert "not allowed" in refused([hotel_request()], [{"args": None}])


def test_refuses_when_config_allows_nothing():
    message = refused([hotel_request(config={})], [accept()])
    assert "allows none" in message and "fix the program's config" in message


def test_refuses_wrong_number_of_responses():
    message = refused([hotel_request(), hotel_request()], [accept()])
    assert "expected 2 response(s)" in message and "got 1" in message
    assert "one per request" in message
    message = refused([hotel_request(), hotel_request()], accept())
    assert "send a list of 2 responses" in message
    assert "got 0" in refused([hotel_request()], [])


def test_refuses_non_list_non_dict_answers():
    assert "expected a list of 1 response(s)" in refused([hotel_request()], "accept")
    assert "expected a response dict" in refused([hotel_request()], ["accept"])


def test_refuses_malformed_response_fields_with_fix():
    assert "reply text" in refused([hotel_request()], [{"type": "response", "args": 5}])
    assert "send type 'edit'" in refused([hotel_request()], [{"type": "accept", "args": "x"}])
    assert "unexpected key 'note'; remove it" in refused([hotel_request()], [{"type": "accept", "args": None, "note": "x"}])
    assert "args.args must be an object" in refused([hotel_request()], [{"type": "edit", "args": {"action": "book_hotel"}}])
    assert "got null" in refused([hotel_request()], [{"type": "edit"}])


def test_refuses_edit_naming_another_action():
    message = refused([hotel_request()], [edit("cancel_hotel", {"hotel_name": "X"})])
    assert "'cancel_hotel'" in message and "keep the action name" in message


def test_refuses_edit_whose_args_break_the_schema_and_names_the_rule():
    request = hotel_request(schema=BOOK_HOTEL_SCHEMA)
    message = refused([request], [edit("book_hotel", {"hotel_name": "X", "nights": 0})])
    assert "args.nights: must be >= 1 (minimum); got 0" in message
    assert "Fix these values" in message
    message = refused([request], [edit("book_hotel", {"nights": "3"})])
    assert "missing required property 'hotel_name'" in message
    assert "args.nights: expected integer, got string '3'" in message
    message = refused([request], [edit("book_hotel", {"hotel_name": "X", "hotel": "Y"})])
    assert "unexpected property 'hotel' (additionalProperties); allowed: hotel_name, nights, room, note" in message
    message = refused([request], [edit("book_hotel", {"hotel_name": "X", "room": "suite"})])
    assert "args.room: must be one of 'single', 'double' (enum); got 'suite'" in message
    message = refused([request], [edit("book_hotel", {"hotel_name": "X", "note": 7})])
    assert "args.note: expected string or null, got integer 7" in message


def test_edit_without_schema_is_not_checked():
    assert validate_response([hotel_request()], [edit("book_hotel", {"anything": [1, 2]})])


# ---- The multi-action format -------------------------------------------------------------


@pytest.mark.parametrize("decision", [
    approve(), reject(), reject("not now"), respond_decision("which account?"),
    edit_decision("send_email", {"to": "x@y.z"}),
])
def test_every_decision_type_is_accepted(decision):
    resume = validate_response(hitl_request(), {"decisions": [decision]})
    assert resume == {"decisions": [decision]}


def test_decision_shorthands_are_wrapped():
    value = hitl_request()
    assert validate_response(value, approve()) == {"decisions": [approve()]}
    assert validate_response(value, [approve()]) == {"decisions": [approve()]}
    assert validate_response(value, HITLResponse(decisions=[approve()])) == {"decisions": [approve()]}
    assert validate_response(HITLRequest.model_validate(value), [approve()]) == {"decisions": [approve()]}


def test_several_actions_decided_in_order():
    resume = validate_response(hitl_request("a", "b", "c"), [approve(), reject("no"), edit_decision("c", {})])
    assert [d["type"] for d in resume["decisions"]] == ["approve", "reject", "edit"]


def test_refuses_wrong_decision_count():
    message = refused(hitl_request("a", "b"), {"decisions": [approve()]})
    assert "expected 2 decision(s)" in message and "'a', 'b'" in message and "got 1" in message
    assert "send {'decisions': [...]} with 2 decisions" in refused(hitl_request("a", "b"), approve())


def test_refuses_decision_not_in_allowed_decisions():
    message = refused(hitl_request(allowed=("approve", "reject")), [edit_decision("send_email", {})])
    assert "decision 'edit' is not allowed; allowed decisions: 'approve', 'reject'" in message
    assert "did you mean 'approve'" in refused(hitl_request(), [{"type": "accept"}])
    assert "allows none" in refused(hitl_request(allowed=()), [approve()])


def test_refuses_malformed_decisions():
    message = refused(hitl_request("a", "b"), [{"type": "respond"}, approve()])
    assert message.startswith("decision 1 of 2 ('a'): message: Field required")
    assert "expected e.g. {'type': 'respond', 'message': 'your reply'}" in message
    message = refused(hitl_request(), [{"type": "edit", "edited_action": {"name": "send_email"}}])
    assert "edited_action.args: Field required" in message and "'name': 'send_email'" in message
    assert "unexpected key 'why'" in refused(hitl_request(), [{"type": "approve", "why": 1}])
    assert "expected a decision dict" in refused(hitl_request(), ["approve"])
    assert "unexpected key(s) extra" in refused(hitl_request(), {"decisions": [approve()], "extra": 1})
    assert "expected {'decisions': [...]}" in refused(hitl_request(), "approve")
    assert "expected {'decisions': [...]}" in refused(hitl_request(), {"decisions": "approve"})


def test_refuses_edit_of_another_action_and_args_breaking_schema():
    assert "keep the action name" in refused(hitl_request(), [edit_decision("delete_all", {})])
    value = hitl_request("book_hotel", schema=BOOK_HOTEL_SCHEMA)
    message = refused(value, [edit_decision("book_hotel", {"hotel_name": "X", "nights": 99})])
    assert "args.nights: must be <= 30 (maximum); got 99" in message


# ---- Questions: anything else ------------------------------------------------------------


@pytest.mark.parametrize("answer", ["yes", 42, 3.5, True, [1, "two"], {"age": 7}, {"type": "accept"}])
def test_question_accepts_any_json(answer):
    assert validate_response("What is your age?", answer) == answer


def test_question_refuses_null_and_non_json():
    assert "Command(resume=None)" in refused("What is your age?", None)
    assert "plain JSON" in refused("Q?", {1, 2})
    assert "plain JSON" in refused("Q?", float("nan"))


# ---- The normalizer ----------------------------------------------------------------------


def test_items_for_a_single_human_interrupt_and_a_list():
    request = hotel_request(config={"allow_accept": True, "allow_respond": True}, schema=BOOK_HOTEL_SCHEMA)
    for value in (request, [request], HumanInterruptModel.model_validate(request),
                  [HumanInterruptModel.model_validate(request)]):
        [item] = review_items(value)
        assert item.kind == "human_interrupt" and item.index == 0 and item.count == 1
        assert item.action == "book_hotel" and item.args == {"hotel_name": "McKittrick"}
        assert item.description == "Please review the tool call"
        assert item.allowed == {"accept", "response"}
        assert item.args_schema == BOOK_HOTEL_SCHEMA and item.problem is None
    items = review_items([request, hotel_request(description=None)])
    assert [(i.index, i.count) for i in items] == [(0, 2), (1, 2)]
    assert items[1].raw["description"] is None and items[1].description is None


def test_items_for_a_hitl_request_are_grouped():
    items = review_items(hitl_request("a", "b"))
    assert [(i.kind, i.action, i.index, i.count) for i in items] == [("hitl", "a", 0, 2), ("hitl", "b", 1, 2)]
    assert items[0].allowed == {"approve", "edit", "reject", "respond"}
    assert items[0].description == "Call a?" and items[0].raw["name"] == "a"


def test_hitl_configs_found_by_action_name():
    value = {"action_requests": [{"name": "b", "args": {}}, {"name": "a", "args": {}}],
             "review_configs": [{"action_name": "a", "allowed_decisions": ["approve"]},
                                {"action_name": "b", "allowed_decisions": ["reject"]}]}
    assert [i.allowed for i in review_items(value)] == [{"reject"}, {"approve"}]
    value["review_configs"].pop()
    [item] = review_items(value)
    assert item.kind == "question" and "add one to review_configs" in item.problem


def test_config_allowing_nothing_is_flagged():
    [item] = review_items(hotel_request(config={}))
    assert item.kind == "human_interrupt" and item.allowed == frozenset()
    assert "fix the program's HumanInterruptConfig" in item.problem
    [item] = review_items(hitl_request(allowed=()))
    assert "allowed_decisions is empty" in item.problem


@pytest.mark.parametrize("value", [
    None, 0, -1.5, True, "", "What is your age?", [], [[]], {}, {"question": "Approve?", "llm_output": "x"},
    [1, "two", None], {"a": {"b": {"c": [{"d": None}]}}}, [{"weird": object()}], {"config": object()},
])
def test_anything_else_is_a_question(value):
    [item] = review_items(value)
    assert item.kind == "question" and item.allowed == {"response"}
    assert item.raw is value and item.action is None and item.args is None
    assert item.description == (value if isinstance(value, str) else None)


@pytest.mark.parametrize("value, fragment", [
    ({"action_request": {"action": "x", "args": {}}}, "config: Field required"),
    ({"action_request": {"action": "x"}, "config": {}}, "action_request.args: Field required"),
    ({"action_request": {"action": 5, "args": {}}, "config": {}}, "action_request.action"),
    ({"action_request": "book_hotel", "config": {"allow_accept": True}}, "action_request"),
    ({"action_request": {"action": "x", "args": {}}, "config": {"allow_edit": "sometimes"}}, "allow_edit"),
    ({"action_request": {"action": "x", "args": {}}, "config": None}, "config"),
    ([{"action_request": {"action": "x", "args": {}}, "config": {}}, "stray"], "item 1"),
    ({"action_requests": [], "review_configs": []}, "action_requests"),
    ({"action_requests": [{"name": "a", "args": {}}]}, "review_configs: Field required"),
    ({"action_requests": [{"name": "a", "args": {}}],
      "review_configs": [{"action_name": "a", "allowed_decisions": ["accept"]}]}, "allowed_decisions"),
])
def test_half_formed_requests_are_questions_with_the_reason(value, fragment):
    [item] = review_items(value)
    assert item.kind == "question" and item.raw is value
    assert "shown raw" in item.problem and fragment in item.problem
    # And answering it is validated as a question, not as the format it resembles.
    assert validate_response(value, "free text") == "free text"


def test_huge_args_are_normalized_without_echoing_them():
    huge = {f"k{i}": "x" * 1000 for i in range(2000)}
    [item] = review_items({"action_request": {"action": "bulk", "args": huge}, "config": {"allow_accept": True}})
    assert item.args == huge and item.kind == "human_interrupt"
    [item] = review_items({"action_request": {"action": "bulk", "args": huge}, "config": "bad" * 100000})
    assert item.kind == "question" and len(item.problem) < 500


def test_extra_request_keys_are_tolerated():
    value = {**hotel_request(), "ui_hint": {"color": "red"}}
    [item] = review_items(value)
    assert item.kind == "human_interrupt" and item.raw is value


# ---- JSON Schema subset --------------------------------------------------------------------


class Address(BaseModel):
    city: str = Field(min_length=2, max_length=20)
    zip: Optional[int] = Field(None, ge=0)


def send_parcel(to: Address, weights: list[float] = Field(default_factory=list, max_length=3),
                express: bool = False, tags: Optional[list[str]] = None):
    pass


PARCEL_SCHEMA = TypeAdapter(send_parcel).json_schema()


def test_schema_from_function_signature_accepts_valid_args():
    assert schema_errors({"to": {"city": "Oslo"}}, PARCEL_SCHEMA) == []
    assert schema_errors({"to": {"city": "Oslo", "zip": 150}, "weights": [1, 2.5], "express": True,
                          "tags": None}, PARCEL_SCHEMA) == []


@pytest.mark.parametrize("args, expected", [
    ({"to": {"city": "O"}}, "args.to.city: must be at least 2 characters (minLength); got 1"),
    ({"to": {"city": "O" * 21}}, "args.to.city: must be at most 20 characters (maxLength); got 21"),
    ({"to": {"city": "Oslo", "zip": -1}}, "args.to.zip: must be >= 0 (minimum); got -1"),
    ({"to": {}}, "args.to: missing required property 'city' (required)"),
    ({"to": "Oslo"}, "args.to: expected object, got string 'Oslo'"),
    ({"to": {"city": "Oslo"}, "weights": [1, "2"]}, "args.weights[1]: expected number, got string '2'"),
    ({"to": {"city": "Oslo"}, "weights": [1, 2, 3, 4]}, "args.weights: must have at most 3 items (maxItems); got 4"),
    ({"to": {"city": "Oslo"}, "express": 1}, "args.express: expected boolean, got integer 1"),
    ({"to": {"city": "Oslo"}, "tags": [1]}, "args.tags[0]: expected string, got integer 1"),
    ({"to": {"city": "Oslo"}, "speed": 9}, "args: unexpected property 'speed' (additionalProperties)"),
])
def test_schema_from_function_signature_names_the_broken_rule(args, expected):
    errors = schema_errors(args, PARCEL_SCHEMA)
    assert any(expected in error for error in errors), errors


def test_schema_from_create_model():
    Model = create_model("Transfer", amount=(float, Field(gt=0, le=1000)), currency=(Literal["EUR", "USD"], ...))
    schema = Model.model_json_schema()
    assert schema_errors({"amount": 10, "currency": "EUR"}, schema) == []
    assert schema_errors({"amount": 0, "currency": "EUR"}, schema) == ["args.amount: must be > 0 (exclusiveMinimum); got 0"]
    assert schema_errors({"amount": True, "currency": "GBP"}, schema) == [
        "args.amount: expected number, got boolean True",
        "args.currency: must be one of 'EUR', 'USD' (enum); got 'GBP'"]


def test_schema_corner_cases():
    assert schema_errors(3.0, {"type": "integer"}) == []
    assert schema_errors(1, {"enum": [True]}) != []
    assert schema_errors("x", {"const": "x"}) == []
    assert schema_errors({"a": 1}, {"additionalProperties": {"type": "string"}}) == [
        "args.a: expected string, got integer 1"]
    assert schema_errors(1, {"allOf": [{"type": "integer"}, {"maximum": 0}]}) == [
        "args: must be <= 0 (maximum); got 1"]
    assert schema_errors(1, False) == ["args: no value is allowed here"]
    assert schema_errors(1, {"type": ["string", "null"]}) == ["args: expected string or null, got integer 1"]
    # Unknown keywords, unresolvable refs and garbage schemas constrain nothing.
    assert schema_errors(1, {"format": "email", "$ref": "#/nowhere"}) == []
    assert schema_errors(1, {"type": {"weird": 1}, "required": [[1]], "enum": None}) == []
    tree = {"$defs": {"Node": {"type": "object", "properties": {"kids": {"type": "array",
                                                                          "items": {"$ref": "#/$defs/Node"}}}}},
            "$ref": "#/$defs/Node"}
    deep = current = {}
    for _ in range(5000):
        current["kids"] = [{}]
        current = current["kids"][0]
    assert schema_errors(deep, tree) == ["args: nested too deeply to check; flatten the value"]


def test_engine_prebuilt_imports_no_tui():
    code = "import sys, engine.prebuilt; print(sorted(m for m in ('textual', 'rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
