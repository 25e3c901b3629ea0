"""Population benchmark (issue 12): gitbrag on a population shaped like GitHub, against the
code of a baseline revision in the same run.

The fake GitHub serves `--population real` (in this process, `FakeGitHubServer`): six giant
repositories of 156k-412k stars, `typical-tina` (~300 PRs in 60 repositories, two giants),
`maintainer-max` (20,000 PRs over 12 years in 400 repositories) and `real-0001`...`real-1000`.
The users are taken from the dataset (its population's accounts), not from a list here.

Every pass is a separate `gitbrag-refresh --once` process on the embedded SQLite store, with
one token and `GITBRAG_MAX_CONCURRENT=8`, as cron runs it:

* population: a first pass over all users, then `POST /_fake/churn {"days": 1}` and a daily
  pass (`--force` on every user: each report regenerated as a daily cron with a one-day
  stale age would), then an unchanged pass (`--force` again, no churn);
* alone: `typical-tina` first (on an empty state, and "indexed": after a pass of the other
  users who share her repositories, so their star histories are in the index) and daily;
  `maintainer-max` first and daily.

Per pass: the GraphQL points and REST requests the fake charged (`/_fake/stats`, zeroed by
`POST /_fake/reset` before each pass, which keeps the dataset and its churn); points per
user, mean and p99, from each collection's structured log line ("collected ...", JSON
logs); users an hour per token (5,000 points); wall time; peak RSS and CPU seconds
(user + sys) of the process (`os.wait4`); and the unchanged pass's CPU against the first
pass's. The fake's budgets are lifted so that a pass dearer than a token-hour is measured,
not waited for; its cost is what it was charged.

The baseline (`--baseline REV`, default 2ba166f: main when this work began) runs the same
passes from a `git worktree` of that revision, its package first on `PYTHONPATH` (checked:
the child prints `gitbrag.__file__`). Each row shows ours, the baseline's and their ratio.

Checks (exit status 1 when one fails; the other figures are printed, never asserted):
`maintainer-max`'s refreshes, first and daily, peak under 200 MiB (issue 12).

Run: .venv/bin/python benchmarks/population.py [--users N] [--latency-ms 0] [--skip-baseline]
How long: with `--users 30 --skip-baseline` about 3 minutes on two cores; the whole
population (1,000 users) and the baseline take much longer, dominated by the baseline's
first pass (sequential stargazer pages of the giants); `--latency-ms 50` measures wall time
with a realistic round trip.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from gitbrag.fakegithub import population
from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.records import Dataset
from gitbrag.fakegithub.server import FakeGitHubServer

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "benchmark-population-token"
HOURLY_POINTS = 5000
MEMORY_LIMIT_MIB = 200
INDEXED_HELPERS = 60  # at most this many co-contributors index typical-tina's repositories
# The entry point of `gitbrag-refresh`, for whichever `gitbrag` package comes first on the path.
ENTRY = "import sys; from gitbrag.cli import refresh_main; sys.exit(refresh_main())"
console = Console(width=190)


# --- one gitbrag-refresh process -----------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What one `gitbrag-refresh --once` process cost, as the fake and the kernel counted it."""

    summary: str
    seconds: float
    cpu: float  # user + sys
    peak_mib: float
    points: int  # GraphQL points the fake charged
    rest: int  # REST requests (core and search) the fake charged
    per_user: dict[str, int]  # GraphQL points per collected user, from gitbrag's own log

    @property
    def users_per_hour(self) -> float:
        users = len(self.per_user)
        return math.inf if self.points == 0 else users * HOURLY_POINTS / self.points

    def per_user_points(self, quantile: float | None = None) -> float:
        values = sorted(self.per_user.values())
        if not values:
            return math.nan
        if quantile is None:
            return statistics.fmean(values)
        return float(values[min(len(values) - 1, math.ceil(quantile * len(values)) - 1)])


@dataclass(frozen=True)
class Code:
    """The gitbrag that runs: this tree's, or a baseline revision's worktree."""

    name: str
    pythonpath: Path | None = None

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.pythonpath)} if self.pythonpath else {}

    def package_file(self, cwd: Path) -> str:
        """`gitbrag.__file__` as the children see it (from `cwd`, as they run): which code runs."""
        command = [sys.executable, "-c", "import gitbrag; print(gitbrag.__file__)"]
        env = clean_env() | self.env()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()


class Fake:
    """The fake GitHub in this process, reachable by the refresh processes."""

    def __init__(self, server: FakeGitHubServer) -> None:
        self.server = server
        self.url = server.url

    def post(self, path: str, body: dict[str, object] | None = None) -> None:
        httpx.post(self.url + path, json=body or {}, timeout=600).raise_for_status()

    def charged(self) -> tuple[int, int]:
        cost = httpx.get(self.url + "/_fake/stats", timeout=60).json()["cost"]
        return int(cost["graphql"]), int(cost["core"]) + int(cost["search"])


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("GITBRAG_", "GITHUB_", "PYTHONPATH"))}


def refresh(code: Code, fake: Fake, work: Path, name: str, *args: str) -> Run:
    """One pass of `code` in `work` (its state and site), costed from zero."""
    work.mkdir(parents=True, exist_ok=True)
    env = clean_env() | code.env()
    env |= {
        "GITHUB_TOKEN": TOKEN,
        "GITBRAG_GITHUB_API_URL": fake.url,
        "GITBRAG_LOG_FORMAT": "json",
        "GITBRAG_LOG_LEVEL": "INFO",
        "GITBRAG_MAX_CONCURRENT": "8",
    }
    fake.post("/_fake/reset")
    log, out = work / f"{name}.log", work / f"{name}.out"
    started = time.monotonic()
    with log.open("wb") as err, out.open("wb") as stdout:
        child = subprocess.Popen([sys.executable, "-c", ENTRY, "--once", *args], cwd=work, env=env,
                                 stdout=stdout, stderr=err)  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, for its rusage
    lines = out.read_text(encoding="utf-8").strip().splitlines()
    if child.returncode not in (0, 1) or not lines:
        sys.exit(f"{code.name} {name}: gitbrag-refresh exited {child.returncode}:\n{log.read_text()[-3000:]}")
    points, rest = fake.charged()
    return Run(lines[-1], seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, points, rest,
               collected_points(log))  # fmt: skip


def collected_points(log: Path) -> dict[str, int]:
    """GraphQL points per user, from each collection's log line ("collected ...", `points`)."""
    spent: Counter[str] = Counter()
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and str(record.get("event", "")).startswith("collected "):
            spent[str(record.get("user", "?")).lower()] += int(record.get("points", 0))
    return dict(spent)


# --- who -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class People:
    tina: str
    max: str
    ordinary: list[str]  # the sample of the ordinary users
    tina_helpers: list[str]  # others whose recent work covers typical-tina's repositories

    @property
    def everyone(self) -> list[str]:
        return [self.tina, self.max, *self.ordinary]


def people(ds: Dataset, sample: int | None) -> People:
    """The population's users, from the dataset: accounts added with `typical-tina` and after."""
    tina, maximum = ds.users[population.TINA].login, ds.users[population.MAX].login
    first = ds.users[population.TINA].id
    users = sorted(u.login for u in ds.users.values() if u.type == "User" and u.id >= first)
    ordinary = [u for u in users if u not in (tina, maximum)]
    if sample is not None and sample < len(ordinary):
        ordinary = sorted(random.Random(12).sample(ordinary, sample))
    return People(tina, maximum, ordinary, helpers(ds, tina, [u for u in users if u not in (tina, maximum)]))


def recent_repos(ds: Dataset, login: str, since: datetime) -> set[str]:
    """Repositories whose stars `login`'s reports count: a PR created or merged since `since`."""
    return {
        p.repo.lower() for p in ds.pulls_by(login) if max(p.created_at, p.merged_at or p.created_at) >= since
    }


def helpers(ds: Dataset, tina: str, others: list[str]) -> list[str]:
    """Co-contributors whose recent pull requests cover as many of tina's recent repositories
    as a few dozen people can (greedy set cover): the star index then holds her histories."""
    since = ds.anchor - timedelta(days=5 * 365)
    wanted = recent_repos(ds, tina, since)
    covers = {u: recent_repos(ds, u, since) & wanted for u in others}
    chosen: list[str] = []
    while wanted and len(chosen) < INDEXED_HELPERS:
        best = max(covers, key=lambda u: len(covers[u] & wanted))
        if not covers[best] & wanted:
            break
        chosen.append(best)
        wanted -= covers.pop(best)
    return sorted(chosen)


# --- the passes ----------------------------------------------------------------------------------


@dataclass
class Results:
    runs: dict[tuple[str, str], Run] = field(default_factory=dict)  # (code, row) -> run

    def add(self, code: Code, row: str, run: Run) -> None:
        self.runs[(code.name, row)] = run
        console.log(f"{code.name:>8} {row:<32} {run.summary:<34} {run.seconds:7.1f} s {run.points:6} points"
                    f" {run.peak_mib:6.0f} MiB")  # fmt: skip


def before_churn(codes: list[Code], fake: Fake, work: Path, who: People, results: Results) -> None:
    everyone = ",".join(who.everyone)
    for code in codes:
        base = work / code.name
        results.add(
            code, "population: first", refresh(code, fake, base / "population", "first", "--user", everyone)
        )
        results.add(
            code, "tina alone: first", refresh(code, fake, base / "tina", "first", "--user", who.tina)
        )
        results.add(code, "max alone: first", refresh(code, fake, base / "max", "first", "--user", who.max))
        indexed = base / "tina-indexed"
        refresh(code, fake, indexed, "helpers", "--user", ",".join(who.tina_helpers))
        results.add(
            code, "tina alone: first, repos indexed", refresh(code, fake, indexed, "tina", "--user", who.tina)
        )


def after_churn(codes: list[Code], fake: Fake, work: Path, who: People, results: Results) -> None:
    for code in codes:
        base = work / code.name
        results.add(code, "population: daily", refresh(code, fake, base / "population", "daily", "--force"))
        results.add(code, "tina alone: daily", refresh(code, fake, base / "tina", "daily", "--force"))
        results.add(code, "max alone: daily", refresh(code, fake, base / "max", "daily", "--force"))
    for code in codes:
        base = work / code.name
        unchanged = refresh(code, fake, base / "population", "unchanged", "--force")
        results.add(code, "population: unchanged", unchanged)


# --- the tables ----------------------------------------------------------------------------------

ROWS = (
    "population: first", "population: daily", "population: unchanged",
    "tina alone: first", "tina alone: first, repos indexed", "tina alone: daily",
    "max alone: first", "max alone: daily",
)  # fmt: skip
COLUMNS: tuple[tuple[str, str], ...] = (
    ("GraphQL points", "{:,.0f}"),
    ("REST", "{:,.0f}"),
    ("points/user mean", "{:,.1f}"),
    ("points/user p99", "{:,.0f}"),
    ("users/hour/token", "{:,.0f}"),
    ("wall", "{:,.1f} s"),
    ("peak RSS", "{:,.0f} MiB"),
    ("CPU", "{:,.1f} s"),
)


def figures(run: Run) -> list[float]:
    return [run.points, run.rest, run.per_user_points(), run.per_user_points(0.99), run.users_per_hour,
            run.seconds, run.peak_mib, run.cpu]  # fmt: skip


def cell(fmt: str, ours: float, base: float | None) -> str:
    text = "∞" if math.isinf(ours) else fmt.format(ours)
    if base is None:
        return text
    other = "∞" if math.isinf(base) else fmt.format(base)
    ratio = (
        ""
        if not base or math.isinf(base) or math.isinf(ours) or math.isnan(base)
        else f" ({ours / base:.2f}×)"
    )
    return f"{text} / {other}{ratio}"


def table(results: Results, codes: list[Code], title: str) -> Table:
    ours, base = codes[0].name, codes[1].name if len(codes) > 1 else None
    heading = title + ("" if base is None else f": ours / {base} (ours ÷ {base})")
    out = Table(title=heading, title_justify="left")
    out.add_column("pass")
    out.add_column("users", justify="right")
    for name, _ in COLUMNS:
        out.add_column(name, justify="right")
    for row in ROWS:
        mine = results.runs.get((ours, row))
        if mine is None:
            continue
        theirs = results.runs.get((base, row)) if base else None
        other = figures(theirs) if theirs else [None] * len(COLUMNS)
        cells = [cell(fmt, a, b) for (_, fmt), a, b in zip(COLUMNS, figures(mine), other, strict=True)]
        out.add_row(row, f"{len(mine.per_user):,}", *cells)
    return out


def cpu_ratio(results: Results, code: Code) -> str:
    first = results.runs[(code.name, "population: first")]
    unchanged = results.runs[(code.name, "population: unchanged")]
    share = unchanged.cpu / first.cpu
    return (
        f"{code.name}: the unchanged pass took {unchanged.cpu:.1f} s of CPU, {share:.2f} of the first"
        f" pass's {first.cpu:.1f} s"
    )


def memory_check(results: Results, code: Code) -> bool:
    """maintainer-max's refreshes (first and daily, alone) peak under the limit; the
    population passes' peaks (a process refreshing many users at once) are only printed."""
    mine = {row: r.peak_mib for (name, row), r in results.runs.items() if name == code.name}
    worst = max(peak for row, peak in mine.items() if row.startswith("max"))
    crowd = max(peak for row, peak in mine.items() if row.startswith("population"))
    ok = worst < MEMORY_LIMIT_MIB
    console.print(
        f"check: maintainer-max's refreshes peak at {worst:.0f} MiB (limit {MEMORY_LIMIT_MIB} MiB):"
        f" {'ok' if ok else 'FAILED'}; the population passes (8 users at once) peak at {crowd:.0f} MiB"
    )
    return ok


# --- main ----------------------------------------------------------------------------------------


@contextmanager
def baseline_worktree(revision: str, parent: Path) -> Iterator[Code]:
    folder = parent / f"baseline-{revision}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), revision],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield Code(revision, folder)
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], capture_output=True
        )


def run(args: argparse.Namespace, codes: list[Code], work: Path) -> int:
    for code in codes:
        where = code.package_file(work)
        console.print(f"{code.name}: gitbrag is {where}")
        if code.pythonpath and not Path(where).is_relative_to(code.pythonpath):
            sys.exit(f"the baseline's children would not run its code ({where})")
    started = time.monotonic()
    dataset = build_dataset(population="real")
    who = people(dataset, args.users)
    console.print(
        f"{len(who.everyone):,} users ({len(who.ordinary):,} ordinary), {len(who.tina_helpers)}"
        f" co-contributors index typical-tina's repositories; fake latency {args.latency_ms:.0f} ms;"
        f" started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    with FakeGitHubServer(dataset) as server:
        fake = Fake(server)
        fake.post("/_fake/limits", {"core": 10**9, "search": 10**9, "graphql": 10**9})
        server.app_state.faults.update({"latency_ms": args.latency_ms, "jitter_ms": args.latency_ms / 5})
        results = Results()
        before_churn(codes, fake, work, who, results)
        fake.post("/_fake/churn", {"days": 1})
        after_churn(codes, fake, work, who, results)
    console.print(
        table(results, codes, f"gitbrag on the real population ({len(who.everyone):,} users, one token)")
    )
    for code in codes:
        console.print(cpu_ratio(results, code))
    console.print(f"benchmark wall time: {(time.monotonic() - started) / 60:.1f} min")
    return 0 if memory_check(results, codes[0]) else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=None, help="a sample of N ordinary users (default: all)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="the fake's latency (default 0: a cost run)"
    )
    parser.add_argument(
        "--baseline", default="2ba166f", help="the revision to compare with (default 2ba166f)"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="run this tree's code only")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (states, sites, logs)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gitbrag-population-"))
    try:
        if args.skip_baseline:
            return run(args, [Code("ours")], work)
        with baseline_worktree(args.baseline, work) as baseline:
            return run(args, [Code("ours"), baseline], work)
    finally:
        if args.keep:
            console.print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
