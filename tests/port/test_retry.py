"""RetryPolicy: the same programs on the engine and on LangGraph 1.2 retry the same number of
times, give the same result, and surface the same last error."""

from __future__ import annotations

from typing import TypedDict

import pytest

from tests.port.shapes_helpers import both, modules


class State(TypedDict):
    log: str


def flaky(lg, failures: int, error: type, **policy):
    """A one-node graph whose node raises `error` `failures` times, then writes how often it ran."""
    calls = []

    def node(state):
        calls.append(1)
        if len(calls) <= failures:
            raise error(f"attempt {len(calls)}")
        return {"log": f"ran {len(calls)}"}

    retry = lg.types.RetryPolicy(**{"initial_interval": 0.001, "jitter": False, **policy})
    graph = (lg.graph.StateGraph(State).add_node("node", node, retry_policy=retry)
             .add_edge(lg.graph.START, "node").compile())
    try:
        return graph.invoke({"log": ""}), len(calls)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}", len(calls)


@pytest.mark.parametrize("failures,error,policy", [
    (2, ConnectionError, {}),                                  # the default retry_on retries it
    (1, ValueError, {}),                                       # ... and not a ValueError
    (5, ConnectionError, {"max_attempts": 3}),                 # the last error surfaces
    (2, KeyError, {"retry_on": KeyError}),
    (2, KeyError, {"retry_on": (ValueError, KeyError)}),
    (2, ZeroDivisionError, {"retry_on": lambda exc: "attempt" in str(exc)}),
    (1, ValueError, {"retry_on": lambda exc: False}),
    (3, RuntimeError, {"retry_on": RuntimeError, "max_attempts": 4, "backoff_factor": 1.5}),
])
def test_retries_match_langgraph(failures, error, policy):
    engine, langgraph = both(lambda lg: flaky(lg, failures, error, **policy))
    assert engine == langgraph


def policies_in_order(lg):
    """Several policies: the first whose retry_on matches decides."""
    calls = []

    def node(state):
        calls.append(1)
        if len(calls) < 4:
            raise (KeyError if len(calls) % 2 else ConnectionError)(len(calls))
        return {"log": "done"}

    R = lg.types.RetryPolicy
    graph = (lg.graph.StateGraph(State)
             .add_node("node", node, retry_policy=[R(retry_on=KeyError, max_attempts=2, initial_interval=0.001,
                                                     jitter=False),
                                                   R(max_attempts=5, initial_interval=0.001, jitter=False)])
             .add_edge(lg.graph.START, "node").compile())
    try:
        return graph.invoke({"log": ""}), len(calls)
    except Exception as exc:
        return type(exc).__name__, len(calls)


def test_a_sequence_of_policies():
    engine, langgraph = both(policies_in_order)
    assert engine == langgraph


def answers_reused(lg):
    """A node that fails after its interrupt was answered is retried with the same answer."""
    seen = []

    def node(state):
        answer = lg.types.interrupt("name?")
        seen.append(answer)
        if len(seen) == 1:
            raise ConnectionError("flaky")
        return {"log": answer}

    graph = (lg.graph.StateGraph(State)
             .add_node("node", node, retry_policy=lg.types.RetryPolicy(initial_interval=0.001, jitter=False))
             .add_edge(lg.graph.START, "node").compile(checkpointer=lg.memory.InMemorySaver()))
    config = {"configurable": {"thread_id": "t"}}
    first = graph.invoke({"log": ""}, config)
    return first, graph.invoke(lg.types.Command(resume="ada"), config), seen


def test_answers_to_interrupts_are_reused_by_retries():
    engine, langgraph = both(answers_reused)
    assert engine == langgraph
    assert engine[1:] == [{"log": "ada"}, ["ada", "ada"]]


def node_defaults(lg):
    calls = []

    def node(state):
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("down")
        return {"log": "up"}

    graph = (lg.graph.StateGraph(State)
             .set_node_defaults(retry_policy=lg.types.RetryPolicy(initial_interval=0.001, jitter=False))
             .add_node("node", node).add_edge(lg.graph.START, "node").compile())
    return graph.invoke({"log": ""}), len(calls)


def test_set_node_defaults_retry_policy():
    engine, langgraph = both(node_defaults)
    assert engine == langgraph == [{"log": "up"}, 3]


def test_policy_defaults_match_langgraph():
    ours, theirs = modules("engine").types.RetryPolicy(), modules("langgraph").types.RetryPolicy()
    assert ours[:5] == theirs[:5]
    for exc in (ConnectionError(), ValueError(), OSError(), KeyError(), Exception(), TimeoutError()):
        assert ours.retry_on(exc) == theirs.retry_on(exc), exc


def test_bad_policies_are_refused_clearly():
    from engine.errors import GraphBuildError
    from engine.graph import StateGraph
    from engine.types import RetryPolicy

    with pytest.raises(GraphBuildError, match="retry_policy must be a RetryPolicy"):
        StateGraph(State).add_node("n", lambda s: s, retry_policy={"max_attempts": 2})
    with pytest.raises(GraphBuildError, match="max_attempts=0"):
        StateGraph(State).add_node("n", lambda s: s, retry_policy=RetryPolicy(max_attempts=0))
    with pytest.raises(GraphBuildError, match="retry_on"):
        StateGraph(State).add_node("n", lambda s: s, retry_policy=RetryPolicy(retry_on=42))
    with pytest.raises(NotImplementedError, match="cache_policy"):
        StateGraph(State).set_node_defaults(cache_policy=object())
