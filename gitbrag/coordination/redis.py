"""The shared store: Redis, for refreshers on several processes or hosts.

Every Redis atomic of gitbrag (Lua scripts, MULTI) lives in this module, so the
rules that make claims safe can be read in one place.

Key layout. The two claim keys are named exactly as the design gitbrag implements names
them, so an operator's `GET task:report:mona-lisa:1_year:abc123` or another tool of that
design finds them; the other keys keep the names earlier releases gave them (the braces are
literal characters of those names, kept so an upgrade keeps its state).

    task:report:mona-lisa:1_year:abc123     a claim: `task:report:` + the task id, verbatim.
                                            JSON started_at, username, worker_id,
                                            claim_token; PX = the lease
    task:user:mona-lisa:active              the reported user's live claims: a sorted set of
                                            task ids scored by expiry (ms, server time), so a
                                            crashed worker's claim stops counting at once
    {gitbrag}:users                         hash login -> GitHub's spelling
    {gitbrag}:missing                       set of logins GitHub says do not exist
    {gitbrag}:sources                       hash login -> where it came from (base.SOURCES)
    {gitbrag}:report:mona-lisa:1_year       hash: one report's metadata
    {gitbrag}:reports:mona-lisa             set: the periods the user has metadata for
    {gitbrag}:due                           the stale index: sorted set of
                                            "mona-lisa 1_year" scored by next_due_at
    {gitbrag}:marks                         hash: what the last complete pass saw (base.Census)
    {gitbrag}:changes                       counter of writes that change the site's index
    gitbrag:collection:{mona-lisa}          the user's kept GitHub data (JSON)
    gitbrag:starindex:owner/repo            a repository's star history (starcodec)
    gitbrag:cooldown:{mona-lisa}            the user's force-refresh cooldown (PX = its length)

One Redis (a primary, with replicas for failover if you like) holds them all: the claim
script checks the per-user limit and takes the claim in one step over two keys, which Redis
Cluster would refuse across slots. Redis Cluster is not supported, and `cluster_problem`
says so at start rather than letting scripts fail at random. Collections are the bulk of
the memory, so each has an expiry of a few stale periods (see `open_store`): a collection
is only the base for the next incremental fetch, which happens once per stale period; one
that has not been refreshed for several periods (an untracked user, a long-failing one) is
dropped and the next refresh simply collects in full.

Upgrading from releases that named the claims `task:report:{mona-lisa}:…` and
`task:user:{mona-lisa}:active` needs nothing: claims are leases of minutes, so the old keys
lapse by themselves within `GITBRAG_TASK_TTL_SECONDS`; while old and new processes run side
by side they do not see each other's claims, and the fence on `report.json`'s generation
still keeps the older of two concurrent generations from overwriting the newer.

A due-index member is "login period": a space sorts before every character a login
may hold, so ties on next_due_at order by login, then period, as in SQLite.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.connection import parse_url
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gitbrag.clock import utcnow
from gitbrag.coordination import starcodec
from gitbrag.coordination.base import Census, ClaimOutcome, ReportMeta, TrackedUser, task_user
from gitbrag.coordination.errors import PassingProblem, StoreError, StoreUnavailable, raises_store_errors
from gitbrag.models import Collection, Login, StarHistory

# Shared by every script: the server's clock in milliseconds.
_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: task key, user's active set. ARGV: task id, metadata JSON, ttl ms, limit.
# Returns 1 started, 0 the task is held, -1 the user is at the limit.
_CLAIM = (
    _NOW_MS
    + """
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
"""
)

# KEYS: task key, user's active set. ARGV: task id, token, ttl ms. 1 when renewed.
_RENEW = (
    _NOW_MS
    + """
local doc = redis.call('GET', KEYS[1])
if not doc or cjson.decode(doc)['claim_token'] ~= ARGV[2] then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
"""
)

# KEYS: task key, user's active set. ARGV: task id, token. 1 when released.
_RELEASE = """
local doc = redis.call('GET', KEYS[1])
if not doc then
  redis.call('ZREM', KEYS[2], ARGV[1])  -- lapsed: nobody holds it, tidy the set
  return 0
end
if cjson.decode(doc)['claim_token'] ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

# KEYS: user's active set. The live members, by server time.
_ACTIVE = (
    _NOW_MS
    + """
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
"""
)

# KEYS: users hash, missing set. ARGV: login, display ('' keeps it), missing '0'/'1'.
# Only a tracked user is updated, as in SQLite.
_UPDATE_USER = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
if ARGV[3] == '1' then redis.call('SADD', KEYS[2], ARGV[1]) else redis.call('SREM', KEYS[2], ARGV[1]) end
return 1
"""

# KEYS: the user's cooldown key. ARGV: cooldown ms. -1 when started, else the ms left.
_COOLDOWN = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return -1 end
return redis.call('PTTL', KEYS[1])
"""

USERS = "{gitbrag}:users"
MISSING = "{gitbrag}:missing"
SOURCES = "{gitbrag}:sources"
DUE = "{gitbrag}:due"
MARKS = "{gitbrag}:marks"
CHANGES = "{gitbrag}:changes"

# The errors that mean "Redis cannot serve gitbrag right now" (as opposed to a bug): unreachable,
# too slow, or refusing writes (a replica after a failover, memory full under `noeviction`).
# Tracking fails open on them: a pass still publishes and the store catches up later.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, TimeoutError)
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (*UNREACHABLE_ERRORS, ReadOnlyError, OutOfMemoryError)
HEALTH_KEY = "{gitbrag}:health"  # the write probe's key (expires at once)


log = logging.getLogger(__name__)

# Said once per outage when Redis refuses writes because it cannot save (its own disk full).
READ_ONLY_HEADLINE = "Redis refuses writes: a read-only replica (a failover?); refreshes publish without it"
OOM_HEADLINE = "Redis refuses writes: OOM (maxmemory reached); refreshes publish without it"
MISCONF_HEADLINE = "Redis refuses writes: MISCONF (it cannot save to its disk); refreshes publish without it"


def refuses_writes(exc: BaseException) -> bool:
    """MISCONF: Redis cannot save (its disk full) and, with `stop-writes-on-bgsave-error`,
    refuses writes and even PING until a save succeeds. redis-py has no class for it (a
    plain ResponseError; inside a pipeline or script its message is prefixed)."""
    return isinstance(exc, ResponseError) and "MISCONF" in str(exc)


def _store_error(exc: Exception) -> StoreError | None:
    """redis-py's errors as the store's own (see `gitbrag.coordination.errors`)."""
    if isinstance(exc, ReadOnlyError):
        return StoreUnavailable(f"Redis: {exc}", headline=READ_ONLY_HEADLINE)
    if isinstance(exc, OutOfMemoryError):
        return StoreUnavailable(f"Redis: {exc}", headline=OOM_HEADLINE)
    if isinstance(exc, OUTAGE_ERRORS):
        return StoreUnavailable(f"Redis: {exc or type(exc).__name__}")
    if refuses_writes(exc):
        return StoreUnavailable(f"Redis: {exc}", headline=MISCONF_HEADLINE)
    if isinstance(exc, RedisError):
        return StoreError(f"Redis: {exc or type(exc).__name__}")
    return None


def redis_url_parts(url: str) -> dict[str, Any]:
    """redis-py's reading of a Redis URL (host, port, db, path, ...); `ValueError` when bad."""
    parts: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
    return parts


def redis_address(url: str) -> str:
    """host:port or the socket's path, for messages: never the password."""
    parts = redis_url_parts(url)
    if "path" in parts:
        return str(parts["path"])
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 6379)}"


async def not_redis(url: str, within: float, patience: float | None = None) -> str | None:
    """Why whatever listens at `url` is not Redis, or None (it answers as Redis, or nothing
    listens: a Redis that is merely down is not a setting's fault, the store fails open).

    Something that is not Redis (another service's port) accepts the connection and then
    says something else, or nothing: every call would wait out its socket timeout. But a
    Redis busy for seconds (a big save, someone's `KEYS *`, `CLIENT PAUSE`) says nothing
    too, for a while: silence past `within` is waited for, up to `patience` seconds in
    all, with one line saying so; only what answers something else is "not Redis" at once."""
    if not await _accepts_connections(url, within):
        return None
    started = time.monotonic()
    answer = await _ping(url, within)
    patience = max(patience or within, within)
    if answer is _Answer.SILENT and patience > within:
        log.warning(
            "Redis accepted the connection but has not answered yet (busy?): waiting for it",
            extra={"redis": redis_address(url), "waited_s": within, "wait_up_to_s": patience},
        )
        answer = await _ping(url, max(0.1, patience - (time.monotonic() - started)))
        if answer is _Answer.REDIS:
            log.info("Redis answered", extra={"waited_s": round(time.monotonic() - started, 1)})
    if answer is _Answer.SILENT:
        return (
            f"{redis_address(url)} accepted the connection but did not answer as Redis within {patience:g} s"
        )
    if answer is _Answer.OTHER:
        return f"{redis_address(url)} accepted the connection but did not answer as Redis"
    return None


class _Answer(Enum):
    REDIS = "redis"
    SILENT = "silent"
    OTHER = "other"  # a protocol error, a TLS failure, a closed connection: not Redis


async def _ping(url: str, within: float) -> _Answer:
    client = aioredis.from_url(
        url, socket_connect_timeout=within, socket_timeout=within, retry=Retry(NoBackoff(), 0)
    )
    try:
        await client.ping()
    except (AuthenticationError, ResponseError, BusyLoadingError):
        return _Answer.REDIS  # Redis it is (loading its data, or refusing): `check_store` says what
    except (RedisTimeoutError, TimeoutError):
        return _Answer.SILENT
    except Exception:
        return _Answer.OTHER
    finally:
        await client.aclose()
    return _Answer.REDIS


async def _accepts_connections(url: str, within: float) -> bool:
    parts = redis_url_parts(url)
    try:
        if "path" in parts:
            opened = asyncio.open_unix_connection(str(parts["path"]))
        else:
            opened = asyncio.open_connection(parts.get("host", "localhost"), parts.get("port", 6379))
        _, writer = await asyncio.wait_for(opened, within)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


def connect(url: str, *, decode_responses: bool = True, socket_timeout: float = 5) -> aioredis.Redis:
    """The one way gitbrag opens Redis (the store and the cache alike): redis-py parses the
    URL, so percent-encoded passwords, ACL usernames, `rediss://` and `?db=` all work.

    Short timeouts so an outage, or a Redis too slow to answer within `socket_timeout`,
    fails a call fast (callers then fail open) instead of hanging the pass, and one quick
    retry so a pooled connection that died with a restarted server reconnects without
    the caller noticing."""
    client: aioredis.Redis = aioredis.from_url(
        url,
        decode_responses=decode_responses,
        socket_connect_timeout=min(2, socket_timeout),
        socket_timeout=socket_timeout,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), 1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return client


def task_key(task_id: str) -> str:
    """`mona-lisa:1_year:abc` -> `task:report:mona-lisa:1_year:abc` (the task id verbatim)."""
    return "task:report:" + task_id


def active_key(username: Login) -> str:
    """`mona-lisa` -> `task:user:mona-lisa:active` (the login, lowercased as task ids are)."""
    return f"task:user:{username}:active"


def _report_key(login: Login, period: str) -> str:
    return f"{{gitbrag}}:report:{login}:{period}"


def _reports_key(login: Login) -> str:
    return f"{{gitbrag}}:reports:{login}"


def _collection_key(login: Login) -> str:
    return "gitbrag:collection:{" + login + "}"


def _stars_key(repo: str) -> str:
    return "gitbrag:starindex:" + repo.lower()


def _cooldown_key(login: Login) -> str:
    return "gitbrag:cooldown:{" + login + "}"


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


@raises_store_errors(_store_error)
class RedisStore:
    """`Store` on Redis (see `gitbrag.coordination.base.Store` for the contract)."""

    kind = "redis"

    def __init__(self, client: aioredis.Redis, *, collection_ttl: float | None = None) -> None:
        """`client` must decode responses to str. `collection_ttl` (seconds) bounds how
        long unrefreshed GitHub data is kept; None keeps it forever."""
        self._redis = client
        self.collection_ttl = collection_ttl
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._active = client.register_script(_ACTIVE)
        self._update_user = client.register_script(_UPDATE_USER)
        self._cooldown = client.register_script(_COOLDOWN)

    @classmethod
    def from_url(
        cls, url: str, *, collection_ttl: float | None = None, socket_timeout: float = 5
    ) -> RedisStore:
        return cls(connect(url, socket_timeout=socket_timeout), collection_ttl=collection_ttl)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError) as exc:
            return refuses_writes(exc)  # MISCONF refuses PING too, yet Redis answers

    async def write_problem(self) -> str | None:
        """A real write (a key that expires at once), because only a write tells a
        read-only replica, a full `noeviction` Redis or an ACL without write rights
        from a healthy primary: each of them answers PING and reads."""
        try:
            await self._redis.set(HEALTH_KEY, "1", px=1000)
        except AuthenticationError:
            return "Redis at GITBRAG_REDIS_URL rejected the username or password in the URL"
        except UNREACHABLE_ERRORS:
            return None  # down, not refusing: callers fail open until it is back
        except ReadOnlyError:
            return "Redis at GITBRAG_REDIS_URL is a read-only replica: point it at the primary"
        except ResponseError as exc:  # OOM, NOPERM, MISCONF: Redis's own words, which hold no secret
            problem = f"Redis at GITBRAG_REDIS_URL refuses writes: {exc}"
            return PassingProblem(problem) if refuses_writes(exc) else problem
        return None

    async def cluster_problem(self) -> str | None:
        """Why this Redis cannot hold gitbrag's state because it runs in cluster mode, or None.

        A cluster node answers PING and single-key commands, then refuses the claim script
        (its two keys live in different slots) or a slot it does not serve: misbehaviour at
        random. Said once at start instead. INFO cluster is allowed where CONFIG is not."""
        info = await self._redis.info("cluster")
        if str(info.get("cluster_enabled", "0")) != "1":
            return None
        return (
            "Redis at GITBRAG_REDIS_URL runs in cluster mode; Redis Cluster is not supported: "
            "point it at a single Redis primary"
        )

    async def eviction_policy(self) -> str | None:
        """Redis's `maxmemory-policy`: CONFIG GET where allowed, else INFO (managed Redis
        services often disable CONFIG); None when neither says."""
        try:
            found = await self._redis.config_get("maxmemory-policy")
            return str(found["maxmemory-policy"])
        except (ResponseError, KeyError):
            pass
        info = await self._redis.info("memory")
        policy = info.get("maxmemory_policy")
        return None if policy is None else str(policy)

    async def close(self) -> None:
        await self._redis.aclose()

    # --- users and reports --------------------------------------------------

    async def track(
        self, logins: list[Login], now: datetime, periods: tuple[str, ...], source: str | None = None
    ) -> None:
        due_at = now.timestamp()
        adds: list[int] = []  # where the ZADD NX replies are: 1 for a report it added
        async with self._redis.pipeline(transaction=True) as pipe:
            for login in logins:
                pipe.hsetnx(USERS, login, login.spelling)
                if source:
                    pipe.hsetnx(SOURCES, login, source)
                for period in periods:
                    pipe.hsetnx(_report_key(login, period), "next_due_at", due_at)
                    pipe.zadd(DUE, {f"{login} {period}": due_at}, nx=True)
                    adds.append(len(pipe) - 1)
                if periods:
                    pipe.sadd(_reports_key(login), *periods)
            done = await pipe.execute()
        if any(done[i] for i in adds):  # the site's index may list someone new
            await self._redis.incr(CHANGES)

    async def tracked_page(self, cursor: str, size: int) -> tuple[str, list[TrackedUser]]:
        """HSCAN of the users' hash: O(size) a call; then their sources and missing flags."""
        following, scanned = await self._redis.hscan(USERS, int(cursor or 0), count=size)
        assert isinstance(scanned, dict)  # HSCAN answers field-value pairs
        found = {str(k): str(v) for k, v in scanned.items()}
        logins = sorted(found)
        if not logins:
            return ("" if int(following) == 0 else str(following)), []
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(SOURCES, logins)
            pipe.smismember(MISSING, logins)
            sources, missing = await pipe.execute()
        users = [
            TrackedUser(Login(login), found[login], bool(gone), source)
            for login, source, gone in zip(logins, sources, missing, strict=True)
        ]
        return ("" if int(following) == 0 else str(following)), users

    async def tracked_among(self, logins: list[Login]) -> dict[Login, TrackedUser]:
        names = list(dict.fromkeys(logins))
        if not names:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(USERS, names)
            pipe.hmget(SOURCES, names)
            pipe.smismember(MISSING, names)
            displays, sources, missing = await pipe.execute()
        return {
            login: TrackedUser(login, display, bool(gone), source)
            for login, display, source, gone in zip(names, displays, sources, missing, strict=True)
            if display is not None
        }

    async def census(self) -> Census:
        """HLEN, ZCARD, GET and HGETALL of a small hash in one MULTI: O(1) whatever is tracked."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hlen(USERS)
            pipe.zcard(DUE)
            pipe.get(CHANGES)
            pipe.hgetall(MARKS)
            users, reports, changes, marks = await pipe.execute()
        return Census(int(users), int(reports), int(changes or 0), dict(marks))

    async def save_marks(self, marks: dict[str, str]) -> None:
        if marks:
            await self._redis.hset(MARKS, mapping=marks)  # type: ignore[arg-type]

    async def tracked(self) -> list[TrackedUser]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(USERS)
            pipe.smembers(MISSING)
            pipe.hgetall(SOURCES)
            users, missing, sources = await pipe.execute()
        return [
            TrackedUser(Login(login), users[login], login in missing, sources.get(login))
            for login in sorted(users)
        ]

    async def due(self, now: datetime, limit: int | None = None) -> list[ReportMeta]:
        """ZRANGEBYSCORE with LIMIT: O(log n + k) for k due reports."""
        members = await self._redis.zrangebyscore(
            DUE, "-inf", now.timestamp(), start=0 if limit is not None else None, num=limit
        )
        pairs = [str(m).split(" ", 1) for m in members]
        return await self._metas([(Login(login), period) for login, period in pairs])

    async def report_meta(self, login: Login) -> dict[str, ReportMeta]:
        periods = await self._redis.smembers(_reports_key(login))
        metas = await self._metas([(login, str(p)) for p in sorted(periods)])
        return {m.period: m for m in metas}

    async def _metas(self, keys: list[tuple[Login, str]]) -> list[ReportMeta]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for login, period in keys:
                pipe.hgetall(_report_key(login, period))
            rows: list[dict[str, str]] = await pipe.execute()
        return [
            ReportMeta(
                login=login,
                period=period,
                next_due_at=_dt(row.get("next_due_at")) or utcnow(),
                generated_at=_dt(row.get("generated_at")),
                last_attempt_at=_dt(row.get("last_attempt_at")),
                last_error=row.get("last_error"),
                failures=int(row.get("failures", 0)),
            )
            for (login, period), row in zip(keys, rows, strict=True)
        ]

    async def mark_generated(
        self, login: Login, periods: list[str], generated_at: datetime, next_due_at: datetime
    ) -> None:
        at, due_at = generated_at.timestamp(), next_due_at.timestamp()
        async with self._redis.pipeline(transaction=True) as pipe:
            for period in periods:
                key = _report_key(login, period)
                fields = {"next_due_at": due_at, "generated_at": at, "last_attempt_at": at, "failures": 0}
                pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
                pipe.hdel(key, "last_error")
                pipe.zadd(DUE, {f"{login} {period}": due_at})
            if periods:
                pipe.sadd(_reports_key(login), *periods)
            pipe.incr(CHANGES)
            await pipe.execute()

    async def mark_failed(
        self, login: Login, periods: list[str], at: datetime, error: str, next_due_at: datetime
    ) -> int:
        due_at = next_due_at.timestamp()
        async with self._redis.pipeline(transaction=True) as pipe:
            for period in periods:
                key = _report_key(login, period)
                fields = {"next_due_at": due_at, "last_attempt_at": at.timestamp(), "last_error": error}
                pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
                pipe.hincrby(key, "failures", 1)
                pipe.zadd(DUE, {f"{login} {period}": due_at})
            if periods:
                pipe.sadd(_reports_key(login), *periods)
            await pipe.execute()
        metas = await self.report_meta(login)
        return max((m.failures for m in metas.values()), default=0)

    async def mark_missing(self, login: Login, missing: bool) -> None:
        await self._update_user(keys=[USERS, MISSING], args=[login, "", "1" if missing else "0"])

    async def load_collection(self, login: Login) -> Collection | None:
        data = await self._redis.get(_collection_key(login))
        return None if data is None else Collection.model_validate_json(data)

    async def load_star_histories(self, repos: list[str]) -> dict[str, StarHistory]:
        if not repos:
            return {}
        values = await self._redis.mget([_stars_key(r) for r in repos])
        return {
            r: starcodec.decode(starcodec.from_text(str(v))) for r, v in zip(repos, values, strict=True) if v
        }

    async def save_star_histories(self, histories: list[StarHistory]) -> None:
        if histories:
            await self._redis.mset(
                {_stars_key(h.repo): starcodec.to_text(starcodec.encode(h)) for h in histories}
            )

    async def save_collection(self, collection: Collection) -> None:
        ttl = None if self.collection_ttl is None else max(1, int(self.collection_ttl))
        login = Login(collection.login)  # GitHub's spelling, which the user's display name becomes
        await self._redis.set(_collection_key(login), collection.model_dump_json(), ex=ttl)
        await self._update_user(keys=[USERS, MISSING], args=[login, login.spelling, "0"])

    # --- claims -------------------------------------------------------------
    # `now` is ignored: the scripts read the server's clock (see base.Store).

    async def claim_task(
        self, task_id: str, token: str, metadata: dict[str, Any], ttl: float, limit: int, now: float
    ) -> ClaimOutcome:
        doc = json.dumps({**metadata, "claim_token": token})
        keys = [task_key(task_id), active_key(task_user(task_id))]
        result = int(await self._claim(keys=keys, args=[task_id, doc, _ms(ttl), limit]))
        return {1: ClaimOutcome.STARTED, 0: ClaimOutcome.ACTIVE}.get(result, ClaimOutcome.LIMITED)

    async def release_task(self, task_id: str, token: str, now: float) -> bool:
        keys = [task_key(task_id), active_key(task_user(task_id))]
        return bool(await self._release(keys=keys, args=[task_id, token]))

    async def renew_claim(self, task_id: str, token: str, ttl: float, now: float) -> bool:
        keys = [task_key(task_id), active_key(task_user(task_id))]
        return bool(await self._renew(keys=keys, args=[task_id, token, _ms(ttl)]))

    async def task_metadata(self, task_id: str, now: float) -> dict[str, Any] | None:
        doc = await self._redis.get(task_key(task_id))
        return None if doc is None else dict(json.loads(doc))

    async def active_tasks(self, username: Login, now: float) -> list[str]:
        members = await self._active(keys=[active_key(username)])
        return sorted(str(m) for m in members)

    # --- force-refresh cooldown -------------------------------------------------

    async def try_cooldown(self, login: Login, seconds: float, now: float) -> float | None:
        left_ms = int(await self._cooldown(keys=[_cooldown_key(login)], args=[_ms(seconds)]))
        return None if left_ms < 0 else left_ms / 1000

    # --- one-time keys ----------------------------------------------------------

    async def remember_once(self, key: str, ttl: float, now: float) -> bool:
        """`SET gitbrag:once:<key> 1 NX PX <ttl>`: one atomic command, so of two replicas
        that present the same key at once exactly one gets True; the server's clock expires
        it (`now` is ignored). The hook's delivery ids are `gitbrag:once:hook:delivery:<id>`."""
        return bool(await self._redis.set(_once_key(key), "1", nx=True, px=_ms(ttl)))

    # --- forgetting a user -----------------------------------------------------

    async def untrack(self, login: Login) -> None:
        """The `{gitbrag}` keys in one MULTI (one slot on a cluster), then the user's own."""
        periods = sorted(str(p) for p in await self._redis.smembers(_reports_key(login)))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(USERS, login)
            pipe.hdel(SOURCES, login)
            pipe.srem(MISSING, login)
            if periods:
                pipe.zrem(DUE, *(f"{login} {period}" for period in periods))
            pipe.delete(_reports_key(login), *(_report_key(login, period) for period in periods))
            pipe.incr(CHANGES)
            await pipe.execute()
        await self._redis.delete(_collection_key(login))
        await self._redis.delete(_cooldown_key(login))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _once_key(key: str) -> str:
    """`remember_once`'s keys: `hook:delivery:abc` -> `gitbrag:once:hook:delivery:abc`."""
    return "gitbrag:once:" + key
