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
on the user's reports and they are retried later with growing backoff. What a refresh may
spend on failed requests is bounded (`gitbrag.github.budget`), and names never refreshed
before are asked about a hundred per query, after the known users' reports (`run_pass`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from aiocache.base import BaseCache

from gitbrag.clock import Now, utcnow
from gitbrag.coordination.base import Census, Store, tracked_pages
from gitbrag.coordination.errors import StoreUnavailable, error_name
from gitbrag.coordination.failopen import FailOpenStore
from gitbrag.coordination.tracking import Claim, TaskTracker, hash_params, make_task_id
from gitbrag.doors.shutdown import Shutdown, ShuttingDown
from gitbrag.github.budget import retry_budget
from gitbrag.github.changes import ChangeCheck
from gitbrag.github.client import GitHubClient
from gitbrag.github.collect import UserNotFound, _with_indexed_stars, collect_user
from gitbrag.github.errors import GitHubError
from gitbrag.github.orgs import public_members
from gitbrag.github.users import look_up
from gitbrag.memory import release_freed_memory
from gitbrag.metrics import ACTIVE_GENERATIONS, duplicate_skipped, generation_finished
from gitbrag.models import LOGIN_RE, PERIODS, Collection, InvalidLogin, Login, PrivateMode, StarHistory
from gitbrag.publish.publisher import Publisher, SupersededError
from gitbrag.publish.safepath import SiteRoot
from gitbrag.report import teams
from gitbrag.report.build import ReportOptions, build_reports, star_moments
from gitbrag.settings import DEFAULT_MAX_CONCURRENT, DEFAULT_RETRIES_PER_REFRESH, DEFAULT_STALE_AFTER_SECONDS

log = logging.getLogger(__name__)
T = TypeVar("T")

# A failed report is retried after 5 minutes, then 10, 20, ... capped at the stale age.
RETRY_BASE_SECONDS = 300
# The parameters a report is generated with; part of every task id.
PARAMS_HASH = hash_params({"exclude_closed_unmerged": True, "star_increase": True})

Status = Literal["refreshed", "failed", "skipped", "deferred"]
USER_NOT_FOUND = "GitHub user not found"
# Names a "GitHub does not know" line shows; the rest are counted.
UNKNOWN_SHOWN = 20
# Users read or looked up at once where a pass must go through all of them (issue 29).
PAGE = 1000


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
    render: bool = False  # only render the pages again, from the kept collection (`render_again`)

    @property
    def why(self) -> str:
        return self.reason or ("forced" if self.force else "due")


@dataclass
class Ledger:
    """What a pass learned from the store's census and the marks the last complete pass left
    (issue 29), and so which checks over every user it makes; without them it reads only
    what is due. Each mark is saved only once its check is done (`Refresher._close_ledger`)."""

    census: Census
    site: str  # `Publisher.site_mark` now
    settings: str  # `Publisher.settings_mark` now
    configured: str  # the configured names' digest (GITBRAG_USERS, org members)
    full: bool  # the store or the site may have lost users: look for lost users and missing pages
    renders: bool  # the settings changed: look for pages made with other settings
    names: bool  # the configured names changed: look each one up, track the new
    published: set[Login] | None = None  # the site's users, listed when `full`
    generated: int = 0  # the refresher's `generated` when the pass began


def _digest_names(names: Iterable[Login]) -> str:
    """A digest of a set of names (order and repeats aside)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(set(names)):
        digest.update(name.encode() + b"\n")
    return digest.hexdigest()


@dataclass
class Newcomers:
    """What asking GitHub about never-refreshed names gave: users to refresh, and the outcomes
    of the others (failed: unknown, or GitHub could not say; skipped: shutting down)."""

    found: list[Target] = field(default_factory=list)
    unknown: list[Login] = field(default_factory=list)  # GitHub does not know them
    outcomes: list[UserOutcome] = field(default_factory=list)


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
        retries_per_refresh: int = DEFAULT_RETRIES_PER_REFRESH,
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
        # GITBRAG_GITHUB_RETRIES_PER_REFRESH: failed requests one user's refresh may make (`budget`).
        self.retries_per_refresh = retries_per_refresh
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
        # Names GitHub said it does not know, and when: not asked again within the stale age.
        self._unknown: dict[Login, datetime] = {}
        self.generated = 0  # reports marked generated by this refresher (`_only_ours`)
        self._index_lock = threading.Lock()  # one index update at a time (they run in threads)
        publisher.teams = teams.resolve_teams(self.teams, {}, self._shown_members())
        publisher.report_settings = repr(self.report_options)  # part of what pages are made with
        self._origin: dict[Login, str] = {}  # this pass's names: where each came from (`SOURCES`)
        self.changes = ChangeCheck()  # issue 29: due users GitHub shows no change for, this pass
        self._reasons: dict[str, set[Login]] = {}  # this pass's targets by why they run, but "due"

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
                    if target.render:
                        return await self.render_again(login, fence=claim.holds)
                    return await self.refresh_user(login, fence=claim.holds, due=not target.force)
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
        self, login: Login, *, fence: Callable[[], Awaitable[bool]] | None = None, due: bool = False
    ) -> UserOutcome:
        """Collect, build, publish and record one user's reports; never raises for GitHub
        or disk trouble (those become a failed outcome and the old pages stay).

        `fence` is asked just before publishing whether this generation may still write.
        `due`: a due (not forced) refresh, which may take the pass's change check's verdict
        (`github.changes`); a forced one ("Refresh now") always searches.
        """
        started = time.monotonic()
        now = self.clock()
        log.info("refresh started", extra={"user": self.spelling(login)})
        marked = first = False
        try:
            # Inside the try: a site that cannot be written (full, read-only) fails this
            # report at once, before any GitHub budget is spent, and not the whole pass.
            marked = await _on_disk(self.publisher.set_updating, login, True)
            generation = await _on_disk(self._next_generation, login)
            previous = await self.bookkeeping.load_collection(login)
            release_freed_memory()  # what parsing it took (as much again as the collection)
            first = previous is None and generation == 1
            with retry_budget(self.retries_per_refresh) as budget:
                try:
                    collection = await collect_user(
                        self.client,
                        login,
                        now=now,
                        cache=self.cache,
                        previous=previous,
                        private=self.private,
                        index=_StoreStarIndex(self.bookkeeping),
                        checked=self.changes.take(login) if due else None,
                        moments=self._star_moments(login, now),
                    )
                except GitHubError as exc:
                    if (blamed := budget.blame(exc)) is not exc:
                        raise blamed from exc
                    raise
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
            return await self._not_published(login, now, started, exc, first=first)
        # The pages are out; if the store is unreachable now, the report is simply due again.
        # Stars still being counted (a budget stopped a walk): due again at once, to go on with it.
        await self.bookkeeping.mark_generated(
            login, list(PERIODS), now, now if counting else now + self.stale_after
        )
        self.generated += 1
        seconds = time.monotonic() - started
        generation_finished("refreshed", len(PERIODS), seconds)
        log.info(
            "report refreshed",
            extra={"user": spelled, "reports": len(PERIODS), "prs": prs, "seconds": round(seconds, 3)},
        )
        return UserOutcome(login, "refreshed", PERIODS, seconds)

    def _star_moments(self, login: Login, now: datetime) -> list[datetime]:
        """The window boundaries the user's reports of `now` count stars at (`collect_user`)."""
        options = self.report_options
        return star_moments(now, options.zone_for(login), options.periods)

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
        self, login: Login, now: datetime, started: float, exc: Exception, *, first: bool = False
    ) -> UserOutcome:
        """Record why nothing was published (`first`: nothing ever was, nor collected)."""
        if isinstance(exc, SupersededError):
            fields = {"user": self.spelling(login), "reason": str(exc)}
            log.warning("generation superseded; not published", extra=fields)
            return UserOutcome(login, "skipped", (), time.monotonic() - started, str(exc))
        if isinstance(exc, UserNotFound):
            if first and not await self._ever_generated(login):
                return await self._forget(login, started)
            await self.bookkeeping.mark_missing(login, True)
            return await self._failed(login, now, started, USER_NOT_FOUND, self.stale_after)
        if isinstance(exc, GitHubError):
            return await self._failed(login, now, started, str(exc))
        if isinstance(exc, OSError):
            return await self._failed(login, now, started, f"cannot write the site: {exc.strerror or exc}")
        # A bug must cost one report, not the pass: record it (no trace in the status) and go on.
        log.error("generation crashed", exc_info=exc, extra={"user": self.spelling(login)})
        return await self._failed(login, now, started, f"internal error ({type(exc).__name__}); see the logs")

    async def _ever_generated(self, login: Login) -> bool:
        metas = await self.bookkeeping.report_meta(login)
        return any(m.generated_at is not None for m in metas.values())

    async def _forget(self, login: Login, started: float) -> UserOutcome:
        """A name GitHub does not know, on its first refresh (a typo, a hook call for a name
        that never existed): it is untracked again rather than asked about forever. A user
        that existed and then went away is kept (marked missing, pages kept) instead."""
        await self.bookkeeping.untrack(login)
        generation_finished("failed", len(PERIODS), time.monotonic() - started)
        log.warning("GitHub does not know the user; no longer tracked", extra={"user": self.spelling(login)})
        return UserOutcome(login, "failed", PERIODS, time.monotonic() - started, USER_NOT_FOUND)

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
        users, every tracked user is refreshed, due or not.

        Names never refreshed before are asked about first, a hundred per query
        (`_newcomers`): the users GitHub does not know are one log line, failed outcomes and
        no longer tracked; the others are refreshed after the known users' due reports, so
        a long list of bad names cannot starve the good ones.

        What it costs with nothing due does not grow with the users tracked (issue 29): the
        store's census and the marks the last complete pass left (`Ledger`) say whether the
        store or the site lost users, the settings or the configured names changed, or
        anything the index lists changed; only then are all users looked at, a page at a time."""
        now = self.clock()
        if self.client.budget is not None:  # GITBRAG_BUDGET_POINTS is what one pass may spend
            self.client.budget.restart()
        await self.tracker.release_pending()  # a full disk's leftovers, before claiming anew
        configured = list(track)
        members = await self.resolve_teams()  # org teams' members are tracked like listed users
        track, named, invalid = _split_invalid([*configured, *members], refresh)
        self._origin = _origins(track, set(configured), named)
        listed = set(map(Login, members))  # GitHub listed them: no need to ask whether they exist
        ledger: Ledger | None = None
        tracked_now: list[Login] = []  # the names this pass tracked: the index lists them
        try:
            ledger = await self._ledger(track)
            names = [*(track if ledger.names else []), *named]
            fresh = await self._new_names(names, listed)
            tracked_now = [n for n in dict.fromkeys(names) if n not in fresh]
            if ledger.full:
                tracked_now += await self._lost_or_known(ledger)
            await self._track(tracked_now, now)  # dropped while the store refuses writes
            if ledger.full:  # restores the due entries and metadata a Redis evicted
                await self._track_everyone(now)
            self._remember(named)
            targets = await self._targets([n for n in named if n not in fresh], force, now, ledger)
            new = [n for n in dict.fromkeys([*named, *track]) if n in fresh]  # in the order given
            targets += [Target(n, force=n in named, reason="named" if n in named else "new") for n in new]
        except StoreUnavailable as exc:
            # Fail open: without the stale index, refresh the users named now and the configured
            # ones whose published report (its generated_at) is older than the stale age.
            log.warning(
                "store unavailable; refreshing from the site's own dates", extra={"error": error_name(exc)}
            )
            ledger = None
            targets = [Target(u, force=True, reason="named") for u in named]
            targets += await asyncio.to_thread(self._stale_on_site, track, now, {t.login for t in targets})
            fresh = {t.login for t in targets}  # the store cannot say which were ever generated
        known, unverified = await self._verified(targets, fresh, listed)
        await self._check_changes([t.login for t in known if not t.force], now)  # issue 29
        asked_now = [t for t in unverified if t.reason == "named"]  # asked for by name: first
        later = [t for t in unverified if t.reason != "named"]
        if on_start:
            on_start(len(targets))
        limit = asyncio.Semaphore(self.max_concurrent)

        async def one(target: Target) -> UserOutcome:
            async with limit:
                outcome = self._deferred(target) or await self.generate(target)
            if on_done:
                on_done(outcome)
            return outcome

        def run(batch: Iterable[Target]) -> list[asyncio.Task[UserOutcome]]:
            return [asyncio.create_task(one(t)) for t in batch]

        first = await self._newcomers(asked_now, now, ledger is not None, on_done)
        running = run([*first.found, *known])  # known users' reports claim the slots first
        then = await self._newcomers(later, now, ledger is not None, on_done)
        running += run(then.found)  # queued behind every known user's report
        outcomes = invalid + first.outcomes + then.outcomes + list(await asyncio.gather(*running))
        await self._release_pending()
        if ledger is None:  # the store cannot list its users: index what the site holds
            await asyncio.to_thread(self.publish_site, self.publisher.published_logins())
            return self._budgeted(_count(outcomes, len(outcomes) * len(PERIODS)))
        gone = {*first.unknown, *then.unknown}
        added = [t.login for t in [*first.found, *then.found]]
        extra = [u for u in dict.fromkeys([*tracked_now, *added]) if u not in gone]
        # Names a stop left unasked are not tracked yet, but their reports were asked for: skipped.
        unasked = {o.login for o in [*first.outcomes, *then.outcomes] if o.status == "skipped"}
        # The configured names are settled once each new one was found and tracked (an unknown
        # name is asked about again after the stale age, as before: its check stays on).
        settled = all(n in set(added) for n in track if n in fresh)
        counted = await self._close_ledger(ledger, outcomes, extra, gone, names_settled=settled)
        return self._budgeted(_count(outcomes, (counted + len(unasked - set(extra))) * len(PERIODS)))

    # --- what a pass looks at, proportional to what is due (issue 29) ---------------------

    async def _ledger(self, track: list[Login]) -> Ledger:
        """The census, today's marks, and from them which checks over every user this pass makes."""
        census = await self.store.census()
        marks = census.marks
        site, settings = await _on_disk(lambda: (self.publisher.site_mark(), self.publisher.settings_mark()))
        configured = _digest_names(track)
        why = [
            reason
            for reason, lost in (
                ("no marks", not marks),
                ("fewer users", census.tracked < int(marks.get("tracked", 0))),
                ("fewer reports", census.reports < int(marks.get("reports", 0))),
                ("site changed", marks.get("site") != site),
            )
            if lost
        ]
        ledger = Ledger(
            census=census,
            site=site,
            settings=settings,
            configured=configured,
            full=bool(why),
            renders=bool(why) or marks.get("settings") != settings,
            names=bool(why) or marks.get("configured") != configured,
            generated=self.generated,
        )
        if ledger.full or ledger.renders or ledger.names:
            log.info(
                "bookkeeping: looking at every user",
                extra={
                    "reason": ", ".join(why) or "settings or names changed",
                    "users": census.tracked,
                    "lost": ledger.full,
                    "renders": ledger.renders,
                    "names": ledger.names,
                },
            )
        return ledger

    async def _close_ledger(
        self,
        ledger: Ledger,
        outcomes: list[UserOutcome],
        extra: list[Login],
        gone: set[Login],
        *,
        names_settled: bool,
    ) -> int:
        """Rebuild the index when anything it lists may have changed, then leave the marks the
        next pass compares with; returns the users tracked (for the summary's skipped)."""
        try:
            census = await self.store.census()
            untracked = [n for n in extra if n not in await self.store.tracked_among(extra)]
        except StoreUnavailable:  # it went away during the pass: index as it was, mark nothing
            census, untracked = None, []
        refreshed = [Login(o.login) for o in outcomes if o.status == "refreshed"]
        alone = self._only_ours(ledger, census, refreshed, [*untracked, *gone]) and await asyncio.to_thread(
            self.publish_rows, refreshed
        )
        if not alone and (
            census is None
            or census.changes != int(ledger.census.marks.get("indexed", -1))
            or ledger.full
            or ledger.renders
            or ledger.names
            or gone
            or refreshed
        ):
            await asyncio.to_thread(self.publish_site, await self._index_logins(untracked, gone))
        if census is None:
            return ledger.census.tracked + len(untracked)
        marks = {
            "tracked": str(census.tracked),
            "reports": str(census.reports),
            "indexed": str(census.changes),  # the changes the index was built from (`Census.changes`),
        }
        if not (ledger.full and self._left_undone(outcomes, "pages missing")):
            marks["site"] = await _on_disk(self._site_mark_after_writing)
        if not self._left_undone(outcomes, "settings changed"):
            marks["settings"] = ledger.settings
        if names_settled and not untracked:
            marks["configured"] = ledger.configured
        await self.tracker.guard(self.store.save_marks(marks), None)
        return census.tracked + len(untracked)

    def _only_ours(
        self, ledger: Ledger, census: Census | None, refreshed: list[Login], others: list[Login]
    ) -> bool:
        """Whether the only changes since the index was built are this process's refreshes of
        users the index lists (`Census.changes` went up by exactly its generations, nobody
        tracked or untracked, no check over every user): then the index takes their new rows
        alone (`publish_rows`), whatever the number of users it lists."""
        if census is None or not refreshed or others or ledger.full or ledger.renders or ledger.names:
            return False
        built = int(ledger.census.marks.get("indexed", -1))
        return built >= 0 and census.changes - built == self.generated - ledger.generated

    def _site_mark_after_writing(self) -> str:
        """The site's mark once this pass's writing is over: the process's writer's mark at the
        site's root goes first (`Publisher.close`; a later write makes another), as its removal
        changes the root, and the next pass would otherwise find the site changed and look at
        every user."""
        self.publisher.close()
        return self.publisher.site_mark()

    def _left_undone(self, outcomes: list[UserOutcome], reason: str) -> bool:
        """Whether a target this pass made for `reason` did not end refreshed (to do again)."""
        return any(o.status != "refreshed" and o.login in self._reasons.get(reason, set()) for o in outcomes)

    async def _index_logins(self, untracked: list[Login], gone: set[Login]) -> list[Login]:
        """Everyone the index lists: the store's users, a page at a time, and the names this pass
        could not track (a store refusing writes); only logins are held, not reports."""
        found: set[Login] = set(untracked)
        async for page in tracked_pages(self.store):
            found.update(u.login for u in page)
        return sorted(found - gone)

    async def _track_everyone(self, now: datetime) -> None:
        """Track every tracked user again, a page at a time: what Redis evicted of their due
        entries and metadata comes back (tracking only adds what is missing)."""
        async for page in tracked_pages(self.store):
            await self.bookkeeping.track([u.login for u in page], now, PERIODS)

    async def _check_changes(self, due: list[Login], now: datetime) -> None:
        """Ask GitHub, many users a query, which of the `due` users changed since their last
        refresh (`github.changes`): the others' refreshes then search nothing. A failure or a
        shutdown leaves no verdict: every due user is refreshed in full, as before.

        Only users still due and not being refreshed elsewhere are asked about: the due list
        was read a moment ago, and another process (a service, a cron run, the hook) may have
        refreshed them since, or be refreshing them now; asking GitHub about those is waste."""
        waiting = [
            login
            for login in due
            if await self._due(login) and not await self.tracker.get_reported_user_active_tasks(login)
        ]
        with contextlib.suppress(ShuttingDown):
            await self.changes.run(
                self.client,
                self.bookkeeping.load_collection,
                waiting,
                now,
                private=self.private,
                retries=self.retries_per_refresh,
            )

    # --- GITBRAG_BUDGET_POINTS (issue 28): a pass within a point budget -------------------

    def _deferred(self, target: Target) -> UserOutcome | None:
        """`target` left for the next pass when the budget no longer covers a new report
        (`github.points.PointBudget.may_claim`); not claimed, so it stays due, oldest first."""
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

    # --- names never refreshed before --------------------------------------------------

    async def _new_names(self, names: list[Login], listed: set[Login]) -> set[Login]:
        """The pass's names the store does not track, to be asked about before they are
        tracked, but for those known to exist (published, or `listed` by GitHub as org
        members). Looked up by name: work in the names, not in everyone tracked."""
        names = list(dict.fromkeys(names))
        if not names:
            return set()
        tracked = await self.store.tracked_among(names)
        untracked = [n for n in names if n not in tracked and n not in listed]
        published = await _on_disk(lambda: {n for n in untracked if self.publisher.is_published(n)})
        return {n for n in untracked if n not in published}

    async def _verified(
        self, targets: list[Target], fresh: set[Login], listed: set[Login]
    ) -> tuple[list[Target], list[Target]]:
        """`targets` split into users known to exist (published, or `listed` by GitHub as org
        members) or generated once, and the others, whose name is checked before a refresh
        is spent on it. `fresh`: names the store need not be asked about (it does not hold
        them, or cannot be reached)."""
        published = await _on_disk(
            lambda: {
                t.login for t in targets if t.login not in listed and self.publisher.is_published(t.login)
            }
        )
        known: list[Target] = []
        unverified: list[Target] = []
        for target in targets:
            login = target.login
            if (
                login in listed
                or login in published
                or (login not in fresh and await self._ever_generated(login))
            ):
                known.append(target)
            else:
                unverified.append(target)
        return known, unverified

    async def _newcomers(
        self,
        targets: list[Target],
        now: datetime,
        tracking: bool,
        on_done: Callable[[UserOutcome], None] | None = None,
    ) -> Newcomers:
        """Ask GitHub about the users of `targets` (never refreshed), a hundred names a query.

        Those it does not know fail without a refresh, in ONE log line, and are untracked; a
        name asked about within the stale age is not asked again (unless named: asked for
        now), nor logged again. Those it knows are tracked and returned to be refreshed. When
        GitHub cannot say, the names wait for the next pass (one log line)."""
        result = Newcomers()
        ask: list[Target] = []
        for target in targets:
            checked = self._unknown.get(target.login)
            if target.reason != "named" and checked is not None and now - checked < self.stale_after:
                result.outcomes.append(UserOutcome(target.login, "failed", PERIODS, error=USER_NOT_FOUND))
            else:
                ask.append(target)
        if ask:
            await self._ask_github(ask, now, tracking, result)
        if on_done:
            for outcome in result.outcomes:
                on_done(outcome)
        return result

    async def _ask_github(self, ask: list[Target], now: datetime, tracking: bool, result: Newcomers) -> None:
        try:
            if self.shutdown is not None and self.shutdown.requested:
                raise ShuttingDown
            lookup = await look_up(self.client, [t.login for t in ask])
        except ShuttingDown:  # not a failure: they are asked about on the next run
            result.outcomes += [UserOutcome(t.login, "skipped", (), error="shutting down") for t in ask]
            return
        except GitHubError as exc:
            log.warning(
                "could not ask GitHub which new names it knows; they wait for the next pass",
                extra={"users": len(ask), "error": str(exc)},
            )
            result.outcomes += [UserOutcome(t.login, "failed", PERIODS, error=str(exc)) for t in ask]
            return
        held = {t.login for t in ask if t.reason != "new"}  # "new": never in the store
        for login in lookup.unknown:
            self._unknown[login] = now
            if tracking and login in held:
                await self.bookkeeping.untrack(login)
        if lookup.unknown:
            shown = ", ".join(login.spelling for login in lookup.unknown[:UNKNOWN_SHOWN])
            more = len(lookup.unknown) - UNKNOWN_SHOWN
            log.warning(
                f"{len(lookup.unknown)} names GitHub does not know: {shown}"
                + (f", … (+{more} more)" if more > 0 else "")
                + "; not tracked, asked again after the stale age",
                extra={"users": len(lookup.unknown), "user": lookup.unknown[0].spelling},
            )
        result.unknown = lookup.unknown
        result.outcomes += [
            UserOutcome(login, "failed", PERIODS, error=USER_NOT_FOUND) for login in lookup.unknown
        ]
        found = [t for t in ask if t.login in lookup.known]
        for target in found:
            self._unknown.pop(target.login, None)
            self._spellings[target.login] = lookup.known[target.login]
        if tracking and found:
            await self._track([t.login for t in found], now)
        result.found = found

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

    async def _lost_or_known(self, ledger: Ledger) -> list[Login]:
        """The users the site has pages for that the store does not track, to track again. A
        Redis that evicts keys, or one restarted empty, loses tracked users, report metadata and
        due entries while the pages stay; without this, those users would silently never be
        refreshed nor indexed again. Only when the census says users may be lost (`Ledger.full`):
        it lists the site, and looks its users up in the store a page at a time."""
        published = await asyncio.to_thread(self.publisher.published_logins)
        ledger.published = set(published)
        lost: list[Login] = []
        for start in range(0, len(published), PAGE):
            page = published[start : start + PAGE]
            tracked = await self.store.tracked_among(page)
            lost += [login for login in page if login not in tracked]
        for login in lost:
            self._origin.setdefault(login, "site")
        if lost:
            log.warning(
                "store lost state: tracking again the users whose pages are published",
                extra={"users": len(lost), "user": lost[0]},
            )
        return lost

    async def _targets(self, named: list[Login], force: bool, now: datetime, ledger: Ledger) -> list[Target]:
        """Named users first (forced), then one target per user with due reports, in the order
        their oldest report fell due, then users whose pages went missing from the site (when
        the census says the site or the store changed), then users whose pages were made with
        other settings (when they changed); with `force` and no names, every tracked user."""
        self._reasons = {}
        # GitHub said they no longer exist (renamed, deleted): kept, pages too, until untracked,
        # and refreshed again only when named (`--user`, the hook), not every stale age.
        if force and not named:
            everyone: list[Target] = []
            async for page in tracked_pages(self.store):
                self._remember([Login(u.display) for u in page], authoritative=True)
                everyone += [Target(u.login, force=True) for u in page if not u.missing]
            return sorted({t.login: t for t in everyone}.values(), key=lambda t: t.login)
        targets = {u: Target(u, force=True, reason="named") for u in named}
        if force:
            return list(targets.values())
        due = await self.store.due(now)
        users = await self.store.tracked_among(list(dict.fromkeys(m.login for m in due)))
        self._remember([Login(u.display) for u in users.values()], authoritative=True)
        for meta in due:
            if (user := users.get(meta.login)) is None or not user.missing:
                targets.setdefault(meta.login, Target(meta.login, meta.period))
        del due, users
        if ledger.full and ledger.published is not None:
            for login in await self._pages_missing(set(targets), ledger.published):
                targets[login] = Target(login, force=True, reason="pages missing")
        if ledger.renders:
            for login in await self._renders_stale(set(targets)):
                targets[login] = Target(login, force=True, reason="settings changed", render=True)
        for target in targets.values():
            if target.reason in ("pages missing", "settings changed"):
                self._reasons.setdefault(target.reason, set()).add(target.login)
        return list(targets.values())

    async def _pages_missing(self, targeted: set[Login], published: set[Login]) -> list[Login]:
        """Users the store calls fresh whose pages are not on the site: a site folder emptied
        or replaced (`rm -r site`, another `--site-dir`, a new volume) would otherwise stay
        empty until the reports go stale, a day later. Users whose last attempt failed keep
        their backoff, and users GitHub does not know stay skipped. `published`: the site's
        users; the store's are walked a page at a time, and only the unpublished looked up."""
        lost = []
        async for page in tracked_pages(self.store):
            for user in page:
                if user.missing or user.login in published or user.login in targeted:
                    continue
                metas = await self.store.report_meta(user.login)
                if metas and all(m.generated_at is not None and m.last_error is None for m in metas.values()):
                    self._remember([Login(user.display)], authoritative=True)
                    lost.append(user.login)
        lost = list(dict.fromkeys(lost))
        if lost:
            log.info(
                "pages missing from the site: generating them again",
                extra={"users": len(lost), "user": self.spelling(lost[0])},
            )
        return lost

    # --- sources, and pages made with other settings (issue 27) --------------------------

    async def _track(self, logins: list[Login], now: datetime) -> None:
        """Track `logins`, each with where this pass found it (a user keeps its first source)."""
        by_source: dict[str | None, list[Login]] = {}
        for login in logins:
            by_source.setdefault(self._origin.get(login), []).append(login)
        for source, group in by_source.items():
            await self.bookkeeping.track(group, now, PERIODS, source)

    async def _renders_stale(self, targeted: set[Login]) -> list[Login]:
        """Published users whose pages were made with other settings than today's (a new
        GITBRAG_BASE_URL, GITBRAG_HOOK_PUBLIC_URL, GITBRAG_TEAMS or org membership,
        GITBRAG_PERIODS, GITBRAG_EXCLUDE, GITBRAG_TIMEZONE...): rendered again this pass from
        their kept collections, due or not, at no GitHub cost (`render_again`). Only when the
        settings differ from the last complete pass's (`Ledger.renders`); the store's users
        are read a page at a time, each one's generated.json once."""
        found: list[Login] = []
        async for page in tracked_pages(self.store):
            users = [u for u in page if u.login not in targeted]
            stale = await _on_disk(
                lambda users=users: [u for u in users if self.publisher.renders_stale(u.login)]
            )
            self._remember([Login(u.display) for u in stale], authoritative=True)
            found += [u.login for u in stale]
        found = list(dict.fromkeys(found))
        if found:
            log.info(
                "settings changed: rendering pages again from the kept collections",
                extra={"users": len(found), "user": self.spelling(found[0])},
            )
        return found

    async def render_again(
        self, login: Login, *, fence: Callable[[], Awaitable[bool]] | None = None
    ) -> UserOutcome:
        """Build the user's reports from the kept collection (the builder is pure) as of when it
        was collected, and publish them with today's settings: no GitHub request, no new due
        time. Without a kept collection (a Redis that let it expire) it is a refresh."""
        started = time.monotonic()
        collection = await self.bookkeeping.load_collection(login)
        if collection is None:
            return await self.refresh_user(login, fence=fence)
        try:
            at = collection.collected_at
            collection = await _with_indexed_stars(collection, _StoreStarIndex(self.bookkeeping), at)
            generation = await _on_disk(self._next_generation, login)
            reports = build_reports(collection, until=at, generated_at=at, options=self.report_options)
            reports = {p: r.model_copy(update={"generation": generation}) for p, r in reports.items()}
            del collection
            if fence is not None and not await fence():
                raise SupersededError("the claim on this report was lost")
            await _on_disk(self.publisher.publish_user, reports)
        except Exception as exc:
            return await self._not_published(login, self.clock(), started, exc)
        seconds = time.monotonic() - started
        log.info("pages rendered again (settings changed)", extra={"user": self.spelling(login)})
        return UserOutcome(login, "refreshed", PERIODS, seconds)

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

    def publish_rows(self, logins: list[Login]) -> bool:
        """The shared files and the index rows of `logins` alone (`Publisher.update_index`);
        False when the index on disk cannot take them so: `publish_site` then."""
        with self._index_lock:
            self.publisher.publish_static()
            if not self.publisher.update_index(logins):
                return False
            self.publisher.publish_teams(refreshed=())
            return True

    def publish_site(self, logins: list[Login]) -> None:
        """The index and shared files, from each tracked user's index row (kept small beside
        its reports, `Publisher.index_entries`: no report is read again)."""
        with self._index_lock:
            self._publish_site(logins)

    def _publish_site(self, logins: list[Login]) -> None:
        self.publisher.publish_static()
        self.publisher.publish_index(self.publisher.index_entries(logins))
        # GITBRAG_TEAMS: the teams of the users published since the last call (the publisher
        # records them), and those whose members or settings changed; not every team.
        self.publisher.publish_teams(refreshed=())


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


def _origins(track: list[Login], configured: set[str], named: list[Login]) -> dict[Login, str]:
    """Where each of a pass's names came from: GITBRAG_USERS (`configured`), else a team's
    organization, else `--user`."""
    listed = {login for login in track if login.spelling in configured or str(login) in configured}
    origin: dict[Login, str] = {}
    for login in track:
        origin.setdefault(login, "settings" if login in listed else "team")
    for login in named:
        origin.setdefault(login, "cli")
    return origin


def _count(outcomes: list[UserOutcome], tracked_reports: int) -> PassResult:
    result = PassResult(outcomes=outcomes)
    for outcome in outcomes:
        if outcome.status == "refreshed":
            result.refreshed += len(outcome.periods)
        elif outcome.status == "failed":
            result.failed += len(outcome.periods)
    result.skipped = max(0, tracked_reports - result.refreshed - result.failed)
    return result
