"""Graph references for the CLI tests (`--graph NAME=cli_graphs:ATTR`).

The CLI subprocesses find this module through PYTHONPATH (tests/inbox is put on it by
test_cli.py). Not a test module: pytest does not collect it.
"""

from __future__ import annotations

from engine.prebuilt import create_tool_agent
from inbox.demo import travel
from inbox.demo.kit import one_call_model, reviewed, user_message

# A compiled graph (not a factory): the CLI gives it its own checkpointer.
travel_graph = travel.build(None)

# Neither a compiled graph nor a factory.
NOT_A_GRAPH = "just a string"


def exploding_factory(checkpointer):
    raise RuntimeError("the agent's config is missing OPENAI_API_KEY")


def returns_nothing(checkpointer):
    return None


# flaky-agent: a reviewed tool that fails when it runs, so a decision continues into an error.
FLAKY = "flaky-agent"


def build_flaky(checkpointer):
    def launch(target: str) -> str:
        """Launch a rocket (always fails)."""
        raise RuntimeError(f"launch pad {target} is on fire")

    tool = reviewed(launch, describe=lambda a: f"**Launch** from {a['target']}")
    model = one_call_model("launch", intro="Launching.", ran_prefix="Launched")
    return create_tool_agent(model, [tool], checkpointer=checkpointer, name=FLAKY)


def flaky_input() -> dict:
    return {"messages": [user_message("Launch it.", launch={"target": "pad-39A"})]}


# where-agent: a reviewed tool that says which thread it ran on, so a test can see whether
# `inbox worker` ran it inline on its own loop (the main thread) or in an executor thread.
WHERE = "where-agent"


def build_where(checkpointer):
    import threading

    def locate(target: str) -> str:
        """Say where this tool ran."""
        return "main thread" if threading.current_thread() is threading.main_thread() else "executor thread"

    tool = reviewed(locate, describe=lambda a: f"**Locate** {a['target']}")
    model = one_call_model("locate", intro="Locating.", ran_prefix="Located")
    return create_tool_agent(model, [tool], checkpointer=checkpointer, name=WHERE)


def where_input() -> dict:
    return {"messages": [user_message("Where does it run?", locate={"target": "here"})]}
