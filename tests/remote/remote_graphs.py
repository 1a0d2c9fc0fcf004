"""Graphs the remote tests serve, on `inbox serve` (the engine) and on LangGraph's own server
(`langgraph dev`): the same code, imported from `engine` or, with REMOTE_GRAPHS_RUNTIME=langgraph,
from `langgraph` (the port is the import prefix)."""

from __future__ import annotations

import operator
import os
import time
from typing import Annotated, TypedDict

if os.environ.get("REMOTE_GRAPHS_RUNTIME") == "langgraph":
    from langgraph.graph import START, StateGraph
    from langgraph.types import interrupt
else:
    from engine.constants import START
    from engine.graph import StateGraph
    from engine.types import interrupt


class EmailState(TypedDict, total=False):
    email: str
    delay: float
    decision: list
    decision2: list
    log: Annotated[list, operator.add]


def draft(state: EmailState):
    return {"log": ["drafted"]}


def review(state: EmailState):
    """An Agent Inbox HumanInterrupt list (the Agent Inbox web app's format)."""
    decision = interrupt([{"action_request": {"action": "send_email",
                                              "args": {"to": "bob@example.com", "body": state["email"]}},
                           "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True,
                                      "allow_ignore": True},
                           "description": "Please review this email before it is sent."}])
    if state.get("delay"):
        time.sleep(state["delay"])  # keeps the resumed run in flight: the race's window
    return {"decision": decision, "log": ["reviewed"]}


def second_review(state: EmailState):
    decision = interrupt([{"action_request": {"action": "confirm_send", "args": {"to": "bob@example.com"}},
                           "config": {"allow_accept": True, "allow_edit": False, "allow_respond": True,
                                      "allow_ignore": True},
                           "description": "Second confirmation."}])
    return {"decision2": decision, "log": ["confirmed"]}


agent = (StateGraph(EmailState).add_node("draft", draft).add_node("review", review)
         .add_node("second_review", second_review).add_edge(START, "draft").add_edge("draft", "review")
         .add_edge("review", "second_review").compile())


class PayState(TypedDict, total=False):
    amount: int
    decisions: dict


def approve_payment(state: PayState):
    """LangChain v1's request format: {action_requests, review_configs}."""
    answer = interrupt({"action_requests": [{"name": "transfer", "args": {"amount": state["amount"], "to": "acme"},
                                             "description": "Transfer money to a supplier."}],
                        "review_configs": [{"action_name": "transfer",
                                            "allowed_decisions": ["approve", "edit", "reject"]}]})
    return {"decisions": answer}


payments = StateGraph(PayState).add_node("approve_payment", approve_payment).add_edge(START, "approve_payment").compile()


class TitleState(TypedDict, total=False):
    title: str


def ask_title(state: TitleState):
    """A plain question: the answer is free text."""
    return {"title": interrupt("What should the report be called?")}


question = StateGraph(TitleState).add_node("ask_title", ask_title).add_edge(START, "ask_title").compile()


class PairState(TypedDict, total=False):
    left: str
    right: str


def ask_left(state: PairState):
    """Two branches of one superstep each pause: one thread waits on two interrupts."""
    return {"left": interrupt("Left or right? (left branch)")}


def ask_right(state: PairState):
    return {"right": interrupt("Left or right? (right branch)")}


pair = (StateGraph(PairState).add_node("ask_left", ask_left).add_node("ask_right", ask_right)
        .add_edge(START, "ask_left").add_edge(START, "ask_right").compile())
