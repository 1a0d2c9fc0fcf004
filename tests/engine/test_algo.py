"""The superstep algorithm (engine/runtime/algo.py) on plain values: no saver, no graph run."""

import operator
from typing import Annotated, TypedDict

import pytest

from engine.checkpoint.base import CheckpointTuple
from engine.constants import END, INTERRUPT, RESUME
from engine.errors import InvalidResumeError
from engine.graph.schema import StateSchema
from engine.runtime import algo
from engine.runtime.node import TaskOutcome, TaskResult
from engine.types import Interrupt, interrupt_id

THREAD = "t-1"


def outcome(name, goto=(), sends=(), writes=(), task_id=None):
    task = {"name": name, "id": task_id or f"id-{name}"}
    return TaskOutcome(task, result=TaskResult(writes=list(writes), goto=list(goto), sends=list(sends)))


def pending_on(task, index=0, run_ns=""):
    """The interrupt a task raised `index`-th, as interrupt() names it."""
    ns = algo.task_ns(run_ns, task["name"], task["id"])
    return Interrupt(value={"q": index}, id=interrupt_id(THREAD, ns, index), ns=ns, node=task["name"])


# --- task ids -------------------------------------------------------------------------------------

def test_task_ids_are_stable_and_distinct():
    first = algo.task_id_for("cp-1", "", "review", 0)
    assert first == algo.task_id_for("cp-1", "", "review", 0)
    assert len(first) == 32 and int(first, 16) >= 0
    others = {algo.task_id_for("cp-2", "", "review", 0), algo.task_id_for("cp-1", "sub", "review", 0),
              algo.task_id_for("cp-1", "", "other", 0), algo.task_id_for("cp-1", "", "review", 1)}
    assert first not in others and len(others) == 4


def test_task_namespaces_nest():
    assert algo.task_ns("", "review", "abc") == "review:abc"
    assert algo.task_ns("outer:1", "review", "abc") == "outer:1|review:abc"


def test_new_tasks_name_nodes_then_sends_with_ids_by_position():
    tasks = algo.new_tasks("cp-1", "", ["a", "b"], [("worker", {"n": 1}), ("worker", {"n": 2})])
    assert [(t["name"], t.get("arg")) for t in tasks] == [("a", None), ("b", None), ("worker", {"n": 1}),
                                                          ("worker", {"n": 2})]
    assert [t["id"] for t in tasks] == [algo.task_id_for("cp-1", "", t["name"], i) for i, t in enumerate(tasks)]
    assert "arg" not in tasks[0]


def test_bump_versions_advances_only_changed_channels():
    versions = {"a": 1, "b": 4}
    algo.bump_versions(versions, {"a", "c"})
    assert versions == {"a": 2, "b": 4, "c": 1}


# --- a loaded checkpoint --------------------------------------------------------------------------

def test_saved_state_decodes_pending_writes_and_forgets_interrupts_of_finished_tasks():
    tasks = [{"name": "a", "id": "ta"}, {"name": "b", "id": "tb"}]
    ia, ib = pending_on(tasks[0]), pending_on(tasks[1])
    checkpoint = {"id": "cp-1", "step": 3, "tasks": tasks, "channel_values": {}}
    writes = [("ta", INTERRUPT, [ia]), ("tb", INTERRUPT, [ib]), ("tb", RESUME, ["yes"]),
              ("tb", algo.TASK, TaskResult(goto=["c"]).to_json()),
              (algo.GRAPH_TASK, algo.BREAKPOINT, {"when": "before", "nodes": ["a"]})]
    state = algo.SavedState(CheckpointTuple({"configurable": {}}, checkpoint, {}, None, writes))
    assert state.id == "cp-1" and state.tasks == tasks
    assert state.pending_interrupts() == [ia]  # b finished: its interrupt is answered
    assert state.results["tb"].goto == ["c"] and state.resume == {"tb": ["yes"]}
    assert state.breakpoint == {"when": "before", "nodes": ["a"]}


# --- writes ---------------------------------------------------------------------------------------

class Log(TypedDict):
    log: Annotated[list[str], operator.add]
    note: str


def test_updates_then_task_writes_go_through_the_reducers():
    schema = StateSchema(Log)
    values = {"log": ["start"], "note": "x"}
    changed = algo.apply_updates(schema, values, [{"note": "edited"}])
    assert changed == {"note"} and values == {"log": ["start"], "note": "edited"}
    changed = algo.apply_task_writes(schema, values, [outcome("a", writes=[("log", ["a"])]),
                                                      outcome("b", writes=[("log", ["b"])])])
    assert changed == {"log"} and values["log"] == ["start", "a", "b"]


# --- next tasks -----------------------------------------------------------------------------------

NODES = ["a", "b", "c", "join", "worker"]


def test_next_tasks_in_graph_order_once_each_without_end():
    names, sends, waiting = algo.next_tasks([outcome("b", goto=["c", "a", END]), outcome("a", goto=["c"])],
                                            [], NODES, {})
    assert names == ["a", "c"] and sends == [] and waiting == {}


def test_sends_are_kept_in_order_and_repeat():
    names, sends, _ = algo.next_tasks([outcome("a", sends=[("worker", 1), ("worker", 2)]),
                                       outcome("b", sends=[("worker", 1)])], [], NODES, {})
    assert names == [] and sends == [("worker", 1), ("worker", 2), ("worker", 1)]


def test_a_join_waits_for_all_its_sources_across_steps():
    joins = [(("a", "b"), "join")]
    names, _, waiting = algo.next_tasks([outcome("a", goto=["c"])], joins, NODES, {})
    assert names == ["c"] and waiting == {"join": ["a"]}
    before = {k: list(v) for k, v in waiting.items()}
    names, _, after = algo.next_tasks([outcome("b")], joins, NODES, waiting)
    assert names == ["join"] and after == {}
    assert waiting == before  # the carried `waiting` is not changed in place


def test_a_join_whose_sources_finish_together_runs_once():
    names, _, waiting = algo.next_tasks([outcome("a", goto=["join"]), outcome("b")], [(("a", "b"), "join")],
                                        NODES, {})
    assert names == ["join"] and waiting == {}


# --- breakpoints ----------------------------------------------------------------------------------

def test_breakpoints_by_name_and_star():
    assert algo.breaks(["b"], ["a", "b"]) and not algo.breaks(["c"], ["a", "b"])
    assert algo.breaks("*", ["a"]) and not algo.breaks([], ["a"])
    assert not algo.breaks(["*"], ["a"])  # as LangGraph: only the string "*" is a wildcard
    assert algo.breakpoint_list("*") == "*" and algo.breakpoint_list(["*"]) == ["*"]
    assert algo.breakpoint_list("b") == ["b"] and algo.breakpoint_list(None) == []


def test_before_breakpoint_fires_unless_passed_and_after_only_with_tasks_left():
    assert algo.breaks_before(["a"], ["a"], passed=False)
    assert not algo.breaks_before(["a"], ["a"], passed=True)
    assert algo.breaks_after("*", ["a"], [{"name": "b"}])
    assert not algo.breaks_after("*", ["a"], [])  # the run ended: nothing to stop in front of
    assert not algo.breaks_after(["b"], ["a"], [{"name": "b"}])  # after-breakpoints name what ran


def test_continuing_passes_only_a_before_breakpoint():
    assert algo.continues_past_breakpoint({"when": "before", "nodes": ["a"]})
    assert not algo.continues_past_breakpoint(None)
    assert not algo.continues_past_breakpoint({"when": "after"})


# --- resume matching ------------------------------------------------------------------------------

A, B = {"name": "a", "id": "ta"}, {"name": "b", "id": "tb"}


def test_scalar_answers_the_only_pending_interrupt():
    only = pending_on(A)
    assert algo.resolve_resume("yes", [only], THREAD) == {only.id: "yes"}
    # a dict that does not look like a map of ids is a value too
    assert algo.resolve_resume({"type": "accept"}, [only], THREAD) == {only.id: {"type": "accept"}}


def test_map_answers_by_id():
    ia, ib = pending_on(A), pending_on(B)
    assert algo.resolve_resume({ib.id: 2}, [ia, ib], THREAD) == {ib.id: 2}
    assert algo.resolve_resume({ia.id: 1, ib.id: 2}, [ia, ib], THREAD) == {ia.id: 1, ib.id: 2}


def test_scalar_with_several_pending_is_refused_as_ambiguous():
    with pytest.raises(InvalidResumeError, match="ambiguous: 2 interrupts"):
        algo.resolve_resume("yes", [pending_on(A), pending_on(B)], THREAD)


def test_map_naming_an_id_that_is_not_pending_is_refused():
    ia = pending_on(A)
    with pytest.raises(InvalidResumeError, match="not-an-id"):
        algo.resolve_resume({ia.id: 1, "not-an-id": 2}, [ia], THREAD)


def test_stale_map_of_ids_is_refused():
    stale = "0" * 32
    with pytest.raises(InvalidResumeError, match="already answered, or from another thread"):
        algo.resolve_resume({stale: "yes"}, [pending_on(A)], THREAD)


def test_answering_tasks_maps_each_answered_interrupt_to_its_task():
    ia, ib = pending_on(A), pending_on(B)
    interrupts = {"ta": [ia], "tb": [ib]}
    assert algo.answering_tasks([A, B], interrupts, {ib.id: 1}) == {ib.id: "tb"}


def test_resume_values_append_new_answers_and_skip_answered_positions():
    first, second = pending_on(A, 0), pending_on(A, 1)
    interrupts = {"ta": [first, second]}
    # nothing saved yet: both answers, in the task's order
    assert algo.resume_values([A], interrupts, {}, {second.id: "s", first.id: "f"}, "", THREAD) == {"ta": ["f", "s"]}
    # the first was answered in an earlier run: only the second is added
    assert algo.resume_values([A], interrupts, {"ta": ["f"]}, {first.id: "again", second.id: "s"}, "",
                              THREAD) == {"ta": ["f", "s"]}
    # a recovery applying the same decisions again adds nothing
    assert algo.resume_values([A], interrupts, {"ta": ["f", "s"]}, {first.id: "f", second.id: "s"}, "",
                              THREAD) == {}


def test_answers_to_a_subgraphs_interrupts_are_not_the_tasks_own():
    inner = pending_on({"name": "inner", "id": "ti"}, 0, run_ns=algo.task_ns("", "a", "ta"))
    assert algo.resume_values([A], {"ta": [inner]}, {}, {inner.id: "yes"}, "", THREAD) == {}
