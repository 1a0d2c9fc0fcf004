"""The superstep algorithm, as pure functions: no saver, no I/O, no clock.

What the loop (engine/runtime/loop.py) decides between loading a checkpoint and saving the
next one lives here, so it can be tested on plain values: the ids and namespaces of tasks, how
a checkpoint's pending writes read back (`SavedState`), applying a step's writes through the
reducers, the next tasks and joins after a step, when a breakpoint fires, and which pending
interrupts a resume value answers. The runner (engine/runtime/runner.py) runs the tasks;
the loop loads, persists and emits events. As LangGraph's `_algo` beside `_runner` and `_loop`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable, Mapping, Sequence

from engine.constants import END, ERROR, INTERRUPT, RESUME, START
from engine.errors import InvalidResumeError
from engine.runtime.node import TaskOutcome, TaskResult
from engine.types import Interrupt, interrupt_id

# The channels of a checkpoint's pending writes besides the constants' INTERRUPT/RESUME/ERROR.
TASK = "__task__"  # a finished task's result (TaskResult.to_json)
UPDATE = "__update__"  # the Command(update=...) given with a resume, applied before the nodes' writes
BREAKPOINT = "__breakpoint__"  # the static breakpoint the run stopped at
GRAPH_TASK = "__graph__"  # the task id of writes that belong to the run, not to one task
GOTO = "__goto__"  # the Command(goto=...) a run continued with: more tasks for the checkpoint's step

# What an interrupt id looks like: a resume map whose keys all look like this is a map by id.
_ID_LIKE = re.compile(r"^[0-9a-f]{32}$")


# --- task ids -------------------------------------------------------------------------------------
def task_id_for(checkpoint_id: str, ns: str, name: str, index: int) -> str:
    """The id of the `index`-th task of a checkpoint: stable, so a re-run finds its writes."""
    return hashlib.sha256(f"{checkpoint_id}\x00{ns}\x00{name}\x00{index}".encode()).hexdigest()[:32]


def task_ns(run_ns: str, name: str, task_id: str) -> str:
    """The namespace of a task of a run in `run_ns` (its interrupts' and subgraphs' prefix)."""
    own = f"{name}:{task_id}"
    return f"{run_ns}|{own}" if run_ns else own


def new_tasks(checkpoint_id: str, ns: str, names: Sequence[str], sends: Sequence[tuple[str, Any]]) -> list[dict]:
    """The tasks a new checkpoint names: the routed nodes, then one per Send, with their ids."""
    tasks = [{"name": n} for n in names] + [{"name": n, "arg": a} for n, a in sends]
    for index, task in enumerate(tasks):
        task["id"] = task_id_for(checkpoint_id, ns, task["name"], index)
    return tasks


def bump_versions(versions: dict, changed: Iterable[str]) -> None:
    """Advance the version of each channel a step changed."""
    for key in changed:
        versions[key] = int(versions.get(key, 0)) + 1


# --- a loaded checkpoint --------------------------------------------------------------------------
class SavedState:
    """A loaded checkpoint and its pending writes, decoded."""

    def __init__(self, saved):
        self.config = saved.config
        self.checkpoint = saved.checkpoint
        self.metadata = saved.metadata
        self.parent_config = saved.parent_config
        self.results: dict[str, TaskResult] = {}
        self.interrupts: dict[str, list[Interrupt]] = {}
        self.resume: dict[str, list] = {}
        self.errors: dict[str, dict] = {}
        self.updates: list = []
        self.breakpoint: dict | None = None
        for task_id, channel, value in saved.pending_writes:
            if channel == TASK:
                self.results[task_id] = TaskResult.from_json(value)
            elif channel == INTERRUPT:
                self.interrupts[task_id] = list(value)
            elif channel == RESUME:
                self.resume[task_id] = list(value)
            elif channel == ERROR:
                self.errors[task_id] = value
            elif channel == UPDATE:
                self.updates = list(value)
            elif channel == BREAKPOINT:
                self.breakpoint = value
            elif channel == GOTO:
                self.checkpoint = with_goto(self.checkpoint, value, self.config)
        # Every interrupt raised in the step, as a record of it shows them (engine/runtime/snapshot.py).
        self.raised: dict[str, list[Interrupt]] = {k: list(v) for k, v in self.interrupts.items()}
        # A task that finished has no pending interrupt any more.
        for task_id in self.results:
            self.interrupts.pop(task_id, None)
        # Nor one whose own interrupt was answered and which then failed (its answer is saved:
        # invoke(None) runs it again with it). get_state still shows it, as LangGraph does.
        self.answered: set[str] = set()
        conf = (saved.config or {}).get("configurable") or {}
        for task in saved.checkpoint.get("tasks", ()):
            answers = self.resume.get(task["id"])
            if answers and task["id"] in self.interrupts:
                own_ns = task_ns(str(conf.get("checkpoint_ns", "")), task["name"], task["id"])
                answered = {interrupt_id(str(conf.get("thread_id")), own_ns, k) for k in range(len(answers))}
                self.answered |= {i.id for i in self.interrupts[task["id"]] if i.id in answered}

    @property
    def id(self) -> str:
        return self.checkpoint["id"]

    @property
    def tasks(self) -> list[dict]:
        return self.checkpoint["tasks"]

    def pending_interrupts(self) -> list[Interrupt]:
        """The interrupts waiting for an answer."""
        return [i for i in self.shown_interrupts() if i.id not in self.answered]

    def shown_interrupts(self) -> list[Interrupt]:
        """The interrupts of the tasks still to finish, answered or not (get_state's)."""
        out: list[Interrupt] = []
        for task in self.tasks:
            out.extend(self.interrupts.get(task["id"], []))
        return out


def with_goto(checkpoint: dict, goto: Sequence, config: Mapping[str, Any]) -> dict:
    """The checkpoint with the tasks a Command(goto=...) adds to its step ([name] or [name, arg]
    each), as LangGraph runs them from the head's pending writes (no checkpoint of their own)."""
    ns = str(((config or {}).get("configurable") or {}).get("checkpoint_ns", ""))
    tasks = list(checkpoint["tasks"])
    for item in goto:
        task = {"name": item[0]} if len(item) == 1 else {"name": item[0], "arg": item[1]}
        task["id"] = task_id_for(checkpoint["id"], ns, task["name"], len(tasks))
        task["added"] = True  # not the checkpoint's own: get_state does not list it, as LangGraph
        tasks.append(task)
    return {**checkpoint, "tasks": tasks}


# --- writes ---------------------------------------------------------------------------------------
def apply_updates(schema: Any, values: dict, updates: Sequence[Mapping[str, Any]]) -> set[str]:
    """Apply the Command(update=...) writes given with a resume to `values` (in place) through
    the reducers; returns the channels they changed."""
    changed: set[str] = set()
    for update in updates:
        changed |= schema.apply(values, [("Command(update=...)", k, v) for k, v in update.items()])
    return changed


def write_order(task: Mapping[str, Any]) -> tuple:
    """The order a step's writes reach the reducers, as LangGraph's (tasks sorted by path): the
    routed nodes by name, then the Send tasks in the order they were sent."""
    return (1, "") if "arg" in task else (0, task["name"])


def apply_results(schema: Any, values: dict, finished: Sequence[tuple[Mapping[str, Any], TaskResult]]) -> set[str]:
    """Apply finished tasks' results ((task, result) pairs) to `values` (in place), together,
    through the reducers, in LangGraph's order; returns the channels they changed."""
    writes: list[tuple[str, str, Any]] = []
    for task, result in sorted(finished, key=lambda pair: write_order(pair[0])):
        writes.extend((f"node '{task['name']}'", k, v) for k, v in result.writes)
    return schema.apply(values, writes)


def apply_task_writes(schema: Any, values: dict, outcomes: Sequence[TaskOutcome]) -> set[str]:
    """Apply the finished tasks' writes to `values` (in place), together, through the reducers;
    returns the channels they changed."""
    return apply_results(schema, values, [(o.task, o.result) for o in outcomes])


# --- routing --------------------------------------------------------------------------------------
def next_tasks(outcomes: Sequence[TaskOutcome], joins: Sequence[tuple[Sequence[str], str]],
               node_order: Iterable[str], waiting: Mapping[str, Sequence[str]]
               ) -> tuple[list[str], list[tuple[str, Any]], dict[str, list[str]]]:
    """What runs after a step whose tasks all finished: (the nodes, in the graph's order and
    once each, the Sends, and the joins still waiting for some of their sources).

    Each result's `goto` already holds its static edges and its branches' choices. A join
    (`add_edge([a, b], c)`) runs `c` once all its sources have finished, in this step or in
    earlier ones (`waiting`, carried in the checkpoint)."""
    names: list[str] = []
    sends: list[tuple[str, Any]] = []
    still = {k: list(v) for k, v in waiting.items()}
    for outcome in outcomes:
        names.extend(outcome.result.goto)
        sends.extend(outcome.result.sends)
        for sources, target in joins:
            if outcome.task["name"] in sources:
                got = still.setdefault(target, [])
                if outcome.task["name"] not in got:
                    got.append(outcome.task["name"])
    for sources, target in joins:
        if target in still and set(sources) <= set(still[target]):
            del still[target]
            names.append(target)
    order = {name: i for i, name in enumerate(node_order)}
    names = sorted(dict.fromkeys(n for n in names if n != END), key=lambda n: order[n])
    return names, sends, still


def is_start_task(tasks: Sequence[dict]) -> bool:
    """Whether these are an input checkpoint's tasks: the one `__start__` task carrying the input."""
    return len(tasks) == 1 and tasks[0]["name"] == START


# --- breakpoints ----------------------------------------------------------------------------------
def breakpoint_list(value: Sequence[str] | str | None) -> list[str] | str:
    """interrupt_before/after as the run uses them: the string "*" (every node) or a list of
    node names. As LangGraph, only the string "*" is a wildcard; ["*"] names a node "*"."""
    if value == "*":
        return "*"
    return [value] if isinstance(value, str) else list(value or [])


def breaks(breakpoints: Sequence[str] | str, names: Sequence[str]) -> bool:
    """Whether a static breakpoint list (the string "*" for every node; a "*" in a list is a
    node name, as in LangGraph) names one of these tasks' nodes."""
    if breakpoints == "*":
        return bool(names)
    return any(n in breakpoints for n in names)


def breaks_before(interrupt_before: Sequence[str], names: Sequence[str], *, passed: bool) -> bool:
    """Whether the run stops before running these tasks; `passed`: it stopped there already
    and was continued with invoke(None)."""
    return not passed and breaks(interrupt_before, names)


def breaks_after(interrupt_after: Sequence[str], names: Sequence[str], next_names: Sequence) -> bool:
    """Whether the run stops after a step that ran `names` (not when nothing is left to run)."""
    return breaks(interrupt_after, names) and bool(next_names)


# LangGraph records what the before-breakpoints have seen as the channel versions of its
# interrupt channel (`versions_seen[INTERRUPT]`), set to the current versions whenever a run
# resumes (invoke(None), any Command): a breakpoint fires only for tasks triggered by writes
# made after that. Every step's writes trigger its next tasks, so this comes to: the first step
# of a resumed run never stops at a before-breakpoint (the one it stopped at, one a node that
# also calls interrupt() would hit on every resume, one after update_state), later steps do.
RESUMED_RUNS_PASS_BEFORE_BREAKPOINTS = True


def continues_past_breakpoint(breakpoint: Mapping[str, Any] | None) -> bool:
    """invoke(None) after a before-breakpoint runs the tasks it stopped in front of."""
    return bool(breakpoint and breakpoint.get("when") == "before")


# --- resume matching ------------------------------------------------------------------------------
def resolve_resume(resume: Any, pending: Sequence[Interrupt], thread_id: str) -> dict[str, Any]:
    """Which pending interrupts `Command(resume=...)` answers: {interrupt id: answer}.

    A map naming pending ids answers those (naming any other id besides is refused); a map
    whose keys all look like interrupt ids but name none pending is refused (stale, or from
    another thread); anything else is one answer, for the only pending interrupt (refused as
    ambiguous when several are pending)."""
    pending_ids = [i.id for i in pending]
    listed = ", ".join(pending_ids)
    if isinstance(resume, dict) and resume:
        keys = [k for k in resume]
        matching = [k for k in keys if k in pending_ids]
        if matching:
            unknown = [k for k in keys if k not in pending_ids]
            if unknown:
                raise InvalidResumeError(
                    f"the resume map names interrupt id(s) {', '.join(map(str, unknown))} that are not "
                    f"pending on thread '{thread_id}'. Pending: {listed}."
                )
            return dict(resume)
        if all(isinstance(k, str) and _ID_LIKE.match(k) for k in keys):
            raise InvalidResumeError(
                f"the resume map names interrupt id(s) {', '.join(keys)} that are not pending on thread "
                f"'{thread_id}' (already answered, or from another thread). Pending: {listed}."
            )
    if len(pending) > 1:
        raise InvalidResumeError(
            f"Command(resume=value) is ambiguous: {len(pending)} interrupts are pending on thread "
            f"'{thread_id}' ({listed}). Answer them by id: Command(resume={{id: value, ...}})."
        )
    return {pending[0].id: resume}


def answering_tasks(tasks: Sequence[dict], interrupts: Mapping[str, Sequence[Interrupt]],
                    answers: Mapping[str, Any]) -> dict[str, str]:
    """{interrupt id: the id of the task it is pending on} for the answered interrupts."""
    return {item.id: task["id"] for task in tasks for item in interrupts.get(task["id"], [])
            if item.id in answers}


def resume_values(tasks: Sequence[dict], interrupts: Mapping[str, Sequence[Interrupt]],
                  resume: Mapping[str, list], answers: Mapping[str, Any], run_ns: str,
                  thread_id: str) -> dict[str, list]:
    """The new resume lists of the tasks these answers reach: {task id: its saved resume values
    followed by the answers to its own interrupts not answered yet}.

    A task's own interrupts are those raised in its namespace (answers to interrupts raised in
    its subgraphs reach them through the task's context, not its resume list). The interrupt
    at position i of a task answered already when its resume list has more than i values: a
    recovery applying the same decision again adds nothing."""
    out: dict[str, list] = {}
    for task in tasks:
        ns = task_ns(run_ns, task["name"], task["id"])
        own = [i for i in interrupts.get(task["id"], []) if i.ns == ns and i.id in answers]
        existing = list(resume.get(task["id"], []))
        answered = {interrupt_id(thread_id, ns, index) for index in range(len(existing))}
        new = [answers[i.id] for i in own if i.id not in answered]
        if new:
            out[task["id"]] = existing + new
    return out


__all__ = [
    "TASK", "UPDATE", "BREAKPOINT", "GRAPH_TASK", "GOTO", "with_goto", "task_id_for", "task_ns", "new_tasks", "bump_versions",
    "SavedState", "apply_updates", "write_order", "apply_results", "apply_task_writes", "next_tasks", "breaks", "breaks_before",
    "breaks_after", "breakpoint_list", "is_start_task", "continues_past_breakpoint",
    "RESUMED_RUNS_PASS_BEFORE_BREAKPOINTS", "resolve_resume",
    "answering_tasks", "resume_values",
]
