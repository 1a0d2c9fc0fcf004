"""Retrying a node that raised, by its `RetryPolicy` (or a sequence of them: the first whose
`retry_on` matches the error decides), as LangGraph's `arun_with_retry` does.

Only the node's own call is retried: an `interrupt()` pause or a `Command(graph=PARENT)` is not
an error. Before each retry the task's interrupt counter is reset, so the node's `interrupt()`
calls are matched to the answers it already has again (an answered question is not asked a
second time), and so are its subgraph namespaces (a subgraph picks up where it stopped).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, Awaitable, Callable, Sequence

from engine.errors import GraphBuildError


def policies_of(value: Any, where: str) -> tuple:
    """`retry_policy=` as given to add_node or set_node_defaults: one policy or a sequence."""
    from engine.types import RetryPolicy

    if value is None:
        return ()
    items = (value,) if isinstance(value, RetryPolicy) else tuple(value) if isinstance(value, (list, tuple)) else None
    if items is None or not all(isinstance(p, RetryPolicy) for p in items):
        raise GraphBuildError(f"{where}: retry_policy must be a RetryPolicy or a sequence of them, got {value!r}.")
    for policy in items:
        if policy.max_attempts < 1:
            raise GraphBuildError(f"{where}: RetryPolicy(max_attempts={policy.max_attempts}) must be at least 1.")
        _check_retry_on(policy.retry_on, where)
    return items


def _check_retry_on(retry_on: Any, where: str) -> None:
    if isinstance(retry_on, type) and issubclass(retry_on, Exception):
        return
    if isinstance(retry_on, Sequence) and not isinstance(retry_on, str):
        if all(isinstance(t, type) and issubclass(t, Exception) for t in retry_on):
            return
    elif callable(retry_on):
        return
    raise GraphBuildError(f"{where}: RetryPolicy(retry_on={retry_on!r}) must be an exception class, a "
                          "sequence of exception classes, or a callable taking the exception.")


def should_retry(policy: Any, exc: Exception) -> bool:
    retry_on = policy.retry_on
    if isinstance(retry_on, Sequence):
        return isinstance(exc, tuple(retry_on))
    if isinstance(retry_on, type):
        return isinstance(exc, retry_on)
    return bool(retry_on(exc))


def interval(policy: Any, failures: int) -> float:
    """Seconds to wait before the retry that follows the `failures`-th failure."""
    base = min(policy.max_interval, policy.initial_interval * policy.backoff_factor ** (failures - 1))
    return base + random.uniform(0, 1) if policy.jitter else base


async def call_with_retry(policies: Sequence[Any], attempt: Callable[[], Awaitable[Any]],
                          before_retry: Callable[[], None]) -> Any:
    """`await attempt()`, again after a matching error until its policy's attempts are spent;
    then the last error is raised."""
    failures = 0
    while True:
        try:
            return await attempt()
        except Exception as exc:  # GraphInterrupt and ParentCommand are BaseExceptions: not retried
            policy = next((p for p in policies if should_retry(p, exc)), None)
            if policy is None:
                raise
            failures += 1
            if failures >= policy.max_attempts:
                raise
            await asyncio.sleep(interval(policy, failures))
            before_retry()


__all__ = ["policies_of", "should_retry", "interval", "call_with_retry"]
