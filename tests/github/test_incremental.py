"""Incremental refresh, the way cron runs it: separate `gitbrag-refresh --once` processes
on the embedded store, against the fake GitHub over HTTP.

After a first refresh, an unchanged one and one after GitHub changed (new PRs, a PR
merged, another closed, stars gained and lost), every demo user's every period must
still equal what the fake's raw dataset implies (the independent expectation of
`test_expected_reports`), and an unchanged refresh must cost almost nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.server import FakeGitHubServer
from tests.support import DEMO_USERS, clean_env, refresh
from tests.test_expected_reports import PERIODS, actual_report, expected_report, ts

# Per user, in rate-limited requests (REST core + REST search + GraphQL points).
UNCHANGED_BUDGET = 3


@dataclass
class Cron:
    fake: FakeGitHubServer
    work: Path
    first_cost: int = 0

    def run(self, *args: str) -> None:
        env = clean_env(
            GITHUB_TOKEN="test-token",
            GITBRAG_GITHUB_API_URL=self.fake.url,
            GITBRAG_USERS=",".join(DEMO_USERS),
        )
        result = refresh(self.work, *args, env=env)
        assert result.returncode == 0, result.stderr[-3000:]

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(self.fake.url + "/_fake/stats", timeout=30).json()
        return stats

    def reset_stats(self) -> None:
        httpx.post(self.fake.url + "/_fake/reset", timeout=30).raise_for_status()

    def report(self, login: str, period: str) -> dict[str, Any]:
        path = self.work / "site" / login.lower() / period / "report.json"
        report: dict[str, Any] = json.loads(path.read_text())
        return report


def cost(stats: dict[str, Any]) -> int:
    """What GitHub's primary limits would charge: REST requests and GraphQL points (304s are free)."""
    return int(sum(stats["cost"].values()))


def assert_reports_match_dataset(cron: Cron) -> None:
    data = httpx.get(cron.fake.url + "/_fake/dataset", timeout=60).json()
    for login in DEMO_USERS:
        for period in PERIODS:
            report = cron.report(login, period)
            since, until = ts(report["since"]), ts(report["until"])
            assert since is not None and until is not None
            expected = expected_report(data, login, since, until, period)
            actual = actual_report(report)
            top = actual.pop("languages_top")
            assert actual.pop("languages") == dict(Counter(expected.pop("languages")).most_common(top))
            assert actual == expected, (login, period)


@pytest.fixture(scope="module")
def cron(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cron]:
    with FakeGitHubServer(build_dataset()) as fake:
        runner = Cron(fake, tmp_path_factory.mktemp("cron"))
        runner.run()
        runner.first_cost = cost(runner.stats())
        yield runner


def test_first_refresh_matches_the_dataset(cron: Cron) -> None:
    assert_reports_match_dataset(cron)


def test_unchanged_refresh_costs_at_most_three_requests_per_user(cron: Cron) -> None:
    cron.reset_stats()
    cron.run("--force", "--user", "Mona-Lisa")
    mona = cron.stats()
    assert cost(mona) <= UNCHANGED_BUDGET, mona["cost"]
    assert mona["searches_by_author"] == {"mona-lisa": 1}

    cron.reset_stats()
    cron.run("--force")
    everyone = cron.stats()
    assert cost(everyone) <= UNCHANGED_BUDGET * len(DEMO_USERS), everyone["cost"]
    assert everyone["cost"]["core"] == everyone["cost"]["search"] == 0
    assert_reports_match_dataset(cron)


def test_refresh_after_changes_matches_the_dataset(cron: Cron) -> None:
    state = cron.fake.app_state
    now = datetime.now(UTC).replace(microsecond=0)
    mona_repo = "octo-org/" + next(
        p.repo.split("/")[1]
        for p in cron.fake.dataset.pulls_by("Mona-Lisa")
        if p.repo.startswith("octo-org/")
    )
    state.add_pull(mona_repo, "Mona-Lisa", title="Brand new work", created_at=now - timedelta(minutes=5))
    state.add_pull("zero-zoe/hello-world", "Mona-Lisa", title="A first PR in a new repository")
    state.add_pull(
        "prolific-pat/bumpbot", "prolific-pat", title="Bump everything", state="closed", merged=True
    )
    sam_open = [p for p in cron.fake.dataset.pulls_by("steady-sam") if p.state == "open"]
    state.set_pull_state(sam_open[0].repo, sam_open[0].number, "merged")
    state.set_pull_state(sam_open[1].repo, sam_open[1].number, "closed")
    for i in range(30):  # more than one revalidation page of new stars
        state.add_star(mona_repo, f"new-fan-{i}", now - timedelta(minutes=i))
    rocket = cron.fake.dataset.repo("star-rocket/rocket")
    assert rocket is not None
    state.remove_star("star-rocket/rocket", rocket.stars[-3].login)  # an unstar, in the last year

    before = cron.report("Mona-Lisa", "1_year")["total_prs"]
    cron.reset_stats()
    cron.run("--force")
    changed = cron.stats()
    # Only the changes are fetched (the unstarred repository is walked again in full).
    assert cost(changed) < cron.first_cost, (changed["cost"], cron.first_cost)
    assert cron.report("Mona-Lisa", "1_year")["total_prs"] == before + 2
    assert_reports_match_dataset(cron)


def test_changes_github_indexes_late_are_found_by_the_next_refresh(tmp_path: Path) -> None:
    """GitHub's search index trails writes. A new PR, a PR merged and an old PR closed without
    merging, all written 2.5 hours before the first refresh while the index is 3 hours behind,
    are invisible (or show as they were) then; once the index catches up, the next refresh must
    find them, although their `updatedAt` is older than the first refresh minus any margin
    taken from the wall clock."""
    with FakeGitHubServer(build_dataset()) as fake:
        cron, state, ds = Cron(fake, tmp_path), fake.app_state, fake.dataset
        written = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2, minutes=30)
        mona_repo = next(p.repo for p in ds.pulls_by("Mona-Lisa") if p.repo.startswith("octo-org/"))
        state.add_pull(mona_repo, "Mona-Lisa", title="Indexed late", created_at=written)
        mona_open = [p for p in ds.pulls_by("Mona-Lisa") if p.state == "open"]
        open_prs = sorted(mona_open, key=lambda p: p.created_at)
        old, recent = open_prs[0], open_prs[-2]
        assert old.created_at < written - timedelta(days=365)  # a PR of any age changes state
        state.set_pull_state(old.repo, old.number, "closed", at=written)
        state.set_pull_state(recent.repo, recent.number, "merged", at=written)
        lag = {"search_lag_seconds": 3 * 3600}
        httpx.post(fake.url + "/_fake/faults", json=lag, timeout=30).raise_for_status()
        cron.run()
        first = cron.report("Mona-Lisa", "all_time")
        httpx.post(fake.url + "/_fake/faults", json={"search_lag_seconds": 0}, timeout=30).raise_for_status()
        cron.run("--force")
        after = cron.report("Mona-Lisa", "all_time")
        assert after["total_prs"] == first["total_prs"]  # one new, one closed unmerged: left the report
        assert after["merged_count"] == first["merged_count"] + 1
        assert_reports_match_dataset(cron)
