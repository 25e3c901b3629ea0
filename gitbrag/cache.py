"""The cache layer for fetched GitHub data (aiocache).

Within one process it is memory; with `GITBRAG_REDIS_URL` it is Redis, so refreshers
on several processes share what one of them fetched (a popular repository's star
history is walked once, not once per contributor). Values are JSON, never pickles,
so nothing in a shared Redis can make a refresher execute code.
"""

from __future__ import annotations

from urllib.parse import urlparse

from aiocache import Cache
from aiocache.base import BaseCache
from aiocache.serializers import JsonSerializer


def make_cache(redis_url: str | None = None, namespace: str = "gitbrag:cache") -> BaseCache:
    if not redis_url:
        return Cache(Cache.MEMORY, serializer=JsonSerializer(), namespace=namespace)
    url = urlparse(redis_url)
    db = int(url.path.lstrip("/") or 0)
    return Cache(
        Cache.REDIS,
        endpoint=url.hostname or "localhost",
        port=url.port or 6379,
        db=db,
        password=url.password,
        serializer=JsonSerializer(),
        namespace=namespace,
    )
