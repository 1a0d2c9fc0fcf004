"""onboarding-form: a validation loop (as in the seed's age example). It asks how many seats a
new customer workspace gets and asks again, saying why, until the answer is a whole number in
range; then it creates the workspace."""

from __future__ import annotations

import json
import random
from typing import TypedDict

from engine.constants import END, START
from engine.graph import StateGraph
from engine.types import interrupt
from inbox.demo.kit import Outbox, reference

NAME = "onboarding-form"
TITLE = "Fill in a form (asks again until valid)"
REQUESTERS = ("sales-ops@northwind.example", "hannah.berg@northwind.example")
MAX_SEATS = 500

COMPANIES = [("Fjordline Logistics", "anna.schmidt@fjordline-logistics.example"),
             ("Sierra Foods", "d.ortega@sierra-foods.example"),
             ("Kobe Precision", "mei.tanaka@kobe-precision.example"),
             ("Brightwater Energy", "oliver@brightwater-energy.example"),
             ("Atlas Retail", "f.zahra@atlas-retail.example")]
PLANS = ["team", "business", "enterprise"]


class OnboardingState(TypedDict, total=False):
    company: str
    admin_email: str
    plan: str
    seats: int
    workspace: str


def initial_input(rng: random.Random) -> dict:
    company, admin = rng.choice(COMPANIES)
    return {"company": company, "admin_email": admin, "plan": rng.choice(PLANS)}


def seat_count(answer) -> int | None:
    """A whole number from 1 to MAX_SEATS, given as a number or as text ("25"); else None."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, str) and answer.strip().isdigit():
        answer = int(answer.strip())
    if isinstance(answer, float) and answer.is_integer():
        answer = int(answer)
    if isinstance(answer, int) and 1 <= answer <= MAX_SEATS:
        return answer
    return None


def first_question(state: dict) -> str:
    return (f"How many seats should the {state['plan']} workspace for {state['company']} start with? "
            f"Answer with a whole number from 1 to {MAX_SEATS}.")


def build(checkpointer, *, outbox: Outbox | None = None):
    outbox = Outbox() if outbox is None else outbox

    def create_workspace(company: str, admin_email: str, plan: str, seats: int) -> str:
        """Create the customer's workspace and invite its admin."""
        return outbox.record("create_workspace", dict(company=company, admin_email=admin_email, plan=plan,
                                                      seats=seats),
                             f"Workspace {reference('WS', company, plan)} created for {company} "
                             f"({plan}, {seats} seats); invitation sent to {admin_email}.")

    def ask_seats(state: OnboardingState) -> dict:
        question = first_question(state)
        while True:
            answer = interrupt(question)
            seats = seat_count(answer)
            if seats is not None:
                return {"seats": seats}
            question = (f"{json.dumps(answer, ensure_ascii=False)} is not a valid seat count. "
                        f"How many seats should {state['company']} start with? "
                        f"Answer with a whole number from 1 to {MAX_SEATS}.")

    def open_workspace(state: OnboardingState) -> dict:
        return {"workspace": create_workspace(state["company"], state["admin_email"], state["plan"],
                                              state["seats"])}

    graph = (StateGraph(OnboardingState)
             .add_node("ask_seats", ask_seats)
             .add_node("open_workspace", open_workspace)
             .add_edge(START, "ask_seats")
             .add_edge("ask_seats", "open_workspace")
             .add_edge("open_workspace", END)
             .compile(checkpointer=checkpointer, name=NAME))
    graph.outbox = outbox
    return graph
