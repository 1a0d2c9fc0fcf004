"""Connection strings: recognising a Postgres URL among `--db` values, and keeping its password
out of every message, log line and error.

A password can sit in a URL (`postgresql://user:secret@host/db`), in a key/value DSN
(`password=secret host=...`) or in a query parameter (`?password=secret`). `redact()` replaces
each with `***`; `redact_text()` does the same to any text that may quote the DSN (a driver's
error message), given the DSN it may quote.
"""

from __future__ import annotations

import re
import urllib.parse

SCHEMES = ("postgresql://", "postgres://")

_URL_PASSWORD = re.compile(r"(?P<head>postgres(?:ql)?://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<tail>@)", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE)


def is_postgres_url(value: object) -> bool:
    """Whether a `--db` value names a Postgres database (a postgresql:// or postgres:// URL)."""
    return isinstance(value, str) and value.strip().lower().startswith(SCHEMES)


def password_of(dsn: str) -> str | None:
    """The password a DSN carries, if any (to scrub it from texts that quote it decoded)."""
    match = _URL_PASSWORD.search(dsn)
    if match and match.group("pw"):
        return urllib.parse.unquote(match.group("pw"))
    match = _KV_PASSWORD.search(dsn)
    if match:
        return urllib.parse.unquote(match.group("pw").strip("'"))
    return None


def redact(dsn: str) -> str:
    """The DSN with any password replaced by `***`."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + "***" + m.group("tail"), dsn)
    return _KV_PASSWORD.sub(lambda m: m.group("head") + "***", text)


def redact_text(text: str, dsn: str) -> str:
    """`text` (e.g. a driver error) with the DSN's password removed wherever it appears."""
    secret = password_of(dsn)
    text = redact(text)
    if secret:
        text = text.replace(secret, "***")
        quoted = urllib.parse.quote(secret, safe="")
        if quoted != secret:
            text = text.replace(quoted, "***")
    return text


__all__ = ["SCHEMES", "is_postgres_url", "redact", "redact_text", "password_of"]
