"""A soak: 200 scheduler passes on an accelerated clock (an hour a pass) against a fake
GitHub that fails a fifth of its answers, cuts some short and now and then throws
secondary rate limits. On SQLite and on real Redis, afterwards:

* no claim leaked (no `task:*` key, no `tasks` row);
* the store holds the same keys (rows) after pass 200 as after pass 50: nothing in it
  grows with the number of passes, only with the tracked reports;
* the process's memory did not grow from pass 50 to pass 125, or from 125 to 200 (tracemalloc):
  a leak grows in both stretches, a one-off (a table resized once) in one;
* once the faults stop, every report is fresh again within a few passes.

The GitHub client's sleep and clock are injected, so a 60-second Retry-After or a retry
backoff costs no real time.
"""

from __future__ import annotations

import gc
import sqlite3
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from gitbrag.coordination import RedisStore, SQLiteStore, Store
from gitbrag.coordination.tracking import TaskTracker
from gitbrag.fakegithub.faults import FaultConfig
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.github.client import GitHubClient
from gitbrag.models import PERIODS, Login
from gitbrag.publish.publisher import Publisher
from gitbrag.refresh import Refresher
from tests.clock import Clock
from tests.support import assert_site_whole

USERS = ["steady-sam", "hostile-hank", "zero-zoe"]
PASSES, MEASURE_FROM, MEASURE_MIDDLE = 200, 50, 125
STEP, STALE_AFTER = timedelta(hours=1), timedelta(hours=12)
FAULTS = {
    "error_rate": 0.2,
    "malformed_rate": 0.05,
    "secondary_rate": 0.02,
    "secondary_burst": 2,
    "retry_after_s": 60,
    "seed": 7,
}
MEMORY_GROWTH_LIMIT = 250_000  # bytes in 75 passes, in each stretch (measured: under 60 KB)


@asynccontextmanager
async def soak_rig(store: Store, site: Path) -> AsyncIterator[tuple[Refresher, FakeGitHubServer, Clock]]:
    """The refresher, the fake GitHub and the scheduler's clock (the test moves it an hour a
    pass; claims and reports follow it). The GitHub client has a clock of its own, moved only
    by its sleeps: a Retry-After costs no real time and does not move the scheduler's."""
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    client_clock = Clock(clock.now)
    with FakeGitHubServer(shared_dataset()) as gh:
        async with GitHubClient(
            ["soak-token"], gh.url, gh.url + "/graphql", transient_attempts=2,
            sleep=client_clock.sleep, clock=client_clock.epoch,
        ) as client:  # fmt: skip
            tracker = TaskTracker(store, ttl=300, clock=clock.epoch)
            refresher = Refresher(
                store=store,
                client=client,
                publisher=Publisher(site),
                tracker=tracker,
                stale_after=STALE_AFTER,
                max_concurrent=4,
                clock=clock.utcnow,
            )
            try:
                yield refresher, gh, clock
            finally:
                await store.close()


def store_shape(store: Store) -> Counter[str]:
    """What the store holds, as counts that would grow if anything leaked: Redis keys (and
    the members of the indexes), or SQLite rows per table."""
    shape: Counter[str] = Counter()
    if isinstance(store, RedisStore):
        url = store._redis.connection_pool.connection_kwargs
        with redis.Redis(host=url["host"], port=url["port"], db=url.get("db", 0)) as r:
            for key in r.scan_iter(count=1000):
                shape["key " + key.decode()] += 1
            shape["due members"] = r.zcard("{gitbrag}:due")
            shape["users"] = r.hlen("{gitbrag}:users")
    else:
        assert isinstance(store, SQLiteStore)
        with sqlite3.connect(store.path) as conn:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                shape["rows " + table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        conn.close()
    return shape


def claims(shape: Counter[str]) -> int:
    return sum(n for k, n in shape.items() if k.startswith("key task:") or k == "rows tasks")


# The fake GitHub runs in this process, and its cache of parsed queries (graphql-core, which
# gitbrag itself never uses) takes in each new query shape: a batch size a pass had not sent
# before, a quarter the clock just entered. That is the fake's memory, not gitbrag's.
_NOT_GITBRAG = [tracemalloc.Filter(False, "*/graphql/*")]


def traced() -> tracemalloc.Snapshot:
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces(_NOT_GITBRAG)


def traced_bytes(snapshot: tracemalloc.Snapshot) -> int:
    return sum(t.size for t in snapshot.traces)


def grown(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> str:
    """What grew most, where it was allocated: the message of a failed memory check."""
    lines = [f"grew by {traced_bytes(after) - traced_bytes(before):,} bytes; the most, by allocation site:"]
    for stat in after.compare_to(before, "lineno")[:8]:
        lines.append(f"{stat.size_diff:+,} B in {stat.count_diff:+,} blocks at {stat.traceback}")
    return "\n".join(lines)


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        return SQLiteStore(tmp_path / "state.sqlite3")
    return RedisStore.from_url(request.getfixturevalue("redis_url"))


async def test_many_passes_with_random_faults_leak_nothing_and_end_fresh(
    store: Store, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    async with soak_rig(store, site) as (refresher, gh, clock):
        gh.app_state.faults.update(FAULTS)
        statuses: Counter[str] = Counter()
        for number in range(1, PASSES + 1):
            clock.advance(STEP)
            result = await refresher.run_pass(track=USERS)
            statuses.update(o.status for o in result.outcomes)
            if number == MEASURE_FROM - 1:
                tracemalloc.start()
            if number == MEASURE_FROM:
                shape_before, memory = store_shape(store), [traced()]
            if number == MEASURE_MIDDLE:
                memory.append(traced())
        memory.append(traced())
        tracemalloc.stop()
        stretches = [(memory[0], memory[1]), (memory[1], memory[2])]
        before, after = min(stretches, key=lambda s: traced_bytes(s[1]) - traced_bytes(s[0]))
        shape_after = store_shape(store)

        faults = gh.app_state.stats.faults
        assert faults["error"] > 20 and faults["malformed"] and faults["secondary"]  # it was a bad day
        assert statuses["refreshed"] > 30 and statuses["failed"] > 0, statuses
        assert claims(shape_before) == claims(shape_after) == 0
        assert shape_after == shape_before, (shape_before, shape_after)
        assert traced_bytes(after) - traced_bytes(before) < MEMORY_GROWTH_LIMIT, grown(before, after)

        # The faults stop: within a few passes every report is fresh and error-free.
        gh.app_state.faults.config = FaultConfig()
        gh.app_state.faults.update({"seed": 0})
        healed_from = clock.now
        for _ in range(14):
            clock.advance(STEP)
            await refresher.run_pass(track=USERS)
        for login in USERS:
            metas = await store.report_meta(Login(login))
            assert set(metas) == set(PERIODS)
            for meta in metas.values():
                assert meta.last_error is None and meta.failures == 0
                assert meta.generated_at is not None and meta.generated_at > healed_from - STALE_AFTER
                assert meta.next_due_at > clock.now  # fresh
        assert await store.due(clock.now) == []
        assert assert_site_whole(site) >= len(USERS) * 9
