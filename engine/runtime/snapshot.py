"""A saved checkpoint as `get_state()` shows it: LangGraph's `StateSnapshot`.

Two views, as LangGraph 1.2's `_prepare_state_snapshot`:
- live (get_state without a checkpoint id: the thread as it is now): the values include the
  writes of tasks that already finished (a sibling that finished while another paused), `next`
  lists only the tasks still to run;
- a record of the step (get_state of a checkpoint id, get_state_history): the values as the
  step started, every task of the step in `next`, and every interrupt they raised.
Either way the Command(update=...) given with a resume is applied, values are the whole state
(an output schema filters what invoke returns, not this), and a task whose node is a compiled
subgraph shows its state: a config naming its namespace, or (subgraphs=True) its own snapshot.
"""

from __future__ import annotations

from typing import Any

from engine.checkpoint.base import make_config
from engine.runtime import algo
from engine.runtime.algo import SavedState, task_ns
from engine.types import PregelTask, StateSnapshot


def subgraph_of(graph: Any, node: str) -> Any:
    """The compiled subgraph a node is, or None (a subgraph called inside a function is not seen,
    as in LangGraph)."""
    spec = graph.builder.nodes.get(node)
    runnable = getattr(spec, "runnable", None)
    return runnable if runnable is not None and hasattr(runnable, "builder") and hasattr(runnable, "schema") else None


def values_of(graph: Any, saved: SavedState, *, live: bool) -> dict:
    values = dict(saved.checkpoint["channel_values"])
    algo.apply_updates(graph.schema, values, saved.updates)
    if live:
        finished = [(task, saved.results[task["id"]]) for task in saved.tasks if task["id"] in saved.results]
        algo.apply_results(graph.schema, values, finished)
    return values


async def snapshot(graph: Any, saved: SavedState, saver: Any, *, live: bool, recurse: bool) -> StateSnapshot:
    conf = saved.config.get("configurable") or {}
    run_ns = str(conf.get("checkpoint_ns", ""))
    tasks = []
    for task in saved.tasks:
        if task.get("added"):  # added by a Command(goto=...): LangGraph's snapshots do not show it
            continue
        error = saved.errors.get(task["id"])
        result = saved.results.get(task["id"])
        state = None
        sub = subgraph_of(graph, task["name"])
        if sub is not None:
            ns = task_ns(run_ns, task["name"], task["id"])
            config = {"configurable": {"thread_id": conf.get("thread_id"), "checkpoint_ns": ns}}
            state = await state_of(sub, saver, config, live=True, recurse=True) if recurse else config
        interrupts = saved.interrupts.get(task["id"], []) if live else saved.raised.get(task["id"], [])
        tasks.append(PregelTask(
            id=task["id"], name=task["name"], path=("__pregel_pull", task["name"]),
            # as LangGraph shows a stored error: its repr, as text
            error=f"{error['type']}({error['message']!r})" if error else None,
            interrupts=tuple(interrupts), state=state,
            result=result.update if result is not None else None,
        ))
    return StateSnapshot(
        values=values_of(graph, saved, live=live),
        next=tuple(t.name for t in tasks if not live or t.id not in saved.results),
        config=saved.config,
        metadata=saved.metadata,
        created_at=saved.checkpoint.get("ts"),
        parent_config=saved.parent_config,
        tasks=tuple(tasks),
        interrupts=tuple(i for t in tasks for i in t.interrupts),
    )


async def state_of(graph: Any, saver: Any, config: dict, *, live: bool, recurse: bool) -> StateSnapshot:
    """get_state(config) of `graph` (or of the subgraph whose namespace the config names)."""
    configurable = (config or {}).get("configurable") or {}
    ns = str(configurable.get("checkpoint_ns", ""))
    saved = await saver.aget_tuple(make_config(str(configurable.get("thread_id")), ns, configurable.get("checkpoint_id")))
    if saved is None:
        return StateSnapshot(values={}, next=(), config=config, metadata=None, created_at=None,
                             parent_config=None, tasks=(), interrupts=())
    return await snapshot(graph_for_ns(graph, ns), SavedState(saved), saver, live=live, recurse=recurse)


def graph_for_ns(graph: Any, ns: str) -> Any:
    """The graph whose runs are saved in namespace `ns` ("node:task_id|node:task_id..."), found
    through the nodes that are compiled subgraphs; `graph` itself for "" or a namespace it
    cannot follow (a subgraph called inside a function)."""
    current = graph
    for part in [p for p in ns.split("|") if p]:
        sub = subgraph_of(current, part.split(":", 1)[0].split("#", 1)[0])
        if sub is None:
            return current
        current = sub
    return current


__all__ = ["snapshot", "state_of", "values_of", "subgraph_of", "graph_for_ns"]
