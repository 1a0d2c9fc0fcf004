"""Run every program in examples/ and compare its whole stdout to what it must print.

The examples are the LangGraph programs of the seed documents (/work/shared/seeds), ported
to `engine.*` imports. Each one runs in its own subprocess, from the repo root, exactly as
`python examples/<name>.py`. Interrupt ids (32 hex chars) are the only part of the output
that is not compared: they are replaced with `id='...'`, as the seeds write them.

Where did each expected output come from?
- Where the seed shows the program's output, it is the seed's (noted per entry).
- Otherwise it is what the same program printed under real LangGraph (imports swapped back
  to `langgraph.*`), checked with langgraph 0.6.11 and 1.2.22: the two printed the same
  thing, except that 1.2.22's `Interrupt` repr has an extra `response_schema=None` field.
  The seeds (seed 002: `Interrupt(value={'text_to_revise': 'original text'}, id='a0d9...')`,
  and its subgraph and non-determinism outputs) show `Interrupt(value=..., id=...)` with no
  such field, as langgraph 0.6.11 prints it, so the expected outputs follow the seeds.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = REPO_ROOT / "examples"

INTERRUPT_ID = re.compile(r"id='[0-9a-f]{32}'")


def normalize(stdout: str) -> str:
    return INTERRUPT_ID.sub("id='...'", stdout)


EXPECTED: dict[str, str] = {
    # Seed 002 "Add interrupts to any tool", ported to add_human_in_the_loop + create_tool_agent
    # with a scripted model; the seed shows no output (it needs an LLM), so this is the engine's:
    # the tool runs once with the accepted, then the edited, hotel name.
    "tool_review_agent": """\
--- accept ---
{'agent': {'messages': [{'role': 'assistant', 'content': '', 'tool_calls': [{'id': 'call_1', 'name': 'book_hotel', 'args': {'hotel_name': 'McKittrick hotel'}}]}]}}
review requested: {'action': 'book_hotel', 'args': {'hotel_name': 'McKittrick hotel'}}
{'tools': {'messages': [{'role': 'tool', 'tool_call_id': 'call_1', 'name': 'book_hotel', 'content': 'Successfully booked a stay at McKittrick hotel.'}]}}
{'agent': {'messages': [{'role': 'assistant', 'content': 'Successfully booked a stay at McKittrick hotel.'}]}}
--- edit ---
{'agent': {'messages': [{'role': 'assistant', 'content': '', 'tool_calls': [{'id': 'call_1', 'name': 'book_hotel', 'args': {'hotel_name': 'McKittrick hotel'}}]}]}}
review requested: {'action': 'book_hotel', 'args': {'hotel_name': 'McKittrick hotel'}}
{'tools': {'messages': [{'role': 'tool', 'tool_call_id': 'call_1', 'name': 'book_hotel', 'content': 'Successfully booked a stay at McKittrick Hotel.'}]}}
{'agent': {'messages': [{'role': 'assistant', 'content': 'Successfully booked a stay at McKittrick Hotel.'}]}}
""",
    # Seed 002 "Extended example: using `interrupt`". Both lines as the seed shows them.
    "interrupt_edit_text": """\
[Interrupt(value={'text_to_revise': 'original text'}, id='...')]
{'some_text': 'Edited text'}
""",
    # Seed 002 "Resuming Multiple interrupts". The line as the seed shows it.
    "parallel_resume_map": """\
{'text_1': 'edited text for original text 1', 'text_2': 'edited text for original text 2'}
""",
    # Seed 002 "Approve or reject" snippet, completed. The seed shows no output; real LangGraph's.
    "approve_or_reject": """\
{'llm_output': 'Paris is the capital of France.', '__interrupt__': [Interrupt(value={'question': 'Is this correct?', 'llm_output': 'Paris is the capital of France.'}, id='...')]}
{'llm_output': 'Paris is the capital of France.', 'decision': 'approved: ran some_node'}
""",
    # Seed 002 "Extended example: approve or reject with interrupt". The seed abbreviates the
    # first line as `Interrupt(value={...}, ...)` (no list brackets, id elided); the full line
    # is real LangGraph's, and so are the other two (the seed shows none).
    "approve_or_reject_extended": """\
[Interrupt(value={'question': 'Do you approve the following output?', 'llm_output': 'This is the generated output.'}, id='...')]
✅ Approved path taken.
{'llm_output': 'This is the generated output.', 'decision': 'approved'}
""",
    # Seed 002 "Review and edit state" snippet, completed. The seed shows no output; real LangGraph's.
    "edit_state": """\
{'llm_generated_summary': 'The original summary.', '__interrupt__': [Interrupt(value={'task': 'Review the output from the LLM and make any necessary edits.', 'llm_generated_summary': 'The original summary.'}, id='...')]}
{'llm_generated_summary': 'The edited text'}
""",
    # Seed 002 "Extended example: edit state with interrupt". The seed shows the first line
    # pretty-printed over several lines ("Example output"); `print()` writes it on one line,
    # with the same content. The other two lines are real LangGraph's.
    "edit_state_extended": """\
[Interrupt(value={'task': 'Please review and edit the generated summary if necessary.', 'generated_summary': 'The cat sat on the mat and looked at the stars.'}, id='...')]
✅ Using edited summary: The cat lay on the rug, gazing peacefully at the night sky.
{'summary': 'The cat lay on the rug, gazing peacefully at the night sky.'}
""",
    # Seed 002 "Validate human input" snippet, completed. Real LangGraph's output. A resume
    # answers the pending interrupt; the node reruns and earlier answers are replayed in order.
    "validate_age": """\
{'__interrupt__': [Interrupt(value='What is your age?', id='...')]}
{'__interrupt__': [Interrupt(value="'twenty-five is not a valid age. What is your age?", id='...')]}
{'__interrupt__': [Interrupt(value="'-1 is not a valid age. What is your age?", id='...')]}
The human in the loop is 25 years old.
{'age': 25}
""",
    # Seed 002 "Extended example: validating user input". The seed only describes the output
    # in comments ("First prompt", "Follow-up prompt with validation message", ...); real
    # LangGraph's output.
    "validate_age_extended": """\
[Interrupt(value='Please enter your age (must be a non-negative integer).', id='...')]
[Interrupt(value="'not a number' is not valid. Please enter a non-negative integer for age.", id='...')]
[Interrupt(value="'-10' is not valid. Please enter a non-negative integer for age.", id='...')]
✅ Human is 25 years old.
{'age': 25}
""",
    # Seed 002 "Setting static breakpoints". The seed shows no output; real LangGraph's.
    # stream_mode="values" emits the state at the start and after a step that wrote to it;
    # step_1..step_3 return None, so they emit nothing. Pausing before step_3 emits nothing
    # either (no `__interrupt__` chunk in "values" mode for a static breakpoint). Resuming
    # with None first emits the saved state. The 2nd/3rd lines are get_state(thread).next
    # and .values (the example prints those instead of the whole snapshot).
    "static_breakpoints": """\
{'input': 'hello world'}
---Step 1---
---Step 2---
('step_3',)
{'input': 'hello world'}
{'input': 'hello world'}
---Step 3---
""",
    # Seed 002 "Compile time" breakpoints snippet, completed. The seed shows no output; real
    # LangGraph's. `invoke()` stopped at a static breakpoint returns the state with NO
    # `__interrupt__` key (there is no Interrupt value to report).
    "static_breakpoints_compile_time": """\
{'visited': []}
('node_a',)
{'visited': ['node_a', 'node_b']}
('node_c',)
""",
    # Seed 002 "Run time" breakpoints snippet, completed. The seed shows no output; real
    # LangGraph's: the 2nd invoke (new input, no breakpoints) restarts and runs to the end;
    # the 3rd (None, nothing pending) returns the state unchanged.
    "static_breakpoints_run_time": """\
{'visited': []}
('node_a',)
{'visited': ['node_a', 'node_b', 'node_c']}
()
{'visited': ['node_a', 'node_b', 'node_c']}
()
""",
    # Seed 002 "Extended example: parent and subgraph execution flow". Exactly the seed's
    # "This will print out" block.
    "subgraph_counts": """\
Entered `parent_node` a total of 1 times
Entered `node_in_subgraph` a total of 1 times
Entered human_node in sub-graph a total of 1 times
{'__interrupt__': (Interrupt(value='what is your name?', id='...'),)}
--- Resuming ---
Entered `parent_node` a total of 2 times
Entered human_node in sub-graph a total of 2 times
Got an answer of 35
{'parent_node': {'state_counter': 1}}
""",
    # Seed 002 "Extended example: incorrect code that introduces non-determinism". Exactly
    # the seed's output block.
    "multiple_interrupts_non_determinism": """\
{'__interrupt__': (Interrupt(value='what is your name?', id='...'),)}
Name: N/A. Age: John
{'human_node': {'age': 'John', 'name': 'N/A'}}
""",
    # Seed 002 "Side effects after interrupt", completed. Real LangGraph's output; the side
    # effect runs once, on resume. The node returns nothing, so the state is unchanged.
    "side_effects_after_interrupt": """\
{'answer': '', '__interrupt__': [Interrupt(value='What is your name?', id='...')]}
api_call('Alice')
{'answer': ''}
""",
    # Seed 002 "Side effects in a separate node", completed. Real LangGraph's output.
    "side_effects_separate_node": """\
{'answer': '', '__interrupt__': [Interrupt(value='What is your name?', id='...')]}
api_call('Alice')
{'answer': 'Alice'}
""",
    # Seed 001 "Basic Interrupt", completed. The seed shows no output; real LangGraph's.
    "review_draft": """\
[Interrupt(value={'message': 'Review this draft', 'draft': 'Hi team, the launch moves to Friday.'}, id='...')]
{'draft': 'Hi team, the launch moves to Friday.', 'status': 'approved'}
""",
    # Seed 001 "Get Interrupt Status", completed. The seed shows no output; real LangGraph's.
    # `task.interrupts` is a tuple. The last line is `.next` after the resume.
    "interrupt_status": """\
Execution paused
Next nodes: ('human_review',)
Interrupt data: (Interrupt(value={'message': 'Review this draft', 'draft': 'Hi team, the launch moves to Friday.'}, id='...'),)
()
""",
    # Seed 001 "Multiple Interrupts", completed. The seed shows no output; real LangGraph's.
    "multi_review": """\
[Interrupt(value={'message': 'Review draft', 'draft': 'First draft'}, id='...')]
[Interrupt(value={'message': 'Final approval', 'draft': 'Edited draft'}, id='...')]
{'draft': 'First draft', 'final_draft': 'Approved draft'}
""",
    # Seed 001 "Conditional Interrupts", completed. The seed shows no output; real LangGraph's.
    "conditional_review": """\
{'confidence': 0.9, 'status': 'approved'}
{'confidence': 0.5, '__interrupt__': [Interrupt(value={'message': 'Low confidence, review?'}, id='...')]}
{'confidence': 0.5, 'status': 'rejected'}
""",
    # Seed 003 "Basic Interrupt + Resume". The seed shows
    # `[Interrupt(value='Do you approve this action?')]` -- its text lost formatting (even
    # the underscores of `result["__interrupt__"]`) and it leaves out the id, which every
    # Interrupt repr has (seed 002 shows it); so the first line is real LangGraph's. `True`
    # is the seed's.
    "approval_basic": """\
[Interrupt(value='Do you approve this action?', id='...')]
True
""",
    # Seed 003 "Approval Workflow", completed. The seed shows no output; real LangGraph's.
    # On rejection the node routes to END with an empty update: the state is unchanged.
    "email_approval_workflow": """\
[Interrupt(value={'email_id': 'Can you reset my password?', 'draft_response': 'Sure, done.', 'urgency': 'high', 'action': 'Please review and approve/edit this response'}, id='...')]
Sending reply: Your password has been reset.
{'email_content': 'Can you reset my password?', 'draft_response': 'Your password has been reset.', 'classification': {'urgency': 'high'}}
[Interrupt(value={'email_id': 'Can you reset my password?', 'draft_response': 'Sure, done.', 'urgency': 'high', 'action': 'Please review and approve/edit this response'}, id='...')]
{'email_content': 'Can you reset my password?', 'draft_response': 'Sure, done.', 'classification': {'urgency': 'high'}}
""",
    # Seed 003 "Validation Loop", completed. The seed's comments give the interrupt values
    # abbreviated ("'thirty' is not a valid age...") and `print(final["age"]) # 30`; the full
    # lines are real LangGraph's.
    "validation_loop": """\
[Interrupt(value='What is your age?', id='...')]
[Interrupt(value="'thirty' is not a valid age. Please enter a positive number.", id='...')]
30
""",
    # Seed 003 "Multiple Interrupts" (the `vals` reducer). The last line is the seed's
    # comment `result["vals"] = ["a:answer for question_a", "b:answer for question_b"]`.
    "parallel_vals": """\
['question_a', 'question_b']
['a:answer for question_a', 'b:answer for question_b']
""",
}


def run_example(name: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONIOENCODING"] = "utf-8"  # the examples print emoji
    return subprocess.run(
        [sys.executable, f"examples/{name}.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        env=env,
    )


def test_every_example_has_an_expected_output():
    on_disk = sorted(p.stem for p in EXAMPLES_DIR.glob("*.py"))
    assert on_disk == sorted(EXPECTED), (
        "examples/ and EXPECTED disagree: "
        f"without expected output: {sorted(set(on_disk) - set(EXPECTED))}; "
        f"expected but missing from examples/: {sorted(set(EXPECTED) - set(on_disk))}"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_output(name: str):
    result = run_example(name)
    assert result.returncode == 0, (
        f"examples/{name}.py exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
    )
    actual = normalize(result.stdout)
    expected = EXPECTED[name]
    diff = "".join(difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True),
        fromfile="expected", tofile=f"examples/{name}.py stdout (ids normalized)",
    ))
    assert actual == expected, (
        f"examples/{name}.py printed something other than expected:\n{diff}"
        f"--- stderr ---\n{result.stderr}"
    )
