"""A sync tool in `create_tool_agent` runs on a thread when the loop is shared (ainvoke, the
TUI, `inbox serve`, `inbox worker --concurrency N`), so one slow tool never blocks the other
runs on that loop. Checked without timing: two tool calls must be inside the tool at the same
moment to get past a barrier."""

import asyncio
import threading


from engine.checkpoint.sqlite import SqliteSaver
from engine.prebuilt import ScriptedModel, add_human_in_the_loop, create_tool_agent
from engine.runtime.decisions import apply_pending_decisions, claim


def agent_with(tool, reviewed: bool, saver):
    def propose(messages):
        return {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "name": tool.__name__, "args": {"text": "x"}}]}

    model = ScriptedModel([propose, "Done."])
    return create_tool_agent(model, [add_human_in_the_loop(tool) if reviewed else tool], checkpointer=saver,
                             name="agent")


def meeting_tool():
    """A sync tool whose call returns only once a second call is inside it too."""
    barrier = threading.Barrier(2, timeout=10)

    def meet(text: str) -> str:
        """Waits for the other run's call."""
        barrier.wait()
        return "met"

    return meet


async def test_two_runs_on_one_loop_are_inside_their_sync_tools_at_once(tmp_path):
    meet = meeting_tool()
    async with SqliteSaver.from_conn_string(tmp_path / "inbox.sqlite") as saver:
        graph = agent_with(meet, False, saver)
        results = await asyncio.gather(*(graph.ainvoke({"messages": [{"role": "user", "content": "go"}]},
                                                       {"configurable": {"thread_id": f"t{n}"}}) for n in range(2)))
    assert [r["messages"][2]["content"] for r in results] == ["met", "met"]


async def test_a_worker_applying_two_decisions_runs_their_reviewed_sync_tools_at_once(tmp_path):
    meet = meeting_tool()
    async with SqliteSaver.from_conn_string(tmp_path / "inbox.sqlite") as saver:
        graph = agent_with(meet, True, saver)
        for n in range(2):
            out = await graph.ainvoke({"messages": [{"role": "user", "content": "go"}]},
                                      {"configurable": {"thread_id": f"t{n}"}})
            await claim(saver, out["__interrupt__"][0].id, [{"type": "accept", "args": None}], by="test")
        applied = await apply_pending_decisions(saver, {"agent": graph}, concurrency=2)
    assert sorted(a.status for a in applied) == ["done", "done"]


def test_invoke_still_runs_the_tool_on_its_own_thread(tmp_path):
    seen = []

    def where(text: str) -> str:
        """Records its thread."""
        seen.append(threading.get_ident())
        return "ok"

    with SqliteSaver.from_conn_string(tmp_path / "inbox.sqlite") as saver:
        agent_with(where, False, saver).invoke({"messages": [{"role": "user", "content": "go"}]},
                                               {"configurable": {"thread_id": "t"}})
    assert seen == [threading.get_ident()]  # invoke() owns its loop: no hop to a thread
