"""GitHub's primary rate limits, per token and per resource, on an injectable clock.

Like GitHub, each (token, resource) budget is a fixed window that opens at the first
request and resets `window` seconds later; a request that finds the budget spent is
refused with `RateLimitExceeded`, whose snapshot fills the `x-ratelimit-*` headers.
Tokens are only ever kept as a short hash (`token_id`), so stats and errors can name
a token without revealing it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gitbrag.fakegithub.budget import RateLimitExceeded, RateSnapshot

ANONYMOUS = "anonymous"
RESOURCES = ("core", "search", "graphql")


def token_id(token: str | None) -> str:
    """A short, stable, non-reversible name for a token (or `anonymous`)."""
    if not token:
        return ANONYMOUS
    return "tok-" + hashlib.sha256(token.encode()).hexdigest()[:10]


@dataclass
class LimitConfig:
    """Budgets per window. Defaults are GitHub.com's for a personal token."""

    core: int = 5000
    search: int = 30
    graphql: int = 5000  # points
    anonymous_core: int = 60
    anonymous_search: int = 10
    core_window: float = 3600.0
    search_window: float = 60.0
    graphql_window: float = 3600.0

    def budget(self, resource: str, authenticated: bool) -> tuple[int, float]:
        limit = getattr(self, resource)
        if not authenticated and resource in ("core", "search"):
            limit = getattr(self, f"anonymous_{resource}")
        return limit, getattr(self, f"{resource}_window")


@dataclass
class _Window:
    used: int
    reset: float  # epoch seconds


@dataclass
class RateLimiter:
    config: LimitConfig = field(default_factory=LimitConfig)
    clock: Callable[[], float] = time.time
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)

    def charge(self, who: str, resource: str, cost: int = 1) -> RateSnapshot:
        """Spend `cost` from `who`'s budget, or raise `RateLimitExceeded` leaving it untouched."""
        window, limit = self._window(who, resource)
        if window.used + cost > limit:
            raise RateLimitExceeded(self._snapshot(window, resource, limit, cost))
        window.used += cost
        return self._snapshot(window, resource, limit, cost)

    def peek(self, who: str, resource: str) -> RateSnapshot:
        """The budget as it stands, without charging (for 304s and `GET /rate_limit`)."""
        window, limit = self._window(who, resource)
        return self._snapshot(window, resource, limit, 0)

    def reset(self) -> None:
        self._windows.clear()

    def _window(self, who: str, resource: str) -> tuple[_Window, int]:
        limit, length = self.config.budget(resource, who != ANONYMOUS)
        now = self.clock()
        window = self._windows.get((who, resource))
        if window is None or now >= window.reset:
            window = self._windows[(who, resource)] = _Window(0, now + length)
        return window, limit

    @staticmethod
    def _snapshot(window: _Window, resource: str, limit: int, cost: int) -> RateSnapshot:
        return RateSnapshot(
            resource=resource,
            limit=limit,
            remaining=max(limit - window.used, 0),
            used=window.used,
            reset_at=datetime.fromtimestamp(int(window.reset), UTC),
            cost=cost,
        )


def rate_headers(snap: RateSnapshot) -> dict[str, str]:
    """GitHub's `x-ratelimit-*` response headers."""
    return {
        "x-ratelimit-limit": str(snap.limit),
        "x-ratelimit-remaining": str(snap.remaining),
        "x-ratelimit-used": str(snap.used),
        "x-ratelimit-reset": str(int(snap.reset_at.timestamp())),
        "x-ratelimit-resource": snap.resource,
    }
