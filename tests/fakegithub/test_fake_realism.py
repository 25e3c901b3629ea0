"""The fake is at least as hard as real GitHub: private repositories, SAML enforcement,
GraphQL's HTTP-200 failures (rate limits, secondary limits, timeouts, resource limits),
per-token concurrency and the REST caps, all over real HTTP and in GitHub's exact shapes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gitbrag.fakegithub.app import FakeConfig
from gitbrag.fakegithub.dataset import REALISM_USERS
from gitbrag.fakegithub.faults import FaultConfig
from gitbrag.fakegithub.limits import token_id
from gitbrag.fakegithub.records import Dataset, FakePull
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset

TOKEN = "ghp_realism_unauthorised"
SSO_TOKEN = "ghp_realism_sso_authorised"
AUTH = {"Authorization": f"token {TOKEN}"}
SSO_AUTH = {"Authorization": f"token {SSO_TOKEN}"}
# The token of the account star-rocket: it administers star-rocket's repositories.
OWNER_TOKEN = "ghp_realism_star_rocket_owner"
OWNER_AUTH = {"Authorization": f"token {OWNER_TOKEN}"}
YEAR = timedelta(days=365)
SAML_MESSAGE = (
    "Resource protected by organization SAML enforcement. "
    "You must grant your Personal Access token access to this organization."
)
SEARCH = """
query($q: String!, $first: Int!, $files: Int!) {
  search(query: $q, type: ISSUE, first: $first) {
    issueCount
    nodes { ... on PullRequest { number repository { nameWithOwner isPrivate visibility }
                                 files(first: $files) { totalCount nodes { path } } } }
  }
}"""


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHubServer]:
    config = FakeConfig(
        saml_authorized_tokens=frozenset({SSO_TOKEN}), token_owners={OWNER_TOKEN: "star-rocket"}
    )
    with FakeGitHubServer(shared_dataset(), config) as s:
        yield s


@pytest.fixture
def gh(server: FakeGitHubServer) -> Iterator[httpx.Client]:
    """A client with the unauthorised token; faults and stats are cleared around each test."""
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as client:
        client.delete("/_fake/faults")
        client.post("/_fake/reset")
        yield client
        client.delete("/_fake/faults")


def _faults(gh: httpx.Client, **changes: float) -> None:
    gh.post("/_fake/faults", json=changes).raise_for_status()


def _graphql(
    gh: httpx.Client, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> httpx.Response:
    return gh.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def _search(gh: httpx.Client, q: str, first: int = 50, files: int = 1, **kw: Any) -> dict[str, Any]:
    response = _graphql(gh, SEARCH, q=q, first=first, files=files, **kw)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _pulls(login: str) -> list[FakePull]:
    return shared_dataset().pulls_by(login)


def _repo_owner(p: FakePull) -> str:
    return p.repo.split("/", 1)[0]


# --- dataset -----------------------------------------------------------------------------


def test_realism_users_exist_but_are_not_demo_users() -> None:
    ds = shared_dataset()
    assert REALISM_USERS == ("dormant-dora", "private-priya", "huge-hugo")
    assert all(ds.user(login) is not None for login in REALISM_USERS)
    assert not set(REALISM_USERS) & set(ds.demo_users)
    demo_ids = {p.id for login in ds.demo_users for p in ds.pulls_by(login)}
    realism_ids = {p.id for login in REALISM_USERS for p in ds.pulls_by(login)}
    assert max(demo_ids) < min(realism_ids), "realism PRs take ids above every demo PR"


def test_dormant_dora_did_everything_six_to_nine_years_ago() -> None:
    ds, pulls = shared_dataset(), _pulls("dormant-dora")
    assert 35 <= len(pulls) <= 45 and 5 <= len({p.repo for p in pulls}) <= 7
    for p in pulls:
        assert ds.anchor - 9 * YEAR <= p.created_at <= ds.anchor - 6 * YEAR
        assert p.state == "closed" and p.updated_at < ds.anchor - 5 * YEAR
    assert any(ds.repos[p.repo.lower()].stargazers_count for p in pulls)


def test_private_priya_works_in_public_private_and_saml_repositories() -> None:
    ds, pulls = shared_dataset(), _pulls("private-priya")
    private = [p for p in pulls if ds.repos[p.repo.lower()].private]
    saml = [p for p in pulls if _repo_owner(p) == "saml-corp"]
    assert len(private) == 14 and {_repo_owner(p) for p in private} == {"priya-corp"}
    assert len({p.repo for p in private}) == 3 and "priya-corp/secret-ledger" in {p.repo for p in private}
    assert all(p.title.startswith("Confidential:") for p in private)
    assert len(saml) == 6 and len({p.repo for p in saml}) == 2
    assert not any(ds.repos[p.repo.lower()].private for p in saml)
    assert len(pulls) - len(private) - len(saml) == 30
    assert all(p.created_at >= ds.anchor - YEAR for p in pulls), "they count in every period"
    org = ds.user("saml-corp")
    assert org is not None and org.type == "Organization" and org.saml_enforced


def test_huge_hugo_has_a_pull_request_past_the_rest_file_cap() -> None:
    ds, pulls = shared_dataset(), _pulls("huge-hugo")
    huge = max(pulls, key=lambda p: p.changed_files)
    assert 3 <= len(pulls) <= 8 and huge.changed_files == 3400
    assert huge.merged and huge.created_at >= ds.anchor - YEAR


def test_dataset_json_exposes_privacy_and_saml(gh: httpx.Client) -> None:
    data = gh.get("/_fake/dataset", params={"users": "private-priya"}).json()
    repos = {r["full_name"]: r for r in data["repos"]}
    assert repos["priya-corp/secret-ledger"]["private"] is True
    assert repos["saml-corp/sso-kit"]["private"] is False
    full = gh.get("/_fake/dataset").json()
    orgs = {u["login"]: u for u in full["users"] if u["type"] == "Organization"}
    assert orgs["saml-corp"]["saml_enforced"] is True and orgs["priya-corp"]["saml_enforced"] is False
    assert all("saml_enforced" not in u for u in full["users"] if u["type"] == "User")


# --- private repositories ------------------------------------------------------------------


def test_private_repository_is_visible_only_to_tokens_with_private_access(
    gh: httpx.Client, server: FakeGitHubServer
) -> None:
    body = gh.get("/repos/priya-corp/secret-ledger").json()
    assert body["private"] is True and body["visibility"] == "private"
    assert gh.get("/repos/priya-corp/secret-ledger/stargazers").status_code == 200
    anonymous = httpx.get(f"{server.url}/repos/priya-corp/secret-ledger")
    assert anonymous.status_code == 404 and anonymous.json()["message"] == "Not Found"
    secret = next(p for p in _pulls("private-priya") if p.repo == "priya-corp/secret-ledger")
    for path in (f"/pulls/{secret.number}", f"/pulls/{secret.number}/files", "/stargazers"):
        assert httpx.get(f"{server.url}/repos/priya-corp/secret-ledger{path}").status_code == 404
    public = gh.get("/repos/star-rocket/rocket").json()
    assert public["private"] is False and public["visibility"] == "public"
    user = httpx.get(f"{server.url}/users/priya-corp").json()
    assert user["public_repos"] == 0, "private repositories are not public_repos"


def test_search_hides_private_repositories_from_anonymous_callers(
    gh: httpx.Client, server: FakeGitHubServer
) -> None:
    pulls = _pulls("private-priya")
    n_private = sum(shared_dataset().repos[p.repo.lower()].private for p in pulls)
    q = {"q": "is:pr author:private-priya", "per_page": "100"}
    authed = gh.get("/search/issues", params=q).json()
    anonymous = httpx.get(f"{server.url}/search/issues", params=q).json()
    assert authed["total_count"] == len(pulls)
    assert anonymous["total_count"] == len(pulls) - n_private
    assert not any("secret" in i["repository_url"] for i in anonymous["items"])
    named = httpx.get(f"{server.url}/search/issues", params={"q": "repo:priya-corp/secret-ledger"})
    assert named.status_code == 422


def test_is_public_and_is_private_qualifiers(gh: httpx.Client) -> None:
    pulls = _pulls("private-priya")
    n_private = sum(shared_dataset().repos[p.repo.lower()].private for p in pulls)
    public = gh.get(
        "/search/issues", params={"q": "author:private-priya is:public", "per_page": "100"}
    ).json()
    private = gh.get("/search/issues", params={"q": "author:private-priya is:private"}).json()
    visibility = gh.get("/search/issues", params={"q": "author:private-priya visibility:private"}).json()
    assert public["total_count"] == len(pulls) - n_private
    assert not any("priya-corp" in i["repository_url"] for i in public["items"])
    assert private["total_count"] == visibility["total_count"] == n_private
    graphql = _search(gh, "author:private-priya is:private", headers=SSO_AUTH)["data"]["search"]
    assert graphql["issueCount"] == n_private
    assert all(
        n["repository"]["isPrivate"] and n["repository"]["visibility"] == "PRIVATE" for n in graphql["nodes"]
    )


def test_without_private_access_no_token_sees_private_repositories() -> None:
    config = FakeConfig(private_access=False, saml_authorized_tokens=frozenset({SSO_TOKEN}))
    with (
        FakeGitHubServer(shared_dataset(), config) as s,
        httpx.Client(base_url=s.url, headers=SSO_AUTH) as gh,
    ):
        assert gh.get("/repos/priya-corp/secret-ledger").status_code == 404
        assert (
            gh.get("/search/issues", params={"q": "author:private-priya is:private"}).json()["total_count"]
            == 0
        )
        body = _graphql(gh, '{ r0: repository(owner: "priya-corp", name: "secret-ledger") { name } }').json()
        assert body["data"] == {"r0": None}
        assert body["errors"][0]["type"] == "NOT_FOUND" and body["errors"][0]["path"] == ["r0"]
        found = _search(gh, "author:private-priya")["data"]["search"]
        assert found["issueCount"] == 36 and not any(n["repository"]["isPrivate"] for n in found["nodes"])


# --- SAML -----------------------------------------------------------------------------------


def test_saml_nulls_exactly_the_orgs_search_results(gh: httpx.Client) -> None:
    body = _search(gh, "author:private-priya sort:created-desc")
    nodes = body["data"]["search"]["nodes"]
    assert body["data"]["search"]["issueCount"] == len(_pulls("private-priya")) == len(nodes)
    expected = sorted(_pulls("private-priya"), key=lambda p: (p.created_at, p.id), reverse=True)
    blocked = [i for i, p in enumerate(expected) if _repo_owner(p) == "saml-corp"]
    assert [i for i, n in enumerate(nodes) if n is None] == blocked and len(blocked) == 6
    assert all(n["repository"]["nameWithOwner"].split("/")[0] != "saml-corp" for n in nodes if n)
    assert len(body["errors"]) == 6
    for i, error in zip(blocked, body["errors"], strict=True):
        assert error["type"] == "FORBIDDEN" and error["message"] == SAML_MESSAGE
        assert error["path"] == ["search", "nodes", i] and error["extensions"] == {"saml_failure": True}
        assert error["locations"] and set(error["locations"][0]) == {"line", "column"}
    authorised = _search(gh, "author:private-priya", headers=SSO_AUTH)
    assert "errors" not in authorised and None not in authorised["data"]["search"]["nodes"]


def test_saml_nulls_a_repository_lookup_and_leaves_the_others(gh: httpx.Client) -> None:
    query = """{ r0: repository(owner: "saml-corp", name: "sso-kit") { name }
                 r1: repository(owner: "star-rocket", name: "rocket") { name } }"""
    body = _graphql(gh, query).json()
    assert body["data"] == {"r0": None, "r1": {"name": "rocket"}}
    [error] = body["errors"]
    assert error == {"type": "FORBIDDEN", "path": ["r0"], "extensions": {"saml_failure": True},
                     "locations": [{"line": 1, "column": 3}], "message": SAML_MESSAGE}  # fmt: skip
    assert _graphql(gh, query, headers=SSO_AUTH).json() == {
        "data": {"r0": {"name": "sso-kit"}, "r1": {"name": "rocket"}}
    }


def test_saml_refuses_rest_repository_routes(gh: httpx.Client, server: FakeGitHubServer) -> None:
    pull = next(p for p in _pulls("private-priya") if _repo_owner(p) == "saml-corp")
    owner_repo = pull.repo
    for path in ("", f"/pulls/{pull.number}", f"/pulls/{pull.number}/files", "/stargazers"):
        refused = gh.get(f"/repos/{owner_repo}{path}")
        assert refused.status_code == 403 and refused.json()["message"] == SAML_MESSAGE
        sso = refused.headers["x-github-sso"]
        assert sso.startswith("required; url=https://github.com/orgs/saml-corp/sso?authorization_request=")
        assert gh.get(f"/repos/{owner_repo}{path}", headers=SSO_AUTH).status_code == 200
    assert httpx.get(f"{server.url}/repos/{owner_repo}").status_code == 200, "public data stays public"
    assert gh.get("/repos/star-rocket/rocket").status_code == 200


STARS = """{ r0: repository(owner: "star-rocket", name: "rocket") {
                 nameWithOwner stargazerCount stargazers(first: 2) { edges { starredAt } } }
             r1: repository(owner: "octo-org", name: "calm-graph") { nameWithOwner stargazerCount } }"""
REFUSED = "Resource not accessible by integration"


def test_restricted_graphql_stargazers_are_forbidden_where_github_puts_it(gh: httpx.Client) -> None:
    """`stargazers` is non-null in GitHub's schema: refusing it nulls the repository node, the
    error's path names the field, and what did not ask for stargazers is answered in full."""
    open_body = _graphql(gh, STARS).json()
    assert "errors" not in open_body and len(open_body["data"]["r0"]["stargazers"]["edges"]) == 2
    _faults(gh, stargazers_restricted_graphql=1)
    response = _graphql(gh, STARS)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"r0": None, "r1": open_body["data"]["r1"]}
    [error] = body["errors"]
    assert error == {"type": "FORBIDDEN", "path": ["r0", "stargazers"], "extensions": {"saml_failure": False},
                     "locations": [{"line": 2, "column": 47}], "message": REFUSED}  # fmt: skip
    count = _graphql(gh, '{ repository(owner: "star-rocket", name: "rocket") { stargazerCount } }').json()
    assert count == {"data": {"repository": {"stargazerCount": open_body["data"]["r0"]["stargazerCount"]}}}
    assert gh.get("/_fake/stats").json()["faults"]["stargazers_restricted_graphql"] == 1


def test_a_token_administering_the_repository_still_reads_its_stargazers(gh: httpx.Client) -> None:
    _faults(gh, stargazers_restricted_graphql=1, stargazers_restricted=403)
    own = _graphql(gh, STARS, headers=OWNER_AUTH).json()
    assert "errors" not in own and len(own["data"]["r0"]["stargazers"]["edges"]) == 2
    assert gh.get("/repos/star-rocket/rocket/stargazers", headers=OWNER_AUTH).status_code == 200
    assert gh.get("/repos/star-rocket/rocket/stargazers").status_code == 403
    assert gh.post("/_fake/faults", json={"stargazers_restricted_graphql": 2}).status_code == 400


# --- GraphQL rate limits and secondary limits ------------------------------------------------


def test_rate_limit_next_answers_200_with_points_still_showing() -> None:
    config = FakeConfig(clock=lambda: 1_000_000.0)
    with FakeGitHubServer(shared_dataset(), config) as s, httpx.Client(base_url=s.url, headers=AUTH) as gh:
        _faults(gh, rate_limit_next=1, rate_limit_reset_s=2)
        limited = _graphql(gh, "{ viewer { login } }")
        assert limited.status_code == 200
        message = "API rate limit already exceeded for user ID 9000001."
        assert limited.json() == {
            "errors": [{"type": "RATE_LIMIT", "code": "graphql_rate_limit", "message": message}]
        }
        assert int(limited.headers["x-ratelimit-remaining"]) >= 1
        assert limited.headers["x-ratelimit-reset"] == "1000002"
        assert limited.headers["x-ratelimit-resource"] == "graphql"
        assert _graphql(gh, "{ viewer { login } }").json()["data"]["viewer"]["login"]
        _faults(gh, rate_limited_next=1)
        legacy = _graphql(gh, "{ viewer { login } }").json()
        assert legacy == {
            "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 9000001."}]
        }
        assert gh.get("/_fake/stats").json()["faults"]["graphql_rate_limit"] == 2


def test_real_graphql_budget_exhaustion_uses_the_rate_limit_shape() -> None:
    with FakeGitHubServer(shared_dataset()) as s, httpx.Client(base_url=s.url, headers=AUTH) as gh:
        gh.post("/_fake/limits", json={"graphql": 1}).raise_for_status()
        assert "data" in _graphql(gh, "{ viewer { login } }").json()
        spent = _graphql(gh, "{ viewer { login } }")
        assert spent.status_code == 200 and spent.headers["x-ratelimit-remaining"] == "0"
        [error] = spent.json()["errors"]
        assert error["type"] == "RATE_LIMIT" and error["code"] == "graphql_rate_limit"


def test_rate_limit_faults_apply_to_graphql_only(gh: httpx.Client) -> None:
    _faults(gh, rate_limit_next=1, graphql_timeout_next=1, secondary_200_next=1)
    assert gh.get("/users/Mona-Lisa").status_code == 200
    left = gh.get("/_fake/faults").json()
    assert (left["rate_limit_next"], left["graphql_timeout_next"], left["secondary_200_next"]) == (1, 1, 1)


@pytest.mark.parametrize("retry_after", [0, 7])
def test_secondary_limit_with_http_200(gh: httpx.Client, retry_after: int) -> None:
    _faults(gh, secondary_200_next=1, retry_after_s=retry_after)
    response = _graphql(gh, "{ viewer { login } }")
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert set(response.json()) == {"errors"} and set(error) == {"message"}
    request_id = response.headers["x-github-request-id"]
    assert error["message"] == (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
        f"If you reach out to GitHub Support for help, please include the request ID {request_id}."
    )
    assert response.headers.get("retry-after") == (str(retry_after) if retry_after else None)
    _faults(gh, secondary_200_rate=1.0)
    assert "secondary rate limit" in _graphql(gh, "{ viewer { login } }").json()["errors"][0]["message"]


def test_rest_secondary_limit_omits_retry_after_when_zero(gh: httpx.Client) -> None:
    _faults(gh, secondary_next=1, secondary_burst=1, retry_after_s=0)
    refused = gh.get("/users/Mona-Lisa")
    assert refused.status_code == 403 and "secondary rate limit" in refused.json()["message"]
    assert "retry-after" not in refused.headers


# --- timeouts and resource limits -------------------------------------------------------------


def test_timeout_fires_by_node_count_and_charges_the_penalty(gh: httpx.Client) -> None:
    _faults(gh, graphql_timeout_nodes=100)
    small = _search(gh, "author:huge-hugo", first=5, files=5)  # 5 + 25 nodes
    assert "errors" not in small
    before = gh.get("/rate_limit").json()["resources"]["graphql"]["used"]
    response = _graphql(gh, SEARCH, q="author:Mona-Lisa", first=20, files=10)  # 20 + 200 nodes, 1 point
    assert response.status_code == 200
    request_id = response.headers["x-github-request-id"]
    message = (
        "Something went wrong while executing your query. This may be the result of a timeout, "
        f"or it could be a GitHub bug. Please include `{request_id}` when reporting this issue."
    )
    assert response.json() == {"data": None, "errors": [{"message": message}]}
    after = gh.get("/rate_limit").json()["resources"]["graphql"]["used"]
    assert after - before == 1 + 5
    assert gh.get("/_fake/stats").json()["faults"]["graphql_timeout"] == 1


@pytest.mark.parametrize("style", [502, 504])
def test_timeout_styles_and_hold(gh: httpx.Client, style: int) -> None:
    _faults(gh, graphql_timeout_next=1, graphql_timeout_style=style, graphql_timeout_s=0.3)
    started = time.monotonic()
    response = _graphql(gh, "{ viewer { login } }")
    assert time.monotonic() - started >= 0.3
    assert response.status_code == style
    if style == 502:
        assert response.headers["content-type"].startswith("text/html")
        assert "<title>502 Bad Gateway</title>" in response.text
    else:
        message = (
            "We couldn't respond to your request in time. Sorry about that. "
            "Please try resubmitting your request and contact us if the problem persists."
        )
        assert response.json() == {"message": message}
    assert "data" in _graphql(gh, "{ viewer { login } }").json(), "only the next request times out"


def test_timeout_style_must_be_a_known_status(gh: httpx.Client) -> None:
    refused = gh.post("/_fake/faults", json={"graphql_timeout_style": 500})
    assert refused.status_code == 400 and gh.get("/_fake/faults").json()["graphql_timeout_style"] == 200


def test_resource_limits_null_later_files_with_partial_data(gh: httpx.Client) -> None:
    _faults(gh, resource_limit_nodes=50)
    body = _search(gh, "author:Mona-Lisa", first=10, files=10)  # 10 + 100 nodes
    nodes = body["data"]["search"]["nodes"]
    assert len(nodes) == 10 and all(n is not None for n in nodes)
    assert all(n["files"] is not None for n in nodes[:5]) and all(n["files"] is None for n in nodes[5:])
    assert [e["path"] for e in body["errors"]] == [["search", "nodes", i, "files"] for i in range(5, 10)]
    assert {(e["type"], e["message"]) for e in body["errors"]} == {
        ("RESOURCE_LIMITS_EXCEEDED", "Resource limits for this query exceeded.")
    }
    assert "errors" not in _search(gh, "author:Mona-Lisa", first=4, files=10), "40 + 4 nodes is within limits"


# --- concurrency -------------------------------------------------------------------------------


def _concurrently(url: str, n: int) -> list[int]:
    return sorted(_in_completion_order(url, n))


def _in_completion_order(url: str, n: int) -> list[int]:
    """The statuses of `n` requests sent at once, in the order they came back."""
    statuses: list[int] = []
    barrier = threading.Barrier(n)

    def one() -> None:
        barrier.wait()
        statuses.append(httpx.get(f"{url}/users/Mona-Lisa", headers=AUTH, timeout=10).status_code)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_max_in_flight_is_measured_per_token(gh: httpx.Client, server: FakeGitHubServer) -> None:
    _faults(gh, latency_ms=400)
    assert _concurrently(server.url, 4) == [200] * 4
    stats = gh.get("/_fake/stats").json()
    assert stats["max_in_flight"][token_id(TOKEN)] == 4
    gh.post("/_fake/reset")
    assert gh.get("/_fake/stats").json()["max_in_flight"] == {}


def test_requests_beyond_the_concurrency_cap_are_refused_at_once() -> None:
    config = FakeConfig(max_concurrent_per_token=2, faults=FaultConfig(latency_ms=400, retry_after_s=0))
    with FakeGitHubServer(shared_dataset(), config) as s:
        # Refused at once: both refusals come back while the admitted two still wait out
        # their latency (an order, not a duration: it holds on any machine).
        assert _in_completion_order(s.url, 4) == [403, 403, 200, 200]
        stats = httpx.get(f"{s.url}/_fake/stats").json()
        assert stats["faults"]["concurrency"] == 2 and stats["max_in_flight"][token_id(TOKEN)] >= 3


# --- caps --------------------------------------------------------------------------------------


def _huge_pull(ds: Dataset) -> FakePull:
    return max(ds.pulls_by("huge-hugo"), key=lambda p: p.changed_files)


def test_rest_lists_at_most_3000_files(gh: httpx.Client) -> None:
    huge = _huge_pull(shared_dataset())
    path = f"/repos/{huge.repo}/pulls/{huge.number}"
    assert gh.get(path).json()["changed_files"] == 3400
    first = gh.get(f"{path}/files", params={"per_page": 100})
    assert 'page=30>; rel="last"' in first.headers["link"]
    last = gh.get(f"{path}/files", params={"per_page": 100, "page": 30})
    assert len(last.json()) == 100 and 'rel="next"' not in last.headers["link"]
    assert gh.get(f"{path}/files", params={"per_page": 100, "page": 31}).json() == []


def test_graphql_files_are_capped_at_3000_but_changed_files_is_true(gh: httpx.Client) -> None:
    huge = _huge_pull(shared_dataset())
    query = """query($q: String!) {
      search(query: $q, type: ISSUE, first: 1) { nodes { ... on PullRequest { changedFiles
        files(first: 100, after: "Y3Vyc29yOjI5OTk=") { totalCount nodes { path } pageInfo { hasNextPage } }
      } } } }"""  # the cursor is position 2,999
    body = _graphql(gh, query, q=f"repo:{huge.repo} author:huge-hugo {huge.title.split()[0]}").json()
    [node] = body["data"]["search"]["nodes"]
    assert node["changedFiles"] == 3400 and node["files"]["totalCount"] == 3000
    assert len(node["files"]["nodes"]) == 1 and node["files"]["pageInfo"]["hasNextPage"] is False


def test_stargazer_pagination_stops_at_page_400(gh: httpx.Client) -> None:
    first = gh.get("/repos/star-rocket/rocket/stargazers", params={"per_page": 1})
    assert 'page=400>; rel="last"' in first.headers["link"]
    assert (
        gh.get("/repos/star-rocket/rocket/stargazers", params={"per_page": 1, "page": 400}).status_code == 200
    )
    refused = gh.get("/repos/star-rocket/rocket/stargazers", params={"per_page": 1, "page": 401})
    assert refused.status_code == 422
    assert refused.json() == {
        "message": "In order to keep the API fast for everyone, pagination is limited for this resource. "
        "Check the rel=last link relation in the Link response header to see how far back you can traverse.",
        "documentation_url": "https://docs.github.com/v3/#pagination",
    }


# --- admin --------------------------------------------------------------------------------------


def test_fault_admin_lists_and_accepts_every_new_key(gh: httpx.Client) -> None:
    new = {"rate_limit_next": 3, "rate_limited_next": 1, "rate_limit_reset_s": 9, "secondary_200_next": 2,
           "secondary_200_rate": 0.5, "graphql_timeout_nodes": 1000, "graphql_timeout_next": 1,
           "graphql_timeout_s": 0.25, "graphql_timeout_style": 504, "timeout_penalty_points": 7,
           "resource_limit_nodes": 800}  # fmt: skip
    defaults = gh.get("/_fake/faults").json()
    assert set(new) <= set(defaults)
    updated = gh.post("/_fake/faults", content=json.dumps(new)).json()
    assert {k: updated[k] for k in new} == new
    assert gh.post("/_fake/faults", json={"rate_limit_next": "3"}).status_code == 400
