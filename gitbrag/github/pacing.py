"""Per-minute pacing: GitHub's limits that are counted per minute, kept before GitHub has to say so.

The primary limits (5,000 an hour) are read from GitHub's own headers by the token pool.
The per-minute ones are not announced in advance; breaking them earns a secondary limit,
a pause of a minute or more for the whole account. So the client paces itself, per token:

* REST search (`/search/*`): 30 requests a minute (GitHub's `search` resource);
* GraphQL: 2,000 secondary-limit points a minute, where a query without mutations is 1
  point (GitHub's "calculating points for the secondary rate limit"); gitbrag only reads;
* other REST: 900 points a minute, a GET being 1 point;
* GraphQL CPU time: at most 60 s of it per 60 s of real time. GitHub suggests estimating
  CPU time from the total response time of one's requests, so a token whose GraphQL
  answers took 60 s in the last minute waits (`TimeBudget`) before sending more: with
  several requests in flight, slow answers would otherwise add up past the limit.

A GraphQL `search` field spends GraphQL points, not the REST `search` budget: GitHub's
`/rate_limit` documents `search` as the REST search budget and GraphQL as separately
limited, and the fake GitHub charges them so. A client can still count its GraphQL
searches against the search window (`GitHubClient(pace_graphql_search=True)`) if
GitHub ever starts limiting them the same way.

Windows are sliding logs keyed by a token's id (a hash, never the token). `LocalWindow`
shares one window among every refresh of a process; `gitbrag.coordination.ratelimit.RedisWindow`
shares it among processes.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

MINUTE = 60.0
SEARCH_PER_MINUTE = 30
GRAPHQL_POINTS_PER_MINUTE = 2000
REST_POINTS_PER_MINUTE = 900
GRAPHQL_SECONDS_PER_MINUTE = 60.0


def token_key(secret: str | None) -> str:
    """A stable, non-reversible name for a token, safe to use as a shared key or label."""
    if secret is None:
        return "anonymous"
    return "tok-" + hashlib.sha256(secret.encode()).hexdigest()[:16]


class Window(Protocol):
    """At most `limit` events per `period` seconds for each key."""

    async def reserve(self, key: str, now: float) -> float:
        """Take a slot for `key` at `now`: 0.0 when taken, else the seconds until one frees
        (and nothing is taken)."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class LocalWindow:
    """A sliding-window log in memory: exact, and cheap at these sizes (≤ 2,000 per key)."""

    limit: int
    period: float = MINUTE
    _events: dict[str, deque[float]] = field(default_factory=dict)

    async def reserve(self, key: str, now: float) -> float:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.period:
            events.popleft()
        if len(events) < self.limit:
            events.append(now)
            return 0.0
        return max(events[0] + self.period - now, 0.001)

    async def aclose(self) -> None:
        return None


@dataclass
class TimeBudget:
    """At most `seconds` of response time per `period` for each key (a sliding log of spends)."""

    seconds: float = GRAPHQL_SECONDS_PER_MINUTE
    period: float = MINUTE
    _spent: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)

    def wait(self, key: str, now: float) -> float:
        """0.0 when `key` may send now, else the seconds until enough of its spend is a minute old."""
        log = self._spent.setdefault(key, deque())
        while log and log[0][0] <= now - self.period:
            log.popleft()
        excess = sum(duration for _, duration in log) - self.seconds
        for at, duration in log:
            if excess < 0:
                break
            excess -= duration
            if excess < 0:
                return max(at + self.period - now, 0.001)
        return 0.0 if excess < 0 else self.period

    def spend(self, key: str, now: float, seconds: float) -> None:
        self._spent.setdefault(key, deque()).append((now, max(seconds, 0.0)))


@dataclass
class Pacing:
    """The windows one client observes; `search` may be shared across processes."""

    search: Window = field(default_factory=lambda: LocalWindow(SEARCH_PER_MINUTE))
    graphql: Window = field(default_factory=lambda: LocalWindow(GRAPHQL_POINTS_PER_MINUTE))
    rest: Window = field(default_factory=lambda: LocalWindow(REST_POINTS_PER_MINUTE))
    graphql_time: TimeBudget = field(default_factory=TimeBudget)

    def spent(self, key: str, now: float, seconds: float) -> None:
        """A GraphQL answer took `seconds` (GitHub's suggested estimate of its CPU time)."""
        self.graphql_time.spend(key, now, seconds)

    async def reserve(self, key: str, now: float, *, graphql: bool, search: bool) -> float:
        """Take a slot in each window the request counts against; the wait if one is full.

        The scarce search window is asked first, so a refusal there costs nothing; a
        refusal by the per-API window after it wastes one search slot, which is rare
        (2,000 and 900 a minute against 30) and errs on the safe side.
        """
        if graphql:
            wait = self.graphql_time.wait(key, now)
            if wait > 0:
                return wait
        if search:
            wait = await self.search.reserve(key, now)
            if wait > 0:
                return wait
        return await (self.graphql if graphql else self.rest).reserve(key, now)

    async def aclose(self) -> None:
        for window in (self.search, self.graphql, self.rest):
            await window.aclose()
