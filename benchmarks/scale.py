"""Scale benchmark (issue 29): N tracked users on one host, against a baseline revision
measured in the same run.

A world of `--users N` tracked users is seeded as real passes leave them, fast:

* the template: one real `gitbrag-refresh --once --user dormant-dora` against the fake GitHub
  (in this process, `FakeGitHubServer` on the default dataset) publishes her site folder and
  leaves her rows and kept collection in the SQLite state;
* the site: her folder copied for `scale-000001`... (every report.json with the login
  substituted, generated.json with the settings digest each user's pages are made with; the
  other files, pages, cards and images, hard links to hers: their bytes are never read by
  bookkeeping, only their names are walked);
* the state: for each user a `users` row and one report row per period, generated a day ago
  and due between 2 and 26 hours from now (nothing falls due during the run), in SQLite (the
  template's file) and in a Redis of our own (`redis-server` on a free port), in the keys a
  pass writes. Their kept collections are not seeded: only a refresh of that user reads one.

Measured, each a separate process as cron or the service runs it (the peak resident size is
the child's own VmHWM, written at exit; CPU is user + sys from `os.wait4`):

* bookkeeping (`bookkeeping`): a nothing-due `--once` on SQLite and on Redis (ours after one
  pass that leaves its marks: the first pass after an upgrade looks at everyone once, shown
  as its own row); the service (`gitbrag-refresh` with `GITBRAG_SCAN_INTERVAL_SECONDS=1`): CPU
  per scan with nothing due, from /proc between the first scan's end and the last's;
  a forced refresh of one user (`--once --force --user dormant-dora`), without and with 400
  teams of 50 of the seeded users (`GITBRAG_TEAMS`, in the work folder's .env: too long for an
  environment variable), after an untimed one so every timed one is an incremental refresh.

* the site (`site`, `benchmarks/site.py`'s child process, for each code): the index of N people
  (synthetic rows): its first page's bytes, all its files' bytes, the time to build it from
  nothing and again unchanged; and per user, the files and bytes of the folders of
  `--site-users` ordinary users of the `real` population, their median being the typical user
  (the baseline's index only up to 20,000 people: one page of every row, it takes minutes and
  gigabytes beyond);
* the daily pass (`daily`, `benchmarks/scale_daily.py`): each code's first pass over the real
  population (`--daily-users N`: a sample), one day of churn, each code's daily pass: points
  per user, and its reports against the dataset (`--skip-daily` leaves it out: it takes most
  of an hour for the whole population and both codes).

The baseline (`--baseline REV`, default 0296f15) runs from a `git worktree` of that revision
(from `--repo`), its package first on `PYTHONPATH`, as `benchmarks/population.py` does; this
tree's package is put first for ours. `--keep DIR` seeds into DIR and leaves the site, the
SQLite state, a Redis dump (`redis.rdb`) and a `.env` naming the site and state there (the
GitHub URL and token aside), so that `gitbrag-refresh --once` run there by hand is the
nothing-due pass measured.

Run (from a frozen copy, so that edits do not change the code mid-run):
    rm -rf /tmp/scale && mkdir /tmp/scale && git -C /work/main archive HEAD | tar -x -C /tmp/scale
    cd /tmp/scale && PYTHONPATH=/tmp/scale /work/main/.venv/bin/python benchmarks/scale.py \
        --repo /work/main --users 20000 [--skip-baseline] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the sections of the other benchmarks

from benchmarks import population, scale_daily  # noqa: E402
from benchmarks import site as site_bench  # noqa: E402
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset  # noqa: E402
from gitbrag.models import PERIODS  # noqa: E402
from gitbrag.publish.publisher import _digest  # noqa: E402
from gitbrag.settings import DEFAULT_STALE_AFTER_SECONDS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "benchmark-scale-token"
TEMPLATE = "dormant-dora"  # a dataset user: 40 old pull requests, nothing moves from day to day
TEAMS, TEAM_SIZE = 400, 50
LINKS_PER_SOURCE = 60_000  # users linked to one copy of the template's files
# As population.py: the entry point of whichever `gitbrag` comes first on the path; at exit it
# writes its own VmHWM (KiB) to $BENCH_PEAK_FILE (os.wait4's ru_maxrss would charge this
# process's peak to a child spawned from it).
ENTRY = """
import atexit, os, sys
def _peak():
    with open("/proc/self/status") as status, open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(_peak)
from gitbrag.doors.cli import refresh_main
sys.exit(refresh_main())
"""


# --- the codes measured ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """The gitbrag that runs: this tree's, or a baseline revision's worktree."""

    name: str
    pythonpath: Path

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.pythonpath)}


@contextmanager
def baseline_worktree(repo: Path, revision: str, parent: Path) -> Iterator[Code]:
    """A detached `git worktree` of `revision`, removed afterwards."""
    folder = parent / f"baseline-{revision}"
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(folder), revision],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield Code(f"main {revision}", folder)
    finally:
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "remove", "--force", str(folder)], capture_output=True
        )


# --- the world: a site and a state of N users ----------------------------------------------------


@dataclass
class World:
    """A seeded world: the work folder (the children's cwd, with its .env), its site and state."""

    work: Path
    fake_url: str
    redis_url: str
    logins: list[str]
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def site(self) -> Path:
        return self.work / "site"

    @property
    def state(self) -> Path:
        return self.work / "state.sqlite3"

    def env(self, code: Code, store: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITBRAG_", "GITHUB_", "PYTHONPATH"))}
        env |= code.env() | self.extra_env
        env |= {
            "GITHUB_TOKEN": TOKEN,
            "GITBRAG_GITHUB_API_URL": self.fake_url,
            "GITBRAG_LOG_FORMAT": "json",
            "GITBRAG_LOG_LEVEL": "INFO",
        }
        if store == "redis":
            env["GITBRAG_REDIS_URL"] = self.redis_url
        return env

    def write_dotenv(self, teams: str | None = None) -> None:
        """The .env every child reads (cwd): the site and state, and the teams when set."""
        lines = [f"GITBRAG_SITE_DIR={self.site}", f"GITBRAG_STATE_PATH={self.state}"]
        lines.append(
            f"# Redis: redis-server --dir {self.work} --dbfilename redis.rdb, then GITBRAG_REDIS_URL"
        )
        if teams:
            lines.append(f"GITBRAG_TEAMS={teams}")
        (self.work / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder), "--dbfilename", "redis.rdb"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def settings_digest(teams_of: list[str]) -> str:
    """What `Publisher.rendered_with` records for a user in `teams_of` with default settings."""
    from gitbrag.doors.runtime import report_options
    from gitbrag.settings import Settings

    options = repr(report_options(Settings(_env_file=None)))  # type: ignore[call-arg]
    return _digest(None, None, DEFAULT_STALE_AFTER_SECONDS, sorted(teams_of), options)


def teams_setting(logins: list[str]) -> tuple[str, dict[str, list[str]]]:
    """400 teams of 50 of the seeded users (the template in the first), and each user's teams."""
    members: dict[str, list[str]] = {}
    entries = []
    for number in range(TEAMS):
        team = [logins[(number * TEAM_SIZE + k) % len(logins)] for k in range(TEAM_SIZE)]
        if number == 0:
            team[0] = TEMPLATE
        name = f"team-{number:03d}"
        entries.append(f"{name}={','.join(team)}")
        for login in set(team):
            members.setdefault(login, []).append(name)
    return ";".join(entries), members


def seed_site(site: Path, logins: list[str], teams_of: dict[str, list[str]]) -> None:
    """Copy the template's folder for every login: report.json files rewritten, generated.json
    with the user's settings digest, every other file a hard link to the template's."""
    template = site / TEMPLATE
    files = sorted(p.relative_to(template) for p in template.rglob("*") if p.is_file())
    folders = sorted({f.parent for f in files})
    reports = {f: (template / f).read_text(encoding="utf-8") for f in files if f.name == "report.json"}
    generated = json.loads((template / "generated.json").read_text(encoding="utf-8"))
    digests: dict[tuple[str, ...], str] = {}
    sources = template
    for number, login in enumerate(logins):
        if number and number % LINKS_PER_SOURCE == 0:  # a file takes at most 65,000 links (ext4)
            sources = site.parent / f"link-source-{number}"
            shutil.copytree(template, sources)
        folder = site / login
        for sub in folders:
            (folder / sub).mkdir(parents=True, exist_ok=True)
        for f in files:
            if f in reports:
                (folder / f).write_text(reports[f].replace(TEMPLATE, login), encoding="utf-8")
            elif f.name == "generated.json":
                key = tuple(sorted(teams_of.get(login, [])))
                digest = digests.get(key) or digests.setdefault(key, settings_digest(list(key)))
                (folder / f).write_text(json.dumps(generated | {"settings": digest}), encoding="utf-8")
            else:
                os.link(sources / f, folder / f)


def set_settings_digests(site: Path, logins: list[str], teams_of: dict[str, list[str]]) -> None:
    """Rewrite each user's generated.json as pages made with these teams would have it."""
    digests: dict[tuple[str, ...], str] = {}
    for login in [*logins, TEMPLATE]:
        path = site / login / "generated.json"
        key = tuple(sorted(teams_of.get(login, [])))
        digest = digests.get(key) or digests.setdefault(key, settings_digest(list(key)))
        data = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(data | {"settings": digest}), encoding="utf-8")


def seed_sqlite(state: Path, logins: list[str], now: datetime) -> None:
    import sqlite3

    rng = random.Random(29)
    with sqlite3.connect(state) as conn:
        conn.executemany(
            "INSERT INTO users (login, display, added_at, missing, source) VALUES (?, ?, ?, 0, 'cli')",
            [(login, login, now.timestamp() - 86400) for login in logins],
        )
        rows = []
        for login in logins:
            due = now.timestamp() + rng.uniform(2 * 3600, 23.9 * 3600)
            rows += [(login, p, due, due - 86400, due - 86400) for p in PERIODS]
        conn.executemany(
            "INSERT INTO reports (login, period, next_due_at, generated_at, last_attempt_at)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )


def seed_redis(url: str, logins: list[str], now: datetime) -> None:
    rng = random.Random(29)
    client = redis.Redis.from_url(url, decode_responses=True)
    for start in range(0, len(logins), 1000):
        pipe = client.pipeline(transaction=False)
        for login in logins[start : start + 1000]:
            due = now.timestamp() + rng.uniform(2 * 3600, 23.9 * 3600)
            pipe.hset("{gitbrag}:users", login, login)
            pipe.hset("{gitbrag}:sources", login, "cli")
            for period in PERIODS:
                fields = {"next_due_at": due, "generated_at": due - 86400, "last_attempt_at": due - 86400,
                          "failures": 0}  # fmt: skip
                pipe.hset(f"{{gitbrag}}:report:{login}:{period}", mapping=fields)
                pipe.zadd("{gitbrag}:due", {f"{login} {period}": due})
            pipe.sadd(f"{{gitbrag}}:reports:{login}", *PERIODS)
        pipe.execute()


def seed(world: World, ours: Code, n: int) -> None:
    """The template by a real pass, then N users copied from it into the site, SQLite and Redis."""
    started = time.monotonic()
    world.write_dotenv()
    run = once(ours, world, "sqlite", "template", "--user", TEMPLATE)
    if not run.summary.startswith("refreshed="):
        sys.exit(f"the template pass failed: {run.summary}")
    recorded = json.loads((world.site / TEMPLATE / "generated.json").read_text())["settings"]
    if recorded != settings_digest([]):
        sys.exit(
            "the settings digest computed here is not the publisher's: the seeded pages would all re-render"
        )
    now = datetime.now(UTC)
    seed_site(world.site, world.logins, {})
    seed_sqlite(world.state, world.logins, now)
    seed_redis(world.redis_url, [TEMPLATE, *world.logins], now)
    files = sum(1 for _ in world.site.rglob("*"))
    print(f"seeded {n:,} users ({files:,} site entries) in {time.monotonic() - started:.0f} s", flush=True)


# --- one child process ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    summary: str
    seconds: float
    cpu: float
    peak_mib: float


def once(code: Code, world: World, store: str, name: str, *args: str) -> Run:
    """One `gitbrag-refresh --once` of `code` in the world's folder."""
    env = world.env(code, store)
    log, peak = world.work / f"{name}.log", world.work / f"{name}.peak"
    env["BENCH_PEAK_FILE"] = str(peak)
    started = time.monotonic()
    with log.open("wb") as err:
        child = subprocess.Popen([sys.executable, "-c", ENTRY, "--once", *args], cwd=world.work, env=env,
                                 stdout=subprocess.PIPE, stderr=err)  # fmt: skip
        assert child.stdout is not None
        out = child.stdout.read().decode()
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    code_ = os.waitstatus_to_exitcode(status)
    lines = out.strip().splitlines()
    if code_ not in (0, 1) or not lines:
        sys.exit(f"{code.name} {name}: gitbrag-refresh exited {code_}:\n{log.read_text()[-3000:]}")
    # Ours says when a pass looked at every user (the marks disagreed): shown with the summary.
    everyone = " (looked at every user)" if "looking at every user" in log.read_text(errors="replace") else ""
    return Run(lines[-1] + everyone, seconds, usage.ru_utime + usage.ru_stime, int(peak.read_text()) / 1024)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_scans(code: Code, world: World, store: str, name: str, scans: int, timeout: float) -> Run:
    """The service with a scan every second: CPU per scan between the end of its first scan
    and the end of `scans` more (all with nothing due), its peak RSS at exit."""
    env = world.env(code, store) | {"GITBRAG_SCAN_INTERVAL_SECONDS": "1"}
    log, peak = world.work / f"{name}.log", world.work / f"{name}.peak"
    env["BENCH_PEAK_FILE"] = str(peak)
    child = subprocess.Popen([sys.executable, "-c", ENTRY], cwd=world.work, env=env,
                             stdout=subprocess.DEVNULL, stderr=log.open("wb"))  # fmt: skip
    deadline = time.monotonic() + timeout
    marks: list[tuple[float, float]] = []  # (wall, cpu) at each scan's end
    try:
        while len(marks) < scans + 1 and time.monotonic() < deadline and child.poll() is None:
            done = log.read_text(errors="replace").count("scan finished")
            while len(marks) < done:
                marks.append((time.monotonic(), _cpu_seconds(child.pid)))
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(120)
    if len(marks) < 2:
        return Run(f"{len(marks)} scans in {timeout:.0f} s", float("nan"), float("nan"), float("nan"))
    count = len(marks) - 1
    wall = (marks[-1][0] - marks[0][0]) / count
    cpu = (marks[-1][1] - marks[0][1]) / count
    return Run(f"{count} scans", wall, cpu, int(peak.read_text()) / 1024 if peak.exists() else float("nan"))


# --- section: bookkeeping ------------------------------------------------------------------------


Row = tuple[str, dict[str, Run]]


class Rows(list[Row]):
    """A section's rows, each also printed as soon as it is measured (a long run that is cut
    short still leaves its figures)."""

    def append(self, row: Row) -> None:
        super().append(row)
        label, runs = row
        for name, run in runs.items():
            print(f"measured: {label} [{name}]: {run.seconds:.2f} s, {run.cpu:.2f} s CPU, "
                  f"{run.peak_mib:.0f} MiB; {run.summary}", flush=True)  # fmt: skip


def bookkeeping(world: World, codes: list[Code], *, scans: int, scan_timeout: float) -> list[Row]:
    """Nothing-due passes, service scans, and a forced refresh of one user without and with teams."""
    rows = Rows()
    ours = codes[0]
    for store in ("sqlite", "redis"):
        first = once(ours, world, store, f"ours-first-{store}")
        rows.append((f"first --once after seeding, {store} (ours: marks made)", {ours.name: first}))
        runs: dict[str, Run] = {}
        for code in reversed(codes):  # the baseline first: its index rewrite changes the site's mark
            runs[code.name] = once(code, world, store, f"{tag(code)}-nothing-due-{store}")
        if len(codes) > 1:  # the baseline's pass left the site changed: ours once more to settle
            once(ours, world, store, f"ours-settle-{store}")
            runs[ours.name] = once(ours, world, store, f"ours-nothing-due-{store}")
        rows.append((f"--once, nothing due, {store}", runs))
        scan: dict[str, Run] = {}
        for code in codes:
            scan[code.name] = service_scans(
                code, world, store, f"{tag(code)}-scans-{store}", scans, scan_timeout
            )
        rows.append((f"service scan, nothing due, {store} (CPU s per scan)", scan))
    for teams in (False, True):
        label = "with 400 teams of 50" if teams else "no teams"
        if teams:
            setting, members = teams_setting(world.logins)
            set_settings_digests(world.site, world.logins, members)
            world.write_dotenv(setting)
        once(ours, world, "sqlite", f"warm-forced-{int(teams)}", "--force", "--user", TEMPLATE)
        forced = {
            code.name: once(
                code, world, "sqlite", f"{tag(code)}-forced-{int(teams)}", "--force", "--user", TEMPLATE
            )
            for code in codes
        }
        rows.append((f"--once --force --user {TEMPLATE}, sqlite, {label}", forced))
    set_settings_digests(world.site, world.logins, {})
    world.write_dotenv()
    return rows


def tag(code: Code) -> str:
    return "ours" if code.name == "ours" else "base"


# --- sections: the site, the daily pass ---------------------------------------------------------

INDEX_BASELINE_MOST = 20_000  # the baseline's index is one page of every row: minutes and GiB beyond


@dataclass(frozen=True)
class Figure:
    """One measured figure per code (bytes, files, seconds, points), printed with their ratio."""

    label: str
    values: dict[str, float]
    unit: str


def site_section(world: World, codes: list[Code], *, site_users: int) -> list[Figure]:
    """The index of N people and the typical user's folder, for each code (`site.weigh`)."""
    now = datetime.now(UTC).replace(microsecond=0)
    collections = site_bench.population_collections(site_users, now)
    source = world.work / "site-collections.jsonl"
    source.write_text("".join(c.model_dump_json() + "\n" for c in collections), encoding="utf-8")
    found: dict[str, dict[str, object]] = {}
    for code in codes:
        people = len(world.logins) if code.name == "ours" or len(world.logins) <= INDEX_BASELINE_MOST else 0
        found[code.name] = site_bench.weigh(code.pythonpath, source, people, now, world.work)
    source.unlink()
    return site_figures(found, len(world.logins))


def site_figures(found: dict[str, dict[str, object]], people: int) -> list[Figure]:
    def index(key: str) -> dict[str, float]:
        return {name: float(f["index"][key]) for name, f in found.items() if f["index"]}  # type: ignore[index]

    def typical(at: int) -> dict[str, float]:
        return {name: statistics.median(w[at] for w in f["users"].values()) for name, f in found.items()}  # type: ignore[attr-defined]

    return [
        Figure(f"index of {people:,} people: first page", index("first_page"), "bytes"),
        Figure("index: all its files", index("bytes"), "bytes"),
        Figure("index: its files", index("files"), "files"),
        Figure("index: built from nothing", index("first"), "s"),
        Figure("index: built again, unchanged (a new process)", index("again"), "s"),
        Figure("typical user's folder (median of the sample)", typical(1), "bytes"),
        Figure("typical user's folder: files", typical(0), "files"),
    ]


def daily_section(world: World, codes: list[Code], *, daily_users: int | None) -> list[Figure]:
    """The real population's daily pass after one day of churn (`scale_daily.measure`)."""
    runs = [population.Code(code.name, code.pythonpath) for code in codes]
    work = world.work / "daily"
    results = scale_daily.measure(runs, sample=daily_users, truth_users=12, work=work)
    shutil.rmtree(work, ignore_errors=True)
    users = results[0].users if results else 0
    return [
        Figure(
            f"daily pass after churn 1 ({users:,} real users): points a user",
            {d.code: d.per_user for d in results},
            "points",
        ),  # fmt: skip
        Figure(
            "daily pass: reports checked against the dataset", {d.code: d.checked for d in results}, "reports"
        ),
        Figure(
            "daily pass: reports with a number unlike the dataset's",
            {d.code: len(d.wrong) for d in results},
            "reports",
        ),  # fmt: skip
        Figure(
            "daily pass: reports with stars unlike the dataset's",
            {d.code: len(d.wrong_stars) for d in results},
            "reports",
        ),  # fmt: skip
    ]


def print_figures(figures: list[Figure], codes: list[Code]) -> None:
    if not figures:
        return
    ours, base = codes[0].name, codes[1].name if len(codes) > 1 else None
    print(f"\n{'figure':<62} {'unit':>8} {'ours':>14}" + (f" {'base':>14} {'ratio':>7}" if base else ""))
    for figure in figures:
        o, b = figure.values.get(ours, float("nan")), figure.values.get(base or "", float("nan"))
        line = f"{figure.label:<62} {figure.unit:>8} {o:>14,.2f}"
        print(line + (f" {b:>14,.2f} {ratio(o, b):>7}" if base else ""))


# --- the table -----------------------------------------------------------------------------------


def ratio(ours: float, base: float) -> str:
    return "—" if not base or base != base or ours != ours else f"{ours / base:.2f}"


def print_table(n: int, rows: list[Row], codes: list[Code]) -> None:
    ours = codes[0].name
    base = codes[1].name if len(codes) > 1 else None
    print(f"\n{n:,} tracked users")
    head = f"{'measure':<62} {'ours s':>9} {'cpu s':>8} {'MiB':>7}"
    if base:
        head += f" {'base s':>9} {'cpu s':>8} {'MiB':>7} {'time x':>7} {'cpu x':>7} {'MiB x':>7}"
    print(head)
    for label, runs in rows:
        o = runs.get(ours)
        line = f"{label:<62} "
        line += f"{o.seconds:9.2f} {o.cpu:8.2f} {o.peak_mib:7.0f}" if o else " " * 26
        if base and (b := runs.get(base)):
            line += f" {b.seconds:9.2f} {b.cpu:8.2f} {b.peak_mib:7.0f}"
            if o:
                ratios = (ratio(o.seconds, b.seconds), ratio(o.cpu, b.cpu), ratio(o.peak_mib, b.peak_mib))
                line += "".join(f" {r:>7}" for r in ratios)
        print(line)
    print("\nsummaries:")
    for label, runs in rows:
        for name, run in runs.items():
            print(f"  {label} [{name}]: {run.summary}")


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1000, help="tracked users to seed (1000, 20000, 100000)")
    parser.add_argument(
        "--baseline", default="0296f15", help="the revision to compare with (default 0296f15)"
    )
    parser.add_argument(
        "--repo", type=Path, default=ROOT, help="the git repository the baseline is taken from"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="run this tree's code only")
    parser.add_argument("--keep", type=Path, default=None, help="seed into this folder and leave it there")
    parser.add_argument("--scans", type=int, default=3, help="service scans measured per code and store")
    parser.add_argument("--scan-timeout", type=float, default=300, help="seconds to wait for them")
    parser.add_argument(
        "--site-users", type=int, default=8, help="ordinary users weighed for the typical user"
    )
    parser.add_argument(
        "--daily-users", type=int, default=None, help="the daily pass over a sample (default: all)"
    )
    parser.add_argument("--skip-daily", action="store_true", help="leave the daily pass out")
    parser.add_argument("--skip-bookkeeping", action="store_true", help="leave the bookkeeping out")
    args = parser.parse_args()
    parent = Path(tempfile.mkdtemp(prefix="gitbrag-scale-"))
    work = args.keep.resolve() if args.keep else parent / "world"
    if work.exists() and any(work.iterdir()):
        sys.exit(f"{work} is not empty")
    work.mkdir(parents=True, exist_ok=True)
    ours = Code("ours", ROOT)
    logins = [f"scale-{i:06d}" for i in range(1, args.users + 1)]
    try:
        with FakeGitHubServer(shared_dataset()) as fake, redis_server(work) as redis_url:
            world = World(work, fake.url, redis_url, logins)
            seed(world, ours, args.users)
            with contextlib.ExitStack() as stack:
                codes = [ours]
                if not args.skip_baseline:
                    codes.append(stack.enter_context(baseline_worktree(args.repo, args.baseline, parent)))
                rows = (
                    []
                    if args.skip_bookkeeping
                    else bookkeeping(world, codes, scans=args.scans, scan_timeout=args.scan_timeout)
                )
                figures = site_section(world, codes, site_users=args.site_users)
                if not args.skip_daily:
                    figures += daily_section(world, codes, daily_users=args.daily_users)
            print_table(args.users, rows, codes)
            print_figures(figures, codes)
            if args.keep:
                redis.Redis.from_url(redis_url).save()
    finally:
        shutil.rmtree(parent, ignore_errors=True)
        if args.keep:
            print(f"kept {work}: cd there and run gitbrag-refresh --once (with GITHUB_TOKEN and the API URL)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
