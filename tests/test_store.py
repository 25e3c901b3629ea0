"""The store contract, run against every backend (SQLite today; Redis joins with coordination)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitbrag.models import PERIODS, Collection, Profile
from gitbrag.store import SQLiteStore, Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = SQLiteStore(tmp_path / "state.sqlite3")
    yield s
    await s.close()


async def test_tracking_is_case_insensitive_and_keeps_github_spelling(store: Store) -> None:
    await store.track(["Mona-Lisa", "mona-lisa", "zoe"], T0, PERIODS)
    users = await store.tracked()
    assert [u.login for u in users] == ["mona-lisa", "zoe"]
    assert users[0].display == "Mona-Lisa"


async def test_new_reports_are_due_at_once_oldest_first(store: Store) -> None:
    await store.track(["a"], T0, PERIODS)
    await store.track(["b"], T0 + timedelta(seconds=5), PERIODS)
    due = await store.due(T0 + timedelta(seconds=10))
    assert [(m.login, m.period) for m in due][:4] == [("a", p) for p in PERIODS]
    assert {m.login for m in due[4:]} == {"b"}
    assert await store.due(T0 - timedelta(seconds=1)) == []
    assert len(await store.due(T0 + timedelta(seconds=10), limit=3)) == 3


async def test_generated_reports_leave_the_due_list_until_stale(store: Store) -> None:
    await store.track(["a"], T0, PERIODS)
    await store.mark_generated("A", list(PERIODS), T0, T0 + timedelta(days=1))
    assert await store.due(T0 + timedelta(hours=23)) == []
    assert len(await store.due(T0 + timedelta(days=1))) == len(PERIODS)
    meta = (await store.report_meta("a"))["1_year"]
    assert meta.generated_at == T0 and meta.last_error is None and meta.failures == 0


async def test_failures_count_up_and_a_success_clears_them(store: Store) -> None:
    await store.track(["a"], T0, PERIODS)
    assert await store.mark_failed("a", list(PERIODS), T0, "boom", T0 + timedelta(minutes=5)) == 1
    assert await store.mark_failed("a", list(PERIODS), T0, "boom again", T0 + timedelta(minutes=10)) == 2
    meta = (await store.report_meta("a"))["all_time"]
    assert meta.last_error == "boom again" and meta.failures == 2
    assert meta.next_due_at == T0 + timedelta(minutes=10)
    await store.mark_generated("a", list(PERIODS), T0, T0 + timedelta(days=1))
    assert (await store.report_meta("a"))["all_time"].failures == 0


async def test_collections_round_trip(store: Store) -> None:
    collection = Collection(
        login="Mona-Lisa", profile=Profile(login="Mona-Lisa", bio="<b>hi</b> 🚀"),
        pull_requests=[], repositories={}, stars={}, collected_at=T0,
    )
    assert await store.load_collection("mona-lisa") is None
    await store.save_collection(collection)
    assert await store.load_collection("MONA-LISA") == collection


async def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.sqlite3"
    first = SQLiteStore(path)
    await first.track(["a"], T0, PERIODS)
    await first.close()
    second = SQLiteStore(path)
    assert [u.login for u in await second.tracked()] == ["a"]
    assert await second.ping()
    await second.close()
