"""email-assistant: drafts a customer email and sends it once a reviewer accepts it or edits
the body (the usual fix: tone, a promised date, a number that should not go out)."""

from __future__ import annotations

import random

from engine.prebuilt import create_tool_agent
from inbox.demo.kit import Outbox, one_call_model, reference, reviewed, user_message

NAME = "email-assistant"
TITLE = "Send an email (review or edit the body)"
REQUESTERS = ("jonas.weber@northwind.example", "lea.martin@northwind.example",
              "priya.nair@northwind.example")

CUSTOMERS = [
    ("Anna Schmidt", "anna.schmidt@fjordline-logistics.example", "Fjordline Logistics"),
    ("Daniel Ortega", "d.ortega@sierra-foods.example", "Sierra Foods"),
    ("Mei Tanaka", "mei.tanaka@kobe-precision.example", "Kobe Precision"),
    ("Oliver Brown", "oliver@brightwater-energy.example", "Brightwater Energy"),
    ("Fatima Zahra", "f.zahra@atlas-retail.example", "Atlas Retail"),
    ("Lukas Novak", "lukas.novak@vltava-bank.example", "Vltava Bank"),
]
SENDERS = ["Jonas Weber", "Léa Martin", "Priya Nair"]


def _renewal(rng, first, company, sender):
    seats = rng.choice([25, 40, 60, 120, 250])
    price = rng.choice([18, 22, 27])
    return (f"Your renewal quote for {company}",
            f"Hi {first},\n\nthanks for the call on Tuesday. As discussed, here is the renewal for "
            f"{seats} seats at €{price} per seat per month, billed annually "
            f"(€{seats * price * 12:,} per year). We can hold this price until the end of the month.\n\n"
            f"Internal note: floor price is €{price - 4}, do not go below.\n\n"
            f"Best regards,\n{sender}")


def _incident(rng, first, company, sender):
    minutes = rng.choice([14, 23, 38, 52])
    return (f"Incident follow-up: API errors on {rng.choice(['Monday', 'Wednesday', 'Friday'])}",
            f"Hi {first},\n\nyesterday {company} saw elevated error rates on our API for {minutes} minutes. "
            f"The cause was a misconfigured load balancer rule, rolled back at 14:{minutes:02d} UTC. "
            "We will credit 10% of this month's invoice and send the full postmortem by Friday.\n\n"
            f"Apologies for the disruption,\n{sender}")


def _reschedule(rng, first, company, sender):
    day = rng.choice(["Thursday 10:00", "Friday 14:30", "next Monday 09:00"])
    return ("Moving our roadmap review",
            f"Hi {first},\n\nsomething came up on our side, could we move the roadmap review with the "
            f"{company} team to {day}? Same video link. Sorry for the short notice.\n\n"
            f"Thanks,\n{sender}")


TEMPLATES = [_renewal, _incident, _reschedule]


def initial_input(rng: random.Random) -> dict:
    name, address, company = rng.choice(CUSTOMERS)
    sender = rng.choice(SENDERS)
    subject, body = rng.choice(TEMPLATES)(rng, name.split()[0], company, sender)
    cc = rng.choice([[], [], ["account-team@northwind.example"]])
    return {"messages": [user_message(
        f"Draft and send the email to {name} at {company}: {subject.lower()}.",
        send_email={"to": address, "subject": subject, "body": body, "cc": cc},
    )]}


def build(checkpointer, *, outbox: Outbox | None = None):
    outbox = Outbox() if outbox is None else outbox

    def send_email(to: str, subject: str, body: str, cc: list[str] | None = None) -> str:
        """Send an email from the shared customer-success mailbox."""
        args = dict(to=to, subject=subject, body=body, cc=list(cc or []))
        message_id = reference("MSG", to, subject, body, digits=8)
        copy = f" (cc {', '.join(cc)})" if cc else ""
        return outbox.record("send_email", args, f"Sent “{subject}” to {to}{copy}. Message id {message_id}.")

    def describe(a: dict) -> str:
        cc = a.get("cc") or []
        copy = f", cc {', '.join(cc)}" if cc else ""
        return (f"**Email** to {a['to']}{copy}: “{a['subject']}”\n\n"
                "Read the body before it goes out:\n"
                "- tone and the customer's name\n"
                "- any date, price or credit it promises\n"
                "- nothing internal (notes, floor prices) left in\n\n"
                "Edit the body to fix it, or respond to send the draft back.")

    tool = reviewed(send_email, describe=describe)
    model = one_call_model("send_email", intro="Here is the draft; sending once approved.", ran_prefix="Sent ")
    graph = create_tool_agent(model, [tool], checkpointer=checkpointer, name=NAME)
    graph.outbox = outbox
    return graph
