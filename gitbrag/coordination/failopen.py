"""The store as the refresh path uses it: failing open.

While the store is unavailable (`StoreUnavailable`: Redis down, read-only, full), a refresh
still collects, builds and publishes. What it would have read is taken as unknown (no report
metadata, no kept collection: a full collection; no star history: a walk) and what it would
have written is dropped (the report is simply due again). The outage is logged once and its
end once by the tracker's `guard`, which the claims go through too: one outage, one pair of
lines. The claims keep their own fallbacks (see `gitbrag.coordination.tracking`): what a lost
claim means depends on the call, not on the store."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from gitbrag.coordination.base import ReportMeta, Store
from gitbrag.models import Collection, Login, StarHistory

T = TypeVar("T")

__all__ = ["FailOpenStore", "Guard"]


class Guard(Protocol):
    """`TaskTracker.guard`: await a store call, or return `fallback` while the store is unavailable."""

    async def __call__(self, call: Awaitable[T], fallback: T, /) -> T: ...


@dataclass(frozen=True)
class FailOpenStore:
    """The store calls a refresh makes, each with what it means while the store is away."""

    store: Store
    guard: Guard

    async def track(
        self, logins: list[Login], now: datetime, periods: tuple[str, ...], source: str | None = None
    ) -> None:
        """Dropped while the store refuses writes (MISCONF, a full disk): it may still read,
        and a pass then still goes by its stale index."""
        await self.guard(self.store.track(logins, now, periods, source), None)

    async def report_meta(self, login: Login) -> dict[str, ReportMeta]:
        return await self.guard(self.store.report_meta(login), {})

    async def load_collection(self, login: Login) -> Collection | None:
        return await self.guard(self.store.load_collection(login), None)

    async def save_collection(self, collection: Collection) -> None:
        await self.guard(self.store.save_collection(collection), None)

    async def load_star_histories(self, repos: list[str]) -> dict[str, StarHistory]:
        return await self.guard(self.store.load_star_histories(repos), {})

    async def save_star_histories(self, histories: list[StarHistory]) -> None:
        await self.guard(self.store.save_star_histories(histories), None)

    async def mark_generated(
        self, login: Login, periods: list[str], generated_at: datetime, next_due_at: datetime
    ) -> None:
        await self.guard(self.store.mark_generated(login, periods, generated_at, next_due_at), None)

    async def mark_failed(
        self, login: Login, periods: list[str], at: datetime, error: str, next_due_at: datetime
    ) -> int:
        """The consecutive failure count; 0 while the store is away (the backoff starts over)."""
        return await self.guard(self.store.mark_failed(login, periods, at, error, next_due_at), 0)

    async def mark_missing(self, login: Login, missing: bool) -> None:
        await self.guard(self.store.mark_missing(login, missing), None)

    async def untrack(self, login: Login) -> None:
        await self.guard(self.store.untrack(login), None)
