"""The fake's `real` population (issue 12): GitHub-shaped star counts and users beside the
demo users, compact stars that stay the truth in REST, GraphQL and `/_fake/dataset`, and
`POST /_fake/churn`, realistic change that is deterministic and invalidates ETags.

Start-up time is measured by hand (see README), not asserted: it depends on the machine."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gitbrag.fakegithub.app import FakeConfig
from gitbrag.fakegithub.churn import churn
from gitbrag.fakegithub.dataset import REALISM_USERS, build_dataset, dataset_json_chunks, dataset_to_json
from gitbrag.fakegithub.population import GIANTS, MAX, TINA
from gitbrag.fakegithub.records import CompactStars, Dataset
from gitbrag.fakegithub.server import FakeGitHubServer

ANCHOR = datetime(2025, 6, 1, tzinfo=UTC)
NOW = ANCHOR + timedelta(hours=10)  # the fake's clock in these tests: a fixed moment after the anchor
YEAR = timedelta(days=365)
AUTH = {"Authorization": "token ghp_population_test"}
STAR_JSON = {"Accept": "application/vnd.github.star+json", **AUTH}
GIANT_NAMES = [f"{owner}/{name}" for owner, name, *_ in GIANTS]
STARGAZERS = """query($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    stargazers(first: 100, after: $after, orderBy: {field: STARRED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { starredAt node { login } }
    }
  }
}"""


@pytest.fixture(scope="module")
def real() -> Dataset:
    """Read-only: tests that churn or unstar build their own."""
    return build_dataset(anchor=ANCHOR, population="real")


def _ordinary(ds: Dataset) -> list[str]:
    return [u.login for u in ds.users.values() if u.login.startswith("real-")]


def _fingerprint(ds: Dataset) -> str:
    """Every star and every PR's identity, state and timestamps, hashed: cheap to compare."""
    h = hashlib.sha256()
    for key, r in ds.repos.items():
        h.update(f"{key}:{r.id}:{r.created_at}:{len(r.stars)}".encode())
        if isinstance(r.stars, CompactStars):
            h.update(r.stars.times.tobytes())
            h.update(b"".join(s.login.encode() for s in r.stars[-50:]))
    for p in ds.pulls:
        h.update(
            f"{p.id}{p.repo}{p.number}{p.author}{p.state}{p.created_at}{p.closed_at}{p.merged_at}".encode()
        )
    return h.hexdigest()


# --- shape ---------------------------------------------------------------------------------


def test_population_is_opt_in_and_leaves_every_other_record_alone(real: Dataset) -> None:
    default = build_dataset(anchor=ANCHOR)
    assert default.user(TINA) is None and default.user("real-0001") is None
    named = [*default.demo_users, *REALISM_USERS]
    assert dataset_to_json(real, named) == dataset_to_json(default, named)
    assert real.demo_users == default.demo_users
    assert all(real.repo(k) is not None for k in default.repos)
    with pytest.raises(ValueError, match="unknown population"):
        build_dataset(anchor=ANCHOR, population="huge")


def test_giants_are_old_huge_and_still_growing(real: Dataset) -> None:
    for full_name in GIANT_NAMES:
        r = real.repo(full_name)
        assert r is not None and isinstance(r.stars, CompactStars)
        assert len(r.stars) > 150_000
        assert 8 * 365 - 30 <= (ANCHOR - r.created_at).days <= 12 * 365 + 30
        last_year = r.stars.count_since(int((ANCHOR - YEAR).timestamp()))
        assert 25 * 365 <= last_year <= 60 * 365  # thousands a year: ~40 a day
        times = r.stars.times
        assert all(times[k] <= times[k + 1] for k in range(len(times) - 1))
        assert times[0] >= r.created_at.timestamp() and times[-1] < ANCHOR.timestamp()
    colossus = real.repo(GIANT_NAMES[0])
    assert colossus is not None and len({s.login for s in colossus.stars}) == len(colossus.stars)


def test_star_counts_are_heavy_tailed(real: Dataset) -> None:
    default = build_dataset(anchor=ANCHOR)
    counts = sorted((len(r.stars) for k, r in real.repos.items() if k not in default.repos), reverse=True)
    assert len(counts) > 2000
    assert sum(c > 150_000 for c in counts) == len(GIANTS)
    assert 25 <= sum(5_000 <= c <= 40_000 for c in counts) <= 60
    assert counts[len(counts) // 2] <= 5  # most repositories have next to no stars ...
    assert sum(c == 0 for c in counts) > len(counts) // 5
    assert 10 <= sum(100 <= c < 5_000 for c in counts) <= len(counts) // 5  # ... a few have hundreds
    assert 1_500_000 < sum(counts) < 3_500_000


def test_typical_tina_and_maintainer_max(real: Dataset) -> None:
    tina = real.pulls_by(TINA)
    assert 280 <= len(tina) <= 320
    assert 55 <= len({p.repo for p in tina}) <= 65
    assert sum(1 for name in GIANT_NAMES if any(p.repo == name for p in tina)) == 2
    most = real.pulls_by(MAX)
    assert 19_000 <= len(most) <= 21_000
    assert 380 <= len({p.repo for p in most}) <= 420
    span = max(p.created_at for p in most) - min(p.created_at for p in most)
    assert 11 * 365 <= span.days <= 12 * 365
    assert sum(p.changed_files >= 100 for p in most) >= 30
    assert max(p.changed_files for p in most) >= 500


def test_ordinary_users_look_like_real_contributors(real: Dataset) -> None:
    logins = _ordinary(real)
    assert len(logins) == 1000 and logins[0] == "real-0001" and logins[-1] == "real-1000"
    counts = {login: len(real.pulls_by(login)) for login in logins}
    ranked = sorted(counts.values(), reverse=True)
    assert ranked[0] > 500 and ranked[len(ranked) // 2] < 30  # power law: a few do most
    assert 100 <= sum(1 <= c <= 6 for c in ranked) <= 600  # occasional contributors
    five_years_ago = ANCHOR - 5 * YEAR
    dormant = [
        u for u in logins if counts[u] and max(p.created_at for p in real.pulls_by(u)) < five_years_ago
    ]
    assert len(dormant) >= 50
    contributors: Counter[str] = Counter(
        p.repo for p in {(p.author, p.repo): p for p in real.pulls if p.author.startswith("real-")}.values()
    )
    assert all(contributors[name] >= 100 for name in GIANT_NAMES)  # many contributors in the giants


def test_records_stay_consistent(real: Dataset) -> None:
    assert len({p.id for p in real.pulls}) == len(real.pulls)
    assert len({(p.repo.lower(), p.number) for p in real.pulls}) == len(real.pulls)
    assert len({u.id for u in real.users.values()}) == len(real.users)
    for p in real.pulls:
        assert p.created_at <= p.updated_at <= ANCHOR
        repo = real.repo(p.repo)
        assert repo is not None and repo.created_at < p.created_at
        assert real.user(p.author) is not None


def test_same_seed_and_anchor_give_the_same_population(real: Dataset) -> None:
    assert _fingerprint(build_dataset(anchor=ANCHOR, population="real")) == _fingerprint(real)


def test_dataset_chunks_are_the_same_bytes_as_the_whole_document() -> None:
    default = build_dataset(anchor=ANCHOR)
    whole = json.dumps(dataset_to_json(default), ensure_ascii=False, separators=(",", ":")).encode()
    assert b"".join(dataset_json_chunks(default)) == whole
    assert json.loads(b"".join(dataset_json_chunks(default, ["zero-zoe"]))) == dataset_to_json(
        default, ["zero-zoe"]
    )


# --- served over HTTP, and churned -----------------------------------------------------------------


@pytest.fixture(scope="module")
def churned() -> Iterator[tuple[FakeGitHubServer, Dataset, dict[str, Any]]]:
    """A fresh real population served with the clock at NOW, before/after counts of one churn."""
    ds = build_dataset(anchor=ANCHOR, population="real")
    with FakeGitHubServer(ds, FakeConfig(clock=NOW.timestamp)) as server:
        yield server, ds, {}


def _rest_stargazers(gh: httpx.Client, full_name: str) -> list[tuple[str, str]]:
    stars: list[tuple[str, str]] = []
    page = 1
    while True:
        r = gh.get(
            f"/repos/{full_name}/stargazers", params={"per_page": 100, "page": page}, headers=STAR_JSON
        )
        assert r.status_code == 200
        stars += [(s["starred_at"], s["user"]["login"]) for s in r.json()]
        if 'rel="next"' not in r.headers.get("link", ""):
            return stars
        page += 1


def _graphql_stargazers(gh: httpx.Client, full_name: str) -> tuple[int, list[tuple[str, str]]]:
    owner, name = full_name.split("/")
    stars: list[tuple[str, str]] = []
    after = None
    while True:
        variables = {"owner": owner, "name": name, "after": after}
        body = gh.post("/graphql", json={"query": STARGAZERS, "variables": variables}, headers=AUTH).json()
        page = body["data"]["repository"]["stargazers"]
        stars += [(e["starredAt"], e["node"]["login"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return page["totalCount"], stars[::-1]
        after = page["pageInfo"]["endCursor"]


def _mid_size_repo(ds: Dataset) -> str:
    """A real-population repository small enough for REST to list every stargazer."""
    return next(
        r.full_name
        for r in ds.repos.values()
        if isinstance(r.stars, CompactStars) and 2000 < len(r.stars) < 3500
    )


def test_churn_adds_and_removes_stars_at_each_repositorys_rate(
    churned: tuple[FakeGitHubServer, Dataset, dict[str, Any]],
) -> None:
    server, ds, _ = churned
    before = {k: len(r.stars) for k, r in ds.repos.items()}
    pulls_before = len(ds.pulls)
    with httpx.Client(base_url=server.url, timeout=30) as gh:
        r = gh.get(f"/repos/{GIANT_NAMES[0]}", headers=AUTH)
        etag = r.headers["etag"]
        assert gh.get(f"/repos/{GIANT_NAMES[0]}", headers={**AUTH, "If-None-Match": etag}).status_code == 304
        summary = gh.post("/_fake/churn", json={"days": 10}).json()
        again = gh.get(f"/repos/{GIANT_NAMES[0]}", headers={**AUTH, "If-None-Match": etag})
        assert again.status_code == 200 and again.headers["etag"] != etag  # the churn invalidated ETags
        assert again.json()["stargazers_count"] == len(ds.repos[GIANT_NAMES[0]].stars)
        assert gh.post("/_fake/churn", json={"days": "ten"}).status_code == 400
        assert gh.post("/_fake/churn", json={"days": 0}).status_code == 400
    after = {k: len(r.stars) for k, r in ds.repos.items()}
    assert sum(after.values()) - sum(before.values()) == summary["stars_added"] - summary["stars_removed"]
    assert summary["now"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ") and summary["days"] == 10
    for (_, _, _, per_day, _), name in zip(GIANTS, GIANT_NAMES, strict=True):
        gained = after[name] - before[name]
        assert 10 * per_day * 0.6 <= gained <= 10 * per_day * 1.1  # ~40 a day in, a few a day out
    assert summary["stars_removed"] >= 10 * 10  # every giant loses a few a day
    assert len(ds.pulls) - pulls_before == summary["pulls_opened"] > 50
    assert summary["pulls_merged"] + summary["pulls_closed"] > 0


def test_churn_timestamps_lie_in_the_window_and_never_after_now(
    churned: tuple[FakeGitHubServer, Dataset, dict[str, Any]],
) -> None:
    _, ds, _ = churned
    now = NOW.timestamp()
    for r in ds.repos.values():
        if isinstance(r.stars, CompactStars):
            assert not r.stars.times or r.stars.times[-1] <= now
        else:
            assert all(s.starred_at <= NOW for s in r.stars)
        assert r.updated_at <= NOW
    for p in ds.pulls:
        assert p.created_at <= p.updated_at <= NOW
        assert p.closed_at is None or p.created_at <= p.closed_at <= NOW
        assert (p.state == "open") == (p.closed_at is None)
    new = [p for p in ds.pulls if p.created_at > ANCHOR]
    assert new and all(p.created_at >= NOW - timedelta(days=10) for p in new)
    giant = ds.repos[GIANT_NAMES[0]].stars
    assert isinstance(giant, CompactStars)
    assert giant.count_since(int(ANCHOR.timestamp())) > 0  # stars after the anchor: the churned ones


def test_unstars_leave_rest_and_graphql_alike(
    churned: tuple[FakeGitHubServer, Dataset, dict[str, Any]],
) -> None:
    server, ds, _ = churned
    name = _mid_size_repo(ds)
    before = {s.login for s in ds.repos[name.lower()].stars}
    with httpx.Client(base_url=server.url, timeout=30) as gh:
        gh.post("/_fake/churn", json={"days": 365})
        victim = ds.repos[name.lower()].stars[5].login  # a derived stargazer, decoded back by `remove_star`
        server.app_state.remove_star(name, victim)
        server.app_state.add_star(name, "named-fan", NOW - timedelta(days=400))
        rest = _rest_stargazers(gh, name)
        total, graphql = _graphql_stargazers(gh, name)
    truth = [(s.starred_at.strftime("%Y-%m-%dT%H:%M:%SZ"), s.login) for s in ds.repos[name.lower()].stars]
    assert rest == graphql == truth and total == len(truth)
    logins = {login for _, login in rest}
    assert victim not in logins and "named-fan" in logins
    assert before - logins  # the churn's unstars are gone from both APIs
    assert len(logins) == len(rest)
    server.app_state.remove_star(name, "named-fan")
    assert all(s.login != "named-fan" for s in ds.repos[name.lower()].stars)


def test_dataset_endpoint_streams_the_truth(
    churned: tuple[FakeGitHubServer, Dataset, dict[str, Any]],
) -> None:
    server, ds, _ = churned
    with httpx.Client(base_url=server.url, timeout=120) as gh:
        body = gh.get("/_fake/dataset", params={"users": TINA}).json()
        size = 0
        with gh.stream("GET", "/_fake/dataset") as response:
            assert response.status_code == 200 and "content-length" not in response.headers
            for chunk in response.iter_bytes():
                size += len(chunk)
    assert size > 50_000_000
    repos = {r["full_name"]: r for r in body["repos"]}
    assert sum(name in repos for name in GIANT_NAMES) == 2
    for name, r in repos.items():
        stars = ds.repos[name.lower()].stars
        assert r["stargazers_count"] == len(r["starred_at"]) == len(stars)
        assert r["starred_at"][-1:] == [s.starred_at.strftime("%Y-%m-%dT%H:%M:%SZ") for s in stars[-1:]]
    assert len(body["pulls"]) == len(ds.pulls_by(TINA))


def test_churn_is_deterministic_given_seed_and_calls() -> None:
    def run(days: list[int]) -> str:
        ds = build_dataset(anchor=ANCHOR, population="real")
        for k, n in enumerate(days):
            churn(ds, n, NOW + timedelta(days=k))
        return _fingerprint(ds)

    twice = run([3, 30])
    assert run([3, 30]) == twice
    assert run([33]) != twice  # each call has its own random stream and window


def test_churn_works_on_the_demo_dataset_too() -> None:
    ds = build_dataset(anchor=ANCHOR)
    rocket = ds.repos["star-rocket/rocket"]
    count = len(rocket.stars)
    summary = churn(ds, 30, NOW)
    assert summary.stars_added > 0 and len(rocket.stars) > count  # ~3.8 a day
    assert isinstance(rocket.stars, list)
    assert [s.starred_at for s in rocket.stars] == sorted(s.starred_at for s in rocket.stars)
    assert len({s.login for s in rocket.stars}) == len(rocket.stars)
    assert all(p.updated_at <= NOW for p in ds.pulls)


def test_churn_dates_nothing_before_the_last_answered_request() -> None:
    """A change on GitHub is dated when it happens, after whatever a client read before it:
    churn never puts a new pull request, a state change or a star behind the fake's last answer
    (a client would never see it: that is the search index's lag, a fault of its own)."""
    ds = build_dataset(anchor=ANCHOR)
    clock = [ANCHOR.timestamp() + 6 * 3600]
    with (
        FakeGitHubServer(ds, FakeConfig(clock=lambda: clock[0])) as server,
        httpx.Client(base_url=server.url, timeout=30) as gh,
    ):
        assert gh.get("/users/Mona-Lisa", headers=AUTH).status_code == 200
        read = datetime.fromtimestamp(clock[0], UTC)
        clock[0] += 3600
        summary = gh.post("/_fake/churn", json={"days": 1}).json()
    assert summary["pulls_opened"] + summary["pulls_merged"] + summary["pulls_closed"] > 0
    changed = [p for p in ds.pulls if p.updated_at > ANCHOR]
    assert changed and all(p.updated_at > read for p in changed)


def test_a_lagging_search_index_shows_changes_only_once_it_catches_up() -> None:
    """`search_lag_seconds`: a new pull request is not found yet, a merged one still shows open."""
    ds = build_dataset(anchor=ANCHOR)
    clock = [NOW.timestamp()]
    query = {"q": "is:pr author:steady-sam", "per_page": 100}
    with (
        FakeGitHubServer(ds, FakeConfig(clock=lambda: clock[0])) as server,
        httpx.Client(base_url=server.url, timeout=30) as gh,
    ):
        pull = next(p for p in ds.pulls_by("steady-sam") if p.state == "open")
        server.app_state.set_pull_state(pull.repo, pull.number, "merged", at=NOW - timedelta(minutes=10))
        new = server.app_state.add_pull(pull.repo, "steady-sam", created_at=NOW - timedelta(minutes=5))
        gh.post("/_fake/faults", json={"search_lag_seconds": 3600}).raise_for_status()
        lagging = {i["id"]: i for i in gh.get("/search/issues", params=query, headers=AUTH).json()["items"]}
        assert new.id not in lagging and lagging[pull.id]["state"] == "open"
        clock[0] += 3600
        caught_up = {i["id"]: i for i in gh.get("/search/issues", params=query, headers=AUTH).json()["items"]}
        assert new.id in caught_up and caught_up[pull.id]["pull_request"]["merged_at"] is not None
