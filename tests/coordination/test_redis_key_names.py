"""The claim keys are named as the design gitbrag implements names them, on a real Redis.

`task:report:<task id>` and `task:user:<login>:active`: an operator's `GET` or `ZRANGE`, or
another tool written against the design (its own unit tests read the claim back by that name),
must find what gitbrag's contract functions wrote. Nothing is set up but the environment, as a
script calling `gitbrag.tracking` would have it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from gitbrag import tracking
from gitbrag.coordination.tracking import configure_tracking
from tests.conftest import RedisServer, free_port

TASK = "testuser:1_year:abc123"
META = {"username": "testuser", "period": "1_year", "params_hash": "abc123", "started_at": 1234567890}


@pytest.fixture
def from_environment(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The contract functions with only GITBRAG_REDIS_URL (and the defaults) to go on."""
    for name in ("GITBRAG_STATE_PATH", "GITBRAG_PER_USER_LIMIT", "GITBRAG_TASK_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITBRAG_REDIS_URL", redis_url)
    configure_tracking(None)
    yield redis_url
    configure_tracking(None)


@pytest.fixture
async def raw(from_environment: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(from_environment, decode_responses=True)
    yield client
    await client.aclose()


async def test_the_claim_and_the_active_set_are_read_back_by_their_documented_names(
    raw: aioredis.Redis,
) -> None:
    assert await tracking.start_task("Mona-Lisa:1_year:abc123", META)
    claim = await raw.get("task:report:mona-lisa:1_year:abc123")
    assert claim is not None and '"claim_token"' in claim
    # The lease is on the claim key itself: GITBRAG_TASK_TTL_SECONDS, 300 s by default.
    assert 0 < await raw.pttl("task:report:mona-lisa:1_year:abc123") <= 300_000
    assert await raw.zrange("task:user:mona-lisa:active", 0, -1) == ["mona-lisa:1_year:abc123"]
    assert not [key for key in await raw.keys("task:*") if "{" in key]  # no hash-tag braces


async def test_start_then_a_duplicate_start_is_refused(raw: aioredis.Redis) -> None:
    assert await tracking.start_task(TASK, META) is True
    assert await raw.get(f"task:report:{TASK}") is not None
    assert await tracking.start_task(TASK, META) is False


async def test_is_task_active_follows_the_claim(raw: aioredis.Redis) -> None:
    assert await raw.get(f"task:report:{TASK}") is None
    assert await tracking.is_task_active(TASK) is False
    await tracking.start_task(TASK, META)
    assert await raw.get(f"task:report:{TASK}") is not None
    assert await tracking.is_task_active(TASK) is True


async def test_complete_cleans_up_both_keys(raw: aioredis.Redis) -> None:
    await tracking.start_task(TASK, META)
    assert await tracking.complete_task(TASK) is True
    assert await raw.get(f"task:report:{TASK}") is None
    assert await raw.zrange("task:user:testuser:active", 0, -1) == []
    assert await tracking.is_task_active(TASK) is False


async def test_the_per_reported_user_limit_and_the_active_listing(raw: aioredis.Redis) -> None:
    assert await tracking.get_reported_user_active_tasks("testuser") == []
    assert await tracking.can_start_reported_user_task("testuser") is True
    assert await tracking.start_task(TASK, META)
    assert await tracking.get_reported_user_active_tasks("testuser") == [TASK]
    assert await tracking.can_start_reported_user_task("testuser") is False  # the default limit is 1
    assert await tracking.start_task("testuser:2_years:abc123", META) is False


async def test_different_reported_users_run_concurrently(raw: aioredis.Redis) -> None:
    assert await tracking.start_task("testuser1:1_year:abc123", META)
    assert await tracking.can_start_reported_user_task("testuser2") is True
    assert await tracking.start_task("testuser2:1_year:abc123", META)
    assert await tracking.get_reported_user_active_tasks("testuser1") == ["testuser1:1_year:abc123"]
    assert await tracking.get_reported_user_active_tasks("testuser2") == ["testuser2:1_year:abc123"]
    active_sets = sorted(await raw.keys("task:user:*"))
    assert active_sets == ["task:user:testuser1:active", "task:user:testuser2:active"]


def test_a_cluster_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _refresh_once(tmp_path, "redis+cluster://127.0.0.1:7000/0")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if "GITBRAG_REDIS_URL" in line] == [
        done.stderr.strip().splitlines()[-1]
    ]
    assert "Redis Cluster is not supported" in done.stderr
    assert not (tmp_path / "site").exists()


def test_a_cluster_mode_server_is_refused_at_start(tmp_path: Path) -> None:
    """A cluster node answers PING; without this check the claim script fails at random later."""
    server = _ClusterNode(tmp_path).start()
    try:
        done = _refresh_once(tmp_path, server.url)
    finally:
        server.stop()
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "cluster mode" in last and "not supported" in last, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "site").exists()


class _ClusterNode(RedisServer):
    """A real `redis-server --cluster-enabled yes` (a node of a cluster not yet formed)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(free_port())
        self.folder = folder

    def start(self) -> _ClusterNode:
        args = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--cluster-enabled", "yes", "--dir", str(self.folder),
            "--cluster-config-file", f"nodes-{self.port}.conf",
            # The cluster bus listens on port + 10000 unless told otherwise: past 55535 there is
            # no such port and the node exits at start.
            "--cluster-port", str(free_port()),
        ]  # fmt: skip
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                assert client.info("cluster")["cluster_enabled"] == 1
                break
            except redis.ConnectionError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"a cluster node did not start on port {self.port}") from None
                time.sleep(0.02)
        client.close()
        return self


def _refresh_once(folder: Path, redis_url: str) -> subprocess.CompletedProcess[str]:
    """`gitbrag-refresh --once --demo` with the given Redis, in `folder`."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(folder),
        "GITBRAG_REDIS_URL": redis_url,
        "GITBRAG_SITE_DIR": str(folder / "site"),
    }
    code = "from gitbrag.doors.cli import refresh_main; raise SystemExit(refresh_main())"
    return subprocess.run(
        [sys.executable, "-c", code, "--once", "--demo"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
