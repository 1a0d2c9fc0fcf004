"""cluster-planner: asks a plain question with `interrupt("...")` (which region?) and creates
the cluster where the answer says. The reviewer answers with text; no tool review involved."""

from __future__ import annotations

import random
from typing import TypedDict

from engine.constants import END, START
from engine.graph import StateGraph
from engine.types import interrupt
from inbox.demo.kit import Outbox, reference

NAME = "cluster-planner"
TITLE = "Answer a question (which region?)"
REQUESTERS = ("platform-bot@northwind.example", "ines.costa@northwind.example")

REGIONS = {"eu-west-1": "Ireland", "eu-central-1": "Frankfurt", "eu-north-1": "Stockholm",
           "us-east-1": "N. Virginia", "ap-southeast-1": "Singapore"}
TEAMS = ["data-platform", "payments", "search", "ml-research"]
NODE_TYPES = ["m7i.2xlarge", "c7g.4xlarge", "r7i.xlarge", "g5.2xlarge"]


class ClusterState(TypedDict, total=False):
    cluster_name: str
    team: str
    node_type: str
    node_count: int
    options: list
    region: str
    result: str


def initial_input(rng: random.Random) -> dict:
    team = rng.choice(TEAMS)
    return {"cluster_name": f"{team.split('-')[0]}-{rng.choice(['prod', 'batch', 'train'])}-{rng.randrange(2, 9)}",
            "team": team, "node_type": rng.choice(NODE_TYPES), "node_count": rng.choice([3, 6, 12, 24]),
            "options": sorted(rng.sample(sorted(REGIONS), 3))}


def question(state: dict) -> str:
    options = ", ".join(f"{r} ({REGIONS.get(r, r)})" for r in state["options"])
    return (f"Which region should the new cluster {state['cluster_name']} go to? "
            f"It is {state['node_count']} × {state['node_type']} for team {state['team']}. "
            f"Options: {options}.")


def region_of(answer) -> str:
    """The reviewer may answer "eu-west-1", " EU-WEST-1 " or {"region": "eu-west-1"}."""
    if isinstance(answer, dict) and "region" in answer:
        answer = answer["region"]
    return str(answer).strip().lower()


def build(checkpointer, *, outbox: Outbox | None = None):
    outbox = Outbox() if outbox is None else outbox

    def create_cluster(name: str, region: str, node_type: str, node_count: int) -> str:
        """Create a Kubernetes cluster (the demo only records it)."""
        return outbox.record("create_cluster", dict(name=name, region=region, node_type=node_type,
                                                    node_count=node_count),
                             f"Cluster {name} is being created in {region} "
                             f"({node_count} × {node_type}), id {reference('CL', name, region)}.")

    def ask_region(state: ClusterState) -> dict:
        return {"region": region_of(interrupt(question(state)))}

    def provision(state: ClusterState) -> dict:
        return {"result": create_cluster(state["cluster_name"], state["region"], state["node_type"],
                                         state["node_count"])}

    graph = (StateGraph(ClusterState)
             .add_node("ask_region", ask_region)
             .add_node("provision", provision)
             .add_edge(START, "ask_region")
             .add_edge("ask_region", "provision")
             .add_edge("provision", END)
             .compile(checkpointer=checkpointer, name=NAME))
    graph.outbox = outbox
    return graph
