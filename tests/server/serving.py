"""A real `inbox serve` in a subprocess on 127.0.0.1 (an ephemeral port), for the server tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GRAPHS = ["text", "agent", "static", "parallel", "slow", "failing"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`inbox serve --db DB --graph NAME=server_graphs:NAME ...` until stopped. `db` is a SQLite
    file, or a Postgres URL (then `log` names the server's log file)."""

    def __init__(self, db: Path | str, *extra: str, env: dict | None = None, graphs: list[str] = GRAPHS,
                 log: Path | None = None) -> None:
        self.db = db
        self.extra = list(extra)
        self.env = env or {}
        self.graphs = graphs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        if log is None and isinstance(db, str):
            raise ValueError("a server on a Postgres URL needs log=PATH")
        self.log = log or db.with_suffix(".log")

    def command(self) -> list[str]:
        db = [] if "INBOX_DB" in self.env else ["--db", str(self.db)]  # the environment names it
        cmd = [sys.executable, "-m", "inbox.cli", "serve", *db, "--port", str(self.port)]
        for name in self.graphs:  # a name from server_graphs, or a whole NAME=module:attr
            cmd += ["--graph", name if "=" in name else f"{name}=server_graphs:{name}"]
        return cmd + self.extra

    def start(self, timeout: float = 20.0) -> "Server":
        return self.spawn().wait_ready(timeout)

    def spawn(self) -> "Server":
        """Start the process without waiting for it to answer (start several, then wait_ready)."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)]), **self.env}
        for leaked in ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"):
            env.pop(leaked, None)
        self.proc = subprocess.Popen(self.command(), cwd=REPO, env=env, stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 20.0) -> "Server":
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"inbox serve exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/ok", timeout=0.5).status_code in (200, 401):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"inbox serve did not answer within {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


__all__ = ["Server", "free_port", "REPO"]
