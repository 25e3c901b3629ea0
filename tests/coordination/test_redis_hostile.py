"""A Redis that is not the friendly default: one that evicts keys under memory pressure,
one behind a password and an ACL user (with characters that must be percent-encoded in
the URL), and a read-only replica. Every server here is a real `redis-server` on a free
loopback port, configured the way an operator (or a managed service) would."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
from redis.exceptions import NoPermissionError, OutOfMemoryError

from gitbrag.coordination import RedisStore, check_store
from gitbrag.coordination.cache import make_cache
from gitbrag.coordination.tracking import TaskTracker
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.models import Login, logins
from gitbrag.refresh import Target
from tests.conftest import RedisServer
from tests.support import REFRESH, assert_site_whole, clean_env, refresh, summary, wait_for
from tests.test_faults import BYSTANDER, STALE_AFTER, TOKEN, VICTIM, hook, rig

USERS = [VICTIM, BYSTANDER]
EVICTION_WARNING = "Redis may evict gitbrag's state under memory pressure: set maxmemory-policy noeviction"
# An ACL user whose password holds every character a URL must escape.
ACL_USER, ACL_PASSWORD = "gitbrag", "p@ss:w/rd%#?"
ACL_URL_PASSWORD = "p%40ss%3Aw%2Frd%25%23%3F"
DEFAULT_PASSWORD = "default-p@ss-0f1e"


@pytest.fixture
def fake() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(shared_dataset()) as server:
        yield server


def admin(server: RedisServer, password: str | None = None) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=server.port, password=password, decode_responses=True)


def evicting(server: RedisServer) -> redis.Redis:
    """The server as the issue found it: `allkeys-lru`, so any key may go under pressure."""
    client = admin(server)
    client.config_set("maxmemory-policy", "allkeys-lru")
    return client


def evict_everything(client: redis.Redis) -> None:
    """Real eviction, deterministic: with `maxmemory` below what the server itself uses, the
    next write makes Redis evict every key it can (and then refuse the write: OOM)."""
    assert client.dbsize() > 0
    client.config_set("maxmemory", "1")
    with pytest.raises(OutOfMemoryError):
        client.set("filler", "x")
    client.config_set("maxmemory", "0")
    assert client.dbsize() == 0
    assert int(client.info("stats")["evicted_keys"]) > 0


def gitbrag_env(fake: FakeGitHubServer, redis_url: str, **extra: str) -> dict[str, str]:
    return clean_env(
        GITHUB_TOKEN=TOKEN, GITBRAG_GITHUB_API_URL=fake.url, GITBRAG_REDIS_URL=redis_url, **extra
    )


def index_lists(site: Path, login: str) -> bool:
    return f'href="{login}/index.html"' in (site / "index.html").read_text()


# --- case 2: a Redis that evicts ----------------------------------------------------------


async def test_a_cache_that_refuses_writes_fails_open(
    tmp_path: Path, redis_server_factory: type[RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    """OOM on every cache write (the issue's crash) costs GitHub requests, never a report."""
    server = redis_server_factory().start()
    client = evicting(server)
    client.config_set("maxmemory", "1")  # below the server's own footprint: every write is OOM
    async with rig(tmp_path) as r:
        r.refresher.cache = make_cache(server.url)
        outcomes = await r.run(VICTIM, BYSTANDER)
        assert {o.status for o in outcomes.values()} == {"refreshed"}, outcomes
        await r.refresher.cache.close()
    warnings = [rec for rec in caplog.records if rec.getMessage().startswith("cache unavailable")]
    assert len(warnings) == 1  # once per outage, not once per write
    assert getattr(warnings[0], "error", None) == "OutOfMemoryError"


def test_state_lost_to_eviction_is_rebuilt_from_the_site(
    tmp_path: Path, fake: FakeGitHubServer, redis_server_factory: type[RedisServer]
) -> None:
    """Users added with `--user` (not in GITBRAG_USERS), then Redis evicts every key: the
    next pass tracks them again from their published pages, refreshes and indexes them,
    instead of `refreshed=0 skipped=0 failed=0` and an empty index."""
    server = redis_server_factory().start()
    client = evicting(server)
    env = gitbrag_env(fake, server.url)
    first = refresh(tmp_path, *(a for u in USERS for a in ("--user", u)), env=env)
    assert summary(first) == "refreshed=8 skipped=0 failed=0", first.stderr[-2000:]

    evict_everything(client)
    second = refresh(tmp_path, env=env)
    assert second.returncode == 0, second.stderr[-2000:]
    assert summary(second) == "refreshed=8 skipped=0 failed=0"
    assert "store lost state: tracking again the users whose pages are published" in second.stderr
    site = tmp_path / "site"
    assert all(index_lists(site, u) for u in USERS)
    assert client.hlen("{gitbrag}:users") == len(USERS)
    assert_site_whole(site)

    third = refresh(tmp_path, env=env)  # the rebuilt state holds: nothing is due, all counted
    assert summary(third) == "refreshed=0 skipped=8 failed=0"
    assert "store lost state" not in third.stderr
    assert TOKEN not in first.stderr + second.stderr + third.stderr


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-lru", "noeviction"])
def test_an_evicting_redis_is_one_warning_at_start(
    tmp_path: Path, fake: FakeGitHubServer, redis_server_factory: type[RedisServer], policy: str
) -> None:
    server = redis_server_factory().start()
    admin(server).config_set("maxmemory-policy", policy)
    result = refresh(tmp_path, "--user", VICTIM, env=gitbrag_env(fake, server.url))
    assert summary(result) == "refreshed=4 skipped=0 failed=0"
    if policy == "noeviction":
        assert "maxmemory" not in result.stderr
    else:
        assert result.stderr.count(EVICTION_WARNING) == 1
        warning = next(line for line in result.stderr.splitlines() if EVICTION_WARNING in line)
        assert warning.startswith(tuple("0123456789")) and " WARNING " in warning
        assert warning.endswith(f"maxmemory_policy={policy}")


async def test_a_claim_evicted_mid_generation_is_taken_again_and_the_report_published(
    tmp_path: Path, redis_server_factory: type[RedisServer]
) -> None:
    server = redis_server_factory().start()
    client = evicting(server)
    store = RedisStore.from_url(server.url)
    async with rig(tmp_path, store=store) as r:
        r.refresher.tracker = TaskTracker(store, ttl=300)
        target = Target(VICTIM, force=True)
        claim = await r.refresher.claim(target)
        assert claim is not None
        evict_everything(client)  # the claim (and everything else) is gone, its lease still runs
        outcome = await r.refresher.run_claimed(target, claim)
        assert outcome.status == "refreshed", outcome  # not "superseded"
        assert (r.site / VICTIM / "1_year" / "report.json").is_file()
        assert await store.active_tasks(Login(VICTIM), 0) == []  # re-taken, then released


async def test_a_lapsed_claim_still_fences_the_write(tmp_path: Path, redis_url: str) -> None:
    """The other side of re-claiming: a claim missing because *our* lease ran out (a stalled
    worker) is lost, as before, and nothing is published."""
    clock = [1_000_000.0]
    store = RedisStore.from_url(redis_url)
    async with rig(tmp_path, store=store) as r:
        tracker = TaskTracker(store, ttl=300, clock=lambda: clock[0])
        r.refresher.tracker = tracker
        target = Target(VICTIM, force=True)
        claim = await r.refresher.claim(target)
        assert claim is not None
        clock[0] += 301  # by our clock the lease is over; Redis lets it lapse too:
        with redis.Redis.from_url(redis_url) as raw:
            assert raw.delete(f"task:report:{claim.task_id}") == 1
        assert not await claim.holds()
        outcome = await r.refresher.run_claimed(target, claim)
        assert outcome.status == "skipped" and outcome.error == "the claim on this report was lost"
        assert not (r.site / VICTIM).exists()


# --- case 6: passwords and ACL users in the URL ----------------------------------------------


@pytest.fixture
def locked_redis(redis_server_factory: type[RedisServer]) -> Iterator[RedisServer]:
    """A server with a default password and an ACL user that may not run CONFIG (as on
    managed Redis services), both with characters a URL must percent-encode."""
    server = redis_server_factory().start()
    client = admin(server)
    client.acl_setuser(
        ACL_USER, enabled=True, passwords=[f"+{ACL_PASSWORD}"], keys=["*"], channels=["*"],
        commands=["+@all", "-config"],
    )  # fmt: skip
    client.config_set("requirepass", DEFAULT_PASSWORD)
    yield server


def acl_url(server: RedisServer) -> str:
    return f"redis://{ACL_USER}:{ACL_URL_PASSWORD}@127.0.0.1:{server.port}/0"


async def test_store_and_cache_both_log_in_as_the_acl_user(
    locked_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = acl_url(locked_redis)
    store = RedisStore.from_url(url)
    cache = make_cache(url)
    try:
        assert await store.write_problem() is None
        await store.track(logins(["Octo-Cat"]), datetime.now(UTC), ("1_year",))
        assert [u.display for u in await store.tracked()] == ["Octo-Cat"]
        assert await cache.set("probe", {"stars": 3})
        assert await cache.get("probe") == {"stars": 3}  # before: always a miss
        with admin(locked_redis, DEFAULT_PASSWORD) as root:
            assert root.exists("gitbrag:cache:probe") == 1  # really in Redis, not a fallback
            root.config_set("maxmemory-policy", "allkeys-lru")
        # The user may not run CONFIG: the eviction policy is read from INFO instead.
        with pytest.raises(NoPermissionError), redis.Redis.from_url(url) as as_user:
            as_user.config_get("maxmemory-policy")
        caplog.set_level(logging.WARNING)
        assert await check_store(store) is None
        warned = [rec for rec in caplog.records if rec.getMessage() == EVICTION_WARNING]
        assert [getattr(rec, "maxmemory_policy", None) for rec in warned] == ["allkeys-lru"]
        assert not [rec for rec in caplog.records if rec.getMessage().startswith("cache unavailable")]
    finally:
        await cache.close()
        await store.close()
    assert ACL_PASSWORD not in caplog.text and ACL_URL_PASSWORD not in caplog.text


def test_a_cron_run_with_the_acl_url_works_and_a_wrong_password_is_one_line(
    tmp_path: Path, fake: FakeGitHubServer, locked_redis: RedisServer
) -> None:
    good = refresh(tmp_path, "--user", VICTIM, env=gitbrag_env(fake, acl_url(locked_redis)))
    assert summary(good) == "refreshed=4 skipped=0 failed=0", good.stderr[-2000:]
    with admin(locked_redis, DEFAULT_PASSWORD) as root:
        assert root.hexists("{gitbrag}:users", VICTIM)
        assert root.keys("gitbrag:cache:*")  # the star walks were shared through Redis

    wrong = f"redis://{ACL_USER}:not-{ACL_URL_PASSWORD}@127.0.0.1:{locked_redis.port}/0"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bad = refresh(elsewhere, "--user", VICTIM, env=gitbrag_env(fake, wrong))
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "gitbrag-refresh: Redis at GITBRAG_REDIS_URL rejected the username or password in the URL"
    ]
    assert ACL_URL_PASSWORD not in bad.stderr + bad.stdout and ACL_PASSWORD not in bad.stderr
    assert not (elsewhere / "site").exists()


# --- case 7: a read-only replica -------------------------------------------------------------


def follow(server: RedisServer, primary: RedisServer) -> None:
    """Make `server` a replica of `primary`, the link up (as `INFO replication` reports it).
    The snapshot goes over the socket, never to disk: a replica would otherwise write
    `dump.rdb` into its working directory, the test runner's."""
    with admin(primary) as source:
        source.config_set("repl-diskless-sync", "yes")
        source.config_set("repl-diskless-sync-delay", "0")
    with admin(server) as client:
        client.config_set("repl-diskless-load", "swapdb")
        client.replicaof("127.0.0.1", primary.port)
        wait_for(lambda: client.info("replication")["master_link_status"] == "up", 30, "the replica's link")


@pytest.fixture
def replica(redis_server_factory: type[RedisServer]) -> Iterator[tuple[RedisServer, RedisServer]]:
    """A primary and its replica."""
    primary = redis_server_factory().start()
    replica = redis_server_factory().start()
    follow(replica, primary)
    yield primary, replica


READ_ONLY = "gitbrag-refresh: Redis at GITBRAG_REDIS_URL is a read-only replica: point it at the primary"


def test_a_read_only_replica_stops_a_cron_run_and_the_service_with_one_line(
    tmp_path: Path, fake: FakeGitHubServer, replica: tuple[RedisServer, RedisServer]
) -> None:
    _, secondary = replica
    env = gitbrag_env(fake, secondary.url, GITBRAG_HOOK_PORT="0")
    cron = refresh(tmp_path, "--user", VICTIM, env=env)
    service = subprocess.run([REFRESH], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    for result in (cron, service):
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [READ_ONLY]
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "site").exists()  # nothing touched


async def test_healthz_says_503_on_a_read_only_store(
    tmp_path: Path, replica: tuple[RedisServer, RedisServer]
) -> None:
    primary, secondary = replica
    for server, code, status in ((primary, 200, "ok"), (secondary, 503, "read-only")):
        store = RedisStore.from_url(server.url)
        async with rig(tmp_path / status, store=store) as r, hook(r) as url, httpx.AsyncClient() as http:
            answer = await http.get(url + "/healthz")
        assert answer.status_code == code
        body = answer.json()
        assert body["status"] == status and body["reachable"] is True
        assert body["writable"] is (code == 200)
        if code == 503:
            assert "read-only replica" in body["reason"]


async def test_a_store_demoted_to_replica_mid_run_still_publishes(
    tmp_path: Path, redis_server_factory: type[RedisServer]
) -> None:
    """A failover turns the store read-only under a running service: passes fail open (as
    for an unreachable Redis) and publish, instead of failing every scan."""
    server = redis_server_factory().start()
    primary = redis_server_factory().start()
    async with rig(tmp_path, store=RedisStore.from_url(server.url)) as r:
        await r.run(VICTIM)
        follow(server, primary)  # the failover demotes it
        r.advance(STALE_AFTER + timedelta(minutes=1))
        outcomes = await r.run(VICTIM, BYSTANDER)
        assert {o.status for o in outcomes.values()} == {"refreshed"}, outcomes
        assert all(index_lists(r.site, u) for u in USERS)


# --- issue 25, case 7: MISCONF, a Redis whose own disk is full ---------------------------------

MISCONF_LINE = "Redis refuses writes: MISCONF"


@pytest.fixture
def misconf(tmp_path: Path, redis_server_factory: type[RedisServer]) -> RedisServer:
    """A real Redis that cannot save and so refuses writes (and PING): `save` points on,
    `stop-writes-on-bgsave-error yes` (the default), and a BGSAVE that fails because the
    dump's name is taken by a folder in its `dir`, as a full or broken disk makes it fail."""
    folder = tmp_path / "redis-dir"
    folder.mkdir()
    server = redis_server_factory()
    server.extra_args = ["--dir", str(folder)]
    server.start()
    (folder / "dump.rdb").mkdir()
    (folder / "dump.rdb" / "taken").touch()
    with admin(server) as client:
        client.config_set("save", "3600 1")
        client.bgsave()
        wait_for(lambda: client.info("persistence")["rdb_last_bgsave_status"] == "err", 10, "a failed save")
        with pytest.raises(redis.ResponseError, match="MISCONF"):
            client.set("probe", "1")
    return server


def test_a_redis_refusing_writes_with_misconf_still_publishes_and_says_so_once(
    tmp_path: Path, fake: FakeGitHubServer, misconf: RedisServer
) -> None:
    run = refresh(tmp_path, "--user", VICTIM, "--user", BYSTANDER, env=gitbrag_env(fake, misconf.url))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert summary(run) == "refreshed=8 skipped=0 failed=0"
    assert run.stderr.count(MISCONF_LINE) == 1, run.stderr[-3000:]
    site = tmp_path / "site"
    assert all(index_lists(site, u) for u in USERS)
    assert_site_whole(site)


async def test_healthz_names_misconf_and_says_redis_answers(tmp_path: Path, misconf: RedisServer) -> None:
    async with rig(tmp_path, store=RedisStore.from_url(misconf.url)) as r:
        async with hook(r) as url, httpx.AsyncClient() as http:
            answer = await http.get(url + "/healthz")
        assert answer.status_code == 503
        body = answer.json()
        assert body["reachable"] is True and body["writable"] is False
        assert "MISCONF" in body["reason"]
        outcomes = await r.run(VICTIM)  # the service's scan: published, no "scan failed"
        assert outcomes[VICTIM].status == "refreshed"


# --- issue 25, case 9: a Redis busy for seconds at start -----------------------------------------


def test_a_redis_busy_for_seconds_at_start_is_waited_for_not_called_not_redis(
    tmp_path: Path, fake: FakeGitHubServer, redis_server_factory: type[RedisServer]
) -> None:
    """`CLIENT PAUSE 6000 ALL` on another connection: for 6 s Redis answers nobody, as during
    a big save or someone's `KEYS *`. The start waits (one line), then the pass runs."""
    server = redis_server_factory().start()
    env = gitbrag_env(fake, server.url)
    with admin(server) as client:
        client.execute_command("CLIENT", "PAUSE", 6000, "ALL")
        started = time.monotonic()
        run = refresh(tmp_path, "--user", VICTIM, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert summary(run) == "refreshed=4 skipped=0 failed=0"
    assert "has not answered yet (busy?): waiting for it" in run.stderr
    assert "did not answer as Redis" not in run.stderr
    assert time.monotonic() - started >= 5  # it did wait out the pause
    with admin(server) as client:
        assert client.hlen("{gitbrag}:users") == 1  # and the store was used, not skipped
