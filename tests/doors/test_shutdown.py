"""SIGTERM and SIGINT stop a refresher promptly, even one resting for an hour on a spent
rate limit: the rest is interrupted, no claim is left behind to block other refreshers,
nothing is recorded as a failure, and no new claim is taken once stopping.

The service and `gitbrag-refresh --once` run as real processes against the fake GitHub,
whose GraphQL budget is set to zero so the first generation rests until the budget's reset
an hour away. Waits follow the processes' own log lines, not the clock.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gitbrag.coordination import open_store
from gitbrag.doors.shutdown import Shutdown, ShuttingDown
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.models import PERIODS, Login
from gitbrag.settings import Settings
from tests.conftest import free_port
from tests.support import REFRESH, clean_env, refresh, summary, wait_for

RESTING = "budget is spent; waiting"  # the client's log line when it rests on a spent limit
FIRST, QUEUED = "steady-sam", "zero-zoe"  # one generation at a time: the second waits its turn
STOP_WITHIN_S = 10  # the rest is an hour; the stop takes well under a second


@pytest.fixture
def fake() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(shared_dataset()) as server:
        # One point: the pass's lookup of its new names (100 a query, issue 25); then the first
        # generation finds the budget spent and rests on it.
        httpx.post(server.url + "/_fake/limits", json={"graphql": 1}).raise_for_status()
        yield server


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The store's settings: the embedded SQLite file, or the test session's Redis."""
    if request.param == "redis":
        return {"GITBRAG_REDIS_URL": request.getfixturevalue("redis_url")}
    return {"GITBRAG_STATE_PATH": str(tmp_path / "state.sqlite3")}


def env_for(fake: FakeGitHubServer, backend: dict[str, str]) -> dict[str, str]:
    return clean_env(
        GITHUB_TOKEN="t",
        GITBRAG_GITHUB_API_URL=fake.url,
        GITBRAG_USERS=f"{FIRST},{QUEUED}",
        GITBRAG_MAX_CONCURRENT="1",
        GITBRAG_HOOK_PORT=str(free_port()),
        **backend,
    )


def store_state(backend: dict[str, str]) -> dict[str, tuple[list[str], list[int], list[str | None]]]:
    """Per user: live claims, failure counts and last errors of its reports, as stored."""

    async def read() -> dict[str, tuple[list[str], list[int], list[str | None]]]:
        settings = Settings(
            state_path=Path(backend.get("GITBRAG_STATE_PATH", "unused.sqlite3")),
            redis_url=backend.get("GITBRAG_REDIS_URL"),
        )
        store = open_store(settings)
        try:
            state = {}
            for login in (FIRST, QUEUED):
                metas = await store.report_meta(Login(login))
                claims = await store.active_tasks(Login(login), time.time())
                failures = [m.failures for m in metas.values()]
                state[login] = (claims, failures, [m.last_error for m in metas.values()])
            return state
        finally:
            await store.close()

    return asyncio.run(read())


def assert_nothing_held_or_recorded(backend: dict[str, str]) -> None:
    nothing = ([], [0] * len(PERIODS), [None] * len(PERIODS))
    assert store_state(backend) == {FIRST: nothing, QUEUED: nothing}


def heal_and_refresh(fake: FakeGitHubServer, cwd: Path, env: dict[str, str]) -> None:
    """With the budget back, a new cron run claims and refreshes both users at once."""
    httpx.post(fake.url + "/_fake/limits", json={"graphql": 5000}).raise_for_status()
    httpx.post(fake.url + "/_fake/reset").raise_for_status()
    again = refresh(cwd, env=env)
    assert summary(again) == "refreshed=8 skipped=0 failed=0", again.stderr[-3000:]


def searched(fake: FakeGitHubServer) -> set[str]:
    return set(httpx.get(fake.url + "/_fake/stats").json()["searches_by_author"])


def test_sigterm_stops_a_service_resting_on_a_rate_limit_and_leaves_no_claim(
    tmp_path: Path, fake: FakeGitHubServer, backend: dict[str, str]
) -> None:
    env = env_for(fake, backend)
    log = tmp_path / "service.log"
    with log.open("w") as sink:
        service = subprocess.Popen([REFRESH], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        wait_for(lambda: RESTING in log.read_text(), 60, "the service to rest on the spent rate limit")
        assert store_state(backend)[FIRST][0], "the resting generation holds its claim"
        service.send_signal(signal.SIGTERM)
        code = service.wait(STOP_WITHIN_S)
    finally:
        service.kill()
        service.wait()
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "generation interrupted by shutdown" in text and "service stopped" in text
    assert "refresh failed" not in text
    # The resting claim was released, nothing was recorded against either user, and the
    # queued user was never claimed (GitHub never saw a search for it).
    assert_nothing_held_or_recorded(backend)
    assert searched(fake) <= {FIRST}  # FIRST's search waits for the reset the lookup's answer showed
    heal_and_refresh(fake, tmp_path, env)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_a_cron_run_resting_on_a_rate_limit(
    tmp_path: Path, fake: FakeGitHubServer, sig: signal.Signals
) -> None:
    backend = {"GITBRAG_STATE_PATH": str(tmp_path / "state.sqlite3")}
    env = env_for(fake, backend)
    err = tmp_path / "once.log"
    with err.open("w") as sink:
        once = subprocess.Popen(
            [REFRESH, "--once"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=sink, text=True
        )
    try:
        wait_for(lambda: RESTING in err.read_text(), 60, "the run to rest on the spent rate limit")
        once.send_signal(sig)
        out, _ = once.communicate(timeout=STOP_WITHIN_S)
    finally:
        once.kill()
        once.wait()
    text = err.read_text()
    assert once.returncode == 128 + sig, text[-3000:]  # 143 for SIGTERM, 130 for SIGINT
    assert out.strip().splitlines()[-1] == "refreshed=0 skipped=8 failed=0"
    assert f"stopped by {sig.name}; unfinished reports are left for the next run" in text
    assert "Traceback" not in text
    assert_nothing_held_or_recorded(backend)
    heal_and_refresh(fake, tmp_path, env)


async def test_a_shutdown_cuts_a_sleep_short_and_only_then() -> None:
    shutdown = Shutdown()
    await shutdown.sleep(0.01)  # no stop requested: an ordinary sleep
    long_rest = asyncio.create_task(shutdown.sleep(3600))
    await asyncio.sleep(0)
    shutdown.request(signal.SIGTERM)
    with pytest.raises(ShuttingDown):
        await asyncio.wait_for(long_rest, 5)
    with pytest.raises(ShuttingDown):  # and every later wait ends at once too
        await shutdown.sleep(3600)
    assert shutdown.signum == signal.SIGTERM
