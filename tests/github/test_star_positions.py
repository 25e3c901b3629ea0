"""Stars in a window found by searching GitHub's REST stargazer pages (`starprobe`), not walked.

Served by the fake GitHub over HTTP on loopback, with GitHub's page limit (pages past 400
refused with 422) and, when switched on, the restriction of the 2026-06-30 changelog (the
list only for admins and collaborators; others get a 403 or an empty list). The truth is
the fake's dataset: current stargazers who starred before each moment, counted directly.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.population import _star_times
from gitbrag.fakegithub.records import CompactStars, Dataset
from gitbrag.fakegithub.server import FakeGitHubServer
from gitbrag.github.client import GitHubClient
from gitbrag.github.starprobe import star_positions

ANCHOR = datetime(2026, 6, 1, tzinfo=UTC)
MIDSIZE = "octo-org/brave-lint"  # grown to 20,000 stars: 200 REST pages, a 5-year walk of ~89
BEYOND = "octo-org/neon-cli"  # grown to 52,000: the newest 12,000 are past REST's 400 pages


def world() -> Dataset:
    dataset = build_dataset(anchor=ANCHOR)
    rng = random.Random("star positions")
    for name, (total, per_day) in {MIDSIZE: (20_000, 4.8), BEYOND: (52_000, 12.0)}.items():
        repo = dataset.repos[name]
        repo.stars = CompactStars(_star_times(rng, repo.created_at, ANCHOR, total, per_day), salt=repo.id)
    return dataset


def moments(now: datetime) -> list[datetime]:
    """What the reports of a day ask: the rolling windows' starts (1, 2, 4 and 5 years
    back), and the calendar years' (which end where the next begins)."""
    rolling = [now - timedelta(days=365 * years) for years in (1, 2, 4, 5)]
    return rolling + [datetime(year, 1, 1, tzinfo=UTC) for year in range(2022, 2027)]


def truth(dataset: Dataset, repo: str, moment: datetime) -> int:
    return sum(1 for star in dataset.repos[repo].stars if star.starred_at < moment)


@pytest.fixture
def server() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(world()) as running:
        yield running


def stats(server: FakeGitHubServer) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{server.url}/_fake/stats").json()
    return answer


async def post(server: FakeGitHubServer, path: str, body: dict[str, int]) -> None:
    async with httpx.AsyncClient() as http:
        (await http.post(server.url + path, json=body)).raise_for_status()


async def positions_of(server: FakeGitHubServer, repo: str, at: list[datetime]) -> dict[datetime, int] | None:
    stars = server.app_state.dataset.repos[repo].stars
    newest = {repo: stars[-1].starred_at}  # as the GraphQL page that reads the count shows it
    async with GitHubClient(["test-token"], server.url, server.url + "/graphql") as client:
        found = await star_positions(client, {repo: len(stars)}, at, newest)
    return found[repo].older if repo in found else None


async def test_window_boundaries_are_exact_for_a_few_rest_requests(server: FakeGitHubServer) -> None:
    at = moments(ANCHOR)
    older = await positions_of(server, MIDSIZE, at)
    dataset = server.app_state.dataset
    assert older == {moment: truth(dataset, MIDSIZE, moment) for moment in at}
    spent = stats(server)
    assert spent["graphql_points"] == 0
    core = spent["cost"]["core"]
    # 9 moments in 200 pages: bisection alone would take ~8 reads each (72); shared and
    # interpolated probes take far fewer, and far fewer than the ~89 pages of a 5-year walk.
    assert core <= 30, core


async def test_exact_after_unstars_and_a_day_of_churn(server: FakeGitHubServer) -> None:
    state = server.app_state
    stars = state.dataset.repos[MIDSIZE].stars
    for i in (3, 5_000, 12_345, 19_000, 19_990):  # old and new stars, on either side of the moments
        state.remove_star(MIDSIZE, stars[i].login)
    await post(server, "/_fake/churn", {"days": 1})
    now = datetime.now(UTC)
    at = moments(now) + [now - timedelta(hours=12)]
    older = await positions_of(server, MIDSIZE, at)
    assert older == {moment: truth(state.dataset, MIDSIZE, moment) for moment in at}


async def test_only_what_rest_reaches_beyond_40000_stars(server: FakeGitHubServer) -> None:
    """Moments among the oldest 40,000 stars are found; newer ones are left to the walk."""
    dataset = server.app_state.dataset
    stars = dataset.repos[BEYOND].stars
    reachable, unreachable = stars[20_000].starred_at, stars[45_000].starred_at
    older = await positions_of(server, BEYOND, [reachable, unreachable])
    assert older == {reachable: truth(dataset, BEYOND, reachable)}
    assert stats(server)["statuses"].get("422", 0) == 0  # never asked past 400


@pytest.mark.parametrize("restriction", [403, 200])
async def test_a_restricted_list_gives_no_number(server: FakeGitHubServer, restriction: int) -> None:
    """A token that is not a collaborator gets a 403 or an empty list: the repository is
    left to the GraphQL walk, never counted as having no stars."""
    await post(server, "/_fake/faults", {"stargazers_restricted": restriction})
    assert await positions_of(server, MIDSIZE, moments(ANCHOR)) is None
    assert stats(server)["faults"]["stargazers_restricted"] == 1  # one request, then no more
