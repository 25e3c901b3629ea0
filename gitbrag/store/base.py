"""The store: durable state shared by every refresher (cron runs, the service, the hook).

It holds the tracked users, per-report metadata (when generated, last error, when
next due: the stale index) and the kept GitHub data of each user. One small
interface with two backends: embedded SQLite (the default, for one host) and Redis
(when `GITBRAG_REDIS_URL` is set, for several processes or hosts).

Logins are case-insensitive on GitHub, so the store keys everything by the
lowercased login and remembers GitHub's spelling for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gitbrag.models import Collection


@dataclass(frozen=True)
class ReportMeta:
    """What the store knows about one published report (one user, one period)."""

    login: str  # lowercased
    period: str
    next_due_at: datetime  # the stale index orders reports by this
    generated_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    failures: int = 0  # consecutive failed attempts, for backoff


@dataclass(frozen=True)
class TrackedUser:
    login: str  # lowercased key
    display: str  # GitHub's spelling, as last seen
    missing: bool = False  # GitHub said the user does not exist


class Store(Protocol):
    """Durable state; every method is safe to call from several processes at once."""

    kind: str  # "sqlite" or "redis"

    async def ping(self) -> bool:
        """True when the backend answers."""
        ...

    async def close(self) -> None: ...

    async def track(self, logins: list[str], now: datetime, periods: tuple[str, ...]) -> None:
        """Add users to the tracked set; each report they lack becomes due at `now`."""
        ...

    async def tracked(self) -> list[TrackedUser]:
        """Every tracked user, sorted by login."""
        ...

    async def due(self, now: datetime, limit: int | None = None) -> list[ReportMeta]:
        """Reports whose next_due_at <= now, oldest-due first, without scanning the rest."""
        ...

    async def report_meta(self, login: str) -> dict[str, ReportMeta]:
        """Metadata of one user's reports, by period."""
        ...

    async def mark_generated(
        self, login: str, periods: list[str], generated_at: datetime, next_due_at: datetime
    ) -> None:
        """Record a successful publish: clears the error and failure count."""
        ...

    async def mark_failed(
        self, login: str, periods: list[str], at: datetime, error: str, next_due_at: datetime
    ) -> int:
        """Record a failed attempt (the old page stays); returns the consecutive failure count."""
        ...

    async def mark_missing(self, login: str, missing: bool) -> None:
        """Remember that GitHub says the user does not exist (or exists again)."""
        ...

    async def load_collection(self, login: str) -> Collection | None:
        """The GitHub data kept from the user's last successful collection."""
        ...

    async def save_collection(self, collection: Collection) -> None: ...
