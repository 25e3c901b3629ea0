"""Star upkeep benchmark: a week of unstars at GitHub's scale, kept exact for a few points a day.

The full-size form of the week in `tests/github/test_star_upkeep.py`, which runs it on a world
a tenth of this size with a tenth of the re-read budget, to stay quick. Here `typical-tina`
(~300 PRs in 60 repositories, two of them the giants titan-labs/titan and megaframe/megaframe,
331k and 263k stars) on the fake's `real` population is refreshed through a real `Refresher`
on SQLite, then the fake churns a day at a time (new stars, unstars of stars of any age, new
and merged PRs) and she is refreshed again, seven times, with the real budget
(`reconcile.STRETCHES`: 200 stretches of 100 stars a repository a day, 2 points). Every pass
is checked against the fake's dataset by the test's own rules: each report exact, but for
stars gained, which may be too high by at most the uncertainty the report states. It prints:

1. per day: the unstars the churn made (everywhere), the GraphQL points and the wall time of
   the refresh, each giant's stretches re-read and unstars located, and the largest
   uncertainty any period stated;
2. the first refresh (the walk of every star history) against the dearest day: points, and
   their ratio; the largest uncertainty against her stars gained in a year;
3. the test's bounds, at full size, as PASS/FAIL lines: a day at most 25 points, a re-read at
   most 200 stretches, both giants re-read, more than 10 unstars located, the uncertainty at
   most 1% of the stars gained.

Why: the small world shows the rules hold; only the full size shows what they save where a
walk costs ~870 points and a giant takes days to re-read, and that the stated uncertainty stays
a fraction of a percent there.

Run: .venv/bin/python benchmarks/star_upkeep.py [--days 7]
Bounded: about 2 minutes on two cores. Exits non-zero if a bound is not met (a report that is
not true stops it with the test's assertion).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the week and its truth are the test's

from gitbrag.fakegithub.dataset import build_dataset  # noqa: E402
from gitbrag.github import reconcile  # noqa: E402
from tests.github.test_star_upkeep import ANCHOR, TINA, Week, a_week, served  # noqa: E402

GIANTS = ("titan-labs/titan", "megaframe/megaframe")
console = Console(width=150)


async def run(days: int) -> Week:
    started = time.perf_counter()
    dataset = build_dataset(anchor=ANCHOR, population="real")
    console.print(f"the real population built in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        async with served(dataset, TINA, Path(tmp), truth_of_login_only=True) as world:
            return await a_week(world, days=days)


def report(week: Week) -> bool:
    table = Table(title=f"{TINA} on the real population, re-read budget {reconcile.STRETCHES} stretches")
    for column in ("refresh", "unstars (churn)", "points", "wall", *GIANTS, "widest ±"):
        table.add_column(column, justify="right")
    table.add_row("first (walk)", "", f"{week.walk:,}", f"{week.walk_seconds:.1f} s", "", "", "0")
    for day, rereads in enumerate(week.daily_rereads):
        cells = []
        for giant in GIANTS:
            mine = [r for r in rereads if r.repo == giant]  # type: ignore[attr-defined]
            cells.append(
                ", ".join(f"{r.stretches} read, {r.located} located" for r in mine) or "-"  # type: ignore[attr-defined]
            )
        table.add_row(
            f"day {day + 1}",
            f"{week.daily_unstars[day]:,}",
            f"{week.daily[day]:,}",
            f"{week.daily_seconds[day]:.1f} s",
            *cells,
            f"{week.widest[day]:,}",
        )
    console.print(table)
    dearest, widest = max(week.daily), max(week.widest)
    console.print(
        f"walk {week.walk:,} points, dearest day {dearest} ({week.walk / max(dearest, 1):.0f}x less);"
        f" {week.unstars:,} unstars in {len(week.daily)} days, {week.located} located by re-reads;"
        f" widest uncertainty {widest:,} of {week.gained:,} stars gained in a year"
        f" ({100 * widest / max(week.gained, 1):.2f}%)"
    )
    repos = {r.repo for r in week.rereads}  # type: ignore[attr-defined]
    most = max((r.stretches for r in week.rereads), default=0)  # type: ignore[attr-defined]
    checks = [
        (dearest <= 25, f"a day of upkeep costs at most 25 points ({dearest})"),
        (most <= reconcile.STRETCHES, f"a re-read reads at most {reconcile.STRETCHES} stretches ({most})"),
        (set(GIANTS) <= repos, "both giants were re-read"),
        (week.located > 10, f"re-reads located more than 10 unstars ({week.located})"),
        (widest <= week.gained // 100, f"the uncertainty stays within 1% of the stars gained ({widest:,})"),
    ]
    for ok, text in checks:
        console.print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return all(ok for ok, _ in checks)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=7, help="days of churn after the first refresh")
    args = parser.parse_args()
    started = time.perf_counter()
    week = asyncio.run(run(max(1, min(args.days, 30))))
    ok = report(week)
    console.print(f"{time.perf_counter() - started:.0f} s in all, the truth checked after every pass")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
