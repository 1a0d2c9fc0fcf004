"""sql-agent: turns a data request into one SQL statement and runs it after review. The
reviewer may accept, edit the statement (tighten a WHERE clause) or respond."""

from __future__ import annotations

import random

from engine.prebuilt import create_tool_agent
from inbox.demo.kit import Outbox, one_call_model, reviewed, stable_count, user_message

NAME = "sql-agent"
TITLE = "Run a SQL statement"
REQUESTERS = ("noah.fischer@northwind.example", "support-bot@northwind.example",
              "elena.popescu@northwind.example")

# (request, database, statement) with placeholders filled from the rng
REQUESTS = [
    ("Upgrade account {account} to the enterprise plan.", "billing-prod",
     "UPDATE subscriptions SET plan = 'enterprise', updated_at = now() WHERE account_id = {account};"),
    ("Clean out sessions nobody has used for {days} days.", "auth-prod",
     "DELETE FROM sessions WHERE last_seen_at < now() - interval '{days} days';"),
    ("Refund order {order} in full.", "shop-prod",
     "UPDATE orders SET status = 'refunded', refunded_at = now() WHERE id = {order} AND status = 'paid';"),
    ("Add a column for the refund timestamp.", "shop-prod",
     "ALTER TABLE orders ADD COLUMN refunded_at timestamptz;"),
    ("Give support read access to the invoices table.", "billing-prod",
     "GRANT SELECT ON invoices TO support_readonly;"),
    ("How many customers signed up in {month}?", "analytics",
     "SELECT count(*) FROM customers WHERE created_at >= '2025-{month_num}-01' "
     "AND created_at < '2025-{month_num}-01'::date + interval '1 month';"),
]
MONTHS = [("January", "01"), ("February", "02"), ("March", "03")]


def initial_input(rng: random.Random) -> dict:
    request, database, statement = rng.choice(REQUESTS)
    month, month_num = rng.choice(MONTHS)
    values = {"account": rng.randrange(10000, 99999), "days": rng.choice([30, 90, 180]),
              "order": rng.randrange(700000, 799999), "month": month, "month_num": month_num}
    return {"messages": [user_message(
        request.format(**values),
        run_sql={"statement": statement.format(**values), "database": database},
    )]}


def _outcome(statement: str, database: str) -> str:
    verb = statement.split(None, 1)[0].upper() if statement.strip() else ""
    if verb == "SELECT":
        return f"count\n-----\n{stable_count(statement, database, high=2400)}\n(1 row)"
    if verb == "DELETE":
        return f"DELETE {stable_count(statement, database, high=48000)}"
    if verb == "UPDATE":
        return f"UPDATE {1 if 'id = ' in statement else stable_count(statement, database, high=900)}"
    return verb or "OK"


def build(checkpointer, *, outbox: Outbox | None = None):
    outbox = Outbox() if outbox is None else outbox

    def run_sql(statement: str, database: str) -> str:
        """Run one SQL statement against the named database, in its own transaction."""
        return outbox.record("run_sql", dict(statement=statement, database=database),
                             f"Ran on {database}: {_outcome(statement, database)}")

    def describe(a: dict) -> str:
        writes = not a["statement"].lstrip().upper().startswith("SELECT")
        access = "**writes** to" if writes else "reads from"
        return (f"**SQL** that {access} `{a['database']}`:\n\n```sql\n{a['statement']}\n```\n\n"
                "Check the WHERE clause: does it touch only the rows the request names? "
                "Edit the statement to narrow it, or respond to send it back.")

    tool = reviewed(run_sql, describe=describe)
    model = one_call_model("run_sql", intro="This statement should do it.", ran_prefix="Ran on ")
    graph = create_tool_agent(model, [tool], checkpointer=checkpointer, name=NAME)
    graph.outbox = outbox
    return graph
