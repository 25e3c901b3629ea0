"""GITBRAG_BUDGET_POINTS (issue 28): a pass within a point budget, in process on the small world
of the star-upkeep tests (the demo users, two of Mona-Lisa's repositories grown into giants of
~8,900 and ~7,800 stars in five years), served over HTTP by the fake GitHub. The REST stargazer
list is refused there (`walk_only`), so that the budget stops star walks: counting the giants'
stars by REST search instead (`starprobe`) would fit the world in one budget."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gitbrag.github.points import PointBudget
from gitbrag.models import PERIODS
from tests.github.test_star_upkeep import (
    MONA,
    assert_true_within_uncertainty,
    points,
    published,
    served,
    small_world,
    walk_only,
)

BUDGET = 60


async def test_passes_on_a_small_budget_stay_within_it_defer_and_end_exact(tmp_path: Path) -> None:
    dataset = small_world()
    users = list(dataset.demo_users)
    async with served(dataset, MONA, tmp_path, truth_of_login_only=False) as world:
        walk_only(world)  # the giants walked, page by page, as a token that may not list them
        client = world.refresher.client
        spent, summaries, pending = [], [], []
        for _ in range(8):
            client.budget = PointBudget(BUDGET, client.usage)
            before = points(world.gh)
            result = await world.refresher.run_pass(track=users)
            spent.append(points(world.gh) - before)
            summaries.append(result.summary())
            pending.append(any(published(world.site, MONA, p)["stars_pending"] for p in PERIODS))
            if not result.deferred and not pending[-1]:
                break
            world.clock.advance(timedelta(minutes=10))
        assert all(s <= BUDGET for s in spent), (spent, summaries)
        assert len(spent) >= 2, (spent, summaries)  # the world does not fit one budget
        assert any(" deferred=" in s and not s.endswith(" deferred=0") for s in summaries), summaries
        assert pending[0] and not pending[-1], pending  # counted at first, then complete
        assert all(s.startswith("refreshed=") and " deferred=" in s for s in summaries)
        assert_true_within_uncertainty(world)  # exact in the end (no unstars: no uncertainty)
        for login in users:
            assert published(world.site, login.lower(), "1_year")["username"] == login


async def test_no_budget_keeps_the_summary_line_and_spends_what_it_needs(tmp_path: Path) -> None:
    async with served(small_world(), MONA, tmp_path, truth_of_login_only=False) as world:
        walk_only(world)
        result = await world.refresher.run_pass(track=[MONA])
        assert result.summary() == "refreshed=4 skipped=0 failed=0"
        assert points(world.gh) > BUDGET
        assert not any(published(world.site, MONA, p)["stars_pending"] for p in PERIODS)
