"""Reviews given: GitHub's contributions data, as the fake serves it and gitbrag reads it.

The fake keeps GitHub's rules (a collection spans at most a year; a pull request is listed
once per collection with the user's latest review in it; private repositories unseen without
access; SAML-protected ones nulled with FORBIDDEN), gitbrag reads every quarter since 2008
in one query (1 point) and, on an incremental refresh, the current quarter riding along with
its search (no point), and reports count distinct pull requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType

from gitbrag.fakegithub.access import Access
from gitbrag.fakegithub.budget import RateSnapshot
from gitbrag.fakegithub.dataset import PRIVATE_ORG, SAML_ORG, build_dataset
from gitbrag.fakegithub.graphql_api import ExecutionOptions, execute_graphql, prepare_graphql
from gitbrag.fakegithub.records import Dataset, FakePull, FakeReview
from gitbrag.fakegithub.server import FakeGitHubServer
from gitbrag.github import GitHubClient, collect_user, queries, reviews
from gitbrag.github.errors import QueryTimeout
from gitbrag.models import Collection, Profile, ReviewContribution
from gitbrag.report.build import build_report, report_periods
from tests.report.test_report import collection
from tests.test_expected_reports import contributions

NOW = datetime.now(UTC).replace(microsecond=0)
QUERY = """query($login: String!, $from: DateTime, $to: DateTime) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      startedAt endedAt totalPullRequestReviewContributions
      pullRequestReviewContributions(first: 100) {
        totalCount
        nodes { occurredAt pullRequest { number } repository { nameWithOwner isPrivate } }
      }
    }
  }
}"""


def charge(cost: int) -> RateSnapshot:
    return RateSnapshot("graphql", 5000, 5000 - cost, cost, NOW + timedelta(hours=1), cost)


def ask(ds: Dataset, variables: dict[str, Any], access: Access | None = None) -> dict[str, Any]:
    options = ExecutionOptions(access=access or Access(private=True, saml_authorized=True))
    status, body = execute_graphql(ds, {"query": QUERY, "variables": variables}, charge, options)
    assert status == 200
    return body


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def pull_of(ds: Dataset, owner: str, author: str | None = None) -> FakePull:
    """A pull request in a repository of `owner` (by `author`, when given)."""
    return next(p for p in ds.pulls if p.repo.split("/")[0] == owner and author in (None, p.author))


def review(ds: Dataset, pull: FakePull, at: datetime, reviewer: str = "zero-zoe") -> FakeReview:
    made = FakeReview(99_000_000 + len(ds.reviews), pull.repo, pull.number, reviewer, "APPROVED", at)
    ds.reviews.append(made)
    return made


@pytest.fixture
def ds() -> Dataset:
    return build_dataset()


# --- the fake, as GitHub --------------------------------------------------------------------


def test_a_collection_spans_at_most_a_year_with_githubs_message(ds: Dataset) -> None:
    year = {"login": "Mona-Lisa", "from": "2024-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}
    assert "errors" not in ask(ds, year)
    body = ask(ds, year | {"to": "2025-01-01T00:00:01Z"})
    assert [e["message"] for e in body["errors"]] == [
        "The total time spanned by 'from' and 'to' must not exceed 1 year"
    ]
    defaults = ask(ds, {"login": "Mona-Lisa"})["data"]["user"]["contributionsCollection"]
    started, ended = (
        datetime.fromisoformat(defaults[k].replace("Z", "+00:00")) for k in ("startedAt", "endedAt")
    )
    assert timedelta(days=364) < ended - started <= timedelta(days=366)  # a year back from now


def test_a_pull_request_is_listed_once_per_collection_with_its_latest_review(ds: Dataset) -> None:
    pull = pull_of(ds, "octo-org", "Mona-Lisa")
    for at in (
        datetime(2024, 2, 1, tzinfo=UTC),
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 5, 1, tzinfo=UTC),
    ):
        review(ds, pull, at)
    q1 = ask(ds, {"login": "zero-zoe", "from": "2024-01-01T00:00:00Z", "to": "2024-03-31T23:59:59Z"})
    nodes = q1["data"]["user"]["contributionsCollection"]["pullRequestReviewContributions"]["nodes"]
    assert [(n["occurredAt"], n["pullRequest"]["number"]) for n in nodes] == [
        ("2024-03-01T00:00:00Z", pull.number)
    ]
    year = ask(ds, {"login": "zero-zoe", "from": "2024-01-01T00:00:00Z", "to": "2024-12-31T23:59:59Z"})
    collection = year["data"]["user"]["contributionsCollection"]
    assert collection["totalPullRequestReviewContributions"] == 1
    assert collection["pullRequestReviewContributions"]["nodes"][0]["occurredAt"] == "2024-05-01T00:00:00Z"


def test_private_reviews_need_access_and_saml_ones_are_nulled_with_forbidden(ds: Dataset) -> None:
    secret, saml = pull_of(ds, PRIVATE_ORG), pull_of(ds, SAML_ORG)
    review(ds, secret, NOW - timedelta(days=2))
    review(ds, saml, NOW - timedelta(days=1))
    public_only = ask(ds, {"login": "zero-zoe"}, Access(private=False, saml_authorized=False))
    connection = public_only["data"]["user"]["contributionsCollection"]["pullRequestReviewContributions"]
    assert connection["nodes"] == [None]  # the SAML one; the private one does not exist for this token
    assert [e["type"] for e in public_only["errors"]] == ["FORBIDDEN"]
    everything = ask(ds, {"login": "zero-zoe"})["data"]["user"]["contributionsCollection"]
    listed = everything["pullRequestReviewContributions"]["nodes"]
    assert [(n["repository"]["nameWithOwner"], n["repository"]["isPrivate"]) for n in listed] == [
        (saml.repo, False), (secret.repo, True),
    ]  # fmt: skip


def test_every_quarter_since_2008_costs_one_point_at_githubs_rate() -> None:
    spans = reviews.quarter_spans(datetime(2008, 1, 1, tzinfo=UTC), NOW)
    assert len(spans) >= 76 and spans[-1].until == NOW
    prepared = prepare_graphql(
        {"query": queries.reviews_query(len(spans)), "variables": reviews.variables(spans)}
    )
    assert not isinstance(prepared, tuple) and prepared.cost.points == 1
    assert [(s.since.month, s.since.day) for s in spans[:5]] == [(1, 1), (4, 1), (7, 1), (10, 1), (1, 1)]
    assert all(b.since - a.until == timedelta(seconds=1) for a, b in zip(spans, spans[1:], strict=False))


# --- gitbrag reading it -----------------------------------------------------------------------


@pytest.fixture
def server(ds: Dataset) -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(ds) as running:
        yield running


def client(server: FakeGitHubServer) -> GitHubClient:
    return GitHubClient(["test-token"], server.url, server.url + "/graphql")


def graphql_requests(server: FakeGitHubServer) -> int:
    stats: dict[str, Any] = httpx.get(server.url + "/_fake/stats", timeout=30).json()
    return int(stats["requests"].get("POST /graphql", 0))


def read_all(server: FakeGitHubServer, login: str, private: str = "off") -> list[ReviewContribution] | None:
    async def go() -> list[ReviewContribution] | None:
        async with client(server) as gh:
            return await reviews.collect(gh, login, NOW, private)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_every_review_of_the_dataset_in_one_query(server: FakeGitHubServer, ds: Dataset) -> None:
    found = read_all(server, "Mona-Lisa")
    assert found is not None and graphql_requests(server) == 1
    data = httpx.get(server.url + "/_fake/dataset", timeout=60).json()
    expected = sorted(contributions(data, "Mona-Lisa", NOW), key=lambda c: (c[2], c[0].lower(), c[1]))
    assert [(r.repo, r.number, r.occurred_at) for r in found] == expected
    assert not any(r.repo.startswith((PRIVATE_ORG, SAML_ORG)) for r in found)  # private dropped, SAML hidden
    kept = read_all(server, "Mona-Lisa", private="full")
    assert kept is not None and any(r.private and r.repo.startswith(PRIVATE_ORG) for r in kept)


def test_a_busy_quarter_continues_on_a_next_page(server: FakeGitHubServer, ds: Dataset) -> None:
    pulls = [p for p in ds.pulls if p.author == "prolific-pat"][:150]
    start = datetime(2024, 4, 2, tzinfo=UTC)
    for i, pull in enumerate(pulls):
        review(ds, pull, start + timedelta(hours=i))
    found = read_all(server, "zero-zoe")
    assert found is not None and len({(r.repo, r.number) for r in found}) == 150
    assert graphql_requests(server) == 2  # every quarter, then the second page of the busy one


def test_reviews_github_cannot_answer_are_not_known_rather_than_zero() -> None:
    class TimingOut:
        async def graphql_partial(self, *args: Any, **kwargs: Any) -> Any:
            raise QueryTimeout("GitHub stopped the query")

    found = asyncio.run(reviews.collect(TimingOut(), "Mona-Lisa", NOW, "off"))  # type: ignore[arg-type]
    assert found is None


def test_a_first_collection_reads_every_review_with_its_first_search_page_for_no_point(
    server: FakeGitHubServer,
) -> None:
    """A user with no PR to walk stars for costs one query, one point: the profile, the first
    search page and every review since 2008 (in spans GitHub accepts) together."""
    spans = reviews.first_spans(NOW)
    assert spans[0].since == datetime(2008, 1, 1, tzinfo=UTC) and spans[-1].until == NOW
    assert all(b.since - a.until == timedelta(seconds=1) for a, b in zip(spans, spans[1:], strict=False))
    assert all(s.until - s.since < timedelta(days=366) for s in spans)  # GitHub's one-year limit

    async def go() -> tuple[Collection, int]:
        async with client(server) as gh:
            return await collect_user(gh, "zero-zoe", now=NOW, private="full"), gh.usage.graphql_points

    collected, points = asyncio.run(go())
    assert (graphql_requests(server), points) == (1, 1)
    assert collected.reviews == []  # known: none this token may see (SAML, private)


def test_an_incremental_refresh_reads_this_quarter_with_its_search_for_no_point(
    server: FakeGitHubServer, ds: Dataset
) -> None:
    async def go() -> tuple[Collection, Collection, int]:
        async with client(server) as gh:
            first = await collect_user(gh, "Mona-Lisa", now=NOW - timedelta(minutes=30))
            review(ds, pull_of(ds, "octo-org", "prolific-pat"), NOW - timedelta(minutes=10), "Mona-Lisa")
            review(ds, pull_of(ds, SAML_ORG), NOW - timedelta(minutes=5), "Mona-Lisa")  # FORBIDDEN, ignored
            before = graphql_requests(server)
            second = await collect_user(gh, "Mona-Lisa", now=NOW, previous=first)
            return first, second, graphql_requests(server) - before

    first, second, spent = asyncio.run(go())
    assert second.collected_at != second.full_collected_at  # incremental
    assert spent == 2  # the search page (with the reviews riding along) and the revalidation
    assert first.reviews is not None and second.reviews is not None
    assert len(second.reviews) == len(first.reviews) + 1 and second.reviews_collected_at == NOW
    assert second.reviews[-1].occurred_at == NOW - timedelta(minutes=10)


def test_after_a_quarter_ends_the_ride_along_reads_it_again() -> None:
    kept = Collection(
        login="Mona-Lisa", profile=Profile(login="Mona-Lisa"), pull_requests=[], repositories={}, stars={},
        collected_at=datetime(2026, 3, 31, 23, 30, tzinfo=UTC), reviews=[],
        reviews_collected_at=datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
    )  # fmt: skip
    ride = reviews.RideAlong.for_previous(kept, datetime(2026, 4, 1, 8, tzinfo=UTC))
    assert ride is not None and [s.since.month for s in ride.spans] == [1, 4]
    assert reviews.RideAlong.for_previous(kept.model_copy(update={"reviews": None}), NOW) is None


# --- reports ----------------------------------------------------------------------------------


def reviewed(repo: str, number: int, at: datetime, private: bool = False) -> ReviewContribution:
    return ReviewContribution(repo=repo, number=number, occurred_at=at, private=private)


def test_reports_count_distinct_pull_requests_per_repository_and_keep_private_ones_out() -> None:
    given = [
        reviewed("octo/alpha", 1, datetime(2025, 3, 30, tzinfo=UTC)),
        reviewed("octo/alpha", 1, datetime(2025, 4, 2, tzinfo=UTC)),  # the same pull request, next quarter
        reviewed("Octo/Alpha", 2, datetime(2025, 6, 1, tzinfo=UTC)),  # GitHub's spelling varies
        reviewed("octo/beta", 7, datetime(2025, 7, 1, tzinfo=UTC)),
        reviewed("corp/secret", 3, datetime(2025, 8, 1, tzinfo=UTC), private=True),
        reviewed("octo/beta", 8, datetime(2024, 12, 31, 23, 59, tzinfo=UTC)),  # the year before
    ]
    coll = collection([]).model_copy(update={"reviews": given, "reviews_collected_at": NOW})
    now = datetime(2026, 3, 1, tzinfo=UTC)
    year = build_report(coll, "2025", until=now, generated_at=now).reviews
    assert year is not None and year.total == 3
    assert [(r.name, r.count) for r in year.repositories] == [("octo/alpha", 2), ("octo/beta", 1)]
    full = build_report(coll.model_copy(update={"private_mode": "full"}), "2025", until=now, generated_at=now)
    assert full.reviews is not None and full.reviews.total == 4
    counts = build_report(
        coll.model_copy(update={"private_mode": "counts"}), "2025", until=now, generated_at=now
    )
    assert counts.reviews is not None and counts.reviews.total == 3
    assert build_report(collection([]), "2025", until=now, generated_at=now).reviews is None  # not collected
    report = build_report(coll, "2025", until=now, generated_at=now)
    assert report.previous is None  # no pull request at all: nothing to compare with
    assert report_periods(coll, now)[4:] == ["2025", "2024"]  # years with reviews are years with activity


def test_the_fakes_contributions_types_are_githubs() -> None:
    """Every field the fake adds for reviews has GitHub's name, arguments and type."""
    from gitbrag.fakegithub.graphql_api import schema
    from tests.github.test_github_schema import github_schema

    ours, theirs = schema(), github_schema()
    names = ["ContributionsCollection", "CreatedPullRequestReviewContribution", "PullRequestReview",
             "CreatedPullRequestReviewContributionConnection", "CreatedPullRequestReviewContributionEdge",
             "PullRequestReviewContributionsByRepository"]  # fmt: skip
    for name in [*names, "User"]:
        fake_type, real_type = ours.get_type(name), theirs.get_type(name)
        assert isinstance(fake_type, GraphQLObjectType) and isinstance(real_type, GraphQLObjectType), name
        for field_name, field in fake_type.fields.items():
            real = real_type.fields[field_name]
            assert str(field.type) == str(real.type), (name, field_name)
            assert set(field.args) <= set(real.args), (name, field_name)
    user = ours.get_type("User")
    assert isinstance(user, GraphQLObjectType)
    assert set(user.fields["contributionsCollection"].args) == {"from", "to", "organizationID"}


def test_the_datasets_reviews_are_consistent_and_leave_every_other_record_alone() -> None:
    ds = build_dataset(anchor=datetime(2025, 6, 1, tzinfo=UTC))
    assert ds.reviews == sorted(ds.reviews, key=lambda r: (r.submitted_at, r.id))
    assert len({r.id for r in ds.reviews}) == len(ds.reviews) > 250
    for r in ds.reviews:
        pull = ds.pull(r.repo, r.number)
        assert pull is not None and pull.author.lower() != r.reviewer.lower()
        assert pull.created_at <= r.submitted_at <= min(pull.closed_at or ds.anchor, ds.anchor)
    assert not ds.reviews_by("zero-zoe")
    extra = build_dataset(anchor=datetime(2025, 6, 1, tzinfo=UTC), extra_users=10)
    assert extra.reviews == ds.reviews  # reviews of named users only: filler changes nothing
