"""The daily pass on the real population (issue 29, part 4): points per user after a day of
churn, for this tree and a baseline revision measured in the same run, and whether the
reports still equal the dataset.

What runs (the fake GitHub in this process, `--population real`; every pass a separate
`gitbrag-refresh --once` on SQLite, one token, 8 at a time, as `population.py` runs them):
each code's first pass over the sample (`--user` all of them), then `POST /_fake/churn
{"days": 1}`, then each code's daily pass: a plain `--once`, no `--force`, every report due
(the stale age is 1 s for both codes, so that "a day later" needs no clock), which is what
cron runs each day. Points are what the fake charged the pass (`/_fake/stats`, reset before
it), per user of the sample; how each user was collected comes from gitbrag's JSON log
("collected ..." lines: full, incremental, or unchanged: brought forward after the change
check found nothing new, `gitbrag.github.changes`).

The truth: for `--truth N` users (typical-tina, maintainer-max and the first of the sample),
every rolling period's report against `/_fake/dataset` (`tests/test_expected_reports.py`'s
independent rules), counted as reports whose numbers differ and, apart, reports whose stars
differ (a giant's unstars not yet located are stated as an uncertainty: `star_upkeep.py`).

`measure(codes, sample=..., truth=..., work=...)` is the function `scale.py` can call; it
returns a `Daily` per code. Run from a frozen copy, as `population.py` is:
    rm -rf /tmp/bench && mkdir /tmp/bench && git -C /work/main archive HEAD | tar -x -C /tmp/bench
    cd /tmp/bench && PYTHONPATH=/tmp/bench /work/main/.venv/bin/python benchmarks/scale_daily.py \\
        --repo /work/main --users 100 [--baseline REV] [--skip-baseline] [--truth 12]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the truth is the tests'

from benchmarks.population import ROOT, Code, Fake, People, baseline_worktree, people, refresh  # noqa: E402
from gitbrag.fakegithub.dataset import build_dataset  # noqa: E402
from gitbrag.fakegithub.server import FakeGitHubServer  # noqa: E402
from tests.test_expected_reports import PERIODS, actual_report, expected_report, ts  # noqa: E402

console = Console(width=160)
TARGET = 0.5  # issue 29: points per user of the daily pass after churn 1
STARS = ("total_star_increase", "repositories")  # compared apart (a giant's stars may be uncertain)


@dataclass
class Daily:
    """One code's daily pass."""

    code: str
    users: int
    points: int  # charged by the fake for the whole pass (the check included)
    seconds: float
    kinds: Counter[str] = field(default_factory=Counter)  # how users were collected
    checked: int = 0  # reports compared with the dataset
    wrong: list[str] = field(default_factory=list)  # reports whose numbers differ
    wrong_stars: list[str] = field(default_factory=list)  # reports whose stars differ

    @property
    def per_user(self) -> float:
        return self.points / self.users if self.users else float("nan")


def kinds(log: Path) -> Counter[str]:
    """Users per way of collecting, from gitbrag's JSON log."""
    out: Counter[str] = Counter()
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and str(record.get("event", "")).startswith("collected "):
            full = not record.get("incremental")
            out["full" if full else "unchanged" if record.get("unchanged") else "incremental"] += 1
    return out


def truth(fake: Fake, site: Path, logins: list[str]) -> tuple[int, list[str], list[str]]:
    """Reports compared, those whose numbers differ from the dataset, those whose stars do."""
    checked, wrong, wrong_stars = 0, [], []
    data = httpx.get(fake.url + "/_fake/dataset", params={"users": ",".join(logins)}, timeout=1200).json()
    for login in logins:
        for period in PERIODS:
            report: dict[str, Any] = json.loads((site / login.lower() / period / "report.json").read_text())
            since, until = ts(report["since"]), ts(report["until"])
            assert since is not None and until is not None
            expected, actual = expected_report(data, login, since, until, period), actual_report(report)
            top = actual.pop("languages_top")
            expected["languages"] = dict(Counter(expected["languages"]).most_common(top))
            checked += 1
            numbers = [k for k in expected if k not in STARS and actual[k] != expected[k]]
            if numbers or _prs(actual) != _prs(expected):
                wrong.append(f"{login} {period}: {', '.join(numbers) or 'pull requests per repository'}")
            if any(actual[k] != expected[k] for k in STARS):
                wrong_stars.append(f"{login} {period}")
    return checked, wrong, wrong_stars


def _prs(report: dict[str, Any]) -> dict[str, Any]:
    return {name: r["pr_numbers"] for name, r in report["repositories"].items()}


def measure(codes: list[Code], *, sample: int | None, truth_users: int, work: Path) -> list[Daily]:
    """Each code's first pass, one day of churn, each code's daily pass (see the docstring)."""
    dataset = build_dataset(population="real")
    who: People = people(dataset, sample)
    checked = [who.tina, who.max, *who.ordinary][:truth_users]
    out: list[Daily] = []
    with FakeGitHubServer(dataset) as server:
        fake = Fake(server)
        fake.post("/_fake/limits", {"core": 10**9, "search": 10**9, "graphql": 10**9})
        for code in codes:
            first = refresh(code, fake, work / code.name, "first", "--user", ",".join(who.everyone))
            console.log(
                f"{code.name} first pass: {first.summary}, {first.points:,} points, {first.seconds:.0f} s"
            )
        fake.post("/_fake/churn", {"days": 1})
        for code in codes:
            started = time.monotonic()
            run = refresh(code, fake, work / code.name, "daily")
            daily = Daily(code.name, len(who.everyone), run.points, time.monotonic() - started)
            daily.kinds = kinds(work / code.name / "daily.log")
            daily.checked, daily.wrong, daily.wrong_stars = truth(fake, work / code.name / "site", checked)
            console.log(f"{code.name} daily pass: {run.summary}, {run.points:,} points, {dict(daily.kinds)}")
            out.append(daily)
    return out


def report(results: list[Daily]) -> bool:
    table = Table(title="The daily pass after churn 1 (real population)", title_justify="left")
    for name in ("code", "users", "points", "points/user", "collected", "wall", "reports checked",
                 "numbers wrong", "stars wrong"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("code", "collected") else "right")
    for d in results:
        table.add_row(
            d.code, f"{d.users:,}", f"{d.points:,}", f"{d.per_user:.2f}",
            ", ".join(f"{k} {n}" for k, n in sorted(d.kinds.items())), f"{d.seconds:.0f} s",
            str(d.checked), str(len(d.wrong)), str(len(d.wrong_stars)),
        )  # fmt: skip
    console.print(table)
    ours = results[0]
    if len(results) > 1:
        base = results[1]
        console.print(f"ours / {base.code}: {ours.per_user:.2f} / {base.per_user:.2f} points per user "
                      f"({ours.per_user / base.per_user:.2f}×)")  # fmt: skip
    for d in results:
        for line in d.wrong + [f"{w}: stars" for w in d.wrong_stars]:
            console.print(f"  {d.code} wrong: {line}")
    ok = ours.per_user <= TARGET and not ours.wrong
    console.print(
        f"{'PASS' if ok else 'FAIL'}: daily pass {ours.per_user:.2f} points per user (<= {TARGET}), "
        f"{len(ours.wrong)} of {ours.checked} reports' numbers differ from the dataset"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=None, help="a sample of N ordinary users (default: all)")
    parser.add_argument(
        "--baseline", default="0296f15", help="the revision to compare with (default 0296f15)"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="run this tree's code only")
    parser.add_argument(
        "--repo", type=Path, default=ROOT, help="the git repository the baseline is taken from"
    )
    parser.add_argument(
        "--truth", type=int, default=12, help="users whose reports are compared with the dataset"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gitbrag-daily-"))
    codes = [Code("ours", ROOT)]
    try:
        with ExitStack() as stack:
            if not args.skip_baseline:
                codes.append(stack.enter_context(baseline_worktree(args.repo, args.baseline, work)))
            results = measure(codes, sample=args.users, truth_users=args.truth, work=work)
        return 0 if report(results) else 1
    finally:
        if args.keep:
            console.print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
