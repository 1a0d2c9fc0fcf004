"""interrupt() and Command(resume=...): pausing, answering, ids, several interrupts, errors.
Every test runs against each saver (the `saver` fixture)."""

import asyncio
import operator
import re
import uuid
from typing import Annotated, Optional, TypedDict

import pytest

from engine.constants import END, START
from engine.errors import (EmptyCommandError, GraphConfigError, InterruptPayloadError, InvalidResumeError,
                           NothingToResumeError)
from engine.graph import StateGraph
from engine.types import Command, Interrupt, interrupt


class Text(TypedDict):
    text: str


class Votes(TypedDict):
    vals: Annotated[list[str], operator.add]


def cfg(thread=None):
    return {"configurable": {"thread_id": thread or str(uuid.uuid4())}}


def review_graph(saver, calls=None):
    def human(state):
        if calls is not None:
            calls.append("human")
        return {"text": interrupt({"text_to_revise": state["text"]})}

    return StateGraph(Text).add_node("human", human).add_edge(START, "human").compile(checkpointer=saver)


def parallel_graph(saver, counts=None):
    def make(name):
        def node(state):
            if counts is not None:
                counts[name] = counts.get(name, 0) + 1
            return {"vals": [f"{name}:{interrupt(f'question_{name}')}"]}
        return node

    return (StateGraph(Votes).add_node("a", make("a")).add_node("b", make("b"))
            .add_edge(START, "a").add_edge(START, "b").add_edge("a", END).add_edge("b", END)
            .compile(checkpointer=saver))


def test_interrupt_pauses_and_resume_returns_the_answer(saver):
    graph, config = review_graph(saver), cfg()
    result = graph.invoke({"text": "original"}, config)
    [pending] = result["__interrupt__"]
    assert isinstance(pending, Interrupt) and pending.value == {"text_to_revise": "original"}
    assert re.fullmatch(r"[0-9a-f]{32}", pending.id)
    assert repr(pending) == f"Interrupt(value={{'text_to_revise': 'original'}}, id='{pending.id}')"
    assert result["text"] == "original"
    assert graph.invoke(Command(resume="edited"), config) == {"text": "edited"}


def test_stream_yields_the_interrupt_tuple(saver):
    graph, config = review_graph(saver), cfg()
    chunks = list(graph.stream({"text": "x"}, config))
    assert len(chunks) == 1 and set(chunks[0]) == {"__interrupt__"}
    assert isinstance(chunks[0]["__interrupt__"], tuple)
    assert list(graph.stream(Command(resume="y"), config)) == [{"human": {"text": "y"}}]


async def test_async_invoke_and_stream(saver):
    graph, config = review_graph(saver), cfg()
    result = await graph.ainvoke({"text": "x"}, config)
    assert result["__interrupt__"][0].value == {"text_to_revise": "x"}
    chunks = [c async for c in graph.astream(Command(resume="z"), config, stream_mode=["updates", "values"])]
    # A resume first shows the saved state, then each step's update and the state after it.
    assert chunks == [("values", {"text": "x"}), ("updates", {"human": {"text": "z"}}), ("values", {"text": "z"})]


def test_interrupt_ids_are_deterministic_and_unique(saver):
    graph = parallel_graph(saver)
    config = cfg()
    first = graph.invoke({"vals": []}, config)["__interrupt__"]
    ids = [i.id for i in first]
    assert len(set(ids)) == 2
    # Asking the state again gives the same ids; another thread gives different ones.
    assert [i.id for i in graph.get_state(config).interrupts] == ids
    other = graph.invoke({"vals": []}, cfg())["__interrupt__"]
    assert not set(ids) & {i.id for i in other}


def test_resume_map_answers_parallel_interrupts(saver):
    graph, config = parallel_graph(saver), cfg()
    result = graph.invoke({"vals": []}, config)
    answers = {i.id: f"answer for {i.value}" for i in result["__interrupt__"]}
    out = graph.invoke(Command(resume=answers), config)
    assert sorted(out["vals"]) == ["a:answer for question_a", "b:answer for question_b"]


def test_a_partial_resume_map_leaves_the_rest_pending(saver):
    graph, config = parallel_graph(saver), cfg()
    first, second = graph.invoke({"vals": []}, config)["__interrupt__"]
    out = graph.invoke(Command(resume={first.id: "one"}), config)
    assert [i.id for i in out["__interrupt__"]] == [second.id]
    done = graph.invoke(Command(resume={second.id: "two"}), config)
    assert sorted(done["vals"]) == ["a:one", "b:two"]


def test_a_scalar_resume_with_several_pending_lists_their_ids(saver):
    graph, config = parallel_graph(saver), cfg()
    pending = graph.invoke({"vals": []}, config)["__interrupt__"]
    with pytest.raises(InvalidResumeError) as err:
        graph.invoke(Command(resume="yes"), config)
    assert "ambiguous" in str(err.value) and all(i.id in str(err.value) for i in pending)
    assert "Command(resume={id: value" in str(err.value)


def test_a_resume_map_naming_an_id_not_pending_is_refused(saver):
    graph, config = parallel_graph(saver), cfg()
    pending = graph.invoke({"vals": []}, config)["__interrupt__"]
    stale = "0" * 32
    with pytest.raises(InvalidResumeError, match=f"{stale}.*not pending"):
        graph.invoke(Command(resume={pending[0].id: "x", stale: "y"}), config)
    with pytest.raises(InvalidResumeError, match="not pending"):
        graph.invoke(Command(resume={stale: "y"}), config)
    # Nothing was consumed: both are still pending.
    assert len(graph.get_state(config).interrupts) == 2


def test_a_dict_answer_is_not_mistaken_for_an_id_map(saver):
    graph, config = review_graph(saver), cfg()
    graph.invoke({"text": "x"}, config)
    out = graph.invoke(Command(resume={"approved": True}), config)
    assert out == {"text": {"approved": True}}


def test_resume_on_a_thread_with_nothing_pending_is_refused(saver):
    graph, config = review_graph(saver), cfg()
    with pytest.raises(NothingToResumeError, match="has never run"):
        graph.invoke(Command(resume="x"), config)
    graph.invoke({"text": "x"}, config)
    graph.invoke(Command(resume="y"), config)
    with pytest.raises(NothingToResumeError, match="no pending interrupt.*finished"):
        graph.invoke(Command(resume="again"), config)
    assert graph.get_state(config).values == {"text": "y"}


def test_an_empty_command_is_refused(saver):
    graph, config = review_graph(saver), cfg()
    graph.invoke({"text": "x"}, config)
    with pytest.raises(EmptyCommandError, match="Command\\(resume=value\\)"):
        graph.invoke(Command(), config)


def test_invoke_none_on_a_fresh_thread_is_refused(saver):
    graph = review_graph(saver)
    with pytest.raises(NothingToResumeError, match="has no checkpoint yet"):
        graph.invoke(None, cfg())


def test_invoke_none_while_an_interrupt_waits_says_how_to_answer(saver):
    graph, config = review_graph(saver), cfg()
    pending = graph.invoke({"text": "x"}, config)["__interrupt__"][0]
    with pytest.raises(InvalidResumeError, match=f"{pending.id}.*Command\\(resume=value\\)"):
        graph.invoke(None, config)


def test_missing_thread_id_with_a_checkpointer_is_refused(saver):
    graph = review_graph(saver)
    with pytest.raises(GraphConfigError, match='"thread_id"'):
        graph.invoke({"text": "x"})
    with pytest.raises(GraphConfigError, match="thread id"):
        graph.invoke({"text": "x"}, {"configurable": {}})


def test_interrupt_without_a_checkpointer_is_refused():
    graph = review_graph(None)
    with pytest.raises(GraphConfigError, match="node 'human' needs a checkpointer.*InMemorySaver"):
        graph.invoke({"text": "x"})


def test_a_non_json_payload_is_refused_naming_the_node(saver):
    def node(state):
        interrupt({"when": object()})

    graph = StateGraph(Text).add_node("ask", node).add_edge(START, "ask").compile(checkpointer=saver)
    with pytest.raises(InterruptPayloadError, match="node 'ask'.*not JSON-serializable"):
        graph.invoke({"text": "x"}, cfg())


def test_a_broad_except_does_not_swallow_an_interrupt(saver):
    def careless(state):
        try:
            answer = interrupt("approve?")
        except Exception:  # noqa: BLE001 - the point of the test
            answer = "swallowed"
        return {"text": answer}

    def reckless(state):
        try:
            answer = interrupt("approve?")
        except BaseException:  # noqa: BLE001 - even this must not lose the pause
            answer = "swallowed"
        return {"text": answer}

    for node in (careless, reckless):
        graph = StateGraph(Text).add_node("n", node).add_edge(START, "n").compile(checkpointer=saver)
        config = cfg()
        result = graph.invoke({"text": "x"}, config)
        assert result["__interrupt__"][0].value == "approve?", node.__name__
        assert graph.invoke(Command(resume="ok"), config) == {"text": "ok"}


def test_several_interrupts_in_one_node_match_answers_by_index(saver):
    calls = []

    def multi_review(state):
        calls.append("run")
        draft = interrupt({"message": "Review draft", "draft": state["text"]})
        final = interrupt({"message": "Final approval", "draft": draft["edited_draft"]})
        return {"text": final["approved_draft"]}

    graph = StateGraph(Text).add_node("multi_review", multi_review).add_edge(START, "multi_review") \
        .compile(checkpointer=saver)
    config = cfg()
    first = graph.invoke({"text": "v1"}, config)["__interrupt__"][0]
    second = graph.invoke(Command(resume={"edited_draft": "v2"}), config)["__interrupt__"][0]
    assert second.value == {"message": "Final approval", "draft": "v2"} and second.id != first.id
    assert graph.invoke(Command(resume={"approved_draft": "v3"}), config) == {"text": "v3"}
    assert len(calls) == 3  # the node re-runs from its start on every resume


def test_resume_with_update_applies_the_update_before_the_node_reruns(saver):
    class State(TypedDict):
        age: Optional[str]
        name: Optional[str]

    def human_node(state):
        name = interrupt("what is your name?") if not state.get("name") else "N/A"
        age = interrupt("what is your age?") if not state.get("age") else "N/A"
        return {"age": age, "name": name}

    graph = StateGraph(State).add_node("human_node", human_node).add_edge(START, "human_node") \
        .compile(checkpointer=saver)
    config = cfg()
    graph.invoke({"age": None, "name": None}, config)
    chunks = list(graph.stream(Command(resume="John", update={"name": "foo"}), config))
    assert chunks == [{"human_node": {"age": "John", "name": "N/A"}}]


def test_a_sibling_that_finished_keeps_its_writes_and_is_not_rerun(saver):
    counts = {}

    def worker(state):
        counts["worker"] = counts.get("worker", 0) + 1
        return {"vals": ["worker done"]}

    def asker(state):
        counts["asker"] = counts.get("asker", 0) + 1
        return {"vals": [f"asked:{interrupt('ok?')}"]}

    graph = (StateGraph(Votes).add_node("worker", worker).add_node("asker", asker)
             .add_edge(START, "worker").add_edge(START, "asker").compile(checkpointer=saver))
    config = cfg()
    graph.invoke({"vals": []}, config)
    snapshot = graph.get_state(config)
    assert snapshot.next == ("asker",)
    out = graph.invoke(Command(resume="yes"), config)
    assert sorted(out["vals"]) == ["asked:yes", "worker done"]
    assert counts == {"worker": 1, "asker": 2}


def test_a_new_input_on_an_interrupted_thread_starts_a_fresh_run(saver):
    graph, config = review_graph(saver), cfg()
    old = graph.invoke({"text": "first"}, config)["__interrupt__"][0]
    new = graph.invoke({"text": "second"}, config)["__interrupt__"][0]
    assert new.id != old.id and new.value == {"text_to_revise": "second"}
    with pytest.raises(InvalidResumeError, match="not pending"):
        graph.invoke(Command(resume={old.id: "late"}), config)
    assert graph.invoke(Command(resume="done"), config) == {"text": "done"}


def test_validation_loop_reasks_until_valid(saver):
    class Age(TypedDict):
        age: int

    def get_age(state):
        prompt = "What is your age?"
        while True:
            answer = interrupt(prompt)
            if isinstance(answer, int) and answer > 0:
                return {"age": answer}
            prompt = f"'{answer}' is not a valid age. Please enter a positive number."

    graph = StateGraph(Age).add_node("get_age", get_age).add_edge(START, "get_age").compile(checkpointer=saver)
    config = cfg()
    assert graph.invoke({}, config)["__interrupt__"][0].value == "What is your age?"
    retry = graph.invoke(Command(resume="thirty"), config)["__interrupt__"][0]
    assert retry.value == "'thirty' is not a valid age. Please enter a positive number."
    assert graph.invoke(Command(resume=30), config) == {"age": 30}


def test_conditional_interrupt_only_when_needed(saver):
    class Conf(TypedDict):
        confidence: float
        status: str

    def conditional_review(state):
        if state["confidence"] < 0.8:
            approval = interrupt({"message": "Low confidence, review?"})
            if not approval["proceed"]:
                return {"status": "rejected"}
        return {"status": "approved"}

    graph = StateGraph(Conf).add_node("r", conditional_review).add_edge(START, "r").compile(checkpointer=saver)
    assert graph.invoke({"confidence": 0.9}, cfg()) == {"confidence": 0.9, "status": "approved"}
    config = cfg()
    assert "__interrupt__" in graph.invoke({"confidence": 0.5}, config)
    assert graph.invoke(Command(resume={"proceed": False}), config)["status"] == "rejected"


async def test_parallel_tasks_run_concurrently(saver):
    # Each node waits for the other to have started: sequential execution would deadlock.
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    def make(me, other):
        async def node(state):
            started[me].set()
            await asyncio.wait_for(started[other].wait(), timeout=5)
            return {"vals": [me]}
        return node

    graph = (StateGraph(Votes).add_node("a", make("a", "b")).add_node("b", make("b", "a"))
             .add_edge(START, "a").add_edge(START, "b").compile(checkpointer=saver))
    out = await graph.ainvoke({"vals": []}, cfg())
    assert sorted(out["vals"]) == ["a", "b"]
