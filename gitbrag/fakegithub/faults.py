"""Fault injection: what a real GitHub does to clients on a bad day.

Each API request draws one decision from a seeded random stream, so a sequential run
sees the same faults every time. Settings can be changed while the server runs
(`POST /_fake/faults`), and `*_next` counters force the next N requests to fail a given
way, for tests that need a fault exactly once.
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


@dataclass(frozen=True)
class Fault:
    """What to do to one request. `kind` is None for a healthy answer."""

    delay_s: float = 0.0
    kind: str | None = None  # "error" | "timeout" | "secondary" | "malformed"
    status: int = 200  # for "error": 502 or 503


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

    def _roll(self, share: float) -> bool:
        return share > 0 and self._rng.random() < share

    def _take(self, counter: str) -> bool:
        left = getattr(self.config, counter)
        if left > 0:
            setattr(self.config, counter, left - 1)
            return True
        return False
