"""Population benchmark (issue 12): gitbrag on a population shaped like GitHub, against the
code of a baseline revision in the same run.

The fake GitHub serves `--population real` (in this process, `FakeGitHubServer`): six giant
repositories of 156k-412k stars, `typical-tina` (~300 PRs in 60 repositories, two giants),
`maintainer-max` (20,000 PRs over 12 years in 400 repositories) and `real-0001`...`real-1000`.
The users are taken from the dataset (its population's accounts), not from a list here.

Every pass is a separate `gitbrag-refresh --once` process on the embedded SQLite store, with
one token and `GITBRAG_MAX_CONCURRENT=8`, as cron runs it:

* population: a first pass over all users, then `POST /_fake/churn {"days": 1}` and a daily
  pass (a plain `--once` with every report due, as a daily cron with a one-day stale age
  runs it: every pass has a stale age of 1 s, `DUE`, so "a day later" needs no clock; due
  passes take the change check, `gitbrag.github.changes`), then an unchanged pass (due
  again, no churn);
* alone: `typical-tina` first (on an empty state, and "indexed": after a pass of the other
  users who share her repositories, so their star histories are in the index) and daily;
  `maintainer-max` first and daily.

Per pass: the GraphQL points and REST requests the fake charged (`/_fake/stats`, zeroed by
`POST /_fake/reset` before each pass, which keeps the dataset and its churn); points per
user, mean and p99, from each collection's structured log line ("collected ...", JSON
logs); users an hour per token (5,000 points); wall time; the process's peak RSS (its own
VmHWM) and CPU seconds (user + sys, `os.wait4`); and the unchanged pass's CPU against the
first pass's. The fake's budgets are lifted so that a pass dearer than a token-hour is measured,
not waited for; its cost is what it was charged.

The baseline (`--baseline REV`, default 2ba166f: main when this work began) runs the same
passes from a `git worktree` of that revision (taken from `--repo`, default this tree: a
frozen copy made with `git archive` is no repository), its package first on `PYTHONPATH`;
this tree's package is put first on it too, so the venv's editable install of a live tree
never runs instead (checked: the children's `gitbrag.__file__` is printed). Each row shows
ours, the baseline's and their ratio. `--baseline-users N` runs the baseline's population
passes over a sample of N ordinary users (the users column then shows both counts), and
`--baseline-no-indexed` leaves out its indexed typical-tina run: both for a deadline.

Where the points go: per population pass, the points the collections' log lines account for
(full and incremental collections), the dearest users, and per giant the unstars revealed and
the stretches re-read to locate them (JSON log lines "N unstars of R to locate", "re-read N
stretches ...").

Checks, issue 12's "Done when", on ours, each printed as PASS or FAIL (exit status 1 when
one fails): the first pass over the population <= 5,000 points; the daily pass after churn 1
<= 3 points per user (points charged / users); `typical-tina` with her repositories indexed
<= 10 points; the unchanged pass's CPU <= 1/4 of the first pass's; `maintainer-max` (alone,
first and daily) peaks under 200 MiB; a giant that lost stars costs <= 2 points of re-reading
on the daily pass.

Run (from a frozen copy of the tree, so that others' edits do not change the code mid-run):
    rm -rf /tmp/bench && mkdir /tmp/bench && git -C /work/main archive HEAD | tar -x -C /tmp/bench
    cd /tmp/bench && PYTHONPATH=/tmp/bench /work/main/.venv/bin/python benchmarks/population.py \
        --repo /work/main [--users N] [--baseline-users N] [--latency-ms 0] [--skip-baseline]
How long: with `--users 30` a few minutes on two cores; the whole population (1,002 users)
with the baseline much longer, dominated by the baseline's walks of the giants' histories;
`--latency-ms 50` measures wall time with a realistic round trip.
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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from gitbrag.fakegithub import population
from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.records import Dataset
from gitbrag.fakegithub.server import FakeGitHubServer

ROOT = Path(__file__).resolve().parent.parent
DUE = {"GITBRAG_STALE_AFTER_SECONDS": "1"}  # every report is due at the next pass
TOKEN = "benchmark-population-token"
HOURLY_POINTS = 5000
MEMORY_LIMIT_MIB = 200
INDEXED_HELPERS = 60  # at most this many co-contributors index typical-tina's repositories
# The entry point of `gitbrag-refresh`, for whichever `gitbrag` package comes first on the path.
# At exit it writes its own peak resident size (VmHWM, KiB) to $BENCH_PEAK_FILE: `os.wait4`'s
# ru_maxrss cannot tell it, as a child spawned from this big process (vfork, then exec) is
# charged this process's peak (a 9 MiB child of a 400 MiB parent reports 410 MiB).
ENTRY = """
import atexit, os, sys
def _peak():
    with open("/proc/self/status") as status, open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(_peak)
try:
    from gitbrag.doors.cli import refresh_main
except ModuleNotFoundError:  # a baseline from before the pipeline's packages (issue 13)
    from gitbrag.cli import refresh_main
sys.exit(refresh_main())
"""
console = Console(width=250)


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
    digest: Digest

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
    sample: int | None = None  # its population passes over this many of the ordinary users
    indexed: bool = True  # whether it runs the "typical-tina, her repositories indexed" scenario

    def sampled(self, who: People) -> People:
        """The users of this code's population passes (a baseline too slow for all of them
        runs a sample; typical-tina and maintainer-max are always in it)."""
        if self.sample is None or self.sample >= len(who.ordinary):
            return who
        ordinary = sorted(random.Random(13).sample(who.ordinary, self.sample))
        return People(who.tina, who.max, ordinary, who.tina_helpers)

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
    """One pass of `code` in `work` (its state and site), costed from zero, every report due
    at the next pass (`DUE`)."""
    work.mkdir(parents=True, exist_ok=True)
    env = clean_env() | code.env() | DUE
    env |= {
        "GITHUB_TOKEN": TOKEN,
        "GITBRAG_GITHUB_API_URL": fake.url,
        "GITBRAG_LOG_FORMAT": "json",
        "GITBRAG_LOG_LEVEL": "INFO",
        "GITBRAG_MAX_CONCURRENT": "8",
    }
    fake.post("/_fake/reset")
    log, out, peak = work / f"{name}.log", work / f"{name}.out", work / f"{name}.peak"
    env["BENCH_PEAK_FILE"] = str(peak)
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
    digest = read_log(log)
    peak_mib = int(peak.read_text()) / 1024
    return Run(lines[-1], seconds, usage.ru_utime + usage.ru_stime, peak_mib, points, rest,
               digest.points, digest)  # fmt: skip


@dataclass
class Digest:
    """What gitbrag's JSON log says a pass did: points per user ("collected ..." lines), full
    and incremental collections, and per repository the unstars revealed and the stretches
    re-read to locate them (the baseline logs no re-reads: it walks such a history again)."""

    points: dict[str, int] = field(default_factory=dict)
    full: set[str] = field(default_factory=set)
    unstars: Counter[str] = field(default_factory=Counter)  # revealed by the day's counts
    stretches: Counter[str] = field(default_factory=Counter)
    located: Counter[str] = field(default_factory=Counter)
    unlocated: dict[str, int] = field(default_factory=dict)  # after the last re-read
    walked_again: Counter[str] = field(default_factory=Counter)


def read_log(log: Path) -> Digest:
    digest, spent = Digest(), Counter[str]()
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        event, repo = str(record.get("event", "")), str(record.get("repo", "")).lower()
        if event.startswith("collected "):
            user = str(record.get("user", "?")).lower()
            spent[user] += int(record.get("points", 0))
            if not record.get("incremental"):
                digest.full.add(user)
        elif event.startswith("re-read ") and "stretches" in record:
            digest.stretches[repo] += int(record["stretches"])
            digest.located[repo] += int(record.get("located", 0))
            digest.unlocated[repo] = int(record.get("unlocated", 0))
        elif "unstars" in record and " to locate" in event:  # every refresh extending it says so
            digest.unstars[repo] = max(digest.unstars[repo], int(record["unstars"]))
        elif "does not add up" in event:
            digest.walked_again[repo] += 1
    digest.points = dict(spent)
    return digest


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
    """The runs so far, each also appended to `path` as a JSON line as soon as it is measured,
    so that a benchmark stopped part way still has its figures (`--report PATH` prints them)."""

    path: Path | None = None
    runs: dict[tuple[str, str], Run] = field(default_factory=dict)  # (code, row) -> run

    def add(self, code: Code, row: str, run: Run) -> None:
        self.runs[(code.name, row)] = run
        console.log(f"{code.name:>8} {row:<32} {run.summary:<34} {run.seconds:7.1f} s {run.points:6} points"
                    f" {run.peak_mib:6.0f} MiB")  # fmt: skip
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"code": code.name, "row": row, "run": run_json(run)}) + "\n")

    @property
    def codes(self) -> list[str]:
        return list(dict.fromkeys(name for name, _ in self.runs))

    def reread(self, work: Path) -> None:
        """The digests read again from the logs of a kept work folder (`--keep`)."""
        for (name, row), run in list(self.runs.items()):
            log = work / name / ROW_LOGS[row]
            if log.exists():
                digest = read_log(log)
                self.runs[(name, row)] = replace(run, per_user=digest.points, digest=digest)

    @classmethod
    def load(cls, path: Path) -> Results:
        results = cls()
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            results.runs[(record["code"], record["row"])] = run_of(record["run"])
        return results


def run_json(run: Run) -> dict[str, object]:
    d = run.digest
    return {
        "summary": run.summary, "seconds": run.seconds, "cpu": run.cpu, "peak_mib": run.peak_mib,
        "points": run.points, "rest": run.rest, "per_user": run.per_user, "full": sorted(d.full),
        "unstars": dict(d.unstars), "stretches": dict(d.stretches), "located": dict(d.located),
        "unlocated": d.unlocated, "walked_again": dict(d.walked_again),
    }  # fmt: skip


def run_of(j: dict[str, Any]) -> Run:
    digest = Digest(
        points=dict(j["per_user"]), full=set(j["full"]), unstars=Counter(j["unstars"]),
        stretches=Counter(j["stretches"]), located=Counter(j["located"]), unlocated=dict(j["unlocated"]),
        walked_again=Counter(j["walked_again"]),
    )  # fmt: skip
    return Run(
        j["summary"], j["seconds"], j["cpu"], j["peak_mib"], j["points"], j["rest"], digest.points, digest
    )


ROW_LOGS = {  # where each row's log is, under its code's folder
    "population: first": "population/first.log", "population: daily": "population/daily.log",
    "population: unchanged": "population/unchanged.log", "tina alone: first": "tina/first.log",
    "tina alone: first, repos indexed": "tina-indexed/tina.log", "tina alone: daily": "tina/daily.log",
    "max alone: first": "max/first.log", "max alone: daily": "max/daily.log",
}  # fmt: skip


def before_churn(codes: list[Code], fake: Fake, work: Path, who: People, results: Results) -> None:
    for code in codes:
        everyone = ",".join(code.sampled(who).everyone)
        base = work / code.name
        results.add(
            code, "population: first", refresh(code, fake, base / "population", "first", "--user", everyone)
        )
        results.add(
            code, "tina alone: first", refresh(code, fake, base / "tina", "first", "--user", who.tina)
        )
        results.add(code, "max alone: first", refresh(code, fake, base / "max", "first", "--user", who.max))
        if not code.indexed:
            continue
        indexed = base / "tina-indexed"
        refresh(code, fake, indexed, "helpers", "--user", ",".join(who.tina_helpers))
        results.add(
            code, "tina alone: first, repos indexed", refresh(code, fake, indexed, "tina", "--user", who.tina)
        )


def after_churn(codes: list[Code], fake: Fake, work: Path, results: Results) -> None:
    """Each code's daily passes, then its unchanged pass (nothing changes in between: the
    churn came before the first daily pass), ours first so that its figures come first."""
    for code in codes:
        base = work / code.name
        results.add(code, "population: daily", refresh(code, fake, base / "population", "daily"))
        results.add(code, "tina alone: daily", refresh(code, fake, base / "tina", "daily"))
        results.add(code, "max alone: daily", refresh(code, fake, base / "max", "daily"))
        unchanged = refresh(code, fake, base / "population", "unchanged")
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
        users = f"{len(mine.per_user):,}"
        if theirs is not None and len(theirs.per_user) != len(mine.per_user):
            users += f" / {len(theirs.per_user):,}"
        out.add_row(row, users, *cells)
    return out


def cpu_ratio(results: Results, code: Code) -> str:
    first = results.runs.get((code.name, "population: first"))
    unchanged = results.runs.get((code.name, "population: unchanged"))
    if first is None or unchanged is None:
        return f"{code.name}: no unchanged pass measured"
    share = unchanged.cpu / first.cpu
    return (
        f"{code.name}: the unchanged pass took {unchanged.cpu:.1f} s of CPU, {share:.2f} of the first"
        f" pass's {first.cpu:.1f} s"
    )


def memory_check(results: Results, code: Code) -> bool:
    """maintainer-max's refreshes (first and daily, alone) peak under the limit; the
    population passes' peaks (a process refreshing many users at once) are only printed."""
    mine = {row: r.peak_mib for (name, row), r in results.runs.items() if name == code.name}
    worst = max((peak for row, peak in mine.items() if row.startswith("max")), default=math.nan)
    crowd = max((peak for row, peak in mine.items() if row.startswith("population")), default=math.nan)
    ok = worst < MEMORY_LIMIT_MIB
    console.print(
        f"check: maintainer-max's refreshes peak at {worst:.0f} MiB (limit {MEMORY_LIMIT_MIB} MiB):"
        f" {'ok' if ok else 'FAILED'}; the population passes (8 users at once) peak at {crowd:.0f} MiB"
    )
    return ok


GIANTS = [f"{owner}/{name}".lower() for owner, name, *_ in population.GIANTS]
BIG_PASSES = ("population: first", "population: daily", "population: unchanged")


def where_points_go(results: Results, code: Code) -> None:
    """Per population pass: the points charged, those the collections' log lines account for
    (full and incremental), the dearest users, and per giant the unstars revealed and the
    stretches re-read to locate them (100 stretches share one point)."""
    for row in BIG_PASSES:
        run = results.runs.get((code.name, row))
        if run is None:
            continue
        d = run.digest
        full = sum(p for u, p in d.points.items() if u in d.full)
        logged = sum(d.points.values())
        dearest = ", ".join(f"{u} {p}" for u, p in Counter(d.points).most_common(5))
        console.print(
            f"{code.name} {row}: {run.points:,} points charged, {logged:,} in the collections' log lines"
            f" ({full:,} in {len(d.full):,} full collections, {logged - full:,} in"
            f" {len(d.points) - len(d.full):,} incremental ones); dearest: {dearest}"
        )
        for repo in GIANTS:
            if d.unstars[repo] or d.stretches[repo] or d.walked_again[repo]:
                console.print(
                    f"    {repo}: {d.unstars[repo]} unstars revealed, {d.stretches[repo]} stretches re-read"
                    f" ({d.stretches[repo] / 100:.2f} points), {d.located[repo]} located,"
                    f" {d.unlocated.get(repo, '-')} still unlocated, walked again {d.walked_again[repo]}×"
                )


def verdict(ok: bool, text: str) -> bool:
    console.print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return ok


def done_when(results: Results, code: Code, *, whole: bool) -> bool:
    """Issue 12's "Done when" bounds, measured on `code` (ours); each printed PASS or FAIL."""
    runs = {row: r for (name, row), r in results.runs.items() if name == code.name}
    missing = [
        row
        for row in (*BIG_PASSES, "tina alone: first, repos indexed", "max alone: daily")
        if row not in runs
    ]
    if missing:
        console.print(f"NOT MEASURED: the Done-when checks ({', '.join(missing)} did not run)")
        return False
    first, daily, unchanged = (runs[row] for row in BIG_PASSES)
    scope = "the whole population" if whole else f"a sample of {len(first.per_user):,} users (not all)"
    max_peak = max(runs["max alone: first"].peak_mib, runs["max alone: daily"].peak_mib)
    checks = [
        verdict(first.points <= HOURLY_POINTS,
                f"first pass over {scope} on one token: {first.points:,} points (<= {HOURLY_POINTS:,})"),
        verdict(daily.points / len(daily.per_user) <= 3,
                f"daily pass after churn 1: {daily.points / len(daily.per_user):.2f} points per user"
                f" ({daily.points:,} / {len(daily.per_user):,}; mean of the log lines"
                f" {daily.per_user_points():.2f}) (<= 3)"),
        verdict(runs["tina alone: first, repos indexed"].points <= 10,
                f"typical-tina, her repositories indexed: {runs['tina alone: first, repos indexed'].points}"
                " points (<= 10)"),
        verdict(unchanged.cpu <= first.cpu / 4,
                f"unchanged pass CPU {unchanged.cpu:.1f} s = {unchanged.cpu / first.cpu:.2f} of the first"
                f" pass's {first.cpu:.1f} s (<= 0.25)"),
        verdict(max_peak < MEMORY_LIMIT_MIB,
                f"maintainer-max peaks at {max_peak:.0f} MiB, first and daily (< {MEMORY_LIMIT_MIB} MiB)"),
        upkeep_check(daily.digest),
    ]  # fmt: skip
    return all(checks)


def upkeep_check(daily: Digest) -> bool:
    """A giant that lost stars in the day: the points its re-read cost on the daily pass
    (a query carries 100 stretches for one point; at most 200 stretches a day)."""
    big = [r for r in GIANTS if daily.unstars[r]]
    upkeep = {r: daily.stretches[r] / 100 for r in big}
    worst = max(upkeep.values(), default=math.nan)
    each = ", ".join(f"{r} {upkeep[r]:.2f}" for r in big)
    return verdict(
        bool(big) and worst <= 2,
        f"a day with unstars on a giant (156k-412k stars): its re-read costs at most {worst:.2f} points"
        f" ({len(big)} of {len(GIANTS)} giants lost stars: {each}) (<= 2; plus its share of the"
        " query for its newest page)",
    )


# --- main ----------------------------------------------------------------------------------------


@contextmanager
def baseline_worktree(repo: Path, revision: str, parent: Path) -> Iterator[Code]:
    """A detached `git worktree` of `revision` (from `repo`: this tree may be an unversioned
    copy, as a frozen benchmark copy is), removed afterwards."""
    folder = parent / f"baseline-{revision}"
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(folder), revision],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield Code(revision, folder)
    finally:
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "remove", "--force", str(folder)], capture_output=True
        )


def run(args: argparse.Namespace, codes: list[Code], work: Path) -> int:
    for code in codes:
        where = Path(code.package_file(work)).resolve()
        console.print(f"{code.name}: the refresh processes import gitbrag from {where}")
        if code.pythonpath and not where.is_relative_to(code.pythonpath.resolve()):
            sys.exit(f"{code.name}'s refresh processes would not run its code ({where})")
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
        results = Results(args.results or work / "results.jsonl")
        console.print(f"each run is appended to {results.path} as it ends (--report prints them)")
        before_churn(codes, fake, work, who, results)
        fake.post("/_fake/churn", {"days": 1})
        after_churn(codes, fake, work, results)
    ok = report(results, codes, whole=args.users is None)
    console.print(f"benchmark wall time: {(time.monotonic() - started) / 60:.1f} min")
    return ok


def report(results: Results, codes: list[Code], *, whole: bool) -> int:
    """The table, the CPU ratios, where the points went and the checks (exit status)."""
    users = len(results.runs[(codes[0].name, "population: first")].per_user)
    console.print(table(results, codes, f"gitbrag on the real population ({users:,} users, one token)"))
    for code in codes:
        console.print(cpu_ratio(results, code))
    for code in codes:
        where_points_go(results, code)
    memory_check(results, codes[0])
    return 0 if done_when(results, codes[0], whole=whole) else 1


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
    parser.add_argument(
        "--baseline-users",
        type=int,
        default=None,
        help="the baseline's population passes over a sample of N of the ordinary users (default: ours)",
    )
    parser.add_argument(
        "--baseline-no-indexed", action="store_true", help="the baseline skips the indexed typical-tina run"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (states, sites, logs)")
    parser.add_argument(
        "--repo",
        type=Path,
        default=ROOT,
        help="the git repository the baseline is taken from (default: this tree)",
    )
    parser.add_argument("--results", type=Path, default=None, help="append each run's figures to this file")
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="print the tables and checks of a --results file, run nothing",
    )
    parser.add_argument("--sample", action="store_true", help="with --report: the runs were over a sample")
    parser.add_argument(
        "--logs", type=Path, default=None, help="with --report: re-read the logs of this kept work folder"
    )
    args = parser.parse_args()
    if args.report is not None:
        results = Results.load(args.report)
        if args.logs is not None:
            results.reread(args.logs)
        return report(results, [Code(name) for name in results.codes], whole=not args.sample)
    work = Path(tempfile.mkdtemp(prefix="gitbrag-population-"))
    ours = Code("ours", ROOT)  # this tree's package, whatever the venv has installed
    try:
        if args.skip_baseline:
            return run(args, [ours], work)
        with baseline_worktree(args.repo, args.baseline, work) as baseline:
            baseline = replace(baseline, sample=args.baseline_users, indexed=not args.baseline_no_indexed)
            return run(args, [ours, baseline], work)
    finally:
        if args.keep:
            console.print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
