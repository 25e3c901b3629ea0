"""Site benchmark: how long building and publishing each demo user's reports takes, and
how heavy the pages are.

Collects every demo user once from the fake GitHub (served on loopback), then times,
per user, the pure report build (all four periods) and the publish (render + atomic
writes of every page, report.json and feed). The baseline, in the same run, is writing
the very same bytes with plain `write_bytes` (no temporary file, no fsync, no rename):
the ratio is what crash safety costs. Pages are checked against the 300 KB budget.

Run: .venv/bin/python benchmarks/site.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.github.client import GitHubClient
from gitbrag.github.collect import collect_user
from gitbrag.models import Collection
from gitbrag.publish import Publisher
from gitbrag.report import build_reports

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
