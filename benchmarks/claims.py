"""Claim benchmark: do concurrent claimers in several processes ever break the rules?

Starts its own `redis-server` on a free loopback port (never the machine's own) and prints:

1. one report, N claimers spread over P processes, T trials: how many won each trial
   (must be exactly 1, every trial), with the time a trial takes;
2. the per-reported-user limit L: claimers for different reports of one user, each
   winner recording when it held its claim; the most held at once (never more than L);
3. the same two checks against one SQLite file shared by the processes.

Run: .venv/bin/python benchmarks/claims.py [--trials 1000] [--claimers 100] [--processes 4]
It exits non-zero if a rule was broken. Bounded: about a minute with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gitbrag.coordination import RedisStore, SQLiteStore, Store
from gitbrag.coordination.tracking import TaskTracker
from gitbrag.models import Login


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    sys.exit("redis-server did not start")
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait()


def open_store(kind: str, target: str) -> Store:
    return RedisStore.from_url(target) if kind == "redis" else SQLiteStore(target)


# --- workers (run in spawned processes) -------------------------------------------


def race_worker(kind: str, target: str, claimers: int, trials: int, barrier: Any, out: Any) -> None:
    """Per trial: wait for every process, then `claimers` concurrent start_task on one task."""

    async def run() -> list[tuple[int, float]]:
        store = open_store(kind, target)
        tracker = TaskTracker(store, worker_id=f"p{os.getpid()}", ttl=60)
        await store.ping()
        results = []
        for trial in range(trials):
            barrier.wait()
            started = time.perf_counter()
            task = f"bench{trial}:1_year:h"  # one report; each trial a fresh user
            won = await asyncio.gather(*(tracker.start_task(task) for _ in range(claimers)))
            results.append((sum(won), time.perf_counter() - started))
        await store.close()
        return results

    out.put(asyncio.run(run()))


def limit_worker(
    kind: str, target: str, limit: int, claimers: int, seconds: float, barrier: Any, out: Any
) -> None:
    """Claimers loop over distinct reports of one user; a winner holds for 5 ms and
    records the interval (after the grant, before the release)."""

    async def run() -> tuple[list[tuple[float, float]], int]:
        store = open_store(kind, target)
        tracker = TaskTracker(store, worker_id=f"p{os.getpid()}", ttl=60, per_user_limit=limit)
        await store.ping()
        held: list[tuple[float, float]] = []
        attempts = 0
        barrier.wait()
        deadline = time.monotonic() + seconds

        async def claimer(i: int) -> None:
            nonlocal attempts
            n = 0
            while time.monotonic() < deadline:
                n += 1
                attempts += 1
                claim = await tracker.try_claim(f"limited:p{i}:{os.getpid()}-{n}")
                if claim is None:
                    await asyncio.sleep(0.001)
                    continue
                start = time.monotonic()
                await asyncio.sleep(0.005)
                held.append((start, time.monotonic()))
                await claim.release()

        await asyncio.gather(*(claimer(i) for i in range(claimers)))
        await store.close()
        return held, attempts

    out.put(asyncio.run(run()))


def force_worker(redis_url: str, github_url: str, site: str, requests: int, barrier: Any, out: Any) -> None:
    """`requests` concurrent forced refreshes of one user through the real refresh path."""
    from gitbrag.github.client import GitHubClient
    from gitbrag.publish.publisher import Publisher
    from gitbrag.refresh import Refresher, Target

    async def run() -> list[str]:
        store = RedisStore.from_url(redis_url)
        async with GitHubClient(["bench-token"], github_url, github_url + "/graphql") as client:
            refresher = Refresher(
                store=store,
                client=client,
                publisher=Publisher(Path(site)),
                tracker=TaskTracker(store, worker_id=f"p{os.getpid()}", ttl=60),
            )
            barrier.wait()
            outcomes = await asyncio.gather(
                *(
                    refresher.generate(Target(Login("steady-sam"), "1_year", force=True))
                    for _ in range(requests)
                )
            )
        await store.close()
        return [o.status for o in outcomes]

    out.put(asyncio.run(run()))


def run_workers(target: Callable[..., None], processes: int, *args: Any) -> list[Any]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, out)) for _ in range(processes)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    return results


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    current = peak = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


# --- the scenarios --------------------------------------------------------------------


@dataclass
class Row:
    backend: str
    scenario: str
    outcome: str
    ok: bool
    timing: str


def race(kind: str, target: str, trials: int, claimers: int, processes: int) -> Row:
    per_process = run_workers(race_worker, processes, kind, target, claimers // processes, trials)
    winners = [sum(w for w, _ in trial) for trial in zip(*per_process, strict=True)]
    # A trial lasts as long as its slowest process.
    seconds = sorted(max(s for _, s in trial) for trial in zip(*per_process, strict=True))
    spread = Counter(winners)
    outcome = ", ".join(f"{count} trials with {won} winner(s)" for won, count in sorted(spread.items()))
    p99 = seconds[max(0, int(len(seconds) * 0.99) - 1)]
    timing = (
        f"median {statistics.median(seconds) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms per trial "
        f"({claimers * trials / sum(seconds):,.0f} claims/s)"
    )
    scenario = f"{trials} trials x {claimers} claimers / {processes} processes, one report"
    return Row(kind, scenario, outcome, set(winners) == {1}, timing)


def limit(kind: str, target: str, limit_: int, processes: int, claimers: int, seconds: float) -> Row:
    per_process = run_workers(limit_worker, processes, kind, target, limit_, claimers, seconds)
    held = [interval for intervals, _ in per_process for interval in intervals]
    attempts = sum(a for _, a in per_process)
    peak = max_overlap(held)
    scenario = f"limit L={limit_}: {processes * claimers} claimers / {processes} processes, {seconds:.0f} s"
    outcome = f"max held at once {peak} (L={limit_}); {len(held)} claims granted of {attempts} attempts"
    timing = f"{len(held) / seconds:,.0f} grants/s"
    return Row(kind, scenario, outcome, peak <= limit_, timing)


def force_dedup(url: str, requests: int, processes: int) -> Row:
    """The design's dedup rate: N concurrent force-refreshes of one user -> one generation,
    counted by the fake GitHub (collections of the user) and by the workers' outcomes."""
    import httpx

    from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset

    started = time.monotonic()
    with FakeGitHubServer(shared_dataset()) as gh, tempfile.TemporaryDirectory() as site:
        httpx.post(gh.url + "/_fake/faults", json={"latency_ms": 20}).raise_for_status()
        per_process = run_workers(force_worker, processes, url, gh.url, site, requests // processes)
        collections = httpx.get(gh.url + "/_fake/stats").json()["searches_by_author"].get("steady-sam", 0)
    statuses = Counter(status for outcome in per_process for status in outcome)
    generated = statuses["refreshed"] + statuses["failed"]
    rate = (statuses["skipped"]) / max(1, requests - 1) * 100
    scenario = f"{requests} concurrent force-refreshes of one user / {processes} processes"
    outcome = (
        f"{generated} generation(s), GitHub searched {collections}x; "
        f"{statuses['skipped']} duplicates skipped: dedup rate {rate:.0f}%"
    )
    timing = f"{time.monotonic() - started:.1f} s"
    return Row("redis", scenario, outcome, generated == 1 and collections == 1, timing)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--claimers", type=int, default=100)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--limit", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each limit run")
    parser.add_argument("--sqlite-trials", type=int, default=100)
    args = parser.parse_args()
    args.trials = min(args.trials, 5000)  # keep a run bounded

    rows = []
    started = time.monotonic()
    with redis_server() as url:
        rows.append(race("redis", url, args.trials, args.claimers, args.processes))
        rows.append(limit("redis", url, args.limit, args.processes, 8, args.seconds))
        rows.append(force_dedup(url, args.claimers, args.processes))
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.sqlite3")
        SQLiteStore(path)  # schema once, before the workers open the file
        rows.append(race("sqlite", path, args.sqlite_trials, args.claimers, args.processes))
        rows.append(limit("sqlite", path, args.limit, args.processes, 8, args.seconds))

    table = Table(title=f"Claims under contention ({time.monotonic() - started:.0f} s)")
    for column in ("backend", "scenario", "result", "ok", "timing"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.backend, row.scenario, row.outcome, "yes" if row.ok else "NO", row.timing)
    Console(width=200).print(table)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
