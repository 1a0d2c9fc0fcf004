"""payments-agent: pays supplier invoices by SEPA wire. The reviewer accepts, or responds to
decline with a reason; payment details cannot be edited from the inbox (a changed IBAN is
the classic invoice fraud, so it goes back to accounts payable instead)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from engine.prebuilt import create_tool_agent
from inbox.demo.kit import Outbox, eur, iban, one_call_model, reference, reviewed, user_message

NAME = "payments-agent"
TITLE = "Wire money (accept, or respond to decline)"
REQUESTERS = ("ap-bot@northwind.example", "clara.hoffmann@northwind.example")

# beneficiary, country, bank code + account (BBAN)
SUPPLIERS = [
    ("Muster Maschinenbau GmbH", "DE", "370400440532013000"),
    ("Hansa Office Supplies GmbH", "DE", "500105175407324931"),
    ("Atelier Lumière SARL", "FR", "20041010050500013M02606"),
    ("Van Dijk Logistics B.V.", "NL", "ABNA0417164300"),
    ("Tessitura Bianchi S.p.A.", "IT", "X0542811101000000123456"),
    ("Cloudworks Ireland Ltd", "IE", "AIBK93115212345678"),
]
PURPOSES = ["Q2 maintenance contract", "office furniture", "freight March", "consulting, sprint 14",
            "fabric samples", "cloud hosting April"]


def initial_input(rng: random.Random) -> dict:
    beneficiary, country, bban = rng.choice(SUPPLIERS)
    amount = round(rng.choice([1, 1, 2, 5, 12]) * rng.uniform(480, 2600), 2)
    invoice = f"INV-{rng.randrange(2025000, 2025999)}"
    purpose = rng.choice(PURPOSES)
    execution = date(2025, 3, 14) + timedelta(days=rng.randrange(0, 21))
    return {"messages": [user_message(
        f"Pay invoice {invoice} from {beneficiary} ({purpose}), {eur(amount)}.",
        wire_transfer={"beneficiary": beneficiary, "iban": iban(country, bban), "amount": amount,
                       "currency": "EUR", "reference": f"{invoice} {purpose}",
                       "execution_date": execution.isoformat()},
    )]}


def build(checkpointer, *, outbox: Outbox | None = None):
    outbox = Outbox() if outbox is None else outbox

    def wire_transfer(beneficiary: str, iban: str, amount: float, reference: str, currency: str = "EUR",
                      execution_date: str | None = None) -> str:
        """Send a SEPA credit transfer from the operating account."""
        args = dict(beneficiary=beneficiary, iban=iban, amount=amount, reference=reference,
                    currency=currency, execution_date=execution_date)
        transfer = _transfer_id(beneficiary, iban, amount, reference)
        when = f" on {execution_date}" if execution_date else ""
        return outbox.record("wire_transfer", args,
                             f"Transfer {transfer} queued: {eur(amount)} to {beneficiary} ({iban}){when}, "
                             f"reference “{reference}”.")

    def describe(a: dict) -> str:
        return (f"**Wire transfer** of {eur(float(a['amount']))} to {a['iban']} ({a['beneficiary']}) — "
                f"verify the beneficiary against the invoice.\n\n"
                f"- Reference: `{a['reference']}`\n"
                f"- Execution date: {a.get('execution_date') or 'immediately'}\n\n"
                "Accept only if the IBAN matches the supplier master data, not just the invoice PDF. "
                "To decline, respond with the reason; the agent tells accounts payable.")

    tool = reviewed(wire_transfer, describe=describe, accept=True, edit=False, respond=True, ignore=False)
    model = one_call_model("wire_transfer", intro="The invoice checks out; preparing the transfer.",
                           ran_prefix="Transfer ")
    graph = create_tool_agent(model, [tool], checkpointer=checkpointer, name=NAME)
    graph.outbox = outbox
    return graph


def _transfer_id(*parts) -> str:
    return reference("TRF", *parts, digits=8)
