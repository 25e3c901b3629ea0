"""GitHub as it really answers, not as a friendly fake would: every case refreshes whole.

Each test turns on one of the fake GitHub's switches (or uses the data it carries for
real GitHub's hard cases: a dormant user, private repositories, an organisation that
enforces SAML, a PR past REST's 3,000-file cap), refreshes a user through a real
`Refresher` over HTTP, and checks what a reader would notice: the refresh succeeds and
the published `report.json` equals what the fake's raw dataset implies (less what GitHub
hid, which the report states). Waits are the rig's injected clock: no real sleeping.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitbrag.fakegithub.dataset import PRIVATE_ORG, SAML_ORG, build_dataset
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.models import PERIODS, Login
from tests.support import DEMO_USERS, REFRESH, clean_env
from tests.test_expected_reports import actual_report, expected_report, ts
from tests.test_faults import Rig, rig

TYPICAL = "Mona-Lisa"
PRIYA, DORA, HUGO = "private-priya", "dormant-dora", "huge-hugo"


def dataset(r: Rig | FakeGitHubServer) -> dict[str, Any]:
    url = r.gh.url if isinstance(r, Rig) else r.url
    data: dict[str, Any] = httpx.get(url + "/_fake/dataset", timeout=30).json()
    return data


def without(data: dict[str, Any], hidden: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The dataset less the PRs in repositories `hidden` says a report must not show."""
    gone = {repo["full_name"] for repo in data["repos"] if hidden(repo)}
    return data | {"pulls": [p for p in data["pulls"] if p["repo"] not in gone]}


def is_private(repo: dict[str, Any]) -> bool:
    return bool(repo["private"])


def in_saml_org(repo: dict[str, Any]) -> bool:
    return bool(repo["owner"] == SAML_ORG)


def report(r: Rig, login: str, period: str = "1_year") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((r.site / login.lower() / period / "report.json").read_text())
    return loaded


def assert_matches(r: Rig, login: str, data: dict[str, Any]) -> None:
    """Every period's published numbers equal the dataset's (by rules written out apart)."""
    for period in PERIODS:
        published = report(r, login, period)
        since, until = ts(published["since"]), ts(published["until"])
        assert since is not None and until is not None
        expected, actual = expected_report(data, login, since, until, period), actual_report(published)
        top = actual.pop("languages_top")  # the report keeps the top languages
        assert actual.pop("languages") == dict(Counter(expected.pop("languages")).most_common(top)), period
        assert actual == expected, period


async def refreshed(r: Rig, login: str) -> None:
    outcome = (await r.run(login))[login.lower()]
    assert outcome.status == "refreshed", outcome.error


def site_text(site: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in site.rglob("*") if p.is_file())


def private_traces(data: dict[str, Any], text: str) -> list[str]:
    """Names, titles and links of private work found in `text` (the profile's company, an
    organisation's public name, is not private work)."""
    repos = [r for r in data["repos"] if r["private"]]
    titles = [p["title"] for p in data["pulls"] if p["repo"] in {r["full_name"] for r in repos}]
    needles = [r["full_name"] for r in repos] + [r["name"] for r in repos] + titles + ["Confidential"]
    return [needle for needle in needles if needle in text]


# --- 1. a dormant user: nothing in 5 years, so no star history is kept -------------------------


async def test_a_dormant_user_refreshes_in_full_and_incrementally(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await refreshed(r, DORA)
        r.advance(timedelta(hours=2))
        await refreshed(r, DORA)  # incremental: its revalidation query has no star pages
        collection = await r.store.load_collection(Login(DORA))
        assert collection is not None and collection.collected_at != collection.full_collected_at
        assert_matches(r, DORA, dataset(r))
        assert report(r, DORA, "5_years")["total_prs"] == 0 < report(r, DORA, "all_time")["total_prs"]


# --- 2. GraphQL's primary limit as GitHub sends it now ---------------------------------------------


@pytest.mark.parametrize("switch", ["rate_limit_next", "rate_limited_next"])
async def test_graphql_primary_limit_rests_until_the_reset(tmp_path: Path, switch: str) -> None:
    async with rig(tmp_path) as r:
        r.faults(**{switch: 2})
        await refreshed(r, TYPICAL)
        assert r.gh.app_state.stats.faults["graphql_rate_limit"] == 2
        assert any(s >= 1 for s in r.waits.sleeps)  # it rested until x-ratelimit-reset
        assert_matches(r, TYPICAL, dataset(r))


# --- 3. secondary limits answered with HTTP 200 ----------------------------------------------------


@pytest.mark.parametrize(("retry_after", "waits"), [(0, [60, 120]), (30, [30, 30])])
async def test_a_secondary_limit_with_status_200_is_waited_out(
    tmp_path: Path, retry_after: int, waits: list[int]
) -> None:
    async with rig(tmp_path) as r:
        r.faults(secondary_200_next=2, retry_after_s=retry_after)
        await refreshed(r, TYPICAL)
        assert r.gh.app_state.stats.faults["secondary_200"] == 2
        assert [round(s) for s in r.waits.sleeps if s >= 10] == waits
        assert_matches(r, TYPICAL, dataset(r))


# --- 4. partial data: SAML enforcement and resource limits -----------------------------------------


async def test_pull_requests_hidden_by_saml_are_counted_not_shown_nor_retried(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        data = dataset(r)
        saml_prs = sum(
            1 for p in data["pulls"] if p["author"] == PRIYA and p["repo"].startswith(SAML_ORG + "/")
        )
        assert saml_prs > 0
        for _ in range(2):  # full, then incremental
            await refreshed(r, PRIYA)
            for period in PERIODS:
                assert report(r, PRIYA, period)["hidden_by_github"] == [{"reason": "saml", "count": saml_prs}]
            assert_matches(r, PRIYA, without(data, lambda repo: is_private(repo) or in_saml_org(repo)))
            r.advance(timedelta(hours=2))
        assert r.client.usage.retries == 0 and r.waits.sleeps == []  # nothing resent
        page = (r.site / PRIYA / "1_year" / "index.html").read_text()
        assert "SAML" in page and SAML_ORG not in page


async def test_partial_results_past_resource_limits_are_completed(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.faults(resource_limit_nodes=3000)
        await refreshed(r, TYPICAL)
        assert r.gh.app_state.stats.faults["resource_limits"] > 0
        assert_matches(r, TYPICAL, dataset(r))


# --- 5. timeouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("style", [200, 502, 504])
async def test_timed_out_queries_are_asked_again_smaller_and_the_size_is_kept(
    tmp_path: Path, style: int
) -> None:
    async with rig(tmp_path) as r:
        r.faults(graphql_timeout_nodes=3000, graphql_timeout_style=style)
        await refreshed(r, TYPICAL)
        timeouts = r.gh.app_state.stats.faults["graphql_timeout"]
        assert 0 < timeouts <= 4  # one per size that was too big, never the same query twice
        assert_matches(r, TYPICAL, dataset(r))
        collection = await r.store.load_collection(Login(TYPICAL))
        assert collection is not None and collection.search_page_size == 50
        r.advance(timedelta(hours=2))
        await refreshed(r, TYPICAL)  # the next refresh starts at the size that worked
        assert r.gh.app_state.stats.faults["graphql_timeout"] == timeouts
        assert_matches(r, TYPICAL, dataset(r))


async def test_a_query_that_times_out_at_every_size_fails_and_keeps_the_old_page(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await refreshed(r, TYPICAL)
        page = r.site / TYPICAL.lower() / "1_year" / "index.html"
        before = page.read_bytes()
        r.faults(graphql_timeout_nodes=1)
        r.advance(timedelta(hours=2))
        outcome = (await r.run(TYPICAL))[TYPICAL.lower()]
        assert outcome.status == "failed" and outcome.error and "too slow" in outcome.error
        assert page.read_bytes() == before


# --- 6. requests in flight per token -------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "cap", "users", "concurrent"),
    [("2", 2, DEMO_USERS, "8"), (None, 10, [f"user-{i:04d}" for i in range(1, 21)], "20")],
)
def test_requests_in_flight_per_token_stay_under_the_setting(
    tmp_path: Path, setting: str | None, cap: int, users: list[str], concurrent: str
) -> None:
    """Unbounded, these passes keep about 5 and 20 requests open at once for one token
    (measured: 20 with `GITBRAG_GITHUB_MAX_IN_FLIGHT=100`), twice the cap or more."""
    with FakeGitHubServer(build_dataset(extra_users=40)) as gh:
        gh.app_state.faults.update({"latency_ms": 20})
        env = clean_env(
            GITHUB_TOKEN="t", GITBRAG_GITHUB_API_URL=gh.url, GITBRAG_USERS=",".join(users),
            GITBRAG_MAX_CONCURRENT=concurrent,
        )  # fmt: skip
        if setting:
            env["GITBRAG_GITHUB_MAX_IN_FLIGHT"] = setting
        result = subprocess.run([REFRESH, "--once"], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]
        peak = max(gh.app_state.stats.as_json()["max_in_flight"].values())
        assert 1 <= peak <= cap


# --- 7. private repositories --------------------------------------------------------------------


async def test_private_work_never_reaches_the_site_by_default(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await refreshed(r, PRIYA)
        assert private_traces(dataset(r), site_text(r.site)) == []
        assert_matches(r, PRIYA, without(dataset(r), lambda repo: is_private(repo) or in_saml_org(repo)))
        assert report(r, PRIYA)["private_work"] is None


async def test_full_mode_shows_private_work_for_an_internal_site(tmp_path: Path) -> None:
    async with rig(tmp_path, private="full") as r:
        await refreshed(r, PRIYA)
        assert private_traces(dataset(r), site_text(r.site))  # the scan above would see a leak
        assert_matches(r, PRIYA, without(dataset(r), in_saml_org))


def test_counts_mode_publishes_numbers_only(tmp_path: Path) -> None:
    with FakeGitHubServer(shared_dataset()) as gh:
        data = dataset(gh)
        env = clean_env(GITHUB_TOKEN="t", GITBRAG_GITHUB_API_URL=gh.url, GITBRAG_PRIVATE="counts")
        result = subprocess.run(
            [REFRESH, "--once", "--user", PRIYA], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-2000:]
    site = tmp_path / "site"
    assert private_traces(data, site_text(site)) == []
    published = json.loads((site / PRIYA / "1_year" / "report.json").read_text())
    since, until = ts(published["since"]), ts(published["until"])
    private_prs = [
        p for p in data["pulls"] if p["author"] == PRIYA and p["repo"].startswith(PRIVATE_ORG + "/")
    ]
    counted = [p for p in private_prs if _counts(p, since, until)]
    assert published["private_work"]["total_prs"] == len(counted) > 0
    assert published["private_work"]["repo_count"] == len({p["repo"] for p in counted})
    assert "in 3 private repositories" in (site / PRIYA / "1_year" / "index.html").read_text()


def _counts(pull: dict[str, Any], since: datetime | None, until: datetime | None) -> bool:
    """The report's window rule: created or merged in the window, closed-unmerged left out."""
    assert since is not None and until is not None
    if pull["state"] == "closed" and not pull["merged"]:
        return False
    return any(t is not None and since <= t <= until for t in (ts(pull["created_at"]), ts(pull["merged_at"])))


# --- 8. GitHub's caps -----------------------------------------------------------------------------


async def test_a_pr_past_the_3000_file_cap_is_reported_with_its_languages_caveat(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await refreshed(r, HUGO)
        published = report(r, HUGO)
        assert published["prs_with_capped_files"] == 1
        rows = [p for repo in published["repositories"] for p in repo["prs"]]
        assert max(p["changed_files"] for p in rows) > 3000
        assert "3,000" in (r.site / HUGO / "1_year" / "index.html").read_text()


# --- the star index: one history per repository, not a copy per collection ------------------------


async def test_stored_collections_keep_no_star_copies_and_unchanged_refreshes_stay_cheap(
    tmp_path: Path,
) -> None:
    """steady-sam's rocket has over 1,000 stars in five years: the index keeps them once (as
    counts at his reports' boundaries, found by REST search: `starprobe`); his kept
    collection holds none, and an unchanged refresh still costs 2 points, no REST request,
    and publishes the same exact star increases."""
    async with rig(tmp_path) as r:
        await refreshed(r, "steady-sam")
        kept = await r.store.load_collection(Login("steady-sam"))
        assert kept is not None and kept.stars == {}
        indexed = await r.store.load_star_histories(["star-rocket/rocket"])
        assert indexed["star-rocket/rocket"].counted
        r.advance(timedelta(hours=2))
        points, rest = r.gh.app_state.stats.cost["graphql"], r.gh.app_state.stats.cost["core"]
        await refreshed(r, "steady-sam")
        assert r.gh.app_state.stats.cost["graphql"] - points == 2
        assert r.gh.app_state.stats.cost["core"] == rest  # the moved boundaries: in the pages read
        assert_matches(r, "steady-sam", dataset(r))
