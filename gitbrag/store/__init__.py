"""Durable state behind one interface: `open_store(settings)` picks the backend."""

from __future__ import annotations

from gitbrag.settings import Settings
from gitbrag.store.base import ClaimOutcome, ReportMeta, Store, TrackedUser
from gitbrag.store.redis import RedisStore
from gitbrag.store.sqlite import SQLiteStore

__all__ = ["ClaimOutcome", "RedisStore", "ReportMeta", "SQLiteStore", "Store", "TrackedUser", "open_store"]

# Kept GitHub data outlives this many stale periods in Redis (see gitbrag.store.redis).
COLLECTION_TTL_PERIODS = 3


def open_store(settings: Settings) -> Store:
    """Redis when GITBRAG_REDIS_URL is set (several processes or hosts), else SQLite at
    GITBRAG_STATE_PATH (one host)."""
    if settings.redis_url:
        return RedisStore.from_url(
            settings.redis_url, collection_ttl=COLLECTION_TTL_PERIODS * settings.stale_after_seconds
        )
    return SQLiteStore(settings.state_path)
