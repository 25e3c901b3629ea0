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

Run: .venv/bin/python benchmarks/site.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

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


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    dataset = shared_dataset()
    now = datetime.now(UTC)
    with FakeGitHubServer(dataset) as gh:
        collections = asyncio.run(collect_all(gh.url, list(dataset.demo_users), now))
    table = Table(title=f"Build and publish per demo user (best of {args.rounds})")
    columns = ("user", "PRs", "build 4 periods", "publish: render + atomic writes", "output")
    for column in (*columns, "baseline: plain writes of the bytes", "publish / baseline", "largest page"):
        table.add_column(column, justify="left" if column in ("user", "output", "largest page") else "right")
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        for collection in collections:
            row = measure(collection, now, args.rounds, Path(tmp))
            totals.append(float(row[3].split()[0]))
            table.add_row(*row)
    console = Console(width=160)
    console.print(table)
    console.print(
        f"whole demo site: {sum(totals):.0f} ms to publish {len(totals)} users "
        f"(median {statistics.median(totals):.0f} ms per user; target: well under 1,000 ms per user)"
    )
    console.print(republish_table(collections, now, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
