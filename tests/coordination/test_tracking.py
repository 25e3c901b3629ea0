"""Task tracking: the contract names, on fakeredis, a real Redis server and SQLite,
including races between processes and a Redis outage."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing as mp
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from gitbrag import tracking
from gitbrag.coordination import RedisStore, SQLiteStore, Store
from gitbrag.coordination.tracking import TaskTracker, configure_tracking, hash_params, make_task_id
from gitbrag.settings import Settings
from tests.clock import Clock

BACKENDS = ["fakeredis", "redis", "sqlite"]


@dataclass
class Backend:
    """One store shared by several trackers (workers), and a way to let time pass:
    SQLite expiry follows the injected clock, Redis its own clock (so real, short TTLs)."""

    kind: str
    store: Store
    clock: Clock = field(default_factory=lambda: Clock(1_700_000_000))

    def tracker(
        self, *, ttl: float = 300, limit: int = 1, worker: str = "w1", real_clock: bool = False
    ) -> TaskTracker:
        clock: Callable[[], float] = time.time if real_clock or self.kind != "sqlite" else self.clock.epoch
        return TaskTracker(self.store, worker_id=worker, ttl=ttl, per_user_limit=limit, clock=clock)

    async def advance(self, seconds: float) -> None:
        if self.kind == "sqlite":
            self.clock.advance(seconds)
        else:
            assert seconds <= 0.2, "keep real waits short"
            await asyncio.sleep(seconds)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    store: Store
    if request.param == "fakeredis":
        store = RedisStore(fakeredis.FakeAsyncRedis(decode_responses=True))
    elif request.param == "redis":
        store = RedisStore.from_url(request.getfixturevalue("redis_url"))
    else:
        store = SQLiteStore(tmp_path / "state.sqlite3")
    yield Backend(request.param, store)
    configure_tracking(None)
    await store.close()


# --- the contract -----------------------------------------------------------------


async def test_contract_functions_treat_usernames_case_insensitively(backend: Backend) -> None:
    configure_tracking(backend.tracker())
    task = make_task_id("Octocat", "1_year", hash_params({"theme": "dark"}))
    assert task.startswith("octocat:1_year:")
    assert await tracking.start_task(task, {"requested_by": "hook"})
    assert await tracking.is_task_active(task.replace("octocat", "OctoCat"))
    assert not await tracking.start_task(task.replace("octocat", "OCTOCAT"))
    assert await tracking.get_reported_user_active_tasks("OctoCat") == [task]
    assert not await tracking.can_start_reported_user_task("octocat")
    assert await tracking.complete_task(task.replace("octocat", "Octocat"))
    assert not await tracking.is_task_active(task)
    assert await tracking.can_start_reported_user_task("OCTOCAT")
    assert await tracking.get_reported_user_active_tasks("octocat") == []


async def test_claim_metadata_names_the_worker_and_user(backend: Backend) -> None:
    tracker = backend.tracker(worker="host-a:42")
    claim = await tracker.try_claim("Zoe:1_year:h", {"requested_by": "cron"})
    assert claim is not None
    meta = await backend.store.task_metadata("zoe:1_year:h", backend.clock.epoch())
    assert meta is not None
    assert meta["username"] == "zoe" and meta["worker_id"] == "host-a:42" and meta["requested_by"] == "cron"
    assert meta["claim_token"] == claim.token and "started_at" in meta


@pytest.mark.parametrize("limit", [1, 2])
async def test_per_reported_user_limit(backend: Backend, limit: int) -> None:
    a, b = backend.tracker(limit=limit, worker="a"), backend.tracker(limit=limit, worker="b")
    periods = ["1_year", "2_years", "5_years"]
    started = [await (a if i % 2 else b).start_task(f"zoe:{p}:h") for i, p in enumerate(periods)]
    assert started == [True] * limit + [False] * (3 - limit)
    assert len(await a.get_reported_user_active_tasks("zoe")) == limit
    assert not await b.can_start_reported_user_task("Zoe")
    assert await b.start_task("other:1_year:h")  # the limit is per reported user, not per worker
    first = f"zoe:{periods[0]}:h"
    assert await b.complete_task(first)
    assert await a.can_start_reported_user_task("zoe")
    assert await a.start_task(f"zoe:{periods[-1]}:h")


async def test_fencing_only_the_token_holder_may_renew_release_or_publish(backend: Backend) -> None:
    a, b = backend.tracker(worker="a"), backend.tracker(worker="b")
    claim = await a.try_claim("zoe:1_year:h")
    assert claim is not None
    assert not await b.complete_task("zoe:1_year:h")  # b holds no token for it
    assert not await b.complete_task("zoe:1_year:h", "forged")
    assert not await b.renew_task("zoe:1_year:h", "forged")
    assert not await b.holds_task("zoe:1_year:h", "forged")
    assert await a.is_task_active("zoe:1_year:h")
    assert await claim.holds() and await claim.renew()
    assert await claim.release()
    assert not await claim.holds() and not await claim.release()


async def test_a_lapsed_claim_is_taken_over_and_the_old_holder_cannot_publish(backend: Backend) -> None:
    stalled, fresh = backend.tracker(ttl=0.1, worker="stalled"), backend.tracker(worker="fresh")
    old = await stalled.try_claim("zoe:1_year:h")
    assert old is not None and not await fresh.start_task("zoe:2_years:h")  # limit 1
    await backend.advance(0.15)  # the worker stalled past its lease (crash, SIGSTOP)
    assert not await fresh.is_task_active("zoe:1_year:h")
    assert await fresh.can_start_reported_user_task("zoe")
    new = await fresh.try_claim("zoe:1_year:h")
    assert new is not None
    assert not await old.holds() and not await old.renew() and not await old.release()
    assert await new.holds()


async def test_renewal_keeps_a_long_generation_claimed(backend: Backend) -> None:
    tracker = backend.tracker(ttl=0.2)
    claim = await tracker.try_claim("zoe:1_year:h")
    assert claim is not None
    await backend.advance(0.12)
    assert await claim.renew()
    await backend.advance(0.12)  # past the first lease, within the renewed one
    assert await claim.holds()
    await backend.advance(0.2)
    assert not await claim.holds()


async def test_kept_alive_renews_in_the_background(backend: Backend) -> None:
    tracker = backend.tracker(ttl=0.1, real_clock=True)
    claim = await tracker.try_claim("zoe:1_year:h")
    assert claim is not None
    async with claim.kept_alive(every=0.02):
        await asyncio.sleep(0.2)
        assert await claim.holds()
    await asyncio.sleep(0.15)
    assert not await claim.holds()  # renewal stopped with the block


async def test_tracker_from_settings(backend: Backend) -> None:
    tracker = TaskTracker.from_settings(backend.store, Settings(task_ttl_seconds=42, per_user_limit=3))
    assert (tracker.ttl, tracker.per_user_limit) == (42, 3)


# A script that uses only the contract names, with no setup: each line of stdin is a call, each
# in its own `asyncio.run` (its own event loop), as a script run step by step would make them.
CONTRACT_SCRIPT = """
import asyncio, json, sys
from gitbrag import tracking
for line in sys.stdin:
    name, *args = json.loads(line)
    print(json.dumps(asyncio.run(getattr(tracking, name)(*args))), flush=True)
"""


class ContractProcess:
    """A fresh Python process calling the module-level contract functions."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CONTRACT_SCRIPT], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip

    def __call__(self, name: str, *args: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps([name, *args]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"{name} failed in the fresh process"
        return json.loads(line)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_contract_functions_work_in_a_fresh_process_from_the_environment(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITBRAG_", "GITHUB_"))}
    if kind == "redis":
        env["GITBRAG_REDIS_URL"] = request.getfixturevalue("redis_url")
    else:
        env["GITBRAG_STATE_PATH"] = str(tmp_path / "state.sqlite3")
    task = "zoe:1_year:0123456789ab"
    one, other = ContractProcess(env), ContractProcess(env)
    try:
        assert other("can_start_reported_user_task", "zoe") is True
        assert one("start_task", task) is True
        assert other("is_task_active", task) is True  # another process sees the claim
        assert other("start_task", task) is False
        assert other("get_reported_user_active_tasks", "Zoe") == [task]
        assert other("can_start_reported_user_task", "zoe") is False  # GITBRAG_PER_USER_LIMIT=1
        assert other("complete_task", task) is False  # not its claim
        assert one("complete_task", task) is True  # its claim, taken in an earlier event loop
        assert other("is_task_active", task) is False
        assert other("can_start_reported_user_task", "zoe") is True
    finally:
        one.close()
        other.close()


# --- Redis outage: fail open, log once, recover ---------------------------------------


async def test_redis_outage_fails_open_logs_once_and_recovers(
    redis_server_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gitbrag.coordination.tracking")
    server = redis_server_factory()  # its port is free: nothing answers yet
    a = TaskTracker(RedisStore.from_url(server.url), worker_id="a")
    b = TaskTracker(RedisStore.from_url(server.url), worker_id="b")

    results = [await a.start_task("zoe:1_year:h") for _ in range(20)]
    assert all(results)  # the refresh still runs; duplicates are allowed during an outage
    assert not await a.is_task_active("zoe:1_year:h")
    assert await a.can_start_reported_user_task("zoe")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "fails open" in warnings[0].getMessage()

    server.start()
    assert await b.start_task("max:1_year:h")
    assert not await a.start_task("max:1_year:h")  # deduplication is back, no restart
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        "Redis reachable again: task tracking restored"
    ]

    server.stop()
    assert await a.start_task("max:1_year:h")
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2  # one per outage
    await a.store.close()
    await b.store.close()


async def test_a_claim_that_lived_through_an_outage_is_restored_unless_taken(
    redis_server_factory: Any,
) -> None:
    server = redis_server_factory().start()
    a = TaskTracker(RedisStore.from_url(server.url), worker_id="a")
    b = TaskTracker(RedisStore.from_url(server.url), worker_id="b")
    kept = await a.try_claim("zoe:1_year:h")
    lost = await a.try_claim("max:1_year:h")
    assert kept is not None and lost is not None

    server.stop()
    assert await kept.renew() and await lost.renew()  # fail open: the generations go on
    server.start()  # a fresh server: every claim is gone
    assert await b.start_task("max:1_year:h")  # b claims one of them first

    assert await kept.holds()  # restored into Redis...
    assert not await b.start_task("zoe:1_year:h")  # ...so it deduplicates again
    assert not await lost.holds()  # b's claim wins; a must not publish over it
    await a.store.close()
    await b.store.close()


# --- races across processes -----------------------------------------------------------
# Workers run in spawned processes, each with its own store connection; a barrier
# lines them up so every trial is a real race on the server.


def _open(kind: str, target: str) -> Store:
    return RedisStore.from_url(target) if kind == "redis" else SQLiteStore(target)


def race_worker(kind: str, target: str, claimers: int, trials: int, barrier: Any, out: Any) -> None:
    async def run() -> list[int]:
        store = _open(kind, target)
        tracker = TaskTracker(store, worker_id=f"p{os.getpid()}", ttl=60)
        await store.ping()
        wins = []
        for trial in range(trials):
            barrier.wait()
            task = f"racer{trial}:1_year:h"  # a fresh user: trials do not share its limit
            won = await asyncio.gather(*(tracker.start_task(task) for _ in range(claimers)))
            wins.append(sum(won))
        await store.close()
        return wins

    out.put(asyncio.run(run()))


def limit_worker(
    kind: str, target: str, limit: int, claimers: int, seconds: float, barrier: Any, out: Any
) -> None:
    """Each winner records when it held a claim; the parent checks the overlaps."""

    async def run() -> list[tuple[float, float]]:
        store = _open(kind, target)
        tracker = TaskTracker(store, worker_id=f"p{os.getpid()}", ttl=60, per_user_limit=limit)
        await store.ping()
        held: list[tuple[float, float]] = []
        barrier.wait()
        deadline = time.monotonic() + seconds

        async def claimer(i: int) -> None:
            n = 0
            while time.monotonic() < deadline:
                n += 1
                claim = await tracker.try_claim(f"limited:{i}:{os.getpid()}-{n}")
                if claim is None:
                    await asyncio.sleep(0.002)
                    continue
                start = time.monotonic()  # after the claim was granted...
                await asyncio.sleep(0.01)
                held.append((start, time.monotonic()))  # ...and before it is released
                await claim.release()

        await asyncio.gather(*(claimer(i) for i in range(claimers)))
        await store.close()
        return held

    out.put(asyncio.run(run()))


def run_workers(target: Callable[..., None], processes: int, *args: Any) -> list[Any]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, out)) for _ in range(processes)]
    for proc in procs:
        proc.start()
    try:
        return [out.get(timeout=60) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    current = peak = 0
    for _, step in events:  # at equal times the end (-1) sorts first: touching is not overlapping
        current += step
        peak = max(peak, current)
    return peak


def target_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "redis":
        return str(request.getfixturevalue("redis_url"))
    path = tmp_path / "shared.sqlite3"
    SQLiteStore(path)  # create the schema once, before the workers open it
    return str(path)


@pytest.mark.parametrize(("kind", "claimers", "trials"), [("redis", 25, 20), ("sqlite", 25, 20)])
def test_one_winner_per_task_across_processes(
    kind: str, claimers: int, trials: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    per_process = run_workers(race_worker, 4, kind, target_for(kind, request, tmp_path), claimers, trials)
    winners = [sum(trial) for trial in zip(*per_process, strict=True)]
    assert winners == [1] * trials


@pytest.mark.parametrize(("kind", "limit"), [("redis", 1), ("redis", 2), ("sqlite", 2)])
def test_per_user_limit_holds_across_processes(
    kind: str, limit: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    per_process = run_workers(limit_worker, 4, kind, target_for(kind, request, tmp_path), limit, 4, 1.0)
    held = [interval for intervals in per_process for interval in intervals]
    assert len(held) >= 10  # the workers did take turns
    assert max_overlap(held) == limit  # reached, never exceeded
