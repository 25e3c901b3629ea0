"""The fake GitHub's contributions data: `User.contributionsCollection(from:, to:)`, reviews.

As on GitHub:

* a collection spans at most one year: `from` and `to` further apart are refused with
  GitHub's message; `to` defaults to now (or a year after `from`), `from` to a year before `to`;
* `pullRequestReviewContributions` lists, for every pull request the user reviewed within the
  span, their latest review in it (so a pull request reviewed in two years is listed in
  both years' collections), newest first unless `orderBy: {direction: ASC}`, paginated like
  every connection; `totalPullRequestReviewContributions` counts them;
* what the token cannot see is not there: private repositories without private access;
  a repository of an organisation enforcing SAML SSO the token is not authorised for
  answers FORBIDDEN, which nulls that contribution beside the data, as search results are.

Adapters follow `graphql_api`'s: attribute names are GraphQL field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError

from gitbrag.fakegithub.graphql_api import (
    HTML_BASE,
    GitHubGraphQLError,
    _Connection,
    _connection,
    _iso,
    _node_id,
    _PullRequestNode,
    _RepositoryNode,
    _Scope,
    _UserNode,
)
from gitbrag.fakegithub.records import FakeReview, FakeUser

ONE_YEAR_MESSAGE = "The total time spanned by 'from' and 'to' must not exceed 1 year"
MAX_REPOSITORIES = 100


def _moment(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        message = f"Argument '{name}' on Field 'contributionsCollection' has an invalid value"
        raise GraphQLError(message) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _a_year_after(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + 1, day=28)


def _a_year_before(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:
        return moment.replace(year=moment.year - 1, day=28)


def contributions_collection(
    scope: _Scope, user: FakeUser, start: object, end: object
) -> ContributionsCollection:
    """`user`'s collection for [from, to], with GitHub's defaults and its one-year limit."""
    since, until = _moment(start, "from"), _moment(end, "to")
    if until is None:
        until = min(_a_year_after(since), datetime.now(UTC)) if since else datetime.now(UTC)
    if since is None:
        since = _a_year_before(until)
    if until < since:
        raise GraphQLError("The 'to' argument must come after the 'from' argument")
    if until > _a_year_after(since):
        raise GraphQLError(ONE_YEAR_MESSAGE)
    return ContributionsCollection(scope, user, since, until)


@dataclass(frozen=True)
class _Contribution:
    review: FakeReview


class ContributionsCollection:
    graphql_type = "ContributionsCollection"

    def __init__(self, scope: _Scope, user: FakeUser, since: datetime, until: datetime) -> None:
        self._scope = scope
        self._user = user
        self.startedAt = _iso(since)
        self.endedAt = _iso(until)
        self._reviews = self._latest_per_pull(since, until)
        self.totalPullRequestReviewContributions = len(self._reviews)
        self.totalRepositoriesWithContributedPullRequestReviews = len({r.repo.lower() for r in self._reviews})
        self.hasAnyContributions = bool(self._reviews)

    def _latest_per_pull(self, since: datetime, until: datetime) -> list[FakeReview]:
        """The user's latest review of each pull request within the span, newest first; only
        reviews of pull requests that exist, in repositories the token may know of."""
        ds, access = self._scope.ds, self._scope.access
        latest: dict[tuple[str, int], FakeReview] = {}
        for review in ds.reviews_by(self._user.login):
            repo = ds.repo(review.repo)
            if not since <= review.submitted_at <= until or repo is None or not access.sees(repo):
                continue
            if ds.pull(review.repo, review.number) is None:
                continue
            key = (review.repo.lower(), review.number)
            if key not in latest or review.submitted_at >= latest[key].submitted_at:
                latest[key] = review
        return sorted(latest.values(), key=lambda r: (r.submitted_at, r.id), reverse=True)

    @property
    def contributionYears(self) -> list[int]:
        ds = self._scope.ds
        years = {r.submitted_at.year for r in ds.reviews_by(self._user.login)}
        years |= {p.created_at.year for p in ds.pulls_by(self._user.login)}
        return sorted(years, reverse=True)

    def pullRequestReviewContributions(self, _info: object, orderBy: Any = None, **page: Any) -> _Connection:
        return _contributions(self._scope, self._reviews, orderBy, page)

    def pullRequestReviewContributionsByRepository(
        self,
        _info: object,
        maxRepositories: int = 25,
    ) -> list[Any]:
        """Repositories most reviewed in first; those the token is refused (SAML) are left out,
        as one null repository would null the whole non-null list."""
        groups: dict[str, list[FakeReview]] = {}
        for review in self._reviews:
            groups.setdefault(review.repo.lower(), []).append(review)
        ranked = sorted(groups.values(), key=lambda g: (-len(g), g[0].repo.lower()))
        limit = max(0, min(maxRepositories, MAX_REPOSITORIES))
        out: list[Any] = []
        for group in ranked:
            try:
                repository = self._scope.repository(group[0].repo)
            except GitHubGraphQLError:
                continue
            out.append(_ByRepository(self._scope, repository, group))
            if len(out) == limit:
                break
        return out


def _contributions(scope: _Scope, reviews: list[FakeReview], order: Any, page: dict[str, Any]) -> _Connection:
    ascending = isinstance(order, dict) and order.get("direction") == "ASC"
    items = list(reversed(reviews)) if ascending else reviews
    return _connection("pullRequestReviewContributions", items, page, lambda r: _ReviewContribution(scope, r))


class _ByRepository:
    def __init__(self, scope: _Scope, repository: _RepositoryNode, reviews: list[FakeReview]) -> None:
        self._scope = scope
        self._reviews = reviews
        self.repository = repository

    def contributions(self, _info: object, orderBy: Any = None, **page: Any) -> _Connection:
        return _contributions(self._scope, self._reviews, orderBy, page)


class _ReviewContribution:
    graphql_type = "CreatedPullRequestReviewContribution"

    def __init__(self, scope: _Scope, review: FakeReview) -> None:
        self._scope = scope
        self._review = review
        self.isRestricted = False
        self.occurredAt = _iso(review.submitted_at)
        self.resourcePath = f"/{review.repo}/pull/{review.number}#pullrequestreview-{review.id}"
        self.url = HTML_BASE + self.resourcePath

    @property
    def repository(self) -> _RepositoryNode:
        return self._scope.repository(self._review.repo)  # NOT_FOUND / FORBIDDEN (SAML) as anywhere

    @property
    def pullRequest(self) -> _PullRequestNode:
        pull = self._scope.ds.pull(self._review.repo, self._review.number)
        assert pull is not None  # listed only when it exists
        node = self._scope.search_node(pull, starved=False)
        if isinstance(node, GitHubGraphQLError):
            raise node
        return node

    @property
    def pullRequestReview(self) -> dict[str, Any]:
        return {
            "id": _node_id("PullRequestReview", self._review.id),
            "state": self._review.state,
            "submittedAt": _iso(self._review.submitted_at),
            "url": self.url,
        }

    @property
    def user(self) -> _UserNode:
        user = self._scope.ds.user(self._review.reviewer)
        assert user is not None
        return _UserNode(self._scope, user)
