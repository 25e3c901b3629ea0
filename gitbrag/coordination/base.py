"""The store: durable state shared by every refresher (cron runs, the service, the hook).

It holds the tracked users, per-report metadata (when generated, last error, when
next due: the stale index) and the kept GitHub data of each user. One small
interface with two backends: embedded SQLite (the default, for one host) and Redis
(when `GITBRAG_REDIS_URL` is set, for several processes or hosts).

Logins are case-insensitive on GitHub: the store keys everything by a `Login` (the
lowercased login, parsed at the doors) and remembers GitHub's spelling for display.

The store also holds *claims*: the leases that make each stale report regenerate
exactly once however many refreshers want it (see `gitbrag.coordination.tracking` for the public
API and the rules). A claim is taken in one atomic step on the server, together with
the per-reported-user limit, so no interleaving of clients can break either rule.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from gitbrag.models import Collection, Login, StarHistory


@dataclass(frozen=True)
class ReportMeta:
    """What the store knows about one published report (one user, one period)."""

    login: Login
    period: str
    next_due_at: datetime  # the stale index orders reports by this
    generated_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    failures: int = 0  # consecutive failed attempts, for backoff


@dataclass(frozen=True)
class TrackedUser:
    login: Login
    display: str  # GitHub's spelling, as last seen
    missing: bool = False  # GitHub said the user does not exist
    # Where it came from when first tracked (`SOURCES`); None: tracked before sources were kept.
    source: str | None = None


@dataclass(frozen=True)
class Census:
    """What a pass compares with the marks the previous pass left, read in one round trip
    whatever the number of users (issue 29): a pass with nothing due reads this, not everyone.

    `tracked` and `reports` count the users and the due index's entries; `changes` counts the
    writes that change what the site's index lists (reports generated, users added or
    untracked), by any process; `marks` are what the last complete pass saved (`save_marks`),
    empty when the store lost them (a Redis restarted empty, a new state file)."""

    tracked: int
    reports: int
    changes: int
    marks: dict[str, str] = field(default_factory=dict)


# Where a tracked user came from (`gitbrag users` shows it; `gitbrag untrack` checks it):
# GITBRAG_USERS, `--user`, the hook, a GITBRAG_TEAMS organization, the site's own pages
# (tracked again after the store lost its state).
SOURCES = ("settings", "cli", "hook", "team", "site")


class ClaimOutcome(StrEnum):
    """Why a claim was (not) taken: the refresher logs skipped duplicates and
    limit-deferred reports differently."""

    STARTED = "started"
    ACTIVE = "active"  # someone holds this very task
    LIMITED = "limited"  # the reported user already has `limit` live tasks


def task_user(task_id: str) -> Login:
    """The reported user of a task id `{username}:{period}:{params_hash}`.

    Both backends key the per-user limit by it, so it lives with the contract. A task id
    that does not start with a GitHub login is an InvalidLogin (a ValueError)."""
    return Login(task_id.split(":", 1)[0])


def normalize_task_id(task_id: str) -> str:
    """`Octocat:1_year:x` and `octocat:1_year:x` are one task: the username parsed."""
    _, sep, rest = task_id.partition(":")
    return task_user(task_id) + sep + rest


# The `Store` methods that only read. A store refusing writes (a read-only replica, MISCONF,
# a full disk) still answers them, so their success does not mean it takes writes again.
READ_METHODS = frozenset(
    {
        "ping",
        "tracked",
        "tracked_page",
        "tracked_among",
        "census",
        "due",
        "report_meta",
        "load_collection",
        "load_star_histories",
        "task_metadata",
        "active_tasks",
    }
)


class Store(Protocol):
    """Durable state; every method is safe to call from several processes at once."""

    kind: str  # "sqlite" or "redis"

    async def ping(self) -> bool:
        """True when the backend answers."""
        ...

    async def write_problem(self) -> str | None:
        """None when the store accepts writes, else why not, in one line without secrets
        (a read-only replica, a full Redis, rejected credentials). None too when it is
        merely unreachable: `ping` says that, and callers fail open until it is back."""
        ...

    async def close(self) -> None: ...

    async def track(
        self, logins: list[Login], now: datetime, periods: tuple[str, ...], source: str | None = None
    ) -> None:
        """Add users to the tracked set (a new user's display name is its Login's spelling);
        each report they lack becomes due at `now`. `source` (`SOURCES`) is kept for a user
        that has none yet: where it came from first."""
        ...

    async def tracked(self) -> list[TrackedUser]:
        """Every tracked user, sorted by login."""
        ...

    async def tracked_page(self, cursor: str, size: int) -> tuple[str, list[TrackedUser]]:
        """About `size` tracked users from `cursor` ("" to begin), and the cursor of the next
        page ("" after the last): `tracked_pages` walks them all without holding them all."""
        ...

    async def tracked_among(self, logins: list[Login]) -> dict[Login, TrackedUser]:
        """Those of `logins` that are tracked: work in the names asked about, not in everyone."""
        ...

    async def census(self) -> Census:
        """The counts and marks a pass starts from (`Census`), without listing anyone."""
        ...

    async def save_marks(self, marks: dict[str, str]) -> None:
        """Keep `marks` (merged into those kept) for the next pass's `census`."""
        ...

    async def due(self, now: datetime, limit: int | None = None) -> list[ReportMeta]:
        """Reports whose next_due_at <= now, oldest-due first, without scanning the rest."""
        ...

    async def report_meta(self, login: Login) -> dict[str, ReportMeta]:
        """Metadata of one user's reports, by period."""
        ...

    async def mark_generated(
        self, login: Login, periods: list[str], generated_at: datetime, next_due_at: datetime
    ) -> None:
        """Record a successful publish: clears the error and failure count."""
        ...

    async def mark_failed(
        self, login: Login, periods: list[str], at: datetime, error: str, next_due_at: datetime
    ) -> int:
        """Record a failed attempt (the old page stays); returns the consecutive failure count."""
        ...

    async def mark_missing(self, login: Login, missing: bool) -> None:
        """Remember that GitHub says the user does not exist (or exists again)."""
        ...

    async def load_collection(self, login: Login) -> Collection | None:
        """The GitHub data kept from the user's last successful collection."""
        ...

    async def save_collection(self, collection: Collection) -> None: ...

    async def load_star_histories(self, repos: list[str]) -> dict[str, StarHistory]:
        """The deployment's kept star history of each repository that has one (by the name
        asked for; names are case-insensitive)."""
        ...

    async def save_star_histories(self, histories: list[StarHistory]) -> None:
        """Keep these histories for every user, pass and process (one per repository)."""
        ...

    # --- claims ---------------------------------------------------------------
    # `task_id` is already normalized (lowercased username). `now` is the caller's
    # clock in epoch seconds: SQLite compares stored expiry times with it, while
    # Redis ignores it and uses its own server time, so clients whose clocks
    # disagree still agree on what has expired.

    async def claim_task(
        self, task_id: str, token: str, metadata: dict[str, Any], ttl: float, limit: int, now: float
    ) -> ClaimOutcome:
        """Atomically: take the task for `ttl` seconds unless it is held or its user
        already holds `limit` live tasks. The metadata is kept with `claim_token`."""
        ...

    async def release_task(self, task_id: str, token: str, now: float) -> bool:
        """Drop the claim if `token` still holds it (compare-and-delete)."""
        ...

    async def renew_claim(self, task_id: str, token: str, ttl: float, now: float) -> bool:
        """Extend the lease to `ttl` seconds from now if `token` still holds it."""
        ...

    async def task_metadata(self, task_id: str, now: float) -> dict[str, Any] | None:
        """The live claim's metadata (with `claim_token`), None when not held."""
        ...

    async def active_tasks(self, username: Login, now: float) -> list[str]:
        """The user's live task ids, sorted."""
        ...

    # --- force-refresh cooldown ----------------------------------------------
    # Same clock rule as claims: SQLite uses `now`, Redis its server time.

    async def try_cooldown(self, login: Login, seconds: float, now: float) -> float | None:
        """Atomically start the user's force-refresh cooldown of `seconds`, unless one is
        still running: None when it was started (the caller may go ahead), else the
        seconds left. The hook uses it so an anonymous "Refresh now" button cannot make
        the service spend GitHub's rate limit on one user over and over."""
        ...

    # --- one-time keys -------------------------------------------------------
    # Same clock rule as claims: SQLite uses `now`, Redis its server time.

    async def remember_once(self, key: str, ttl: float, now: float) -> bool:
        """Atomically remember `key` for `ttl` seconds: True when it was not remembered
        already (the caller is the first), False when it was. The hook keys each signed
        request's delivery id with it (`hook:delivery:<id>`), so a captured request replayed
        to any replica sharing the store is refused while its timestamp is still accepted."""
        ...

    # --- forgetting a user -----------------------------------------------------

    async def untrack(self, login: Login) -> None:
        """Forget the user: no longer tracked, its report metadata, kept collection and
        force-refresh cooldown gone (its claims are its holders' to release). For a name
        GitHub does not know on its first refresh; a user that existed is marked missing."""
        ...


async def tracked_pages(store: Store, size: int = 1000) -> AsyncIterator[list[TrackedUser]]:
    """Every tracked user, about `size` at a time: memory never holds them all (issue 29).
    SQLite gives them sorted by login; Redis in the order HSCAN walks its hash, where a user
    may come twice (callers only do what doing twice does once: track, check, collect)."""
    cursor = ""
    while True:
        cursor, users = await store.tracked_page(cursor, size)
        if users:
            yield users
        if not cursor:
            return
