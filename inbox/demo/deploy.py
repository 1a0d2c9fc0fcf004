"""deploy-bot: proposes a release to an environment. The reviewer may accept, edit (version,
strategy), respond, or ignore it (the release goes out with the next train instead)."""

from __future__ import annotations

import random

from engine.prebuilt import create_tool_agent
from inbox.demo.kit import Outbox, one_call_model, reference, reviewed, user_message

NAME = "deploy-bot"
TITLE = "Deploy a service (ignore allowed)"
REQUESTERS = ("ci@northwind.example", "release-train@northwind.example")

SERVICES = [
    ("checkout-api", "Retry idempotent payment captures; bump stripe client"),
    ("search-indexer", "Batch writes to the index; lower memory use"),
    ("notification-worker", "Move SMS sending to the new provider"),
    ("auth-gateway", "Rotate JWT signing keys; shorter session TTL"),
    ("pricing-service", "New VAT rules for Norway"),
    ("web-frontend", "Redesigned cart page behind a flag"),
]
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1"]


def initial_input(rng: random.Random) -> dict:
    service, change = rng.choice(SERVICES)
    version = f"{rng.randrange(1, 4)}.{rng.randrange(0, 30)}.{rng.randrange(0, 10)}"
    environment = rng.choice(["production", "production", "staging"])
    strategy = rng.choice(["rolling", "canary", "blue-green"])
    region = rng.choice(REGIONS)
    return {"messages": [user_message(
        f"Ship {service} {version} to {environment} ({region}). Change: {change}.",
        change=change,
        deploy_service={"service": service, "version": version, "environment": environment,
                        "region": region, "strategy": strategy},
    )]}


def build(checkpointer, *, outbox: Outbox | None = None):
    outbox = Outbox() if outbox is None else outbox

    def deploy_service(service: str, version: str, environment: str, region: str,
                       strategy: str = "rolling") -> str:
        """Roll out a built image of `service` to an environment."""
        args = dict(service=service, version=version, environment=environment, region=region, strategy=strategy)
        rollout = reference("RO", service, version, environment, region)
        return outbox.record("deploy_service", args,
                             f"Deploying {service} {version} to {environment} ({region}), {strategy}: "
                             f"rollout {rollout} started.")

    def describe(a: dict) -> str:
        risk = "**production**" if a["environment"] == "production" else a["environment"]
        return (f"**Deploy** `{a['service']}` {a['version']} → {risk} ({a['region']}), "
                f"{a.get('strategy', 'rolling')} rollout.\n\n"
                "Check that the build passed on staging and nobody else is deploying. "
                "Ignore it to leave the release for the next train; edit to change the version or strategy.")

    tool = reviewed(deploy_service, describe=describe, ignore=True)
    model = one_call_model("deploy_service", intro="The build is green; ready to roll out.", ran_prefix="Deploying ")
    graph = create_tool_agent(model, [tool], checkpointer=checkpointer, name=NAME)
    graph.outbox = outbox
    return graph
