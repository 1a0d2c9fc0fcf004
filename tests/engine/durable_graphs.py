"""Graphs the durability tests run in separate processes. A tool's side effect is a line
appended to a file, so it can be counted across processes."""

from __future__ import annotations

import os
import sys
import time
from typing import TypedDict

from engine.graph import END, START, StateGraph
from engine.types import interrupt


class State(TypedDict):
    amount: int
    status: str


def payment_graph(checkpointer, effects_path: str):
    def review(state):
        answer = interrupt([{"action_request": {"action": "pay", "args": {"amount": state["amount"]}},
                             "config": {"allow_accept": True, "allow_respond": True},
                             "description": "Pay?"}])[0]
        return {"status": answer["type"]}

    def pay(state):
        if state["status"] == "accept":
            with open(effects_path, "a") as out:
                out.write(f"{os.getpid()} paid {state['amount']}\n")
        return {"status": "paid" if state["status"] == "accept" else "declined"}

    return (StateGraph(State).add_node("review", review).add_node("pay", pay)
            .add_edge(START, "review").add_edge("review", "pay").add_edge("pay", END)
            .compile(checkpointer=checkpointer, name="payments"))


def slow_graph(checkpointer, marker_path: str):
    """`prepare` finishes, then `hang` signals it started and sleeps (to be killed)."""

    def prepare(state):
        return {"status": "prepared"}

    def hang(state):
        with open(marker_path, "w") as out:
            out.write("started")
        time.sleep(60)
        return {"status": "never"}

    return (StateGraph(State).add_node("prepare", prepare).add_node("hang", hang)
            .add_edge(START, "prepare").add_edge("prepare", "hang")
            .compile(checkpointer=checkpointer, name="slow"))


if __name__ == "__main__":  # python durable_graphs.py DB EFFECTS THREAD -> run to the interrupt
    from engine.checkpoint.sqlite import SqliteSaver

    db, effects, thread = sys.argv[1:4]
    with SqliteSaver.from_conn_string(db) as saver:
        payment_graph(saver, effects).invoke({"amount": 10, "status": ""}, {"configurable": {"thread_id": thread}})
