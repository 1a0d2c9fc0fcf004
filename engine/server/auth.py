"""API keys: named keys, checked on every request when any is configured.

A key is given as `NAME=KEY` (or a bare `KEY`, named "api-key"), on the command line, in a
keys file (one `NAME=KEY` a line, `#` comments), or in the environment (`INBOX_API_KEYS`,
comma-separated). With keys, a request without `x-api-key` is 401 and a wrong one 403; the
name of the matching key is who decides what that request resumes (the audit log's
`resolved_by`). Without keys, every request passes and an unexpected `x-api-key` is ignored
(the SDK sends LANGSMITH_API_KEY when it finds one). Keys are compared in constant time and
never logged or echoed. CORS preflights (OPTIONS) pass: browsers send them without headers."""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path
from typing import Any

from engine.constants import reserved_decider

DEFAULT_NAME = "api-key"


class KeyError_(ValueError):
    """A key specification that cannot be used; the message says why (never the key)."""


def parse_key(spec: str, where: str) -> tuple[str, str]:
    name, sep, key = spec.partition("=")
    if not sep:
        name, key = DEFAULT_NAME, spec
    name, key = name.strip(), key.strip()
    if not name or not key:
        raise KeyError_(f"{where}: expected NAME=KEY (e.g. dana=s3cret), got an empty name or key")
    if len(key) < 8:
        raise KeyError_(f"{where}: the key for {name!r} is shorter than 8 characters; use a longer random key")
    reserved = reserved_decider(name)
    if reserved is not None:
        raise KeyError_(f"{where}: key name {reserved}")
    return name, key


def load_keys(specs: list[str], keys_file: str | None = None, env: dict | None = None) -> dict[str, str]:
    """{key: name} from the command line, a keys file and INBOX_API_KEYS."""
    env = os.environ if env is None else env
    pairs: list[tuple[str, str]] = []
    for spec in specs:
        pairs.append(parse_key(spec, "--api-key"))
    if keys_file:
        path = Path(keys_file)
        try:
            lines = path.read_text().splitlines()
        except OSError as error:
            raise KeyError_(f"--api-keys-file {keys_file}: cannot read it ({error.strerror})") from None
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if line and not line.startswith("#"):
                pairs.append(parse_key(line, f"{keys_file} line {number}"))
    for spec in filter(None, (s.strip() for s in env.get("INBOX_API_KEYS", "").split(","))):
        pairs.append(parse_key(spec, "INBOX_API_KEYS"))
    keys: dict[str, str] = {}
    for name, key in pairs:
        if key in keys and keys[key] != name:
            raise KeyError_(f"the same key is given for {keys[key]!r} and {name!r}; give each reviewer their own")
        keys[key] = name
    return keys


class ApiKeyMiddleware:
    """Pure ASGI: checks `x-api-key` before the app sees the request."""

    def __init__(self, app: Any, keys: dict[str, str]) -> None:
        self.app = app
        self.keys = [(k.encode(), name) for k, name in keys.items()]

    def _name(self, given: bytes) -> str | None:
        found = None
        for key, name in self.keys:  # every key is compared: the time does not say which matched
            if hmac.compare_digest(key, given):
                found = name
        return found

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key_name"] = None
        if self.keys and scope["method"] != "OPTIONS":
            given = dict(scope["headers"]).get(b"x-api-key")
            if given is None:
                await _deny(send, 401, "Missing x-api-key header: this server requires an API key.")
                return
            name = self._name(given)
            if name is None:
                await _deny(send, 403, "Invalid API key.")
                return
            scope["state"]["api_key_name"] = name
        await self.app(scope, receive, send)


async def _deny(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"access-control-allow-origin", b"*")]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["ApiKeyMiddleware", "load_keys", "parse_key", "KeyError_", "DEFAULT_NAME"]
