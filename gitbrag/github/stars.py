"""Star histories: when each current stargazer starred a repository, back to a window start.

GitHub only lists stargazers (with `starredAt`), so stars gained in a window are counted
by walking the list newest first until passing the window start. Walks are batched:
one query carries a page for up to 100 repositories, and GitHub charges by connections
(up to 149 connections of 100 nodes cost 1 point), so a walk costs about one point per
page of its busiest repository, not per repository.

Walking again every refresh would cost that again; `extend` instead walks only the stars
newer than a kept history's newest and checks the result against `stargazerCount`:

    count now == count then - (kept stars at or after the newest) + (stars read at or after it)

Unstars are the case it cannot see page by page (an unstarred entry just disappears from
GitHub's list), so when the counts do not add up the repository is walked again in full:
conservative, and exact. Stars older than the oldest kept window start cannot be checked
this way either, which is why all-time reports use the fresh `stargazerCount` instead.

Histories outlive a pass in the deployment's star index (`StarIndex`: the store, one
record per repository for every user and process): a repository already indexed is not
walked again but extended from its newest kept star, as above (a page per repository,
batched), and walked in full only when the counts reveal unstars.

Concurrent collections of one pass often share repositories: a walk is single-flight per
client, so while one collection walks a repository the others await its result instead
of walking it too (the cache only helps once the walk is over). If that walk fails, each
waiter walks the repository itself: the failure was the walker's (its collection may
just have been cancelled), not necessarily theirs.

Bringing a kept history up to date (extending it, re-reading where unstars showed, saving
it) is one refresh at a time per repository and client (`upkeep`): each starts from what
the last one saved, not from the copy it loaded when it began. Otherwise eight refreshes
near a giant each re-read the same unstars and write over one another's progress.

A repository whose stargazers GitHub refuses to the token (admins and collaborators only,
since its 2026-06-30 changelog: `starpages.REFUSED`) gets no history at all, neither in the
result nor in the index, whatever pages were read before the refusal: its walk is `refused`,
named to the caller, and asked once per refresh (the next refresh asks again, in case the
token was granted access), never counted as a repository without stars.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiocache.base import BaseCache

from gitbrag.clock import utcnow
from gitbrag.github import points, reconcile, starpages, starprobe
from gitbrag.github.client import GitHubClient
from gitbrag.github.nodes import Node, parse_time
from gitbrag.github.queries import PAGE_SIZE
from gitbrag.github.starpages import REFUSED, Refused
from gitbrag.models import StarCheckpoint, StarHistory

log = logging.getLogger(__name__)

# Repositories per stargazers query: GitHub charges connections / 100, rounded, so 100
# connections cost 1 point; one round trip then serves all of them.
STAR_BATCH = 100
STAR_CACHE_TTL = 3600  # seconds; long enough for one refresh pass, short enough to stay fresh


class StarIndex(Protocol):
    """Where the deployment keeps one star history per repository (the store); it must fail
    open (an unreachable store loads nothing and saves nothing), as a cache would."""

    async def load(self, repos: list[str]) -> dict[str, StarHistory]: ...

    async def save(self, histories: list[StarHistory]) -> None: ...


@dataclass
class Walk:
    """One repository's newest-first walk, until a star older than `stop_at` is seen."""

    stop_at: datetime
    starred_at: list[datetime] = field(default_factory=list)  # >= stop_at, newest first
    below: list[datetime] = field(default_factory=list)  # read on the last page, older than stop_at
    checkpoints: list[StarCheckpoint] = field(default_factory=list)  # where each page ended
    count: int | None = None  # stargazerCount read with the first page
    cursor: str | None = None  # where to continue; None once done
    exhausted: bool = False  # the last page read was the repository's oldest
    stopped: bool = False  # the pass's point budget ended it at a page boundary (`points`)
    refused: bool = False  # GitHub refused the repository's stargazers: nothing it read counts

    def absorb(self, repository: Node) -> None:
        """Take in one page (a `repository { stargazerCount stargazers {...} }` node)."""
        if self.count is None:
            self.count = repository["stargazerCount"]
        connection = repository["stargazers"]
        times = [parse_time(edge["starredAt"]) for edge in connection["edges"]]
        self.starred_at.extend(t for t in times if t >= self.stop_at)
        self.below.extend(t for t in times if t < self.stop_at)
        if times:
            self.checkpoints.append(StarCheckpoint(at=times[-1], cursor=connection["pageInfo"]["endCursor"]))
        self.exhausted = not connection["pageInfo"]["hasNextPage"]
        more = not self.exhausted and times and times[-1] >= self.stop_at
        self.cursor = connection["pageInfo"]["endCursor"] if more else None

    @property
    def floor(self) -> datetime | None:
        """The oldest star time read: the walk saw every star newer than this."""
        return self.checkpoints[-1].at if self.checkpoints else None


async def star_histories(
    client: GitHubClient,
    repos: list[str],
    since: datetime,
    *,
    cache: BaseCache | None = None,
    index: StarIndex | None = None,
    now: datetime | None = None,
    refused: set[str] | None = None,
    counting: starprobe.Counting | None = None,
) -> dict[str, StarHistory]:
    """Each repository's stars since `since`, newest first: from the cache, else the index
    extended to now (and re-read where unstars showed, `reconcile`), else, with `counting`,
    the window boundaries counted by searching REST's stargazer list where it can
    (`starprobe`: a cold start for a few requests), else a full walk (and the index then
    keeps what was learnt).

    Walks reach back to midnight UTC of `since`'s day and are cached under that day, so
    collections made moments apart (different `now`, same day) share one walk.
    Repositories that no longer exist are left out; those whose stargazers GitHub refused
    are left out too, and added to `refused`.
    """
    denied: set[str] = set()
    day = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    keys = {repo: _star_key(repo, day) for repo in repos}
    found: dict[str, StarHistory] = {}
    if cache is not None and repos:
        cached = await cache.multi_get([keys[repo] for repo in repos])
        found = {repo: StarHistory.model_validate(v) for repo, v in zip(repos, cached, strict=True) if v}
    learnt: dict[str, StarHistory] = {}
    kept: dict[str, StarHistory] = {}
    if index is not None:
        kept = await _indexed(index, [r for r in repos if r not in found], day)
        walks = await _extensions(client, kept)
        denied |= {repo for repo, walk in walks.items() if walk.refused}
        learnt = await brought_up_to_date(client, index, kept, walks, now or utcnow())
        learnt = await points.resumed(client, index, learnt, day, continue_walks, thinned, denied)
        await _cache(cache, {keys[repo]: history for repo, history in learnt.items()})
    outcome = await _walk_once(
        client,
        [r for r in repos if r not in found and r not in learnt and r not in denied],
        day,
        keys,
        cache,
        counting,
    )
    walked = {repo: h for repo, h in outcome.items() if not isinstance(h, Refused)}
    denied |= set(outcome) - set(walked)
    if index is not None:
        await save_changed(index, kept, walked)
    if denied:
        log.info(
            "GitHub refused the stargazers of %d repositories; their stars gained are not available",
            len(denied),
            extra={"refused": sorted(denied)},
        )
    if refused is not None:
        refused |= denied
    return {repo: trimmed(history, since) for repo, history in (found | learnt | walked).items()}


async def save_changed(index: StarIndex, kept: dict[str, StarHistory], now: dict[str, StarHistory]) -> None:
    """Write back the histories that differ from what the index gave: an unchanged one costs
    no encoding (a giant's is ~100,000 times) and no write, however many users share it."""
    changed = [history for repo, history in now.items() if history != kept.get(repo)]
    if changed:
        await index.save(changed)


async def brought_up_to_date(
    client: GitHubClient,
    index: StarIndex | None,
    kept: dict[str, StarHistory],
    walks: dict[str, Walk],
    now: datetime,
) -> dict[str, StarHistory]:
    """`settle`, and save what changed, holding each repository's `upkeep`: from the history
    the index holds by then when it reaches as far back (another refresh may have extended
    and re-read it since `kept` was loaded), else from `kept`.

    Each walk read every star newer than its floor, so it completes either history."""
    if index is None:
        return await settle(client, kept, walks, now)
    async with upkeep(client, list(walks)):
        current = await index.load(sorted(walks)) if walks else {}
        base = {repo: _fresher(kept[repo], current.get(repo)) for repo in walks}
        learnt = await settle(client, base, walks, now)
        await save_changed(index, current, learnt)
    return learnt


def _fresher(kept: StarHistory, current: StarHistory | None) -> StarHistory:
    if current is not None and current.since <= kept.since and current.stargazer_count is not None:
        return current
    return kept


@contextlib.asynccontextmanager
async def upkeep(client: GitHubClient, repos: list[str]) -> AsyncIterator[None]:
    """Hold `repos` for one refresh's upkeep, among the refreshes sharing `client` (a
    process's). Taken in one order, all at once, so two refreshes can never deadlock."""
    names = sorted({repo.lower() for repo in repos})
    async with contextlib.AsyncExitStack() as held:
        for name in names:
            await held.enter_async_context(client.upkeep_locks.setdefault(name, asyncio.Lock()))
        yield


async def _indexed(index: StarIndex, repos: list[str], day: datetime) -> dict[str, StarHistory]:
    """The indexed histories of `repos` that reach back to `day`."""
    return {
        repo: history
        for repo, history in (await index.load(repos) if repos else {}).items()
        if (history.since <= day or history.resume_cursor is not None or history.counted)
        and history.stargazer_count is not None
    }


async def _extensions(client: GitHubClient, kept: dict[str, StarHistory]) -> dict[str, Walk]:
    """Walks of the stars newer than each kept history's newest."""
    walks = {repo: Walk(stop_at=max(h.starred_at, default=h.since)) for repo, h in kept.items()}
    await continue_walks(client, walks, first_round=True)
    return walks


async def settle(
    client: GitHubClient, kept: dict[str, StarHistory], walks: dict[str, Walk], now: datetime
) -> dict[str, StarHistory]:
    """The kept histories brought up to date by their extension walks, and re-read where
    unstars are still unlocated and a re-read is due (`reconcile`). Left out: histories the
    counts contradict, or with unstars and no checkpoints to re-read from (written before
    checkpoints existed): the caller walks those again in full. Left out as well: walks GitHub
    refused (the caller must not walk those again)."""
    result: dict[str, StarHistory] = {}
    for repo, walk in walks.items():
        if walk.refused:  # what it read before the refusal proves nothing: no history at all
            continue
        history = extended(kept[repo], walk, kept[repo].since)
        legacy = history is not None and not history.checkpoints and len(history.starred_at) > PAGE_SIZE
        if history is not None and not (history.unlocated and legacy and not history.counted):
            result[repo] = history
    # A counted history's unstars are located by counting it again (`starprobe.topped_up`).
    due = [h for h in result.values() if not h.counted and reconcile.due(h, now)]
    return result | await reconcile.reread(client, due, now)


async def _cache(cache: BaseCache | None, entries: dict[str, StarHistory]) -> None:
    if cache is not None and entries:
        pairs = [(key, history.model_dump(mode="json")) for key, history in entries.items()]
        await cache.multi_set(pairs, ttl=STAR_CACHE_TTL)


class _Abandoned(Exception):
    """The walk a waiter was sharing failed: the waiter walks the repository itself."""


Walked = dict[str, StarHistory | Refused]  # a full walk's outcome per repository


async def _walk_once(
    client: GitHubClient,
    repos: list[str],
    day: datetime,
    keys: dict[str, str],
    cache: BaseCache | None,
    counting: starprobe.Counting | None = None,
) -> Walked:
    """Walk `repos` back to `day`, sharing walks already in flight on `client` (single-flight)."""
    flights = client.in_flight
    theirs = {repo: flights[keys[repo]] for repo in repos if keys[repo] in flights}
    mine = [repo for repo in repos if repo not in theirs]
    loop = asyncio.get_running_loop()
    promised: dict[str, asyncio.Future[StarHistory | Refused | None]] = {
        repo: loop.create_future() for repo in mine
    }
    flights.update({keys[repo]: future for repo, future in promised.items()})
    try:
        walked = await _walk(client, mine, day, keys, cache, counting)
        for repo, future in promised.items():
            future.set_result(walked.get(repo))
    finally:
        for repo, future in promised.items():
            if flights.get(keys[repo]) is future:
                del flights[keys[repo]]
            if not future.done():  # the walk failed: its waiters walk by themselves
                future.set_exception(_Abandoned())
                future.exception()  # retrieved here, so an unshared failure is not logged
    shared, again = await _shared(theirs)
    return walked | shared | (await _walk_once(client, again, day, keys, cache, counting) if again else {})


async def _shared(
    theirs: dict[str, asyncio.Future[Any]],
) -> tuple[Walked, list[str]]:
    """What other callers' walks found (or were refused), and the repositories whose walk
    failed (walk again)."""
    found: Walked = {}
    failed: list[str] = []
    for repo, future in theirs.items():
        try:
            history = await asyncio.shield(future)  # our cancellation must not cancel theirs
        except _Abandoned:
            failed.append(repo)
            continue
        if history is not None:
            found[repo] = history
    return found, failed


async def _walk(
    client: GitHubClient,
    repos: list[str],
    day: datetime,
    keys: dict[str, str],
    cache: BaseCache | None,
    counting: starprobe.Counting | None = None,
) -> Walked:
    """Walk `repos` in full back to `day` (with `counting`, only those whose window boundaries
    the search cannot count), and cache what was found (never a refused walk, whatever pages
    it read before the refusal)."""
    counted = await counting.histories(client, repos) if counting is not None else {}
    await _cache(cache, {keys[repo]: history for repo, history in counted.items()})
    walks = {repo: Walk(stop_at=day) for repo in repos if repo not in counted}
    await continue_walks(client, walks, first_round=True, stoppable=True)
    walked = {
        repo: points.walked(repo, w, day, thinned)
        for repo, w in walks.items()
        if (w.count is not None or w.stopped) and not w.refused
    }
    # A walk the budget stopped is not cached: the index keeps it, to be continued.
    await _cache(cache, {keys[repo]: h for repo, h in walked.items() if h.resume_cursor is None})
    return walked | counted | {repo: REFUSED for repo, w in walks.items() if w.refused}


def trimmed(history: StarHistory, since: datetime) -> StarHistory:
    """The history from `since` on (it must reach back that far). A counted one is kept as it
    is: its counts are relative to its own `since` and star times, and the boundaries it
    keeps are those its last refresh needed (`starprobe.topped_up`)."""
    if history.counted:
        return history
    times = history.starred_at[: newer_than(history.starred_at, since, or_equal=True)]
    checkpoints = [c for c in history.checkpoints if c.at >= since]
    since = max(since, history.since) if history.resume_cursor is not None else since
    return history.model_copy(update={"since": since, "starred_at": times, "checkpoints": checkpoints})


def newer_than(times: list[datetime], bound: datetime, *, or_equal: bool = False) -> int:
    """How many of `times` (newest first) are newer than `bound` (or equal to it, with
    `or_equal`): a prefix, found by bisection, since every refresh near a giant cuts its
    ~100,000 times."""
    if not times:
        return 0
    top = times[0]
    find = bisect.bisect_right if or_equal else bisect.bisect_left
    return find(times, top - bound, key=lambda t: top - t)  # the keys ascend along the list


def _star_key(repo: str, day: datetime) -> str:
    return f"gitbrag:stars:{repo.lower()}:{day.date().isoformat()}"


async def continue_walks(
    client: GitHubClient, walks: dict[str, Walk], *, first_round: bool = False, stoppable: bool = False
) -> None:
    """Read pages, round after round, until every walk is done; the client's pager sends
    them together with the pages other refreshes are walking (`starpages`).

    With `first_round`, every walk starts from the newest star; otherwise only walks
    with a cursor continue. A repository that no longer exists keeps `count` None; one
    whose stargazers GitHub refuses ends `refused` (and is not asked again). With
    `stoppable`, the client's point budget may end the walks between rounds (`points`).
    """
    pages = starpages.pager(client)
    pending = list(walks) if first_round else [repo for repo, w in walks.items() if w.cursor]
    while pending:
        if stoppable and client.budget is not None and not client.budget.may_walk(len(pending), STAR_BATCH):
            # GITBRAG_BUDGET_POINTS: stop at this page boundary; each walk keeps its cursor.
            log.info("star walks stopped by the point budget", extra={"walks": len(pending)})
            for repo in pending:
                walks[repo].stopped = True
            return
        nodes = await asyncio.gather(*(pages.page(repo, walks[repo].cursor) for repo in pending))
        for repo, node in zip(pending, nodes, strict=True):
            if node is None:  # deleted or hidden since: no stars to count
                walks[repo].cursor = None
                continue
            if isinstance(node, Refused):  # admins and collaborators only: not a lack of stars
                walks[repo].refused = True
                walks[repo].cursor = None
                continue
            walks[repo].absorb(node)
        pending = [repo for repo in pending if walks[repo].cursor]


# --- extending kept histories -------------------------------------------------------------


def extension(history: StarHistory, newest_page: Node) -> Walk:
    """Start extending `history` from a fresh first page (newest first) of its repository."""
    stop_at = max(history.starred_at, default=history.since)
    walk = Walk(stop_at=stop_at)
    walk.absorb(newest_page)
    return walk


def extended(history: StarHistory, walk: Walk, since: datetime) -> StarHistory | None:
    """The history brought up to date by `walk`, which read every star newer than its floor.

    What the walk read replaces what was kept above its floor, so unstars there are located
    at once. Unstars further down only show in the counts: the stars not kept (older than
    `since`) were `count - len(kept)` and cannot have grown, so

        deficit = (count then - len(kept)) + len(history now) - count now

    is how many stars under the floor, kept or older than `since`, are gone; they are added
    to `unlocated` (a re-read locates them, `reconcile`). None when the counts cannot be
    squared at all (then the repository is walked again in full).
    """
    if history.stargazer_count is None or walk.count is None:
        return None
    floor = walk.floor
    if floor is None or walk.exhausted:  # the walk read every star there is
        read, older = walk.starred_at + walk.below, []
    else:
        read = walk.starred_at + walk.below
        read = read[: newer_than(read, floor)]
        older = history.starred_at[newer_than(history.starred_at, floor) :]
    times = read + older
    times = times[: newer_than(times, history.since, or_equal=True)]
    deficit = history.stargazer_count - len(history.starred_at) + len(times) - walk.count
    if deficit < 0:
        log.info(
            "star count of %s does not add up; walking it again",
            history.repo,
            extra={"repo": history.repo, "was": history.stargazer_count, "now": walk.count},
        )
        return None
    if deficit:
        log.info(
            "%d unstars of %s to locate",
            deficit,
            history.repo,
            extra={"repo": history.repo, "unstars": deficit, "unlocated": history.unlocated + deficit},
        )
    merged = history.model_copy(
        update={
            "starred_at": times,
            "stargazer_count": walk.count,
            "checkpoints": _merged_checkpoints(history, walk, times),
            "unlocated": history.unlocated + deficit,
            "reconcile": reconcile.revealed(history.reconcile, deficit),
        }
    )
    return trimmed(merged, since)


def _merged_checkpoints(history: StarHistory, walk: Walk, times: list[datetime]) -> list[StarCheckpoint]:
    """The walk's page ends, then the kept ones under its floor (keyset cursors stay valid),
    without those that are not needed to keep every stretch within a page."""
    floor = walk.floor
    if floor is None or walk.exhausted:
        return thinned([c for c in walk.checkpoints if c.at >= history.since], times, history.since)
    return thinned(
        [*walk.checkpoints, *(c for c in history.checkpoints if c.at < floor)], times, history.since
    )


def thinned(
    checkpoints: list[StarCheckpoint], times: list[datetime], since: datetime
) -> list[StarCheckpoint]:
    """`checkpoints` (newest first) less each one whose neighbours (the newest star above
    the first, `since` under the last) are still at most a page of `times` apart without it.
    Stars of the same second are counted on both sides, so a stretch is never taken for
    shorter than it is.

    A stretch ends at a checkpoint's own star, which the page re-reading it shows last; the
    bottom one ends at `since`, which no star marks, so it holds one star less: its page must
    show a star older than `since` (or the list's end) to prove nothing lies beyond it."""
    ascending = times[::-1]

    def stars_between(newer: datetime | None, older: datetime) -> int:
        high = len(ascending) if newer is None else bisect.bisect_right(ascending, newer) - 1
        return high - bisect.bisect_left(ascending, older)

    kept: list[StarCheckpoint] = []
    for i, checkpoint in enumerate(checkpoints):
        bottom = i + 1 == len(checkpoints)
        following = since if bottom else checkpoints[i + 1].at
        if stars_between(kept[-1].at if kept else None, following) > PAGE_SIZE - (1 if bottom else 0):
            kept.append(checkpoint)
    return kept
