"""A cold start counts a repository's stars at the reports' window boundaries by searching
GitHub's REST stargazer pages (`starprobe`), not by walking them, and stays exact.

`steady-sam` of the demo world has pull requests into `star-rocket/rocket` (3,000 stars, 30
pages: today's walk reads ~28 of them). Her first refresh through a real `Refresher` must
count its stars for a handful of REST requests and few GraphQL points, and every published
figure must equal the fake's dataset (`test_star_upkeep.assert_true_within_uncertainty`);
days of churn (new stars, unstars) then keep them exact. With the REST list restricted (GitHub's
2026-06-30 changelog: admins and collaborators only; a 403 or an empty list), the refresh
walks as before, with the same figures, after one refused request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitbrag.coordination import starcodec
from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.github import starprobe
from gitbrag.models import Login, StarCount, StarHistory
from gitbrag.report import build
from tests.github.test_star_upkeep import (
    ANCHOR,
    World,
    assert_true_within_uncertainty,
    churn,
    refresh,
    served,
)

SAM = "steady-sam"
ROCKET = "star-rocket/rocket"


def stats(world: World) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(world.gh.url + "/_fake/stats").json()
    return answer


def spent(world: World) -> tuple[int, int]:
    """(REST requests, GraphQL points) the fake charged so far."""
    charged = stats(world)
    return charged["cost"]["core"], charged["graphql_points"]


def limit(world: World, **budgets: int) -> None:
    httpx.post(world.gh.url + "/_fake/limits", json=budgets).raise_for_status()


def restrict(world: World, restriction: int) -> None:
    httpx.post(world.gh.url + "/_fake/faults", json={"stargazers_restricted": restriction}).raise_for_status()


async def days_of_churn(world: World, days: int) -> None:
    """`days` days of churn, each followed by a refresh whose reports equal the dataset."""
    for _ in range(days):
        world.clock.advance(timedelta(days=1))
        await churn(world.gh)
        await refresh(world)
        assert_true_within_uncertainty(world)


async def test_a_cold_start_counts_the_window_boundaries_by_rest_and_stays_exact(tmp_path: Path) -> None:
    async with served(build_dataset(anchor=ANCHOR), SAM, tmp_path, truth_of_login_only=False) as world:
        await refresh(world)
        rest, points = spent(world)
        # The rocket's ~10 boundaries for ~12 pages of 30; the walk would cost ~28 points.
        assert 5 <= rest <= 15, rest
        assert points <= 6, points
        assert assert_true_within_uncertainty(world) == 0
        kept = (await world.refresher.bookkeeping.load_star_histories([ROCKET]))[ROCKET]
        assert kept.counted and not kept.starred_at  # counted, not walked
        await days_of_churn(world, 3)
        _, later = spent(world)
        assert later - points <= 3 * 4, later - points  # never walked in full since


@pytest.mark.parametrize("restriction", [403, 200])
async def test_a_restricted_list_falls_back_to_the_walk_with_equal_figures(
    tmp_path: Path, restriction: int
) -> None:
    async with served(build_dataset(anchor=ANCHOR), SAM, tmp_path, truth_of_login_only=False) as world:
        restrict(world, restriction)
        await refresh(world)
        rest, points = spent(world)
        assert rest == 1  # refused once, not asked again
        assert points > 20  # walked
        assert assert_true_within_uncertainty(world) == 0
        kept = (await world.refresher.bookkeeping.load_star_histories([ROCKET]))[ROCKET]
        assert not kept.counted and kept.starred_at
        await days_of_churn(world, 1)
        assert stats(world)["faults"]["stargazers_restricted"] == 1


async def test_a_boundary_no_count_reaches_is_still_being_counted_not_a_number(tmp_path: Path) -> None:
    """A report asked, from a counted history, for a window whose boundary no kept count
    reaches (a period configured since): its stars are "still being counted", never a guess."""
    async with served(build_dataset(anchor=ANCHOR), SAM, tmp_path, truth_of_login_only=False) as world:
        await refresh(world)
        store = world.refresher.bookkeeping
        collection = await store.load_collection(Login(SAM))
        assert collection is not None
        stars = await store.load_star_histories(list(collection.repositories))
        now = collection.collected_at
        moments = build.star_moments(now, "UTC")
        years = [str(year) for year in range(2022, now.year + 1)]
        indexed = collection.model_copy(update={"stars": stars})
        reports = build.build_reports(indexed, until=now, generated_at=now)
        year = next(y for y in years if any(r.name == ROCKET for r in reports[y].repositories))
        start = datetime(int(year), 1, 1, tzinfo=UTC)
        # The rocket's counts without those around the year's start, as if it had not been asked
        # (the first count after the gap no longer says nothing lies before it).
        counted = stars[ROCKET].counted
        gap = timedelta(days=60)
        right = [c for c in counted if c.at > start + gap]
        right[0] = right[0].model_copy(update={"dense": False})
        kept = [c for c in counted if c.at < start - gap] + right
        rocket = stars[ROCKET].model_copy(update={"counted": kept})
        assert rocket.counted_from(start) is None and rocket.counted_from(moments[-1]) is not None
        collection = collection.model_copy(update={"stars": stars | {ROCKET: rocket}})
        reports = build.build_reports(collection, until=now, generated_at=now)
        told = next(r for r in reports[year].repositories if r.name == ROCKET)
        assert told.stars_pending and told.star_increase is None
        assert reports[year].stars_pending
        rolling = next(r for r in reports["1_year"].repositories if r.name == ROCKET)
        assert rolling.star_increase is not None and not rolling.stars_pending


def test_a_counted_history_keeps_its_counts_and_its_moment_in_the_index() -> None:
    """The star index's codec keeps the counts and a `since` with microseconds (the moment
    the history was counted): rounded to the second, stars in that second would be lost."""
    since = datetime(2026, 6, 1, 1, 0, 0, 123_456, tzinfo=UTC)
    history = StarHistory(
        repo="octo-org/brave-lint",
        since=since,
        starred_at=[datetime(2026, 6, 1, 3, 0, 0, tzinfo=UTC)],  # GitHub: whole seconds
        stargazer_count=2_000,
        counted=[
            StarCount(at=datetime(2025, 6, 1, 1, 0, 0, 123_456, tzinfo=UTC), stars=700),
            StarCount(at=datetime(2025, 6, 1, 3, 4, 5, tzinfo=UTC), stars=699, dense=True),
        ],
    )
    assert starcodec.decode(starcodec.encode(history)) == history


async def test_rest_running_low_leaves_the_stars_to_the_walk(tmp_path: Path) -> None:
    """With few REST requests left this hour (a workflow token has 1,000), the search stops
    short of `REST_RESERVE` and the walk counts the stars: no refresh rests until REST's
    hour ends for a search, and the figures are the same."""
    async with served(build_dataset(anchor=ANCHOR), SAM, tmp_path, truth_of_login_only=False) as world:
        limit(world, core=starprobe.REST_RESERVE + 4)
        await refresh(world)
        rest, points = spent(world)
        assert rest <= 5, rest  # stopped with REST_RESERVE left
        assert points > 20  # walked
        assert assert_true_within_uncertainty(world) == 0


async def test_a_history_counted_a_moment_later_still_answers_an_earlier_refresh(tmp_path: Path) -> None:
    """Refreshes of one pass share a repository's history (single flight, the cache, the
    index), each with its own `now`: one a moment earlier than the history's `since` asks for
    the stars after its own end, just before that `since`, which the counts kept for it must
    answer (none since), whatever boundaries they were kept for."""
    async with served(build_dataset(anchor=ANCHOR), SAM, tmp_path, truth_of_login_only=False) as world:
        await refresh(world)
        history = (await world.refresher.bookkeeping.load_star_histories([ROCKET]))[ROCKET]
        earlier = history.since - timedelta(milliseconds=1)
        kept = starprobe._pruned(history, build.star_moments(earlier, "UTC"))
        assert kept.counted_from(earlier + timedelta(microseconds=1)) == len(kept.starred_at)
