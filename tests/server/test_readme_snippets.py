"""The seeds' SDK and cURL snippets, as the README's "Serve your graphs" shows them, against
`inbox serve --config examples/serve/langgraph.json` (assistant "agent", as the seeds name it)."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from serving import REPO, Server

README = REPO / "README.md"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    db = tmp_path_factory.mktemp("readme") / "agents.sqlite"
    srv = Server(db, "--config", str(REPO / "examples/serve/langgraph.json"), graphs=[]).start()
    yield srv
    srv.stop()


def _section() -> str:
    text = README.read_text()
    return text[text.index("## Serve your graphs"):text.index("## Exactly once")]


async def test_readme_sdk_snippet(served, capsys):
    [python] = re.findall(r"```python\n(.*?)```", _section(), re.S)
    code = python.replace("http://127.0.0.1:2024", served.url)
    namespace: dict = {}
    exec("async def snippet():\n" + textwrap.indent(code, "    "), namespace)
    await namespace["snippet"]()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("[{'value': {'text_to_revise': 'original text'}, 'id': '")
    assert printed[0].endswith("', 'response_schema': None}]")
    assert printed[1] == "{'some_text': 'Edited text'}"


def test_readme_curl_snippets(served):
    [bash] = re.findall(r"```bash\n(curl.*?)```", _section(), re.S)
    commands = [c for c in bash.replace("\\\n", " ").splitlines() if c.strip()]
    assert len(commands) == 3

    def run(command: str) -> dict:
        command = command.replace("http://127.0.0.1:2024", served.url)
        done = subprocess.run(["bash", "-c", command + " --silent --show-error"], capture_output=True, text=True,
                              timeout=30)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    thread_id = run(commands[0])["thread_id"]
    paused = run(commands[1].replace("<THREAD_ID>", thread_id))
    assert paused["__interrupt__"][0]["value"] == {"text_to_revise": "original text"}
    assert run(commands[2].replace("<THREAD_ID>", thread_id)) == {"some_text": "Edited text"}


async def test_seed_004_run_time_breakpoints_over_config(served):
    from langgraph_sdk import get_client

    client = get_client(url=served.url, api_key=None)
    thread_id = (await client.threads.create())["thread_id"]
    first = await client.runs.wait(thread_id, "breakpoints", input={"visited": []},
                                   interrupt_before=["node_a"], interrupt_after=["node_b", "node_c"])
    assert first == {"visited": []}
    assert await client.runs.wait(thread_id, "breakpoints", input=None) == {"visited": ["node_a", "node_b", "node_c"]}
    assert Path(served.db).exists()
