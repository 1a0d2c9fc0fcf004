"""cleanup-agent: frees disk space by deleting files. Deletion cannot be accepted as proposed:
the reviewer must edit the list (keeping only what may go) or respond to keep everything."""

from __future__ import annotations

import random

from engine.prebuilt import create_tool_agent
from inbox.demo.kit import Outbox, one_call_model, reviewed, stable_count, user_message

NAME = "cleanup-agent"
TITLE = "Delete files (edit or respond only)"
REQUESTERS = ("disk-watch@northwind.example", "sre-bot@northwind.example")

HOSTS = ["build-runner-07", "ci-cache-02", "db-backup-01", "log-shipper-03"]
CANDIDATES = [
    "/var/log/nginx/access.log.{n}.gz",
    "/var/lib/docker/overlay2/{h}/diff",
    "/srv/backups/pg/base-2024-{m:02d}-01.tar.zst",
    "/home/ci/.cache/pip/wheels/{h}",
    "/tmp/build-{n}/artifacts",
    "/srv/releases/checkout-api-1.{n}.0",
]


def initial_input(rng: random.Random) -> dict:
    host = rng.choice(HOSTS)
    count = rng.choice([3, 4, 5])
    paths = sorted({template.format(n=rng.randrange(2, 40), h=f"{rng.getrandbits(48):012x}",
                                    m=rng.randrange(1, 13))
                    for template in rng.sample(CANDIDATES, count)})
    used = rng.choice([91, 94, 97])
    return {"messages": [user_message(
        f"{host} is at {used}% disk. Free some space.",
        delete_files={"host": host, "paths": paths, "reason": f"/ at {used}% on {host}"},
    )]}


def _size_gb(path: str) -> float:
    return stable_count(path, low=1, high=9000) / 100


def build(checkpointer, *, outbox: Outbox | None = None):
    outbox = Outbox() if outbox is None else outbox

    def delete_files(host: str, paths: list[str], reason: str = "") -> str:
        """Delete files or directories on a host (recursively; there is no undo)."""
        freed = sum(_size_gb(p) for p in paths)
        return outbox.record("delete_files", dict(host=host, paths=list(paths), reason=reason),
                             f"Deleted {len(paths)} path(s) on {host}, freed {freed:.1f} GB.")

    def describe(a: dict) -> str:
        listing = "\n".join(f"- `{p}` ({_size_gb(p):.1f} GB)" for p in a["paths"])
        total = sum(_size_gb(p) for p in a["paths"])
        return (f"**Delete {len(a['paths'])} path(s)** on `{a['host']}` ({total:.1f} GB); reason: {a.get('reason', '')}\n\n"
                f"{listing}\n\n"
                "There is no undo. Accept is disabled: edit the list down to what may go, "
                "or respond to keep everything.")

    tool = reviewed(delete_files, describe=describe, accept=False, edit=True, respond=True, ignore=False)
    model = one_call_model("delete_files", intro="These are the largest safe-looking candidates.",
                           ran_prefix="Deleted ")
    graph = create_tool_agent(model, [tool], checkpointer=checkpointer, name=NAME)
    graph.outbox = outbox
    return graph
