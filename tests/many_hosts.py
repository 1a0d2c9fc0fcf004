"""Many hosts, simulated, on one Postgres database: the helpers the many-hosts tests share
(tests/test_postgres_many_hosts.py, tests/test_postgres_combined.py). Not a test module.

`Hosts` starts real `inbox` processes (workers, headless reviewers) on one database URL and
one side-effect file: every reviewed tool execution of `exactly_once_graphs` appends one line
to it, which is how "exactly once" is counted. `Hosts.reviewer_at_go` starts a reviewer that
imports everything first and then waits for the word, so reviewers started one by one act at
one moment (`go`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from engine.checkpoint.postgres import PostgresSaver

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import exactly_once_graphs as eo  # noqa: E402
from effects_lab import REPO, EffectsLab  # noqa: E402

AGENT = f"{eo.AGENT}=exactly_once_graphs:build_agent"
LEASE_TTL = 2  # seconds: a killed worker's threads are taken over soon after it dies

# `inbox ARGS...` once a line arrives on stdin, with the imports a decision needs paid before
# ("ready" on stdout says so): the decision itself is then all that races.
_AT_GO = """
import sys
import engine.checkpoint.postgres, inbox.backends.local, inbox.cli, inbox.review, exactly_once_graphs
print("ready", flush=True)
sys.stdin.readline()
sys.exit(inbox.cli.main(sys.argv[1:]))
"""


class Hosts(EffectsLab):
    """One database URL, one effects file, and every process started on them."""

    def __init__(self, root: Path, url: str) -> None:
        super().__init__(root)
        self.url = url
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("INBOX_", "EO_", "ENGINE_")) and k != "DATABASE_URL"}
        self.env.update(PYTHONPATH=os.pathsep.join([str(REPO), str(HERE)]), INBOX_REVIEWER="hosts-test",
                        INBOX_CONFIG=str(root / "no-config.toml"), NO_COLOR="1", EO_EFFECTS=str(self.effects),
                        ENGINE_LEASE_TTL=str(LEASE_TTL), INBOX_DB=url)  # --db from the environment, as on a host

    def worker(self, tool_sleep: float = 0.0) -> subprocess.Popen:
        return self.start("worker", "--debug", "--graph", AGENT, "--interval", "0.05", "--concurrency", "2",
                          tool_sleep=tool_sleep)

    def reviewer_at_go(self, *args, tool_sleep: float = 0.0) -> subprocess.Popen:
        """`inbox ARGS...`, imported and waiting: `ready(procs)`, then `go(procs)`."""
        return self.popen(["-c", _AT_GO, *map(str, args)], tool_sleep, stdin=subprocess.PIPE)

    @staticmethod
    def ready(procs: list[subprocess.Popen]) -> None:
        for proc in procs:
            line = proc.stdout.readline()
            assert line == "ready\n", f"a reviewer did not start: {line!r} {proc.communicate()[1][-3000:]}"

    @staticmethod
    def go(procs: list[subprocess.Popen]) -> None:
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()

    def query(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def settled(self) -> bool:
        return not self.query("SELECT 1 FROM engine_interrupts WHERE status IN ('resolved', 'expired') AND NOT applied "
                              "UNION ALL SELECT 1 FROM engine_threads WHERE status = 'busy'")

    def wait_settled(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.settled():
                return
            time.sleep(0.1)
        raise AssertionError(f"not settled after {timeout} s: "
                             f"{self.query('SELECT id, status, applied FROM engine_interrupts')}")

    def started_calls(self, pid: int | None = None) -> set[str]:
        """Interrupt ids whose tool call the ledger says started and did not finish (in the
        process `pid`, if given: a lease owner is host:pid:random)."""
        return {row[0] for row in self.query("SELECT interrupt_id FROM engine_tool_calls WHERE status = 'started' "
                                             "AND owner LIKE %s", f"%:{pid}:%" if pid else "%")}

    def mark_done(self, doubt_ids) -> None:
        """Settle in-doubt calls with `inbox mark-done`, one process each. The decision is
        recorded; it is "done" when this process ran the thread, "busy" when a worker held the
        thread at that moment (seen in CI right after settling) and "applied" when a worker
        applied it first: either way a worker applies it, which `wait_settled` waits for."""
        for doubt_id in doubt_ids:
            done = self.start("mark-done", "--db", self.url, "--graph", AGENT, "--by", "settler", doubt_id)
            out, err = done.communicate(timeout=60)
            assert done.returncode == 0 and json_line(out)["status"] in ("done", "busy", "applied"), (out, err)

    def check_no_forks(self) -> None:
        forks = self.query("SELECT thread_id, parent_checkpoint_id, count(*) FROM engine_checkpoints "
                           "WHERE checkpoint_ns = '' GROUP BY thread_id, parent_checkpoint_id HAVING count(*) > 1")
        assert forks == [], f"forked checkpoint histories: {forks}"

    def check_alive(self, workers: list[subprocess.Popen]) -> None:
        dead = [proc for proc in workers if proc.poll() is not None]
        assert not dead, f"a worker died: {[proc.communicate()[1][-6000:] for proc in dead]}"


def seed(url: str, threads: int, prefix: str = "t") -> dict[str, str]:
    """`threads` agent runs, each paused on one review: {interrupt id: thread}."""
    ids = {}
    with PostgresSaver.from_conn_string(url) as saver:
        graph = eo.build_agent(saver)
        for n in range(threads):
            out = graph.invoke(eo.agent_input(f"{prefix}{n}-0"), {"configurable": {"thread_id": f"{prefix}{n}"}})
            ids.update((i.id, f"{prefix}{n}") for i in out["__interrupt__"])
    return ids


def json_line(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}
