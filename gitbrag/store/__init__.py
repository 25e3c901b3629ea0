"""Durable state behind one interface: `open_store(settings)` picks the backend."""

from __future__ import annotations

from gitbrag.settings import ConfigError, Settings
from gitbrag.store.base import ReportMeta, Store, TrackedUser
from gitbrag.store.sqlite import SQLiteStore

__all__ = ["ReportMeta", "SQLiteStore", "Store", "TrackedUser", "open_store"]


def open_store(settings: Settings) -> Store:
    """SQLite at GITBRAG_STATE_PATH; the Redis backend arrives with the coordination work."""
    if settings.redis_url:
        raise ConfigError("GITBRAG_REDIS_URL: the Redis store is not available yet; unset it to use SQLite")
    return SQLiteStore(settings.state_path)
