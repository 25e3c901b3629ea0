"""The fake GitHub's REST API over real HTTP: GitHub's shapes, pagination, search cap,
conditional requests, rate limits, fault injection and the admin endpoints."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gitbrag.fakegithub.app import FakeConfig
from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.faults import FaultConfig
from gitbrag.fakegithub.limits import LimitConfig
from gitbrag.fakegithub.server import FakeGitHubServer, running_fake, shared_dataset

TOKEN = "ghp_test_token_never_shown"
AUTH = {"Authorization": f"token {TOKEN}"}
STAR_JSON = {"Accept": "application/vnd.github.star+json"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitHubServer]:
    """One read-only server for the module; `gh` resets its stats and budgets per test."""
    with running_fake() as s:
        yield s


@pytest.fixture
def gh(server: FakeGitHubServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as client:
        client.post("/_fake/reset")
        yield client


def _small_server(**config: object) -> FakeGitHubServer:
    return FakeGitHubServer(shared_dataset(), FakeConfig(**config))  # type: ignore[arg-type]


# --- shapes -------------------------------------------------------------------------------


def _types(obj: dict[str, object], expected: dict[str, type | tuple[type, ...]]) -> None:
    for key, kind in expected.items():
        assert key in obj, key
        assert isinstance(obj[key], kind), (key, obj[key])


def test_fields_the_client_reads_have_githubs_names_and_types(gh: httpx.Client) -> None:
    opt_str = (str, type(None))
    user = gh.get("/users/Mona-Lisa").json()
    _types(user, {"login": str, "name": opt_str, "avatar_url": str, "html_url": str, "bio": opt_str,
                  "company": opt_str, "location": opt_str, "blog": opt_str, "id": int, "type": str,
                  "created_at": str})  # fmt: skip
    accounts = gh.get("/users/Mona-Lisa/social_accounts").json()
    assert accounts and all(set(a) == {"provider", "url"} for a in accounts)
    repo = gh.get("/repos/star-rocket/rocket").json()
    _types(repo, {"full_name": str, "description": opt_str, "stargazers_count": int, "language": opt_str,
                  "html_url": str, "owner": dict})  # fmt: skip
    assert repo["owner"]["login"] == "star-rocket" and repo["owner"]["type"] == "Organization"
    pull_ref = shared_dataset().pulls_by("Mona-Lisa")[0]
    pull = gh.get(f"/repos/{pull_ref.repo}/pulls/{pull_ref.number}").json()
    _types(pull, {"additions": int, "deletions": int, "changed_files": int, "merged_at": opt_str,
                  "author_association": str, "merged": bool, "state": str, "user": dict, "head": dict,
                  "base": dict})  # fmt: skip
    files = gh.get(f"/repos/{pull_ref.repo}/pulls/{pull_ref.number}/files").json()
    for f in files:
        _types(f, {"filename": str, "additions": int, "deletions": int, "changes": int, "status": str})
    stars = gh.get("/repos/star-rocket/rocket/stargazers", headers=STAR_JSON).json()
    _types(stars[0], {"starred_at": str, "user": dict})
    assert isinstance(stars[0]["user"]["login"], str)
    search = gh.get("/search/issues", params={"q": "is:pr author:Mona-Lisa"}).json()
    _types(search, {"total_count": int, "incomplete_results": bool, "items": list})
    item = search["items"][0]
    _types(item, {"number": int, "title": str, "state": str, "user": dict, "author_association": str,
                  "repository_url": str, "pull_request": dict, "created_at": str})  # fmt: skip
    assert set(item["pull_request"]) >= {"url", "html_url", "diff_url", "patch_url", "merged_at"}


def test_values_match_the_dataset(gh: httpx.Client) -> None:
    ds = shared_dataset()
    p = max(ds.pulls_by("Mona-Lisa"), key=lambda p: p.changed_files)
    pull = gh.get(f"/repos/{p.repo}/pulls/{p.number}").json()
    assert (pull["additions"], pull["deletions"], pull["changed_files"]) == (p.additions, p.deletions, 130)
    assert pull["html_url"] == f"https://github.com/{p.repo}/pull/{p.number}"
    hank = gh.get("/users/hostile-hank").json()
    assert hank["blog"] == "javascript:alert(1)" and "<script>" in hank["name"] and "東京" in hank["location"]


def test_logins_and_repo_names_are_case_insensitive(gh: httpx.Client) -> None:
    assert gh.get("/users/MONA-lisa").json()["login"] == "Mona-Lisa"
    assert gh.get("/repos/Star-Rocket/ROCKET").json()["full_name"] == "star-rocket/rocket"
    lower = gh.get("/search/issues", params={"q": "is:pr author:mona-lisa"}).json()["total_count"]
    upper = gh.get("/search/issues", params={"q": "is:pr author:MONA-LISA"}).json()["total_count"]
    assert lower == upper == len(shared_dataset().pulls_by("Mona-Lisa"))


@pytest.mark.parametrize(
    "path",
    ["/users/nobody-here", "/users/nobody-here/social_accounts", "/repos/nobody/nothing",
     "/repos/star-rocket/rocket/pulls/999999", "/repos/star-rocket/rocket/pulls/999999/files",
     "/repos/nobody/nothing/stargazers", "/no/such/route"],
)  # fmt: skip
def test_not_found_looks_like_githubs(gh: httpx.Client, path: str) -> None:
    r = gh.get(path)
    assert r.status_code == 404
    body = r.json()
    assert body["message"] == "Not Found" and body["status"] == "404"
    assert body["documentation_url"].startswith("https://docs.github.com/")


# --- pagination and search ----------------------------------------------------------------


def _walk(client: httpx.Client, url: str, **kw: object) -> list[object]:
    """Follow `Link: rel="next"` like a client would."""
    items: list[object] = []
    next_url: str | None = url
    while next_url:
        r = client.get(next_url, **kw)  # type: ignore[arg-type]
        assert r.status_code == 200
        items += r.json()
        next_url = r.links.get("next", {}).get("url")
    return items


def test_stargazer_link_walk_returns_every_star_oldest_first(gh: httpx.Client) -> None:
    repo = shared_dataset().repos["star-rocket/rocket"]
    stars = _walk(gh, "/repos/star-rocket/rocket/stargazers?per_page=100", headers=STAR_JSON)
    expected = [(s.starred_at.strftime("%Y-%m-%dT%H:%M:%SZ"), s.login) for s in repo.stars]
    assert [(s["starred_at"], s["user"]["login"]) for s in stars] == expected  # type: ignore[index]
    first = gh.get("/repos/star-rocket/rocket/stargazers", params={"page": 2})
    assert [u["login"] for u in first.json()] == [s.login for s in repo.stars[30:60]]  # default per_page 30
    assert set(first.links) == {"prev", "next", "last", "first"}
    assert first.links["last"]["url"].endswith(f"page={(len(repo.stars) + 29) // 30}")


def test_pr_files_are_paginated(gh: httpx.Client) -> None:
    p = max(shared_dataset().pulls_by("Mona-Lisa"), key=lambda p: p.changed_files)
    files = _walk(gh, f"/repos/{p.repo}/pulls/{p.number}/files?per_page=100")
    assert [f["filename"] for f in files] == [f.filename for f in p.files]  # type: ignore[index]


def test_search_serves_only_the_first_1000_results(gh: httpx.Client) -> None:
    ds = shared_dataset()
    since = (ds.anchor - timedelta(days=365)).strftime("%Y-%m-%d")
    q = f"is:pr author:prolific-pat created:>={since}"
    expected = sum(p.created_at >= ds.anchor - timedelta(days=365) for p in ds.pulls_by("prolific-pat"))
    seen: list[int] = []
    for page in range(1, 11):
        r = gh.get("/search/issues", params={"q": q, "per_page": 100, "page": page, "sort": "created"})
        body = r.json()
        assert r.status_code == 200 and body["total_count"] == expected > 1000
        assert body["incomplete_results"] is False
        seen += [i["id"] for i in body["items"]]
    assert len(seen) == len(set(seen)) == 1000
    assert 'rel="next"' not in r.headers["link"]  # page 10 is the last reachable page
    beyond = gh.get("/search/issues", params={"q": q, "per_page": 100, "page": 11})
    assert beyond.status_code == 422
    assert beyond.json()["message"] == "Only the first 1000 search results are available"


def test_search_filters_and_sorts_like_github(gh: httpx.Client) -> None:
    ds = shared_dataset()
    pulls = ds.pulls_by("Mona-Lisa")
    a, b = ds.anchor - timedelta(days=730), ds.anchor - timedelta(days=365)
    q = f"is:pr author:Mona-Lisa is:merged merged:{a:%Y-%m-%d}..{b:%Y-%m-%d}"
    expected = [p for p in pulls if p.merged_at and a <= p.merged_at < b + timedelta(days=1)]
    items = _walk_search(gh, q, sort="created", order="asc")
    assert [i["id"] for i in items] == [p.id for p in sorted(expected, key=lambda p: p.created_at)]
    assert all(i["pull_request"]["merged_at"] for i in items)
    bad = gh.get("/search/issues", params={"q": "is:pr author:no-such-user-xyz"})
    assert bad.status_code == 422
    assert gh.get("/search/issues").status_code == 422


def _walk_search(gh: httpx.Client, q: str, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in range(1, 11):
        body = gh.get("/search/issues", params={"q": q, "per_page": 100, "page": page, **params}).json()
        items += body["items"]
        if len(items) >= min(body["total_count"], 1000):
            return items
    return items


# --- conditional requests and rate limits -----------------------------------------------


def test_matching_etag_gets_a_free_304(gh: httpx.Client) -> None:
    first = gh.get("/users/steady-sam")
    etag = first.headers["etag"]
    again = gh.get("/users/steady-sam", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    assert gh.get("/users/steady-sam", headers={"If-None-Match": '"stale"'}).status_code == 200
    stats = gh.get("/_fake/stats").json()
    assert stats["not_modified"] == 1 and stats["cost"]["core"] == 2


def test_changed_data_changes_the_etag() -> None:
    with FakeGitHubServer(build_dataset(anchor=datetime(2025, 1, 1, tzinfo=UTC))) as s:
        url = f"{s.url}/repos/star-rocket/rocket"
        etag = httpx.get(url).headers["etag"]
        s.app_state.add_star("star-rocket/rocket", "new-fan")
        r = httpx.get(url, headers={"If-None-Match": etag})
        assert r.status_code == 200 and r.json()["stargazers_count"] == 3001
        pull = s.app_state.add_pull("star-rocket/rocket", "steady-sam", title="Brand new")
        found = httpx.get(f"{s.url}/repos/star-rocket/rocket/pulls/{pull.number}").json()
        assert found["title"] == "Brand new" and found["user"]["login"] == "steady-sam"


def test_rate_limit_headers_count_down_to_a_403_and_reset() -> None:
    now = [1_700_000_000.0]
    with _small_server(limits=LimitConfig(core=3, search=2), clock=lambda: now[0]) as s:
        c = httpx.Client(base_url=s.url, headers=AUTH)
        remaining = [c.get("/users/zero-zoe").headers["x-ratelimit-remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        refused = c.get("/users/zero-zoe")
        assert refused.status_code == 403
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert refused.headers["x-ratelimit-resource"] == "core"
        assert refused.json()["message"].startswith("API rate limit exceeded")
        assert int(refused.headers["x-ratelimit-reset"]) == int(now[0]) + 3600
        # search has its own budget
        assert c.get("/search/issues", params={"q": "author:zero-zoe"}).headers["x-ratelimit-limit"] == "2"
        assert c.get("/rate_limit").json()["resources"]["core"]["remaining"] == 0  # and costs nothing
        now[0] += 3600  # the window resets on GitHub's schedule
        assert c.get("/users/zero-zoe").headers["x-ratelimit-remaining"] == "2"
        c.get("/users/zero-zoe")
        c.get("/users/zero-zoe")
        assert c.get("/users/zero-zoe").status_code == 403
        assert c.post("/_fake/reset").status_code == 200
        assert c.get("/users/zero-zoe").status_code == 200


def test_budgets_are_per_token_and_anonymous_is_smaller(server: FakeGitHubServer, gh: httpx.Client) -> None:
    other = {"Authorization": "Bearer another-token"}
    gh.get("/users/zero-zoe")
    gh.get("/users/zero-zoe", headers=other)
    gh.get("/users/zero-zoe", headers=other)
    anon = httpx.get(f"{server.url}/users/zero-zoe")
    assert anon.headers["x-ratelimit-limit"] == "60"
    stats = gh.get("/_fake/stats").json()
    assert sorted(c["core"] for c in stats["tokens"].values()) == [1, 1, 2]
    assert TOKEN not in json.dumps(stats) and "another-token" not in json.dumps(stats)
    assert stats["requests"]["GET /users/{username}"] == 4


def test_bad_and_revoked_tokens_get_401() -> None:
    config = {"valid_tokens": frozenset({TOKEN, "revoked"}), "revoked_tokens": frozenset({"revoked"})}
    with _small_server(**config) as s:
        assert httpx.get(f"{s.url}/users/zero-zoe", headers=AUTH).status_code == 200
        for token in ("wrong", "revoked"):
            r = httpx.get(f"{s.url}/users/zero-zoe", headers={"Authorization": f"token {token}"})
            assert r.status_code == 401 and r.json()["message"] == "Bad credentials"
        assert httpx.post(f"{s.url}/graphql", json={"query": "{ viewer { login } }"}).status_code == 401


def test_graphql_is_charged_in_points_with_rate_headers(gh: httpx.Client) -> None:
    r = gh.post("/graphql", json={"query": "{ rateLimit { cost remaining } }"})
    assert r.status_code == 200 and r.headers["x-ratelimit-resource"] == "graphql"
    assert r.headers["x-ratelimit-used"] == "1"
    assert gh.get("/_fake/stats").json()["graphql_points"] == 1


# --- faults ---------------------------------------------------------------------------------


def test_injected_5xx_and_secondary_limits(gh: httpx.Client) -> None:
    try:
        gh.post("/_fake/faults", json={"error_rate": 1.0, "seed": 7})
        statuses = {gh.get("/users/zero-zoe").status_code for _ in range(12)}
        assert statuses == {502, 503}
        gh.post("/_fake/faults", json={"error_rate": 0, "secondary_next": 1, "retry_after_s": 42})
        limited = gh.get("/users/zero-zoe")
        assert limited.status_code == 403 and limited.headers["retry-after"] == "42"
        assert "secondary rate limit" in limited.json()["message"]
        assert int(limited.headers["x-ratelimit-remaining"]) > 0  # how clients tell it from the primary limit
        assert gh.get("/users/zero-zoe").status_code == 200
        gh.post("/_fake/faults", json={"malformed_next": 1})
        with pytest.raises(json.JSONDecodeError):
            gh.get("/users/zero-zoe").json()
        assert gh.get("/_fake/stats").json()["faults"] == {"error": 12, "secondary": 1, "malformed": 1}
        assert gh.post("/_fake/faults", json={"no_such_fault": 1}).status_code == 400
    finally:
        gh.delete("/_fake/faults")


def test_secondary_limit_bursts_refuse_several_requests() -> None:
    with _small_server(faults=FaultConfig(secondary_rate=1.0, secondary_burst=3)) as s:
        c = httpx.Client(base_url=s.url, headers=AUTH)
        assert all(c.get("/users/zero-zoe").status_code == 403 for _ in range(3))
        c.post("/_fake/faults", json={"secondary_rate": 0})
        assert c.get("/users/zero-zoe").status_code == 200


def test_latency_and_timeouts(gh: httpx.Client) -> None:
    try:
        gh.post("/_fake/faults", json={"latency_ms": 120})
        start = time.perf_counter()
        assert gh.get("/users/zero-zoe").status_code == 200
        assert time.perf_counter() - start >= 0.12
        gh.post("/_fake/faults", json={"latency_ms": 0, "timeout_next": 1, "timeout_s": 0.5})
        with pytest.raises(httpx.ReadTimeout):
            gh.get("/users/zero-zoe", timeout=0.1)
    finally:
        gh.delete("/_fake/faults")


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_serves_the_demo_dataset_in_the_foreground() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitbrag.fakegithub.cli", "--port", "0", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        for _ in range(100):  # uvicorn accepts shortly after the URL is printed
            try:
                r = httpx.get(f"{url}/users/zero-zoe")
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert r.json()["login"] == "zero-zoe"
        assert "Mona-Lisa" in line
    finally:
        proc.terminate()
        proc.wait(10)
