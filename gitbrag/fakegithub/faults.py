"""Fault injection: what a real GitHub does to clients on a bad day.

Each API request draws one decision from a seeded random stream, so a sequential run
sees the same faults every time. Settings can be changed while the server runs
(`POST /_fake/faults`), and `*_next` counters force the next N requests to fail a given
way, for tests that need a fault exactly once.

`moved_*` answer REST requests on a repository with GitHub's 301 for a renamed one
(`Location: /repositories/{id}/...`, served too).

The GraphQL-only faults (`rate_limit*`, `secondary_200*`, `graphql_timeout*`,
`resource_limit_nodes`) reproduce how api.github.com/graphql fails: mostly with HTTP
200 and an `errors` list, which a client that only checks the status code misses.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
SECONDARY_LIMIT_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


@dataclass
class FaultConfig:
    latency_ms: float = 0.0  # added to every API response
    jitter_ms: float = 0.0  # plus up to this much, uniformly
    error_rate: float = 0.0  # share of 502/503 answers
    timeout_rate: float = 0.0  # share of requests held for `timeout_s` (then answered 504)
    timeout_s: float = 30.0
    secondary_rate: float = 0.0  # share of requests that start a secondary-limit burst
    secondary_burst: int = 3  # requests refused per burst
    retry_after_s: int = 60
    malformed_rate: float = 0.0  # share of 200 answers whose JSON body is cut short
    seed: int = 0
    error_next: int = 0  # force the next N requests to 502/503
    timeout_next: int = 0
    secondary_next: int = 0
    malformed_next: int = 0
    # REST under /repos/{owner}/{repo}/...: 301 Moved Permanently to /repositories/{id}/..., as
    # GitHub answers for a renamed or transferred repository (clients must follow it).
    moved_next: int = 0
    moved_rate: float = 0.0
    # --- POST /graphql only ---
    rate_limit_next: int = 0  # 200 + errors[{type: RATE_LIMIT, code: graphql_rate_limit}], remaining > 0
    rate_limited_next: int = 0  # the same in the older {type: RATE_LIMITED} shape
    rate_limit_reset_s: int = 2  # x-ratelimit-reset of those answers: now + this (fake's clock)
    secondary_200_next: int = 0  # 200 + errors[{message: "...secondary rate limit..."}], no data
    secondary_200_rate: float = 0.0
    graphql_timeout_nodes: int = 0  # a query requesting more nodes than this times out (0 = off)
    graphql_timeout_next: int = 0  # the next N queries time out whatever their size
    graphql_timeout_s: float = 0.0  # how long a timed-out query is held before its answer
    graphql_timeout_style: int = 200  # 200 (errors, data null), 502 (HTML gateway page) or 504 (JSON)
    timeout_penalty_points: int = 5  # charged on top of a timed-out query's cost
    resource_limit_nodes: int = 0  # more nodes than this: later PRs' `files` come back null (0 = off)
    # --- searches (REST and GraphQL) ---
    # GitHub's search index trails writes: a pull request created or changed within this many
    # seconds (the fake's clock) is not yet searchable, or still shows as it was before (0 = off).
    search_lag_seconds: float = 0.0
    # --- REST stargazers (GET /repos/{owner}/{repo}/stargazers) ---
    # GitHub's 2026-06-30 changelog limits this list to a repository's admins and collaborators;
    # others "may see empty responses or 403 errors": 403 answers 403, 200 an empty list (0 = open).
    stargazers_restricted: int = 0
    # --- GraphQL `Repository.stargazers` ---
    # 1: the same restriction on GraphQL's connection, as GitHub refuses a field: HTTP 200,
    # FORBIDDEN at `[..., "stargazers"]`, and null up to the nearest nullable field (the
    # repository: `stargazers` is non-null in GitHub's schema). A token administers the
    # repositories of its account (`FakeConfig.token_owners`); those stay readable (0 = open).
    stargazers_restricted_graphql: int = 0


@dataclass(frozen=True)
class Fault:
    """What to do to one request. `kind` is None for a healthy answer."""

    delay_s: float = 0.0
    kind: str | None = None  # "error" | "timeout" | "secondary" | "malformed"
    status: int = 200  # for "error": 502 or 503


TIMEOUT_STYLES = (200, 502, 504)
RESTRICTIONS = (0, 200, 403)
SWITCHES = (0, 1)


@dataclass
class FaultInjector:
    config: FaultConfig = field(default_factory=FaultConfig)
    _rng: random.Random = field(default_factory=random.Random)
    _burst_left: int = 0

    def __post_init__(self) -> None:
        self._rng.seed(self.config.seed)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial config (unknown keys raise `ValueError`); re-seeds when `seed` is given."""
        known = {f.name for f in fields(FaultConfig)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown fault setting {key!r}")
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"fault setting {key!r} must be a number")
            if key == "graphql_timeout_style" and value not in TIMEOUT_STYLES:
                raise ValueError(f"graphql_timeout_style must be one of {TIMEOUT_STYLES}")
            if key == "stargazers_restricted" and value not in RESTRICTIONS:
                raise ValueError(f"stargazers_restricted must be one of {RESTRICTIONS}")
            if key == "stargazers_restricted_graphql" and value not in SWITCHES:
                raise ValueError(f"stargazers_restricted_graphql must be one of {SWITCHES}")
            setattr(self.config, key, type(getattr(self.config, key))(value))
        if "seed" in changes:
            self._rng.seed(self.config.seed)
        self._burst_left = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    def decide(self) -> Fault:
        c, rng = self.config, self._rng
        delay = (c.latency_ms + rng.uniform(0, c.jitter_ms)) / 1000 if c.latency_ms or c.jitter_ms else 0.0
        if self._burst_left > 0 or self._take("secondary_next"):
            self._burst_left = max(self._burst_left - 1, 0)
            return Fault(delay, "secondary", 403)
        if self._roll(c.secondary_rate):
            self._burst_left = c.secondary_burst - 1
            return Fault(delay, "secondary", 403)
        if self._take("timeout_next") or self._roll(c.timeout_rate):
            return Fault(delay + c.timeout_s, "timeout", 504)
        if self._take("error_next") or self._roll(c.error_rate):
            return Fault(delay, "error", rng.choice((502, 503)))
        if self._take("malformed_next") or self._roll(c.malformed_rate):
            return Fault(delay, "malformed")
        return Fault(delay)

    def decide_graphql(self) -> str | None:
        """A GraphQL-only fault that needs no look at the query: "rate_limit", "rate_limited",
        "secondary_200" or "timeout" (forced); None for none."""
        if self._take("rate_limit_next"):
            return "rate_limit"
        if self._take("rate_limited_next"):
            return "rate_limited"
        if self._take("secondary_200_next") or self._roll(self.config.secondary_200_rate):
            return "secondary_200"
        if self._take("graphql_timeout_next"):
            return "timeout"
        return None

    def moves(self) -> bool:
        """Whether this REST request on a repository answers 301, as for a renamed one."""
        return self._take("moved_next") or self._roll(self.config.moved_rate)

    def times_out(self, nodes: int) -> bool:
        """Whether a query of `nodes` requested nodes is too big to finish in GitHub's time."""
        return 0 < self.config.graphql_timeout_nodes < nodes

    def resource_limited(self, nodes: int) -> bool:
        """Whether a query of `nodes` requested nodes runs out of resources part-way."""
        return 0 < self.config.resource_limit_nodes < nodes

    def _roll(self, share: float) -> bool:
        return share > 0 and self._rng.random() < share

    def _take(self, counter: str) -> bool:
        left = getattr(self.config, counter)
        if left > 0:
            setattr(self.config, counter, left - 1)
            return True
        return False
