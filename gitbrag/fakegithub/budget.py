"""Types shared by the fake's rate limiter and its endpoints.

The limiter (`limits.py`) charges requests against a per-token budget; the REST
routes and the GraphQL executor report what was charged in GitHub's headers and in
GraphQL's `rateLimit` object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RateSnapshot:
    """One resource's budget for one token after a charge (GitHub's `x-ratelimit-*`)."""

    resource: str  # "core", "search", "graphql"
    limit: int
    remaining: int
    used: int
    reset_at: datetime
    cost: int = 1


class RateLimitExceeded(Exception):
    """The primary budget is spent: GitHub answers 403/429 (REST) or RATE_LIMITED (GraphQL)."""

    def __init__(self, snapshot: RateSnapshot) -> None:
        super().__init__(f"{snapshot.resource} rate limit exceeded")
        self.snapshot = snapshot
