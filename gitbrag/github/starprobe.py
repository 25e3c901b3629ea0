"""Exact star counts at chosen moments, found by searching GitHub's REST stargazer pages.

GitHub's REST list of a repository's stargazers (`GET /repos/{owner}/{repo}/stargazers`,
`application/vnd.github.star+json` for `starred_at`) is oldest first and addressable by
page number, so how many current stargazers starred before a moment T is a position in it:

    older(T) = 100 × (p - 1) + (stars on page p starred before T)

where p is the first page whose newest star is at or after T. The stars of a window
[since, until] are then `older(just after until) - older(since)`: current stargazers who
starred inside it, the same definition as the newest-first GraphQL walk (`stars`), for a
few requests per moment instead of a request per 100 stars. Pages are found by search:
the list's last page first, then the moments newest first, each page guessed from the star
times read around it (interpolated between them, or, with nothing read below, extrapolated
at the rate stars arrived just above), a halving after any guess that did not halve the
pages left, so that a skewed history cannot make it linear. Every page read narrows the
search for every other moment of the same repository: the moments share their probes.
Each page is one REST request, charged to the REST budget (`core`), not GraphQL's.

What REST cannot reach is left to the walk: GitHub refuses pages past 400 (422), so a
moment whose position lies beyond 40,000 stars gets no answer. And since GitHub's
2026-06-30 changelog the list is "limited to admins and collaborators": other tokens get a
403 or an empty list. An empty first page of a repository with stars, a refusal, or pages
that disagree with the star count (stars came or went while searching) give no answer
either, never a number read from a list that was not all there. A restriction is remembered
per repository for as long as the client lives (a pass, or a service's life): asked once.

How a search is kept (`counted_histories`, `topped_up`). A walk keeps star times; a search
gives counts at moments. A counted history is a `StarHistory` whose `since` is the moment it
was counted (`starred_at` empty: no star is newer), with a `StarCount` at every star time of
the pages the search read (about one page per window boundary, and the list's last): the
current stargazers who starred between that star and `since`, `older(since) - position`.
Counts from pages read side by side are `dense` (no star between them), so a moment anywhere
inside such a run of pages has a count too, not only the boundary that was searched. A
report counts a window's stars from there plus every star of `starred_at` (`report.build`,
`StarHistory.counted_from`), so

* the upkeep of walked histories applies unchanged: `extend` walks the stars newer than the
  newest kept (one page, batched), and the count check squares `stargazerCount` against
  `starred_at` as for any history; the counts below `since` cannot grow (a star given later
  is newer than `since`), and unstars the check reveals are `unlocated`, the uncertainty a
  report states, as for walked stars under a walk's floor;
* where unstars are unlocated, a counted history is counted again (a request or so per
  boundary), not re-read page by page: the counts are only right for the list they were
  read from; the re-count must find as many stars at or after `since` as `starred_at` holds;
* boundaries move (a rolling year starts a day later each day; a running year is compared
  with the same days of the last): a moved boundary usually still lies in the page read
  around it (a page of a 3,000-star repository spans weeks), so an unchanged refresh asks
  nothing; one that left it is searched (`topped_up`), and the pages no boundary of the
  refresh needs are let go (a history would otherwise gather pages every day). A moment no
  count reaches is never interpolated: its window is "still being counted" on a page.

Star times would answer every later boundary for free, but a list of them is what the walk
costs; pages around the boundaries are what the search reads anyway, for a few requests
each. Any search that fails (restricted, past 40,000, inconsistent pages, REST running low)
leaves the repository to the walk, whose history then replaces the counted one for good.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from gitbrag.github.client import GitHubClient
from gitbrag.github.errors import AuthError, GitHubError, GitHubUnavailable, NotFound, RateLimitError
from gitbrag.github.nodes import parse_time
from gitbrag.models import StarCount, StarHistory

log = logging.getLogger(__name__)

STAR_MEDIA_TYPE = "application/vnd.github.star+json"
PER_PAGE = 100
MAX_PAGE = 400  # GitHub refuses stargazer pages past 400 with 422
REACH = PER_PAGE * MAX_PAGE  # the stars REST can list: 40,000
# Fewer stars are walked: a walk of at most ten pages shares each query with the other
# repositories' walks (a round of up to 100 pages costs a point), where a search costs a
# request per boundary for each repository on its own.
COUNTED_ABOVE = 10 * PER_PAGE
# REST requests left (as GitHub last said) under which nothing more is counted: the walk
# takes over rather than the refresh resting until REST's hour ends (a workflow token has
# 1,000 requests an hour; the other REST calls of a pass need some).
REST_RESERVE = 200


class Unsearchable(Exception):
    """The REST list cannot answer for this repository now (restricted, or it changed)."""

    def __init__(self, why: str, *, restricted: bool = False) -> None:
        super().__init__(why)
        self.restricted = restricted  # refused to this token: not asked again (`restricted`)


# Per client (a token pool: a process's), the repositories whose list was refused to it.
_RESTRICTED: weakref.WeakKeyDictionary[GitHubClient, set[str]] = weakref.WeakKeyDictionary()


def restricted(client: GitHubClient) -> set[str]:
    """The repositories (lower-cased) whose REST stargazer list `client` was refused."""
    return _RESTRICTED.setdefault(client, set())


@dataclass
class StarPositions:
    """What one repository's search found: for each moment asked, how many current
    stargazers starred before it, and the pages read (oldest first, by page number), which
    a later search of the same list may start from."""

    repo: str
    count: int  # the stargazer count the pages were read against
    older: dict[datetime, int] = field(default_factory=dict)
    pages: dict[int, list[datetime]] = field(default_factory=dict)
    requests: int = 0

    def since(self, moment: datetime) -> int | None:
        """Current stargazers who starred at or after `moment` (None: not found)."""
        older = self.older.get(moment)
        return None if older is None else self.count - older


async def star_positions(
    client: GitHubClient,
    counts: dict[str, int],
    moments: list[datetime],
    newest: dict[str, datetime] | None = None,
) -> dict[str, StarPositions]:
    """`moments` located in each repository's REST list (`counts`: repository -> its
    stargazer count), the repositories searched side by side. A repository left out, or a
    moment missing from its `older`, is one REST could not answer: walk it instead.

    `newest` (repository -> its newest star's time, which the GraphQL page that reads the
    count shows too) only guides the first guesses; the answers never depend on it."""
    names = list(counts)
    tops = newest or {}
    found = await asyncio.gather(
        *(_one(client, repo, counts[repo], moments, tops.get(repo)) for repo in names)
    )
    return {repo: positions for repo, positions in zip(names, found, strict=True) if positions is not None}


async def _one(
    client: GitHubClient, repo: str, count: int, moments: list[datetime], newest: datetime | None
) -> StarPositions | None:
    search = _Search(client, repo, count, newest)
    try:
        if newest is None and search.complete and count:
            # The newest stars first: they bound every guess from above with real times, and
            # answer at once every moment newer than them ("now", for a counted history).
            await search.read_last()
        for moment in sorted(set(moments), reverse=True):  # newest first, from the list's end
            older = await search.older(moment)
            if older is not None:
                search.found.older[moment] = older
    except Unsearchable as exc:
        if exc.restricted:
            restricted(client).add(repo.lower())
        log.info(
            "stars of %s not searchable by REST (%s); walking them instead",
            repo,
            exc,
            extra={"repo": repo, "rest_requests": search.found.requests},
        )
        return None
    return search.found


class _Search:
    """One repository's pages, read as the moments need them."""

    def __init__(self, client: GitHubClient, repo: str, count: int, newest: datetime | None) -> None:
        self.client = client
        self.newest = newest
        self.found = StarPositions(repo=repo, count=count)
        self.last = min(-(-count // PER_PAGE), MAX_PAGE)  # the last page REST serves
        self.complete = count <= REACH  # the last page served is the list's end

    async def read_last(self) -> None:
        await self._read(self.last)

    async def older(self, moment: datetime) -> int | None:
        """Current stargazers who starred before `moment`; None when beyond REST's reach."""
        if self.found.count == 0:
            return 0
        low, high = self._bounds(moment)
        bisecting = False
        while low < high:
            probe = (low + high) // 2 if bisecting else self._guess(low, high, moment)
            await self._read(probe)
            before, (low, high) = high - low, self._bounds(moment)
            # A guess that did not halve the pages left is followed by a halving, so that a
            # skewed history cannot make the search linear.
            bisecting = not bisecting and 2 * (high - low) > before
        if low > self.last:  # every page REST serves is older than `moment`
            return self.found.count if self.complete else None
        times = await self._read(low)
        return PER_PAGE * (low - 1) + bisect.bisect_left(times, moment)

    def _bounds(self, moment: datetime) -> tuple[int, int]:
        """The pages the first one ending at or after `moment` must lie between (inclusive;
        `last + 1`: none does), from the pages read so far."""
        low, high = 1, self.last + 1
        for page, times in self.found.pages.items():
            if times[-1] < moment:
                low = max(low, page + 1)
            else:
                high = min(high, page)
                if times[0] < moment:  # the page before ends no later than this one starts
                    low = max(low, page)
        return low, high

    def _guess(self, low: int, high: int, moment: datetime) -> int:
        """A page between `low` and `high - 1`, placed by the star times read around them
        (stars arrive unevenly, but seldom so unevenly that this is worse than halving)."""
        before, after = self.found.pages.get(low - 1), self.found.pages.get(high)
        if after is None and high == self.last + 1 and self.complete and self.newest is not None:
            after = [self.newest]  # the list's end: just past the newest star
        if before is None and high in self.found.pages:
            after = self.found.pages[high]
            rate = self._rate_above(high)
            if rate is not None:
                # Nothing read below: as many pages back as stars arriving at the rate they
                # did just above would take to reach back to `moment`.
                pages_back = (after[0] - moment).total_seconds() * rate
                return min(high - 1, max(low, high - 1 - int(pages_back)))
        if before is None or after is None or after[0] <= before[-1]:
            return (low + high) // 2
        share = (moment - before[-1]) / (after[0] - before[-1])
        return min(high - 1, max(low, low + int(share * (high - low))))

    def _rate_above(self, page: int) -> float | None:
        """Pages a second, from `page`'s first star to the first of the next page read above
        it (or to its own last star): how fast stars arrived just above `page`."""
        times = self.found.pages[page]
        above = [p for p in self.found.pages if p > page]
        if above:
            nearest = min(above)
            seconds = (self.found.pages[nearest][0] - times[0]).total_seconds()
            return (nearest - page) / seconds if seconds > 0 else None
        seconds = (times[-1] - times[0]).total_seconds()
        return len(times) / PER_PAGE / seconds if seconds > 0 and len(times) > 1 else None

    async def _read(self, page: int) -> list[datetime]:
        """Page `page` of the list (oldest first), checked against the star count."""
        known = self.found.pages.get(page)
        if known is not None:
            return known
        if not _rest_to_spare(self.client):
            raise Unsearchable(f"fewer than {REST_RESERVE} REST requests left this hour")
        owner, name = self.found.repo.split("/", 1)
        try:
            answer = await self.client.rest_get(
                f"/repos/{owner}/{name}/stargazers",
                {"per_page": PER_PAGE, "page": page},
                accept=STAR_MEDIA_TYPE,
            )
        except (AuthError, RateLimitError, GitHubUnavailable):
            raise  # the token's or GitHub's trouble, not this list's: the refresh's to handle
        except NotFound as exc:
            raise Unsearchable("the repository is gone") from exc
        except GitHubError as exc:  # 403 to who is not a collaborator, 422 past page 400
            raise Unsearchable(str(exc), restricted="HTTP 403" in str(exc)) from exc
        finally:
            self.found.requests += 1
        times = _times(answer.json)
        expected = (
            PER_PAGE if page < self.last or not self.complete else self.found.count - PER_PAGE * (page - 1)
        )
        if len(times) != expected:
            raise Unsearchable(
                f"page {page} listed {len(times)} stars where the count implies {expected}",
                restricted=not times,  # GitHub's other answer to who may not list them: nothing
            )
        self.found.pages[page] = times
        return times


def _times(body: object) -> list[datetime]:
    """The `starred_at` of a page, oldest first as GitHub lists them."""
    if not isinstance(body, list):
        raise Unsearchable("a stargazer page was not a list")
    try:
        times = [parse_time(item["starred_at"]) for item in body]
    except (KeyError, TypeError, ValueError) as exc:
        raise Unsearchable("a stargazer page without starred_at (media type not honoured)") from exc
    if times != sorted(times):
        raise Unsearchable("a stargazer page not oldest first")
    return times


# --- counted histories ---------------------------------------------------------------------


@dataclass(frozen=True)
class Counting:
    """What a collection at `now` lets the search count: the window boundaries its reports
    need (`report.build.star_moments`) and each repository's stargazer count, as the pull
    request search read it (a repository without one is walked)."""

    moments: list[datetime]
    counts: dict[str, int]
    now: datetime

    async def histories(self, client: GitHubClient, repos: list[str]) -> dict[str, StarHistory]:
        """Counted histories of those of `repos` the search can count (`counted_histories`)."""
        counts = {repo: self.counts[repo] for repo in repos if repo in self.counts}
        return await counted_histories(client, counts, self.moments, self.now)


def searchable(client: GitHubClient, repo: str, count: int) -> bool:
    """Whether counting `repo`'s boundaries by search is worth it and may work: more stars
    than `COUNTED_ABOVE`, all of them within REST's reach, not refused to this client
    before, and REST requests to spare (`REST_RESERVE`)."""
    within = COUNTED_ABOVE < count <= REACH
    return within and repo.lower() not in restricted(client) and _rest_to_spare(client)


def _rest_to_spare(client: GitHubClient) -> bool:
    left = [remaining for _, resource, remaining in client.rate_limits() if resource == "core"]
    return not left or sum(left) > REST_RESERVE


async def counted_histories(
    client: GitHubClient, counts: dict[str, int], moments: list[datetime], now: datetime
) -> dict[str, StarHistory]:
    """Counted histories (as of `now`) of the repositories of `counts` (repository -> its
    stargazer count) that the search can count: each boundary of `moments` older than `now`
    counted. Left out: those it cannot, to be walked."""
    asked = {repo: count for repo, count in counts.items() if searchable(client, repo, count)}
    return await _counted(client, asked, moments, now, {})


async def topped_up(
    client: GitHubClient, histories: dict[str, StarHistory], moments: list[datetime]
) -> dict[str, StarHistory]:
    """Counted histories that answer every boundary of `moments` older than their `since`:
    those their counts do not reach (a rolling year starts a day later each day, and leaves
    the page read around it every few days) counted at their current stargazer count, and
    only the counts that answer one of `moments` kept (a history would otherwise gather
    pages every day). One with unstars not located is counted anew. Left out: those the
    search could not count, to be walked."""
    done: dict[str, StarHistory] = {}
    for since, group in _by_since(histories).items():
        wanted = [m for m in moments if m < since]
        asked: dict[str, int] = {}
        for repo, history in group.items():
            if not history.unlocated and all(history.counted_from(m) is not None for m in wanted):
                done[repo] = _pruned(history, wanted)
            elif history.stargazer_count is not None and searchable(client, repo, history.stargazer_count):
                asked[repo] = history.stargazer_count
        done |= await _counted(client, asked, moments, since, group)
    return done


def _by_since(histories: dict[str, StarHistory]) -> dict[datetime, dict[str, StarHistory]]:
    groups: dict[datetime, dict[str, StarHistory]] = {}
    for repo, history in histories.items():
        groups.setdefault(history.since, {})[repo] = history
    return groups


def _pruned(history: StarHistory, moments: list[datetime]) -> StarHistory:
    """`history` with only the runs of counts (pages read side by side) that answer one of
    `moments`, or end at its `since` (they answer the end of a refresh of the same pass made
    a moment earlier). A run starts with a count that is not `dense`, so what is left stays
    true."""
    moments = [*moments, history.since]
    runs: list[list[StarCount]] = []
    for count in history.counted:
        if count.dense and runs:
            runs[-1].append(count)
        else:
            runs.append([count])
    kept: list[StarCount] = []
    for run in runs:
        low = run[0].at if not run[0].dense else None  # a dense head: the list's start
        if any((low is None or low <= m) and m <= run[-1].at for m in moments):
            kept += run
    return history if kept == history.counted else history.model_copy(update={"counted": kept})


async def _counted(
    client: GitHubClient,
    counts: dict[str, int],
    moments: list[datetime],
    since: datetime,
    kept: dict[str, StarHistory],
) -> dict[str, StarHistory]:
    """Each repository's boundaries of `moments` before `since` searched, and `since` itself,
    all at one count, and the counts at every star time of the pages read kept: the stars
    between one and `since` are `older(since) - older(star)`. A kept history keeps its star
    times (those at or after `since`, which must be as many as the search finds there) and,
    without unstars to locate, the counts it had (they cannot have changed)."""
    wanted = sorted({m for m in moments if m < since} | {since})
    found = await star_positions(client, counts, wanted) if counts else {}
    histories: dict[str, StarHistory] = {}
    for repo, positions in found.items():
        older = positions.older
        history = kept.get(repo) or StarHistory(repo=repo, since=since, stargazer_count=positions.count)
        if since not in older or len(history.starred_at) != positions.count - older[since]:
            log.info(
                "stars of %s past REST's reach or changed while counted; walking them instead",
                repo,
                extra={"repo": repo, "rest_requests": positions.requests},
            )
            continue
        fresh = _page_counts(positions, since, older[since])
        merged = {c.at: c for c in ([] if history.unlocated else history.counted)} | {c.at: c for c in fresh}
        counted = history.model_copy(
            update={"counted": sorted(merged.values(), key=lambda c: c.at), "unlocated": 0, "reconcile": None}
        )
        if any(counted.counted_from(m) is None for m in wanted if m < since):
            continue  # a boundary no page read answers (past REST's reach): walked
        histories[repo] = _pruned(counted, wanted)
        log.info(
            "stars of %s counted at %d boundaries for %d REST requests",
            repo,
            len(wanted) - 1,
            positions.requests,
            extra={"repo": repo, "boundaries": len(wanted) - 1, "rest_requests": positions.requests},
        )
    return histories


def _page_counts(positions: StarPositions, since: datetime, older_since: int) -> list[StarCount]:
    """A count at each distinct star time (before `since`) of the pages read, oldest first,
    and at `since` (0) when the stars just before it were read. A star time that a page
    starts with is left out unless the page before was read too and ends earlier (its
    equals may lie on that page: its position is then unknown). `dense` where the count
    before is the star just before (or there is none: the list's first)."""
    counts: list[StarCount] = []
    last_page, last_time = 0, None
    last_of_list = -(-positions.count // PER_PAGE)
    for page in sorted(positions.pages):
        times = positions.pages[page]
        contiguous = page == last_page + 1  # page 1 follows the list's start
        for k, at in enumerate(times):
            if k and times[k - 1] == at:
                continue
            before = times[k - 1] if k else (last_time if contiguous else None)
            if at >= since:
                if before is not None:
                    counts.append(_at_since(since, counts, before))
                return counts
            if k == 0 and page > 1 and not (contiguous and last_time is not None and last_time < at):
                continue
            start = page == 1 and k == 0
            dense = start or (before is not None and bool(counts) and counts[-1].at == before)
            counts.append(StarCount(at=at, stars=older_since - (PER_PAGE * (page - 1) + k), dense=dense))
        last_page, last_time = page, times[-1]
    if last_page == last_of_list and last_time is not None and last_time < since:
        counts.append(_at_since(since, counts, last_time))
    return counts


def _at_since(since: datetime, counts: list[StarCount], before: datetime) -> StarCount:
    """The count at `since` (0), `before` being the last star before it."""
    return StarCount(at=since, stars=0, dense=bool(counts) and counts[-1].at == before)
