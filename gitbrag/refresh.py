"""Refresh orchestration: the one path every door (cron, the service, the hook) goes through.

A generation is claimed first: task `{user}:{period}:{params_hash}` under the
per-reported-user limit (`gitbrag.coordination.tracking`), so concurrent refreshers never
generate the same report twice and never hammer one user. Holding the claim (its
lease renewed while the work runs) it collects once from GitHub, builds every
period's report (pure), and publishes them all: one collection serves all periods.
Just before the write it checks it still holds the claim, and the publisher refuses
to replace a newer report, so a worker that was paused past its lease cannot
overwrite fresher pages.

Any failure before the publish leaves the old pages in place; the error is recorded
on the user's reports and they are retried later with growing backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from aiocache.base import BaseCache

from gitbrag.clock import Now, utcnow
from gitbrag.coordination.base import Store, TrackedUser
from gitbrag.coordination.errors import StoreUnavailable, error_name
from gitbrag.coordination.failopen import FailOpenStore
from gitbrag.coordination.tracking import Claim, TaskTracker, hash_params, make_task_id
from gitbrag.doors.shutdown import Shutdown, ShuttingDown
from gitbrag.github.client import GitHubClient
from gitbrag.github.collect import UserNotFound, collect_user
from gitbrag.github.errors import GitHubError
from gitbrag.github.orgs import public_members
from gitbrag.memory import release_freed_memory
from gitbrag.metrics import ACTIVE_GENERATIONS, duplicate_skipped, generation_finished
from gitbrag.models import LOGIN_RE, PERIODS, Collection, InvalidLogin, Login, PrivateMode, StarHistory
from gitbrag.publish.publisher import IndexEntry, Publisher, SupersededError
from gitbrag.publish.safepath import SiteRoot
from gitbrag.report import teams
from gitbrag.report.build import ReportOptions, build_reports
from gitbrag.settings import DEFAULT_MAX_CONCURRENT, DEFAULT_STALE_AFTER_SECONDS

log = logging.getLogger(__name__)
T = TypeVar("T")

# A failed report is retried after 5 minutes, then 10, 20, ... capped at the stale age.
RETRY_BASE_SECONDS = 300
# The parameters a report is generated with; part of every task id.
PARAMS_HASH = hash_params({"exclude_closed_unmerged": True, "star_increase": True})

Status = Literal["refreshed", "failed", "skipped", "deferred"]


@dataclass(frozen=True)
class UserOutcome:
    login: str
    status: Status
    periods: tuple[str, ...]
    seconds: float = 0.0
    error: str | None = None  # why it failed, or why it was skipped


@dataclass
class PassResult:
    """What one pass did, counted in reports (one user has one report per period)."""

    refreshed: int = 0
    skipped: int = 0
    failed: int = 0
    outcomes: list[UserOutcome] = field(default_factory=list)
    deferred: int = 0  # left for the next pass by GITBRAG_BUDGET_POINTS
    budgeted: bool = False  # a point budget was set: the summary line says what it deferred

    def summary(self) -> str:
        line = f"refreshed={self.refreshed} skipped={self.skipped} failed={self.failed}"
        return f"{line} deferred={self.deferred}" if self.budgeted or self.deferred else line


@dataclass(frozen=True)
class Target:
    """One generation to attempt: the report whose claim it takes, and whether it runs
    even when the report is fresh."""

    login: Login
    period: str = "1_year"
    force: bool = False
    reason: str = ""  # why it runs, for the log: "named", "pages missing"; else forced or due

    @property
    def why(self) -> str:
        return self.reason or ("forced" if self.force else "due")


@dataclass(frozen=True)
class _StoreStarIndex:
    """The store as the deployment's star index, failing open like the rest of a refresh's bookkeeping."""

    bookkeeping: FailOpenStore

    async def load(self, repos: list[str]) -> dict[str, StarHistory]:
        return await self.bookkeeping.load_star_histories(repos)

    async def save(self, histories: list[StarHistory]) -> None:
        await self.bookkeeping.save_star_histories(histories)


# The publisher's work, one call at a time in one thread. Rendering is Python under the GIL,
# so eight publishes in eight threads are no faster than one after the other; they only
# contend: every file operation hands the GIL over (futex calls were a fifth of an
# unchanged pass's CPU). The event loop goes on with the other users' GitHub calls meanwhile.
_DISK = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gitbrag-publish")


async def _on_disk(fn: Callable[..., T], *args: object) -> T:
    """`asyncio.to_thread`, in the publisher's thread."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_DISK, functools.partial(context.run, fn, *args))


class Refresher:
    """Regenerates and republishes reports; shared by `--once`, the scheduler and the hook."""

    def __init__(
        self,
        *,
        store: Store,
        client: GitHubClient,
        publisher: Publisher,
        tracker: TaskTracker | None = None,
        cache: BaseCache | None = None,
        stale_after: timedelta = timedelta(seconds=DEFAULT_STALE_AFTER_SECONDS),
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        clock: Now = utcnow,
        private: PrivateMode = "off",
        shutdown: Shutdown | None = None,
        report_options: ReportOptions | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.publisher = publisher
        self.tracker = tracker or TaskTracker(store)
        self.cache = cache
        self.stale_after = stale_after
        self.max_concurrent = max_concurrent
        self.clock = clock
        self.private: PrivateMode = private  # GITBRAG_PRIVATE: what of private work is fetched and shown
        # GITBRAG_PERIODS, GITBRAG_GENERATED_PATHS: what the reports cover and count.
        self.report_options = report_options or ReportOptions()
        self._background: set[asyncio.Task[UserOutcome]] = set()
        self.shutdown = shutdown  # once requested: no new claims; waits on GitHub end early
        # Each user's name as GitHub spells it (the store's, then the collection's), for messages.
        self._spellings: dict[str, str] = {}  # by Login
        # GITBRAG_TEAMS as configured: `org:NAME` members are resolved at every pass
        # (`resolve_teams`) into the publisher's teams, which hold logins only.
        self.teams = {name: list(members) for name, members in publisher.teams.items()}
        self._org_members: dict[str, list[str]] = {}  # by the org's Login: public members, as last listed
        self._orgs_failing: set[str] = set()  # the Logins of orgs whose last listing failed (logged once)
        publisher.teams = teams.resolve_teams(self.teams, {}, self._shown_members())

    @property
    def bookkeeping(self) -> FailOpenStore:
        """The store as a refresh uses it: failing open, through the tracker's guard (one
        outage, logged once, whether a claim or a report's metadata met it)."""
        return FailOpenStore(self.store, self.tracker.guard)

    def spelling(self, login: str) -> str:
        """`login` as GitHub spells it when known (`Mona-Lisa`), for messages: the store,
        the claims and the site key users by their Login, people by their name."""
        return self._spellings.get(login, login)

    def _remember(self, names: Iterable[Login], *, authoritative: bool = False) -> None:
        for login in names:
            if authoritative or login not in self._spellings:
                self._spellings[login] = login.spelling

    # --- one generation, claimed -------------------------------------------------------

    async def generate(self, target: Target) -> UserOutcome:
        """Claim `target`'s report, then refresh its user; skipped when another worker holds
        it, the user is at the per-user limit, or (without force) it is no longer due."""
        if self.shutdown is not None and self.shutdown.requested:
            return UserOutcome(target.login, "skipped", (), error="shutting down")
        claim = await self.claim(target)
        if claim is None:
            return UserOutcome(target.login, "skipped", (), error="already running")
        return await self.run_claimed(target, claim)

    async def claim(self, target: Target) -> Claim | None:
        """Take the claim on `target`'s report, or None when someone holds it or the user is
        at the per-user limit. Fast (one store round trip): the hook answers with it."""
        login = target.login
        task_id = make_task_id(login, target.period, PARAMS_HASH)
        claim = await self.tracker.try_claim(task_id, {"period": target.period})
        user = self.spelling(login)
        if claim is None:
            duplicate_skipped()
            log.info("skipped duplicate", extra={"user": user, "task_id": task_id})
        else:
            # One generation builds every period, whichever period's report holds the claim.
            fields = {"user": user, "periods": "all", "reason": target.why, "task_id": task_id}
            log.info("generation scheduled", extra=fields)
        return claim

    async def run_claimed(self, target: Target, claim: Claim) -> UserOutcome:
        """Refresh `target`'s user while holding `claim` (renewed as it runs, released after)."""
        login = target.login
        try:
            async with claim.kept_alive():
                if not target.force and not await self._due(login):
                    log.info(
                        "skipped: refreshed meanwhile",
                        extra={"user": self.spelling(login), "task_id": claim.task_id},
                    )
                    return UserOutcome(login, "skipped", (), error="already fresh")
                with ACTIVE_GENERATIONS.track_inprogress():
                    return await self.refresh_user(login, fence=claim.holds)
        except ShuttingDown:
            # Not a failure: nothing is recorded, the claim is released below, the report stays due.
            log.info(
                "generation interrupted by shutdown",
                extra={"user": self.spelling(login), "task_id": claim.task_id},
            )
            return UserOutcome(login, "skipped", (), error="interrupted by shutdown")
        finally:
            await claim.release()

    def start_claimed(self, target: Target, claim: Claim) -> asyncio.Task[UserOutcome]:
        """Run a claimed generation in the background (the hook answers at once);
        `drain()` waits for all of them, e.g. on shutdown."""
        task = asyncio.create_task(self.run_claimed(target, claim), name=f"generate {claim.task_id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def drain(self) -> None:
        """Wait for background generations to finish."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _due(self, login: Login) -> bool:
        metas = await self.bookkeeping.report_meta(login)
        now = self.clock()
        return not metas or any(m.next_due_at <= now for m in metas.values())

    # --- one user ------------------------------------------------------------------------

    async def refresh_user(
        self, login: Login, *, fence: Callable[[], Awaitable[bool]] | None = None
    ) -> UserOutcome:
        """Collect, build, publish and record one user's reports; never raises for GitHub
        or disk trouble (those become a failed outcome and the old pages stay).

        `fence` is asked just before publishing whether this generation may still write.
        """
        started = time.monotonic()
        now = self.clock()
        log.info("refresh started", extra={"user": self.spelling(login)})
        marked = False
        try:
            # Inside the try: a site that cannot be written (full, read-only) fails this
            # report at once, before any GitHub budget is spent, and not the whole pass.
            marked = await _on_disk(self.publisher.set_updating, login, True)
            generation = await _on_disk(self._next_generation, login)
            previous = await self.bookkeeping.load_collection(login)
            release_freed_memory()  # what parsing it took (as much again as the collection)
            collection = await collect_user(
                self.client,
                login,
                now=now,
                cache=self.cache,
                previous=previous,
                private=self.private,
                index=_StoreStarIndex(self.bookkeeping),
            )
            self._remember([Login(collection.login)], authoritative=True)
            del previous
            await self._keep_collection(collection)
            reports = build_reports(collection, until=now, generated_at=now, options=self.report_options)
            reports = {p: r.model_copy(update={"generation": generation}) for p, r in reports.items()}
            spelled, prs = collection.login, len(collection.pull_requests)
            counting = any(h.resume_cursor is not None for h in collection.stars.values())  # issue 28
            # The collection (50 MB of a 20,000-PR user's) is not needed to render the pages.
            del collection
            release_freed_memory()
            if fence is not None and not await fence():
                raise SupersededError("the claim on this report was lost")
            await _on_disk(self.publisher.publish_user, reports)
        except BaseException as exc:
            if marked:
                with contextlib.suppress(OSError):  # the disk may still be full: the error below says so
                    await _on_disk(self.publisher.set_updating, login, False)
            if not isinstance(exc, Exception):
                raise
            return await self._not_published(login, now, started, exc)
        # The pages are out; if the store is unreachable now, the report is simply due again.
        # Stars still being counted (a budget stopped a walk): due again at once, to go on with it.
        await self.bookkeeping.mark_generated(
            login, list(PERIODS), now, now if counting else now + self.stale_after
        )
        seconds = time.monotonic() - started
        generation_finished("refreshed", len(PERIODS), seconds)
        log.info(
            "report refreshed",
            extra={"user": spelled, "reports": len(PERIODS), "prs": prs, "seconds": round(seconds, 3)},
        )
        return UserOutcome(login, "refreshed", PERIODS, seconds)

    async def _keep_collection(self, collection: Collection) -> None:
        """Save what was collected for the next refresh to start from. Before the reports are
        built and published, so that the collection need not live while the pages are
        rendered, nor the reports while it is serialised (memory: a 20,000-PR user peaks
        under 200 MiB): a publish that fails then leaves a collection newer than the pages,
        which the next refresh simply builds on (it is GitHub's data, and reports are rebuilt
        from it). Without its star histories: those are the star index's, one per repository."""
        kept = collection.model_copy(update={"stars": {}})
        await self.bookkeeping.save_collection(kept)
        release_freed_memory()

    def _next_generation(self, login: Login) -> int:
        """One more than the newest generation on the site, read under the claim: the
        publisher never lets a lower (or, from the same page, an equal) one replace it.
        Read from generated.json and the reports' stamps, not from whole reports."""
        return 1 + self.publisher.published_generation(login)

    async def _not_published(
        self, login: Login, now: datetime, started: float, exc: Exception
    ) -> UserOutcome:
        """Record why nothing was published."""
        if isinstance(exc, SupersededError):
            fields = {"user": self.spelling(login), "reason": str(exc)}
            log.warning("generation superseded; not published", extra=fields)
            return UserOutcome(login, "skipped", (), time.monotonic() - started, str(exc))
        if isinstance(exc, UserNotFound):
            await self.bookkeeping.mark_missing(login, True)
            return await self._failed(login, now, started, "GitHub user not found", self.stale_after)
        if isinstance(exc, GitHubError):
            return await self._failed(login, now, started, str(exc))
        if isinstance(exc, OSError):
            return await self._failed(login, now, started, f"cannot write the site: {exc.strerror or exc}")
        # A bug must cost one report, not the pass: record it (no trace in the status) and go on.
        log.error("generation crashed", exc_info=exc, extra={"user": self.spelling(login)})
        return await self._failed(login, now, started, f"internal error ({type(exc).__name__}); see the logs")

    async def _failed(
        self, login: Login, now: datetime, started: float, error: str, retry_in: timedelta | None = None
    ) -> UserOutcome:
        if retry_in is None:
            metas = await self.bookkeeping.report_meta(login)
            failures = max((m.failures for m in metas.values()), default=0)
            retry_in = min(self.stale_after, timedelta(seconds=RETRY_BASE_SECONDS * 2**failures))
        await self.bookkeeping.mark_failed(login, list(PERIODS), now, error, now + retry_in)
        generation_finished("failed", len(PERIODS), time.monotonic() - started)
        log.warning(
            "refresh failed; old pages kept",
            extra={"user": self.spelling(login), "error": error, "retry_in_s": int(retry_in.total_seconds())},
        )
        return UserOutcome(login, "failed", PERIODS, time.monotonic() - started, error)

    # --- a pass --------------------------------------------------------------------------

    async def run_pass(
        self,
        *,
        track: Iterable[str] = (),
        refresh: Iterable[str] = (),
        force: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_done: Callable[[UserOutcome], None] | None = None,
    ) -> PassResult:
        """One pass: add `track` and `refresh` users to the tracked set, refresh the `refresh`
        users now, then every due report, oldest-due first. With `force` and no `refresh`
        users, every tracked user is refreshed, due or not."""
        now = self.clock()
        if self.client.budget is not None:  # GITBRAG_BUDGET_POINTS is what one pass may spend
            self.client.budget.restart()
        await self.tracker.release_pending()  # a full disk's leftovers, before claiming anew
        track = [*track, *await self.resolve_teams()]  # org teams' members are tracked like listed users
        track, named, invalid = _split_invalid(track, refresh)
        try:
            everyone = [*track, *named, *await self._lost_or_known()]
            await self.bookkeeping.track(everyone, now, PERIODS)  # dropped while the store refuses writes
            users = await self.store.tracked()
            self._remember([Login(u.display) for u in users], authoritative=True)
            self._remember(named)
            # With the tracking dropped, the index still lists everyone (sorted, as the store's list).
            tracked: list[Login] | None = sorted({*everyone, *(u.login for u in users)})
            targets = await self._targets(named, force, now, users)
        except StoreUnavailable as exc:
            # Fail open: without the stale index, refresh the users named now and the configured
            # ones whose published report (its generated_at) is older than the stale age.
            log.warning(
                "store unavailable; refreshing from the site's own dates", extra={"error": error_name(exc)}
            )
            tracked = None
            targets = [Target(u, force=True) for u in named]
            targets += await asyncio.to_thread(self._stale_on_site, track, now, {t.login for t in targets})
        if on_start:
            on_start(len(targets))
        limit = asyncio.Semaphore(self.max_concurrent)

        async def one(target: Target) -> UserOutcome:
            async with limit:
                outcome = self._deferred(target) or await self.generate(target)
            if on_done:
                on_done(outcome)
            return outcome

        outcomes = invalid + list(await asyncio.gather(*(one(t) for t in targets)))
        await self._release_pending()
        if tracked is None:  # the store cannot list its users: index what the site holds
            await asyncio.to_thread(self.publish_site, self.publisher.published_logins())
            return self._budgeted(_count(outcomes, len(outcomes) * len(PERIODS)))
        await asyncio.to_thread(self.publish_site, tracked)
        return self._budgeted(_count(outcomes, len(tracked) * len(PERIODS)))

    # --- GITBRAG_BUDGET_POINTS (issue 28): a pass within a point budget -------------------

    def _deferred(self, target: Target) -> UserOutcome | None:
        """`target` left for the next pass when the budget no longer covers a new report
        (`github.budget.PointBudget.may_claim`); not claimed, so it stays due, oldest first."""
        budget = self.client.budget
        if budget is None or budget.may_claim():
            return None
        log.info(
            "deferred: the pass's point budget is spent",
            extra={"user": self.spelling(target.login), "points_left": budget.left},
        )
        return UserOutcome(target.login, "deferred", PERIODS, error="point budget spent")

    def _budgeted(self, result: PassResult) -> PassResult:
        """The pass's result with its deferred reports counted apart from the skipped."""
        result.budgeted = self.client.budget is not None
        result.deferred = sum(len(o.periods) for o in result.outcomes if o.status == "deferred")
        result.skipped = max(0, result.skipped - result.deferred)
        return result

    async def _release_pending(self) -> None:
        """Claims whose release the store refused (its disk full) are released again; one
        line for those it still refuses: they hold their reports until their lease ends."""
        held = await self.tracker.release_pending()
        if held:
            log.warning(
                "claims not released: the store refuses writes; they lapse at the end of their lease",
                extra={"claims": len(held), "task_id": held[0]},
            )

    async def resolve_teams(self) -> list[str]:
        """List the public members of every organization GITBRAG_TEAMS names (`org:NAME`), give
        the publisher the teams with them, and return them (to be tracked).

        An organization GitHub cannot list (unreachable, rate limited, not found, too large)
        keeps the members it had: those listed last in this process, else those its team's
        page shows; the failure is logged once, with the organization, until it lists again."""
        for org in teams.orgs_in(self.teams):
            key = Login(org)
            try:
                members = await public_members(self.client, org)
            except ShuttingDown:  # stopping: the pass claims nothing more; publish what is known
                break
            except GitHubError as exc:
                if key not in self._orgs_failing:
                    log.warning(
                        "organization members not listed; the team keeps its members",
                        extra={"org": org, "error": str(exc)},
                    )
                self._orgs_failing.add(key)
                continue
            if key in self._orgs_failing:
                log.info("organization members listed again", extra={"org": org, "members": len(members)})
            self._orgs_failing.discard(key)
            self._org_members[key] = members
        shown = await asyncio.to_thread(self._shown_members)
        self.publisher.teams = teams.resolve_teams(self.teams, self._org_members, shown)
        known = {Login(org) for org in teams.orgs_in(self.teams)}
        return [login for org, members in self._org_members.items() if org in known for login in members]

    def _shown_members(self) -> dict[str, list[str]]:
        """The members each org team's published page lists, for organizations this process has
        not listed yet (the last membership GitHub gave, which a failure must not empty)."""
        listed = set(self._org_members)
        waiting = [
            name
            for name, members in self.teams.items()
            if any((org := teams.org_of(m)) is not None and Login(org) not in listed for m in members)
        ]
        shown: dict[str, list[str]] = {}
        site = SiteRoot(self.publisher.site_dir)
        for name in waiting:
            try:
                page = site.read_bytes(f"teams/{name}/index.html").decode("utf-8", "replace")
            except OSError:  # never published, or not the site's own file (a link): nothing to keep
                continue
            shown[name] = teams.published_members(page, LOGIN_RE)
        return shown

    async def _lost_or_known(self) -> list[Login]:
        """Every user the store tracks or the site has pages for, to track again (tracking is
        idempotent: it only adds what is missing). A Redis that evicts keys, or one restarted
        empty, loses tracked users, report metadata and due entries while the pages stay;
        without this, those users would silently never be refreshed nor indexed again."""
        known = [u.login for u in await self.store.tracked()]
        published = await asyncio.to_thread(self.publisher.published_logins)
        lost = sorted(set(published) - set(known))
        if lost:
            log.warning(
                "store lost state: tracking again the users whose pages are published",
                extra={"users": len(lost), "user": lost[0]},
            )
        return [*known, *lost]

    async def _targets(
        self, named: list[Login], force: bool, now: datetime, tracked: list[TrackedUser]
    ) -> list[Target]:
        """Named users first (forced), then one target per user with due reports, in the order
        their oldest report fell due, then users whose pages went missing from the site; with
        `force` and no names, every tracked user."""
        if force and not named:
            return [Target(u.login, force=True) for u in tracked]
        targets = {u: Target(u, force=True, reason="named") for u in named}
        if force:
            return list(targets.values())
        for meta in await self.store.due(now):
            targets.setdefault(meta.login, Target(meta.login, meta.period))
        for login in await self._pages_missing([u for u in tracked if u.login not in targets]):
            targets[login] = Target(login, force=True, reason="pages missing")
        return list(targets.values())

    async def _pages_missing(self, users: list[TrackedUser]) -> list[Login]:
        """Users the store calls fresh whose pages are not on the site: a site folder emptied
        or replaced (`rm -r site`, another `--site-dir`, a new volume) would otherwise stay
        empty until the reports go stale, a day later. Users whose last attempt failed keep
        their backoff, and users GitHub does not know stay skipped."""
        published = set(await asyncio.to_thread(self.publisher.published_logins))
        lost = []
        for user in users:
            if user.missing or user.login in published:
                continue
            metas = await self.store.report_meta(user.login)
            if metas and all(m.generated_at is not None and m.last_error is None for m in metas.values()):
                lost.append(user.login)
        if lost:
            log.info(
                "pages missing from the site: generating them again",
                extra={"users": len(lost), "user": self.spelling(lost[0])},
            )
        return lost

    def _stale_on_site(self, logins: Iterable[Login], now: datetime, skip: set[Login]) -> list[Target]:
        """Configured users whose published 1-year report is missing or stale: the due list
        while the store is unreachable (failures are then retried every pass, not backed off)."""
        targets: dict[Login, Target] = {}
        for login in logins:
            if login in skip or login in targets:
                continue
            # When it was last generated, not when it last changed (its report.json's time).
            checked = self.publisher.checked_at(login, "1_year")
            if checked is None or checked + self.stale_after <= now:
                targets[login] = Target(login)
        return list(targets.values())

    def publish_site(self, logins: list[Login]) -> None:
        """The index and shared files, from what is published for each tracked user."""
        reports = (self.publisher.read_report(login, "1_year") for login in logins)
        self.publisher.publish_static()
        self.publisher.publish_index([IndexEntry.from_report(r) for r in reports if r is not None])
        self.publisher.publish_teams()  # GITBRAG_TEAMS: from the members' published reports


def _split_invalid(
    track: Iterable[str], refresh: Iterable[str]
) -> tuple[list[Login], list[Login], list[UserOutcome]]:
    """The pass's names parsed: names that are not GitHub logins never reach the store,
    GitHub or the site (a name like `../x` or `a author:b` could climb out of site/ or
    rewrite a search); each is a failed outcome instead."""
    parsed: dict[str, Login] = {}
    bad: list[UserOutcome] = []
    for name in dict.fromkeys([*track, *refresh]):
        try:
            parsed[name] = Login(name)
        except InvalidLogin:
            bad.append(UserOutcome(name, "failed", PERIODS, error="not a valid GitHub username"))
    if bad:
        log.warning("ignoring names that are not GitHub usernames", extra={"count": len(bad)})
    return [parsed[u] for u in track if u in parsed], [parsed[u] for u in refresh if u in parsed], bad


def _count(outcomes: list[UserOutcome], tracked_reports: int) -> PassResult:
    result = PassResult(outcomes=outcomes)
    for outcome in outcomes:
        if outcome.status == "refreshed":
            result.refreshed += len(outcome.periods)
        elif outcome.status == "failed":
            result.failed += len(outcome.periods)
    result.skipped = max(0, tracked_reports - result.refreshed - result.failed)
    return result
