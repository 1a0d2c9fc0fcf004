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
    """The saver over `path`. `readonly` (commands that only read): an empty file or database is
    refused and left as it is rather than becoming a new inbox database. Either way, a file that
    is not ours, is corrupt or misses a table is refused before anything is written to it."""
    from engine.checkpoint.sqlite import SqliteSaver

    db = Path(path)
    if not create and not db.exists():
        raise UsageError(f"{path}: no such database. Check the path, or run `inbox demo --db {path}` to create a demo.")
    if db.exists() and db.is_dir():
        raise UsageError(f"{path} is a directory; give the path of an inbox database file.")
    if not db.parent.exists():
        raise UsageError(f"{path}: folder {db.parent} does not exist.")
    return SqliteSaver.open(path, adopt_empty=not readonly)


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

    path = args.db
    if args.threads < 0:
        raise UsageError(f"--threads must be 0 or more, got {args.threads}")
    if not Path(path).exists() or _is_empty_inbox(path):
        from datetime import datetime, timedelta, timezone

        print(f"Seeding {args.threads} demo agent runs into {path} …", file=sys.stderr)
        # Requests "arrived" over the last minutes, so their ages read naturally.
        start = datetime.now(timezone.utc) - timedelta(seconds=37 * args.threads + 60)
        seed(path, threads=args.threads, start=start)
    saver = open_saver(path, create=False)
    graphs = {name: build(saver) for name, build in GRAPHS.items()}
    return run_tui(saver, graphs, f"demo · {path}")


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
    return run_tui(saver, bind_graphs(refs, saver), args.db)


def cmd_worker(args) -> int:
    from inbox.backends.local import LocalBackend
    from inbox.review import ReviewService

    refs = dict(load_graph_ref(r) for r in args.graph)
    if not refs:
        raise UsageError("inbox worker needs at least one --graph NAME=module:attr to continue runs with.")
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be 1 or more, got {args.concurrency}")

    async def loop() -> None:
        from engine.checkpoint.sqlite import SqliteSaver

        if not Path(args.db).exists():
            raise UsageError(f"{args.db}: no such database.")
        async with SqliteSaver.from_conn_string(args.db) as saver:
            service = ReviewService(LocalBackend(saver, bind_graphs(refs, saver)), reviewer="inbox worker")
            print(f"inbox worker: continuing runs of {', '.join(service.graphs)} from {args.db} (ctrl+c stops)",
                  file=sys.stderr)
            while True:
                # Any number of workers may run on one file: each thread is run by whoever takes
                # its lease, so nothing is applied twice (engine/runtime/ownership.py).
                done = await service.expire()
                done += await service.recover(concurrency=args.concurrency)
                for applied in done:
                    print(json.dumps({"thread_id": applied.thread_id, "graph": applied.graph,
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
    db = Path(args.db)
    if args.db != ":memory:":
        if db.exists() and db.is_dir():
            raise UsageError(f"{args.db} is a directory; give the path of an inbox database file.")
        if not db.parent.exists():
            raise UsageError(f"{args.db}: folder {db.parent} does not exist.")

    async def open_saver_async():
        from engine.checkpoint.sqlite import SqliteSaver
        return await SqliteSaver.aopen(args.db)

    def ready(url: str) -> None:
        names = ", ".join(refs)
        print(f"inbox serve: {names} from {args.db} on {url}"
              f"{' (API keys: ' + ', '.join(sorted(set(keys.values()))) + ')' if keys else ''}", file=sys.stderr)

    try:
        serve(open_saver_async, lambda saver: bind_graphs(refs, saver), host=args.host, port=args.port, keys=keys,
              insecure=args.insecure, log_level="debug" if args.debug else "warning", ready=ready)
    except KeyboardInterrupt:
        pass
    return EXIT_OK


# --- headless ---------------------------------------------------------------------------------------
def _remote(args) -> bool:
    """Whether the command works on an Agent Server (--url) rather than a file (--db)."""
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


def _service(args, graphs: dict | None = None, readonly: bool = False):
    from inbox.review import ReviewService

    reviewer = _reviewer(args) if hasattr(args, "by") else "cli"  # a bad name stops us before opening
    if _remote(args):
        backend = _open_remote(args)
        return backend, ReviewService(backend, reviewer=reviewer)
    saver = open_saver(args.db, create=False, readonly=readonly)
    return saver, ReviewService(saver, graphs or {}, reviewer=reviewer)


def cmd_list(args) -> int:
    from engine._internal.sync import run_sync

    saver, service = _service(args, readonly=True)
    try:
        items = run_sync(service.pending(text=args.filter, limit=args.limit, graph=args.graph_name,
                                         thread_id=args.thread))
    finally:
        saver.close()
    if args.json:
        print(json.dumps([i.to_json() for i in items], ensure_ascii=False, indent=2))
    else:
        from inbox.text import one_line
        for item in items:
            print(f"{item.id}  {one_line(item.action, 20):<20}  {one_line(item.record.thread_id, 28):<28}  "
                  f"{item.record.created_at[:19]}  {one_line(item.description, 60)}")
        if not items:
            print("No pending requests.", file=sys.stderr)
    return EXIT_OK


def cmd_show(args) -> int:
    from engine._internal.sync import run_sync

    saver, service = _service(args, readonly=True)
    try:
        item = run_sync(service.item(args.id))
    finally:
        saver.close()
    print(json.dumps(item.to_json(), ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_decide(args) -> int:
    from engine._internal.sync import run_sync
    from inbox.review import build_response

    saver, service = _service(args)
    refs = dict(load_graph_ref(r) for r in args.graph)
    try:
        service.graphs = bind_graphs(refs, saver)
        item = run_sync(service.item(args.id))
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
        else:
            response = build_response(item, "ignore" if item.kind != "hitl" else "reject")
        applied = run_sync(service.decide(args.id, response))
    finally:
        saver.close()
    if refs and applied.status == "recorded":
        say(f"note: no --graph named {applied.graph!r} (given: {', '.join(refs)}); the decision is "
            "recorded for `inbox worker`, the run did not continue.")
    if applied.status == "busy":
        say(f"the decision is recorded; thread {applied.thread_id!r} is being run by {applied.owner} right now, "
            "which continues it with this decision when its step ends (or `inbox worker` does).")
    print(json.dumps({"id": args.id, "thread_id": applied.thread_id, "status": applied.status,
                      "new_interrupts": [i.id for i in applied.interrupts], "error": applied.error,
                      **({"owner": applied.owner} if applied.owner else {})}))
    return EXIT_OK if applied.status != "error" else EXIT_FAILED


# --- parsing ----------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="inbox", description="A terminal approval inbox for human-in-the-loop agents.")
    top.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="open the inbox over a demo fleet of agents (seeded on first use)")
    demo.add_argument("--db", default="inbox-demo.sqlite", help="database path (default: inbox-demo.sqlite)")
    demo.add_argument("--threads", type=int, default=36, help="demo runs to seed into a new database (default 36)")

    def with_db(p):
        p.add_argument("--db", required=True, help="the inbox database (a SqliteSaver file)")
        return p

    def with_source(p):
        """--db PATH or --url URL (an Agent Server), one of them."""
        source = p.add_mutually_exclusive_group(required=True)  # argparse says "not allowed with"
        source.add_argument("--db", help="the inbox database (a SqliteSaver file)")
        source.add_argument("--url", help="an Agent Server (`inbox serve`, `langgraph dev`, a LangGraph deployment): "
                                     "its URL, or a [servers.NAME] name from the config file")
        p.add_argument("--api-key", dest="api_key", metavar="KEY",
                       help="the server's API key (default: $LANGGRAPH_API_KEY, then $LANGSMITH_API_KEY)")
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
                        help="threads continued at once by this worker (default 4)")

    listing = with_source(sub.add_parser("list", help="list pending requests"))
    listing.add_argument("--json", action="store_true", help="a JSON array")
    listing.add_argument("--filter", help="text to match in action, args or description")
    listing.add_argument("--graph", dest="graph_name", help="only this graph")
    listing.add_argument("--thread", help="only this thread")
    listing.add_argument("--limit", type=int)
    with_source(sub.add_parser("show", help="show one request as JSON")).add_argument("id")
    for name, help_text in (("accept", "accept a request"), ("ignore", "ignore a request")):
        p = with_graphs(with_source(sub.add_parser(name, help=help_text)))
        p.add_argument("id")
        p.add_argument("--by", help="who decides (default: the configured reviewer)")
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
            "retry": cmd_decide, "mark-done": cmd_decide, "serve": cmd_serve}


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
        say(message)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILED
    except BrokenPipeError:  # `inbox list | head`: the reader left, which is fine
        sys.stderr.close()
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - one clear line, the traceback only with --debug
        if args.debug:
            traceback.print_exc()
        say(f"unexpected {type(error).__name__}: {error} (rerun with --debug for details)")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
