"""Cold starts (issue 28, part 3): what a first refresh costs, and what GitHub's REST stargazer
pages could answer instead of the star walk, on the same fake GitHub in the same run.

The fake serves `--population real` (as `population.py` does, in this process, budgets lifted):
the demo users, `steady-sam` among them (pull requests into `star-rocket/rocket`, ~3,000 stars),
`typical-tina`, `maintainer-max` and `real-0001`...`real-1000`.

1. `steady-sam`'s first refresh, a `gitbrag-refresh --once --user steady-sam` process on an
   empty state: requests + points as the fake charged them, this tree against the baseline
   (`--baseline`, default 0296f15: main before the refresh counted stars by REST search, a
   `git worktree` of it).
2. The population's first pass (`--users N`: a sample of the ordinary users, typical-tina and
   maintainer-max always in it), this tree only unless `--population-baseline`: GraphQL points
   and REST requests.

   After each first refresh, its stars against the fake's dataset: every published report's
   stars gained per repository (all but all time's) equal to the current stargazers who
   starred inside its window, counted directly; "stars" says how many were checked, how many
   were wrong, and how many had no number ("not known": windows older than the five years
   star histories reach, or "still being counted": those should be none).
3. The REST search (`gitbrag.github.starprobe`) of every repository those first refreshes walk
   (a pull request in the last five years) that REST reaches (at most 40,000 stars): the
   moments the reports of the day ask (the 1-, 2- and 5-year windows and the ones before them,
   the calendar years of the last five, in UTC), each checked against the fake's dataset
   (current stargazers who starred before it, counted directly), the REST requests it took,
   and the 5-year walk's pages it would replace; and the repositories REST cannot reach, whose
   pages only the walk reads.

The search is also measured on its own (table 2), with the moments of this benchmark's own
choosing; since issue 28's part 3 the refresh itself counts its cold starts this way (table 1).

Run (from a frozen copy of the tree, as `population.py`):
    rm -rf /tmp/bench && mkdir /tmp/bench && git archive HEAD | tar -x -C /tmp/bench
    cd /tmp/bench && PYTHONPATH=/tmp/bench $repo/.venv/bin/python benchmarks/cold_start.py \
        --repo $repo [--users N]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

from rich.console import Console
from rich.table import Table

from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.records import Dataset
from gitbrag.fakegithub.server import FakeGitHubServer
from gitbrag.github.client import GitHubClient
from gitbrag.github.starprobe import REACH, star_positions
from gitbrag.periods import ROLLING_DAYS, parse_period

ROOT = Path(__file__).resolve().parent.parent
SAM = "steady-sam"
console = Console(width=200)


def _population() -> ModuleType:
    """`benchmarks/population.py` (not a package): its refresh process, fake and baseline."""
    spec = importlib.util.spec_from_file_location(
        "population_bench", Path(__file__).with_name("population.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pop = _population()


def moments(now: datetime) -> list[datetime]:
    """Where the day's report windows begin and end (an end as the moment just after it),
    within the five years the star histories reach, and before `now`."""
    horizon = now - timedelta(days=ROLLING_DAYS["5_years"])
    names = [*ROLLING_DAYS, *(str(year) for year in range(horizon.year, now.year + 1))]
    found: set[datetime] = set()
    for name in names:
        spec = parse_period(name, "UTC")
        for window in (spec.window(now), spec.previous(now)):
            if window is not None:
                found |= {window.since, window.until + timedelta(microseconds=1)}
    return sorted(m for m in found if horizon <= m < now)


def stars_told(ds: Dataset, site: Path) -> str:
    """The published stars gained, per report and repository, against the dataset: current
    stargazers who starred inside the report's window (both ends included)."""
    sorted_times: dict[str, list[datetime]] = {}
    checked = wrong = pending = pending_counted = 0
    for path in sorted(site.glob("*/*/report.json")):
        report = json.loads(path.read_text())
        if report.get("period") == "all_time":
            continue
        since, until = _time(report["since"]), _time(report["until"])
        for repository in report["repositories"]:
            told = repository.get("star_increase")
            if repository.get("stars_pending"):
                pending_counted += 1
            if told is None:
                pending += 1
                continue
            name = repository["name"]
            if name not in sorted_times:
                repo = ds.repo(name)
                sorted_times[name] = sorted(s.starred_at for s in repo.stars) if repo is not None else []
            times = sorted_times[name]
            truth = bisect.bisect_right(times, until) - bisect.bisect_left(times, since)
            checked += 1
            wrong += told != truth
    exact = "exact" if wrong == 0 else f"{wrong:,} WRONG"
    unknown = f", {pending:,} not known ({pending_counted:,} still being counted)" if pending else ""
    return f"{checked:,} {exact}{unknown}"


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def walked(ds: Dataset, users: list[str], now: datetime) -> dict[str, int]:
    """The repositories the users' first refreshes walk, with their stargazer counts."""
    since = now - timedelta(days=ROLLING_DAYS["5_years"])
    names: set[str] = set()
    for login in users:
        names |= pop.recent_repos(ds, login, since)
    return {f"{r.owner}/{r.name}": len(r.stars) for n in sorted(names) if (r := ds.repo(n)) is not None}


def window_pages(ds: Dataset, repo: str, since: datetime) -> int:
    """The pages of 100 a newest-first walk back to `since` reads."""
    stars = sum(1 for s in ds.repos[repo.lower()].stars if s.starred_at >= since)
    return max(1, -(-stars // 100))


async def searched(
    url: str, counts: dict[str, int], at: list[datetime], newest: dict[str, datetime] | None = None
) -> dict[str, object]:
    async with GitHubClient(["benchmark-cold-start-token"], url, url + "/graphql") as client:
        return dict(await star_positions(client, counts, at, newest))


def search_row(fake: object, ds: Dataset, label: str, counts: dict[str, int], now: datetime) -> list[str]:
    at = moments(now)
    reach = {repo: n for repo, n in counts.items() if n <= REACH}
    started = time.monotonic()
    newest = {repo: ds.repos[repo.lower()].stars[-1].starred_at for repo in reach if counts[repo]}
    found = asyncio.run(searched(fake.url, reach, at, newest))  # type: ignore[attr-defined]
    seconds = time.monotonic() - started
    wrong = sum(
        1
        for repo, positions in found.items()
        for moment, older in positions.older.items()  # type: ignore[attr-defined]
        if older != sum(1 for s in ds.repos[repo.lower()].stars if s.starred_at < moment)
    )
    asked = sum(len(p.older) for p in found.values())  # type: ignore[attr-defined]
    requests = sum(p.requests for p in found.values())  # type: ignore[attr-defined]
    horizon = now - timedelta(days=ROLLING_DAYS["5_years"])
    pages = sum(window_pages(ds, repo, horizon) for repo in reach)
    beyond = sum(window_pages(ds, repo, horizon) for repo in counts if repo not in reach)
    return [
        label,
        f"{len(reach):,} / {len(counts) - len(reach):,}",
        f"{asked:,}",
        f"{requests:,}",
        f"{pages:,}",
        f"{beyond:,}",
        "exact" if wrong == 0 else f"{wrong} WRONG",
        f"{seconds:.1f} s",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=30, help="ordinary users in the population sample")
    parser.add_argument("--baseline", default="0296f15", help="the revision to compare with")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the git repository the baseline comes from")
    parser.add_argument(
        "--population-baseline", action="store_true", help="the baseline's population pass too"
    )
    parser.add_argument("--skip-search", action="store_true", help="without table 2 (the search alone)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gitbrag-cold-start-"))
    try:
        with pop.baseline_worktree(args.repo, args.baseline, work) as baseline:
            return run(args, [pop.Code("ours", ROOT), replace(baseline)], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, codes: list[object], work: Path) -> int:
    dataset = build_dataset(population="real")
    who = pop.people(dataset, args.users)
    now = datetime.now(UTC)
    first = Table(
        title=f"first refreshes (fake GitHub, `--population real`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)"
    )
    columns = ("code", "run", "users", "GraphQL points", "REST requests", "requests + points", "stars")
    for column in columns:
        first.add_column(column, justify="left" if column in ("code", "run") else "right")
    with FakeGitHubServer(dataset) as server:
        fake = pop.Fake(server)
        fake.post("/_fake/limits", {"core": 10**9, "search": 10**9, "graphql": 10**9})
        for code in codes:
            for name, users in (("steady-sam: first", [SAM]), ("population: first", who.everyone)):
                if name.startswith("population") and code.name != "ours" and not args.population_baseline:  # type: ignore[attr-defined]
                    continue
                folder = work / f"{code.name}-{name.split(':')[0]}"  # type: ignore[attr-defined]
                result = pop.refresh(code, fake, folder, "first", "--user", ",".join(users))
                graphql_requests = result.points  # the fake's charge: points
                first.add_row(
                    code.name,
                    name,
                    f"{len(users):,}",
                    f"{graphql_requests:,}",
                    f"{result.rest:,}",  # type: ignore[attr-defined]
                    f"{result.points + result.rest:,}",
                    stars_told(dataset, folder / "site"),
                )
        console.print(first)
        if args.skip_search:
            return 0
        fake.post("/_fake/reset")
        search = Table(
            title=f"REST search of the walked repositories' report moments ({len(moments(now))} moments)"
        )
        for column in (
            "users",
            "repositories (REST reaches / not)",
            "moments found",
            "REST requests",
            "walk pages replaced",
            "walk pages left (> 40,000 stars)",
            "vs dataset",
            "time",
        ):
            search.add_column(column, justify="right")
        search.add_row(*search_row(fake, dataset, SAM, walked(dataset, [SAM], now), now))
        everyone = walked(dataset, who.everyone, now)
        search.add_row(
            *search_row(fake, dataset, f"population sample ({len(who.everyone):,})", everyone, now)
        )
        console.print(search)
    return 0


if __name__ == "__main__":
    sys.exit(main())
