"""Redis stops in the middle of a service run: no page is lost, the service carries on,
and when Redis is back (empty) deduplication works again without a restart."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from tests.conftest import RedisServer
from tests.support import DEMO_USERS, REFRESH, assert_site_whole, clean_env, refresh, summary, wait_for

TOKEN = "ghp_outage_token_0123456789"


@pytest.fixture
def fake() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(shared_dataset()) as server:
        yield server


def events(log: Path) -> list[dict[str, Any]]:
    """The service's JSON log lines (every line must be JSON)."""
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def in_flight(log: Path) -> int:
    names = [e["event"] for e in events(log)]
    started = names.count("refresh started")
    ended = sum(names.count(n) for n in ("report refreshed", "refresh failed; old pages kept"))
    return started - ended - names.count("generation superseded; not published")


def scans_done(log: Path) -> int:
    return sum(1 for e in events(log) if e["event"] == "scan finished")


def searches(fake: FakeGitHubServer) -> dict[str, int]:
    return dict(httpx.get(fake.url + "/_fake/stats").json()["searches_by_author"])


def test_redis_outage_mid_run(
    tmp_path: Path, fake: FakeGitHubServer, redis_server_factory: type[RedisServer]
) -> None:
    base = clean_env(GITHUB_TOKEN=TOKEN, GITBRAG_GITHUB_API_URL=fake.url, GITBRAG_USERS=",".join(DEMO_USERS))
    alone = tmp_path / "alone"
    alone.mkdir()
    assert summary(refresh(alone, env=base)) == "refreshed=20 skipped=0 failed=0"
    once = searches(fake)
    httpx.post(fake.url + "/_fake/reset").raise_for_status()
    httpx.post(fake.url + "/_fake/faults", json={"latency_ms": 40}).raise_for_status()

    server = redis_server_factory().start()
    work = tmp_path / "service"
    work.mkdir()
    env = base | {
        "GITBRAG_REDIS_URL": server.url,
        "GITBRAG_SCAN_INTERVAL_SECONDS": "1",
        "GITBRAG_LOG_FORMAT": "json",
        "GITBRAG_MAX_CONCURRENT": "2",
    }
    log = tmp_path / "service.log"
    with log.open("w") as sink:
        service = subprocess.Popen([REFRESH], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    site = work / "site"
    try:
        # Redis goes away while generations are running.
        wait_for(lambda: list(site.glob("*/all_time/report.json")), 60, "a first published user")
        wait_for(lambda: in_flight(log) > 0, 30, "a generation in flight")
        published_before = {p: p.read_bytes() for p in site.glob("*/*/report.json")}
        server.stop()
        wait_for(lambda: in_flight(log) == 0, 60, "the in-flight generations to finish")
        scans = scans_done(log)
        wait_for(lambda: scans_done(log) >= scans + 2, 30, "two scans against a dead Redis")
        assert service.poll() is None, "the service died with Redis"
        for path in published_before:
            assert path.exists(), f"{path} lost"
        assert_site_whole(site)
        outage_warnings = [e for e in events(log) if e["event"].startswith("Redis unreachable")]
        assert len(outage_warnings) <= 1  # once per outage, not per call

        # Redis is back, empty. The service rebuilds its index from GITBRAG_USERS and a cron
        # run joins in: every user is collected exactly once between them.
        httpx.post(fake.url + "/_fake/reset").raise_for_status()
        restarted = redis_server_factory(port=server.port).start()
        cron = refresh(work, env=env)
        assert cron.returncode == 0, cron.stderr[-2000:]
        store = redis.Redis.from_url(restarted.url)
        wait_for(
            lambda: (
                store.hlen("{gitbrag}:users") == len(DEMO_USERS)
                and store.zcount("{gitbrag}:due", "-inf", time.time()) == 0
                and in_flight(log) == 0
            ),
            90,
            "every report regenerated after the restart",
        )
        scans = scans_done(log)
        wait_for(lambda: scans_done(log) >= scans + 1, 30, "one more scan finding nothing to do")
        assert searches(fake) == once
    finally:
        service.send_signal(signal.SIGTERM)
        assert service.wait(30) == 0
    assert assert_site_whole(site) >= 1 + len(DEMO_USERS) * 9
    text = log.read_text()
    assert TOKEN not in text
    assert any(e["event"] == "Redis reachable again: task tracking restored" for e in events(log))
