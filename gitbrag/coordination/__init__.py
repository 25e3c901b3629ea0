"""Durable state behind one interface: `open_store(settings)` picks the backend,
`check_store(store)` says at start whether it can keep gitbrag's state."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gitbrag.coordination.base import Census, ClaimOutcome, ReportMeta, Store, TrackedUser
from gitbrag.coordination.errors import PassingProblem, StoreError, StoreUnavailable
from gitbrag.coordination.redis import RedisStore
from gitbrag.coordination.sqlite import SQLiteStore

if TYPE_CHECKING:  # the settings import this package (Redis URLs); here only their values are read
    from gitbrag.settings import Settings

__all__ = [
    "Census",
    "ClaimOutcome",
    "RedisStore",
    "ReportMeta",
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TrackedUser",
    "check_store",
    "open_store",
]

log = logging.getLogger(__name__)

# Kept GitHub data outlives this many stale periods in Redis (see gitbrag.coordination.redis).
COLLECTION_TTL_PERIODS = 3


def open_store(settings: Settings) -> Store:
    """Redis when GITBRAG_REDIS_URL is set (several processes or hosts), else SQLite at
    GITBRAG_STATE_PATH (one host)."""
    if settings.redis_url:
        return RedisStore.from_url(
            settings.redis_url, collection_ttl=COLLECTION_TTL_PERIODS * settings.stale_after_seconds
        )
    return SQLiteStore(settings.state_path)


async def check_store(store: Store) -> str | None:
    """Why the store cannot keep gitbrag's state (read-only, rejected credentials), for a
    one-line exit at start; None when it can or is merely down (then callers fail open).

    A Redis that may evict keys loses claims, tracked users and report metadata under
    memory pressure; passes rebuild them from the site, but the operator must hear it,
    once, at start."""
    if isinstance(store, RedisStore) and (cluster := await _cluster_problem(store)):
        return cluster
    problem = await store.write_problem()
    if isinstance(problem, PassingProblem):  # heals by itself: passes fail open, said once by them
        return None
    if problem is None and isinstance(store, RedisStore):
        try:
            policy = await store.eviction_policy()
        except (StoreError, OSError):  # down, or INFO denied too: nothing to warn about
            policy = None
        if policy is not None and policy != "noeviction":
            log.warning(
                "Redis may evict gitbrag's state under memory pressure: set maxmemory-policy noeviction",
                extra={"maxmemory_policy": policy},
            )
    return problem


async def _cluster_problem(store: RedisStore) -> str | None:
    """A cluster-mode Redis, said at start; a Redis that is down (or denies INFO) is not one."""
    try:
        return await store.cluster_problem()
    except (StoreError, OSError):
        return None
