"""The whole pipeline as operators run it: `gitbrag-refresh --once` processes against the
fake GitHub over HTTP, publishing into a site folder that must always be whole."""

from __future__ import annotations

import contextlib
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from gitbrag.coordination import SQLiteStore
from gitbrag.fakegithub.app import FakeConfig
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.github.client import GitHubClient
from gitbrag.models import PERIODS, Login, Report
from gitbrag.publish.publisher import Publisher
from gitbrag.refresh import Refresher
from tests.support import DEMO_USERS, REFRESH, assert_site_whole, clean_env, refresh, wait_for


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(shared_dataset()) as server:
        yield server


def test_demo_publishes_a_browsable_site(tmp_path: Path) -> None:
    result = subprocess.run(
        [REFRESH, "--once", "--demo"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == "refreshed=20 skipped=0 failed=0"
    site = tmp_path / "demo-site"  # the demo's own folder: ./site is a real deployment's
    assert not (tmp_path / "site").exists()
    index = (site / "index.html").read_text()
    for login in DEMO_USERS:
        assert f'href="{login.lower()}/index.html"' in index
        for period in PERIODS:
            assert (site / login.lower() / period / "index.html").is_file()
    assert (site / "404.html").is_file()
    assert list((site / "assets").glob("*.css"))
    assert assert_site_whole(site) >= 1 + len(DEMO_USERS) * 9
    hostile = (site / "hostile-hank" / "index.html").read_text()
    assert "<script>alert" not in hostile and "&lt;script&gt;alert" in hostile
    assert 'href="javascript:' not in hostile


def test_a_second_pass_skips_fresh_reports(tmp_path: Path, fake: FakeGitHubServer) -> None:
    env = clean_env(GITHUB_TOKEN="t", GITBRAG_GITHUB_API_URL=fake.url)
    first = refresh(tmp_path, "--user", "zero-zoe,hostile-hank", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.splitlines()[-1] == "refreshed=8 skipped=0 failed=0"
    page = tmp_path / "site" / "hostile-hank" / "1_year" / "index.html"
    before = page.stat().st_mtime_ns
    second = refresh(tmp_path, env=env)
    assert second.returncode == 0
    assert second.stdout.splitlines()[-1] == "refreshed=0 skipped=8 failed=0"
    assert page.stat().st_mtime_ns == before
    forced = refresh(tmp_path, "--force", env=env)
    assert forced.stdout.splitlines()[-1] == "refreshed=8 skipped=0 failed=0"


def live_claims(cwd: Path) -> list[str]:
    """The claims in the default state file (`.gitbrag/state.sqlite3`) whose lease has not
    ended by this machine's clock, the clock the refresher's SQLite claims are judged by."""
    state = cwd / ".gitbrag" / "state.sqlite3"
    if not state.exists():
        return []
    with contextlib.closing(sqlite3.connect(state, timeout=30)) as conn:
        rows = conn.execute("SELECT task_id FROM tasks WHERE expires_at > ?", (time.time(),)).fetchall()
    return [row[0] for row in rows]


def test_kill_9_at_any_moment_leaves_whole_pages(tmp_path: Path) -> None:
    config = FakeConfig()
    with FakeGitHubServer(shared_dataset(), config) as slow:
        httpx.post(slow.url + "/_fake/faults", json={"latency_ms": 15, "jitter_ms": 10}).raise_for_status()
        env = clean_env(
            GITHUB_TOKEN="t",
            GITBRAG_GITHUB_API_URL=slow.url,
            GITBRAG_USERS=",".join(DEMO_USERS),
            GITBRAG_TASK_TTL_SECONDS="1",  # a killed worker's claims lapse quickly
        )
        first = refresh(tmp_path, env=env)
        assert first.returncode == 0
        # Kill moments follow the run's progress (its log lines), not the wall clock, so a
        # faster machine cuts as many runs short as a slower one: each run is killed
        # right after a random log line in its first 60%, while users are still being
        # collected from the fake (whose latency is the same on every machine).
        lines = len(first.stderr.splitlines())
        assert lines >= 10, first.stderr
        rng = random.Random(7)
        kills = 0
        for _ in range(10):
            proc = subprocess.Popen(
                [REFRESH, "--once", "--force"], cwd=tmp_path, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            assert proc.stderr is not None
            for _ in range(rng.randint(1, lines * 6 // 10)):
                proc.stderr.readline()
            time.sleep(rng.uniform(0, 0.02))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate(timeout=30)
            assert_site_whole(tmp_path / "site")
            # The killed run's claims lapse (TTL 1 s): the next run has work to do.
            wait_for(lambda: not live_claims(tmp_path), 30, "the killed run's claims to lapse")
        assert kills >= 8  # the runs were cut short somewhere (a rare one may finish first)
        # The state survived too: once the killed worker's claims have lapsed (TTL), a normal
        # run succeeds and republishes everything.
        final = refresh(tmp_path, "--force", env=env)
        assert final.returncode == 0, final.stderr[-2000:]
        assert final.stdout.splitlines()[-1] == "refreshed=20 skipped=0 failed=0"
        assert assert_site_whole(tmp_path / "site") >= 1 + len(DEMO_USERS) * 9


async def test_github_failure_keeps_the_old_page_and_records_the_error(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with FakeGitHubServer(shared_dataset()) as gh:
        store = SQLiteStore(tmp_path / "state.sqlite3")

        async def no_wait(_: float) -> None:
            return None

        async with GitHubClient(
            ["sekret-token"], gh.url, gh.url + "/graphql", transient_attempts=2, sleep=no_wait
        ) as client:
            refresher = Refresher(
                store=store, client=client, publisher=Publisher(tmp_path / "site"), clock=lambda: now
            )
            assert (await refresher.run_pass(refresh=["steady-sam"])).refreshed == 4
            page = tmp_path / "site" / "steady-sam" / "2_years" / "index.html"
            old = page.read_bytes()

            gh.app_state.faults.update({"error_rate": 1.0})
            outcome = await refresher.refresh_user("steady-sam")
            assert outcome.status == "failed" and outcome.error
            assert page.read_bytes() == old
            meta = (await store.report_meta(Login("steady-sam")))["2_years"]
            assert meta.last_error and "sekret" not in meta.last_error
            assert meta.failures == 1
            assert now < meta.next_due_at <= now + timedelta(minutes=10)  # retried soon, not every pass

            gh.app_state.faults.update({"error_rate": 0.0})
            assert (await refresher.refresh_user("steady-sam")).status == "refreshed"
            assert (await store.report_meta(Login("steady-sam")))["2_years"].failures == 0
        await store.close()


def test_report_json_is_documented_in_the_site_page() -> None:
    page = (Path(__file__).parent.parent / "docs" / "site.md").read_text()
    for field in Report.model_fields:
        assert f"`{field}`" in page, field


def test_a_user_github_does_not_know_is_not_retried_every_pass(
    tmp_path: Path, fake: FakeGitHubServer
) -> None:
    env = clean_env(GITHUB_TOKEN="t", GITBRAG_GITHUB_API_URL=fake.url)
    first = refresh(tmp_path, "--user", "no-such-user-here", env=env)
    assert first.returncode == 1
    assert first.stdout.splitlines()[-1] == "refreshed=0 skipped=0 failed=4"
    assert not (tmp_path / "site" / "no-such-user-here").exists()
    asked = fake.app_state.stats.requests["POST /graphql"]
    again = refresh(tmp_path, env=env)
    assert again.returncode == 0
    # GitHub never knew it: it was untracked again (issue 25, case 3), and is not asked about.
    assert again.stdout.splitlines()[-1] == "refreshed=0 skipped=0 failed=0"
    assert fake.app_state.stats.requests["POST /graphql"] == asked


def test_json_logs_tell_the_story_and_never_the_token(tmp_path: Path, fake: FakeGitHubServer) -> None:
    import json

    token = "ghp_json_log_token_abcdef123456"
    env = clean_env(GITHUB_TOKEN=token, GITBRAG_GITHUB_API_URL=fake.url, GITBRAG_LOG_FORMAT="json")
    result = refresh(tmp_path, "--user", "steady-sam", env=env)
    assert result.returncode == 0
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    by_event = {r["event"]: r for r in records}
    assert by_event["generation scheduled"]["user"] == "steady-sam"
    assert by_event["refresh started"]["user"] == "steady-sam"
    assert by_event["report refreshed"]["seconds"] > 0
    everything = result.stdout + result.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            everything += path.read_bytes().decode("utf-8", "replace")
    assert token not in everything


async def test_a_page_says_it_is_being_updated_while_it_is(tmp_path: Path) -> None:
    import asyncio
    import json

    with FakeGitHubServer(shared_dataset()) as gh:
        store = SQLiteStore(tmp_path / "state.sqlite3")
        async with GitHubClient(["token"], gh.url, gh.url + "/graphql", transient_attempts=1) as client:
            refresher = Refresher(store=store, client=client, publisher=Publisher(tmp_path / "site"))
            await refresher.refresh_user("steady-sam")
            # The flag lives in generated.json, which the pages' script reads (gitbrag.publish.freshness).
            freshness = tmp_path / "site" / "steady-sam" / "generated.json"

            def updating() -> bool:
                return bool(json.loads(freshness.read_bytes())["updating"])

            assert not updating()

            for faults, ends_as in (({"latency_ms": 50}, "refreshed"), ({"error_rate": 1.0}, "failed")):
                gh.app_state.faults.update({"latency_ms": 50, **faults})
                running = asyncio.create_task(refresher.refresh_user("steady-sam"))
                for _ in range(200):
                    if updating():
                        break
                    await asyncio.sleep(0.02)
                assert updating()
                assert (await running).status == ends_as
                assert not updating()  # fresh times, or the old ones kept
        await store.close()
