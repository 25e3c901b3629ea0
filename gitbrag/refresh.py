"""Refresh orchestration: the one path every door (cron, the service, the hook) goes through.

A refresh of one user is: collect once from GitHub -> build every period's report
(pure) -> publish them atomically -> record the result in the store. Any failure
before the publish leaves the old pages in place; the error is recorded on the
user's reports and they are retried later with growing backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from aiocache.base import BaseCache

from gitbrag.github.client import GitHubClient
from gitbrag.github.collect import UserNotFound, collect_user
from gitbrag.github.errors import GitHubError
from gitbrag.models import PERIODS
from gitbrag.publish import IndexEntry, Publisher
from gitbrag.report import build_reports
from gitbrag.store.base import Store

log = logging.getLogger(__name__)

# A failed report is retried after 5 minutes, then 10, 20, ... capped at the stale age.
RETRY_BASE_SECONDS = 300


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class UserOutcome:
    login: str
    status: Literal["refreshed", "failed"]
    periods: tuple[str, ...]
    seconds: float
    error: str | None = None


@dataclass
class PassResult:
    """What one pass did, counted in reports (one user has one report per period)."""

    refreshed: int = 0
    skipped: int = 0
    failed: int = 0
    outcomes: list[UserOutcome] = field(default_factory=list)

    def summary(self) -> str:
        return f"refreshed={self.refreshed} skipped={self.skipped} failed={self.failed}"


class Refresher:
    """Regenerates and republishes reports; shared by `--once`, the scheduler and the hook."""

    def __init__(
        self,
        *,
        store: Store,
        client: GitHubClient,
        publisher: Publisher,
        cache: BaseCache | None = None,
        stale_after: timedelta = timedelta(days=1),
        max_concurrent: int = 8,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.client = client
        self.publisher = publisher
        self.cache = cache
        self.stale_after = stale_after
        self.max_concurrent = max_concurrent
        self.clock = clock

    # --- one user ---------------------------------------------------------------

    async def refresh_user(self, login: str) -> UserOutcome:
        """Collect, build, publish and record one user's reports; never raises for GitHub
        or disk trouble (those become a failed outcome and the old pages stay)."""
        started = time.monotonic()
        now = self.clock()
        log.info("refresh started", extra={"user": login})
        try:
            previous = await self.store.load_collection(login)
            collection = await collect_user(self.client, login, now=now, cache=self.cache, previous=previous)
            reports = build_reports(collection, until=now, generated_at=now)
            await asyncio.to_thread(self.publisher.publish_user, reports)
            await self.store.save_collection(collection)
            await self.store.mark_generated(login, list(PERIODS), now, now + self.stale_after)
        except UserNotFound:
            await self.store.mark_missing(login, True)
            return await self._failed(login, now, started, "GitHub user not found", self.stale_after)
        except GitHubError as exc:
            return await self._failed(login, now, started, str(exc))
        except OSError as exc:
            return await self._failed(login, now, started, f"cannot write the site: {exc.strerror or exc}")
        seconds = time.monotonic() - started
        log.info(
            "report refreshed",
            extra={
                "user": login,
                "periods": len(PERIODS),
                "prs": len(collection.pull_requests),
                "seconds": round(seconds, 3),
            },
        )
        return UserOutcome(login, "refreshed", PERIODS, seconds)

    async def _failed(
        self, login: str, now: datetime, started: float, error: str, retry_in: timedelta | None = None
    ) -> UserOutcome:
        if retry_in is None:
            metas = await self.store.report_meta(login)
            failures = max((m.failures for m in metas.values()), default=0)
            retry_in = min(self.stale_after, timedelta(seconds=RETRY_BASE_SECONDS * 2**failures))
        await self.store.mark_failed(login, list(PERIODS), now, error, now + retry_in)
        seconds = time.monotonic() - started
        log.warning(
            "refresh failed; old pages kept",
            extra={"user": login, "error": error, "retry_in_s": int(retry_in.total_seconds())},
        )
        return UserOutcome(login, "failed", PERIODS, seconds, error)

    # --- a pass -------------------------------------------------------------------

    async def run_pass(
        self,
        users: Iterable[str] = (),
        *,
        force: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_done: Callable[[UserOutcome], None] | None = None,
    ) -> PassResult:
        """One pass: track `users`, then regenerate what is due (or, with `force`, the
        given users — every tracked user when none are given — whether due or not)."""
        now = self.clock()
        users = list(users)
        await self.store.track(users, now, PERIODS)
        tracked = await self.store.tracked()
        targets = await self._targets(users, force, now)
        if on_start:
            on_start(len(targets))

        limit = asyncio.Semaphore(self.max_concurrent)

        async def one(login: str) -> UserOutcome:
            async with limit:
                outcome = await self.refresh_user(login)
            if on_done:
                on_done(outcome)
            return outcome

        outcomes = list(await asyncio.gather(*(one(login) for login in targets)))
        await asyncio.to_thread(self.publish_site, [u.login for u in tracked])

        result = PassResult(outcomes=outcomes)
        for outcome in outcomes:
            if outcome.status == "refreshed":
                result.refreshed += len(outcome.periods)
            else:
                result.failed += len(outcome.periods)
        result.skipped = len(tracked) * len(PERIODS) - result.refreshed - result.failed
        return result

    async def _targets(self, users: list[str], force: bool, now: datetime) -> list[str]:
        """Logins to refresh, each once, in the order their reports fell due."""
        if users:
            # Named users are refreshed now; with --force nothing else is.
            wanted = [u.lower() for u in users]
            if force:
                return list(dict.fromkeys(wanted))
        elif force:
            return [u.login for u in await self.store.tracked()]
        else:
            wanted = []
        due_logins = [meta.login for meta in await self.store.due(now)]
        return list(dict.fromkeys(wanted + due_logins))

    def publish_site(self, logins: list[str]) -> None:
        """The index and shared files, from what is published for each tracked user."""
        entries = []
        for login in logins:
            report = self.publisher.read_report(login, "1_year")
            if report is not None:
                entries.append(
                    IndexEntry(
                        login=report.username,
                        name=report.profile.name,
                        avatar_url=report.profile.avatar_url,
                        total_prs=report.total_prs,
                        merged_count=report.merged_count,
                        generated_at=report.generated_at,
                    )
                )
        self.publisher.publish_static()
        self.publisher.publish_index(entries)
