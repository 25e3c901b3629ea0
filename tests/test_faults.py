"""Faults survived: GitHub's bad days, a slow or missing Redis, a full or read-only disk.

Each test injects one fault (mostly through the fake GitHub's switches) into a real
`Refresher` talking to the fake over HTTP and checks what a user would notice: the old
pages stay byte for byte, the error is in the report's status (the store and the hook's
`GET /status/<user>`, without token or trace), the report is retried with growing
backoff rather than every pass, and the other users of the same pass are unaffected.
Waits are injected (`FakeTime`): a 60-second `Retry-After` costs no real time.

Redis restarted with its data gone is `tests/coordination/test_outage.py`; kill -9 is
`tests/test_kill.py` and `tests/test_pipeline.py`.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from gitbrag.coordination import RedisStore, SQLiteStore, Store
from gitbrag.doors.hook import HookServer, create_app
from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.faults import FaultConfig
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.github.client import GitHubClient
from gitbrag.models import PERIODS, Login, PrivateMode, Report
from gitbrag.publish.publisher import Publisher
from gitbrag.refresh import RETRY_BASE_SECONDS, Refresher, UserOutcome
from gitbrag.settings import Settings
from tests.conftest import RedisServer, free_port
from tests.support import REFRESH, assert_site_whole, clean_env, wait_for

TOKEN = "ghp_fault_token_5f3a9c1e7b"
OTHER_TOKEN = "ghp_fault_token_second_0d2b4"
VICTIM, BYSTANDER = "steady-sam", "zero-zoe"  # due-order ties run by login: victim first
STALE_AFTER = timedelta(hours=6)


class FakeTime:
    """The GitHub client's clock and sleep: a wait advances the clock instead of the test."""

    def __init__(self) -> None:
        self.now = time.time()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class Rig:
    gh: FakeGitHubServer
    store: Store
    client: GitHubClient
    refresher: Refresher
    site: Path
    waits: FakeTime
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def faults(self, **changes: float) -> None:
        self.gh.app_state.faults.update(changes)

    async def run(self, *refresh: str, failing: dict[str, float] | None = None) -> dict[str, UserOutcome]:
        """One pass; with `failing`, those fault switches are on while the victim is refreshed
        (first: ties in due order go by login) and off again before anyone else is."""
        if failing:
            self.faults(**failing)

        def heal(outcome: UserOutcome) -> None:
            if failing and outcome.login == VICTIM:
                self.gh.app_state.faults.config = FaultConfig()
                self.faults(seed=0)

        result = await self.refresher.run_pass(refresh=refresh, on_done=heal)
        return {o.login: o for o in result.outcomes}


@asynccontextmanager
async def rig(
    tmp_path: Path,
    *,
    dataset_owned: bool = False,
    tokens: tuple[str, ...] = (TOKEN,),
    attempts: int = 3,
    http_timeout: float = 5.0,
    store: Store | None = None,
    private: PrivateMode = "off",
) -> AsyncIterator[Rig]:
    """A refresher (one generation at a time, so faults hit users in the order named) over
    the fake GitHub; `dataset_owned` for tests that delete users or repositories."""
    dataset = build_dataset() if dataset_owned else shared_dataset()
    waits = FakeTime()
    with FakeGitHubServer(dataset) as gh:
        store = store or SQLiteStore(tmp_path / "state.sqlite3")
        client = GitHubClient(
            list(tokens),
            gh.url,
            gh.url + "/graphql",
            transient_attempts=attempts,
            timeout=http_timeout,
            sleep=waits.sleep,
            clock=waits,
        )
        async with client:
            the_rig: Rig
            refresher = Refresher(
                store=store,
                client=client,
                publisher=Publisher(tmp_path / "site"),
                stale_after=STALE_AFTER,
                max_concurrent=1,
                clock=lambda: the_rig.now,
                private=private,
            )
            the_rig = Rig(gh, store, client, refresher, tmp_path / "site", waits)
            try:
                yield the_rig
            finally:
                await store.close()


def pages(site: Path, login: str) -> dict[str, bytes]:
    """Every file of a user's part of the site, by relative path."""
    return {
        str(p.relative_to(site)): p.read_bytes()
        for p in sorted((site / login).rglob("*"))
        if p.is_file() and not p.name.endswith(".tmp")
    }


@asynccontextmanager
async def hook(r: Rig) -> AsyncIterator[str]:
    """The service's hook over real HTTP, in this event loop, on the rig's refresher."""
    settings = Settings(_env_file=None, hook_port=0)
    server = HookServer(create_app(r.refresher, settings, clock=lambda: r.now.timestamp()), "127.0.0.1", 0)
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


async def status_of(r: Rig, login: str) -> tuple[dict[str, Any], str]:
    async with hook(r) as url, httpx.AsyncClient() as http:
        response = await http.get(f"{url}/status/{login}")
    assert response.status_code == 200
    return response.json(), response.text


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (TOKEN, OTHER_TOKEN):
            assert secret not in text
        assert "Traceback" not in text


# --- transient faults: retried, then the refresh succeeds ------------------------------------


@pytest.mark.parametrize(
    ("switch", "kind"),
    [("error_next", "error"), ("timeout_next", "timeout"), ("malformed_next", "malformed")],
)
async def test_bursts_of_transient_faults_are_retried_and_the_refresh_succeeds(
    tmp_path: Path, switch: str, kind: str
) -> None:
    async with rig(tmp_path, http_timeout=0.5) as r:
        r.faults(**{switch: 2, "timeout_s": 3})
        outcomes = await r.run(VICTIM)
        assert outcomes[VICTIM].status == "refreshed"
        assert r.gh.app_state.stats.faults[kind] == 2
        assert r.client.usage.retries >= 2
        assert [s for s in r.waits.sleeps if s > 0]  # it backed off between attempts
        assert Report.model_validate_json((r.site / VICTIM / "1_year" / "report.json").read_bytes())
        assert all(m.last_error is None for m in (await r.store.report_meta(Login(VICTIM))).values())


async def test_a_secondary_limit_is_waited_out_as_retry_after_says(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.faults(secondary_next=2, retry_after_s=90)
        started = time.monotonic()
        outcomes = await r.run(VICTIM)
        assert outcomes[VICTIM].status == "refreshed"
        assert r.gh.app_state.stats.faults["secondary"] == 2
        assert sum(1 for s in r.waits.sleeps if 89 <= s <= 91) == 2  # Retry-After honoured, twice
        assert time.monotonic() - started < 90  # the waits were the injected clock's, not real


# --- persistent faults: the old page stays, the error is recorded, backoff --------------------

# How each fault is played for the victim alone (they run first, one at a time), and a
# fragment of the error that must reach the status.
PERSISTENT: dict[str, tuple[dict[str, float], str]] = {
    "502/503": ({"error_rate": 1}, "unavailable: HTTP 50"),
    "timeout": ({"timeout_rate": 1, "timeout_s": 3}, "unavailable: ReadTimeout"),
    "malformed JSON": ({"malformed_rate": 1}, "malformed JSON"),
    "endless secondary limit": ({"secondary_rate": 1, "retry_after_s": 60}, "kept rate-limiting"),
}


@pytest.mark.parametrize("fault", list(PERSISTENT))
async def test_a_failed_refresh_keeps_the_old_page_records_the_error_and_backs_off(
    tmp_path: Path, fault: str
) -> None:
    switches, message = PERSISTENT[fault]
    async with rig(tmp_path, http_timeout=0.3) as r:
        assert {o.status for o in (await r.run(VICTIM, BYSTANDER)).values()} == {"refreshed"}
        old = pages(r.site, VICTIM)

        for failures in (1, 2):
            r.advance(STALE_AFTER + timedelta(minutes=1))  # both users are due
            outcomes = await r.run(failing=switches)
            assert outcomes[VICTIM].status == "failed", outcomes[VICTIM]
            assert outcomes[BYSTANDER].status == "refreshed"  # the same pass, unaffected
            assert pages(r.site, VICTIM) == old  # byte for byte
            metas = await r.store.report_meta(Login(VICTIM))
            for meta in metas.values():
                assert meta.last_error and message in meta.last_error, meta.last_error
                assert meta.failures == failures
                # 5 minutes, then 10: retried with growing backoff.
                assert meta.next_due_at - r.now == timedelta(seconds=RETRY_BASE_SECONDS * 2 ** (failures - 1))
            # Not retried before it is due, however often passes run.
            r.advance(timedelta(minutes=4))
            assert VICTIM not in await r.run()

        body, text = await status_of(r, VICTIM)
        assert set(body["periods"]) == set(PERIODS)
        assert all(message in p["last_error"] for p in body["periods"].values())
        assert_no_secret(text, *(m.last_error or "" for m in metas.values()))

        # The fault is over: the next due pass brings the report back.
        r.advance(timedelta(minutes=10))
        assert (await r.run())[VICTIM].status == "refreshed"
        assert pages(r.site, VICTIM) != old
        assert all(
            m.last_error is None and m.failures == 0
            for m in (await r.store.report_meta(Login(VICTIM))).values()
        )


async def test_a_revoked_token_is_a_clear_error_and_every_old_page_stays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(tmp_path, tokens=(TOKEN, OTHER_TOKEN)) as r:
        await r.run(VICTIM, BYSTANDER)
        old = {u: pages(r.site, u) for u in (VICTIM, BYSTANDER)}
        r.gh.app_state.config.revoked_tokens = frozenset({TOKEN, OTHER_TOKEN})
        r.advance(STALE_AFTER)
        outcomes = await r.run()
        for login in (VICTIM, BYSTANDER):
            assert outcomes[login].status == "failed"
            assert "rejected the token" in (outcomes[login].error or "")
            assert "401" in (outcomes[login].error or "")
            assert pages(r.site, login) == old[login]
        assert r.client.usage.retries == 0  # a 401 is not retried: waiting cannot help
        _, text = await status_of(r, VICTIM)
        assert "rejected the token" in text
        assert_no_secret(text, caplog.text, *(o.error or "" for o in outcomes.values()))


def test_a_revoked_token_stops_a_cron_run_at_once_and_touches_nothing(tmp_path: Path) -> None:
    with FakeGitHubServer(shared_dataset()) as gh:
        env = clean_env(GITHUB_TOKEN=TOKEN, GITBRAG_GITHUB_API_URL=gh.url)
        site = tmp_path / "site"
        (site / "kept").mkdir(parents=True)
        (site / "kept" / "index.html").write_text("<html>old</html>")
        gh.app_state.config.revoked_tokens = frozenset({TOKEN})
        result = subprocess.run(
            [REFRESH, "--once", "--user", VICTIM], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("gitbrag-refresh: GitHub rejected the token")
    assert_no_secret(result.stdout, result.stderr)
    assert [p.name for p in site.rglob("*") if p.is_file()] == ["index.html"]


async def test_a_user_deleted_between_refreshes_keeps_the_page_and_is_not_retried_every_pass(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, dataset_owned=True) as r:
        await r.run(VICTIM, BYSTANDER)
        old = pages(r.site, VICTIM)
        r.gh.app_state.remove_user(VICTIM)
        r.advance(STALE_AFTER)
        outcomes = await r.run()
        assert outcomes[VICTIM].status == "failed"
        assert outcomes[BYSTANDER].status == "refreshed"
        assert pages(r.site, VICTIM) == old
        metas = await r.store.report_meta(Login(VICTIM))
        assert {m.last_error for m in metas.values()} == {"GitHub user not found"}
        assert all(m.next_due_at == r.now + STALE_AFTER for m in metas.values())  # a stale period away
        assert [u.missing for u in await r.store.tracked() if u.login == VICTIM] == [True]
        body, _ = await status_of(r, VICTIM)
        assert body["periods"]["1_year"]["last_error"] == "GitHub user not found"

        asked = r.gh.app_state.stats.searches_by_author[VICTIM]
        for _ in range(5):  # passes every hour: nobody asks GitHub about the deleted user
            r.advance(timedelta(hours=1))
            assert VICTIM not in await r.run()
        assert r.gh.app_state.stats.searches_by_author[VICTIM] == asked


async def test_a_deleted_repository_leaves_the_report_as_github_no_longer_shows_it(tmp_path: Path) -> None:
    """GitHub deletes a repository's pull requests with it, so the report drops them too
    (the next refresh collects in full rather than keep what GitHub no longer has)."""
    gone = "star-rocket/launchpad"
    async with rig(tmp_path, dataset_owned=True) as r:
        await r.run(VICTIM)
        before = Report.model_validate_json((r.site / VICTIM / "all_time" / "report.json").read_bytes())
        assert gone in {repo.name for repo in before.repositories}
        r.gh.app_state.remove_repo(gone)
        r.advance(STALE_AFTER)
        assert (await r.run())[VICTIM].status == "refreshed"
        for period in PERIODS:
            report = Report.model_validate_json((r.site / VICTIM / period / "report.json").read_bytes())
            assert gone not in {repo.name for repo in report.repositories}
            assert "launchpad" not in (r.site / VICTIM / period / "index.html").read_text()
        after = Report.model_validate_json((r.site / VICTIM / "all_time" / "report.json").read_bytes())
        assert after.total_prs == before.total_prs - next(
            repo.pr_count for repo in before.repositories if repo.name == gone
        )
        kept = await r.store.load_collection(Login(VICTIM))
        assert kept is not None and all(p.repo != gone for p in kept.pull_requests)


# --- the disk ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
async def test_a_full_or_read_only_site_fails_that_report_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    async with rig(tmp_path) as r:
        await r.run(VICTIM, BYSTANDER)
        old = pages(r.site, VICTIM)
        victim_dir = str(r.site / VICTIM) + os.sep
        real_replace = os.replace

        def replace(src: Any, dst: Any, **kwargs: Any) -> None:
            folder = kwargs.get("dst_dir_fd")  # the publisher renames inside an open folder
            target = str(dst) if folder is None else os.path.join(os.readlink(f"/proc/self/fd/{folder}"), dst)
            if target.startswith(victim_dir):
                raise OSError(code, os.strerror(code))
            real_replace(src, dst, **kwargs)

        monkeypatch.setattr(os, "replace", replace)
        r.advance(STALE_AFTER)
        outcomes = await r.run()  # the pass itself must not crash
        assert outcomes[VICTIM].status == "failed"
        assert outcomes[VICTIM].error == f"cannot write the site: {os.strerror(code)}"
        assert outcomes[BYSTANDER].status == "refreshed"
        assert pages(r.site, VICTIM) == old
        assert not list((r.site / VICTIM).rglob("*.tmp"))  # no temporary file left behind
        meta = (await r.store.report_meta(Login(VICTIM)))["1_year"]
        assert meta.last_error == outcomes[VICTIM].error
        assert meta.next_due_at == r.now + timedelta(seconds=RETRY_BASE_SECONDS)
        # The first pass's search, and the due pass's change check (`github.changes`): the
        # refresh itself failed before asking GitHub anything.
        assert r.gh.app_state.stats.searches_by_author[VICTIM] == 2

        monkeypatch.setattr(os, "replace", real_replace)  # space freed
        r.advance(timedelta(minutes=6))
        assert (await r.run())[VICTIM].status == "refreshed"
        assert_site_whole(r.site)


# --- Redis --------------------------------------------------------------------------------


async def test_a_slow_redis_times_out_and_the_pass_still_publishes(
    tmp_path: Path, redis_server_factory: type[RedisServer]
) -> None:
    """A Redis that stops answering (SIGSTOP: connections accepted, every command waits) must
    not hang the pass: store calls time out, tracking fails open and the pages still go out.
    Redis answers again only after the pass returned, so the pass cannot have waited for it."""
    server = redis_server_factory().start()
    store = RedisStore.from_url(server.url, socket_timeout=0.1)
    async with rig(tmp_path, store=store) as r:
        await r.run(VICTIM)
        # An unchanged refresh rewrites only the user's small `generated.json` (issue 12):
        # that it changed is the proof the pass published.
        before = (r.site / VICTIM / "generated.json").read_bytes()
        server.freeze()
        try:
            r.advance(timedelta(minutes=1))
            # A bound only against hanging the suite for good, not a measure of speed.
            outcomes = await asyncio.wait_for(r.run(VICTIM, BYSTANDER), timeout=900)
        finally:
            server.thaw()
        assert {o.status for o in outcomes.values()} == {"refreshed"}
        assert (r.site / VICTIM / "generated.json").read_bytes() != before
        assert (r.site / BYSTANDER / "1_year" / "report.json").is_file()
        # Redis answers again: the next pass records it.
        r.advance(timedelta(minutes=1))
        await r.run(BYSTANDER)
        assert (await r.store.report_meta(Login(BYSTANDER)))["1_year"].generated_at == r.now


def test_redis_down_at_start_the_service_publishes_and_heals_when_it_comes_up(
    tmp_path: Path, redis_server_factory: type[RedisServer]
) -> None:
    users = ["steady-sam", "zero-zoe"]
    with FakeGitHubServer(shared_dataset()) as gh:
        port = free_port()  # nothing listens here yet (picked after the fake took its port)
        env = clean_env(
            GITHUB_TOKEN=TOKEN,
            GITBRAG_GITHUB_API_URL=gh.url,
            GITBRAG_REDIS_URL=f"redis://127.0.0.1:{port}/0",
            GITBRAG_USERS=",".join(users),
            GITBRAG_SCAN_INTERVAL_SECONDS="1",
            GITBRAG_HOOK_PORT="0",
            GITBRAG_LOG_FORMAT="json",
        )
        log = tmp_path / "service.log"
        with log.open("w") as sink:
            service = subprocess.Popen(
                [REFRESH], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=sink
            )
        site = tmp_path / "site"
        try:
            wait_for(
                lambda: (
                    all((site / u / "all_time" / "report.json").exists() for u in users)
                    and (site / "index.html").exists()
                ),
                60,
                "pages published while Redis is down",
            )
            index = (site / "index.html").read_text()
            assert all(f'href="{u}/index.html"' in index for u in users)
            # More scans against a dead Redis: fresh pages are not redone.
            scans = log.read_text().count('"scan finished"')
            wait_for(lambda: log.read_text().count('"scan finished"') >= scans + 2, 30, "two more scans")
            assert service.poll() is None

            server = redis_server_factory(port=port).start()
            store = redis.Redis.from_url(server.url)
            wait_for(
                lambda: (
                    store.hlen("{gitbrag}:users") == len(users)
                    and store.zcard("{gitbrag}:due") == len(users) * len(PERIODS)
                    and store.zcount("{gitbrag}:due", "-inf", time.time()) == 0
                ),
                60,
                "the store rebuilt from the configured users",
            )
        finally:
            service.send_signal(signal.SIGTERM)
            code = service.wait(30)
    assert code == 0
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    names = [r["event"] for r in records]
    assert "Redis reachable again: task tracking restored" in names
    assert (
        names.count("Redis unreachable: task tracking fails open (duplicates possible) until it is back") == 1
    )
    assert_site_whole(site)
    assert_no_secret(log.read_text())
