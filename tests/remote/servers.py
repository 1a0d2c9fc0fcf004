"""The two Agent Servers the remote tests review: a real `inbox serve` and LangGraph's own
`langgraph dev`, each a subprocess on a free 127.0.0.1 port, serving remote_graphs.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "server"))

from serving import Server, free_port  # noqa: E402 - tests/server's inbox serve runner

GRAPHS = ["agent", "payments", "question"]
LEAKED_KEYS = ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")


class InboxServe(Server):
    """`inbox serve` over remote_graphs.py."""

    kind = "inbox serve"

    def __init__(self, db: Path, *extra: str):
        super().__init__(db, *extra, env={"PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)])}, graphs=GRAPHS)

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "inbox.cli", "serve", "--db", str(self.db), "--port", str(self.port)]
        for name in self.graphs:
            cmd += ["--graph", f"{name}=remote_graphs:{name}"]
        return cmd + self.extra


def langgraph_cli() -> str | None:
    """The `langgraph` command of this environment, if langgraph-cli[inmem] is installed."""
    candidate = Path(sys.executable).parent / "langgraph"
    if not candidate.exists():
        return None
    try:
        import langgraph_api  # noqa: F401 - the [inmem] part
    except ImportError:
        return None
    return str(candidate)


class LangGraphDev:
    """`langgraph dev` (LangGraph's in-memory Agent Server) in a temp dir."""

    kind = "LangGraph server"

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "langgraph-dev.log"

    def start(self, timeout: float = 60.0) -> "LangGraphDev":
        shutil.copy(HERE / "remote_graphs.py", self.workdir / "remote_graphs.py")
        (self.workdir / "langgraph.json").write_text(json.dumps(
            {"dependencies": ["."], "graphs": {name: f"./remote_graphs.py:{name}" for name in GRAPHS}}))
        env = {k: v for k, v in os.environ.items() if k not in LEAKED_KEYS}
        env.update(LANGGRAPH_CLI_NO_ANALYTICS="1", REMOTE_GRAPHS_RUNTIME="langgraph")
        env.pop("PYTHONPATH", None)
        self.proc = subprocess.Popen([langgraph_cli(), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
                                      "--port", str(self.port)], cwd=self.workdir, env=env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"langgraph dev exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/ok", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"langgraph dev did not answer within {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def seed(url: str, graph: str, values: dict) -> tuple[str, str]:
    """Start a run of `graph` until it pauses: (thread id, the interrupt id)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        thread = http.post("/threads", json={}).json()
        out = http.post(f"/threads/{thread['thread_id']}/runs/wait", json={"assistant_id": graph, "input": values})
        out.raise_for_status()
        return thread["thread_id"], out.json()["__interrupt__"][0]["id"]


def thread_of(url: str, thread_id: str) -> dict:
    return httpx.get(f"{url}/threads/{thread_id}", timeout=10).json()


def inbox(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """`inbox ARGS` in a subprocess (as an operator runs it)."""
    full = {k: v for k, v in os.environ.items() if k not in LEAKED_KEYS}
    full.update(PYTHONPATH=str(REPO), INBOX_REVIEWER="tester", **(env or {}))
    full.setdefault("INBOX_CONFIG", str(REPO / "tests" / "remote" / "no-config.toml"))
    return subprocess.run([sys.executable, "-m", "inbox.cli", *args], cwd=REPO, env=full, capture_output=True,
                          text=True, timeout=timeout)


__all__ = ["InboxServe", "LangGraphDev", "langgraph_cli", "seed", "thread_of", "inbox", "free_port"]
