"""Site benchmark: how long building and publishing each demo user's reports takes, and
how heavy the pages are.

Collects every demo user once from the fake GitHub (served on loopback), then times,
per user, the pure report build (all four periods) and the publish (render + atomic
writes of every page, report.json and feed). The baseline, in the same run, is writing
the very same bytes with plain `write_bytes` (no temporary file, no fsync, no rename):
the ratio is what crash safety costs. Pages are checked against the 300 KB budget.

A second table compares a first publish with an unchanged republish (the same data a
minute later, the same day: new report times, same pages), for each demo user and a
synthetic 1,000-PR user: time and files actually written, with the publisher skipping
unchanged files (today) and writing every file (`rewrite_unchanged`, the old behaviour)
in the same run. "refresh cycle" adds what `gitbrag.refresh` does around a publish:
`set_updating` on, then the publish clears the notice.

A third part (issue 29) measures the site's weight against a baseline revision in the same
run (`--baseline REV`, default 0296f15: main before the site was made to stay small, read with
`git archive` from `--repo`, run in a child process with that tree first on `PYTHONPATH`;
this tree's code runs the same way): per user, the files and bytes their folder holds after
publishing the same reports, for the demo users and `--population-users N` ordinary users of the
`real` population (`real-0001`...; their median is the "typical user"); and the index for
`--index-users` people (synthetic rows): its first page's bytes, all its files' bytes, and the
time to build it from nothing and again unchanged in a new process. It prints the ratio of
ours to the baseline's.

Run (from a frozen copy: `git archive HEAD | tar -x -C /tmp/bench`):
    .venv/bin/python benchmarks/site.py [--rounds 3] [--weight-only] [--population-users 8]
        [--index-users 1000,10000] [--baseline 0296f15 --repo /work/main]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.github.client import GitHubClient
from gitbrag.github.collect import collect_user
from gitbrag.models import ChangedFile, Collection, Profile, PullRequest, Repository
from gitbrag.publish.publisher import Publisher
from gitbrag.report.build import build_reports

PAGE_BUDGET = 300 * 1024


async def collect_all(url: str, logins: list[str], now: datetime) -> list[Collection]:
    async with GitHubClient(["bench-token"], url, url + "/graphql") as client:
        return [await collect_user(client, login, now=now) for login in logins]


def best_of(rounds: int, fn: object) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def measure(collection: Collection, now: datetime, rounds: int, site: Path) -> list[str]:
    reports = build_reports(collection, until=now, generated_at=now)
    build = best_of(rounds, lambda: build_reports(collection, until=now, generated_at=now))
    publisher = Publisher(site)
    publisher.publish_user(reports)  # templates compiled, folders made
    publish = best_of(rounds, lambda: publisher.publish_user(reports))
    files = [p for p in (site / collection.login.lower()).rglob("*") if p.is_file()]
    payload = {p: p.read_bytes() for p in files}

    def plain() -> None:
        for path, data in payload.items():
            path.write_bytes(data)

    baseline = best_of(rounds, plain)
    pages = [len(d) for p, d in payload.items() if p.suffix == ".html"]
    largest = max(pages, default=0)
    return [
        collection.login,
        f"{len(collection.pull_requests):,}",
        f"{build * 1000:.0f} ms",
        f"{publish * 1000:.0f} ms",
        f"{len(files)} files, {sum(len(d) for d in payload.values()) / 1024:,.0f} KB",
        f"{baseline * 1000:.0f} ms",
        f"{publish / baseline:.1f}x" if baseline else "-",
        f"{largest / 1024:,.0f} KB ({largest / PAGE_BUDGET:.0%} of budget)",
    ]


# --- first publish vs unchanged republish -------------------------------------------------------


def synthetic_collection(now: datetime, prs: int = 1000, repos: int = 60) -> Collection:
    """A prolific user of `prs` pull requests over `repos` repositories in the past 2 years."""
    names = [f"bench-org-{r % 7}/a-benchmark-repository-{r}" for r in range(repos)]
    pulls = []
    for n in range(prs):
        repo, created = names[n % repos], now - timedelta(hours=17 * n, minutes=330)  # off the edges
        pulls.append(PullRequest(
            repo=repo, number=n + 1, title=f"Improve the thing number {n} in {repo} (with tests)",
            url=f"https://github.com/{repo}/pull/{n + 1}", state="MERGED" if n % 5 else "OPEN",
            created_at=created, updated_at=created, merged_at=created + timedelta(hours=2) if n % 5 else None,
            additions=10 + n % 400, deletions=n % 90, changed_files=1 + n % 12, author_association="MEMBER",
            files=[ChangedFile(path=f"src/module_{n % 9}.py", additions=10 + n % 400, deletions=n % 90)],
        ))  # fmt: skip
    repositories = {
        name: Repository(name_with_owner=name, url=f"https://github.com/{name}", stargazer_count=100 + i)
        for i, name in enumerate(names)
    }
    profile = Profile(login="synthetic-1000", name="Synthetic Thousand")
    return Collection(
        login="synthetic-1000", profile=profile, pull_requests=pulls, repositories=repositories, stars={},
        collected_at=now,
    )  # fmt: skip


@dataclass
class Pass:
    seconds: float
    written: int


def timed_pass(publisher: Publisher, work: Callable[[], object]) -> Pass:
    before = publisher.files_written
    started = time.perf_counter()
    work()
    return Pass(time.perf_counter() - started, publisher.files_written - before)


def republish_passes(collection: Collection, now: datetime, rounds: int, rewrite: bool) -> list[Pass]:
    """[first publish, unchanged republish, unchanged refresh cycle], each the best of `rounds`
    fresh sites."""
    runs = [one_site(collection, now, rewrite) for _ in range(rounds)]
    return [min((run[i] for run in runs), key=lambda p: p.seconds) for i in range(3)]


def one_site(collection: Collection, now: datetime, rewrite: bool) -> tuple[Pass, Pass, Pass]:
    """The three passes on a fresh site; each republish is a minute after the pass before
    (the same day unless the run straddles midnight UTC)."""
    login = collection.login.lower()

    def cycle() -> None:  # what gitbrag.refresh does: the notice on, then the publish clears it
        publisher.set_updating(login, True)
        publisher.publish_user(third)

    first, second, third = (
        build_reports(collection, until=now + timedelta(minutes=m), generated_at=now + timedelta(minutes=m))
        for m in range(3)
    )
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # the disk the site lives on, not a tmpfs
        publisher = Publisher(Path(tmp), rewrite_unchanged=rewrite)
        return (
            timed_pass(publisher, lambda: publisher.publish_user(first)),
            timed_pass(publisher, lambda: publisher.publish_user(second)),
            timed_pass(publisher, cycle),
        )


def fmt(p: Pass) -> str:
    return f"{p.seconds * 1000:.0f} ms, {p.written} files"


def republish_table(collections: list[Collection], now: datetime, rounds: int) -> Table:
    table = Table(title=f"First publish vs unchanged republish, per user (best of {rounds})")
    for column in ("user", "PRs", "first publish", "unchanged: before (all files)", "unchanged: now",
                   "refresh cycle: before", "refresh cycle: now"):  # fmt: skip
        table.add_column(column, justify="left" if column == "user" else "right")
    for collection in [*collections, synthetic_collection(now)]:
        old = republish_passes(collection, now, rounds, rewrite=True)
        new = republish_passes(collection, now, rounds, rewrite=False)
        table.add_row(
            collection.login, f"{len(collection.pull_requests):,}", fmt(new[0]), fmt(old[1]), fmt(new[1]),
            fmt(old[2]), fmt(new[2]),
        )  # fmt: skip
    return table


# --- the site's weight, against a baseline revision (issue 29) ----------------------------------

# Run in a child process with a tree's package first on PYTHONPATH: publishes the collections of
# argv[1] (JSON lines) into argv[2], then an index of argv[3] synthetic people (twice, the second
# time by a new publisher: unchanged), and prints per user [files, bytes] and the index figures.
CHILD = r"""
import json, sys, time, dataclasses
from datetime import UTC, datetime
from pathlib import Path
import gitbrag
from gitbrag.models import Collection, TimelinePoint
from gitbrag.publish.publisher import IndexEntry, Publisher
from gitbrag.report.build import build_reports

source, site, people = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
now = datetime.fromisoformat(sys.argv[4])
weights = {}
publisher = Publisher(site / "users")
for line in source.read_text().splitlines():
    collection = Collection.model_validate_json(line)
    publisher.publish_user(build_reports(collection, until=now, generated_at=now))
    folder = site / "users" / collection.login.lower()
    files = [p for p in folder.rglob("*") if p.is_file()]
    weights[collection.login] = [len(files), sum(p.stat().st_size for p in files)]
fields = {f.name for f in dataclasses.fields(IndexEntry)}
def entry(n):
    counts = [(n * 7 + m) % 23 for m in range(13)]
    if "per_month" in fields:
        shape = {"first_month": "2025-12", "per_month": tuple(counts)}
    else:
        shape = {"timeline": tuple(TimelinePoint(month=f"{2025 + (11 + m) // 12}-{(11 + m) % 12 + 1:02d}",
                                                 opened=c, merged=0) for m, c in enumerate(counts))}
    return IndexEntry(login=f"person-{n:06d}", name=f"Person Number {n}",
                      avatar_url=f"https://avatars.githubusercontent.com/u/{10_000_000 + n}?v=4",
                      total_prs=sum(counts), merged_count=sum(counts) // 2, generated_at=now,
                      authored_lines=100 * n, **shape)
entries = [entry(n) for n in range(people)]
index = {}
if people:
    started = time.perf_counter()
    Publisher(site / "index").publish_index(entries)
    index["first"] = time.perf_counter() - started
    started = time.perf_counter()
    Publisher(site / "index").publish_index(entries)
    index["again"] = time.perf_counter() - started
    index["first_page"] = (site / "index" / "index.html").stat().st_size
    top = [p for p in (site / "index").iterdir() if p.is_file()]
    index["files"] = len(top)
    index["bytes"] = sum(p.stat().st_size for p in top)
print(json.dumps({"gitbrag": gitbrag.__file__, "users": weights, "index": index}))
"""


def baseline_tree(repo: Path, revision: str, parent: Path) -> Path:
    """The baseline's files (`git archive`: no worktree left in the repository)."""
    folder = parent / f"baseline-{revision}"
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(repo), "archive", revision], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def weigh(tree: Path, collections: Path, people: int, now: datetime, work: Path) -> dict[str, object]:
    """The child's figures for the code of `tree` (its package first on PYTHONPATH)."""
    with tempfile.TemporaryDirectory(dir=work) as site:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(collections), site, str(people), now.isoformat()],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=site,
        )  # fmt: skip (not run from a tree: `-c` puts the working folder first on sys.path)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    if not str(found["gitbrag"]).startswith(str(tree)):
        raise RuntimeError(f"the child ran {found['gitbrag']}, not {tree}")
    return found


def population_collections(count: int, now: datetime) -> list[Collection]:
    """`real-0001`... of the `real` population, collected from the fake over loopback."""
    if count <= 0:
        return []
    dataset = build_dataset(None, population="real")
    with FakeGitHubServer(dataset) as gh:
        return asyncio.run(collect_all(gh.url, [f"real-{n:04d}" for n in range(1, count + 1)], now))


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}" if theirs else "-"


def weight_tables(args: argparse.Namespace, collections: list[Collection], now: datetime) -> list[Table]:
    here = Path(__file__).resolve().parents[1]
    tables = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # the disk a site lives on
        work = Path(tmp)
        source = work / "collections.jsonl"
        source.write_text("".join(c.model_dump_json() + "\n" for c in collections))
        base_tree = baseline_tree(args.repo, args.baseline, work)
        sizes = [int(n) for n in args.index_users.split(",") if n]
        runs = {
            size: (weigh(base_tree, source, size, now, work), weigh(here, source, size, now, work))
            for size in sizes or [0]
        }
    before, after = runs[sizes[0] if sizes else 0]
    users = Table(title=f"Site per user: {args.baseline} (before) and this tree (after), same reports")
    for column in ("user", "files before", "files after", "ratio", "KB before", "KB after", "ratio "):
        users.add_column(column, justify="left" if column == "user" else "right")
    old, new = before["users"], after["users"]
    assert isinstance(old, dict) and isinstance(new, dict)
    for login in old:
        (f0, b0), (f1, b1) = old[login], new[login]
        users.add_row(
            login, str(f0), str(f1), ratio(f1, f0), f"{b0 / 1024:,.0f}", f"{b1 / 1024:,.0f}", ratio(b1, b0)
        )
    ordinary = [login for login in old if login.startswith("real-")]
    if ordinary:
        files0 = statistics.median(old[u][0] for u in ordinary)
        files1 = statistics.median(new[u][0] for u in ordinary)
        bytes0 = statistics.median(old[u][1] for u in ordinary)
        bytes1 = statistics.median(new[u][1] for u in ordinary)
        users.add_row(
            f"typical (median of {len(ordinary)})", f"{files0:g}", f"{files1:g}", ratio(files1, files0),
            f"{bytes0 / 1024:,.0f}", f"{bytes1 / 1024:,.0f}", ratio(bytes1, bytes0),
        )  # fmt: skip
    tables.append(users)
    if sizes:
        index = Table(
            title="The index: first page, all its files, build time (from nothing; again unchanged)"
        )
        for column in ("people", "", "first page KB", "files", "all KB", "first build", "again"):
            index.add_column(column, justify="right")
        for size, (b, a) in runs.items():
            for label, run in (("before", b), ("after", a)):
                figures = run["index"]
                assert isinstance(figures, dict)
                index.add_row(
                    f"{size:,}", label, f"{figures['first_page'] / 1024:,.1f}", str(figures["files"]),
                    f"{figures['bytes'] / 1024:,.0f}", f"{figures['first']:.2f} s",
                    f"{figures['again']:.2f} s",
                )  # fmt: skip
        tables.append(index)
    return tables


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--weight-only", action="store_true", help="only the site's weight (issue 29)")
    parser.add_argument(
        "--population-users", type=int, default=8, help="ordinary users of the real population"
    )
    parser.add_argument(
        "--index-users", default="1000,10000", help="index sizes, comma-separated ('' for none)"
    )
    parser.add_argument("--baseline", default="0296f15", help="the revision to compare with")
    parser.add_argument(
        "--repo", type=Path, default=Path(__file__).resolve().parents[1], help="git repository"
    )
    parser.add_argument("--collections-cache", type=Path, help="keep (or reuse) the population's collections")
    args = parser.parse_args()
    dataset = shared_dataset()
    now = datetime.now(UTC)
    with FakeGitHubServer(dataset) as gh:
        collections = asyncio.run(collect_all(gh.url, list(dataset.demo_users), now))
    console = Console(width=160)
    if not args.weight_only:
        publish_tables(console, collections, now, args.rounds)
    cache = args.collections_cache
    if cache is not None and cache.is_file():  # the population's collections, as a run before took them
        ordinary = [Collection.model_validate_json(line) for line in cache.read_text().splitlines()]
    else:
        ordinary = population_collections(args.population_users, now)
        if cache is not None:
            cache.write_text("".join(c.model_dump_json() + "\n" for c in ordinary))
    for table in weight_tables(args, [*collections, *ordinary], now):
        console.print(table)
    return 0


def publish_tables(console: Console, collections: list[Collection], now: datetime, rounds: int) -> None:
    table = Table(title=f"Build and publish per demo user (best of {rounds})")
    columns = ("user", "PRs", "build 4 periods", "publish: render + atomic writes", "output")
    for column in (*columns, "baseline: plain writes of the bytes", "publish / baseline", "largest page"):
        table.add_column(column, justify="left" if column in ("user", "output", "largest page") else "right")
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        for collection in collections:
            row = measure(collection, now, rounds, Path(tmp))
            totals.append(float(row[3].split()[0]))
            table.add_row(*row)
    console.print(table)
    console.print(
        f"whole demo site: {sum(totals):.0f} ms to publish {len(totals)} users "
        f"(median {statistics.median(totals):.0f} ms per user; target: well under 1,000 ms per user)"
    )
    console.print(republish_table(collections, now, rounds))


if __name__ == "__main__":
    sys.exit(main())
