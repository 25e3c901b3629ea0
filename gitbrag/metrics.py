"""Prometheus metrics of the refresh service, all in one place.

Two kinds of numbers are exported at `GET /metrics`:

* events this process counts as they happen (reports refreshed or failed, duplicates
  skipped, how long generations take, how many run now, hook requests): metric
  objects in `REGISTRY`, incremented by the small helpers below. `REGISTRY` is
  gitbrag's own, not prometheus_client's global one, so importing gitbrag never
  collides with an embedding application's metrics;
* numbers owned by someone else, read at scrape time: how many reports are due (the
  store) and what GitHub said about requests and rate limits (the client). A `Scrape`
  holds them and renders them together with `REGISTRY`, through prometheus_client's
  own exposition (text or OpenMetrics, as the scraper asks).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from gitbrag.github.client import GitHubClient

REGISTRY = CollectorRegistry()

REPORTS_REFRESHED = Counter(
    "gitbrag_reports_refreshed",
    "Reports regenerated and published (one per user and period)",
    registry=REGISTRY,
)
REPORTS_FAILED = Counter(
    "gitbrag_reports_failed", "Reports whose regeneration failed; the old page stays", registry=REGISTRY
)
DUPLICATES_SKIPPED = Counter(
    "gitbrag_duplicates_skipped",
    "Generations not started: the report was being generated already, or its user was at the limit",
    registry=REGISTRY,
)
GENERATION_SECONDS = Histogram(
    "gitbrag_generation_duration_seconds",
    "Time to collect, build and publish one user's reports",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
ACTIVE_GENERATIONS = Gauge(
    "gitbrag_active_generations", "Generations running in this process now", registry=REGISTRY
)
HOOK_REQUESTS = Counter(
    "gitbrag_hook_requests", "Requests answered by the refresh hook", ["endpoint", "code"], registry=REGISTRY
)


def generation_finished(outcome: str, reports: int, seconds: float) -> None:
    """One generation ended: `outcome` is "refreshed" or "failed"; `reports` counts its periods."""
    (REPORTS_REFRESHED if outcome == "refreshed" else REPORTS_FAILED).inc(reports)
    GENERATION_SECONDS.labels(outcome).observe(seconds)


def duplicate_skipped() -> None:
    DUPLICATES_SKIPPED.inc()


def hook_request(endpoint: str, code: int) -> None:
    HOOK_REQUESTS.labels(endpoint, str(code)).inc()


@dataclass(frozen=True)
class RateLimit:
    """What GitHub last said one token has left of one resource's budget."""

    token: str  # "1", "2", ...: the token's place in the pool, never the token
    resource: str
    remaining: int


@dataclass(frozen=True)
class Scrape:
    """One scrape: `REGISTRY` plus the values read for it. A prometheus_client collector."""

    due_reports: int | None = None  # None when the store could not be asked
    github_requests: dict[str, int] = field(default_factory=dict)  # by resource
    rate_limits: list[RateLimit] = field(default_factory=list)

    @classmethod
    def of(cls, due_reports: int | None, client: GitHubClient | None) -> Scrape:
        if client is None:
            return cls(due_reports)
        return cls(due_reports, dict(client.usage.requests), github_rate_limits(client))

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        if self.due_reports is not None:
            due = GaugeMetricFamily("gitbrag_due_reports", "Reports due for regeneration and waiting")
            due.add_metric([], self.due_reports)
            yield due
        requests = CounterMetricFamily(
            "gitbrag_github_requests", "Requests sent to GitHub by this process", labels=["resource"]
        )
        for resource, count in sorted(self.github_requests.items()):
            requests.add_metric([resource], count)
        yield requests
        remaining = GaugeMetricFamily(
            "gitbrag_github_rate_limit_remaining",
            "What GitHub last said a token has left of a resource's budget",
            labels=["token", "resource"],
        )
        for limit in self.rate_limits:
            remaining.add_metric([limit.token, limit.resource], limit.remaining)
        yield remaining

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition body and its content type, in the format the scraper accepts."""
        try:
            encoder, content_type = choose_encoder(accept or "")
            return encoder(self), content_type
        except (TypeError, ValueError):  # prometheus_client trips on some malformed versions
            return generate_latest(self), CONTENT_TYPE_PLAIN_0_0_4


def github_rate_limits(client: GitHubClient) -> list[RateLimit]:
    """The client's token pool as GitHub last described it (unknown budgets are left out)."""
    return [RateLimit(token, resource, remaining) for token, resource, remaining in client.rate_limits()]
