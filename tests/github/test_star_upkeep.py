"""Star histories at real scale: walked once, then kept exact through unstars for a few points.

On the fake's `real` population (repositories of 150k-412k stars losing a few stars a day),
`typical-tina` (~300 PRs in 60 repositories, two of them giants) is refreshed through a real
`Refresher`, then the fake GitHub churns a day at a time (new stars, unstars of stars of any
age, new and merged PRs) and she is refreshed again, seven times. After every pass, every
published report must equal what the fake's raw dataset implies, by the independent rules
of `test_expected_reports.py`, where stars gained may be too high by at most the
uncertainty the report states; and a day of upkeep must cost a handful of points, not the
~870 a full walk of her repositories costs.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitbrag.coordination import SQLiteStore, starcodec
from gitbrag.fakegithub.app import FakeConfig
from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.records import Dataset
from gitbrag.fakegithub.server import FakeGitHubServer
from gitbrag.github import reconcile
from gitbrag.github import stars as stars_module
from gitbrag.github.client import GitHubClient
from gitbrag.models import PERIODS, Reconciliation, StarCheckpoint, StarHistory
from gitbrag.publish.publisher import Publisher
from gitbrag.refresh import Refresher
from tests.test_expected_reports import actual_report, expected_report, ts

ANCHOR = datetime(2026, 6, 1, tzinfo=UTC)
TINA = "typical-tina"
TOKEN = "ghp_star_upkeep_token_4c1d"
GIANT = "titan-labs/titan"  # 331,000 stars, ~48 a day
AUTH = {"Authorization": f"bearer {TOKEN}"}


class Clock:
    """One clock for the fake GitHub (churn windows, rate limits) and for gitbrag."""

    def __init__(self) -> None:
        self.now = ANCHOR + timedelta(hours=1)

    def timestamp(self) -> float:
        return self.now.timestamp()


@pytest.fixture(scope="module")
def real() -> Iterator[tuple[Dataset, Clock]]:
    yield build_dataset(anchor=ANCHOR, population="real"), Clock()


@pytest.fixture
async def world(
    real: tuple[Dataset, Clock], tmp_path: Path
) -> AsyncIterator[tuple[FakeGitHubServer, Refresher, Clock]]:
    dataset, clock = real
    with FakeGitHubServer(dataset, FakeConfig(clock=clock.timestamp)) as gh:
        store = SQLiteStore(tmp_path / "state.sqlite3")
        client = GitHubClient([TOKEN], gh.url, gh.url + "/graphql", clock=clock.timestamp)
        async with client:
            refresher = Refresher(
                store=store,
                client=client,
                publisher=Publisher(tmp_path / "site"),
                stale_after=timedelta(hours=6),
                max_concurrent=1,
                clock=lambda: clock.now,
            )
            try:
                yield gh, refresher, clock
            finally:
                await store.close()


def points(gh: FakeGitHubServer) -> int:
    return int(gh.app_state.stats.cost["graphql"])


def published(site: Path, period: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((site / TINA / period / "report.json").read_text())
    return loaded


def assert_true_within_uncertainty(gh: FakeGitHubServer, site: Path) -> int:
    """Every period equals the dataset's truth; stars gained may exceed it by the stated
    uncertainty, and no more. Returns the largest uncertainty stated."""
    data = httpx.get(gh.url + "/_fake/dataset", params={"users": TINA}, timeout=60).json()
    widest = 0
    for period in PERIODS:
        report = published(site, period)
        since, until = ts(report["since"]), ts(report["until"])
        assert since is not None and until is not None
        expected = expected_report(data, TINA, since, until, period)
        actual = actual_report(report)
        uncertain = {r["name"]: r["star_increase_uncertainty"] for r in report["repositories"]}
        assert report["star_increase_uncertainty"] == sum(uncertain.values())
        for name, repo in actual["repositories"].items():
            truth, told, bound = (
                expected["repositories"][name]["star_increase"],
                repo["star_increase"],
                uncertain[name],
            )
            assert truth <= told <= truth + bound, (period, name, truth, told, bound)
            repo["star_increase"] = truth
        total = expected["total_star_increase"]
        assert total <= actual["total_star_increase"] <= total + report["star_increase_uncertainty"]
        actual["total_star_increase"] = total
        _previous_within(actual, expected, bound=published(site, "5_years")["star_increase_uncertainty"])
        top = actual.pop("languages_top")
        assert actual.pop("languages") == dict(Counter(expected.pop("languages")).most_common(top))
        assert actual == expected, period
        widest = max(widest, report["star_increase_uncertainty"])
        page = (site / TINA / period / "index.html").read_text()
        told = report["star_increase_uncertainty"]
        assert (f"±{told:,}" in page) == bool(told) or period == "all_time", period  # said on the page
    return widest


def _previous_within(actual: dict[str, Any], expected: dict[str, Any], bound: int) -> None:
    """The previous window's numbers are exact too, but for stars gained: at most `bound`
    (every repository of the last five years) too high."""
    told, truth = actual.get("previous"), expected.get("previous")
    if told is None or truth is None:
        return
    stars, true_stars = told.pop("total_star_increase", None), truth.pop("total_star_increase", None)
    if true_stars is not None:
        assert stars is not None and true_stars <= stars <= true_stars + bound


async def churn(gh: FakeGitHubServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gh.url, timeout=60) as http:
        answer: dict[str, Any] = (await http.post("/_fake/churn", json={"days": 1})).json()
        return answer


async def refresh(refresher: Refresher) -> None:
    outcome = (await refresher.run_pass(refresh=(TINA,))).outcomes
    assert [o.status for o in outcome] == ["refreshed"], [o.error for o in outcome]


async def test_a_week_of_unstars_is_kept_exact_for_a_few_points_a_day(
    world: tuple[FakeGitHubServer, Refresher, Clock], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gitbrag.github.reconcile")
    gh, refresher, clock = world
    site = tmp_path / "site"
    await refresh(refresher)
    assert assert_true_within_uncertainty(gh, site) == 0  # walked: exact
    daily: list[int] = []
    widest: list[int] = []
    unstars = 0
    for _ in range(7):
        clock.now += timedelta(days=1)
        unstars += (await churn(gh))["stars_removed"]
        before = points(gh)
        await refresh(refresher)
        daily.append(points(gh) - before)
        widest.append(assert_true_within_uncertainty(gh, site))
    assert unstars > 50  # the week really unstarred her repositories' stars, giants included
    # A full walk of her repositories costs ~870 points; a day of upkeep is the search, the
    # revalidation, the extensions and the re-reads of the repositories that lost stars (she
    # alone pays for all of them here: in a deployment each is re-read once a day for all),
    # at most 200 stretches, 2 points, for any one of them.
    assert max(daily) <= 25, daily
    stretches = [
        r for r in caplog.records if r.name == "gitbrag.github.reconcile" and hasattr(r, "stretches")
    ]
    assert {r.repo for r in stretches} >= {GIANT, "megaframe/megaframe"}  # type: ignore[attr-defined]
    assert max(r.stretches for r in stretches) <= 200
    # Re-reads locate unstars a giant at a time (a 5-year history of ~90k stars over about
    # five days); what is not located yet is stated: about two re-read cycles of a giant's
    # unstars at most, a fraction of a percent of the stars gained.
    gained = published(site, "1_year")["total_star_increase"]
    assert max(widest) <= gained // 100, (widest, gained)
    located = sum(getattr(r, "located", 0) for r in stretches)
    assert located > 10  # the re-reads found unstars, not only the extensions


async def test_a_kept_cursor_still_starts_after_its_star_when_stars_around_it_are_gone(
    world: tuple[FakeGitHubServer, Refresher, Clock],
) -> None:
    """GitHub's stargazer cursors are keys (time and stargazer), not positions: a page asked
    after a kept cursor starts right after its star, however many stars newer or older were
    removed meanwhile, and even when that star itself was removed."""
    gh, _, _ = world
    owner, name = GIANT.split("/")
    query = """query($owner: String!, $name: String!, $after: String) {
      repository(owner: $owner, name: $name) {
        stargazers(first: 3, after: $after, orderBy: {field: STARRED_AT, direction: DESC}) {
          edges { cursor starredAt node { login } }
        }
      }
    }"""

    def page(after: str | None) -> list[dict[str, Any]]:
        body = httpx.post(
            gh.url + "/graphql",
            json={"query": query, "variables": {"owner": owner, "name": name, "after": after}},
            headers=AUTH,
            timeout=30,
        ).json()
        edges: list[dict[str, Any]] = body["data"]["repository"]["stargazers"]["edges"]
        return edges

    first = page(None)
    kept = first[1]["cursor"]
    after_kept = [e["node"]["login"] for e in page(kept)]
    stars = gh.dataset.repos[GIANT].stars
    for login in (first[0]["node"]["login"], after_kept[-1]):  # one newer, one further down
        gh.app_state.remove_star(GIANT, login)
    assert [e["node"]["login"] for e in page(kept)][:2] == after_kept[:2]
    gh.app_state.remove_star(GIANT, first[1]["node"]["login"])  # the cursor's own star
    assert [e["node"]["login"] for e in page(kept)][:2] == after_kept[:2]
    assert len(stars) > 300_000


def test_the_index_keeps_checkpoints_and_an_unfinished_re_read() -> None:
    """What the next refresh needs to go on re-reading survives the store's compact format."""
    at = datetime(2026, 5, 1, tzinfo=UTC)
    history = StarHistory(
        repo="titan-labs/titan",
        since=at - timedelta(days=1825),
        starred_at=[at, at - timedelta(hours=1)],
        stargazer_count=331_000,
        checkpoints=[StarCheckpoint(at=at - timedelta(hours=1), cursor="Y3Vyc29yOnYyOlsxLDJd")],
        unlocated=3,
        reconcile=Reconciliation(below=at - timedelta(hours=1), revealed=2, at=at),
    )
    assert starcodec.decode(starcodec.encode(history)) == history


def _stargazers_page(stars: list[datetime], after: int) -> dict[str, Any]:
    """GitHub's page of 100 stargazers after the star at index `after` (-1: from the newest),
    each edge's cursor naming its star's index in the full, unchanged list."""
    edges = [
        {"cursor": f"star-{i}", "starredAt": f"{t:%Y-%m-%dT%H:%M:%SZ}"}
        for i, t in enumerate(stars)
        if i > after
    ][:100]
    more = int(edges[-1]["cursor"].removeprefix("star-")) < len(stars) - 1 if edges else False
    info = {"hasNextPage": more, "endCursor": edges[-1]["cursor"] if edges else None}
    return {"stargazerCount": len(stars), "stargazers": {"edges": edges, "pageInfo": info}}


def test_a_history_whose_oldest_stretch_fills_a_page_can_still_be_re_read() -> None:
    """The oldest stretch ends at `since`, which no star marks: its page proves it read the
    whole stretch only by showing a star older than `since`. A window of exactly two pages
    keeps the checkpoint between them, so an unstar above is located, not re-read in vain
    by every refresh that shares the repository."""
    top = datetime(2026, 5, 1, tzinfo=UTC)
    stars = [top - timedelta(minutes=i) for i in range(300)]  # GitHub's list, newest first
    since = stars[199]  # the window holds exactly two pages
    walk = stars_module.Walk(stop_at=since)
    for after in (-1, 99, 199):
        walk.absorb(_stargazers_page(stars, after))
    history = StarHistory(
        repo="acme/widget",
        since=since,
        starred_at=walk.starred_at,
        stargazer_count=300,
        checkpoints=stars_module.thinned(
            [c for c in walk.checkpoints if c.at >= since], walk.starred_at, since
        ),
        unlocated=1,
    )
    live = [t for i, t in enumerate(stars) if i != 5]  # one star of the newest page is gone
    kept_cursors = [int(c.cursor.removeprefix("star-")) for c in history.checkpoints]
    # The live list's pages after each kept cursor (the removed star shifts the first page).
    pages = [_stargazers_page(live, -1), *(_stargazers_page(live, i - 1) for i in kept_cursors)]
    chosen: list[StarCheckpoint | None] = [None, *history.checkpoints]
    located = reconcile._replaced(history, chosen, pages, None)
    assert located is not None
    assert located[1] == 1
    assert located[0].starred_at == [t for t in live if t >= since]


async def test_a_re_read_that_cannot_finish_is_put_off_not_repeated_by_every_refresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stars arriving between a history's upkeep and its re-read leave the newest stretch
    longer than a page: the re-read cannot prove what it read. The history is kept with its
    stated bound and its re-read is put off like a finished one, so the next refreshes that
    share the repository (every contributor's, in a pass) do not pay for it again."""
    repo = "star-rocket/rocket"
    with FakeGitHubServer(build_dataset()) as gh:
        async with GitHubClient([TOKEN], gh.url, gh.url + "/graphql") as client:
            now = datetime.now(UTC).replace(microsecond=0)
            walked = await stars_module.star_histories(client, [repo], now - timedelta(days=1825))
            history = walked[repo].model_copy(update={"unlocated": 1})
            for i in range(150):  # newer than the history's newest star, not yet read
                gh.app_state.add_star(repo, f"late-fan-{i}", now - timedelta(seconds=i))
            before = points(gh)
            kept = (await reconcile.reread(client, [history], now))[repo]
            assert points(gh) > before  # it did ask GitHub
            assert kept.starred_at == history.starred_at and kept.unlocated == 1
            assert not reconcile.due(kept, now + timedelta(hours=1))
            assert reconcile.due(kept, now + reconcile.EVERY)
    assert any("did not reach its stretch's end" in r.getMessage() for r in caplog.records)
