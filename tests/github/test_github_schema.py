"""Every GraphQL document the client can build is valid against GitHub's own published schema.

The fake GitHub validates queries against its own (smaller) schema; this checks them
against `schema.docs.graphql`, GitHub's public schema, copied unchanged into
`tests/data/github/`. graphql-core's `validate` applies every rule of the GraphQL spec,
among them "All Variables Used", which GitHub enforces: an operation that declares a
variable it never uses is rejected whole.

Documents are built for every batch composition the collector can produce: 1 and 100
repositories, with and without kept star histories, and everything between that
differs in shape (the query text depends only on the counts).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from gitbrag.github import changes, queries
from gitbrag.github.starpages import STAR_BATCH

SCHEMA = Path(__file__).parents[1] / "data" / "github" / "schema.docs.graphql"


@lru_cache(maxsize=1)
def github_schema() -> GraphQLSchema:
    # GitHub's published SDL repeats one field of EnterpriseOwnerInfo and has deprecation
    # mismatches, so it is built as GitHub serves it: assumed valid.
    return build_schema(SCHEMA.read_text(encoding="utf-8"), assume_valid_sdl=True, assume_valid=True)


def errors_of(document: str) -> list[str]:
    return [error.message for error in validate(github_schema(), parse(document))]


def every_document() -> dict[str, str]:
    documents = {
        "Profile": queries.PROFILE,
        "SearchPullRequests": queries.SEARCH_PULL_REQUESTS,
        "ProfileAndPullRequests": queries.PROFILE_AND_PULL_REQUESTS,
    }
    for size in (1, 2, 50, STAR_BATCH):
        documents[f"Stargazers({size})"] = queries.stargazers_query(size)
    for plain, starred in ((1, 0), (0, 1), (1, 1), (STAR_BATCH, 0), (0, STAR_BATCH), (60, 40), (99, 1)):
        documents[f"Repositories({plain}, {starred})"] = queries.repositories_query(plain, starred)
    for spans in (1, 2, 76, 120):  # a quarter, a quarter's end, every quarter since 2008, and beyond
        documents[f"Reviews({spans})"] = queries.reviews_query(spans)
    for count in (1, 2, queries.USERS_BATCH):
        documents[f"Users({count})"] = queries.users_query(count)
    for spans in (1, 2):
        ride_along = queries.profile_pull_requests_and_reviews(spans)
        documents[f"ProfileAndPullRequestsAndReviews({spans})"] = ride_along
    # The daily pass's change check (`changes`): users of one or two review spans, up to a
    # query's hundred requests (33 users of one span, 25 of two), mixed.
    for spans in ([1], [2], [1] * 33, [2] * 25, [1, 2] * 14):
        documents[f"Changes({len(spans)} users, {sum(spans)} spans)"] = changes.check_query(spans)
    return documents


@pytest.mark.parametrize("name", list(every_document()))
def test_every_document_validates_against_githubs_schema(name: str) -> None:
    assert errors_of(every_document()[name]) == []


def test_the_check_rejects_what_github_rejects() -> None:
    """The rule that caught a real bug: a declared variable no field uses."""
    unused = "query Repositories($starPage: Int!) { rateLimit { cost } }"
    assert any("never used" in message for message in errors_of(unused))
    assert any("Cannot query field" in message for message in errors_of("query { viewer { nope } }"))
