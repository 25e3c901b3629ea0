"""Late-indexed changes benchmark: `maintainer-max` kept true through churn and a lagging search index.

The full-size form of `tests/github/test_incremental.py`'s test of changes indexed late.
GitHub's search index trails writes, so a pull request opened, merged or closed shortly before
a refresh may only be found by a later one, with an `updatedAt` older than the refresh that
missed it. `maintainer-max` (20,000 PRs in 400 repositories on the fake's `real` population) is
refreshed through a real `Refresher` on SQLite; then, for each of the given numbers of days,
the fake churns a day at a time (new PRs, merges, PRs closed unmerged, stars) while its search
index lags `--lag-hours` behind, and he is refreshed after each day. At the end the index
catches up (the lag goes to 0), he is refreshed once more, and every period is checked
against the fake's dataset by the test suite's own rules.

It runs twice in the same process: with gitbrag's watermark (the newest `updatedAt` GitHub has
shown, less an hour) and with the baseline it replaced (the last refresh's wall-clock time,
less an hour). It prints, for each: the points of the first refresh and of each day, and the
periods whose published numbers differ from the dataset at the end, then PASS/FAIL lines: the
watermark's reports all true, and its daily points within 10% of the baseline's.

Run: .venv/bin/python benchmarks/late_index.py [--days 1 7] [--lag-hours 6]
Bounded: a few minutes on two cores. Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the world and the truth are the tests'

from gitbrag.fakegithub.dataset import build_dataset  # noqa: E402
from gitbrag.fakegithub.population import MAX  # noqa: E402
from gitbrag.github import incremental  # noqa: E402
from gitbrag.models import Collection  # noqa: E402
from tests.github.test_star_upkeep import ANCHOR, churn, points, published, served  # noqa: E402
from tests.test_expected_reports import PERIODS, actual_report, expected_report, ts  # noqa: E402

console = Console(width=150)
# What a late-indexed pull request changes; stars gained have their own benchmark (star_upkeep.py).
CHECKED = (
    "total_prs", "merged_count", "open_count", "repo_count", "total_additions", "total_deletions",
    "authored_additions", "authored_deletions", "total_changed_files", "size_distribution", "roles",
    "timeline",
)  # fmt: skip


def wall_clock_watermark(previous: Collection) -> datetime:
    """The baseline: the last refresh's own time, less the margin."""
    return previous.collected_at - incremental.UPDATED_MARGIN


@dataclass
class Run:
    rule: str
    first: int = 0
    daily: list[int] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # "period: field published/expected"
    seconds: float = 0.0


async def run(rule: str, watermark: Callable[[Collection], datetime], days: int, lag_hours: float) -> Run:
    result, started = Run(rule), time.perf_counter()
    original, incremental.watermark = incremental.watermark, watermark
    try:
        dataset = build_dataset(anchor=ANCHOR, population="real")
        with tempfile.TemporaryDirectory() as tmp:
            async with served(dataset, MAX, Path(tmp), truth_of_login_only=True) as world:
                await _refresh(world)
                result.first = points(world.gh)
                await _faults(world.gh.url, {"search_lag_seconds": lag_hours * 3600})
                for _ in range(days):
                    world.clock.advance(timedelta(days=1))
                    await churn(world.gh)
                    before = points(world.gh)
                    await _refresh(world)
                    result.daily.append(points(world.gh) - before)
                await _faults(world.gh.url, {"search_lag_seconds": 0})  # the index has caught up
                world.clock.advance(timedelta(hours=1))
                await _refresh(world)
                result.wrong = _wrong_reports(world)
    finally:
        incremental.watermark = original
    result.seconds = time.perf_counter() - started
    return result


async def _refresh(world: Any) -> None:
    outcome = (await world.refresher.run_pass(refresh=(world.login,), force=True)).outcomes
    assert [o.status for o in outcome] == ["refreshed"], [o.error for o in outcome]


async def _faults(url: str, changes: dict[str, float]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        (await http.post("/_fake/faults", json=changes)).raise_for_status()


def _wrong_reports(world: Any) -> list[str]:
    """Every period's numbers but stars gained (their uncertainty is the star benchmark's)."""
    data = httpx.get(world.gh.url + "/_fake/dataset", params={"users": world.login}, timeout=120).json()
    wrong = []
    for period in PERIODS:
        report = published(world.site, world.login, period)
        since, until = ts(report["since"]), ts(report["until"])
        assert since is not None and until is not None
        expected = expected_report(data, world.login, since, until, period)
        actual = actual_report(report)
        for key in CHECKED:
            if actual[key] != expected[key]:
                wrong.append(f"{period}: {key} {_short(actual[key])}/{_short(expected[key])}")
        prs = {name: r["pr_numbers"] for name, r in actual["repositories"].items()}
        if prs != {name: r["pr_numbers"] for name, r in expected["repositories"].items()}:
            wrong.append(f"{period}: the pull requests listed per repository")
    return wrong


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) < 40 else text[:37] + "..."


def report(runs: list[Run], days: int, lag_hours: float) -> bool:
    ours, baseline = runs
    table = Table(title=f"{MAX}: {days} day(s) of churn, search index {lag_hours:g} h behind, then caught up")
    for column in ("watermark", "first", "points a day", "mean a day", "wrong reports at the end", "wall"):
        table.add_column(column, justify="right")
    for r in runs:
        mean = sum(r.daily) / max(len(r.daily), 1)
        wrong = f"{len(r.wrong)}" + (f" ({'; '.join(r.wrong[:3])}…)" if r.wrong else "")
        table.add_row(
            r.rule, f"{r.first:,}", ", ".join(map(str, r.daily)), f"{mean:.1f}", wrong, f"{r.seconds:.0f} s"
        )
    console.print(table)
    ours_mean = sum(ours.daily) / max(len(ours.daily), 1)
    base_mean = sum(baseline.daily) / max(len(baseline.daily), 1)
    console.print(f"daily points, ours / baseline: {ours_mean / max(base_mean, 1e-9):.2f}")
    checks = [
        (not ours.wrong, f"every period equals the dataset ({len(ours.wrong)} wrong)"),
        (
            ours_mean <= 1.1 * base_mean,
            f"daily points within 10% of the baseline ({ours_mean:.1f}/{base_mean:.1f})",
        ),
    ]
    for ok, text in checks:
        console.print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return all(ok for ok, _ in checks)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, nargs="+", default=[1, 7], help="days of churn, one run each")
    parser.add_argument("--lag-hours", type=float, default=6.0, help="how far the search index trails writes")
    args = parser.parse_args()
    ok = True
    for days in args.days:
        days = max(1, min(days, 30))
        runs = [
            asyncio.run(run("newest updatedAt seen", incremental.watermark, days, args.lag_hours)),
            asyncio.run(run("wall clock (baseline)", wall_clock_watermark, days, args.lag_hours)),
        ]
        ok = report(runs, days, args.lag_hours) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
