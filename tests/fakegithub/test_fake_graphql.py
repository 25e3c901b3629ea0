"""The fake GitHub's GraphQL endpoint, called directly (the HTTP app only forwards the body).

What matters to a client: GitHub's names, GitHub's pagination rules and cursors, the
1,000-result search cap, stargazers ordered by when they starred, GitHub's cost
calculation, and errors in GitHub's shape (with `type`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gitbrag.fakegithub.budget import RateLimitExceeded, RateSnapshot
from gitbrag.fakegithub.graphql_api import execute_graphql
from gitbrag.fakegithub.records import (
    Dataset,
    FakeFile,
    FakePull,
    FakeRepo,
    FakeSocialAccount,
    FakeStar,
    FakeUser,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
RESET = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _user(uid: int, login: str, **kw: Any) -> FakeUser:
    return FakeUser(
        uid, login, kw.pop("name", None), None, None, None, kw.pop("blog", ""), None, T0, T0, **kw
    )


def _pull(pid: int, repo: str, author: str, created: datetime, **kw: Any) -> FakePull:
    merged_at = kw.pop("merged_at", None)
    state = kw.pop("state", "closed")
    return FakePull(
        id=pid,
        repo=repo,
        number=kw.pop("number", pid),
        title=kw.pop("title", f"PR {pid}"),
        body=None,
        author=author,
        author_association=kw.pop("association", "CONTRIBUTOR"),
        state=state,
        created_at=created,
        updated_at=created,
        closed_at=(merged_at or created) if state == "closed" else None,
        merged_at=merged_at,
        files=kw.pop("files", [FakeFile("a.py", 1, 0)]),
    )


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    ds = Dataset(seed=7, anchor=T0)
    socials = [
        FakeSocialAccount("twitter", "https://twitter.com/octo"),
        FakeSocialAccount("generic", "https://octo.example"),
    ]
    ds.users["octo"] = _user(
        1, "Octo", name="Octo <Cat>", blog="https://octo.example", social_accounts=socials
    )
    ds.users["acme"] = _user(2, "Acme", type="Organization")
    ds.users["prolific"] = _user(3, "Prolific")
    stars = [FakeStar(f"fan{i}", T0 + timedelta(hours=i)) for i in range(250)]
    ds.repos["acme/widgets"] = FakeRepo(
        10, "Acme", "widgets", "Widgets & <gadgets>", "Python", T0, T0, T0, stars
    )
    ds.repos["octo/dots"] = FakeRepo(11, "Octo", "dots", None, None, T0, T0, T0)
    many_files = [FakeFile(f"src/f{i:03}.ts", i, 1, "added") for i in range(130)]
    ds.pulls = [
        _pull(1, "Acme/widgets", "Octo", T0, merged_at=T0 + timedelta(hours=5), association="MEMBER"),
        _pull(2, "Acme/widgets", "Octo", T0 + timedelta(days=1), state="open", files=many_files),
        _pull(3, "Octo/dots", "Octo", T0 + timedelta(days=2), association="OWNER"),
    ]
    ds.pulls += [
        _pull(100 + i, "Acme/widgets", "Prolific", T0 + timedelta(minutes=i), number=100 + i)
        for i in range(1100)
    ]
    return ds


class Budget:
    """A stand-in for the app's limiter: records what each query was charged."""

    def __init__(self, limit: int = 5000) -> None:
        self.limit = limit
        self.charges: list[int] = []

    def __call__(self, cost: int) -> RateSnapshot:
        used = sum(self.charges) + cost
        snapshot = RateSnapshot("graphql", self.limit, self.limit - used, used, RESET, cost)
        if used > self.limit:
            raise RateLimitExceeded(snapshot)
        self.charges.append(cost)
        return snapshot


def run(ds: Dataset, query: str, budget: Budget | None = None, **variables: Any) -> dict[str, Any]:
    status, body = execute_graphql(ds, {"query": query, "variables": variables}, budget or Budget())
    assert status == 200
    return body


SEARCH = """
query($q: String!, $after: String) {
  search(query: $q, type: ISSUE, first: 100, after: $after) {
    issueCount
    pageInfo { hasNextPage endCursor }
    nodes {
      ... on PullRequest {
        number title url state createdAt mergedAt additions deletions changedFiles authorAssociation
        author { login }
        files(first: 100) {
          totalCount pageInfo { hasNextPage endCursor } nodes { path additions deletions changeType }
        }
        repository {
          nameWithOwner description stargazerCount primaryLanguage { name color } owner { __typename login }
        }
      }
    }
  }
  rateLimit { cost remaining resetAt used limit }
}
"""


def test_search_returns_pull_requests_with_files_and_repository(dataset: Dataset) -> None:
    body = run(dataset, SEARCH, q="is:pr author:octo sort:created-asc")
    search = body["data"]["search"]
    assert search["issueCount"] == 3
    merged, open_pr, closed = search["nodes"]
    assert merged["state"] == "MERGED"
    assert merged["mergedAt"] == "2024-01-01T05:00:00Z"
    assert merged["authorAssociation"] == "MEMBER"
    assert merged["url"] == "https://github.com/Acme/widgets/pull/1"
    assert merged["author"] == {"login": "Octo"}
    assert merged["repository"] == {
        "nameWithOwner": "Acme/widgets",
        "description": "Widgets & <gadgets>",
        "stargazerCount": 250,
        "primaryLanguage": {"name": "Python", "color": "#3572A5"},
        "owner": {"__typename": "Organization", "login": "Acme"},
    }
    assert (open_pr["state"], open_pr["mergedAt"], closed["state"]) == ("OPEN", None, "CLOSED")
    assert closed["repository"]["primaryLanguage"] is None
    # The PR's totals are the sums over its files; its files page stops at 100 of 130.
    assert (open_pr["additions"], open_pr["deletions"], open_pr["changedFiles"]) == (8385, 130, 130)
    files = open_pr["files"]
    assert files["totalCount"] == 130 and len(files["nodes"]) == 100 and files["pageInfo"]["hasNextPage"]
    assert files["nodes"][0] == {"path": "src/f000.ts", "additions": 0, "deletions": 1, "changeType": "ADDED"}
    assert body["data"]["rateLimit"] == {
        "cost": 1,
        "remaining": 4999,
        "resetAt": "2024-06-01T12:00:00Z",
        "used": 1,
        "limit": 5000,
    }


def test_files_pages_continue_after_the_cursor(dataset: Dataset) -> None:
    query = """query($after: String) { search(query: "author:octo is:open", type: ISSUE, first: 1) {
      nodes { ... on PullRequest {
        files(first: 100, after: $after) { pageInfo { hasNextPage } nodes { path } }
      } } } }"""
    first_page = run(dataset, SEARCH, q="author:octo is:open")["data"]["search"]["nodes"][0]["files"]
    rest = run(dataset, query, after=first_page["pageInfo"]["endCursor"])["data"]["search"]["nodes"][0][
        "files"
    ]
    assert [n["path"] for n in rest["nodes"]] == [f"src/f{i:03}.ts" for i in range(100, 130)]
    assert rest["pageInfo"]["hasNextPage"] is False


def test_search_pages_reach_exactly_the_first_1000_results(dataset: Dataset) -> None:
    seen: list[int] = []
    after = None
    cursors = []
    while True:
        search = run(dataset, SEARCH, q="is:pr author:PROLIFIC", after=after)["data"]["search"]
        assert search["issueCount"] == 1100  # the full count, as on GitHub
        seen += [n["number"] for n in search["nodes"]]
        cursors.append(search["pageInfo"]["endCursor"])
        if not search["pageInfo"]["hasNextPage"]:
            break
        after = search["pageInfo"]["endCursor"]
    assert len(seen) == 1000
    assert seen == list(range(1199, 199, -1))  # newest first, the oldest 100 unreachable
    assert cursors[0] == "Y3Vyc29yOjEwMA=="  # GitHub's opaque "cursor:100"
    beyond = run(dataset, SEARCH, q="author:prolific", after=cursors[-1])["data"]["search"]
    assert beyond["nodes"] == [] and beyond["pageInfo"]["hasNextPage"] is False


def test_search_with_unknown_author_finds_nothing_and_bad_dates_fail(dataset: Dataset) -> None:
    assert run(dataset, SEARCH, q="is:pr author:ghost")["data"]["search"]["issueCount"] == 0
    body = run(dataset, SEARCH, q="is:pr author:octo created:2024-02-30..*")
    assert "data" not in body
    assert 'Invalid value "2024-02-30"' in body["errors"][0]["message"]
    assert body["errors"][0]["path"] == ["search"]


STARGAZERS = """query($after: String, $dir: OrderDirection!) {
  repository(owner: "ACME", name: "Widgets") {
    nameWithOwner
    stargazers(first: 100, after: $after, orderBy: {field: STARRED_AT, direction: $dir}) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor starredAt node { login } }
    }
  }
}"""


@pytest.mark.parametrize("direction", ["DESC", "ASC"])
def test_stargazers_are_ordered_by_starred_at(dataset: Dataset, direction: str) -> None:
    starred: list[str] = []
    logins: list[str] = []
    after = None
    while True:
        repo = run(dataset, STARGAZERS, after=after, dir=direction)["data"]["repository"]
        assert repo["nameWithOwner"] == "Acme/widgets"  # lookups ignore case
        page = repo["stargazers"]
        assert page["totalCount"] == 250
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        starred += [e["starredAt"] for e in page["edges"]]
        logins += [e["node"]["login"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(starred) == 250
    assert starred == sorted(starred, reverse=direction == "DESC")
    assert starred[0] == ("2024-01-11T09:00:00Z" if direction == "DESC" else "2024-01-01T00:00:00Z")
    assert logins[0] == ("fan249" if direction == "DESC" else "fan0")


def test_connection_without_first_or_last_is_refused(dataset: Dataset) -> None:
    body = run(dataset, '{ repository(owner: "acme", name: "widgets") { stargazers { totalCount } } }')
    assert body["data"] == {"repository": None}
    (error,) = body["errors"]
    assert error["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert error["message"] == (
        "You must provide a `first` or `last` value to properly paginate the `stargazers` connection."
    )
    assert error["path"] == ["repository", "stargazers"]
    assert error["locations"] == [{"line": 1, "column": 48}]


def test_more_than_100_records_is_refused(dataset: Dataset) -> None:
    body = run(dataset, '{ search(query: "author:octo", type: ISSUE, first: 101) { issueCount } }')
    (error,) = body["errors"]
    assert error["type"] == "EXCESSIVE_PAGINATION"
    assert (
        error["message"]
        == "Requesting 101 records on the `search` connection exceeds the `first` limit of 100 records."
    )


def test_garbage_cursor_is_refused(dataset: Dataset) -> None:
    body = run(
        dataset, '{ search(query: "author:octo", type: ISSUE, first: 1, after: "nope") { issueCount } }'
    )
    assert body["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"


@pytest.mark.parametrize(
    ("query", "cost", "nodes"),
    [
        # 1 request for the search + 100 for the files of its 100 PRs = 101 -> 1 point.
        (
            '{ search(query: "author:octo", type: ISSUE, first: 100) { nodes { ... on PullRequest { '
            "files(first: 100) { nodes { path } } repository { nameWithOwner } } } } }",
            1,
            10_100,
        ),
        # Two aliased connections: 2 requests -> still the minimum of 1 point.
        (
            '{ repository(owner: "acme", name: "widgets") { a: stargazers(first: 100) { totalCount } '
            "b: stargazers(last: 100) { totalCount } } }",
            1,
            200,
        ),
        # 1 + 100 (files) + 100 (stargazers of each PR's repository) = 201 requests -> 2 points.
        (
            '{ search(query: "author:octo", type: ISSUE, first: 100) { nodes { ... on PullRequest { '
            "files(first: 10) { totalCount } repository { stargazers(first: 100) { totalCount } } } } } }",
            2,
            100 + 1_000 + 10_000,
        ),
        # 1 + 100 + 100*100 = 10,101 requests -> 101 points; 100 + 10,000 + 400,000 nodes.
        (
            '{ search(query: "author:octo", type: ISSUE, first: 100) { nodes { ... on PullRequest { '
            "repository { stargazers(first: 100) { nodes { socialAccounts(first: 40) { totalCount } } } } "
            "} } } }",
            101,
            410_100,
        ),
    ],
)
def test_cost_follows_githubs_calculation(dataset: Dataset, query: str, cost: int, nodes: int) -> None:
    budget = Budget(limit=10_000)
    query = query.rstrip().removesuffix("}") + " rateLimit { cost nodeCount } }"
    body = run(dataset, query, budget)
    assert "errors" not in body
    assert budget.charges == [cost]
    assert body["data"]["rateLimit"] == {"cost": cost, "nodeCount": nodes}


def test_node_limit_is_enforced_before_anything_is_charged(dataset: Dataset) -> None:
    budget = Budget()
    body = run(
        dataset,
        '{ search(query: "author:octo", type: ISSUE, first: 100) { nodes { ... on PullRequest { '
        "repository { stargazers(first: 100) { nodes { socialAccounts(first: 50) { totalCount } } } } "
        "} } } }",
        budget,
    )
    assert body["errors"] == [
        {
            "type": "MAX_NODE_LIMIT_EXCEEDED",
            "message": "By the time this query traverses to the socialAccounts connection, it is requesting "
            "up to 510,100 possible nodes which exceeds the maximum limit of 500,000.",
        }
    ]
    assert budget.charges == []


def test_spent_budget_answers_rate_limit(dataset: Dataset) -> None:
    """Today's GitHub shape: `type` RATE_LIMIT with `code` graphql_rate_limit (was RATE_LIMITED)."""
    budget = Budget(limit=1)
    run(dataset, "{ viewer { login } }", budget)
    body = run(dataset, "{ viewer { login } }", budget)
    assert "data" not in body
    assert body["errors"][0]["type"] == "RATE_LIMIT"
    assert body["errors"][0]["code"] == "graphql_rate_limit"
    assert body["errors"][0]["message"].startswith("API rate limit already exceeded for user ID ")


def test_unknown_repository_and_user_are_not_found(dataset: Dataset) -> None:
    body = run(dataset, '{ repository(owner: "acme", name: "nope") { name } viewer { login } }')
    assert body["data"]["repository"] is None and body["data"]["viewer"]["login"]
    assert body["errors"] == [
        {
            "type": "NOT_FOUND",
            "message": "Could not resolve to a Repository with the name 'acme/nope'.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["repository"],
        }
    ]
    body = run(dataset, '{ user(login: "ghost") { login } }')
    assert body["errors"][0]["type"] == "NOT_FOUND"
    assert body["errors"][0]["message"] == "Could not resolve to a User with the login of 'ghost'."


def test_user_profile_with_social_accounts(dataset: Dataset) -> None:
    query = """{ user(login: "OCTO") {
      id login name websiteUrl url avatarUrl(size: 80) createdAt
      socialAccounts(first: 10) { totalCount nodes { provider displayName url } }
    } }"""
    user = run(dataset, query)["data"]["user"]
    assert user == {
        "id": "MDQ6VXNlcjE=",  # GitHub's node ID format: base64("04:User1")
        "login": "Octo",
        "name": "Octo <Cat>",
        "websiteUrl": "https://octo.example",
        "url": "https://github.com/Octo",
        "avatarUrl": "https://avatars.githubusercontent.com/u/1?v=4&s=80",
        "createdAt": "2024-01-01T00:00:00Z",
        "socialAccounts": {
            "totalCount": 2,
            "nodes": [
                {"provider": "TWITTER", "displayName": "@octo", "url": "https://twitter.com/octo"},
                {"provider": "GENERIC", "displayName": "https://octo.example", "url": "https://octo.example"},
            ],
        },
    }


def test_syntax_and_validation_errors_come_back_as_graphql_errors(dataset: Dataset) -> None:
    body = run(dataset, "{ viewer { login }")
    assert "data" not in body
    (error,) = body["errors"]
    assert error["locations"] == [{"line": 1, "column": 19}] and "Syntax Error" in error["message"]
    body = run(dataset, "{ viewer { loginz } }")
    assert "data" not in body
    assert "loginz" in body["errors"][0]["message"]
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 12}]


def test_bad_request_bodies(dataset: Dataset) -> None:
    status, body = execute_graphql(dataset, ["not", "an", "object"], Budget())
    assert status == 400 and body["message"] == "Problems parsing JSON"
    status, body = execute_graphql(dataset, {"variables": {}}, Budget())
    assert status == 200 and body["errors"][0]["message"].startswith("A query attribute must be specified")


# GitHub's names, which clients hard-code: a rename here would only show up against the real API.
EXPECTED_FIELDS = {
    "Query": {"search", "repository", "user", "rateLimit", "viewer"},
    "SearchResultItemConnection": {"issueCount", "nodes", "edges", "pageInfo"},
    "SearchResultItemEdge": {"cursor", "node"},
    "PageInfo": {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"},
    "PullRequest": {
        "id", "number", "title", "url", "body", "state", "isDraft", "createdAt", "updatedAt", "closedAt",
        "mergedAt", "merged", "additions", "deletions", "changedFiles", "authorAssociation", "author",
        "repository", "files",
    },
    "PullRequestChangedFileConnection": {"totalCount", "nodes", "edges", "pageInfo"},
    "PullRequestChangedFile": {"path", "additions", "deletions", "changeType"},
    "Repository": {
        "id", "name", "nameWithOwner", "owner", "description", "url", "stargazerCount", "forkCount",
        "primaryLanguage", "createdAt", "updatedAt", "pushedAt", "isFork", "stargazers",
    },
    "Language": {"name", "color"},
    "StargazerConnection": {"totalCount", "edges", "nodes", "pageInfo"},
    "StargazerEdge": {"cursor", "starredAt", "node"},
    "User": {
        "id", "login", "name", "bio", "company", "location", "websiteUrl", "url", "avatarUrl", "createdAt",
        "socialAccounts",
    },
    "SocialAccount": {"provider", "displayName", "url"},
    "SocialAccountConnection": {"totalCount", "nodes", "edges", "pageInfo"},
    "RateLimit": {"cost", "limit", "nodeCount", "remaining", "resetAt", "used"},
    "Actor": {"login", "avatarUrl", "url"},
}  # fmt: skip
EXPECTED_ENUMS = {
    "PullRequestState": {"OPEN", "CLOSED", "MERGED"},
    "CommentAuthorAssociation": {
        "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR", "MANNEQUIN", "MEMBER", "NONE",
        "OWNER",
    },
    "PatchStatus": {"ADDED", "CHANGED", "COPIED", "DELETED", "MODIFIED", "RENAMED"},
    "StarOrderField": {"STARRED_AT"},
    "OrderDirection": {"ASC", "DESC"},
    "SearchType": {"ISSUE", "REPOSITORY", "USER", "DISCUSSION"},
    "SocialAccountProvider": {
        "FACEBOOK", "GENERIC", "HOMETOWN", "INSTAGRAM", "LINKEDIN", "MASTODON", "NPM", "REDDIT", "TWITCH",
        "TWITTER", "YOUTUBE",
    },
}  # fmt: skip


def test_schema_uses_githubs_names(dataset: Dataset) -> None:
    query = """{ __schema { types { name kind fields { name args { name } } enumValues { name }
      inputFields { name } possibleTypes { name } } } }"""
    types = {t["name"]: t for t in run(dataset, query)["data"]["__schema"]["types"]}
    for name, fields in EXPECTED_FIELDS.items():
        assert fields <= {f["name"] for f in types[name]["fields"]}, name
    for name, values in EXPECTED_ENUMS.items():
        assert values <= {v["name"] for v in types[name]["enumValues"]}, name
    assert {"PullRequest", "Issue", "Repository", "User"} <= {
        t["name"] for t in types["SearchResultItem"]["possibleTypes"]
    }
    assert {f["name"] for f in types["StarOrder"]["inputFields"]} == {"field", "direction"}
    for type_name, field_name in [
        ("Query", "search"),
        ("PullRequest", "files"),
        ("Repository", "stargazers"),
    ]:
        (field,) = [f for f in types[type_name]["fields"] if f["name"] == field_name]
        assert {"first", "after", "last", "before"} <= {a["name"] for a in field["args"]}
    (search,) = [f for f in types["Query"]["fields"] if f["name"] == "search"]
    assert {"query", "type"} <= {a["name"] for a in search["args"]}


def test_generated_demo_dataset_is_served() -> None:
    from gitbrag.fakegithub.dataset import build_dataset

    ds = build_dataset()
    for login in ds.demo_users:
        search = run(ds, SEARCH, q=f"is:pr author:{login.upper()}")["data"]["search"]
        assert search["issueCount"] == len(ds.pulls_by(login))
        assert len(search["nodes"]) == min(100, len(ds.pulls_by(login)))
