"""Graphs the server tests serve (compiled without a checkpointer, as on LangGraph's server:
`inbox serve` gives them its store). Imported by the server subprocess via --graph."""

from __future__ import annotations

import operator
import os
import time
from typing import Annotated, TypedDict

from engine.constants import START
from engine.graph import StateGraph
from engine.types import interrupt


# --- the seeds' first example: text revision ------------------------------------------------
class TextState(TypedDict):
    some_text: str


def human_node(state: TextState):
    return {"some_text": interrupt({"text_to_revise": state["some_text"]})}


text = StateGraph(TextState).add_node("human_node", human_node).add_edge(START, "human_node").compile()


# --- an email agent with two HumanInterrupt reviews (the reference recordings' "agent") --------
class EmailState(TypedDict, total=False):
    email: str
    decision: list
    decision2: list
    log: Annotated[list, operator.add]
    delay: float


def draft(state: EmailState):
    return {"log": ["drafted"]}


def review(state: EmailState):
    decision = interrupt([{"action_request": {"action": "send_email",
                                              "args": {"to": "bob@example.com", "body": state["email"]}},
                           "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True,
                                      "allow_ignore": True},
                           "description": "Please review this email before it is sent."}])
    if state.get("delay"):
        time.sleep(state["delay"])
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


# --- static breakpoints (seed 004) -------------------------------------------------------------
def _append(tag: str):
    def node(state: TextState):
        return {"some_text": state["some_text"] + "|" + tag}
    node.__name__ = f"node_{tag}"
    return node


static = (StateGraph(TextState).add_node("node_a", _append("a")).add_node("node_b", _append("b"))
          .add_node("node_c", _append("c")).add_edge(START, "node_a").add_edge("node_a", "node_b")
          .add_edge("node_b", "node_c").compile())


# --- parallel interrupts, resumed by an id map --------------------------------------------------
class ParallelState(TypedDict, total=False):
    answers: Annotated[list, operator.add]


def ask(topic: str):
    def node(state: ParallelState):
        return {"answers": [f"{topic}={interrupt({'question': topic})}"]}
    node.__name__ = f"ask_{topic}"
    return node


parallel = (StateGraph(ParallelState).add_node("ask_a", ask("a")).add_node("ask_b", ask("b"))
            .add_edge(START, "ask_a").add_edge(START, "ask_b").compile())


# --- side effects, counted in a file (the kill -9 test) -----------------------------------------
class SlowState(TypedDict, total=False):
    path: str
    done: Annotated[list, operator.add]


def _effect(tag: str, pause: float = 0.0):
    def node(state: SlowState):
        with open(state["path"], "a") as out:
            out.write(tag + "\n")
        if pause:
            time.sleep(pause)
        return {"done": [tag]}
    node.__name__ = f"effect_{tag}"
    return node


slow = (StateGraph(SlowState).add_node("first", _effect("first")).add_node("wait", _effect("wait", 3.0))
        .add_node("last", _effect("last")).add_edge(START, "first").add_edge("first", "wait")
        .add_edge("wait", "last").compile())


# --- a graph that fails ---------------------------------------------------------------------------
def explode(state: TextState):
    raise RuntimeError(f"cannot revise {state['some_text']!r}")


failing = StateGraph(TextState).add_node("explode", explode).add_edge(START, "explode").compile()

GRAPHS = {"text": "text", "agent": "agent", "static": "static", "parallel": "parallel", "slow": "slow",
          "failing": "failing"}
__all__ = list(GRAPHS) + ["GRAPHS"]
_ = os
