"""Wall-clock jumps: a clock set a day ahead and back, or an hour behind, freezes nothing.

Real runs under Debian's `faketime` (`DONT_FAKE_MONOTONIC=1`: only the wall clock jumps, as
when an operator or NTP sets it; libfaketime's faked monotonic clock also stalls Python's
thread waits) and stores on an injected clock. What used to happen: after a run with the
clock a day ahead every later run refused to publish ("generated at ... is newer", exit 0,
even with `--force`); with the clock an hour behind the hook answered `retry-after: 3653`.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from gitbrag.coordination import RedisStore, SQLiteStore, Store
from gitbrag.coordination.base import ClaimOutcome
from gitbrag.coordination.tracking import TaskTracker
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.models import PERIODS, Collection, Login, Period, Profile, Report, logins
from gitbrag.publish.publisher import Publisher, SupersededError
from gitbrag.report.build import build_reports
from tests.doors.test_hook import start_hook
from tests.support import REFRESH, clean_env, summary

USER = "steady-sam"
COOLDOWN = 60
TTL = 300


@pytest.fixture(scope="module")
def gh() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(shared_dataset()) as server:
        yield server


def run(cwd: Path, gh: FakeGitHubServer, offset: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    """`gitbrag-refresh --once ARGS` with the wall clock moved by `offset` (faketime syntax)."""
    env = clean_env(GITHUB_TOKEN="ghp_clock_token", GITBRAG_GITHUB_API_URL=gh.url, GITBRAG_USERS=USER)
    prefix = ["faketime", "-f", offset] if offset else []
    return subprocess.run(
        [*prefix, REFRESH, "--once", *args],
        cwd=cwd,
        env=env | {"DONT_FAKE_MONOTONIC": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def published(cwd: Path) -> Report:
    return Report.model_validate_json((cwd / "site" / USER / "1_year" / "report.json").read_bytes())


def test_a_day_ahead_then_back_the_next_scheduled_run_publishes_again(
    tmp_path: Path, gh: FakeGitHubServer
) -> None:
    ahead = run(tmp_path, gh, "+1d", "--user", USER)
    assert summary(ahead) == "refreshed=4 skipped=0 failed=0", ahead.stderr[-2000:]
    tomorrow = published(tmp_path)
    assert tomorrow.generated_at > datetime.now(UTC) + timedelta(hours=23)

    back = run(tmp_path, gh, None)  # no --user, no --force: the stale index decides
    assert back.returncode == 0, back.stderr[-2000:]
    assert summary(back) == "refreshed=4 skipped=0 failed=0", back.stderr[-2000:]
    today = published(tmp_path)
    assert today.generated_at < tomorrow.generated_at  # replaced, though "older" by the wall clock
    assert today.generation == tomorrow.generation + 1
    assert "dated in the future" in back.stderr


@pytest.mark.parametrize(
    ("first", "second"), [("+1d", None), (None, "-1h")], ids=["day-ahead", "hour-behind"]
)
def test_force_replaces_a_report_dated_in_the_future_with_a_warning(
    tmp_path: Path, gh: FakeGitHubServer, first: str | None, second: str | None
) -> None:
    before = run(tmp_path, gh, first, "--user", USER)
    assert summary(before) == "refreshed=4 skipped=0 failed=0", before.stderr[-2000:]
    forced = run(tmp_path, gh, second, "--force")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert summary(forced) == "refreshed=4 skipped=0 failed=0", forced.stderr[-2000:]
    assert "replacing a report dated in the future" in forced.stderr
    assert "superseded" not in forced.stderr
    for period in PERIODS:
        report = Report.model_validate_json((tmp_path / "site" / USER / period / "report.json").read_bytes())
        assert report.generation == 2


# --- the fence: generation numbers, not wall times ------------------------------------------


def reports(generated_at: datetime, generation: int) -> dict[Period, Report]:
    collection = Collection(
        login=USER, profile=Profile(login=USER), pull_requests=[], repositories={}, stars={},
        collected_at=generated_at,
    )  # fmt: skip
    built = build_reports(collection, until=generated_at, generated_at=generated_at)
    return {p: r.model_copy(update={"generation": generation}) for p, r in built.items()}


def test_the_fence_compares_generations_not_dates(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    publisher = Publisher(tmp_path / "site")
    now = datetime.now(UTC)
    publisher.publish_user(reports(now + timedelta(days=1), 1))
    publisher.publish_user(reports(now, 2))  # an earlier date, a later generation
    current = publisher.read_report(USER, "1_year")
    assert current is not None and current.generation == 2
    assert "replacing a report dated in the future" in caplog.text
    for stale in (1, 2):  # a lower number, or the same one (both started from generation 1's page)
        with pytest.raises(SupersededError):
            publisher.publish_user(reports(now + timedelta(days=2), stale))


# --- cooldowns and leases on a clock set back -------------------------------------------------


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        opened: Store = SQLiteStore(tmp_path / "state.sqlite3")
    else:
        opened = RedisStore.from_url(request.getfixturevalue("redis_url"))
    yield opened
    await opened.close()


async def test_a_cooldown_never_says_more_than_its_setting_after_the_clock_goes_back(store: Store) -> None:
    now = time.time()
    assert await store.try_cooldown(Login(USER), COOLDOWN, now) is None
    left = await store.try_cooldown(Login(USER), COOLDOWN, now - 3600)  # the clock is an hour behind
    assert left is not None and 0 < left <= COOLDOWN
    if isinstance(store, SQLiteStore):  # Redis's TTL runs on the server: nothing to wait for here
        assert await store.try_cooldown(Login(USER), COOLDOWN, now - 3600 + COOLDOWN + 1) is None


def test_the_hook_answers_retry_after_within_the_cooldown_after_the_clock_goes_back(
    tmp_path: Path, gh: FakeGitHubServer
) -> None:
    hook = start_hook(tmp_path, gh, force_cooldown_seconds=COOLDOWN, github_token=SecretStr("t"))
    try:
        assert httpx.post(hook.url + f"/refresh/{USER}").status_code == 202
        hook.call(lambda r: r.drain())
        hook.clock.advance(-3600)
        again = httpx.post(hook.url + f"/refresh/{USER}")
        assert again.status_code == 429
        assert 1 <= int(again.headers["retry-after"]) <= COOLDOWN
        hook.clock.advance(COOLDOWN)
        assert httpx.post(hook.url + f"/refresh/{USER}").status_code == 202  # not stuck for an hour
        hook.call(lambda r: r.drain())
    finally:
        hook.__exit__()


async def test_a_lease_taken_while_the_clock_was_ahead_lasts_no_longer_than_its_ttl(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.sqlite3")
    clock = [time.time() + 86400]  # a day ahead
    crashed = TaskTracker(store, worker_id="ahead", ttl=TTL, clock=lambda: clock[0])
    other = TaskTracker(store, worker_id="other", ttl=TTL, clock=lambda: clock[0])
    try:
        assert await crashed.try_claim(f"{USER}:1_year:x") is not None  # then the worker dies
        clock[0] -= 86400  # the clock is set right
        assert await other.try_claim(f"{USER}:1_year:x") is None  # still its lease...
        clock[0] += TTL + 1
        assert await other.try_claim(f"{USER}:1_year:x") is not None  # ...but not a day of it
        outcome = await store.claim_task(f"{USER}:5_years:x", "tok", {}, TTL, 1, clock[0])
        assert outcome is ClaimOutcome.LIMITED  # the live claim still counts for the user
    finally:
        await store.close()


async def test_a_report_attempted_in_the_future_is_due_at_once(tmp_path: Path) -> None:
    """SQLite's stale index: a day-ahead run's next-due time would keep the report fresh for two days."""
    store = SQLiteStore(tmp_path / "state.sqlite3")
    try:
        now = datetime.now(UTC)
        ahead = now + timedelta(days=1)
        await store.track(logins([USER]), ahead, PERIODS)
        await store.mark_generated(Login(USER), list(PERIODS), ahead, ahead + timedelta(days=1))
        assert {m.period for m in await store.due(now)} == set(PERIODS)
        metas = await store.report_meta(Login(USER))
        assert all(m.next_due_at <= now for m in metas.values())  # the refresher's own check agrees
        await store.mark_generated(Login(USER), list(PERIODS), now, now + timedelta(days=1))
        assert await store.due(now) == []  # once refreshed, it is fresh again
    finally:
        await store.close()
