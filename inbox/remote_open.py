"""`--url URL|NAME [--api-key KEY]`: which Agent Server to open, and with which key.

The URL is an http(s) address, or the name of a `[servers.NAME]` entry in the config file
(inbox/config.py). The key, in order: `--api-key`, the entry's `api_key_env` variable, then
`LANGGRAPH_API_KEY` and `LANGSMITH_API_KEY` (as LangGraph's SDK). A key is only ever put in
the `x-api-key` header: it is never printed, logged or shown in an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit

KEY_VARIABLES = ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY")


class ServerChoiceError(ValueError):
    """--url names no server we can use (bad address, unknown name, missing key variable)."""


@dataclass(frozen=True)
class ServerChoice:
    url: str
    api_key: str | None = field(default=None, repr=False)
    key_source: str = "none"  # where the key came from (the variable's name, never the key)
    poll_seconds: float = 2.0


def choose_server(target: str, api_key: str | None, settings, env: Mapping[str, str] = os.environ) -> ServerChoice:
    entry = None
    if "://" not in target:
        entry = settings.servers.get(target)
        if entry is None:
            names = ", ".join(sorted(settings.servers)) or "none configured"
            raise ServerChoiceError(f"--url {target!r} is neither an http(s) URL nor a server named in the config "
                                    f"file ([servers.NAME]; known: {names}). Example: --url http://127.0.0.1:2024")
        url = entry.url
    else:
        url = target
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerChoiceError(f"--url {url!r}: expected an http(s) URL such as http://127.0.0.1:2024")
    if parts.username or parts.password:
        raise ServerChoiceError("--url must not carry credentials; pass the key with --api-key or an environment "
                                "variable (LANGGRAPH_API_KEY).")
    if api_key:
        return ServerChoice(url, api_key, "--api-key", entry.poll_seconds if entry else 2.0)
    if entry is not None and entry.api_key_env:
        value = env.get(entry.api_key_env)
        if not value:
            raise ServerChoiceError(f"server {target!r}: its key variable {entry.api_key_env} is not set.")
        return ServerChoice(url, value, entry.api_key_env, entry.poll_seconds)
    for name in KEY_VARIABLES:
        if env.get(name):
            return ServerChoice(url, env[name], name, entry.poll_seconds if entry else 2.0)
    return ServerChoice(url, None, "none", entry.poll_seconds if entry else 2.0)


def open_remote(target: str, api_key: str | None, settings, *, poll_seconds: float | None = None):
    """A connected RemoteBackend (its kind asked from /info)."""
    from inbox.backends.remote import RemoteBackend
    from inbox.review import blocking

    choice = choose_server(target, api_key, settings)
    backend = RemoteBackend(choice.url, choice.api_key, poll_interval=poll_seconds or choice.poll_seconds)
    blocking(backend.connect())
    return backend


__all__ = ["ServerChoice", "ServerChoiceError", "choose_server", "open_remote"]
