"""The cache layer for fetched GitHub data (aiocache).

Within one process it is memory; with `GITBRAG_REDIS_URL` it is Redis, so refreshers
on several processes share what one of them fetched (a popular repository's star
history is walked once, not once per contributor). Values are JSON, never pickles,
so nothing in a shared Redis can make a refresher execute code.

Redis is opened as the store opens it (`gitbrag.coordination.redis.connect`), so every URL the
store accepts (percent-encoded passwords, ACL usernames, TLS) reaches the cache intact.

A cache is only an optimisation, so it fails open: while Redis is unreachable, slow, or
refuses a command (memory full, a read-only replica, missing ACL rights), reads miss and
writes are dropped (logged once per outage) and refreshes carry on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from aiocache import Cache
from aiocache.backends.redis import RedisCache
from aiocache.base import BaseCache
from aiocache.serializers import JsonSerializer
from redis.exceptions import RedisError

from gitbrag.coordination.redis import connect
from gitbrag.logs import OutageLog

log = logging.getLogger(__name__)
T = TypeVar("T")
# Any Redis error, OOM and READONLY included: a cache problem must never fail a refresh.
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, TimeoutError, OSError)


def make_cache(redis_url: str | None = None, namespace: str = "gitbrag:cache") -> BaseCache:
    if not redis_url:
        return Cache(Cache.MEMORY, serializer=JsonSerializer(), namespace=namespace)
    # aiocache's backend reads bytes and decodes them itself.
    return FailOpenCache(ClientRedisCache(connect(redis_url, decode_responses=False), namespace=namespace))


class ClientRedisCache(RedisCache):  # type: ignore[misc]
    """aiocache's Redis backend on a client opened by `connect`: aiocache 0.12 builds
    its pool from host, port and password alone, dropping the URL's username and
    percent-encoding (so an ACL user's cache silently never worked)."""

    def __init__(self, client: aioredis.Redis, namespace: str) -> None:
        super().__init__(serializer=JsonSerializer(), namespace=namespace)
        self.client = client

    async def _close(self, *args: Any, _conn: Any = None, **kwargs: Any) -> None:
        await self.client.aclose()


class FailOpenCache(BaseCache):  # type: ignore[misc]
    """The operations gitbrag uses, delegated to `inner`, with outages turned into misses."""

    def __init__(self, inner: BaseCache) -> None:
        super().__init__(serializer=JsonSerializer())
        self.inner = inner
        self._outage = OutageLog(
            log, "cache unavailable: fetching from GitHub instead", "cache available again"
        )

    async def get(self, key: str, default: Any = None, **kwargs: Any) -> Any:
        return await self._call(self.inner.get(key, default, **kwargs), default)

    async def multi_get(self, keys: list[str], **kwargs: Any) -> list[Any]:
        return await self._call(self.inner.multi_get(keys, **kwargs), [None] * len(keys))

    async def set(self, key: str, value: Any, ttl: Any = None, **kwargs: Any) -> bool:
        return await self._call(self.inner.set(key, value, ttl=ttl, **kwargs), False)

    async def multi_set(self, pairs: Any, ttl: Any = None, **kwargs: Any) -> bool:
        return await self._call(self.inner.multi_set(pairs, ttl=ttl, **kwargs), False)

    async def close(self, *args: Any, **kwargs: Any) -> None:
        await self._call(self.inner.close(*args, **kwargs), None)

    async def _call(self, call: Awaitable[T], fallback: T) -> T:
        try:
            result = await call
        except CACHE_ERRORS as exc:
            self._outage.failed(type(exc).__name__)
            return fallback
        self._outage.succeeded()
        return result
