"""Star histories kept exact through unstars for a few points a day.

A typical contributor is refreshed through a real `Refresher`, then the fake GitHub churns a
day at a time (new stars, unstars of stars of any age, new and merged PRs) and she is
refreshed again, seven times (`a_week`). After every pass, every published report must equal
what the fake's raw dataset implies, by the independent rules of `test_expected_reports.py`,
where stars gained may be too high by at most the uncertainty the report states; and a day
of upkeep must cost a handful of points, not what a full walk of her repositories costs.

Here the week runs on a world a tenth of GitHub's size (`small_world`): Mona-Lisa's 60
repositories, two of them giants a tenth of the `real` population's titan and megaframe
(~8,900 and ~7,800 stars in five years, losing a few stars a day), and the re-read budget
a tenth too (`reconcile.STRETCHES`: 20 stretches a day instead of 200), so that a giant is
still re-read over about five days, a budget at a time, continuing where it stopped, as on
GitHub. `benchmarks/star_upkeep.py` runs the same week at full size: `typical-tina` on the
`real` population (repositories of 150k-412k stars), the real budget, ~870 points to walk.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitbrag.coordination import SQLiteStore, starcodec
from gitbrag.fakegithub.app import FakeConfig
from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.population import _star_times
from gitbrag.fakegithub.records import CompactStars, Dataset
from gitbrag.fakegithub.server import FakeGitHubServer
from gitbrag.github import reconcile
from gitbrag.github import stars as stars_module
from gitbrag.github.client import GitHubClient
from gitbrag.models import PERIODS, Reconciliation, StarCheckpoint, StarHistory
from gitbrag.publish.publisher import Publisher
from gitbrag.refresh import Refresher
from tests.clock import Clock
from tests.test_expected_reports import actual_report, expected_report, ts

ANCHOR = datetime(2026, 6, 1, tzinfo=UTC)
TINA = "typical-tina"
TOKEN = "ghp_star_upkeep_token_4c1d"
GIANT = "titan-labs/titan"  # 331,000 stars, ~48 a day
AUTH = {"Authorization": f"bearer {TOKEN}"}

MONA = "mona-lisa"
# Two of Mona-Lisa's repositories made giants a tenth of titan and megaframe: stars in all and
# stars a day over the last year, for ~8,900 and ~7,800 in the last five years (titan and
# megaframe: 86,548 and 76,663 of 331k and 263k, 48 and 42 a day).
SMALL_GIANTS = {"octo-org/brave-lint": (20_000, 4.8), "octo-org/neon-cli": (16_000, 4.2)}
SMALL_STRETCHES = reconcile.STRETCHES // 10
SMALL_UNSTARS = 3  # a day on each giant, of stars of any age, beside the churn's own


def small_world() -> Dataset:
    """The demo dataset, two of Mona-Lisa's repositories grown into (small) giants."""
    dataset = build_dataset(anchor=ANCHOR)
    rng = random.Random("small giants")
    for name, (total, per_day) in SMALL_GIANTS.items():
        repo = dataset.repos[name]
        repo.stars = CompactStars(_star_times(rng, repo.created_at, ANCHOR, total, per_day), salt=repo.id)
    return dataset


@dataclass
class World:
    """A fake GitHub serving `dataset` and a `Refresher` of `login` on it, sharing one clock
    (churn windows, rate limits, gitbrag's dates). The truth is read from the fake's dataset,
    the login's part of it when `truth_of_login_only` (a big population), else all of it (the
    reviews a demo user gave are on others' pull requests)."""

    gh: FakeGitHubServer
    refresher: Refresher
    clock: Clock
    login: str
    site: Path
    truth_of_login_only: bool


@asynccontextmanager
async def served(
    dataset: Dataset, login: str, root: Path, *, truth_of_login_only: bool
) -> AsyncIterator[World]:
    """`dataset` served, and `login` refreshed into root/site on SQLite, an hour after the anchor."""
    clock = Clock(ANCHOR + timedelta(hours=1))
    with FakeGitHubServer(dataset, FakeConfig(clock=clock.epoch)) as gh:
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
                yield World(gh, refresher, clock, login, root / "site", truth_of_login_only)
            finally:
                await store.close()


@pytest.fixture(scope="module")
def real() -> Iterator[Dataset]:
    yield build_dataset(anchor=ANCHOR, population="real")


@pytest.fixture
async def world(real: Dataset, tmp_path: Path) -> AsyncIterator[World]:
    async with served(real, TINA, tmp_path, truth_of_login_only=True) as w:
        yield w


def points(gh: FakeGitHubServer) -> int:
    return int(gh.app_state.stats.cost["graphql"])


def published(site: Path, login: str, period: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((site / login / period / "report.json").read_text())
    return loaded


def assert_true_within_uncertainty(world: World) -> int:
    """Every period equals the dataset's truth; stars gained may exceed it by the stated
    uncertainty, and no more. Returns the largest uncertainty stated."""
    gh, site, login = world.gh, world.site, world.login
    params = {"users": login} if world.truth_of_login_only else {}
    data = httpx.get(gh.url + "/_fake/dataset", params=params, timeout=60).json()
    widest = 0
    for period in PERIODS:
        report = published(site, login, period)
        since, until = ts(report["since"]), ts(report["until"])
        assert since is not None and until is not None
        expected = expected_report(data, login, since, until, period)
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
        five_years = published(site, login, "5_years")["star_increase_uncertainty"]
        _previous_within(actual, expected, bound=five_years)
        top = actual.pop("languages_top")
        assert actual.pop("languages") == dict(Counter(expected.pop("languages")).most_common(top))
        assert actual == expected, period
        widest = max(widest, report["star_increase_uncertainty"])
        page = (site / login / period / "index.html").read_text()
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


def walk_only(world: World) -> None:
    """REST's stargazer list refused (as to a token that is not a collaborator), so that the
    histories are walked and kept by walking, not counted (`starprobe`, `test_star_cold_start`)."""
    httpx.post(world.gh.url + "/_fake/faults", json={"stargazers_restricted": 403}).raise_for_status()


async def churn(gh: FakeGitHubServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gh.url, timeout=60) as http:
        answer: dict[str, Any] = (await http.post("/_fake/churn", json={"days": 1})).json()
        return answer


def unstar(gh: FakeGitHubServer, repo: str, count: int, rng: random.Random) -> int:
    """`count` stars of `repo`, of any age, unstarred."""
    stars = gh.dataset.repos[repo].stars
    for login in [stars[i].login for i in rng.sample(range(len(stars)), count)]:
        gh.app_state.remove_star(repo, login)
    return count


async def refresh(world: World) -> None:
    outcome = (await world.refresher.run_pass(refresh=(world.login,))).outcomes
    assert [o.status for o in outcome] == ["refreshed"], [o.error for o in outcome]


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Week:
    """What a week of upkeep cost and stated, day by day."""

    walk: int = 0  # points of the first refresh: every history walked
    walk_seconds: float = 0.0
    daily: list[int] = field(default_factory=list)  # points of each day's refresh
    daily_seconds: list[float] = field(default_factory=list)
    widest: list[int] = field(default_factory=list)  # the largest uncertainty stated, each day
    daily_unstars: list[int] = field(default_factory=list)  # the churn's, everywhere, and `unstarred`
    daily_rereads: list[list[logging.LogRecord]] = field(default_factory=list)  # `reconcile._log`'s
    gained: int = 0  # stars gained in her last year, as published at the end

    @property
    def unstars(self) -> int:
        return sum(self.daily_unstars)

    @property
    def rereads(self) -> list[logging.LogRecord]:
        return [r for day in self.daily_rereads for r in day]

    @property
    def located(self) -> int:
        return sum(getattr(r, "located", 0) for r in self.rereads)


async def a_week(
    world: World, *, days: int = 7, unstarred: dict[str, int] | None = None, seed: str = "week"
) -> Week:
    """The first refresh, then `days` days of churn (and `unstarred[repo]` more unstars a
    day on each of those repositories), each followed by a refresh; every pass is checked
    against the dataset's truth (`assert_true_within_uncertainty`)."""
    week, rng, kept = Week(), random.Random(seed), _Kept()
    logger = logging.getLogger(reconcile.__name__)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(kept)
    try:
        started = time.perf_counter()
        await refresh(world)
        week.walk, week.walk_seconds = points(world.gh), time.perf_counter() - started
        assert assert_true_within_uncertainty(world) == 0  # walked: exact
        for _ in range(days):
            world.clock.advance(timedelta(days=1))
            unstars = (await churn(world.gh))["stars_removed"]
            for repo, count in (unstarred or {}).items():
                unstars += unstar(world.gh, repo, count, rng)
            week.daily_unstars.append(unstars)
            kept.records.clear()
            before, started = points(world.gh), time.perf_counter()
            await refresh(world)
            week.daily.append(points(world.gh) - before)
            week.daily_seconds.append(time.perf_counter() - started)
            week.daily_rereads.append([r for r in kept.records if hasattr(r, "stretches")])
            week.widest.append(assert_true_within_uncertainty(world))
    finally:
        logger.removeHandler(kept)
        logger.setLevel(level)
    week.gained = published(world.site, world.login, "1_year")["total_star_increase"]
    return week


async def test_a_week_of_unstars_is_kept_exact_for_a_few_points_a_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reconcile, "STRETCHES", SMALL_STRETCHES)
    giants = dict.fromkeys(SMALL_GIANTS, SMALL_UNSTARS)
    async with served(small_world(), MONA, tmp_path, truth_of_login_only=False) as world:
        walk_only(world)
        week = await a_week(world, unstarred=giants)
    assert week.unstars > 50  # the week really unstarred her repositories' stars, giants included
    # A full walk of her repositories costs ~90 points (~870 at full size); a day of upkeep is
    # the search, the revalidation, the extensions and the re-reads of the repositories that
    # lost stars (she alone pays for all of them here: in a deployment each is re-read once a
    # day for all), at most a budget of stretches (200, 2 points, at full size) for any one.
    assert max(week.daily) <= 25, week.daily
    assert {r.repo for r in week.rereads} >= set(SMALL_GIANTS)
    assert max(r.stretches for r in week.rereads) == SMALL_STRETCHES  # the budget bit, never exceeded
    # Re-reads locate unstars a giant at a time (a 5-year history of ~90 pages over about
    # five days, each day going on where the last stopped, to the end of the history); what
    # is not located yet is stated: about two re-read cycles of a giant's unstars at most, a
    # fraction of a percent of the stars gained.
    for giant in SMALL_GIANTS:
        told = [r.getMessage() for r in week.rereads if r.repo == giant]  # type: ignore[attr-defined]
        assert "(continues next time)" in told[0] and any("continues" not in m for m in told), told
    assert max(week.widest) <= week.gained // 100, (week.widest, week.gained)
    assert week.located > 10  # the re-reads found unstars, not only the extensions


async def test_a_kept_cursor_still_starts_after_its_star_when_stars_around_it_are_gone(
    world: World,
) -> None:
    """GitHub's stargazer cursors are keys (time and stargazer), not positions: a page asked
    after a kept cursor starts right after its star, however many stars newer or older were
    removed meanwhile, and even when that star itself was removed."""
    gh = world.gh
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
