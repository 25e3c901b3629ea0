"""Exact star counts at chosen moments, found by searching GitHub's REST stargazer pages.

GitHub's REST list of a repository's stargazers (`GET /repos/{owner}/{repo}/stargazers`,
`application/vnd.github.star+json` for `starred_at`) is oldest first and addressable by
page number, so how many current stargazers starred before a moment T is a position in it:

    older(T) = 100 × (p - 1) + (stars on page p starred before T)

where p is the first page whose newest star is at or after T. The stars of a window
[since, until] are then `older(just after until) - older(since)`: current stargazers who
starred inside it, the same definition as the newest-first GraphQL walk (`stars`), for a
few requests per moment instead of a request per 100 stars. Pages are found by search
(interpolated between the star times already read, bisection every other step so that a
skewed history cannot make it linear), and every page read narrows the search for every
other moment of the same repository: the moments of one repository share their probes.
Each page is one REST request, charged to the REST budget (`core`), not GraphQL's.

What REST cannot reach is left to the walk: GitHub refuses pages past 400 (422), so a
moment whose position lies beyond 40,000 stars gets no answer. And since GitHub's
2026-06-30 changelog the list is "limited to admins and collaborators": other tokens get a
403 or an empty list. An empty first page of a repository with stars, a refusal, or pages
that disagree with the star count (stars came or went while searching) give no answer
either, never a number read from a list that was not all there.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from dataclasses import dataclass, field
from datetime import datetime

from gitbrag.github.client import GitHubClient
from gitbrag.github.errors import AuthError, GitHubError, GitHubUnavailable, NotFound, RateLimitError
from gitbrag.github.nodes import parse_time

log = logging.getLogger(__name__)

STAR_MEDIA_TYPE = "application/vnd.github.star+json"
PER_PAGE = 100
MAX_PAGE = 400  # GitHub refuses stargazer pages past 400 with 422
REACH = PER_PAGE * MAX_PAGE  # the stars REST can list: 40,000


class Unsearchable(Exception):
    """The REST list cannot answer for this repository now (restricted, or it changed)."""


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
        for moment in sorted(set(moments)):
            older = await search.older(moment)
            if older is not None:
                search.found.older[moment] = older
    except Unsearchable as exc:
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

    async def older(self, moment: datetime) -> int | None:
        """Current stargazers who starred before `moment`; None when beyond REST's reach."""
        if self.found.count == 0:
            return 0
        low, high = self._bounds(moment)
        bisecting = False
        while low < high:
            probe = (low + high) // 2 if bisecting else self._guess(low, high, moment)
            await self._read(probe)
            low, high = self._bounds(moment)
            bisecting = not bisecting
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
        return low, high

    def _guess(self, low: int, high: int, moment: datetime) -> int:
        """A page between `low` and `high - 1`, placed by the star times read around them
        (stars arrive unevenly, but seldom so unevenly that this is worse than halving)."""
        before, after = self.found.pages.get(low - 1), self.found.pages.get(high)
        if after is None and high == self.last + 1 and self.complete and self.newest is not None:
            after = [self.newest]  # the list's end: just past the newest star
        if before is None or after is None or after[0] <= before[-1]:
            return (low + high) // 2
        share = (moment - before[-1]) / (after[0] - before[-1])
        return min(high - 1, max(low, low + int(share * (high - low))))

    async def _read(self, page: int) -> list[datetime]:
        """Page `page` of the list (oldest first), checked against the star count."""
        known = self.found.pages.get(page)
        if known is not None:
            return known
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
            raise Unsearchable(str(exc)) from exc
        finally:
            self.found.requests += 1
        times = _times(answer.json)
        expected = (
            PER_PAGE if page < self.last or not self.complete else self.found.count - PER_PAGE * (page - 1)
        )
        if len(times) != expected:
            raise Unsearchable(f"page {page} listed {len(times)} stars where the count implies {expected}")
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
