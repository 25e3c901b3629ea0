"""The token pool and per-minute pacing against the fake GitHub's real rate limiter.

Time is one fake clock shared by the fake's limiter and the client, whose `sleep` only
advances it: hour-long waits for a reset take no real time. Each token's spending is
read from the fake's own per-token stats (`/_fake/stats` `tokens`), not from the client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from gitbrag.coordination.ratelimit import RedisWindow
from gitbrag.fakegithub.app import FakeConfig
from gitbrag.fakegithub.limits import LimitConfig, token_id
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.github import AuthError, GitHubClient, collect_user
from gitbrag.github.pacing import SEARCH_PER_MINUTE, LocalWindow, Pacing
from gitbrag.models import Collection

TOKENS = ["pool-token-a", "pool-token-b", "pool-token-c"]
USERS = ["Mona-Lisa", "prolific-pat", "steady-sam"]  # ~66 GraphQL points in all
NOW = datetime.now(UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.in_flight = 0  # requests sent and not yet answered (see CountingTransport)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Wake at this sleeper's own deadline on the shared timeline.

        Time only jumps once every request already sent has been answered, so each is
        counted by the fake at the time it was sent, however slow the machine is.
        """
        deadline = self.now + seconds
        await asyncio.sleep(0)
        for _ in range(2000):  # at most ~10 s of real time
            if not self.in_flight:
                break
            await asyncio.sleep(0.005)
        self.now = max(self.now, deadline)


class CountingTransport(httpx.AsyncHTTPTransport):
    """Counts requests in flight on the clock, so it knows when time may move."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.clock.in_flight += 1
        try:
            response = await super().handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.clock.in_flight -= 1


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def serve(clock: FakeClock, **limits: int) -> FakeGitHubServer:
    return FakeGitHubServer(shared_dataset(), FakeConfig(limits=LimitConfig(**limits), clock=clock))


def serve_revoking(clock: FakeClock, revoked: set[str]) -> FakeGitHubServer:
    return FakeGitHubServer(shared_dataset(), FakeConfig(clock=clock, revoked_tokens=frozenset(revoked)))


def pool_client(server: FakeGitHubServer, clock: FakeClock, tokens: list[str] = TOKENS) -> GitHubClient:
    return GitHubClient(
        tokens,
        server.url,
        server.url + "/graphql",
        sleep=clock.sleep,
        clock=clock,
        transport=CountingTransport(clock),
    )


def spent_per_token(server: FakeGitHubServer, resource: str) -> list[int]:
    stats = httpx.get(server.url + "/_fake/stats", timeout=30).json()
    return sorted(counts.get(resource, 0) for counts in stats["tokens"].values())


async def collect_all(client: GitHubClient) -> list[Collection]:
    return list(await asyncio.gather(*(collect_user(client, u, now=NOW) for u in USERS)))


@pytest.fixture(scope="module")
def reference() -> Iterator[list[Collection]]:
    """The same users collected with one unlimited token: what the pool must also produce."""
    clock = FakeClock()
    with serve(clock) as server:

        async def run() -> list[Collection]:
            async with pool_client(server, clock, ["unlimited"]) as client:
                return await collect_all(client)

        yield asyncio.run(run())


def same(a: list[Collection], b: list[Collection]) -> bool:
    return [c.model_dump(exclude={"collected_at", "full_collected_at"}) for c in a] == [
        c.model_dump(exclude={"collected_at", "full_collected_at"}) for c in b
    ]


async def test_batch_larger_than_one_token_completes_within_each_budget(
    clock: FakeClock, reference: list[Collection]
) -> None:
    budget = 30
    with serve(clock, graphql=budget) as server:
        async with pool_client(server, clock) as client:
            collections = await collect_all(client)
        spent = spent_per_token(server, "graphql")
    assert same(collections, reference)
    assert len(spent) == 3 and all(0 < s <= budget for s in spent), spent
    assert sum(spent) > budget  # more than one token could have served
    assert client.usage.seconds_waited == 0  # three budgets were enough: nobody waited


async def test_all_tokens_spent_waits_for_the_reset_then_resumes(
    clock: FakeClock, reference: list[Collection]
) -> None:
    budget = 10  # 3 x 10 points an hour, for ~66 points of work
    started = clock.now
    with serve(clock, graphql=budget) as server:
        async with pool_client(server, clock) as client:
            collections = await collect_all(client)
        spent = spent_per_token(server, "graphql")
    hours = int((clock.now - started) // 3600) + 1  # windows each token went through
    assert same(collections, reference)
    assert client.usage.rate_limit_waits > 0 and clock.now - started >= 3600
    assert all(s <= budget * hours for s in spent), (spent, hours)


async def test_searches_are_paced_to_30_a_minute_across_concurrent_refreshes(clock: FakeClock) -> None:
    with serve(clock) as server:
        async with pool_client(server, clock, ["one-token"]) as client:
            started = clock.now

            async def search(i: int) -> None:
                await client.rest_get("/search/issues", {"q": f"is:pr author:Mona-Lisa {i}"})

            await asyncio.gather(*(search(i) for i in range(2 * SEARCH_PER_MINUTE + 5)))
        stats = server.app_state.stats.as_json()
    assert stats["rate_limited"] == 0  # never tripped GitHub's limit
    assert stats["cost"]["search"] == 2 * SEARCH_PER_MINUTE + 5
    assert clock.now - started >= 120  # the third minute's searches waited for it


async def test_local_window_admits_limit_per_period_per_key() -> None:
    window = LocalWindow(limit=3, period=60)
    assert [await window.reserve("a", 0) for _ in range(3)] == [0, 0, 0]
    assert await window.reserve("a", 1) == pytest.approx(59)
    assert await window.reserve("b", 1) == 0  # another token has its own window
    assert await window.reserve("a", 60) == 0


async def test_redis_window_is_shared_by_processes(redis_url: str) -> None:
    # Two windows on one Redis stand for two processes pacing the same token.
    first, second = (RedisWindow.from_url(redis_url, limit=5, prefix="test:pace") for _ in range(2))
    try:
        admitted = [await w.reserve("tok-1", 100.0) == 0 for w in (first, second) * 4]
        assert admitted.count(True) == 5
        assert await second.reserve("tok-1", 130.0) == pytest.approx(30, abs=0.01)
        assert await first.reserve("tok-1", 160.5) == 0
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_outage_falls_back_to_a_local_window() -> None:
    window = RedisWindow.from_url("redis://127.0.0.1:1/0", limit=2)
    try:
        assert [await window.reserve("tok-1", 0.0) for _ in range(3)][:2] == [0, 0]
        assert await window.reserve("tok-1", 1.0) > 0
    finally:
        await window.aclose()


def test_pacing_is_keyed_by_a_hash_never_the_token() -> None:
    from gitbrag.github.pacing import token_key

    assert "pool-token-a" not in token_key("pool-token-a")
    assert token_key("pool-token-a") == token_key("pool-token-a") != token_key("pool-token-b")
    assert isinstance(Pacing().search, LocalWindow)


async def test_a_revoked_token_is_dropped_once_and_the_pool_carries_on(
    clock: FakeClock, reference: list[Collection], caplog: pytest.LogCaptureFixture
) -> None:
    revoked, good = TOKENS[0], TOKENS[1]
    caplog.set_level(logging.WARNING, logger="gitbrag.github.client")
    with serve_revoking(clock, {revoked}) as server:
        async with pool_client(server, clock, [revoked, good]) as client:
            collected = [await collect_user(client, u, now=NOW) for u in USERS]
        stats = server.app_state.stats.as_json()
    assert same(collected, reference)
    # Only the revoked token is ever refused, so the 401s are exactly its uses.
    assert stats["statuses"].get("401", 0) <= 1
    assert token_id(good) in stats["tokens"] and token_id(revoked) not in stats["tokens"]
    warnings = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(warnings) == 1 and "token #1 of 2" in warnings[0]
    assert all(secret not in caplog.text for secret in TOKENS)


async def test_a_pool_of_revoked_tokens_is_an_auth_error(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = TOKENS[:2]
    with serve_revoking(clock, set(tokens)) as server:
        async with pool_client(server, clock, tokens) as client:
            with pytest.raises(AuthError, match=r"rejected the token .*401 Bad credentials"):
                await collect_user(client, "Mona-Lisa", now=NOW)
            with pytest.raises(AuthError):  # for the client's life: nothing more is sent
                await collect_user(client, "steady-sam", now=NOW)
        stats = server.app_state.stats.as_json()
    assert stats["statuses"] == {"401": 2}  # each token tried once, then never again
    assert all(secret not in caplog.text for secret in tokens)
