"""The store contract, run against every backend: fakeredis, a real Redis server, SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest
import redis.asyncio as aioredis

from gitbrag.coordination import ClaimOutcome, RedisStore, SQLiteStore, Store, open_store, starcodec
from gitbrag.coordination.base import tracked_pages
from gitbrag.coordination.errors import StoreError, StoreUnavailable, error_name
from gitbrag.coordination.failopen import FailOpenStore
from gitbrag.coordination.tracking import TaskTracker
from gitbrag.models import PERIODS, Collection, Login, Profile, StarHistory, logins
from gitbrag.settings import Settings
from tests.conftest import free_port

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BACKENDS = ["fakeredis", "redis", "sqlite"]


def empty_collection(login: str) -> Collection:
    return Collection(
        login=login,
        profile=Profile(login=login),
        pull_requests=[],
        repositories={},
        stars={},
        collected_at=T0,
    )


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if kind == "fakeredis":
        return RedisStore(fakeredis.FakeAsyncRedis(decode_responses=True), collection_ttl=3600)
    if kind == "redis":
        return RedisStore.from_url(request.getfixturevalue("redis_url"), collection_ttl=3600)
    return SQLiteStore(tmp_path / "state.sqlite3")


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = make_store(request.param, request, tmp_path)
    yield s
    await s.close()


@pytest.fixture
async def raw_redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_tracking_is_case_insensitive_and_keeps_github_spelling(store: Store) -> None:
    await store.track(logins(["Mona-Lisa", "mona-lisa", "zoe"]), T0, PERIODS)
    users = await store.tracked()
    assert [u.login for u in users] == ["mona-lisa", "zoe"]
    assert users[0].display == "Mona-Lisa"


async def test_users_are_paged_looked_up_by_name_and_counted_without_listing_them(store: Store) -> None:
    """Issue 29: what a pass reads instead of every user (`tracked_pages`, `tracked_among`, `census`)."""
    names = [f"user-{i:04d}" for i in range(2500)]
    await store.track(logins(names), T0, PERIODS, "cli")
    await store.mark_missing(Login("user-0007"), True)
    paged = [u async for page in tracked_pages(store, size=1000) for u in page]
    assert sorted({u.login for u in paged}) == names  # Redis's HSCAN may give a user twice
    assert {u.login: (u.missing, u.source) for u in paged}[Login("user-0007")] == (True, "cli")
    found = await store.tracked_among(logins(["user-0003", "nobody", "USER-0007"]))
    assert set(found) == {"user-0003", "user-0007"} and found[Login("user-0007")].missing
    census = await store.census()
    assert (census.tracked, census.reports, census.marks) == (2500, 2500 * len(PERIODS), {})


async def test_the_change_counter_moves_with_what_the_index_lists_and_marks_are_kept(store: Store) -> None:
    await store.track(logins(["a"]), T0, PERIODS)
    start = (await store.census()).changes
    await store.track(logins(["a"]), T0, PERIODS)  # nothing new
    assert (await store.census()).changes == start
    await store.mark_generated(Login("a"), list(PERIODS), T0, T0 + timedelta(days=1))
    await store.untrack(Login("a"))
    assert (await store.census()).changes == start + 2
    await store.save_marks({"site": "x", "tracked": "1"})
    await store.save_marks({"site": "y"})
    assert (await store.census()).marks == {"site": "y", "tracked": "1"}


async def test_new_reports_are_due_at_once_oldest_first(store: Store) -> None:
    await store.track(logins(["a"]), T0, PERIODS)
    await store.track(logins(["b"]), T0 + timedelta(seconds=5), PERIODS)
    due = await store.due(T0 + timedelta(seconds=10))
    assert [(m.login, m.period) for m in due][:4] == [("a", p) for p in PERIODS]
    assert {m.login for m in due[4:]} == {"b"}
    assert await store.due(T0 - timedelta(seconds=1)) == []
    assert len(await store.due(T0 + timedelta(seconds=10), limit=3)) == 3


async def test_generated_reports_leave_the_due_list_until_stale(store: Store) -> None:
    await store.track(logins(["a"]), T0, PERIODS)
    await store.mark_generated(Login("A"), list(PERIODS), T0, T0 + timedelta(days=1))
    assert await store.due(T0 + timedelta(hours=23)) == []
    assert len(await store.due(T0 + timedelta(days=1))) == len(PERIODS)
    meta = (await store.report_meta(Login("a")))["1_year"]
    assert meta.generated_at == T0 and meta.last_error is None and meta.failures == 0


async def test_failures_count_up_and_a_success_clears_them(store: Store) -> None:
    await store.track(logins(["a"]), T0, PERIODS)
    assert await store.mark_failed(Login("a"), list(PERIODS), T0, "boom", T0 + timedelta(minutes=5)) == 1
    assert (
        await store.mark_failed(Login("a"), list(PERIODS), T0, "boom again", T0 + timedelta(minutes=10)) == 2
    )
    meta = (await store.report_meta(Login("a")))["all_time"]
    assert meta.last_error == "boom again" and meta.failures == 2
    assert meta.next_due_at == T0 + timedelta(minutes=10)
    await store.mark_generated(Login("a"), list(PERIODS), T0, T0 + timedelta(days=1))
    assert (await store.report_meta(Login("a")))["all_time"].failures == 0


async def test_collections_round_trip(store: Store) -> None:
    collection = Collection(
        login="Mona-Lisa",
        profile=Profile(login="Mona-Lisa", bio="<b>hi</b> 🚀"),
        pull_requests=[],
        repositories={},
        stars={},
        collected_at=T0,
    )
    assert await store.load_collection(Login("mona-lisa")) is None
    await store.save_collection(collection)
    assert await store.load_collection(Login("MONA-LISA")) == collection


async def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.sqlite3"
    first = SQLiteStore(path)
    await first.track(logins(["a"]), T0, PERIODS)
    await first.close()
    second = SQLiteStore(path)
    assert [u.login for u in await second.tracked()] == ["a"]
    assert await second.ping()
    await second.close()


def test_open_store_picks_redis_when_a_url_is_set(tmp_path: Path) -> None:
    sqlite = open_store(Settings(state_path=tmp_path / "s.sqlite3"))
    assert isinstance(sqlite, SQLiteStore)
    redis_store = open_store(Settings(redis_url="redis://127.0.0.1:1/0", stale_after_seconds=100))
    assert isinstance(redis_store, RedisStore) and redis_store.collection_ttl == 300


async def test_missing_flag_applies_to_tracked_users_only(store: Store) -> None:
    await store.track(logins(["Zoe"]), T0, PERIODS)
    await store.mark_missing(Login("ZOE"), True)
    await store.mark_missing(Login("ghost"), True)
    assert [(u.login, u.missing) for u in await store.tracked()] == [("zoe", True)]
    await store.save_collection(empty_collection("Zoe"))
    assert [(u.display, u.missing) for u in await store.tracked()] == [("Zoe", False)]


async def test_due_ties_order_by_login_then_period(store: Store) -> None:
    await store.track(logins(["a1", "a", "a-b"]), T0, ("1_year", "all_time"))
    due = await store.due(T0)
    assert [(m.login, m.period) for m in due] == [
        (login, period) for login in ("a", "a-b", "a1") for period in ("1_year", "all_time")
    ]


async def test_empty_calls_change_nothing(store: Store) -> None:
    """A pass with no named users still calls track() and friends with nothing."""
    await store.track([], T0, PERIODS)
    await store.mark_generated(Login("a"), [], T0, T0)
    assert (
        await store.tracked() == []
        and await store.due(T0) == []
        and await store.report_meta(Login("a")) == {}
    )


# --- claims: the primitives behind gitbrag.coordination.tracking -------------------------------


async def test_a_task_is_claimed_once_until_released_by_its_holder(store: Store) -> None:
    now = time.time()
    tid = "mona-lisa:1_year:abc"
    assert await store.claim_task(tid, "t1", {"worker_id": "w1"}, 60, 5, now) is ClaimOutcome.STARTED
    assert await store.claim_task(tid, "t2", {}, 60, 5, now) is ClaimOutcome.ACTIVE
    meta = await store.task_metadata(tid, now)
    assert meta == {"worker_id": "w1", "claim_token": "t1"}
    assert not await store.release_task(tid, "t2", now)  # not the holder
    assert await store.task_metadata(tid, now) is not None
    assert await store.release_task(tid, "t1", now)
    assert await store.task_metadata(tid, now) is None
    assert await store.claim_task(tid, "t2", {}, 60, 5, now) is ClaimOutcome.STARTED


async def test_the_per_user_limit_is_taken_with_the_claim(store: Store) -> None:
    now = time.time()
    assert await store.claim_task("zoe:1_year:x", "a", {}, 60, 2, now) is ClaimOutcome.STARTED
    assert await store.claim_task("zoe:2_years:x", "b", {}, 60, 2, now) is ClaimOutcome.STARTED
    assert await store.claim_task("zoe:5_years:x", "c", {}, 60, 2, now) is ClaimOutcome.LIMITED
    assert await store.claim_task("other:5_years:x", "d", {}, 60, 2, now) is ClaimOutcome.STARTED
    assert await store.active_tasks(Login("ZOE"), now) == ["zoe:1_year:x", "zoe:2_years:x"]
    await store.release_task("zoe:1_year:x", "a", now)
    assert await store.claim_task("zoe:5_years:x", "c", {}, 60, 2, now) is ClaimOutcome.STARTED


async def test_only_the_holder_renews(store: Store) -> None:
    now = time.time()
    await store.claim_task("zoe:1_year:x", "a", {}, 60, 1, now)
    assert await store.renew_claim("zoe:1_year:x", "a", 120, now)
    assert not await store.renew_claim("zoe:1_year:x", "b", 120, now)
    assert not await store.renew_claim("zoe:2_years:x", "a", 120, now)


async def test_redis_claim_keys_are_named_as_the_design_names_them(
    raw_redis: aioredis.Redis, redis_url: str
) -> None:
    store = RedisStore.from_url(redis_url)
    await store.claim_task("mona-lisa:1_year:abc123", "tok", {"username": "mona-lisa"}, 300, 1, 0)
    assert await raw_redis.get("task:report:mona-lisa:1_year:abc123") is not None
    assert 299_000 < await raw_redis.pttl("task:report:mona-lisa:1_year:abc123") <= 300_000
    assert await raw_redis.zrange("task:user:mona-lisa:active", 0, -1) == ["mona-lisa:1_year:abc123"]
    # The active set expires with its last claim, so idle users leave nothing behind.
    assert 299_000 < await raw_redis.pttl("task:user:mona-lisa:active") <= 300_000
    assert await store.renew_claim("mona-lisa:1_year:abc123", "tok", 900, 0)
    assert await raw_redis.pttl("task:report:mona-lisa:1_year:abc123") > 800_000
    assert await raw_redis.pttl("task:user:mona-lisa:active") > 800_000
    await store.close()


async def test_redis_collections_expire_and_the_stale_index_is_a_sorted_set(
    raw_redis: aioredis.Redis, redis_url: str
) -> None:
    store = RedisStore.from_url(redis_url, collection_ttl=7200)
    await store.track(logins(["Zoe"]), T0, ("1_year",))
    await store.save_collection(empty_collection("Zoe"))
    assert 7000 < await raw_redis.ttl("gitbrag:collection:{zoe}") <= 7200
    assert await raw_redis.zrange("{gitbrag}:due", 0, -1, withscores=True) == [("zoe 1_year", T0.timestamp())]
    await store.close()


async def test_redis_claims_lapse_by_server_time(redis_url: str) -> None:
    """A crashed worker's claim stops counting for the limit when its lease ends."""
    store = RedisStore.from_url(redis_url)
    # Leases long enough that a stalled machine still sees the first claim before it ends.
    assert await store.claim_task("zoe:1_year:x", "a", {}, 0.3, 1, 0) is ClaimOutcome.STARTED
    assert await store.claim_task("zoe:2_years:x", "b", {}, 60, 1, 0) is ClaimOutcome.LIMITED
    await asyncio.sleep(0.35)
    assert await store.task_metadata("zoe:1_year:x", 0) is None
    assert not await store.renew_claim("zoe:1_year:x", "a", 60, 0)
    assert await store.claim_task("zoe:2_years:x", "b", {}, 60, 1, 0) is ClaimOutcome.STARTED
    await store.close()


async def test_sqlite_claims_lapse_by_the_callers_clock(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    assert await store.claim_task("zoe:1_year:x", "a", {}, 10, 1, now=1000) is ClaimOutcome.STARTED
    assert await store.claim_task("zoe:2_years:x", "b", {}, 10, 1, now=1009) is ClaimOutcome.LIMITED
    assert await store.active_tasks(Login("zoe"), now=1010) == []
    assert not await store.renew_claim("zoe:1_year:x", "a", 10, now=1010)
    assert not await store.release_task("zoe:1_year:x", "a", now=1010)
    assert await store.claim_task("zoe:2_years:x", "b", {}, 10, 1, now=1010) is ClaimOutcome.STARTED
    await store.close()


# --- force-refresh cooldown: the hook's per-user throttle --------------------------------


async def test_a_cooldown_starts_once_and_reports_the_time_left(store: Store) -> None:
    now = time.time()
    assert await store.try_cooldown(Login("Zoe"), 60, now) is None
    left = await store.try_cooldown(Login("zoe"), 60, now + 1)  # logins are case-insensitive
    assert left is not None and 0 < left <= 60
    assert await store.try_cooldown(Login("other"), 60, now) is None


async def test_concurrent_cooldowns_of_one_user_start_exactly_once(store: Store) -> None:
    now = time.time()
    results = await asyncio.gather(*(store.try_cooldown(Login("zoe"), 60, now) for _ in range(50)))
    assert sum(r is None for r in results) == 1


async def test_sqlite_cooldowns_end_by_the_callers_clock(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    assert await store.try_cooldown(Login("zoe"), 10, now=1000) is None
    assert await store.try_cooldown(Login("zoe"), 10, now=1004) == 6
    assert await store.try_cooldown(Login("zoe"), 10, now=1010) is None  # over: a new one starts
    assert await store.try_cooldown(Login("zoe"), 10, now=1019) == 1
    await store.close()


async def test_redis_cooldowns_end_by_server_time(redis_url: str, raw_redis: aioredis.Redis) -> None:
    store = RedisStore.from_url(redis_url)
    assert await store.try_cooldown(Login("Zoe"), 0.3, 0) is None
    assert 0 < await raw_redis.pttl("gitbrag:cooldown:{zoe}") <= 300
    assert await store.try_cooldown(Login("zoe"), 0.3, 0) is not None
    await asyncio.sleep(0.35)
    assert await store.try_cooldown(Login("zoe"), 0.3, 0) is None
    await store.close()


async def test_star_histories_are_kept_once_per_repository_compactly(store: Store) -> None:
    """The deployment's star index: one record per repository, whatever spelling asks for it."""
    times = [T0 - timedelta(hours=h) for h in range(0, 5000, 7)]  # newest first
    history = StarHistory(
        repo="Octo-Org/Big", since=T0 - timedelta(days=400), starred_at=times, stargazer_count=900
    )
    assert await store.load_star_histories(["octo-org/big"]) == {}
    await store.save_star_histories([history])
    loaded = await store.load_star_histories(["octo-org/big", "octo-org/absent"])
    assert list(loaded) == ["octo-org/big"]
    assert loaded["octo-org/big"].model_dump() == history.model_dump()
    assert len(starcodec.encode(history)) < 4 * len(times)  # a few bytes a star, not ~30 as JSON
    newer = history.model_copy(update={"starred_at": [T0, *times], "stargazer_count": 901})
    await store.save_star_histories([newer])
    assert (await store.load_star_histories(["Octo-Org/Big"]))["Octo-Org/Big"].stargazer_count == 901


def test_a_star_record_still_held_is_not_decoded_again() -> None:
    """Every refresh near a giant loads its record: decoding ~100,000 star times each time
    was most of an unchanged pass's CPU. While one refresh holds the history, the others
    get that same (never changed in place) history; once none does, it is decoded again."""
    at = datetime(2026, 5, 1, tzinfo=UTC)
    history = StarHistory(
        repo="titan-labs/titan",
        since=at - timedelta(days=1825),
        starred_at=[at - timedelta(minutes=m) for m in range(1000)],
        stargazer_count=331_000,
    )
    record = starcodec.encode(history)
    held = starcodec.decode(record)
    assert starcodec.decode(bytes(record)) is held  # the same bytes, read again from the store
    changed = starcodec.encode(history.model_copy(update={"stargazer_count": 331_001}))
    assert starcodec.decode(changed).stargazer_count == 331_001  # other bytes: decoded afresh
    del held
    assert starcodec.decode(record) == history


def test_a_star_record_many_refreshes_need_stays_decoded_within_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A giant's record decoded a second time (by refreshes that did not overlap) is held, so
    the rest of the pass shares it; what is held stays within `RETAINED_STARS` star times,
    the one needed least often let go first, however recently: a pass visits its users in
    turn, and the giant most of them need must outlast a repository two of them share."""
    monkeypatch.setattr(starcodec, "RETAINED_STARS", 1500)
    monkeypatch.setattr(starcodec, "_retained", {})  # what earlier tests decoded is not counted
    monkeypatch.setattr(starcodec, "_needed", Counter())
    at = datetime(2026, 5, 1, tzinfo=UTC)

    def record(repo: str) -> bytes:
        times = [at - timedelta(minutes=m) for m in range(1000)]
        return starcodec.encode(StarHistory(repo=repo, since=at - timedelta(days=1825), starred_at=times))

    giant, other, third = record("held-test/giant"), record("held-test/other"), record("held-test/third")
    once = weakref.ref(starcodec.decode(giant))
    assert once() is None  # decoded once and dropped: nothing kept
    kept = weakref.ref(starcodec.decode(giant))  # decoded again: kept
    assert kept() is not None and starcodec.decode(giant) is kept()
    starcodec.decode(other)
    newer = weakref.ref(starcodec.decode(other))  # needed again, but less often than the giant
    assert newer() is None  # 2,000 star times would exceed the bound: the one needed least let go
    assert starcodec.decode(giant) is kept()
    for _ in range(4):
        starcodec.decode(third)
    assert weakref.ref(starcodec.decode(third))() is not None  # needed more often now than the giant
    assert kept() is None


# --- the boundary: a backend's errors leave the store as the store's own --------------------


async def test_a_redis_that_is_down_raises_store_unavailable_naming_the_backend_error() -> None:
    """Callers fail open on `StoreUnavailable` without knowing redis-py's exceptions; logs still
    say what Redis did (`error_name`: the backend error behind it)."""
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            await store.tracked()
        assert error_name(raised.value) == "ConnectionError"
        assert not await store.ping()  # ping answers, it does not raise
    finally:
        await store.close()


async def test_a_redis_that_refuses_a_command_raises_store_error_not_unavailable(
    raw_redis: aioredis.Redis, redis_url: str
) -> None:
    """A refusal that is no outage (here: the key holds another type) is a `StoreError` that
    callers do not fail open on."""
    await raw_redis.set("{gitbrag}:users", "not a hash")
    store = RedisStore.from_url(redis_url)
    try:
        with pytest.raises(StoreError) as raised:
            await store.tracked()
        assert not isinstance(raised.value, StoreUnavailable)
        assert error_name(raised.value) == "ResponseError"
    finally:
        await store.close()


async def test_an_sqlite_file_that_refuses_writes_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    SQLiteStore(path)  # created, then another process holds its write lock
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    store = SQLiteStore(path)
    store._conn.execute("PRAGMA busy_timeout=0")
    try:
        with pytest.raises(StoreError, match="locked"):
            await store.track(logins(["zoe"]), T0, PERIODS)
    finally:
        blocker.close()
        await store.close()


def test_an_unusable_state_path_raises_store_error(tmp_path: Path) -> None:
    (tmp_path / "state.sqlite3").write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError):
        SQLiteStore(tmp_path / "state.sqlite3")


async def test_a_refresh_s_bookkeeping_fails_open_and_logs_the_outage_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the store down, a refresh reads "nothing known" and its writes are dropped; the
    outage is one warning naming what Redis did, not one per call."""
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1)
    kept = FailOpenStore(store, TaskTracker(store).guard)
    try:
        assert await kept.report_meta("zoe") == {}
        assert await kept.load_collection("zoe") is None
        assert await kept.load_star_histories(["octo-org/octo-repo"]) == {}
        assert await kept.mark_failed("zoe", ["1_year"], T0, "GitHub is down", T0) == 0
        await kept.mark_generated("zoe", ["1_year"], T0, T0)
        await kept.save_collection(empty_collection("zoe"))
        await kept.mark_missing("zoe", True)
    finally:
        await store.close()
    outages = [r for r in caplog.records if "fails open" in r.getMessage()]
    assert len(outages) == 1
    assert getattr(outages[0], "error", None) == "ConnectionError"
