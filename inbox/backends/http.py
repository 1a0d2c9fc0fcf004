"""The HTTP client of an Agent Server: one async httpx client, its auth header, and what a
network fault means.

- Reads (GET, and POSTs that only read: searches, history) are retried a few times on refused
  connections, timeouts and 5xx, with a short backoff; then `ServerUnreachable` says which
  server and why. Decisions are never retried here: a POST that changes a run is sent once
  (`send_once`), and a fault while sending is reported to the caller, who decides what it
  means (backends/remote.py: "not sent", or "check whether it landed").
- The API key travels only in the `x-api-key` header. It is kept in a private attribute,
  never in a repr, an error message or a log line: httpx logs URLs, not headers.
- `ApiError` carries a non-2xx answer's status and `detail` (the server's own words).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from engine.errors import EngineError

READ_RETRIES = 3
BACKOFF = (0.2, 0.5, 1.0)


class ServerUnreachable(EngineError, ConnectionError):
    """The server did not answer (refused, timed out, dropped) or answered 5xx."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"server unreachable: {url} ({reason}). Check that it is running and the URL is right.")


class ApiError(EngineError):
    """A 4xx answer: the status and the server's `detail`."""

    def __init__(self, status: int, detail: Any, url: str):
        self.status = status
        self.detail = detail
        message = detail.get("message", detail) if isinstance(detail, dict) else detail
        super().__init__(f"{url} answered {status}: {message}")


def describe_fault(error: Exception) -> str:
    """A network fault in a few words (no headers, so no key)."""
    if isinstance(error, httpx.ConnectError):
        cause: BaseException | None = error
        while cause is not None:  # httpx words it "All connection attempts failed"; the OS knows why
            if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
                return "connection refused"
            cause = cause.__cause__ or cause.__context__
        return f"cannot connect: {error}"
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the connection dropped"
    return f"{type(error).__name__}: {error}"


class AgentServerClient:
    """JSON over HTTP to one Agent Server (`url`), with an optional API key."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.__key = api_key or None
        headers = {"x-api-key": self.__key} if self.__key else {}
        self.http = httpx.AsyncClient(base_url=self.url, headers=headers,
                                      timeout=httpx.Timeout(timeout, connect=3.0))

    def __repr__(self) -> str:  # never the key
        return f"AgentServerClient({self.url!r}, api_key={'set' if self.__key else 'none'})"

    @property
    def has_key(self) -> bool:
        return self.__key is not None

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 500:
            raise ServerUnreachable(self.url, f"{response.status_code} {response.reason_phrase}")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            if response.status_code in (401, 403):
                detail = (f"{detail} (the server wants an API key: pass --api-key, or set LANGGRAPH_API_KEY)"
                          if isinstance(detail, str) else detail)
            raise ApiError(response.status_code, detail, self.url)
        return response

    async def read(self, method: str, path: str, json: Any = None, params: dict | None = None) -> httpx.Response:
        """A request that changes nothing: retried on faults, then ServerUnreachable."""
        last: Exception | None = None
        for attempt in range(READ_RETRIES):
            try:
                return self._check(await self.http.request(method, path, json=json, params=params))
            except ServerUnreachable as error:
                last = error
            except httpx.TransportError as error:
                last = ServerUnreachable(self.url, describe_fault(error))
            await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
        assert last is not None
        raise last

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.read("GET", path, params=params or None)).json()

    async def post_read(self, path: str, body: Any) -> httpx.Response:
        return await self.read("POST", path, json=body)

    async def send_once(self, path: str, body: Any) -> httpx.Response:
        """A POST that changes a run: sent once, never retried. Transport faults propagate as
        httpx errors (the caller knows whether it may have landed); 4xx as ApiError."""
        return self._check(await self.http.post(path, json=body))

    def stream(self, path: str, params: dict | None = None, read_timeout: float = 45.0):
        """A long GET (server-sent events): a read timeout above the server's keep-alive
        comments (15 s) tells a dropped stream from a quiet one."""
        return self.http.stream("GET", path, params=params, timeout=httpx.Timeout(10.0, read=read_timeout))

    async def aclose(self) -> None:
        await self.http.aclose()


__all__ = ["AgentServerClient", "ServerUnreachable", "ApiError", "describe_fault"]
