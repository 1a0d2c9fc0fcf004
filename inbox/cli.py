"""The `inbox` command: the TUI (`demo`, `open`), the `worker`, and headless review commands.

Exit codes (headless commands):
  0  done
  1  unexpected failure (rerun with --debug for the traceback)
  2  bad usage or input: a bad path, a file that is not an inbox database, an unknown graph
     reference, an import error in user code, an invalid response, an unknown interrupt id
  3  someone else already decided this interrupt; nothing was sent

Plain output and error lines show names that came from agents or other reviewers (thread ids,
actions, who decided) with control characters and bidi overrides made visible (inbox.text);
`--json` output is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ALREADY = 0, 1, 2, 3


class UsageError(Exception):
    """A problem with what the user typed or pointed us at: one clear line, exit 2."""


def say(message: str) -> None:
    """One line to stderr. Messages echo thread ids, actions and reviewers' names: any
    control character in them is made visible, so none can drive the terminal."""
    from inbox.text import defang

    print(f"inbox: {defang(message)}", file=sys.stderr)


def load_graph_ref(ref: str) -> tuple[str, Any]:
    """`NAME=module:attr` -> (NAME, compiled graph). The attr may also be a factory taking the
    checkpointer (called later)."""
    if "=" not in ref or ":" not in ref.split("=", 1)[1]:
        raise UsageError(f"--graph {ref!r}: expected NAME=module:attr, e.g. --graph payments=myapp.agents:payments_graph")
    name, target = ref.split("=", 1)
    module_name, attr = target.split(":", 1)
    if not name or not module_name or not attr:
        raise UsageError(f"--graph {ref!r}: expected NAME=module:attr, e.g. --graph payments=myapp.agents:payments_graph")
    # The user's modules are found in the current directory, but after the installed packages
    # and the standard library: a queue.py lying in the directory must not shadow `queue`.
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(f"--graph {ref!r}: cannot import module {module_name!r}: {error}") from error
    except Exception as error:  # user code failed while importing
        raise UsageError(f"--graph {ref!r}: importing {module_name!r} failed: {type(error).__name__}: {error}") from error
    try:
        return name, getattr(module, attr)
    except AttributeError:
        raise UsageError(f"--graph {ref!r}: module {module_name!r} has no attribute {attr!r}") from None


def bind_graphs(refs: dict[str, Any], saver: Any) -> dict[str, Any]:
    """Each graph resumes runs with our saver: a compiled graph gets it as its checkpointer, a
    factory is called with it."""
    graphs = {}
    for name, target in refs.items():
        if hasattr(target, "ainvoke"):
            graph = target
        elif not callable(target):
            raise UsageError(f"--graph {name}: expected a compiled graph or a factory taking the checkpointer, "
                             f"got {type(target).__name__} {target!r:.60}")
        else:
            try:
                graph = target(saver)
            except Exception as error:  # user code failed while building its graph
                raise UsageError(f"--graph {name}: the factory {getattr(target, '__qualname__', target)!s} "
                                 f"failed: {type(error).__name__}: {error}") from error
        if not hasattr(graph, "ainvoke"):
            raise UsageError(f"--graph {name}: expected a compiled graph or a factory returning one, got {graph!r}")
        graph.checkpointer = saver
        graphs[name] = graph
    return graphs


def open_saver(path: str, *, create: bool, readonly: bool = False):
    """The saver over `path`: a SQLite file, or a Postgres URL (postgresql://...).
    `readonly` (commands that only read): an empty file or database is refused and left as it
    is rather than becoming a new inbox database. Either way, a file that is not ours, is
    corrupt or misses a table is refused before anything is written to it. A Postgres database
    is migrated on open (in one transaction); its password never appears in a message."""
    from engine.checkpoint.stores import is_postgres, open_store

    if is_postgres(path):
        return open_store(path)
    db = Path(path)
    if not create and not db.exists():
        raise UsageError(f"{path}: no such database. Check the path, or run `inbox demo --db {path}` to create a demo.")
    if db.exists() and db.is_dir():
        raise UsageError(f"{path} is a directory; give the path of an inbox database file.")
    if not db.parent.exists():
        raise UsageError(f"{path}: folder {db.parent} does not exist.")
    return open_store(path, readonly=readonly)


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON for the headless commands' output (a set in an answer prints as a list)."""
    from engine.checkpoint.serde import json_fallback

    return json.dumps(value, ensure_ascii=False, indent=indent, default=json_fallback)


def shown(db: str) -> str:
    """A --db value as it may be printed (a Postgres URL's password replaced by ***)."""
    from engine.checkpoint.stores import describe

    return describe(db)


def _reviewer(args) -> str:
    from engine.constants import reserved_decider
    from inbox.config import load_settings

    if args.by:
        reserved = reserved_decider(args.by)
        if reserved is not None:
            raise UsageError(f"--by {args.by!r}: {reserved}.")
        return args.by
    return load_settings().reviewer


def parse_json(text: str, option: str) -> Any:
    """`text` parsed as JSON that can be stored, or a UsageError naming `option` and the fix."""
    from engine.checkpoint.serde import MAX_DEPTH, to_jsonable

    try:
        value = json.loads(text)
        to_jsonable(value)  # what storing it checks: depth
    except json.JSONDecodeError as error:
        raise UsageError(f"{option} is not valid JSON: {error.msg} at column {error.colno}") from None
    except (RecursionError, TypeError):  # json.loads raises RecursionError itself on very deep input
        raise UsageError(f"{option} is nested more than {MAX_DEPTH} levels deep, more than can be stored; "
                         "flatten it, or pass the deep part as a JSON string") from None
    return value


# --- TUI -------------------------------------------------------------------------------------------
def run_tui(saver: Any, graphs: dict, source: str) -> int:
    from inbox.app import InboxApp
    from inbox.config import load_settings
    from inbox.review import ReviewService

    settings = load_settings()
    service = ReviewService(saver, graphs, reviewer=settings.reviewer)
    app = InboxApp(service, settings=settings, source=source)  # refuses a bad key remap before any work
    apply_recorded_decisions(service)
    app.run()
    return EXIT_OK


def apply_recorded_decisions(service) -> None:
    """Finish decisions a crash left claimed-but-unapplied, before showing anything."""
    from inbox.review import blocking

    if service.runs():
        blocking(service.recover())


def cmd_demo(args) -> int:
    from inbox.demo import GRAPHS, seed

    from engine.checkpoint.stores import is_postgres

    path = args.db
    if args.threads < 0:
        raise UsageError(f"--threads must be 0 or more, got {args.threads}")
    if (not is_postgres(path) and not Path(path).exists()) or _is_empty_inbox(path):
        from datetime import datetime, timedelta, timezone

        print(f"Seeding {args.threads} demo agent runs into {shown(path)} …", file=sys.stderr)
        # Requests "arrived" over the last minutes, so their ages read naturally.
        start = datetime.now(timezone.utc) - timedelta(seconds=37 * args.threads + 60)
        seed(path, threads=args.threads, start=start)
    saver = open_saver(path, create=False)
    graphs = {name: build(saver) for name, build in GRAPHS.items()}
    return run_tui(saver, graphs, f"demo · {shown(path)}")


def _is_empty_inbox(path: str) -> bool:
    """An inbox database with no threads at all (a demo is seeded into it)."""
    saver = open_saver(path, create=False)
    try:
        return not saver.list_threads(limit=1)
    finally:
        saver.close()


def cmd_open(args) -> int:
    if _remote(args):
        backend = _open_remote(args)
        return run_tui(backend, {}, f"{backend.url} · {backend.server_kind}")
    refs = dict(load_graph_ref(r) for r in args.graph)
    saver = open_saver(args.db, create=False)
    return run_tui(saver, bind_graphs(refs, saver), shown(args.db))


def cmd_worker(args) -> int:
    from inbox.backends.local import LocalBackend
    from inbox.review import ReviewService

    refs = dict(load_graph_ref(r) for r in args.graph)
    if not refs:
        raise UsageError("inbox worker needs at least one --graph NAME=module:attr to continue runs with.")
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be 1 or more, got {args.concurrency}")

    async def loop() -> None:
        from engine.checkpoint.stores import is_postgres, store_for
        from engine.runtime import engine_owns_loop

        if not is_postgres(args.db) and not Path(args.db).exists():
            raise UsageError(f"{args.db}: no such database.")
        async with store_for(args.db) as saver:
            service = ReviewService(LocalBackend(saver, bind_graphs(refs, saver)), reviewer="inbox worker")
            print(f"inbox worker: continuing runs of {', '.join(service.graphs)} from {shown(args.db)} "
                  "(ctrl+c stops)", file=sys.stderr)
            told: set[str] = set()
            while True:
                # Say once which recorded decisions this worker cannot continue, and why.
                waiting = [r for r in await service.backend.claimed_unapplied()
                           if not service.runs(r.graph) and r.id not in told]
                for graph in sorted({r.graph for r in waiting}):
                    ids = [r.id[:8] for r in waiting if r.graph == graph]
                    say(f"cannot continue {len(ids)} recorded decision(s) of graph {graph!r} ({', '.join(ids)}): "
                        f"it was not given with --graph (given: {', '.join(service.graphs)}); run a worker with "
                        f"--graph {graph}=module:attr")
                told |= {r.id for r in waiting}
                # Any number of workers may run on one file: each thread is run by whoever takes
                # its lease, so nothing is applied twice (engine/runtime/ownership.py).
                done = await service.expire()
                with engine_owns_loop() if args.concurrency == 1 else contextlib.nullcontext():
                    # One run at a time: nothing else waits on this loop while a sync node runs,
                    # so it runs right here, without a hop to an executor thread. With more, runs
                    # share the loop and a slow tool must not hold the others up.
                    done += await service.recover(concurrency=args.concurrency)
                for applied in done:
                    print(dumps({"thread_id": applied.thread_id, "graph": applied.graph,
                                      "interrupts": applied.interrupt_ids, "status": applied.status,
                                      "error": applied.error}), flush=True)
                if args.once:
                    return
                if not any(applied.status in ("done", "interrupted") for applied in done):
                    await asyncio.sleep(args.interval)  # nothing moved: wait before looking again

    try:
        asyncio.run(loop())
    except KeyboardInterrupt:
        pass
    return EXIT_OK


# --- serve ----------------------------------------------------------------------------------------
def load_langgraph_json(path: str) -> dict[str, Any]:
    """The `graphs` of a langgraph.json, as `langgraph dev` reads them: NAME -> "./file.py:attr"
    (relative to the file) or "package.module:attr"."""
    import importlib.util

    config_path = Path(path)
    try:
        data = json.loads(config_path.read_text())
    except OSError as error:
        raise UsageError(f"--config {path}: cannot read it ({error.strerror}).") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"--config {path} is not valid JSON: {error.msg} at line {error.lineno}.") from None
    graphs = data.get("graphs") if isinstance(data, dict) else None
    if not isinstance(graphs, dict) or not graphs:
        raise UsageError(f'--config {path}: no "graphs" map, e.g. {{"graphs": {{"agent": "./graph.py:graph"}}}}.')
    base = config_path.resolve().parent
    if str(base) not in sys.path:
        sys.path.append(str(base))  # as `langgraph dev` with "dependencies": ["."]
    refs: dict[str, Any] = {}
    for name, target in graphs.items():
        if isinstance(target, dict):
            target = target.get("path")
        if not isinstance(target, str) or ":" not in target:
            raise UsageError(f"--config {path}: graph {name!r} must be \"./file.py:attr\" or \"module:attr\", got {target!r}.")
        location, attr = target.rsplit(":", 1)
        if location.endswith(".py") or "/" in location:
            file = (base / location).resolve()
            if not file.exists():
                raise UsageError(f"--config {path}: graph {name!r}: no file {file}.")
            spec = importlib.util.spec_from_file_location(f"_inbox_graph_{name}", file)
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as error:  # user code failed while importing
                raise UsageError(f"--config {path}: importing {file} failed: {type(error).__name__}: {error}") from error
            if not hasattr(module, attr):
                raise UsageError(f"--config {path}: {file} has no attribute {attr!r}.")
            refs[name] = getattr(module, attr)
        else:
            refs[name] = load_graph_ref(f"{name}={target}")[1]
    return refs


def cmd_serve(args) -> int:
    from engine.server import serve
    from engine.server.auth import KeyError_, load_keys

    refs = dict(load_langgraph_json(args.config)) if args.config else {}
    for ref in args.graph:
        name, target = load_graph_ref(ref)
        refs[name] = target
    if not refs:
        raise UsageError("inbox serve needs a graph to serve: --graph NAME=module:attr or --config langgraph.json.")
    try:
        keys = load_keys(args.api_key, args.api_keys_file)
    except KeyError_ as error:
        raise UsageError(str(error)) from None
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0-65535, got {args.port}")
    from engine.checkpoint.stores import aopen_store, is_postgres

    if not is_postgres(args.db) and args.db != ":memory:":
        db = Path(args.db)
        if db.exists() and db.is_dir():
            raise UsageError(f"{args.db} is a directory; give the path of an inbox database file.")
        if not db.parent.exists():
            raise UsageError(f"{args.db}: folder {db.parent} does not exist.")

    async def open_saver_async():
        # a SQLite file or a Postgres URL (stores.py); several servers may share a Postgres database
        return await aopen_store(args.db)

    def ready(url: str) -> None:
        names = ", ".join(refs)
        print(f"inbox serve: {names} from {shown(args.db)} on {url}"
              f"{' (API keys: ' + ', '.join(sorted(set(keys.values()))) + ')' if keys else ''}", file=sys.stderr)

    try:
        serve(open_saver_async, lambda saver: bind_graphs(refs, saver), host=args.host, port=args.port, keys=keys,
              insecure=args.insecure, log_level="debug" if args.debug else "warning", ready=ready)
    except KeyboardInterrupt:
        pass
    return EXIT_OK


# --- headless ---------------------------------------------------------------------------------------
def _remote(args) -> bool:
    """Whether the command works on an Agent Server (--url) rather than a file (--db). Neither
    given: the database named by $INBOX_DB (else $DATABASE_URL)."""
    from engine.checkpoint.stores import default_target

    if not getattr(args, "url", None) and not getattr(args, "db", None) and hasattr(args, "db"):
        args.db = default_target()
    url, db = getattr(args, "url", None), getattr(args, "db", None)
    if url and db:
        raise UsageError("--db and --url both given; open a database file (--db PATH) or a server (--url URL), "
                         "not both.")
    if not url and not db:
        raise UsageError("give the inbox to open: --db PATH (a database file) or --url URL (an Agent Server).")
    if url and getattr(args, "graph", None):
        raise UsageError("--graph is for --db; with --url the server runs the graphs.")
    return bool(url)


def _open_remote(args):
    from inbox.config import load_settings
    from inbox.remote_open import open_remote

    poll = getattr(args, "poll_seconds", None)
    if poll is not None and poll <= 0:
        raise UsageError(f"--poll-seconds must be more than 0, got {poll}")
    return open_remote(args.url, args.api_key, load_settings(), poll_seconds=poll)


def _store_only(args, feature: str) -> None:
    """Rules and the audit log live only in the inbox's database: --url is refused, clearly
    (the remote backend says the same to the TUI), and without a database we ask for one."""
    from inbox.backends.errors import NeedsStore

    if getattr(args, "url", None):
        raise NeedsStore(feature, args.url)
    if not getattr(args, "db", None):
        raise UsageError("give the inbox database: --db PATH (or set $INBOX_DB).")


def _service(args, graphs: dict | None = None, readonly: bool = False):
    from inbox.review import ReviewService

    reviewer = _reviewer(args) if hasattr(args, "by") else "cli"  # a bad name stops us before opening
    if _remote(args):
        backend = _open_remote(args)
        return backend, ReviewService(backend, reviewer=reviewer)
    saver = open_saver(args.db, create=False, readonly=readonly)
    return saver, ReviewService(saver, graphs or {}, reviewer=reviewer)


LIST_STATUSES = ("pending", "resolved", "errors", "in-doubt")


async def _listed(service, args) -> list:
    """The items `inbox list` shows: by --status, then --filter/--graph/--thread/--limit."""
    if args.status in ("pending", "in-doubt"):
        items = await service.pending(text=args.filter, limit=None if args.status == "in-doubt" else args.limit,
                                      graph=args.graph_name, thread_id=args.thread)
        if args.status == "in-doubt":
            items = [i for i in items if i.in_doubt]
    else:
        items = await (service.resolved(limit=None) if args.status == "resolved" else service.errors())
        needle = (args.filter or "").lower()
        items = [i for i in items if (not needle or needle in i.search_text)
                 and args.graph_name in (None, i.record.graph) and args.thread in (None, i.record.thread_id)]
    return items[:args.limit] if args.limit is not None else items


def _plain_row(item) -> str:
    from inbox.review import describe_decision, short_id
    from inbox.text import one_line, summary, timestamp

    record = item.record
    if item.error:
        what = f"run failed: {item.error}"
    elif record.status == "pending":
        what = summary(item.description)
    else:
        what = f"{record.status}: {describe_decision(record)} by {record.resolved_by or '?'} " \
               f"at {timestamp(record.resolved_at)}"
    return (f"{short_id(item.id):<8}  {record.status:<9}  {one_line(item.action, 20):<20}  "
            f"{one_line(record.thread_id, 28):<28}  {timestamp(record.created_at):<20}  {one_line(what, 70)}")


def cmd_list(args) -> int:
    from engine._internal.sync import run_sync

    saver, service = _service(args, readonly=True)
    try:
        items = run_sync(_listed(service, args))
    finally:
        saver.close()
    if args.json:
        print(dumps([i.to_json() for i in items], indent=2))
    elif items:
        print(f"{'ID':<8}  {'STATUS':<9}  {'ACTION':<20}  {'THREAD':<28}  {'RAISED':<20}  DESCRIPTION / OUTCOME")
        for item in items:
            print(_plain_row(item))
    else:
        print({"pending": "No pending requests.", "resolved": "No decisions yet.",
               "errors": "No failed runs.", "in-doubt": "No in-doubt tool calls."}[args.status], file=sys.stderr)
    return EXIT_OK


def show_text(item) -> str:
    """`inbox show` without --json: the request as a reviewer reads it (Markdown stripped,
    arguments as indented JSON, every agent-written text defanged)."""
    from inbox.review import describe_decision
    from inbox.text import defang, json_text, plain_markdown, timestamp

    r = item.record
    lines = [f"id        {r.id}", f"action    {defang(item.action)}", f"thread    {defang(r.thread_id)}",
             f"graph     {defang(r.graph or '?')} (node {defang(r.node or '?')})", f"raised    {timestamp(r.created_at)}"]
    if r.deadline:
        lines.append(f"deadline  {timestamp(r.deadline)}{'  OVERDUE' if r.overdue else ''}")
    lines.append(f"status    {r.status}")
    if r.status == "pending":
        lines.append(f"allowed   {', '.join(sorted(item.allowed)) or 'nothing'}")
    else:
        lines.append(f"decided   {defang(describe_decision(r))} by {defang(r.resolved_by or '?')} "
                     f"at {timestamp(r.resolved_at)}")
    if item.error:
        lines.append(f"error     {defang(item.error)}")
    lines += ["", "description:", *("  " + line for line in (plain_markdown(item.description) or "(none)").splitlines())]
    for entry in item.items:
        if item.kind == "question" and isinstance(entry.raw, str):
            continue  # a question asked in words is its description already
        value = entry.args if item.kind != "question" else entry.raw
        title = "question" if item.kind == "question" else f"arguments of {defang(entry.action or '?')}"
        lines += ["", f"{title}:", *("  " + line for line in json_text(value).splitlines())]
    return "\n".join(lines)


def cmd_show(args) -> int:
    from engine._internal.sync import run_sync

    saver, service = _service(args, readonly=True)
    try:
        item = run_sync(service.item(args.id))
    finally:
        saver.close()
    print(dumps(item.to_json(), indent=2) if args.json else show_text(item))
    return EXIT_OK


def cmd_decide(args) -> int:
    from engine._internal.sync import run_sync
    from inbox.review import build_response

    saver, service = _service(args)
    refs = dict(load_graph_ref(r) for r in args.graph)
    try:
        service.graphs = bind_graphs(refs, saver)
        item = run_sync(service.item(args.id))  # a unique prefix works: the full id from here on
        args.id = item.id
        if args.command in ("retry", "mark-done") and not item.action.endswith("(in doubt)"):
            raise UsageError(f"{args.id} is not an in-doubt tool call (it asks about {item.action}); "
                             "`inbox retry` and `inbox mark-done` settle calls that may have run when their "
                             "process died. Use accept, edit, respond or ignore.")
        if item.kind == "question" and args.command != "respond":
            raise UsageError(f"{args.id} is a plain question, so it can only be answered: "
                             f"`inbox respond {args.id} TEXT` (add --json to send JSON).")
        if args.command == "edit" and item.needs_stepper:
            actions = ", ".join(i.action for i in item.items)
            raise UsageError(f"{args.id} asks about {len(item.items)} actions ({actions}); one --args cannot edit "
                             "them all. Decide it action by action in the inbox (`inbox open`), or accept, "
                             "ignore or respond to all of them at once.")
        if args.command == "edit":
            new_args = parse_json(args.args, "--args")
            if not isinstance(new_args, dict):
                raise UsageError('--args must be a JSON object, e.g. --args \'{"nights": 2}\'')
            response = build_response(item, "edit", args=new_args)
        elif args.command == "respond":
            text: Any = args.text
            if args.json:
                text = parse_json(args.text, "--json given but the answer")
            verb = "response" if item.kind != "hitl" else ("respond" if "respond" in item.allowed else "reject")
            response = build_response(item, verb, text=text)
        elif args.command in ("accept", "retry"):
            response = build_response(item, "approve" if item.kind == "hitl" else "accept")
        elif args.command == "mark-done":
            response = build_response(item, "response", text=args.note or f"marked done by {service.reviewer}")
        elif item.kind == "hitl":  # ignore = reject, with the reason the agent receives
            response = build_response(item, "reject", text=getattr(args, "reason", None))
        elif getattr(args, "reason", None):
            raise UsageError(f"{args.id} is in the Agent Inbox format, whose ignore carries no reason; send your "
                             f"words with `inbox respond {args.id} TEXT` instead.")
        else:
            response = build_response(item, "ignore")
        applied = run_sync(service.decide(args.id, response))
    finally:
        saver.close()
    if refs and applied.status == "recorded":
        say(f"note: no --graph named {applied.graph!r} (given: {', '.join(refs)}); the decision is "
            "recorded for `inbox worker`, the run did not continue.")
    if applied.status == "busy":
        say(f"the decision is recorded; thread {applied.thread_id!r} is being run by {applied.owner} right now, "
            "which continues it with this decision when its step ends (or `inbox worker` does).")
    print(dumps({"id": args.id, "thread_id": applied.thread_id, "status": applied.status,
                      "new_interrupts": [i.id for i in applied.interrupts], "error": applied.error,
                      **({"owner": applied.owner} if applied.owner else {})}))
    return EXIT_OK if applied.status != "error" else EXIT_FAILED


def _parse_value(text: str):
    """A rule's value: JSON when it parses (100, "x", true), else the text itself (/tmp/)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cmd_rules(args) -> int:
    """`inbox rules list|add|revoke`: the rules that answer requests before they reach a person."""
    from engine._internal.sync import run_sync
    from inbox.review import describe_rule

    _store_only(args, "Rules")
    saver, service = _service(args, readonly=args.action == "list")
    try:
        if args.action == "list":
            rules = run_sync(service.rules(include_revoked=args.all))
            if args.json:
                print(dumps(rules, indent=2))
            for rule in [] if args.json else rules:
                revoked = f"  REVOKED by {rule['revoked_by']} at {rule['revoked_at']}" if rule["revoked_at"] else ""
                print(f"{rule['id']}  {describe_rule(rule)}  (by {rule['created_by']}){revoked}")
            if not rules and not args.json:
                print("No rules.", file=sys.stderr)
            return EXIT_OK
        if args.action == "revoke":
            rule = run_sync(service.revoke_rule(args.id))
            print(f"revoked {rule['id']}: {describe_rule(rule)}")
            return EXIT_OK
        pattern = (args.arg, args.op, args.value)
        if any(p is not None for p in pattern) and not all(p is not None for p in pattern):
            raise UsageError("an argument pattern needs --arg, --op and --value together, e.g. "
                             "--arg path --op prefix --value /tmp/")
        expires = None
        if args.hours is not None:
            if args.hours <= 0:
                raise UsageError(f"--hours must be more than 0, got {args.hours}")
            from datetime import timedelta
            expires = (service.clock() + timedelta(hours=args.hours)).isoformat()
        rule = run_sync(service.add_rule(args.tool, arg=args.arg, op=args.op,
                                         value=_parse_value(args.value) if args.value is not None else None,
                                         thread_id=args.thread, expires_at=expires))
        print(f"added {rule['id']}: {describe_rule(rule)}")
        return EXIT_OK
    finally:
        saver.close()


AUDIT_FIELDS = ("seq", "decided_at", "by", "user", "host", "interrupt_id", "thread_id", "graph", "action", "status",
                "answer", "response", "raised_at", "seconds_to_decide", "hash")


def cmd_audit(args) -> int:
    """`inbox audit`: the decisions as CSV or JSON lines; `inbox audit verify`: check the chain."""
    from engine._internal.sync import run_sync

    _store_only(args, "The audit log")

    since = None
    if args.since:
        from datetime import datetime, timezone
        try:
            moment = datetime.fromisoformat(args.since)
        except ValueError:
            raise UsageError(f"--since {args.since!r} is not a date or time; give ISO 8601, e.g. 2025-03-10 or "
                             "2025-03-10T08:00+01:00") from None
        since = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()
    saver, service = _service(args, readonly=True)
    try:
        if args.action == "verify":
            count, problems = run_sync(service.verify_audit())
        else:
            rows = run_sync(service.audit(since))
    finally:
        saver.close()
    if args.action == "verify":
        for problem in problems:
            print(f"✗ {problem}")
        if problems:
            say(f"the audit log has been tampered with: {len(problems)} problem(s) in {count} rows")
            return EXIT_FAILED
        print(f"✓ the audit log is intact: {count} rows, each chained to the one before")
        return EXIT_OK
    if args.format == "csv":
        import csv
        writer = csv.DictWriter(sys.stdout, fieldnames=AUDIT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "response": dumps(row["response"])})
    else:
        for row in rows:
            print(dumps(row))
    return EXIT_OK


# --- parsing ----------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="inbox", description="A terminal approval inbox for human-in-the-loop agents.")
    top.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    from engine.checkpoint.stores import default_target

    env_db = default_target()  # INBOX_DB, else DATABASE_URL
    db_help = ("the inbox database: a SQLite file path or a postgresql:// URL "
               "(default: $INBOX_DB, else $DATABASE_URL)")
    demo = sub.add_parser("demo", help="open the inbox over a demo fleet of agents (seeded on first use)")
    demo.add_argument("--db", default=env_db or "inbox-demo.sqlite",
                      help="a SQLite file path or a postgresql:// URL (default: $INBOX_DB, else $DATABASE_URL, "
                           "else inbox-demo.sqlite)")
    demo.add_argument("--threads", type=int, default=36, help="demo runs to seed into a new database (default 36)")

    def with_db(p):
        if env_db:
            p.add_argument("--db", default=env_db, help=db_help)
        else:
            p.add_argument("--db", required=True, help=db_help)
        return p

    def with_source(p):
        """--db PATH or --url URL (an Agent Server), one of them; without either, $INBOX_DB
        (else $DATABASE_URL) is the database (filled in after parsing: see `_remote`)."""
        source = p.add_mutually_exclusive_group(required=not env_db)  # argparse says "not allowed with"
        source.add_argument("--db", help=db_help)
        source.add_argument("--url", help="an Agent Server (`inbox serve`, `langgraph dev`, a LangGraph deployment): "
                                     "its URL, or a [servers.NAME] name from the config file")
        p.add_argument("--api-key", dest="api_key", metavar="KEY",
                       help="the server's API key (default: $LANGGRAPH_API_KEY, then $LANGSMITH_API_KEY)")
        return p

    def with_db_only(p):
        """--db, and a --url that is refused with a clear error: what the command reads is kept
        only in the inbox's database (rules, the audit log), which no Agent Server API exposes."""
        with_db(p)
        if not env_db:  # `--url` alone must reach the command's clear error, not argparse's
            p._option_string_actions["--db"].required = False
        p.add_argument("--url", help="not supported: this is kept in the inbox's database; use --db")
        p.add_argument("--api-key", dest="api_key", metavar="KEY", help=argparse.SUPPRESS)
        return p

    def with_graphs(p):
        p.add_argument("--graph", action="append", default=[], metavar="NAME=module:attr",
                       help="a graph to continue runs with (repeatable)")
        return p

    opener = with_graphs(with_source(sub.add_parser("open", help="open the inbox over your own database or an Agent Server")))
    opener.add_argument("--poll-seconds", dest="poll_seconds", type=float,
                        help="with a LangGraph server: seconds between looks for changes (default 2)")
    worker = with_graphs(with_db(sub.add_parser("worker", help="apply recorded decisions: continue the runs")))
    worker.add_argument("--interval", type=float, default=0.5, help="seconds between polls")
    worker.add_argument("--once", action="store_true", help="apply what is waiting, then exit")
    worker.add_argument("--concurrency", type=int, default=4,
                        help="threads continued at once by this worker (default 4); with 1, sync nodes and "
                             "tools run on the worker's own event loop, without a hop to an executor thread")

    listing = with_source(sub.add_parser("list", help="list pending requests"))
    listing.add_argument("--json", action="store_true", help="a JSON array")
    listing.add_argument("--status", choices=LIST_STATUSES, default="pending",
                         help="which requests: pending (default), resolved (the decisions), errors (runs that "
                              "failed), in-doubt (tool calls that may have run when their process died)")
    listing.add_argument("--filter", help="text to match in action, args or description")
    listing.add_argument("--graph", dest="graph_name", help="only this graph")
    listing.add_argument("--thread", help="only this thread")
    listing.add_argument("--limit", type=int)
    show = with_source(sub.add_parser("show", help="show one request (ID or a unique prefix of 6+ characters)"))
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="the request as JSON (exact)")
    for name, help_text in (("accept", "accept a request"), ("ignore", "ignore (or, multi-action: reject) a request")):
        p = with_graphs(with_source(sub.add_parser(name, help=help_text)))
        p.add_argument("id", help="the request's id, or a unique prefix of 6+ characters")
        p.add_argument("--by", help="who decides (default: the configured reviewer)")
        if name == "ignore":
            p.add_argument("--reason", help="multi-action (LangChain v1) requests: the reason the agent receives")
    edit = with_graphs(with_source(sub.add_parser("edit", help="edit a request's args, then run it")))
    edit.add_argument("id")
    edit.add_argument("--args", required=True, help="the new args as a JSON object")
    edit.add_argument("--by")
    for name, help_text in (("retry", "run an in-doubt tool call again"),
                            ("mark-done", "mark an in-doubt tool call as done (it is not run again)")):
        p = with_graphs(with_source(sub.add_parser(name, help=help_text)))
        p.add_argument("id")
        p.add_argument("--by", help="who decides (default: the configured reviewer)")
        if name == "mark-done":
            p.add_argument("--note", help="the result the agent sees (default: marked done by REVIEWER)")
    rules = sub.add_parser("rules", help="list, add or revoke rules that accept requests before a person sees them")
    rule_actions = rules.add_subparsers(dest="action", metavar="ACTION", required=True)
    rules_list = with_db_only(rule_actions.add_parser("list", help="the active rules"))
    rules_list.add_argument("--all", action="store_true", help="include revoked rules")
    rules_list.add_argument("--json", action="store_true", help="as JSON")
    rules_add = with_db_only(rule_actions.add_parser("add", help="a rule that accepts matching requests"))
    rules_add.add_argument("--tool", required=True, help="the tool the rule accepts")
    rules_add.add_argument("--arg", help="an argument the pattern checks")
    rules_add.add_argument("--op", choices=["prefix", "below", "equals"], help="how the argument must match")
    rules_add.add_argument("--value", help="what it is matched against (JSON, or plain text)")
    rules_add.add_argument("--thread", help="only on this thread (default: everywhere)")
    rules_add.add_argument("--hours", type=float, help="expires after this many hours (default: never)")
    rules_add.add_argument("--by", help="who adds it (default: the configured reviewer)")
    rules_revoke = with_db_only(rule_actions.add_parser("revoke", help="revoke a rule"))
    rules_revoke.add_argument("id", help="the rule's id (or a unique prefix)")
    rules_revoke.add_argument("--by", help="who revokes it (default: the configured reviewer)")
    audit = with_db_only(sub.add_parser("audit", help="export the audit log (who decided what, when), or verify it"))
    audit.add_argument("action", nargs="?", choices=["verify"], help="verify: check the hash chain for edited or "
                                                                      "deleted rows (exit 1 if any)")
    audit.add_argument("--since", help="only decisions from this time on (ISO 8601)")
    audit.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="jsonl (default) or csv")
    respond = with_graphs(with_source(sub.add_parser("respond", help="answer with text instead of running the tool")))
    respond.add_argument("id")
    respond.add_argument("text")
    respond.add_argument("--json", action="store_true", help="send TEXT parsed as JSON")
    respond.add_argument("--by")
    serve = with_graphs(with_db(sub.add_parser("serve", help="serve LangGraph's Agent Server HTTP API over the database")))
    serve.add_argument("--config", help="a langgraph.json whose \"graphs\" map names the graphs to serve")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=2024, help="port (default 2024; 0 picks a free one)")
    serve.add_argument("--api-key", action="append", default=[], metavar="NAME=KEY",
                       help="a reviewer's API key (repeatable); decisions are recorded as NAME")
    serve.add_argument("--api-keys-file", help="a file of NAME=KEY lines")
    serve.add_argument("--insecure", action="store_true",
                       help="allow a non-loopback --host without any API key")
    return top


COMMANDS = {"demo": cmd_demo, "open": cmd_open, "worker": cmd_worker, "list": cmd_list, "show": cmd_show,
            "accept": cmd_decide, "edit": cmd_decide, "respond": cmd_decide, "ignore": cmd_decide,
            "retry": cmd_decide, "mark-done": cmd_decide, "audit": cmd_audit, "rules": cmd_rules,
            "serve": cmd_serve}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere: `inbox --debug list` and `inbox list --debug`
    args = parser().parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    if args.command is None:
        parser().print_help()
        return EXIT_USAGE
    from engine.errors import AlreadyResolved, EngineError
    from inbox.config import SettingsError

    try:
        return COMMANDS[args.command](args)
    except AlreadyResolved as error:
        say(str(error))
        return EXIT_ALREADY
    except ConnectionError as error:  # a server that does not answer, a decision not delivered
        if args.debug:
            traceback.print_exc()
        say(str(error))
        return EXIT_FAILED
    except (UsageError, EngineError, SettingsError, LookupError, ValueError) as error:
        if args.debug:
            traceback.print_exc()
        # str(KeyError("x")) is "'x'": show a KeyError's message without the quotes.
        message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        say(_redacted(message, args))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILED
    except BrokenPipeError:  # `inbox list | head`: the reader left, which is fine
        sys.stderr.close()
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - one clear line, the traceback only with --debug
        if args.debug:
            traceback.print_exc()
        damaged = _damaged(error, args)
        if damaged is not None:
            say(str(damaged))
            return EXIT_USAGE  # as when the check at open finds it
        say(_redacted(f"unexpected {type(error).__name__}: {error} (rerun with --debug for details)", args))
        return EXIT_FAILED


def _damaged(error: BaseException, args):
    """SQLite's "malformed" met after open, explained (see damaged_while_open), or None."""
    from engine.checkpoint.sqlite.schema import damaged_while_open

    db = getattr(args, "db", None)
    return damaged_while_open(error, os.path.abspath(db) if isinstance(db, str) and db else None)


def _redacted(message: str, args) -> str:
    """An error line without the password of a Postgres --db, whatever quoted it."""
    db = getattr(args, "db", None)
    from engine.checkpoint.stores import is_postgres

    if not is_postgres(db):
        return message
    from engine.checkpoint.postgres.dsn import redact_text

    return redact_text(message, db)


if __name__ == "__main__":
    sys.exit(main())
