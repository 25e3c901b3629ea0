"""Stargazers GitHub refuses (issue 28: "stars still exact"): since GitHub's 2026-06-30
changelog a repository's list of stargazers is for its admins and collaborators. The fake
refuses GraphQL's `Repository.stargazers` as GitHub refuses a field (`stargazers_restricted_graphql`):
HTTP 200, FORBIDDEN at `[rN, "stargazers"]`, the repository's node null beside the others';
and its REST list too (`stargazers_restricted`: 403), as the changelog restricts both.

Mona-Lisa's token administers her own repositories (`FakeConfig.token_owners`), not the
organisations' she contributes to. Every refresh must publish; pull request figures and the
stars of her own repositories are exact; the others' stars gained are "not available" (never
0, never a guess) on the page and in report.json, their all-time stargazer counts stay; the
star index holds nothing for them; and each is asked once per refresh, not retried.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from gitbrag.coordination import SQLiteStore
from gitbrag.fakegithub.app import FakeConfig
from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.server import FakeGitHubServer
from gitbrag.github.client import GitHubClient
from gitbrag.github.points import PointBudget
from gitbrag.models import PERIODS
from gitbrag.publish.publisher import Publisher
from gitbrag.refresh import Refresher
from tests.clock import Clock
from tests.github.test_star_upkeep import MONA as UPKEEP_MONA
from tests.github.test_star_upkeep import SMALL_GIANTS, small_world
from tests.github.test_star_upkeep import published as upkeep_published
from tests.github.test_star_upkeep import served as upkeep_served
from tests.test_expected_reports import actual_report, expected_report, ts

ANCHOR = datetime(2026, 6, 1, tzinfo=UTC)
TOKEN = "ghp_restricted_stars_token_51a2"
MONA = "Mona-Lisa"
FIVE_YEARS = timedelta(days=1825)


@dataclass
class World:
    gh: FakeGitHubServer
    refresher: Refresher
    store: SQLiteStore
    clock: Clock
    site: Path


@asynccontextmanager
async def served(root: Path, token_owner: str | None) -> AsyncIterator[World]:
    """The demo dataset served with Mona-Lisa's refresher on SQLite; the token belongs to
    `token_owner` (None: to no account of the dataset, so it administers nothing)."""
    clock = Clock(ANCHOR + timedelta(hours=1))
    owners = {TOKEN: token_owner} if token_owner else {}
    config = FakeConfig(clock=clock.epoch, token_owners=owners)
    with FakeGitHubServer(build_dataset(anchor=ANCHOR), config) as gh:
        store = SQLiteStore(root / "state.sqlite3")
        client = GitHubClient([TOKEN], gh.url, gh.url + "/graphql", clock=clock.epoch)
        async with client:
            refresher = Refresher(
                store=store,
                client=client,
                publisher=Publisher(root / "site"),
                stale_after=timedelta(hours=6),
                max_concurrent=1,
                clock=clock.utcnow,
            )
            try:
                yield World(gh, refresher, store, clock, root / "site")
            finally:
                await store.close()


def restrict(gh: FakeGitHubServer, *, graphql: bool = True) -> None:
    """Both lists, as the changelog restricts both: REST's (which cold starts count with,
    `starprobe`) answers 403, GraphQL's connection FORBIDDEN (unless `graphql` is False)."""
    faults = {"stargazers_restricted_graphql": int(graphql), "stargazers_restricted": 403}
    httpx.post(gh.url + "/_fake/faults", json=faults).raise_for_status()


def refusals(gh: FakeGitHubServer) -> int:
    return int(gh.app_state.stats.faults["stargazers_restricted_graphql"])


async def refresh(world: World) -> None:
    outcomes = (await world.refresher.run_pass(refresh=(MONA,))).outcomes
    assert [o.status for o in outcomes] == ["refreshed"], [o.error for o in outcomes]


def published(world: World, period: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((world.site / MONA.lower() / period / "report.json").read_text())
    return loaded


def starred_repos(gh: FakeGitHubServer, now: datetime) -> set[str]:
    """The repositories whose stars Mona-Lisa's reports walk: a pull request in five years."""
    since = now - FIVE_YEARS
    return {
        p.repo
        for p in gh.dataset.pulls_by(MONA)
        if p.created_at >= since or (p.merged_at is not None and p.merged_at >= since)
    }


def assert_exact_but_refused(world: World, refused: set[str]) -> None:
    """Every period equals the dataset's truth, but for the stars gained by `refused`
    repositories: not available (null, flagged), and with them the totals."""
    data = httpx.get(world.gh.url + "/_fake/dataset", timeout=60).json()
    for period in PERIODS:
        report = published(world, period)
        since, until = ts(report["since"]), ts(report["until"])
        assert since is not None and until is not None
        expected = expected_report(data, MONA, since, until, period)
        actual = actual_report(report)
        dated = period != "all_time" and expected["total_star_increase"] is not None
        hit = {name for name in expected["repositories"] if name in refused} if dated else set()
        for name, repo in report_repositories(report).items():
            if name in hit:
                assert repo["star_increase"] is None, (period, name, repo["star_increase"])
                assert repo["star_increase_uncertainty"] == 0
                expected["repositories"][name]["star_increase"] = None
            assert repo.get("stars_unavailable", False) is (name in hit), (period, name)
        assert report.get("stars_unavailable", False) is bool(hit), period
        if hit:
            expected["total_star_increase"] = None
        told, truth = actual.get("previous"), expected.get("previous")
        if told is not None and truth is not None:  # unknown when a refused repository was in it
            stars = told.pop("total_star_increase")
            true_stars = truth.pop("total_star_increase")
            assert stars is None or stars == true_stars, (period, stars, true_stars)
        top = actual.pop("languages_top")
        assert actual.pop("languages") == dict(Counter(expected.pop("languages")).most_common(top))
        assert actual == expected, period
        page = (world.site / MONA.lower() / period / "index.html").read_text()
        assert ('data-stat="total_star_increase">n/a<' in page) is bool(hit), period
        assert ("data-stars-unavailable" in page) is bool(hit), period


def report_repositories(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in report["repositories"]}


async def test_partly_restricted_stars_are_exact_where_readable_and_not_available_elsewhere(
    tmp_path: Path,
) -> None:
    async with served(tmp_path, MONA) as world:
        restrict(world.gh)
        walked = starred_repos(world.gh, world.clock.utcnow())
        refused = {r for r in walked if r.split("/")[0] != MONA}
        own = walked - refused
        assert refused and own
        await refresh(world)
        assert_exact_but_refused(world, refused)
        assert refusals(world.gh) == len(refused)  # each asked once, not retried
        indexed = await world.store.load_star_histories(sorted(walked))
        assert set(indexed) == own  # nothing at all for the refused ones
        # A day later, incrementally: asked once more each (access may have been granted).
        world.clock.advance(timedelta(days=1))
        await refresh(world)
        assert_exact_but_refused(world, refused)
        assert refusals(world.gh) == 2 * len(refused)
        assert set(await world.store.load_star_histories(sorted(walked))) == own


async def test_every_repository_restricted_still_publishes(tmp_path: Path) -> None:
    async with served(tmp_path, None) as world:
        restrict(world.gh)
        walked = starred_repos(world.gh, world.clock.utcnow())
        await refresh(world)
        assert_exact_but_refused(world, walked)
        assert published(world, "1_year")["total_star_increase"] is None
        assert all(r["stars"] > 0 for r in published(world, "all_time")["repositories"])
        assert await world.store.load_star_histories(sorted(walked)) == {}
        assert refusals(world.gh) == len(walked)


async def test_a_restriction_after_the_index_was_filled_leaves_it_as_it_was(tmp_path: Path) -> None:
    """Histories walked while the list was open are kept, not extended, not used, not
    overwritten; the refresh stays incremental (the revalidation reads those repositories'
    metadata alone instead of giving way to a full collection)."""
    async with served(tmp_path, MONA) as world:
        walked = starred_repos(world.gh, world.clock.utcnow())
        refused = {r for r in walked if r.split("/")[0] != MONA}
        await refresh(world)
        before = await world.store.load_star_histories(sorted(walked))
        assert set(before) == walked
        restrict(world.gh)
        world.clock.advance(timedelta(days=1))
        searches = world.gh.app_state.stats.searches_by_author[MONA.lower()]
        await refresh(world)
        assert_exact_but_refused(world, refused)
        after = await world.store.load_star_histories(sorted(walked))
        assert {r: after[r] for r in refused} == {r: before[r] for r in refused}
        assert refusals(world.gh) == len(refused)
        assert world.gh.app_state.stats.searches_by_author[MONA.lower()] == searches + 1  # incremental


async def test_a_walk_the_budget_stopped_stays_partial_when_github_then_refuses(tmp_path: Path) -> None:
    """A partial history (a budgeted pass stopped its walk) met by a refusal is never joined
    into a complete one: the index keeps it as it was, and the report says not available."""
    async with upkeep_served(small_world(), UPKEEP_MONA, tmp_path, truth_of_login_only=False) as world:
        client, store = world.refresher.client, world.refresher.store
        # REST's list refused from the start: the giants are walked (a search would count them).
        restrict(world.gh, graphql=False)
        client.budget = PointBudget(40, client.usage)
        await world.refresher.run_pass(refresh=(UPKEEP_MONA,))
        before = await store.load_star_histories(sorted(SMALL_GIANTS))
        partial = {repo for repo, h in before.items() if h.resume_cursor is not None}
        assert partial, before  # the budget stopped a giant's walk part-way
        restrict(world.gh)
        client.budget = None
        world.clock.advance(timedelta(minutes=10))
        outcomes = (await world.refresher.run_pass(refresh=(UPKEEP_MONA,))).outcomes
        assert [o.status for o in outcomes] == ["refreshed"], [o.error for o in outcomes]
        assert await store.load_star_histories(sorted(SMALL_GIANTS)) == before
        report = upkeep_published(world.site, UPKEEP_MONA, "1_year")
        shown = report_repositories(report)
        for repo in partial & set(shown):
            assert shown[repo]["star_increase"] is None, (repo, shown[repo]["star_increase"])
            assert shown[repo]["stars_unavailable"]
            assert not shown[repo]["stars_pending"]
        assert report["total_star_increase"] is None and report["stars_unavailable"]
