"""API economy benchmark: what a refresh costs in GitHub rate limit, and how fast a pass runs.

Against the fake GitHub (served over HTTP with realistic latency, one dataset for the
whole run: the demo users plus 1,000 generated ones), it prints:

1. for the typical user (Mona-Lisa: ~300 PRs over 5 years in ~60 repositories) and the
   prolific one (prolific-pat: 1,600 PRs, over 1,000 in the last year), the rate-limit
   cost of gitbrag's refreshes, each run the way cron runs it (a separate
   `gitbrag-refresh --once` process on the embedded store): a first refresh (all four
   periods), a second one with no changes (`--force`), and one after a few new PRs;
   the same for a naive collector written here, following the reference approach
   (per period: REST search pages with `updated:>=`, then per PR REST `/pulls/{n}` and
   `/pulls/{n}/files`, per repository REST `/repos/{o}/{r}`, per repository GraphQL
   stargazer pages); it keeps nothing between runs, so every refresh of it costs what
   its first does (measured once per user, and shown against each of gitbrag's cases);
   the ratio, and the users per hour one token can refresh at each cost (5,000 REST
   requests and 5,000 GraphQL points an hour, 30 REST searches a minute);
2. the wall time of a first refresh of 1,000 users at concurrency 1, 8 and 40, then of an
   unchanged (incremental, `--force`) pass over the same 1,000, with the most requests
   the fake GitHub saw in flight at once for the token (GitHub caps an account at 100;
   gitbrag keeps to `GITBRAG_GITHUB_MAX_IN_FLIGHT`, default 10).

Costs are what the fake GitHub charged (its `/_fake/stats`), not what the client thinks.

Run: .venv/bin/python benchmarks/api_economy.py [--latency-ms 50] [--users 1000] [--sample 40]
Bounded: about 5-8 minutes on two cores with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.server import FakeGitHubServer
from gitbrag.github import GitHubClient
from gitbrag.github.pacing import LocalWindow, Pacing
from gitbrag.models import PERIODS, period_since

REFRESH = str(Path(sys.executable).with_name("gitbrag-refresh"))
TOKEN = "benchmark-token"
HOURLY = 5000  # REST requests, and GraphQL points, per token per hour
SEARCHES_PER_HOUR = 30 * 60
USERS = ("Mona-Lisa", "prolific-pat")
console = Console(width=170)


@dataclass(frozen=True)
class Cost:
    """What GitHub's primary limits charge: REST core requests, REST searches, GraphQL points."""

    core: int
    search: int
    points: int
    graphql_searches: int = 0  # GraphQL queries with a `search` field (they spend points only)

    @property
    def total(self) -> int:
        return self.core + self.search + self.points

    def users_per_hour(self) -> tuple[float, str]:
        """Users one token can refresh an hour at this cost, and which budget binds."""
        bounds = {"REST": _per(HOURLY, self.core), "GraphQL": _per(HOURLY, self.points)}
        bounds["search"] = _per(SEARCHES_PER_HOUR, self.search)
        binding = min(bounds, key=lambda k: bounds[k])
        return bounds[binding], binding


def _per(budget: int, spent: int) -> float:
    return float("inf") if spent == 0 else budget / spent


class Fake:
    """The fake GitHub in this process, reachable by the refresh subprocesses."""

    def __init__(self, server: FakeGitHubServer) -> None:
        self.server = server
        self.url = server.url

    def reset(self) -> None:
        httpx.post(self.url + "/_fake/reset", timeout=60).raise_for_status()

    def cost(self, login: str | None = None) -> Cost:
        stats = httpx.get(self.url + "/_fake/stats", timeout=60).json()
        searches = stats["requests"].get("GET /search/issues", 0)
        gql_searches = sum(stats["searches_by_author"].values()) - searches
        c = stats["cost"]
        return Cost(c["core"], c["search"], c["graphql"], gql_searches)

    def max_in_flight(self) -> int:
        """The most requests one token had open at once, as the fake GitHub counted them."""
        stats = httpx.get(self.url + "/_fake/stats", timeout=60).json()
        return max(stats["max_in_flight"].values(), default=0)


# --- gitbrag, as cron runs it ----------------------------------------------------------------


def gitbrag_refresh(fake: Fake, work: Path, *args: str, **env: str) -> tuple[float, str]:
    """Run one pass; returns its wall time and its summary line (`refreshed=N skipped=N failed=N`)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITBRAG_", "GITHUB_"))}
    full_env |= {"GITHUB_TOKEN": TOKEN, "GITBRAG_GITHUB_API_URL": fake.url, "GITBRAG_LOG_LEVEL": "WARNING"}
    full_env |= env
    started = time.monotonic()
    result = subprocess.run(
        [REFRESH, "--once", *args], cwd=work, env=full_env, capture_output=True, text=True, timeout=1800
    )
    seconds = time.monotonic() - started
    lines = result.stdout.strip().splitlines()
    if result.returncode not in (0, 1) or not lines:  # 1: some reports failed, still a pass
        sys.exit(f"gitbrag-refresh failed:\n{result.stderr[-3000:]}")
    return seconds, lines[-1]


def add_new_prs(fake: Fake, login: str, count: int = 3) -> None:
    """A few new PRs, in repositories the user already contributes to."""
    repos = sorted({p.repo for p in fake.server.dataset.pulls_by(login)})
    now = datetime.now(UTC).replace(microsecond=0)
    for i in range(count):
        fake.server.app_state.add_pull(
            repos[i % len(repos)], login, title=f"New work #{i}", created_at=now - timedelta(minutes=10 + i)
        )


def measure_gitbrag(fake: Fake, login: str, root: Path) -> dict[str, Cost]:
    work = root / f"gitbrag-{login.lower()}"
    work.mkdir()
    costs = {}
    for case, args in (("first", ()), ("unchanged", ("--force",)), ("new PRs", ("--force",))):
        if case == "new PRs":
            add_new_prs(fake, login)
        fake.reset()
        _, outcome = gitbrag_refresh(fake, work, *args, "--user", login)
        if not outcome.endswith("failed=0"):
            sys.exit(f"{login}: {case} refresh failed ({outcome}); costs would not be comparable")
        costs[case] = fake.cost()
    return costs


# --- the naive collector (the reference approach) -------------------------------------------

STARS_QUERY = """
query Stars($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    stargazers(first: 100, after: $after, orderBy: {field: STARRED_AT, direction: DESC}) {
      edges { starredAt }
      pageInfo { hasNextPage endCursor }
    }
  }
  rateLimit { cost }
}
"""


async def naive_collect(client: GitHubClient, login: str, now: datetime) -> None:
    """Each period collected on its own, every detail fetched one request at a time."""
    limit = asyncio.Semaphore(40)

    async def get(path: str, params: dict[str, Any] | None = None) -> Any:
        async with limit:
            return (await client.rest_get(path, params)).json

    for period in PERIODS:
        since = period_since(period, now)
        query = f"is:pr author:{login}" + ("" if period == "all_time" else f" updated:>={since.date()}")
        items: list[dict[str, Any]] = []
        async for page in client.rest_pages("/search/issues", {"q": query, "per_page": 100}):
            items.extend(page)
            if len(items) >= 1000:  # GitHub's cap: the reference stops there
                break
        repos = sorted({i["repository_url"].rsplit("/repos/", 1)[1] for i in items})

        async def details(item: dict[str, Any]) -> None:
            repo = item["repository_url"].rsplit("/repos/", 1)[1]
            await get(f"/repos/{repo}/pulls/{item['number']}")
            async with limit:
                async for _ in client.rest_pages(
                    f"/repos/{repo}/pulls/{item['number']}/files", {"per_page": 100}
                ):
                    pass

        await asyncio.gather(*(details(i) for i in items))
        await asyncio.gather(*(get(f"/repos/{r}") for r in repos))
        if period != "all_time":
            await asyncio.gather(*(naive_stars(client, r, since, limit) for r in repos))


async def naive_stars(client: GitHubClient, repo: str, since: datetime, limit: asyncio.Semaphore) -> None:
    owner, name = repo.split("/", 1)
    after = None
    while True:
        async with limit:
            data = await client.graphql(STARS_QUERY, {"owner": owner, "name": name, "after": after})
        stars = data["repository"]["stargazers"]
        times = [datetime.fromisoformat(e["starredAt"]) for e in stars["edges"]]
        if not stars["pageInfo"]["hasNextPage"] or not times or times[-1] < since:
            return
        after = stars["pageInfo"]["endCursor"]


def measure_naive(fake: Fake, login: str) -> Cost:
    async def run() -> None:
        # Unpaced: only the cost is measured here, and the fake's limits are lifted.
        unpaced = Pacing(search=LocalWindow(10**9), graphql=LocalWindow(10**9), rest=LocalWindow(10**9))
        async with GitHubClient([TOKEN], fake.url, fake.url + "/graphql", pacing=unpaced) as client:
            await naive_collect(client, login, datetime.now(UTC))

    fake.reset()
    asyncio.run(run())
    return fake.cost()


# --- wall time ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    seconds: float
    cost: Cost
    outcome: str  # the summary line
    in_flight: int  # most requests open at once for the token


def wall_time(fake: Fake, work: Path, users: list[str], concurrency: int, *args: str) -> Pass:
    fake.reset()
    seconds, outcome = gitbrag_refresh(
        fake, work, *args, GITBRAG_USERS=",".join(users), GITBRAG_MAX_CONCURRENT=str(concurrency)
    )
    return Pass(seconds, fake.cost(), outcome, fake.max_in_flight())


# --- output -----------------------------------------------------------------------------------


def cost_table(ours: dict[str, dict[str, Cost]], naive: dict[str, Cost]) -> Table:
    table = Table(
        title="Rate-limit cost per user (REST core + REST search + GraphQL points); "
        "the naive collector keeps no state, so each of its refreshes costs the same"
    )
    for column in ("user", "refresh", "collector", "REST", "search", "GraphQL pts", "(GraphQL searches)",
                   "total", "naive / gitbrag", "users/h/token", "bound by"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("user", "refresh", "collector") else "right")
    for login in USERS:
        for case, cost in ours[login].items():
            base = naive[login]
            for who, c in (("gitbrag", cost), ("naive", base)):
                per_hour, bound = c.users_per_hour()
                hourly = "unbounded" if per_hour == float("inf") else f"{per_hour:,.0f}"
                ratio = f"{base.total / cost.total:.0f}x" if who == "gitbrag" and cost.total else ""
                table.add_row(
                    login, case, who, str(c.core), str(c.search), str(c.points), str(c.graphql_searches),
                    str(c.total), ratio, hourly, bound,
                )  # fmt: skip
    return table


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--users", type=int, default=1000, help="generated users for the wall-time runs")
    parser.add_argument(
        "--sample", type=int, default=40, help="users timed at concurrency 1 (then extrapolated)"
    )
    args = parser.parse_args()

    console.print(f"building the dataset (demo users + {args.users} generated users)...")
    dataset = build_dataset(extra_users=args.users)
    with FakeGitHubServer(dataset) as server, tempfile.TemporaryDirectory(prefix="gitbrag-bench-") as tmp:
        fake = Fake(server)
        # Costs are measured, not enforced: lift the budgets so nothing waits an hour.
        httpx.post(fake.url + "/_fake/limits", json={"core": 10**9, "search": 10**9, "graphql": 10**9})
        server.app_state.faults.update({"latency_ms": args.latency_ms, "jitter_ms": args.latency_ms / 5})
        root = Path(tmp)

        ours = {}
        naive = {}
        for login in USERS:
            console.print(f"measuring {login}: gitbrag (3 refresh processes), then the naive collector...")
            naive[login] = measure_naive(fake, login)
            ours[login] = measure_gitbrag(fake, login, root)
        console.print(cost_table(ours, naive))

        generated = [f"user-{i:04d}" for i in range(1, args.users + 1)]
        walls = Table(title=f"Wall time: refreshes of {args.users:,} users "
                      f"({args.latency_ms:.0f} ms latency, one token, one process)")  # fmt: skip
        for column in ("pass", "concurrency", "users timed", "seconds", f"seconds for {args.users:,}",
                       "users/s", "cost (REST+pts)", "max in flight/token", "note"):  # fmt: skip
            walls.add_column(column, justify="right")
        runs = [("first", 1), ("first", 8), ("first", 40), ("unchanged (--force)", 8)]
        work = root
        for kind, concurrency in runs:
            timed = generated[: args.sample] if concurrency == 1 else generated
            if kind == "first":
                work = Path(tempfile.mkdtemp(prefix=f"wall-{concurrency}-", dir=root))
            console.print(f"timing a {kind} pass of {len(timed)} users at concurrency {concurrency}...")
            run = wall_time(fake, work, timed, concurrency, *(("--force",) if kind != "first" else ()))
            scale = len(generated) / len(timed)
            note = f"extrapolated x{scale:.0f} from {len(timed)} users" if scale > 1 else "measured"
            note += "" if run.outcome.endswith("failed=0") else f" ({run.outcome})"
            console.print(f"  {run.seconds:.1f}s for {len(timed)} users; {note}")
            walls.add_row(
                kind, str(concurrency), str(len(timed)), f"{run.seconds:.1f}", f"{run.seconds * scale:.0f}",
                f"{len(timed) / run.seconds:.1f}", str(run.cost.total), str(run.in_flight), note,
            )  # fmt: skip
        console.print(walls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
