"""Several refreshers on one Redis: each due report is generated exactly once, and a worker
that lost its claim cannot overwrite what another published meanwhile."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from tests.support import DEMO_USERS, REFRESH, assert_site_whole, clean_env, refresh, summary, wait_for


@pytest.fixture
def fake() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(shared_dataset()) as server:
        yield server


def searches_by_author(fake: FakeGitHubServer) -> dict[str, int]:
    stats = httpx.get(fake.url + "/_fake/stats").json()
    return dict(stats["searches_by_author"])


def scans_done(log: Path) -> int:
    return log.read_text().count(" scan finished ")


def test_two_services_and_a_cron_run_generate_each_report_once(
    tmp_path: Path, fake: FakeGitHubServer, redis_url: str
) -> None:
    # What one refresh of every demo user asks of GitHub, measured alone first.
    alone = tmp_path / "alone"
    alone.mkdir()
    base_env = clean_env(
        GITHUB_TOKEN="t", GITBRAG_GITHUB_API_URL=fake.url, GITBRAG_USERS=",".join(DEMO_USERS)
    )
    assert summary(refresh(alone, env=base_env)) == "refreshed=20 skipped=0 failed=0"
    once = searches_by_author(fake)
    assert set(once) == {u.lower() for u in DEMO_USERS}
    httpx.post(fake.url + "/_fake/reset").raise_for_status()
    httpx.post(fake.url + "/_fake/faults", json={"latency_ms": 5}).raise_for_status()

    shared = tmp_path / "shared"
    shared.mkdir()
    env = base_env | {"GITBRAG_REDIS_URL": redis_url, "GITBRAG_SCAN_INTERVAL_SECONDS": "1"}
    logs = [tmp_path / f"service-{i}.log" for i in range(2)]
    services = []
    for log in logs:
        with log.open("w") as sink:
            services.append(
                subprocess.Popen([REFRESH], cwd=shared, env=env, stdout=subprocess.DEVNULL, stderr=sink)
            )
    try:
        cron = refresh(shared, env=env)
        assert cron.returncode == 0, cron.stderr[-3000:]
        store = redis.Redis.from_url(redis_url)
        # Done when every report has been generated and nothing is due any more.
        wait_for(
            lambda: (
                all((shared / "site" / u.lower() / "all_time" / "report.json").exists() for u in DEMO_USERS)
                and store.zcount("{gitbrag}:due", "-inf", time.time()) == 0
            ),
            60,
            "every report to be published",
        )
        # Two more scans of each service: they must find nothing to do.
        seen = [scans_done(log) for log in logs]
        wait_for(
            lambda: all(scans_done(log) >= n + 2 for log, n in zip(logs, seen, strict=True)),
            30,
            "two more scans of each service",
        )
    finally:
        for proc in services:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc in services]
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    # Exactly one collection per user across the three processes, as when run alone.
    assert searches_by_author(fake) == once
    assert assert_site_whole(shared / "site") >= 1 + len(DEMO_USERS) * 9


def test_a_worker_paused_past_its_lease_never_overwrites_a_newer_report(
    tmp_path: Path, fake: FakeGitHubServer, redis_url: str
) -> None:
    httpx.post(fake.url + "/_fake/faults", json={"latency_ms": 150}).raise_for_status()
    env = clean_env(
        GITHUB_TOKEN="t",
        GITBRAG_GITHUB_API_URL=fake.url,
        GITBRAG_REDIS_URL=redis_url,
        GITBRAG_TASK_TTL_SECONDS="1",
    )
    store = redis.Redis.from_url(redis_url)
    slow = subprocess.Popen(
        [REFRESH, "--once", "--force", "--user", "steady-sam"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: store.keys("task:report:steady-sam:*"), 30, "the first worker's claim")
        slow.send_signal(signal.SIGSTOP)
        wait_for(lambda: not store.keys("task:report:steady-sam:*"), 10, "the paused claim to lapse")

        fast = refresh(tmp_path, "--force", "--user", "steady-sam", env=env)
        assert summary(fast) == "refreshed=4 skipped=0 failed=0", fast.stderr[-2000:]
        report = tmp_path / "site" / "steady-sam" / "1_year" / "report.json"
        newer = report.read_bytes()
        page = (tmp_path / "site" / "steady-sam" / "index.html").read_bytes()
    finally:
        slow.send_signal(signal.SIGCONT)
    out, err = slow.communicate(timeout=120)
    assert slow.returncode == 0, err[-2000:]
    assert out.strip().splitlines()[-1] == "refreshed=0 skipped=4 failed=0"
    assert "superseded" in err
    assert report.read_bytes() == newer
    assert (tmp_path / "site" / "steady-sam" / "index.html").read_bytes() == page
    assert json.loads(newer)["username"] == "steady-sam"


def test_sigterm_lets_running_generations_finish_and_leaves_no_claim(
    tmp_path: Path, fake: FakeGitHubServer, redis_url: str
) -> None:
    httpx.post(fake.url + "/_fake/faults", json={"latency_ms": 60}).raise_for_status()
    env = clean_env(
        GITHUB_TOKEN="t",
        GITBRAG_GITHUB_API_URL=fake.url,
        GITBRAG_REDIS_URL=redis_url,
        GITBRAG_USERS="steady-sam",
        GITBRAG_SCAN_INTERVAL_SECONDS="60",
    )
    store = redis.Redis.from_url(redis_url)
    service = subprocess.Popen([REFRESH], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: store.keys("task:report:*"), 30, "a generation to start")
    service.send_signal(signal.SIGTERM)
    _, err = service.communicate(timeout=120)
    assert service.returncode == 0, err[-2000:]
    assert "report refreshed" in err  # the running generation finished and published
    assert (tmp_path / "site" / "steady-sam" / "all_time" / "report.json").exists()
    assert store.keys("task:*") == [] or all(store.zcard(k) == 0 for k in store.keys("task:user:*"))
    assert store.keys("task:report:*") == []
