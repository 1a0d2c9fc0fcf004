"""ops-triage: answers a production alert with three remediation steps, reviewed together in
one multi-action request (`interrupt(HITLRequest)`, resumed with `{"decisions": [...]}`).
Approved and edited steps run; rejected and answered ones go back to the agent as messages."""

from __future__ import annotations

import random
from typing import Annotated, TypedDict

from engine.constants import END, START
from engine.graph import StateGraph
from engine.prebuilt import ScriptedModel, add_messages, tool_schema, validate_response
from engine.types import interrupt
from inbox.demo.kit import Outbox, intent, reference, tool_call, user_message

NAME = "ops-triage"
TITLE = "Triage an alert (three actions in one request)"
REQUESTERS = ("pagerduty-bridge@northwind.example", "sre-bot@northwind.example")

ALERTS = [
    ("checkout-api", "5xx rate at {pct}% for 10 minutes", "#inc-checkout"),
    ("search-indexer", "consumer lag above {lag} messages", "#inc-search"),
    ("auth-gateway", "p99 latency {ms} ms (SLO 400 ms)", "#inc-auth"),
    ("pricing-service", "pods OOMKilled {n} times in 15 minutes", "#inc-pricing"),
]
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1"]

# What the reviewer may decide for each step.
ALLOWED = {
    "restart_pods": ["approve", "edit", "reject"],
    "scale_deployment": ["approve", "edit", "reject", "respond"],
    "post_status_update": ["approve", "edit", "reject", "respond"],
}


class TriageState(TypedDict):
    messages: Annotated[list, add_messages]
    decisions: list


def initial_input(rng: random.Random) -> dict:
    service, symptom, channel = rng.choice(ALERTS)
    symptom = symptom.format(pct=round(rng.uniform(3, 14), 1), lag=rng.randrange(20, 90) * 1000,
                             ms=rng.randrange(650, 2400), n=rng.randrange(3, 12))
    region = rng.choice(REGIONS)
    replicas = rng.choice([4, 6, 8])
    alert = f"[FIRING] {service} {symptom} in {region}"
    return {"messages": [user_message(
        alert,
        actions=[
            {"name": "restart_pods", "args": {"service": service, "environment": "production", "region": region}},
            {"name": "scale_deployment", "args": {"deployment": service, "replicas": replicas * 2,
                                                  "environment": "production"}},
            {"name": "post_status_update", "args": {
                "channel": channel,
                "message": f"Investigating: {service} {symptom} in {region}. Restarting pods and scaling "
                           f"{replicas} → {replicas * 2} replicas. Next update in 30 minutes."}},
        ],
        current_replicas=replicas,
    )], "decisions": []}


def _describe(name: str, args: dict, current_replicas: int) -> str:
    if name == "restart_pods":
        return (f"**Restart all pods** of `{args['service']}` in {args['environment']} ({args['region']}). "
                "A rolling restart: brief capacity dip, in-flight requests retried.")
    if name == "scale_deployment":
        return (f"**Scale** `{args['deployment']}` from {current_replicas} to **{args['replicas']} replicas** "
                f"in {args['environment']}. Check the cluster has headroom; the cost doubles while scaled up.")
    return (f"**Status update** to {args['channel']}, seen by support and account managers:\n\n"
            f"> {args['message']}")


def build(checkpointer, *, outbox: Outbox | None = None):
    outbox = Outbox() if outbox is None else outbox

    def restart_pods(service: str, environment: str, region: str) -> str:
        """Rolling restart of every pod of a service."""
        return outbox.record("restart_pods", dict(service=service, environment=environment, region=region),
                             f"Restarted pods of {service} in {environment} ({region}).")

    def scale_deployment(deployment: str, replicas: int, environment: str) -> str:
        """Set the replica count of a deployment."""
        return outbox.record("scale_deployment", dict(deployment=deployment, replicas=replicas,
                                                      environment=environment),
                             f"Scaled {deployment} to {replicas} replicas in {environment}.")

    def post_status_update(channel: str, message: str) -> str:
        """Post an incident update to a chat channel."""
        return outbox.record("post_status_update", dict(channel=channel, message=message),
                             f"Posted to {channel} ({reference('TS', channel, message, digits=10)}).")

    tools = {fn.__name__: fn for fn in (restart_pods, scale_deployment, post_status_update)}

    def propose(messages: list[dict]) -> dict:
        wanted = intent(messages)
        return {"content": "Three steps should stabilise this; please review them together.",
                "tool_calls": [tool_call(f"call_{i + 1}", a["name"], a["args"])
                               for i, a in enumerate(wanted["actions"])]}

    def report(messages: list[dict]) -> str:
        lines = [f"- {m['name']}: {m['content']}" for m in messages if m.get("role") == "tool"]
        return "Triage done:\n" + "\n".join(lines)

    model = ScriptedModel([propose, report])

    def agent(state: TriageState) -> dict:
        return {"messages": [model(state["messages"])]}

    def route(state: TriageState) -> str:
        return "review" if state["messages"][-1].get("tool_calls") else END

    def review_request(state: TriageState) -> tuple[list[dict], dict]:
        calls = state["messages"][-1]["tool_calls"]
        current = intent(state["messages"]).get("current_replicas", 0)
        request = {
            "action_requests": [{"name": c["name"], "args": c["args"],
                                 "description": _describe(c["name"], c["args"], current)} for c in calls],
            "review_configs": [{"action_name": c["name"], "allowed_decisions": ALLOWED[c["name"]],
                                "args_schema": tool_schema(tools[c["name"]])} for c in calls],
        }
        return calls, request

    def review(state: TriageState) -> dict:
        _, request = review_request(state)
        answer = interrupt(request)
        # Checked here too, so a resume typed by hand gets the same refusal the inbox gives.
        return {"decisions": validate_response(request, answer)["decisions"]}

    def act(state: TriageState) -> dict:
        calls, _ = review_request(state)
        out = []
        for call, decision in zip(calls, state["decisions"]):
            message = {"role": "tool", "tool_call_id": call["id"], "name": call["name"]}
            kind = decision["type"]
            if kind in ("approve", "edit"):
                args = decision["edited_action"]["args"] if kind == "edit" else call["args"]
                content = tools[call["name"]](**args)
            elif kind == "reject":
                note = decision.get("message")
                content = "Rejected by the reviewer; not run." + (f" Reason: {note}" if note else "")
            else:
                content = decision["message"]
            out.append({**message, "content": content})
        return {"messages": out, "decisions": []}

    graph = (StateGraph(TriageState)
             .add_node("agent", agent)
             .add_node("review", review)
             .add_node("act", act)
             .add_edge(START, "agent")
             .add_conditional_edges("agent", route, ["review", END])
             .add_edge("review", "act")
             .add_edge("act", "agent")
             .compile(checkpointer=checkpointer, name=NAME))
    graph.outbox = outbox
    return graph
