"""What the stores raise, whatever their backend.

A backend's own exceptions (redis-py's, sqlite3's) are mapped to these at the stores'
boundary, as httpx maps its transport's: code outside the coordination package catches
`StoreError` or `StoreUnavailable` and imports neither `redis` nor `sqlite3`. The backend's
exception stays attached as `__cause__`, and `error_name` reports it, so logs still say
"ConnectionError" or "ReadOnlyError"."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

C = TypeVar("C", bound=type)
Translate = Callable[[Exception], "StoreError | None"]

__all__ = ["PassingProblem", "StoreError", "StoreUnavailable", "error_name", "raises_store_errors"]


class StoreError(Exception):
    """The store failed this call: a command refused, a locked or broken SQLite file."""


class StoreUnavailable(StoreError):
    """The store cannot serve gitbrag right now: Redis unreachable, too slow, read-only (a
    replica after a failover), full or refusing writes (MISCONF: its own disk is full); the
    SQLite file's disk full or failing, or its lock held too long. Callers fail open on
    this one, as the design says: a pass still publishes and the store catches up when it
    is back.

    `headline` is what the operator reads, once per outage ("Redis refuses writes:
    MISCONF"); None for the default "unreachable". `local`: the state file on this host,
    whose dropped writes are each logged (one line each, no trace): they are rare and
    each one is a report whose bookkeeping is behind."""

    def __init__(self, message: str, *, headline: str | None = None, local: bool = False) -> None:
        super().__init__(message)
        self.headline = headline
        self.local = local


class PassingProblem(str):
    """A `write_problem` that heals by itself: a Redis whose own disk is full (MISCONF), a
    state file whose disk is full. /healthz reports it, but it is no reason to stop at
    start (exit 2 means a setting is wrong): passes fail open and publish meanwhile."""

    __slots__ = ()


def error_name(exc: BaseException) -> str:
    """The name of what went wrong, through the mapping: the backend's error for a store
    error (`ConnectionError`), else the exception's own."""
    cause = exc.__cause__ if isinstance(exc, StoreError) else None
    return type(cause or exc).__name__


def raises_store_errors(translate: Translate) -> Callable[[C], C]:
    """A class decorator for a store backend: each of its public coroutine methods raises
    `translate(exc)` in place of a backend exception that `translate` maps (None: not a
    backend error, raised as it is). One place per backend, not a try at every method."""

    def wrap(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def mapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            except Exception as exc:
                error = translate(exc)
                if error is None:
                    raise
                raise error from exc

        return mapped

    def decorate(cls: C) -> C:
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and inspect.iscoroutinefunction(value):
                setattr(cls, name, wrap(value))
        return cls

    return decorate
