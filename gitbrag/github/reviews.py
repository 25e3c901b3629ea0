"""Reviews: the pull requests a user reviewed, from GitHub's contributions data.

`User.contributionsCollection(from:, to:)` spans at most a year, and lists each pull request
the user reviewed in it once, with their latest review (`pullRequestReviewContributions`).
So a collection asks spans (calendar years, or quarters), all of them aliased in one query:
a connection each, a hundred reviews a page; a span with more than a hundred reviews
continues with a query of just those spans (`queries.reviews_query`; every quarter since 2008
alone costs 1 point). Quarters keep an incremental refresh's ride-along to one page for a
busy reviewer.

What a refresh asks:

* a full collection: every review since GitHub began, in 46 spans (`first_spans`: quarters
  for recent years, years before), riding along with the search's first page
  (`RideAlong.everything`): 46 connections more in a query of 101 still cost its one point,
  where a query of its own would cost another;
* an incremental one: only the quarters since the kept reviews were read (the current one;
  the previous one too after a quarter's end), riding along with the search's first page
  (`queries.profile_pull_requests_and_reviews`): no extra point, no extra round trip.
  Older quarters do not change (a review is never back-dated), so they are kept.

GitHub's data has one review per pull request and span (the latest), so a pull request
reviewed twice in a quarter counts where its latest review in that quarter is.

A review in a repository GitHub hides from the token (SAML single sign-on) comes back null
and is not counted; one in a private repository is dropped unless `GITBRAG_PRIVATE` keeps
private work. When GitHub cannot answer (timeouts even one year at a time, errors), the
reviews are "not known" (None) rather than a wrong count, and the refresh goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gitbrag.github import queries
from gitbrag.github.client import GitHubClient
from gitbrag.github.errors import GitHubError, QueryTimeout
from gitbrag.github.nodes import Node, iso, parse_time
from gitbrag.models import Collection, PrivateMode, ReviewContribution
from gitbrag.periods import GITHUB_EPOCH

log = logging.getLogger(__name__)

# A review written just before the last read may reach GitHub's contributions data late.
REVIEWS_MARGIN = timedelta(hours=1)
ONE_SECOND = timedelta(seconds=1)
# Nodes one reviews query may ask for (76 quarters since 2008: 7,600): GitHub's limit is
# 500,000, but heavy queries time out, so a user whose search pages had to shrink gets
# reviews queries no bigger than the search page GitHub answered (`collect`'s `max_nodes`).
MAX_NODES = 10_000


@dataclass(frozen=True)
class Span:
    """One contributionsCollection: [since, until], both included, within one calendar quarter."""

    since: datetime
    until: datetime
    after: str | None = None  # the next page's cursor


def quarter_spans(first: datetime, now: datetime) -> list[Span]:
    """The calendar quarters from `first`'s to `now`'s, the last one ending now."""
    spans = []
    start = _quarter_start(max(first, GITHUB_EPOCH))
    while start <= now:
        end = _quarter_start(start + timedelta(days=93))
        spans.append(Span(start, min(end - ONE_SECOND, now)))
        start = end
    return spans


# Spans a first collection's reviews may take while riding along with the search's first page
# for free: 101 connections (a hundred PRs and their files) and 46 more make 147 requests,
# still 1 point (GitHub rounds requests / 100 to the nearest point).
RIDE_ALONG_SPANS = 46


def first_spans(now: datetime) -> list[Span]:
    """Every review since GitHub began in at most `RIDE_ALONG_SPANS` spans: calendar quarters
    for as many recent years as fit (2018-2026 in 2026), calendar years before. A pull request
    reviewed twice in a span is listed once, at its latest review, so only a window that ends
    inside a span can miss it (a previous period, a half, a range): quarters keep that exact
    for the windows reports show, back to the five years before the last five."""
    years = now.year - GITHUB_EPOCH.year + 1
    recent = min(years, (RIDE_ALONG_SPANS - years) // 3)  # a year of quarters is 3 spans more
    split = datetime(now.year - recent + 1, 1, 1, tzinfo=UTC)
    return year_spans(GITHUB_EPOCH, split - ONE_SECOND) + quarter_spans(split, now)


def year_spans(first: datetime, now: datetime) -> list[Span]:
    """The calendar years from `first`'s to `now`'s, the last one ending now."""
    return [
        Span(datetime(year, 1, 1, tzinfo=UTC), min(datetime(year + 1, 1, 1, tzinfo=UTC) - ONE_SECOND, now))
        for year in range(max(first, GITHUB_EPOCH).year, now.year + 1)
    ]


def _quarter_start(moment: datetime) -> datetime:
    return datetime(moment.year, (moment.month - 1) // 3 * 3 + 1, 1, tzinfo=UTC)


def variables(spans: list[Span]) -> dict[str, Any]:
    """The variables of `spans` as `reviews{i}` of a reviews query or ride-along."""
    out: dict[str, Any] = {}
    for i, span in enumerate(spans):
        out |= {f"from{i}": iso(span.since), f"to{i}": iso(span.until), f"after{i}": span.after}
    return out


@dataclass
class _Pages:
    """What the spans' pages gave so far, and the spans that have more."""

    found: list[ReviewContribution]
    more: list[Span]


class ReviewsUnavailable(GitHubError):
    """GitHub answered, but not the reviews (cut short, or too slow even one year at a time)."""


def read_spans(user: Node | None, spans: list[Span]) -> _Pages | None:
    """The reviews in a `user` node holding `reviews{i}` for each of `spans`; None when one
    is missing (GitHub cut it short): its reviews are then not known. No user at all (an
    unknown login) has none: the pull request search says it is unknown."""
    pages = _Pages([], [])
    if user is None:
        return pages
    for i, span in enumerate(spans):
        collection = (user or {}).get(f"reviews{i}")
        connection = (collection or {}).get("pullRequestReviewContributions")
        if connection is None:
            return None
        pages.found += [_contribution(node) for node in connection.get("nodes") or [] if _usable(node)]
        info = connection.get("pageInfo") or {}
        if info.get("hasNextPage"):
            pages.more.append(Span(span.since, span.until, info.get("endCursor")))
    return pages


def _usable(node: Node | None) -> bool:
    """A contribution with its pull request and repository (GitHub nulls hidden ones)."""
    return bool(node and node.get("pullRequest") and node.get("repository"))


def _contribution(node: Node) -> ReviewContribution:
    repository = node["repository"]
    return ReviewContribution(
        repo=repository["nameWithOwner"],
        number=node["pullRequest"]["number"],
        occurred_at=parse_time(node["occurredAt"]),
        private=bool(repository.get("isPrivate")),
    )


async def fetch(
    client: GitHubClient, login: str, spans: list[Span], max_nodes: int = MAX_NODES
) -> list[ReviewContribution]:
    """Every page of `spans`: one query for all of them (queries of at most `max_nodes` nodes,
    a hundred a span), then one per round for those with more. Raises `ReviewsUnavailable`
    when GitHub cannot answer them, even one span at a time (and the client's errors, as any
    query)."""
    per_query = max(1, max_nodes // queries.PAGE_SIZE)
    found: list[ReviewContribution] = []
    while spans:
        batches = [spans[i : i + per_query] for i in range(0, len(spans), per_query)]
        answers = await asyncio.gather(*(_ask(client, login, batch) for batch in batches))
        found += [r for pages in answers for r in pages.found]
        spans = [span for pages in answers for span in pages.more]
    return found


async def _ask(client: GitHubClient, login: str, spans: list[Span]) -> _Pages:
    try:
        answer = await client.graphql_partial(
            queries.reviews_query(len(spans)),
            {"login": login} | variables(spans),
            allow_not_found=True,
            can_shrink=len(spans) > 1,
        )
    except QueryTimeout:  # too slow for GitHub: half the years at a time
        if len(spans) == 1:
            raise ReviewsUnavailable(f"GitHub timed out reading a year of {login}'s reviews") from None
        return await _halves(client, login, spans)
    pages = None if answer.limited else read_spans(answer.data.get("user"), spans)
    if pages is None:
        if len(spans) == 1:
            raise ReviewsUnavailable(f"GitHub cut the reviews of {login} short")
        return await _halves(client, login, spans)
    return pages


async def _halves(client: GitHubClient, login: str, spans: list[Span]) -> _Pages:
    middle = len(spans) // 2
    halves = await asyncio.gather(_ask(client, login, spans[:middle]), _ask(client, login, spans[middle:]))
    return _Pages(halves[0].found + halves[1].found, halves[0].more + halves[1].more)


def _kept(private: PrivateMode, reviews: Iterable[ReviewContribution]) -> list[ReviewContribution]:
    """Private repositories' reviews are not kept when private work is left out (`off`)."""
    if private == "off":
        return [r for r in reviews if not r.private]
    return list(reviews)


def kept(private: PrivateMode, reviews: Iterable[ReviewContribution]) -> list[ReviewContribution]:
    """What a collection keeps of the reviews read: those `private` allows, each once, in order."""
    return _ordered(_kept(private, reviews))


def _ordered(reviews: Iterable[ReviewContribution]) -> list[ReviewContribution]:
    unique = {(r.repo.lower(), r.number, r.occurred_at): r for r in reviews}
    return sorted(unique.values(), key=lambda r: (r.occurred_at, r.repo.lower(), r.number))


async def collect(
    client: GitHubClient, login: str, now: datetime, private: PrivateMode, *, max_nodes: int = MAX_NODES
) -> list[ReviewContribution] | None:
    """Every quarter's reviews (a full collection), in queries of at most `max_nodes` nodes
    (what GitHub answered the user's search at, when it had to shrink it); None, logged,
    when GitHub cannot tell them."""
    try:
        spans = first_spans(now)
        return kept(private, await fetch(client, login, spans, max_nodes))
    except ReviewsUnavailable as exc:
        log.warning("reviews not known: %s", exc, extra={"user": login})
        return None


# --- incremental -------------------------------------------------------------------------


@dataclass(frozen=True)
class RideAlong:
    """The recent spans an incremental refresh re-reads with its search's first page."""

    spans: list[Span]

    @classmethod
    def everything(cls, now: datetime) -> RideAlong:
        """A full collection's: every review since GitHub began (`first_spans`), which with the
        first search page's 101 connections still costs that page's one point."""
        return cls(first_spans(now))

    @classmethod
    def for_previous(cls, previous: Collection, now: datetime) -> RideAlong | None:
        """From the quarter the kept reviews were read in (less a margin) to now; None when the
        collection has none kept (read them all, in their own query)."""
        if previous.reviews is None or previous.reviews_collected_at is None:
            return None
        return cls(quarter_spans(previous.reviews_collected_at - REVIEWS_MARGIN, now))

    @property
    def since(self) -> datetime:
        return self.spans[0].since

    def search_fields(self) -> tuple[str, dict[str, Any]]:
        """The document and variables `pulls.PullRequestSearch.ride_along` takes."""
        return queries.profile_pull_requests_and_reviews(len(self.spans)), variables(self.spans)

    async def merge(
        self, client: GitHubClient, previous: Collection, user: Node | None, private: PrivateMode
    ) -> list[ReviewContribution] | None:
        """The kept reviews older than the re-read spans, and the spans'; None when GitHub
        could not tell the spans' reviews."""
        fresh = await self.read(client, previous.login, user)
        if fresh is None:
            return None
        older = [r for r in previous.reviews or () if r.occurred_at < self.since]
        return kept(private, [*older, *fresh])

    async def read(
        self, client: GitHubClient, login: str, user: Node | None, max_nodes: int = MAX_NODES
    ) -> list[ReviewContribution] | None:
        """The spans' reviews: from the first page's `user`, continued where they have more
        pages, asked again on their own when GitHub cut the ride-along short; None, logged,
        when GitHub cannot tell them."""
        pages = read_spans(user, self.spans)
        try:
            if pages is None:
                return await fetch(client, login, self.spans, max_nodes)
            return pages.found + (await fetch(client, login, pages.more, max_nodes) if pages.more else [])
        except ReviewsUnavailable as exc:
            log.warning("reviews not known: %s", exc, extra={"user": login})
            return None
