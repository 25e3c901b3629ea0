"""The cache layer for fetched GitHub data (aiocache).

Within one process it is memory; with `GITBRAG_REDIS_URL` it is Redis, so refreshers
on several processes share what one of them fetched (a popular repository's star
history is walked once, not once per contributor). Values are JSON, never pickles,
so nothing in a shared Redis can make a refresher execute code.

A cache is only an optimisation, so it fails open: while Redis is unreachable, reads
miss and writes are dropped (logged once per outage) and refreshes carry on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlparse

from aiocache import Cache
from aiocache.base import BaseCache
from aiocache.serializers import JsonSerializer

from gitbrag.logs import OutageLog
from gitbrag.store.redis import OUTAGE_ERRORS

log = logging.getLogger(__name__)
T = TypeVar("T")
CACHE_ERRORS: tuple[type[BaseException], ...] = (*OUTAGE_ERRORS, TimeoutError, OSError)


def make_cache(redis_url: str | None = None, namespace: str = "gitbrag:cache") -> BaseCache:
    if not redis_url:
        return Cache(Cache.MEMORY, serializer=JsonSerializer(), namespace=namespace)
    url = urlparse(redis_url)
    inner = Cache(
        Cache.REDIS,
        endpoint=url.hostname or "localhost",
        port=url.port or 6379,
        db=int(url.path.lstrip("/") or 0),
        password=url.password,
        serializer=JsonSerializer(),
        namespace=namespace,
    )
    return FailOpenCache(inner)


class FailOpenCache(BaseCache):  # type: ignore[misc]
    """The operations gitbrag uses, delegated to `inner`, with outages turned into misses."""

    def __init__(self, inner: BaseCache) -> None:
        super().__init__(serializer=JsonSerializer())
        self.inner = inner
        self._outage = OutageLog(
            log, "cache unreachable: fetching from GitHub instead", "cache reachable again"
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
            self._outage.failed(exc)
            return fallback
        self._outage.succeeded()
        return result
