"""Task tracking: each stale report is regenerated once, however many refreshers want it.

A refresher claims a task before it regenerates a report. Task ids are
`{username}:{period}:{params_hash}`, the username parsed as a `Login` (lowercased: logins
are case-insensitive; a name that is not a GitHub login is an `InvalidLogin`).
A claim is a lease of `ttl` seconds kept in the store with a random claim token:

- `start_task` takes it atomically on the server, and only if the task is free and
  the *reported* user (not the requester) has fewer than `per_user_limit` live tasks,
  so GitHub's shared rate limit is not spent on one user by many generations at once.
- A long generation renews the lease (`renew_task`, or `Claim.kept_alive`). A worker
  that crashes or stalls past the TTL loses the claim and someone else picks the
  report up; its token no longer matches, so `holds_task` (checked just before the
  final write) tells it not to publish over the newer report (fencing).
- Redis unreachable: tracking fails open, as the design says. A refresh still runs
  and publishes (duplicates are allowed then); the outage is logged once, and its end
  once. Claims granted during the outage are written to Redis when it is back, unless
  someone else claimed the task meanwhile. The same holds for a Redis that refuses
  writes (read-only, OOM, MISCONF) and for an SQLite file whose disk is full or failing
  or whose lock is held too long (`StoreUnavailable`); SQLite's other errors (a bug, a
  read-only file) are real errors and propagate. A release the store refused is retried,
  so a claim never outlives its generation by more than the outage.

The contract names are module-level functions. They work with no setup, from the same
environment the CLI reads; `configure_tracking` sets the tracker behind them instead (the
service does), and `TaskTracker` is the same API on an explicit store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from gitbrag.clock import Seconds, epoch
from gitbrag.coordination import open_store
from gitbrag.coordination.base import READ_METHODS, ClaimOutcome, Store, normalize_task_id, task_user
from gitbrag.coordination.errors import StoreUnavailable, error_name
from gitbrag.logs import OutageLog
from gitbrag.models import Login
from gitbrag.settings import DEFAULT_PER_USER_LIMIT, DEFAULT_TASK_TTL_SECONDS, Settings, load_settings

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_task_id(username: str, period: str, params_hash: str) -> str:
    return f"{Login(username)}:{period}:{params_hash}"


def hash_params(params: Mapping[str, Any]) -> str:
    """A short stable hash of what else shapes a report (so different shapes are different tasks)."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class TaskTracker:
    """Claims on one store for one worker. `clock` (epoch seconds) decides expiry on
    SQLite; Redis uses its server clock so skewed hosts still agree."""

    def __init__(
        self,
        store: Store,
        *,
        worker_id: str | None = None,
        ttl: float = DEFAULT_TASK_TTL_SECONDS,
        per_user_limit: int = DEFAULT_PER_USER_LIMIT,
        clock: Seconds = epoch,
    ) -> None:
        if ttl <= 0 or per_user_limit < 1:
            raise ValueError("ttl must be > 0 and per_user_limit >= 1")
        self.store = store
        self.worker_id = worker_id or default_worker_id()
        self.ttl = ttl
        self.per_user_limit = per_user_limit
        self.clock = clock
        self._held: dict[str, str] = {}  # task id -> token, for complete_task(task_id) alone
        self._unbacked: set[str] = set()  # tokens granted or renewed while Redis was down
        self._lease_ends: dict[str, float] = {}  # token -> its lease's end at the latest (clock)
        self._unreleased: dict[str, str] = {}  # task id -> token whose release the store refused
        self._outage = (
            OutageLog(
                log,
                "the state file cannot be used: task tracking fails open (duplicates possible) until it can",
                "the state file works again: task tracking restored",
            )
            if store.kind == "sqlite"
            else OutageLog(
                log,
                "Redis unreachable: task tracking fails open (duplicates possible) until it is back",
                "Redis reachable again: task tracking restored",
            )
        )

    @classmethod
    def from_settings(cls, store: Store, settings: Settings, worker_id: str | None = None) -> TaskTracker:
        """GITBRAG_TASK_TTL_SECONDS and GITBRAG_PER_USER_LIMIT."""
        return cls(
            store, worker_id=worker_id, ttl=settings.task_ttl_seconds, per_user_limit=settings.per_user_limit
        )

    # --- the contract -------------------------------------------------------------

    async def start_task(
        self, task_id: str, metadata: Mapping[str, Any] | None = None, *, token: str | None = None
    ) -> bool:
        """Claim the task; False when it is active or its user is at the limit."""
        return await self.try_claim(task_id, metadata, token=token) is not None

    async def try_claim(
        self, task_id: str, metadata: Mapping[str, Any] | None = None, *, token: str | None = None
    ) -> Claim | None:
        """`start_task`, returning the claim (with its token) to renew, check and release."""
        task_id = normalize_task_id(task_id)
        token = token or secrets.token_hex(16)
        doc = {
            "username": task_user(task_id),
            "worker_id": self.worker_id,
            "started_at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            **(metadata or {}),
        }
        asked = self.clock()
        outcome = await self.guard(
            self.store.claim_task(task_id, token, doc, self.ttl, self.per_user_limit, asked), None
        )
        if outcome is None:  # fail open
            self._unbacked.add(token)
        elif outcome is not ClaimOutcome.STARTED:
            log.debug("task not started", extra={"task_id": task_id, "reason": str(outcome)})
            return None
        self._held[task_id] = token
        self._lease_ends[token] = asked + self.ttl
        return Claim(self, task_id, token)

    async def complete_task(self, task_id: str, token: str | None = None) -> bool:
        """Release the claim if `token` (by default the one this tracker took) still holds it."""
        task_id = normalize_task_id(task_id)
        token = token or self._held.get(task_id)
        if token is None:
            return False
        if self._held.get(task_id) == token:
            del self._held[task_id]
        self._unbacked.discard(token)
        self._lease_ends.pop(token, None)
        released = await self.guard(self.store.release_task(task_id, token, self.clock()), None)
        if released is None:  # the store refused the write (disk full, MISCONF): retried later
            self._unreleased[task_id] = token
            return False
        await self.release_pending()
        return released

    async def release_pending(self) -> list[str]:
        """Release again the claims whose release the store refused; the task ids still held
        afterwards. A claim left in the store would hold its report, and the user under the
        per-user limit, until its lease ends, though nobody works on it: each release is
        retried after the next one that succeeds, and at the end of every pass."""
        for task_id, token in list(self._unreleased.items()):
            if await self.guard(self.store.release_task(task_id, token, self.clock()), None) is None:
                break  # still refused: try again later
            del self._unreleased[task_id]
        return sorted(self._unreleased)

    async def renew_task(self, task_id: str, token: str | None = None, ttl: float | None = None) -> bool:
        """Extend the lease; False when the claim was lost (lapsed or taken over)."""
        task_id = normalize_task_id(task_id)
        token = token or self._held.get(task_id)
        if token is None:
            return False
        if token in self._unbacked:
            return await self._adopt(task_id, token)
        asked = self.clock()
        result = await self.guard(self.store.renew_claim(task_id, token, ttl or self.ttl, asked), None)
        if result is None:
            self._unbacked.add(token)  # if it lapses during the outage, adopt it afterwards
            return True
        if not result:
            return await self._vanished(task_id, token)
        self._lease_ends[token] = asked + (ttl or self.ttl)
        return True

    async def holds_task(self, task_id: str, token: str | None = None) -> bool:
        """Whether `token` still holds the claim: check it just before the final write."""
        task_id = normalize_task_id(task_id)
        token = token or self._held.get(task_id)
        if token is None:
            return False
        if token in self._unbacked:
            return await self._adopt(task_id, token)
        meta = await self.guard(self.store.task_metadata(task_id, self.clock()), {"claim_token": token})
        if meta is None:
            return await self._vanished(task_id, token)
        return meta.get("claim_token") == token

    async def is_task_active(self, task_id: str) -> bool:
        meta = await self.guard(self.store.task_metadata(normalize_task_id(task_id), self.clock()), None)
        return meta is not None

    async def get_reported_user_active_tasks(self, reported_username: str) -> list[str]:
        return await self.guard(self.store.active_tasks(Login(reported_username), self.clock()), [])

    async def can_start_reported_user_task(self, reported_username: str) -> bool:
        """A hint for schedulers (the claim itself re-checks atomically)."""
        return len(await self.get_reported_user_active_tasks(reported_username)) < self.per_user_limit

    def adopt_held(self, other: TaskTracker) -> None:
        """Take over the claims `other` (the same worker, on an earlier event loop) holds."""
        self._held.update(other._held)
        self._unbacked.update(other._unbacked)
        self._unreleased.update(other._unreleased)
        self._lease_ends.update(other._lease_ends)

    # --- outage handling ------------------------------------------------------------

    async def guard(self, call: Awaitable[T], fallback: T) -> T:
        """Await a store call; while the store is unavailable (`StoreUnavailable`) return
        `fallback` (fail open), logging the outage once and its end once; each call the
        state file drops is one line more (they are rare, and each is a report behind)."""
        name = getattr(call, "__name__", "")
        try:
            result = await call
        except StoreUnavailable as exc:
            self._outage.failed(error_name(exc), exc.headline)
            if exc.local:
                call_name = getattr(call, "__qualname__", "store call")
                said = "state not read" if name in READ_METHODS else "state not recorded"
                log.warning(said, extra={"call": call_name, "error": str(exc)})
            return fallback
        if name not in READ_METHODS or self._outage.down_message_used is None:
            # A store that refuses writes still reads: only a write ends that outage.
            self._outage.succeeded()
        return result

    async def _vanished(self, task_id: str, token: str) -> bool:
        """The claim is not in the store. Lapsed (our lease ran out: a stalled worker) it is
        lost, and fencing must stop the write. Gone while its lease still ran, nobody can have
        released it but us: the store lost it (a Redis that evicts keys, one restarted empty),
        so it is claimed again under the same token unless someone took the task meanwhile.
        The lease is timed from before it was asked for, so "still ran" never overestimates."""
        if self.clock() >= self._lease_ends.get(token, 0):
            return False
        log.warning(
            "claim vanished from the store before its lease ended: claiming it again",
            extra={"task_id": task_id, "user": task_user(task_id)},
        )
        return await self._adopt(task_id, token)

    async def _adopt(self, task_id: str, token: str) -> bool:
        """A claim granted (or last renewed) during an outage: record it now that the
        store answers. It yields only if someone else claimed the task meanwhile."""
        doc = {"username": task_user(task_id), "worker_id": self.worker_id, "adopted": True}
        asked = self.clock()
        claim = self.store.claim_task(task_id, token, doc, self.ttl, self.per_user_limit, asked)
        outcome = await self.guard(claim, None)
        if outcome is None or outcome is ClaimOutcome.LIMITED:
            return True  # still down, or the user's slots are taken: carry on unbacked
        if outcome is ClaimOutcome.STARTED:
            self._unbacked.discard(token)
            self._lease_ends[token] = asked + self.ttl
            return True
        meta = await self.guard(self.store.task_metadata(task_id, self.clock()), None)
        if meta is not None and meta.get("claim_token") == token:
            self._unbacked.discard(token)
            return True
        return False


@dataclass(frozen=True)
class Claim:
    """A held claim: the token travels with it, so fencing cannot pick up someone else's."""

    tracker: TaskTracker
    task_id: str
    token: str

    async def renew(self) -> bool:
        return await self.tracker.renew_task(self.task_id, self.token)

    async def holds(self) -> bool:
        return await self.tracker.holds_task(self.task_id, self.token)

    async def release(self) -> bool:
        return await self.tracker.complete_task(self.task_id, self.token)

    @asynccontextmanager
    async def kept_alive(self, every: float | None = None) -> AsyncIterator[Claim]:
        """Renew the lease every `every` seconds (a third of the TTL by default) while
        the body runs. A lost claim is not an error here: check `holds()` before publishing."""
        interval = every or self.tracker.ttl / 3

        async def renew_forever() -> None:
            while True:
                await asyncio.sleep(interval)
                if not await self.renew():
                    log.warning("claim lost while generating", extra={"task_id": self.task_id})
                    return

        renewer = asyncio.create_task(renew_forever())
        try:
            yield self
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer


_default: TaskTracker | None = None  # set by configure_tracking (the service, the tests)
_lazy: tuple[asyncio.AbstractEventLoop, TaskTracker] | None = None  # built from the environment


def configure_tracking(tracker: TaskTracker | None) -> None:
    """Set the tracker behind the module-level contract functions; None goes back to the
    one built from the environment."""
    global _default
    _default = tracker


def get_tracker() -> TaskTracker:
    """The configured tracker, or one built from the same settings the CLI reads
    (GITBRAG_REDIS_URL or GITBRAG_STATE_PATH, GITBRAG_TASK_TTL_SECONDS, GITBRAG_PER_USER_LIMIT),
    so a script needs no setup. A store's connections belong to one event loop, so each new
    loop (each `asyncio.run`) gets a new store; the claims this process took carry over, so
    `complete_task(task_id)` in a later `asyncio.run` still releases them."""
    global _lazy
    if _default is not None:
        return _default
    loop = asyncio.get_running_loop()
    if _lazy is None or _lazy[0] is not loop:
        settings = load_settings()
        tracker = TaskTracker.from_settings(open_store(settings), settings)
        if _lazy is not None:
            tracker.adopt_held(_lazy[1])
        _lazy = (loop, tracker)
    return _lazy[1]


async def is_task_active(task_id: str) -> bool:
    return await get_tracker().is_task_active(task_id)


async def start_task(task_id: str, metadata: Mapping[str, Any] | None = None) -> bool:
    return await get_tracker().start_task(task_id, metadata)


async def complete_task(task_id: str, token: str | None = None) -> bool:
    return await get_tracker().complete_task(task_id, token)


async def renew_task(task_id: str, token: str | None = None, ttl: float | None = None) -> bool:
    return await get_tracker().renew_task(task_id, token, ttl)


async def holds_task(task_id: str, token: str | None = None) -> bool:
    return await get_tracker().holds_task(task_id, token)


async def get_reported_user_active_tasks(reported_username: str) -> list[str]:
    return await get_tracker().get_reported_user_active_tasks(reported_username)


async def can_start_reported_user_task(reported_username: str) -> bool:
    return await get_tracker().can_start_reported_user_task(reported_username)
